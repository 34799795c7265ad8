//! The registry's wire formats: list bodies, error bodies and `Link` headers.
//!
//! Two error shapes exist in the wild: the distribution spec's `{"errors":[{code,
//! message, detail}]}` and zot's single object `{"code","message","detail"}` on 401
//! (apis.md §3.3). Both become one line, `CODE: message`, so the user sees the
//! registry's own words.

use serde::Deserialize;
use url::Url;

/// `GET /v2/<name>/tags/list`; distribution sends `"tags": null` for a repository
/// whose tags were all deleted.
#[derive(Debug, Deserialize)]
pub struct TagList {
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// `GET /v2/_catalog`.
#[derive(Debug, Deserialize)]
pub struct Catalog {
    #[serde(default)]
    pub repositories: Option<Vec<String>>,
}

/// The token server's answer (distribution auth/token.md): either field may carry it,
/// valid for `expires_in` seconds, 60 when it does not say.
#[derive(Debug, Deserialize)]
pub struct TokenReply {
    pub token: Option<String>,
    pub access_token: Option<String>,
    /// Read leniently (`3600`, `3600.0`, `"3600"`): a server's odd number must not
    /// cost the token itself.
    #[serde(default)]
    pub expires_in: Option<serde_json::Value>,
}

impl TokenReply {
    pub fn into_token(self) -> Option<String> {
        self.token
            .filter(|t| !t.is_empty())
            .or(self.access_token)
            .filter(|t| !t.is_empty())
    }

    /// How long the token may be used: `expires_in`, kept between 60 s (the spec's
    /// floor: "a token should never be returned with less than 60 seconds to live") and
    /// a day; 60 s when absent or not a number. A token refused sooner is renewed then.
    pub fn lifetime(&self) -> std::time::Duration {
        let seconds = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        let seconds = seconds.filter(|s| s.is_finite()).unwrap_or(60.0);
        std::time::Duration::from_secs_f64(seconds.clamp(60.0, 86_400.0))
    }
}

/// The header a registry names a manifest's digest in.
pub const DIGEST_HEADER: &str = "docker-content-digest";

/// The digest a `Docker-Content-Digest` header carries: `None` when the header is
/// absent or empty, `Err` (with the value, trimmed for a message) when it is not
/// `algorithm:encoded` as the OCI image spec defines a digest.
pub fn content_digest(
    header: Option<&reqwest::header::HeaderValue>,
) -> Result<Option<String>, String> {
    let Some(value) = header else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| String::from_utf8_lossy(value.as_bytes()).into_owned())?
        .trim();
    if text.is_empty() {
        return Ok(None);
    }
    let shown = || text.chars().take(80).collect::<String>();
    let (algorithm, encoded) = text.split_once(':').ok_or_else(shown)?;
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.split(['+', '.', '_', '-']).all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
    if algorithm_ok && encoded_ok {
        Ok(Some(text.to_owned()))
    } else {
        Err(shown())
    }
}

#[derive(Debug, Deserialize)]
struct ErrorItem {
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ErrorList {
    errors: Vec<ErrorItem>,
}

/// One line from an error body in either shape, or `None` if it is neither.
pub fn describe_error_body(body: &[u8]) -> Option<String> {
    let items = match serde_json::from_slice::<ErrorList>(body) {
        Ok(list) => list.errors,
        Err(_) => vec![serde_json::from_slice::<ErrorItem>(body).ok()?],
    };
    let text: Vec<String> = items
        .iter()
        .map(|e| match e.message.as_str() {
            "" => e.code.clone(),
            message => format!("{}: {message}", e.code),
        })
        .collect();
    (!text.is_empty()).then(|| text.join("; "))
}

/// The error codes in a body, for callers that branch on them (`NAME_UNKNOWN`).
pub fn error_codes(body: &[u8]) -> Vec<String> {
    match serde_json::from_slice::<ErrorList>(body) {
        Ok(list) => list.errors.into_iter().map(|e| e.code).collect(),
        Err(_) => serde_json::from_slice::<ErrorItem>(body)
            .map(|e| vec![e.code])
            .unwrap_or_default(),
    }
}

/// The `rel="next"` target of a `Link` header, resolved against the request URL, so
/// both zot's relative `</v2/…>` and an absolute URL work.
pub fn next_link(header: &str, current: &Url) -> Option<Url> {
    header.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        if is_next {
            current.join(target).ok()
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_error_list_and_zot_single_error_both_describe() {
        let oci = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry","detail":{}}]}"#;
        assert_eq!(
            describe_error_body(oci).as_deref(),
            Some("NAME_UNKNOWN: repository name not known to registry")
        );
        let zot = br#"{"code":"UNAUTHORIZED","message":"authentication required","detail":{"description":"x"}}"#;
        assert_eq!(
            describe_error_body(zot).as_deref(),
            Some("UNAUTHORIZED: authentication required")
        );
        assert_eq!(error_codes(zot), ["UNAUTHORIZED"]);
        assert_eq!(describe_error_body(b"<html>502</html>"), None);
    }

    #[test]
    fn next_link_resolves_relative_and_absolute_targets() {
        let current = Url::parse("http://127.0.0.1:5000/v2/a/tags/list?n=2").unwrap();
        let relative = next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#, &current);
        assert_eq!(
            relative.unwrap().as_str(),
            "http://127.0.0.1:5000/v2/a/tags/list?n=2&last=b"
        );
        let absolute = next_link(
            r#"<https://mirror.example/v2/a/tags/list?last=c>; rel=next"#,
            &current,
        );
        assert_eq!(
            absolute.unwrap().as_str(),
            "https://mirror.example/v2/a/tags/list?last=c"
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#, &current), None);
    }

    #[test]
    fn token_lifetime_is_read_leniently_and_kept_between_a_minute_and_a_day() {
        let lifetime = |json: &str| {
            serde_json::from_str::<TokenReply>(json)
                .unwrap()
                .lifetime()
                .as_secs()
        };
        assert_eq!(lifetime(r#"{"token":"t","expires_in":300}"#), 300);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":300.0}"#), 300);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":"300"}"#), 300);
        assert_eq!(lifetime(r#"{"token":"t"}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":0}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":-1}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":null}"#), 60);
        assert_eq!(
            lifetime(r#"{"token":"t","expires_in":18446744073709551615}"#),
            86_400
        );
    }

    #[test]
    fn token_reply_prefers_token_then_access_token() {
        let token = |json: &str| {
            serde_json::from_str::<TokenReply>(json)
                .unwrap()
                .into_token()
        };
        // Both fields present: `token` wins, whichever order the server wrote them in.
        assert_eq!(
            token(r#"{"token":"a","access_token":"b"}"#).as_deref(),
            Some("a")
        );
        assert_eq!(
            token(r#"{"access_token":"b","token":"a"}"#).as_deref(),
            Some("a")
        );
        // An empty or absent `token` falls back to `access_token`.
        assert_eq!(
            token(r#"{"token":"","access_token":"b"}"#).as_deref(),
            Some("b")
        );
        assert_eq!(token(r#"{"access_token":"b"}"#).as_deref(), Some("b"));
        // Neither field carries one: no token, not an empty one.
        assert_eq!(token(r#"{"token":"","access_token":""}"#), None);
        assert_eq!(token(r#"{"expires_in":300}"#), None);
    }

    #[test]
    fn content_digest_is_none_when_absent_or_empty_and_refuses_malformed_values() {
        use reqwest::header::HeaderValue;
        let digest = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
        assert_eq!(
            content_digest(Some(&HeaderValue::from_static(digest))),
            Ok(Some(digest.to_owned()))
        );
        assert_eq!(content_digest(None), Ok(None));
        assert_eq!(
            content_digest(Some(&HeaderValue::from_static(""))),
            Ok(None)
        );
        assert_eq!(
            content_digest(Some(&HeaderValue::from_static("  "))),
            Ok(None)
        );
        for bad in ["sha256", "sha256:", ":abc", "SHA256:abc", "sha256:ab/c"] {
            assert_eq!(
                content_digest(Some(&HeaderValue::from_static(bad))),
                Err(bad.to_owned()),
                "{bad}"
            );
        }
    }
}
