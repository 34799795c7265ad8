//! Releases and release assets.
//!
//! Mirrors (apis.md §2.3; FJ routers/api/v1/repo/{release.go,release_tags.go,
//! release_attachment.go}, v14):
//!
//! - `GET …/releases/latest`: the newest (by creation, then id) release that is not a
//!   draft, prerelease or tag-only; 404 when there is none.
//! - `GET …/releases/tags/{tag}`: 404 for a missing or tag-only release; a draft only
//!   for a token that may write.
//! - `POST …/releases` (`write:repository`): `tag_name` required (422 otherwise); a
//!   release for the tag exists → **409** `Release has no Tag` (sic); a tag-only
//!   release is turned into a full one; 201 with the release. `target_commitish`
//!   defaults to the default branch (`main`).
//! - `POST …/releases/{id}/assets[?name=]` (`write:repository`): the file in the
//!   multipart field `attachment`, or (newer versions) the raw body; `name` wins over
//!   the part's file name, and neither is 400 `Missing 'name' parameter`. Names are
//!   **not** unique: a second upload of a name adds a second asset. 201 with the asset.
//! - `GET /{owner}/{repo}/releases/download/{tag}/{name}`: the web route the asset's
//!   `browser_download_url` names, which takes API tokens (FJ services/auth
//!   `isAttachmentDownload`); 404 otherwise.
//!
//! URLs in answers are built from the request's `Host`, standing in for ROOT_URL, so a
//! client can follow them back here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::*;

impl Forge {
    /// Whether the request's token may write to the repository.
    fn may_write(&self, headers: &HeaderMap) -> bool {
        self.token_of(headers)
            .is_some_and(|(_, scopes)| scopes.iter().any(|s| s == "write:repository"))
    }
}

pub(super) async fn latest_release(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let store = forge.store.lock().expect("lock");
    let latest = store
        .releases
        .iter()
        .filter(|r| !r.draft && !r.prerelease && !r.tag_only)
        .max_by_key(|r| (r.created, r.id));
    release_or_404(&forge, &headers, latest)
}

pub(super) async fn release_by_tag(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, tag)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let store = forge.store.lock().expect("lock");
    let found = store
        .releases
        .iter()
        .find(|r| r.tag == tag && !r.tag_only && (!r.draft || forge.may_write(&headers)));
    release_or_404(&forge, &headers, found)
}

fn release_or_404(forge: &Forge, headers: &HeaderMap, found: Option<&ReleaseRec>) -> Response {
    match found {
        Some(release) => {
            axum::Json(forge.release_json(&forge.root_url(headers), release)).into_response()
        }
        None => not_found(),
    }
}

pub(super) async fn create_release(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = forge
        .check_repo(&owner, &repo)
        .and_then(|()| forge.check_write_auth(&headers))
    {
        return *r;
    }
    let form: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = |key: &str| form.get(key).and_then(Value::as_str).unwrap_or_default();
    let flag = |key: &str| form.get(key).and_then(Value::as_bool).unwrap_or(false);
    let tag = text("tag_name");
    if tag.is_empty() {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "[TagName]: Required");
    }
    let target = match text("target_commitish") {
        "" => "main",
        target => target,
    };
    let mut store = forge.store.lock().expect("lock");
    let release = match store.releases.iter_mut().find(|r| r.tag == tag) {
        Some(existing) if !existing.tag_only => {
            return message(StatusCode::CONFLICT, "Release has no Tag");
        }
        Some(existing) => {
            existing.tag_only = false;
            existing.title = match text("name") {
                "" => tag.to_owned(),
                name => name.to_owned(),
            };
            existing.notes = text("body").to_owned();
            existing.target = target.to_owned();
            existing
        }
        None => store.add_release(tag, text("name"), text("body"), target),
    };
    release.draft = flag("draft");
    release.prerelease = flag("prerelease");
    let json = forge.release_json(&forge.root_url(&headers), release);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

pub(super) async fn upload_asset(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, id)): Path<(String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = forge
        .check_repo(&owner, &repo)
        .and_then(|()| forge.check_write_auth(&headers))
    {
        return *r;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (content, part_name) = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        match form_file(content_type, &body, "attachment") {
            Some((content, name)) => (content, name),
            None => {
                return message(
                    StatusCode::BAD_REQUEST,
                    "One of 'attachment' or 'external_url' is required",
                );
            }
        }
    } else {
        (body.to_vec(), String::new())
    };
    let name = parse_query(raw)
        .into_iter()
        .find(|(k, _)| k == "name")
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
        .unwrap_or(part_name);
    if name.is_empty() {
        return message(StatusCode::BAD_REQUEST, "Missing 'name' parameter");
    }
    let mut store = forge.store.lock().expect("lock");
    let Some((release, asset)) = store.add_asset(id, &name, content) else {
        return not_found();
    };
    let release = &store.releases[release];
    let json = forge.asset_json(&forge.root_url(&headers), release, &release.assets[asset]);
    (StatusCode::CREATED, axum::Json(json)).into_response()
}

pub(super) async fn download_asset(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, tag, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let readable = forge.check_repo_api(&owner, &repo, &headers).is_ok();
    let store = forge.store.lock().expect("lock");
    let found = store
        .releases
        .iter()
        .filter(|_| readable)
        .find(|r| r.tag == tag && !r.tag_only)
        .and_then(|r| {
            r.assets
                .iter()
                .find(|a| a.name == name)
                .map(|a| (a, r.created))
        });
    match found {
        Some((asset, created)) => attachment(&asset.name, asset.content.clone(), created),
        None => plain(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// The content and file name of the multipart part named `field` (RFC 7578), or
/// `None` when the body has no such part: what Go's `FormFile` finds.
fn form_file(content_type: &str, body: &[u8], field: &str) -> Option<(Vec<u8>, String)> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut rest = body;
    loop {
        let start = find(rest, delimiter.as_bytes())? + delimiter.len();
        rest = &rest[start..];
        if rest.starts_with(b"--") {
            return None;
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let content_start = head_end + 4;
        let end = content_start
            + find(
                &rest[content_start..],
                format!("\r\n{delimiter}").as_bytes(),
            )?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let param = |key: &str| {
            disposition
                .split(';')
                .find_map(|p| p.trim().strip_prefix(&format!("{key}=")))
                .map(|v| v.trim_matches('"').to_owned())
        };
        if param("name").as_deref() == Some(field) {
            let file_name = param("filename").unwrap_or_default();
            return Some((rest[content_start..end].to_vec(), file_name));
        }
        rest = &rest[end..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_file_finds_the_named_part_among_others() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.tgz\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\r\nbin\r\n--XyZ--\r\n";
        let found = form_file("multipart/form-data; boundary=XyZ", body, "attachment");
        assert_eq!(found, Some((b"\x00\r\nbin".to_vec(), "a.tgz".to_owned())));
        assert_eq!(
            form_file("multipart/form-data; boundary=XyZ", body, "missing"),
            None
        );
    }

    #[test]
    fn assets_are_uploaded_raw_or_multipart_and_names_may_repeat() {
        const TOKEN: &str = "tok-write";
        let server = FakeForgejo::builder(ApiLevel::V16)
            .token(TOKEN, &["write:repository"])
            .release(ReleaseSpec::new("v1"))
            .start();
        let client = reqwest::blocking::Client::new();
        let release: Value = client
            .get(format!(
                "{}/api/v1/repos/acme/app/releases/latest",
                server.url()
            ))
            .send()
            .unwrap()
            .json()
            .unwrap();
        let assets = format!(
            "{}/api/v1/repos/acme/app/releases/{}/assets",
            server.url(),
            release["id"]
        );
        let raw = client
            .post(format!("{assets}?name=a.tgz"))
            .header("authorization", format!("token {TOKEN}"))
            .body("raw")
            .send()
            .unwrap();
        assert_eq!(raw.status(), 201);
        let form = client
            .post(&assets)
            .header("authorization", format!("token {TOKEN}"))
            .header("content-type", "multipart/form-data; boundary=b")
            .body("--b\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.tgz\"\r\n\r\nform\r\n--b--\r\n")
            .send()
            .unwrap();
        assert_eq!(form.status(), 201);
        let asset: Value = form.json().unwrap();
        assert_eq!(
            asset["browser_download_url"],
            format!("{}/acme/app/releases/download/v1/a.tgz", server.url())
        );
        assert_eq!(
            server.release_assets("v1"),
            [
                ("a.tgz".to_owned(), b"raw".to_vec()),
                ("a.tgz".to_owned(), b"form".to_vec())
            ]
        );
        let anonymous = client
            .post(format!("{assets}?name=b.tgz"))
            .body("x")
            .send()
            .unwrap();
        assert_eq!(anonymous.status(), 401);
    }

    #[test]
    fn creating_a_release_that_exists_is_409_but_a_bare_tag_becomes_one() {
        const TOKEN: &str = "tok-write";
        let server = FakeForgejo::builder(ApiLevel::V16)
            .token(TOKEN, &["write:repository"])
            .release(ReleaseSpec::new("v1"))
            .release(ReleaseSpec::new("v2").tag_only())
            .start();
        let client = reqwest::blocking::Client::new();
        let create = |tag: &str| {
            client
                .post(format!("{}/api/v1/repos/acme/app/releases", server.url()))
                .header("authorization", format!("token {TOKEN}"))
                .json(&serde_json::json!({"tag_name": tag}))
                .send()
                .unwrap()
                .status()
        };
        let by_tag = |tag: &str| {
            client
                .get(format!(
                    "{}/api/v1/repos/acme/app/releases/tags/{tag}",
                    server.url()
                ))
                .send()
                .unwrap()
                .status()
        };
        assert_eq!(by_tag("v2"), 404);
        assert_eq!(create("v1"), 409);
        assert_eq!(create("v2"), 201);
        assert_eq!(by_tag("v2"), 200);
        assert_eq!(create("v3"), 201);
        assert_eq!(server.release_tags(), ["v1", "v2", "v3"]);
    }
}
