//! Releases and their assets (apis.md §2.3; FJ routers/api/v1/repo/{release.go,
//! release_tags.go,release_attachment.go}).
//!
//! What the callers need to know about the server:
//!
//! - `…/releases/latest` is the newest release by creation time that is neither draft,
//!   prerelease nor tag-only, and 404 when there is none — the same 404 a missing
//!   repository gives, so a 404 is told apart by asking for the repository (a mistyped
//!   `--repo` must not read as "no release yet");
//! - `…/releases/tags/{tag}` is 404 for a tag-only release too;
//! - creating a release for a tag that has one is a 409 (`Release has no Tag`), and the
//!   POST is sent once, as [`crate::http::Client`] sends every POST;
//! - an asset name is **not** unique within a release: uploading the same name twice
//!   gives two assets. So a caller looks at the release's assets before uploading.
//!
//! Assets are uploaded as `multipart/form-data` with the field `attachment`, which
//! every Forgejo and Gitea version takes (the raw-body form is newer), and the name in
//! the `name` query parameter, which wins over the part's file name.

use bytes::{BufMut, Bytes, BytesMut};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::Forge;
use super::packages::Fingerprint;
use crate::error::{Error, Kind, Result};
use crate::http::Client;

/// The scope release writes need.
const WRITE_SCOPE: &str = "write:repository";
const READ_SCOPE: &str = "read:repository";

/// A release, with the fields the tools use.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Release {
    pub id: i64,
    pub tag_name: String,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub prerelease: bool,
    #[serde(default)]
    pub assets: Vec<Asset>,
}

/// A release asset (FJ modules/structs/attachment.go).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
pub struct Asset {
    pub id: i64,
    pub name: String,
    pub size: u64,
    pub browser_download_url: String,
}

/// What a new release says.
#[derive(Clone, Debug, Default)]
pub struct NewRelease {
    pub tag: String,
    /// The title; empty: the tag.
    pub title: String,
    pub notes: String,
    /// The branch or commit a new tag points at; empty: the default branch.
    pub target: String,
}

impl Forge {
    /// The latest release, `None` when the repository has none.
    pub async fn latest_release(&self) -> Result<Option<Release>> {
        let url = self.repo_api(&["releases", "latest"]);
        self.optional_release(url, "the latest release").await
    }

    /// The release of `tag`, `None` when there is none (or only the git tag).
    pub async fn release_by_tag(&self, tag: &str) -> Result<Option<Release>> {
        let url = self.repo_api(&["releases", "tags", tag]);
        self.optional_release(url, &format!("the release {tag}"))
            .await
    }

    async fn optional_release(&self, url: reqwest::Url, what: &str) -> Result<Option<Release>> {
        let request = self.authorize(self.http.request(Method::GET, url));
        let response = self.http.send(request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            // The repository itself may be the missing thing: its 404 says so.
            self.repo_is_private().await?;
            return Ok(None);
        }
        self.json_answer(response, what, READ_SCOPE).await.map(Some)
    }

    /// Creates the release `new.tag` (and the tag, at `new.target`, if it is new). Sent
    /// once; a release that exists already is exit 1.
    pub async fn create_release(&self, new: &NewRelease) -> Result<Release> {
        let mut body = serde_json::json!({
            "tag_name": new.tag,
            "name": if new.title.is_empty() { &new.tag } else { &new.title },
            "body": new.notes,
            "draft": false,
            "prerelease": false,
        });
        if !new.target.is_empty() {
            body["target_commitish"] = serde_json::json!(new.target);
        }
        let url = self.repo_api(&["releases"]);
        let what = format!("creating the release {} in {}", new.tag, self.repo);
        let request = self.authorize(self.http.request(Method::POST, url).json(&body));
        let response = self.http.send(request).await?;
        if response.status() == StatusCode::CONFLICT {
            return Err(Error::failed(format!(
                "{what}: the forge says the release exists already (409)"
            ))
            .hint("a draft you cannot see, or another run's release, holds the tag: look at the releases in the forge's web UI"));
        }
        self.json_answer(response, &what, WRITE_SCOPE).await
    }

    /// Size and sha256 of what the asset's download URL serves (streamed).
    pub async fn asset_fingerprint(&self, asset: &Asset, what: &str) -> Result<Fingerprint> {
        // The URL comes from the forge; it is held to the same plain-http rule.
        let url = self.http.parse_url(&asset.browser_download_url)?;
        self.fingerprint_of(url, what, READ_SCOPE).await
    }

    /// Uploads `body` as the asset `name` of `release`, sent exactly once through
    /// `once` (the upload's client and deadline).
    pub async fn upload_release_asset(
        &self,
        once: &Client,
        release: &Release,
        name: &str,
        body: Bytes,
    ) -> Result<Asset> {
        let mut url = self.repo_api(&["releases", &release.id.to_string(), "assets"]);
        url.query_pairs_mut().append_pair("name", name);
        let what = format!("uploading {name} to the release {}", release.tag_name);
        let boundary = format!("opskit-{:032x}", rand::random::<u128>());
        let request = self.authorize(
            once.request(Method::POST, url)
                .header(
                    CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(multipart_file(&boundary, "attachment", name, &body)),
        );
        let response = once.send(request).await.map_err(|e| match e.kind() {
            Kind::Remote => e.hint(format!(
                "the upload may have landed: run the same publish again, which compares an asset named {name} with the file"
            )),
            _ => e,
        })?;
        self.json_answer(response, &what, WRITE_SCOPE).await
    }
}

/// A `multipart/form-data` body of one file part (RFC 7578). Built here, rather than
/// with reqwest's `multipart` feature, because one part is all the API takes and the
/// feature pulls in a MIME-guessing crate for nothing. The boundary is random, so it
/// cannot be in the file but by a 2^-128 chance.
fn multipart_file(boundary: &str, field: &str, file_name: &str, content: &[u8]) -> Bytes {
    // Quotes cannot be escaped in the header; browsers write them as %22 (RFC 7578 §4.2).
    let file_name = file_name.replace('"', "%22");
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = BytesMut::with_capacity(head.len() + content.len() + tail.len());
    body.put_slice(head.as_bytes());
    body.put_slice(content);
    body.put_slice(tail.as_bytes());
    body.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_body_is_one_file_part_between_boundaries() {
        let body = multipart_file("b0", "attachment", "docs \"x\".tar.gz", b"\x00\x01");
        assert_eq!(
            body.as_ref(),
            b"--b0\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"docs %22x%22.tar.gz\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\x01\r\n--b0--\r\n"
        );
    }

    #[test]
    fn a_release_reads_from_forgejos_json() {
        let json = r#"{"id":21,"tag_name":"v1.4.0","target_commitish":"main","name":"v1.4.0","draft":false,"prerelease":false,"html_url":"https://f/acme/app/releases/tag/v1.4.0","assets":[{"id":88,"name":"a","size":5,"download_count":4,"created_at":"2025-07-20T10:18:30Z","uuid":"0b","browser_download_url":"https://f/acme/app/releases/download/v1.4.0/a","type":"attachment"}],"archive_download_count":{"zip":0,"tar_gz":1}}"#;
        let release: Release = serde_json::from_str(json).unwrap();
        assert_eq!(release.assets[0].size, 5);
        assert_eq!(release.tag_name, "v1.4.0");
    }
}
