//! The generic package registry: listing a package's versions, uploading a file once,
//! and reading back what the forge holds (apis.md §2.1, §2.2; the same on Forgejo and
//! Gitea but for the `Size`/`size` key of a file listing).
//!
//! Packages belong to the repository's owner (user or organisation). Two API roots are
//! involved, and they answer differently:
//!
//! - `/api/packages/{owner}/generic/{pkg}/{ver}/{file}` takes and serves the bytes. Its
//!   error bodies are plain text, and a refused token is a **401** even when the token
//!   is valid but lacks `write:package` (FJ routers/api/packages/api.go
//!   `reqPackageAccess`), so the hint names the scope rather than only the token.
//! - `/api/v1/packages/{owner}…` lists packages (one row per version, `q` a substring)
//!   and a version's files with their size and checksums.
//!
//! Versions are immutable: an upload of a file name the version already has is a 409,
//! and nothing here deletes or overwrites. Whether a 409 is the same file is decided by
//! the caller, with [`Forge::fingerprint_of`], which streams the copy on the forge
//! through sha256 instead of holding it in memory.
//!
//! The upload is a PUT, which [`crate::http::Client`] would retry as idempotent; it is
//! sent with a client the caller builds with no retries, because a PUT whose answer was
//! lost may have landed, and a blind second one would only meet the 409.

use bytes::Bytes;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::transport::Pages;
use super::{Forge, MAX_PAGE};
use crate::error::{Error, Result};
use crate::http::{self, Client};

/// Size and sha256 of some content: what says two copies are the same file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fingerprint {
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

impl Fingerprint {
    pub fn of(bytes: &[u8]) -> Self {
        let mut hasher = Hasher::default();
        hasher.update(bytes);
        hasher.finish()
    }

    /// `12345 bytes, sha256 0123456789ab…`, for messages.
    pub fn describe(&self) -> String {
        format!("{} bytes, sha256 {}", self.size, self.sha256)
    }
}

#[derive(Default)]
struct Hasher {
    sha256: Sha256,
    size: u64,
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.size += bytes.len() as u64;
    }

    fn finish(self) -> Fingerprint {
        let digest = self.sha256.finalize();
        Fingerprint {
            size: self.size,
            sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
}

/// What the forge said to an upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upload {
    /// 201: the file is new.
    Created,
    /// 409: the version already has a file of that name (its content unknown).
    Exists,
}

/// One file of a package version, as `…/{ver}/files` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    pub name: String,
    pub fingerprint: Fingerprint,
}

#[derive(Deserialize)]
struct WireFile {
    name: String,
    /// Forgejo's key (no json tag on the Go field); Gitea ≥1.24 sends `size`.
    #[serde(rename = "Size", alias = "size")]
    size: u64,
    sha256: String,
}

#[derive(Deserialize)]
struct WirePackage {
    /// The version's id.
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    version: String,
}

/// Package names as Forgejo accepts them (`\A[-_+.\w]+\z`, generic.go).
pub fn valid_package_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'))
}

/// File names as Forgejo accepts them (`\A[-_+=:;.()\[\]{}~!@#$%^& \w]+\z`,
/// generic.go), without surrounding spaces.
pub fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.trim() == name
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+=:;.()[]{}~!@#$%^& ".contains(c))
}

impl Forge {
    /// `{forge}/api/v1/packages/{owner}/generic/{pkg}/{ver}/…`.
    fn package_api(&self, package: &str, version: &str, tail: &[&str]) -> Url {
        let mut segments = vec![
            "api",
            "v1",
            "packages",
            &self.repo.owner,
            "generic",
            package,
            version,
        ];
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    /// `{forge}/api/packages/{owner}/generic/{pkg}/{ver}/{file}`: where a file is
    /// uploaded and downloaded.
    pub fn generic_file_url(&self, package: &str, version: &str, file: &str) -> Url {
        self.url(&[
            "api",
            "packages",
            &self.repo.owner,
            "generic",
            package,
            version,
            file,
        ])
    }

    /// Every version of the owner's generic package `package`, in the order listed.
    /// The listing's `q` is a substring match, so rows of other names (`docs-old` for
    /// `docs`) are dropped here; every page is read.
    pub async fn package_versions(&self, package: &str) -> Result<Vec<String>> {
        let what = format!("the versions of package {package}");
        let mut versions = Vec::new();
        let mut pages = Pages::default();
        for page in 1u64.. {
            let mut url = self.url(&["api", "v1", "packages", &self.repo.owner]);
            url.query_pairs_mut()
                .append_pair("type", "generic")
                .append_pair("q", package)
                .append_pair("page", &page.to_string())
                .append_pair("limit", &MAX_PAGE.to_string());
            let request = self.authorize(self.http.request(Method::GET, url));
            let rows: Vec<WirePackage> = self.package_json(request, &what, "read:package").await?;
            pages.check(&what, page, rows.iter().map(|r| r.id))?;
            let full = rows.len() >= MAX_PAGE;
            versions.extend(
                rows.into_iter()
                    .filter(|r| r.kind == "generic" && r.name == package)
                    .map(|r| r.version),
            );
            if !full {
                break;
            }
        }
        Ok(versions)
    }

    /// Whether the owner's generic package has `version`
    /// (`GET /api/v1/packages/{owner}/generic/{pkg}/{ver}`).
    pub async fn package_version_exists(&self, package: &str, version: &str) -> Result<bool> {
        let url = self.package_api(package, version, &[]);
        let what = format!("looking up package {package} {version}");
        let response = self
            .http
            .send(self.authorize(self.http.request(Method::GET, url)))
            .await?;
        match response.status() {
            status if status.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            status => {
                let message = self.error_message(response).await;
                Err(self.package_error(status, &message, &what, "read:package"))
            }
        }
    }

    /// Uploads `body` as `file` of `package` `version`, sent exactly once through
    /// `once` (a client without retries, with the deadline an upload may take).
    pub async fn put_generic_file(
        &self,
        once: &Client,
        package: &str,
        version: &str,
        file: &str,
        body: Bytes,
    ) -> Result<Upload> {
        let url = self.generic_file_url(package, version, file);
        let what = format!("uploading {file} to package {package} {version}");
        let request = self.authorize(
            once.request(Method::PUT, url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .body(body),
        );
        let response = once.send(request).await.map_err(|e| match e.kind() {
            crate::Kind::Remote => e.hint(
                "the upload may have landed: run the same publish again; a copy already there with the same content counts as done",
            ),
            _ => e,
        })?;
        match response.status() {
            StatusCode::CREATED | StatusCode::OK => Ok(Upload::Created),
            StatusCode::CONFLICT => Ok(Upload::Exists),
            status => {
                let message = self.error_message(response).await;
                let err = self.package_error(status, &message, &what, "write:package");
                Err(if status.is_server_error() {
                    err.hint("it was not retried, as it may have landed: run the same publish again to find out")
                } else {
                    err
                })
            }
        }
    }

    /// Size and sha256 of what `url` serves, streamed (`what` names it in errors,
    /// `scope` the token scope reading it needs). The token goes along: private
    /// packages and attachments need it, and the forge accepts it on release downloads
    /// (FJ services/auth `isAttachmentDownload`).
    pub async fn fingerprint_of(&self, url: Url, what: &str, scope: &str) -> Result<Fingerprint> {
        // The token goes only to the forge it was given for: a URL from an answer can
        // name another host (an external asset, a ROOT_URL other than --forge-url).
        let same_origin = url.origin() == self.base.origin();
        let request = self.http.request(Method::GET, url);
        let request = if same_origin {
            self.authorize(request)
        } else {
            request
        };
        let mut response = self.http.send_streaming(request).await?;
        let status = response.status();
        if !status.is_success() {
            let message = self.error_message(response).await;
            return Err(self.package_error(status, &message, what, scope));
        }
        let mut hasher = Hasher::default();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            Error::remote(format!("{what}: the download broke off ({e})"))
                .hint("try again, or check the forge's health")
        })? {
            hasher.update(&chunk);
        }
        Ok(hasher.finish())
    }

    /// The files of `package` `version` with their size and sha256, as the forge
    /// records them (`GET /api/v1/packages/{owner}/generic/{pkg}/{ver}/files`).
    pub async fn package_files(&self, package: &str, version: &str) -> Result<Vec<PackageFile>> {
        let url = self.package_api(package, version, &["files"]);
        let what = format!("the files of package {package} {version}");
        let request = self.authorize(self.http.request(Method::GET, url));
        let files: Vec<WireFile> = self.package_json(request, &what, "read:package").await?;
        Ok(files
            .into_iter()
            .map(|f| PackageFile {
                name: f.name,
                fingerprint: Fingerprint {
                    size: f.size,
                    sha256: f.sha256.to_ascii_lowercase(),
                },
            })
            .collect())
    }

    /// Sends a request whose answer is JSON, mapping a refusal with the hints of
    /// `scope` (`read:package`, `write:repository`, …): what package and release calls
    /// share.
    pub(super) async fn package_json<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
        scope: &str,
    ) -> Result<T> {
        let response = self.http.send(request).await?;
        self.json_answer(response, what, scope).await
    }

    /// A JSON answer, or the error its status means, with the hints of `scope`.
    pub(super) async fn json_answer<T: DeserializeOwned>(
        &self,
        response: Response,
        what: &str,
        scope: &str,
    ) -> Result<T> {
        let status = response.status();
        if !status.is_success() {
            let message = self.error_message(response).await;
            return Err(self.package_error(status, &message, what, scope));
        }
        self.read_json(response, what).await
    }

    /// The suite's status mapping ([`http::status_error`]) with a hint naming the
    /// token scope the call needs; other statuses get the forge's usual hints.
    pub(super) fn package_error(
        &self,
        status: StatusCode,
        message: &str,
        what: &str,
        scope: &str,
    ) -> Error {
        match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if self.token.is_none() => {
                http::status_error(status, what, message).hint(format!(
                    "set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the {scope} scope"
                ))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                http::status_error(status, what, message).hint(format!(
                    "the token was refused: it needs the {scope} scope (and to be valid); create one with that scope"
                ))
            }
            _ => self.status_error(status, message, what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_size_and_lowercase_hex_sha256() {
        let print = Fingerprint::of(b"abc");
        assert_eq!(print.size, 3);
        assert_eq!(
            print.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn file_listing_reads_forgejo_size_and_gitea_size() {
        let forgejo: WireFile =
            serde_json::from_str(r#"{"id":1,"Size":7,"name":"a","sha256":"AB"}"#).unwrap();
        let gitea: WireFile =
            serde_json::from_str(r#"{"id":1,"size":7,"name":"a","sha256":"ab"}"#).unwrap();
        assert_eq!((forgejo.size, gitea.size), (7, 7));
    }

    #[test]
    fn file_names_follow_forgejos_generic_rule() {
        for good in ["docs-v1.2.3.tar.gz", "a b(1).tgz", "x=y;z~!@#$%^&.gz"] {
            assert!(valid_file_name(good), "{good}");
        }
        for bad in [
            "",
            " docs.tgz",
            "docs.tgz ",
            "a/b",
            "dócs.tgz",
            "a\"b",
            "a?b",
        ] {
            assert!(!valid_file_name(bad), "{bad}");
        }
    }

    #[test]
    fn package_names_follow_forgejos_rule() {
        for good in ["docs", "docs-site", "a.b_c+d", "X1"] {
            assert!(valid_package_name(good), "{good}");
        }
        for bad in ["", "docs site", "a/b", "dócs", "a:b"] {
            assert!(!valid_package_name(bad), "{bad}");
        }
    }
}
