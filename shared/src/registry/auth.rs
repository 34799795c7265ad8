//! Who we are to the registry: credentials, and the challenges that ask for them.
//!
//! Credentials come from the first source that has them, in the order crane, regctl and
//! skopeo use: explicit flags or `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`, then the docker
//! config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a `credHelpers`
//! entry for the host, an `auths` entry with `auth` or `username`/`password`, then the
//! `credsStore` helper. Helpers are the real `docker-credential-<name>` programs, run
//! once per process. A zot API key is simply the password of its owner.
//!
//! Secrets never reach a message: [`Credentials`] has no `Display`, its `Debug` hides
//! the password, and errors name the source ("docker-credential-pass"), not the value.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};

/// A username and password (or API key) for Basic auth and token requests.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    password: String,
    /// Where they came from, for `--debug` and error hints; never the secret itself.
    pub source: String,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>, source: &str) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
            source: source.to_owned(),
        }
    }

    /// The secret itself: for the registry's own requests and for handing to a Dagger
    /// engine as a secret, never for output.
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .field("source", &self.source)
            .finish()
    }
}

/// Credentials given as flags (or `REGISTRY_USERNAME`/`REGISTRY_PASSWORD`): both or none.
pub fn from_flags(username: Option<&str>, password: Option<&str>) -> Result<Option<Credentials>> {
    match (username, password) {
        (Some(user), Some(pass)) => Ok(Some(Credentials::new(user, pass, "--username/--password"))),
        (None, None) => Ok(None),
        _ => Err(Error::usage(
            "give both --username and --password (or REGISTRY_USERNAME and REGISTRY_PASSWORD)",
        )),
    }
}

/// Credentials for `host` from the docker config, if there is one. Called only when a
/// registry asks, so a `credsStore` helper missing on this machine does not break
/// listing an anonymous registry.
pub fn from_default_docker_config(host: &str) -> Result<Option<Credentials>> {
    match docker_config_path() {
        Some(path) if path.exists() => from_docker_config(&path, host),
        _ => Ok(None),
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

#[derive(Default, Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: HashMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Reads credentials for `host` from one docker config file.
pub fn from_docker_config(path: &Path, host: &str) -> Result<Option<Credentials>> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::usage(format!("cannot read docker config {shown}: {e}")))?;
    let config: DockerConfig = serde_json::from_str(&text).map_err(|e| {
        // Only the position: serde's own message quotes a mistyped value, and the
        // value of an `auths` entry is a password.
        let what = match e.classify() {
            serde_json::error::Category::Data => "not the shape docker writes",
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "not valid JSON"
            }
            serde_json::error::Category::Io => "unreadable",
        };
        Error::usage(format!(
            "malformed docker config {shown}: {what} at line {}, column {}",
            e.line(),
            e.column()
        ))
        .hint("fix the file, or set DOCKER_CONFIG to a directory with a valid config.json")
    })?;
    if let Some(helper) = lookup(&config.cred_helpers, host) {
        return run_helper(helper, host);
    }
    if let Some(entry) = lookup(&config.auths, host)
        && let Some(creds) = entry_credentials(entry, &shown.to_string(), host)?
    {
        return Ok(Some(creds));
    }
    match &config.creds_store {
        Some(store) if !store.is_empty() => run_helper(store, host),
        _ => Ok(None),
    }
}

/// Finds the entry whose key names `host`; docker stores keys as `host`, `https://host`
/// or `https://host/v1/`.
fn lookup<'a, V>(map: &'a HashMap<String, V>, host: &str) -> Option<&'a V> {
    map.iter()
        .find(|(key, _)| normalize_key(key) == host)
        .map(|(_, value)| value)
}

fn normalize_key(key: &str) -> &str {
    let without_scheme = key.split_once("://").map_or(key, |(_, rest)| rest);
    without_scheme.split('/').next().unwrap_or(without_scheme)
}

fn entry_credentials(entry: &AuthEntry, file: &str, host: &str) -> Result<Option<Credentials>> {
    let source = format!("docker config {file}");
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = || {
            Error::usage(format!(
                "the auths entry for {host} in {file} is not base64 of user:password"
            ))
            .hint(format!("run `docker login {host}` again, or fix the entry"))
        };
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(decoded).map_err(|_| bad())?;
        let (user, pass) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credentials::new(user, pass, &source)));
    }
    match (&entry.username, &entry.password) {
        (Some(user), Some(pass)) => Ok(Some(Credentials::new(user, pass, &source))),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
struct HelperReply {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// What a helper of the docker-credential-helpers protocol prints on stdout, with a
/// failed exit, when it has no credentials for the host; docker compares it exactly
/// (trimmed). Any other failure is a broken helper, not an absence of credentials.
pub const HELPER_NOT_FOUND: &str = "credentials not found in native keychain";

/// Runs `docker-credential-<helper> get` with the host on stdin, as docker does.
fn run_helper(helper: &str, host: &str) -> Result<Option<Credentials>> {
    run_helper_program(&format!("docker-credential-{helper}"), host)
}

/// [`run_helper`] for a program named or given by path.
fn run_helper_program(program: &str, host: &str) -> Result<Option<Credentials>> {
    let failed = |why: String| {
        Error::usage(format!(
            "credential helper {program} failed for {host}: {why}"
        ))
        .hint("fix the helper, or pass --username/--password (REGISTRY_USERNAME/REGISTRY_PASSWORD)")
    };
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot run it ({e})")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its exit status below.
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| failed(e.to_string()))?;
    if !out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        if stdout.trim() == HELPER_NOT_FOUND {
            return Ok(None);
        }
        // Helpers print their error on stdout; some print it on stderr. Show the first
        // line of whichever has one (a helper's message names no secret: it has none).
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = [stdout.trim(), stderr.trim()]
            .into_iter()
            .find(|text| !text.is_empty())
            .and_then(|text| text.lines().next())
            .unwrap_or("it printed nothing")
            .trim()
            .to_owned();
        return Err(failed(format!("{} ({first})", out.status)));
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout)
        .map_err(|_| failed("it did not print the JSON {Username, Secret}".to_owned()))?;
    Ok(Some(Credentials::new(
        reply.username,
        reply.secret,
        program,
    )))
}

/// What a `401` asks for, from its `WWW-Authenticate` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses `Basic realm="x"` or `Bearer realm="…",service="…",scope="…"`.
    /// Scheme and parameter names are case-insensitive (RFC 7235); zot sends lowercase.
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic);
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let params = auth_params(rest);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        Some(Challenge::Bearer {
            realm: get("realm")?,
            service: get("service").filter(|s| !s.is_empty()),
            scope: get("scope").filter(|s| !s.is_empty()),
        })
    }
}

/// `k="v", k2=v2` pairs; quoted values may hold commas (`scope="repo:a:pull,push"`).
fn auth_params(text: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = text.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => value.push(c),
                }
            }
            (value, &quoted[end..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim().to_owned(), &after[end..])
        };
        pairs.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',');
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_keeps_commas_inside_quoted_scope() {
        let parsed = Challenge::parse(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:acme/app:pull,push""#,
        );
        assert_eq!(
            parsed,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:acme/app:pull,push".into()),
            })
        );
    }

    #[test]
    fn zot_lowercase_challenges_and_empty_scope_parse() {
        assert_eq!(
            Challenge::parse(r#"basic realm="zot""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            Challenge::parse(r#"bearer realm="http://a/t",service="zot",scope="""#),
            Some(Challenge::Bearer {
                realm: "http://a/t".into(),
                service: Some("zot".into()),
                scope: None
            })
        );
        assert_eq!(Challenge::parse("Negotiate abc"), None);
    }

    #[test]
    fn debug_of_credentials_hides_the_password() {
        let creds = Credentials::new("ci", "hunter2", "test");
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    fn config_dir(json: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        dir
    }

    #[test]
    fn docker_config_auths_match_host_with_scheme_and_path_in_key() {
        // "ci:s3cret" in base64.
        let dir = config_dir(
            r#"{"auths":{"https://reg.example:5000/v1/":{"auth":"Y2k6czNjcmV0"},"other":{}}}"#,
        );
        let creds = from_docker_config(&dir.path().join("config.json"), "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password()),
            ("ci", "s3cret")
        );
        assert_eq!(
            from_docker_config(&dir.path().join("config.json"), "elsewhere").unwrap(),
            None
        );
    }

    #[test]
    fn malformed_docker_config_is_a_usage_error_without_its_content() {
        let dir = config_dir(r#"{"auths":{"h":{"auth":"c2VjcmV0"}"#);
        let err = from_docker_config(&dir.path().join("config.json"), "h").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(!err.message().contains("c2VjcmV0"), "{}", err.message());
        assert!(
            err.message()
                .ends_with("not valid JSON at line 1, column 33")
        );
    }

    #[test]
    fn a_mistyped_docker_config_entry_is_reported_by_position_not_by_its_value() {
        // serde's own message would quote the string: the base64 of `alice:Sup3rSecretPW`.
        let dir = config_dir(r#"{"auths":{"h":"YWxpY2U6U3VwM3JTZWNyZXRQVw=="}}"#);
        let err = from_docker_config(&dir.path().join("config.json"), "h").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message()
                .ends_with("not the shape docker writes at line 1, column 44"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn auth_that_is_not_user_colon_password_is_rejected() {
        let dir = config_dir(r#"{"auths":{"h":{"auth":"bm9jb2xvbg=="}}}"#);
        let err = from_docker_config(&dir.path().join("config.json"), "h").unwrap_err();
        assert!(err.message().contains("not base64 of user:password"));
    }

    #[test]
    fn flags_need_both_username_and_password() {
        assert_eq!(from_flags(Some("u"), None).unwrap_err().exit_code(), 2);
        assert_eq!(from_flags(None, Some("p")).unwrap_err().exit_code(), 2);
        let creds = from_flags(Some("u"), Some("p")).unwrap().unwrap();
        assert_eq!(creds.source, "--username/--password");
    }

    /// A `docker-credential-*` stand-in: a shell script that prints `stdout` and exits
    /// with `code`.
    fn helper_script(dir: &Path, stdout: &str, code: i32) -> String {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("docker-credential-fake");
        std::fs::write(
            &path,
            format!("#!/bin/sh\ncat >/dev/null\nprintf '%s\\n' '{stdout}'\nexit {code}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[test]
    fn only_the_protocols_exact_not_found_message_means_no_credentials() {
        let dir = tempfile::tempdir().unwrap();
        for said in [
            HELPER_NOT_FOUND,
            "  credentials not found in native keychain  ",
        ] {
            let helper = helper_script(dir.path(), said, 1);
            assert_eq!(run_helper_program(&helper, "r.example").unwrap(), None);
        }
        // A helper that fails saying something else is broken, even when its words
        // contain "not found": listing on as anonymous would hide the real problem.
        for said in [
            "error: pass store not found",
            "gpg: decryption failed: No secret key not found",
            "credentials not found in native keychain; also: gpg failed",
        ] {
            let helper = helper_script(dir.path(), said, 1);
            let err = run_helper_program(&helper, "r.example").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{said}");
            assert!(
                err.message().starts_with(&format!(
                    "credential helper {helper} failed for r.example: exit status: 1 ("
                )),
                "{}",
                err.message()
            );
            assert!(err.message().contains(said), "{}", err.message());
        }
    }

    #[test]
    fn a_helper_that_succeeds_gives_its_username_and_secret() {
        let dir = tempfile::tempdir().unwrap();
        let helper = helper_script(
            dir.path(),
            r#"{"ServerURL":"r.example","Username":"ci","Secret":"s3cret"}"#,
            0,
        );
        let creds = run_helper_program(&helper, "r.example").unwrap().unwrap();
        assert_eq!(
            (creds.username.as_str(), creds.password()),
            ("ci", "s3cret")
        );
        let broken = helper_script(dir.path(), "not json", 0);
        assert_eq!(
            run_helper_program(&broken, "r.example")
                .unwrap_err()
                .exit_code(),
            2
        );
    }
}
