//! How every request to the forge is made: URLs, the token header, JSON answers, and
//! error bodies turned into one line.
//!
//! Kept apart from what is asked (runs, jobs, logs) so that deadlines, retries and
//! the status mapping ([`crate::http::status_error`]) are decided in one place.

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::Forge;
use crate::error::{Error, Result};
use crate::http;

impl Forge {
    pub(super) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    pub(super) fn repo_api(&self, tail: &[&str]) -> Url {
        let mut segments = vec!["api", "v1", "repos", &self.repo.owner, &self.repo.name];
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    pub(super) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, token.header()),
            None => request,
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T> {
        let request = self.authorize(self.http.request(Method::GET, url));
        let response = self.http.send(request).await?;
        let status = response.status();
        if !status.is_success() {
            let message = self.error_message(response).await;
            return Err(self.status_error(status, &message, what));
        }
        self.read_json(response, what).await
    }

    /// A successful answer's JSON, in the forge's words when it is of another shape.
    pub(super) async fn read_json<T: DeserializeOwned>(
        &self,
        response: Response,
        what: &str,
    ) -> Result<T> {
        http::read_json(
            response,
            what,
            "the forge",
            "check that --forge-url points at a Forgejo or Gitea server",
        )
        .await
    }

    /// What an error body says ([`http::said_line`]), scrubbed of the token.
    pub(super) async fn error_message(&self, response: Response) -> String {
        let body = http::error_body(response).await;
        http::said_line(&body, |line| match &self.token {
            Some(token) => token.scrub(line),
            None => line.to_owned(),
        })
    }

    /// An unsuccessful answer as the suite's one mapping ([`http::status_error`]) says
    /// it, with the hint that fits the forge: what to do about the token, the scope,
    /// Gitea 1.25's owner-only listing, or the repository name.
    pub(super) fn status_error(&self, status: StatusCode, message: &str, what: &str) -> Error {
        let token_hint = "set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the read:repository scope";
        let err = http::status_error(status, what, message);
        match status {
            StatusCode::UNAUTHORIZED if self.token.is_none() => err.hint(token_hint),
            StatusCode::UNAUTHORIZED => err.hint(
                "the token may be expired or revoked; create a new one with the read:repository scope",
            ),
            StatusCode::FORBIDDEN if message.contains("scope") => {
                let scope = message
                    .split(['[', ']'])
                    .nth(1)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("read:repository");
                err.hint(format!("create a token with the {scope} scope and use it instead"))
            }
            StatusCode::FORBIDDEN if message.contains("owner of the repo") => err.hint(
                "Gitea 1.25 lets only the repository owner or an admin list Actions runs: use such a token, or upgrade to Gitea 1.26",
            ),
            StatusCode::FORBIDDEN => err.hint(token_hint),
            StatusCode::NOT_FOUND if self.token.is_none() => err.hint(format!(
                "check --repo ({}); if the repository is private, set FORGEJO_TOKEN",
                self.repo
            )),
            StatusCode::NOT_FOUND => err.hint(format!("check --repo ({}) and --forge-url", self.repo)),
            _ => err,
        }
    }
}

/// Remembers the rows of each page read in one listing, so a page that repeats an
/// earlier one (a server that ignores `page`, or a proxy that caches by path) is an
/// error rather than an endless loop or a silent stop with partial results.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    seen: std::collections::HashMap<Vec<i64>, u64>,
}

impl Pages {
    /// Records page `page` of `what` by its row ids; fails if another page had them.
    pub fn check(
        &mut self,
        what: &str,
        page: u64,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let ids: Vec<i64> = ids.into_iter().collect();
        if ids.is_empty() {
            return Ok(());
        }
        match self.seen.insert(ids, page) {
            Some(earlier) if earlier != page => Err(Error::remote(format!(
                "{what}: page {page} repeats page {earlier}, so the forge's paging cannot be trusted and the list would be incomplete"
            ))
            .hint("check that no proxy in front of the forge ignores or caches the page query parameter")),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_page_is_an_error_naming_both_pages() {
        let mut pages = Pages::default();
        pages.check("the runs list", 1, [5, 4, 3]).unwrap();
        pages.check("the runs list", 2, [2, 1]).unwrap();
        pages.check("the runs list", 3, []).unwrap();
        let err = pages.check("the runs list", 3, [5, 4, 3]).unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message().contains("page 3 repeats page 1"),
            "{}",
            err.message()
        );
    }
}
