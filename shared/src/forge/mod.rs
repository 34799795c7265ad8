//! The Forgejo (and Gitea) Actions client: runs, their jobs, and job logs.
//!
//! The API differs by server version (apis.md §1.0), so every call starts from the
//! version the server reports (asked once per process):
//!
//! | need | Forgejo v16+ | Forgejo v12–v15 | Forgejo < v12 | Gitea 1.25 |
//! |---|---|---|---|---|
//! | runs list | `actions/runs`, newest first | `actions/runs` (v12–v14 oldest first) | `actions/tasks`, grouped | `actions/runs` |
//! | run by number | `?run_number=` | `?run_number=` | `actions/tasks` | scan, newest first |
//! | jobs of a run | `runs/{id}/jobs`, every page | `actions/tasks`, numbered by the web log route | same | `runs/{id}/jobs`, every page |
//! | job log | `actions/jobs/{id}/logs` (Range) | web route, public repos only | web route | `actions/jobs/{id}/logs` |
//!
//! Paging always sends `page` with `limit` (Forgejo ignores `limit` without `page`) and
//! stops as soon as enough rows are known: listing 20 runs costs one or two requests,
//! not the whole history. The run number users see in the web UI and the database id
//! the API takes in paths are kept apart in [`model::Run`]. A page that repeats an
//! earlier one is an error, never a silently short list.
//!
//! # Layout, by job
//!
//! Each file answers one question, so a change to how a version lists jobs cannot
//! touch how requests are retried, and a reader finds the version quirks of one
//! concern in one place:
//!
//! - `transport` — how a request is made: URLs, the token header, JSON answers, error
//!   bodies, the one status mapping ([`crate::http::status_error`]) with the forge's
//!   hints, and the guard against repeated pages;
//! - `runs` — listing runs and finding run `#N` (the runs API, or tasks grouped);
//! - [`jobs`] — the jobs of a run numbered as the web UI numbers them, which before
//!   v16 means reading the numbering back from the web log route (its docs say why);
//! - `logs` — where a job's log is read on this server, and streaming it into a
//!   [`LogWrite`] the caller supplies (the client itself never prints);
//! - [`follow`] — watching a whole run as events, for any tool that waits on a run;
//! - [`model`], [`version`], [`repo`], [`token`] — the values all of these share.

pub mod dispatch;
pub mod follow;
pub mod jobs;
mod logs;
pub mod model;
pub mod packages;
pub mod releases;
pub mod repo;
mod runs;
pub mod token;
mod transport;
pub mod version;

use std::collections::HashMap;

use crate::error::{Error, Result};
use crate::http::Client;
use model::WireTask;
use repo::RepoRef;
use reqwest::Url;
use token::Token;
use version::ServerVersion;

pub use logs::{LogChunk, LogSource, LogWrite, copy_log};
pub use runs::RunQuery;

/// The most rows Forgejo and Gitea return per page (`MAX_RESPONSE_ITEMS`).
pub const MAX_PAGE: usize = 50;

/// A client for one repository's Actions on one forge.
#[derive(Debug)]
pub struct Forge {
    http: Client,
    base: Url,
    repo: RepoRef,
    token: Option<Token>,
    version: tokio::sync::OnceCell<ServerVersion>,
    /// Whether the repository is private (it decides what works before v16), asked once.
    private: tokio::sync::OnceCell<bool>,
    /// On servers without a runs API, the tasks read to find a run, kept for the one
    /// [`Forge::jobs`] call that follows, so they are not fetched twice; later calls
    /// (`--follow` polls) read the server again.
    found_tasks: std::sync::Mutex<HashMap<i64, Vec<WireTask>>>,
}

impl Forge {
    /// `forge_url` is the web root (`https://forge.example`), as in `FORGE_URL`.
    pub fn new(http: Client, forge_url: &str, repo: RepoRef, token: Option<Token>) -> Result<Self> {
        let mut base = http.parse_url(forge_url.trim())?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Forge {
            http,
            base,
            repo,
            token,
            version: tokio::sync::OnceCell::new(),
            private: tokio::sync::OnceCell::new(),
            found_tasks: std::sync::Mutex::default(),
        })
    }

    pub fn repo(&self) -> &RepoRef {
        &self.repo
    }

    /// The server's version, asked once.
    pub async fn version(&self) -> Result<&ServerVersion> {
        self.version
            .get_or_try_init(|| async {
                #[derive(serde::Deserialize)]
                struct Version {
                    version: String,
                }
                let url = self.url(&["api", "v1", "version"]);
                let answer: Version = self
                    .get_json(url, "the forge version")
                    .await
                    .map_err(|e| self.not_a_forge(e))?;
                ServerVersion::parse(&answer.version).ok_or_else(|| {
                    Error::remote(format!(
                        "the forge reported a version this tool cannot read: '{}'",
                        answer.version
                    ))
                    .hint("check that --forge-url points at a Forgejo or Gitea server")
                })
            })
            .await
    }

    /// A 404 for `/api/v1/version` means the URL is not a forge's web root.
    fn not_a_forge(&self, err: Error) -> Error {
        if err.kind() != crate::Kind::NotFound {
            return err;
        }
        Error::remote(format!(
            "{} does not answer GET /api/v1/version",
            crate::http::redact(&self.base)
        ))
        .hint("check that --forge-url is the web root of a Forgejo or Gitea server")
    }
}
