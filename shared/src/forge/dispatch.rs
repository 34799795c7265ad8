//! Starting a run: checking a commit is on the forge, dispatching a workflow, finding
//! the run a dispatch started, and the log tails of a failed run's jobs.
//!
//! What went wrong before (blumeops-tools.md §7): the Python tool matched the new run
//! by `head_sha`, but a dispatched run's `head_sha` is the tip of the branch it was
//! dispatched on (main), not the commit named in its inputs, so it silently missed
//! every run of a commit that was not the tip. Here a run is told by how it was
//! started (workflow, event `workflow_dispatch`) and when (apis.md §1.7):
//!
//! - Forgejo v11+ answers the dispatch itself with the run (201 with
//!   `return_run_info`), so there is nothing to find;
//! - before v11, and on Gitea, the answer is an empty 204. [`Forge::dispatch`] then
//!   first reads the newest run of the workflow, and [`Forge::find_dispatched_run`]
//!   accepts only a run numbered above it, which no older run of the same commit
//!   can be (run numbers only grow), and not started before the dispatch (minus
//!   [`CLOCK_SKEW`]).
//!
//! The dispatch POST is sent exactly once: [`crate::http::Client`] never repeats a
//! POST, and an answer that leaves it unknown whether the run was created (a 502 from
//! a proxy, a timeout) is reported as such, with how to check, instead of retried.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::model::{Job, Run};
use super::version::{Product, ServerVersion};
use super::{Forge, LogChunk, LogWrite, RunQuery, copy_log};
use crate::error::{Error, Kind, Result};
use crate::http;

/// How far the forge's clock may run behind ours: a run that started up to this long
/// before the dispatch was sent (by our clock) still counts as the dispatched one.
pub const CLOCK_SKEW: Duration = Duration::from_secs(5);

/// The first wait between two looks at the runs list; it doubles up to
/// [`POLL_MAX`], so a run that appears at once is found in half a second and a slow
/// queue costs one request every few seconds.
pub const POLL_FIRST: Duration = Duration::from_millis(500);
pub const POLL_MAX: Duration = Duration::from_secs(4);

/// The event of a dispatched run.
pub const DISPATCH_EVENT: &str = "workflow_dispatch";

/// What a dispatch answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dispatched {
    /// Forgejo v11+: the run it created.
    Run(DispatchedRun),
    /// Before Forgejo v11, and Gitea: 204, no run. Find it with
    /// [`Forge::find_dispatched_run`] and this mark.
    NoRunInfo { dispatched_at: Since },
}

/// The run a dispatch created, as Forgejo v11+ answers it (`201
/// {"id","run_number","jobs"}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchedRun {
    /// The database id (what `…/actions/runs/{id}` takes).
    pub id: i64,
    /// The run number the web UI shows.
    pub number: i64,
    /// `{forge}/{owner}/{repo}/actions/runs/{number}`.
    pub url: String,
    /// The names of its jobs.
    pub jobs: Vec<String>,
}

/// When a dispatch was sent, and what came before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Since {
    /// Unix seconds by this machine's clock, taken just before the POST.
    pub unix: i64,
    /// The newest run number of the workflow's dispatched runs before the POST (0: none
    /// yet); `None` when it was not read.
    pub newest_before: Option<i64>,
}

impl Since {
    /// Now, with nothing known of earlier runs.
    pub fn now() -> Self {
        Since {
            unix: now_unix(),
            newest_before: None,
        }
    }

    /// Whether `run` can be the one dispatched at this mark: numbered above every run
    /// seen before, and not started before the dispatch. Without a number to compare
    /// with, only a run that has started (after the dispatch) is accepted, since an
    /// older run still queued would be indistinguishable.
    pub fn admits(&self, run: &Run) -> bool {
        let earliest = self.unix - CLOCK_SKEW.as_secs() as i64;
        match self.newest_before {
            Some(floor) => run.number > floor && run.started.is_none_or(|s| s >= earliest),
            None => run.started.is_some_and(|s| s >= earliest),
        }
    }
}

/// Unix seconds now, as the forge's times are parsed (jiff, in forge::model).
fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// The last lines of one failed job's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLogTail {
    pub job: Job,
    /// The last lines, oldest first, without their line ends, colour codes and all (the
    /// command that prints them strips colour as it does for any log); or why the log
    /// could not be read (a private repository before Forgejo v16, a cleaned-up log).
    /// Empty for a job that never started.
    pub lines: Result<Vec<String>, Error>,
}

/// Whether this server answers a dispatch with the run: Forgejo v11+ (apis.md §1.0).
fn returns_run_info(version: &ServerVersion) -> bool {
    version.product == Product::Forgejo && version.major >= 11
}

impl Forge {
    /// Whether the forge has commit `sha` (`GET …/git/commits/{sha}`): a commit not
    /// pushed yet is `false`. A 404 is told apart from a wrong repository by asking
    /// for the repository.
    pub async fn commit_exists(&self, sha: &str) -> Result<bool> {
        if !(4..=64).contains(&sha.len()) || !sha.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::usage(format!(
                "'{sha}' is not a commit SHA (4 to 64 hexadecimal digits)"
            )));
        }
        let mut url = self.repo_api(&["git", "commits", sha]);
        // Forgejo and Gitea (1.19+) skip the diff stats, signature check and file list
        // when asked: the existence is all that is needed.
        url.query_pairs_mut()
            .append_pair("stat", "false")
            .append_pair("verification", "false")
            .append_pair("files", "false");
        let what = format!("commit {} in {}", short(sha), self.repo);
        let response = self
            .http
            .send(self.authorize(self.http.request(Method::GET, url)))
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(true);
        }
        let message = self.error_message(response).await;
        if status == StatusCode::NOT_FOUND {
            // The repository itself may be the missing thing: its 404 says so.
            self.repo_is_private().await?;
            return Ok(false);
        }
        Err(self.status_error(status, &message, &what))
    }

    /// Dispatches `workflow_file` (a file name in `.forgejo/workflows`, e.g.
    /// `build-container.yaml`) on `git_ref` with `inputs`, asking for the run back.
    /// The POST is sent once, never retried (see the module docs).
    pub async fn dispatch(
        &self,
        workflow_file: &str,
        git_ref: &str,
        inputs: &BTreeMap<String, String>,
    ) -> Result<Dispatched> {
        if workflow_file.is_empty() || workflow_file.contains('/') {
            return Err(
                Error::usage(format!("'{workflow_file}' is not a workflow file name"))
                    .hint("give the file name in .forgejo/workflows, such as build-container.yaml"),
            );
        }
        if git_ref.trim().is_empty() {
            return Err(Error::usage("the ref to dispatch on is empty"));
        }
        let version = self.version().await?.clone();
        // Without run info the new run is found by number: note the newest first.
        let newest_before = if returns_run_info(&version) {
            None
        } else {
            Some(self.newest_dispatched(workflow_file).await?)
        };
        let since = Since {
            unix: now_unix(),
            newest_before,
        };
        let url = self.repo_api(&["actions", "workflows", workflow_file, "dispatches"]);
        let body = serde_json::json!({
            "ref": git_ref,
            "inputs": inputs,
            "return_run_info": true,
        });
        let request = self.authorize(self.http.request(Method::POST, url).json(&body));
        let what = format!("dispatching {workflow_file} in {}", self.repo);
        let response = self.http.send(request).await.map_err(|e| match e.kind() {
            // Refused before anything was sent (a plain-http URL, say).
            Kind::Usage => e,
            _ => self.maybe_landed(e, workflow_file),
        })?;
        let status = response.status();
        match status {
            StatusCode::CREATED => {
                #[derive(Deserialize)]
                struct RunInfo {
                    id: i64,
                    run_number: i64,
                    #[serde(default)]
                    jobs: Vec<String>,
                }
                let unreadable = |why: String| {
                    Error::remote(format!(
                        "{what}: the forge created the run (201), but its answer could not be read: {why}"
                    ))
                    .hint(format!(
                        "do not dispatch again: the run exists; find it with runner-logs --workflow {workflow_file}"
                    ))
                };
                let bytes = http::read_body(response, &what)
                    .await
                    .map_err(|e| unreadable(e.message().to_owned()))?;
                let info: RunInfo = serde_json::from_slice(&bytes)
                    .map_err(|e| unreadable(format!("JSON this tool cannot read ({e})")))?;
                let number = info.run_number.to_string();
                let url = self.url(&[
                    &self.repo.owner,
                    &self.repo.name,
                    "actions",
                    "runs",
                    &number,
                ]);
                Ok(Dispatched::Run(DispatchedRun {
                    id: info.id,
                    number: info.run_number,
                    url: http::redact(&url),
                    jobs: info.jobs,
                }))
            }
            status if status.is_success() => Ok(Dispatched::NoRunInfo {
                dispatched_at: since,
            }),
            StatusCode::INTERNAL_SERVER_ERROR => {
                let message = self.error_message(response).await;
                if !message.is_empty() {
                    return Err(self.dispatch_error(
                        status,
                        &message,
                        workflow_file,
                        git_ref,
                        &what,
                    ));
                }
                // Forgejo blanks a 500's message for all but site admins (apis.md §1.1),
                // so a missing workflow file (§1.7) and a failure after the run was
                // created look alike: whether the file is there tells them apart.
                Err(
                    match self.workflow_file_exists(workflow_file, git_ref).await {
                        Some(false) => self.missing_workflow(workflow_file, git_ref),
                        found => {
                            let err = self
                                .maybe_landed(http::status_error(status, &what, ""), workflow_file);
                            if found.is_none() {
                                err.hint(format!(
                                "or the workflow file {workflow_file} is not on {git_ref}: the forge said nothing, and whether the file exists could not be checked"
                            ))
                            } else {
                                err
                            }
                        }
                    },
                )
            }
            status => {
                let message = self.error_message(response).await;
                Err(self.dispatch_error(status, &message, workflow_file, git_ref, &what))
            }
        }
    }

    /// Whether `workflow_file` is in one of the workflow directories at `git_ref`
    /// (`GET …/contents/{path}?ref=`); `None` when the forge would not say.
    async fn workflow_file_exists(&self, workflow_file: &str, git_ref: &str) -> Option<bool> {
        for dir in [".forgejo", ".gitea", ".github"] {
            let path = format!("{dir}/workflows/{workflow_file}");
            let mut url = self.repo_api(&["contents"]);
            url.path_segments_mut().ok()?.extend(path.split('/'));
            url.query_pairs_mut().append_pair("ref", git_ref);
            let request = self.authorize(self.http.request(Method::GET, url));
            match self.http.send(request).await.ok()?.status() {
                StatusCode::NOT_FOUND => continue,
                status if status.is_success() => return Some(true),
                _ => return None,
            }
        }
        Some(false)
    }

    /// The workflow file is not in the repository at `git_ref` (exit 4).
    fn missing_workflow(&self, workflow_file: &str, git_ref: &str) -> Error {
        Error::not_found(format!(
            "workflow file {workflow_file} not found in {} at {git_ref}",
            self.repo
        ))
        .hint(format!(
            "check the name: it must be a file in .forgejo/workflows (or .gitea/workflows, .github/workflows) on {git_ref}, and the ref must exist"
        ))
    }

    /// The newest run number of `workflow_file`'s dispatched runs, 0 if none.
    async fn newest_dispatched(&self, workflow_file: &str) -> Result<i64> {
        let runs = self.list_runs(&dispatch_query(workflow_file, 1)).await?;
        Ok(runs.first().map_or(0, |r| r.number))
    }

    /// An unsuccessful dispatch answer, in words that say what to do.
    fn dispatch_error(
        &self,
        status: StatusCode,
        message: &str,
        workflow_file: &str,
        git_ref: &str,
        what: &str,
    ) -> Error {
        let token_hint = "set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the write:repository scope";
        match status {
            // Forgejo: an unknown workflow file (or a ref it cannot expand) is a 500 whose
            // text, `workflow not found`, only site admins see (apis.md §1.7).
            StatusCode::INTERNAL_SERVER_ERROR if message.contains("workflow not found") => {
                self.missing_workflow(workflow_file, git_ref)
            }
            // Gitea: a missing workflow or ref is a 404 saying which; Forgejo: a ref whose
            // commit does not exist. A missing repository is the generic 404 body.
            StatusCode::NOT_FOUND
                if !message.is_empty() && !message.starts_with("The target couldn't be found") =>
            {
                Error::not_found(format!(
                    "workflow file {workflow_file} or ref {git_ref} not found in {} ({message})",
                    self.repo
                ))
                .hint("check the workflow file name and that the ref is pushed")
            }
            StatusCode::UNAUTHORIZED => {
                http::status_error(status, what, message).hint(if self.token.is_none() {
                    format!("dispatching needs a token: {token_hint}")
                } else {
                    "the token may be expired or revoked; create a new one with the write:repository scope".to_owned()
                })
            }
            StatusCode::FORBIDDEN if message.contains("scope") => {
                http::status_error(status, what, message).hint(
                    "dispatching needs the write:repository scope: create a token with it and use it instead",
                )
            }
            StatusCode::FORBIDDEN => http::status_error(status, what, message).hint(format!(
                "the token's user needs write access to {}, and the token the write:repository scope",
                self.repo
            )),
            StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Error::usage(format!(
                "{what}: the forge refused the request ({} {message})",
                status.as_u16()
            ))
            .hint("check the ref and that every input the workflow requires is given"),
            status if status.is_server_error() => self.maybe_landed(
                http::status_error(status, what, message),
                workflow_file,
            ),
            status => self.status_error(status, message, what),
        }
    }

    /// An error after the POST left, where the forge may have created the run anyway.
    fn maybe_landed(&self, err: Error, workflow_file: &str) -> Error {
        let runs = self.url(&[&self.repo.owner, &self.repo.name, "actions"]);
        Error::new(
            Kind::Remote,
            format!(
                "{}; the dispatch may or may not have landed",
                err.message()
            ),
        )
        .hint(format!(
            "it was not sent again: check for a new {workflow_file} run (runner-logs --workflow {workflow_file}, or {}?workflow={workflow_file}) before dispatching again",
            http::redact(&runs)
        ))
    }

    /// After a dispatch answered without the run (204), finds the run it started: the
    /// newest `workflow_dispatch` run of `workflow_file` that `since` admits (see
    /// [`Since::admits`]), never one matched by its commit. Looks at once, then every
    /// [`POLL_FIRST`] doubling to [`POLL_MAX`]; a run still missing after `timeout` is
    /// an error (exit 3). Each request has the client's own deadline as well.
    pub async fn find_dispatched_run(
        &self,
        workflow_file: &str,
        since: &Since,
        timeout: Duration,
    ) -> Result<Run> {
        let started = Instant::now();
        let query = dispatch_query(workflow_file, 20);
        let mut wait = POLL_FIRST;
        loop {
            let runs = self.list_runs(&query).await?;
            if let Some(run) = runs
                .into_iter()
                .filter(|r| since.admits(r))
                .max_by_key(|r| r.number)
            {
                return Ok(run);
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                let actions = self.url(&[&self.repo.owner, &self.repo.name, "actions"]);
                return Err(Error::remote(format!(
                    "the dispatched {workflow_file} run did not appear in {} within {} s",
                    self.repo,
                    timeout.as_secs()
                ))
                .hint(format!(
                    "the dispatch was accepted; look for the run at {}?workflow={workflow_file}, or wait longer",
                    http::redact(&actions)
                )));
            }
            tokio::time::sleep(wait.min(left)).await;
            wait = (wait * 2).min(POLL_MAX);
        }
    }

    /// Waits for run `#number` to be listed, for up to `timeout`: before Forgejo v12
    /// runs are known only through their jobs' tasks, so a run fresh from a dispatch
    /// is invisible until a runner takes a job.
    pub async fn wait_for_run(&self, number: i64, timeout: Duration) -> Result<Run> {
        let started = Instant::now();
        let mut wait = POLL_FIRST;
        loop {
            match self.find_run(number).await {
                Err(e) if e.kind() == Kind::NotFound => {
                    let left = timeout.saturating_sub(started.elapsed());
                    if left.is_zero() {
                        return Err(Error::remote(format!(
                            "run #{number} of {} did not appear within {} s",
                            self.repo,
                            timeout.as_secs()
                        ))
                        .hint(format!(
                            "the dispatch landed, so do not send it again: no runner may have taken its jobs yet; check the runners, then follow it with runner-logs {number} --follow"
                        )));
                    }
                    tokio::time::sleep(wait.min(left)).await;
                    wait = (wait * 2).min(POLL_MAX);
                }
                other => return other,
            }
        }
    }

    /// The last `lines` lines of the log of each failed job of `run` (failure or
    /// cancelled), in job order. A log that cannot be read is an `Err` in its entry,
    /// not a failure of the whole: the other tails are still worth showing. Memory
    /// stays bounded by `lines` whatever the log's size.
    pub async fn failed_job_log_tails(&self, run: &Run, lines: usize) -> Result<Vec<JobLogTail>> {
        let jobs = self.jobs(run).await?;
        let mut tails = Vec::new();
        for job in jobs.into_iter().filter(|j| j.status.is_failed()) {
            let tail = self.log_tail(run, &job, lines).await;
            tails.push(JobLogTail { job, lines: tail });
        }
        Ok(tails)
    }

    async fn log_tail(&self, run: &Run, job: &Job, lines: usize) -> Result<Vec<String>> {
        let source = self.log_source(run, job, None).await?;
        let mut tail = Tail::new(lines);
        match self.read_log(&source, 0).await? {
            LogChunk::Body(mut response, skip) => {
                copy_log(&mut response, skip, &mut tail).await?;
            }
            LogChunk::NothingNew | LogChunk::NotStarted => {}
        }
        Ok(tail.finish())
    }
}

/// The runs a dispatch of `workflow_file` can have started.
fn dispatch_query(workflow_file: &str, limit: usize) -> RunQuery {
    RunQuery {
        events: vec![DISPATCH_EVENT.to_owned()],
        workflow: Some(workflow_file.to_owned()),
        limit,
        ..RunQuery::default()
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Keeps the last `keep` lines of a stream of log bytes.
struct Tail {
    keep: usize,
    lines: std::collections::VecDeque<Vec<u8>>,
    partial: Vec<u8>,
}

impl Tail {
    fn new(keep: usize) -> Self {
        Tail {
            keep,
            lines: std::collections::VecDeque::new(),
            partial: Vec::new(),
        }
    }

    fn push(&mut self, line: Vec<u8>) {
        if self.keep == 0 {
            return;
        }
        if self.lines.len() == self.keep {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    fn finish(mut self) -> Vec<String> {
        if !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.push(last);
        }
        self.lines
            .into_iter()
            .map(|l| {
                let l = l.strip_suffix(b"\r").unwrap_or(&l);
                String::from_utf8_lossy(l).into_owned()
            })
            .collect()
    }
}

impl LogWrite for Tail {
    fn write_log(&mut self, mut bytes: &[u8]) -> Result<()> {
        while let Some(at) = memchr::memchr(b'\n', bytes) {
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&bytes[..at]);
            self.push(line);
            bytes = &bytes[at + 1..];
        }
        // A line longer than this is cut: a tail is for reading, not for a 1 GB line.
        let room = (64 * 1024usize).saturating_sub(self.partial.len());
        self.partial
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::model::Status;

    fn run(number: i64, started: Option<i64>) -> Run {
        Run {
            id: Some(300 + number),
            number,
            status: Status::Waiting,
            workflow: "build-container.yaml".into(),
            title: String::new(),
            git_ref: "main".into(),
            event: DISPATCH_EVENT.into(),
            started,
            stopped: None,
            duration: None,
            url: String::new(),
        }
    }

    #[test]
    fn a_mark_admits_only_runs_numbered_above_the_newest_before_it() {
        let since = Since {
            unix: 1_000_000,
            newest_before: Some(41),
        };
        // An older run of the same commit, even one that starts only now, is not it.
        assert!(!since.admits(&run(41, Some(1_000_010))));
        assert!(since.admits(&run(42, None)));
        assert!(since.admits(&run(42, Some(1_000_001))));
    }

    #[test]
    fn a_run_started_before_the_dispatch_is_not_it_beyond_the_clock_skew() {
        let since = Since {
            unix: 1_000_000,
            newest_before: Some(0),
        };
        assert!(since.admits(&run(1, Some(1_000_000 - 5))));
        assert!(!since.admits(&run(1, Some(1_000_000 - 6))));
    }

    #[test]
    fn without_a_number_to_compare_a_queued_run_is_not_taken_for_the_new_one() {
        let since = Since {
            unix: 1_000_000,
            newest_before: None,
        };
        assert!(!since.admits(&run(7, None)));
        assert!(since.admits(&run(7, Some(1_000_002))));
    }

    #[test]
    fn a_tail_keeps_the_last_lines_across_chunks_and_a_final_partial_line() {
        let mut tail = Tail::new(2);
        tail.write_log(b"one\ntw").unwrap();
        tail.write_log(b"o\r\nthr").unwrap();
        tail.write_log(b"ee").unwrap();
        assert_eq!(tail.finish(), ["two", "three"]);
        let mut none = Tail::new(0);
        none.write_log(b"a\nb\n").unwrap();
        assert!(none.finish().is_empty());
    }
}
