//! The Forgejo (and Gitea) Actions client: runs, their jobs, and job logs.
//!
//! The API differs by server version (apis.md §1.0), so every call starts from the
//! version the server reports (asked once per process):
//!
//! | need | Forgejo v16+ | Forgejo v12–v15 | Forgejo < v12 | Gitea 1.25 |
//! |---|---|---|---|---|
//! | runs list | `actions/runs`, newest first | `actions/runs` (v12–v14 oldest first) | `actions/tasks`, grouped | `actions/runs` |
//! | run by number | `?run_number=` | `?run_number=` | `actions/tasks` | scan, newest first |
//! | jobs of a run | `runs/{id}/jobs` | `actions/tasks`, grouped | `actions/tasks`, grouped | `runs/{id}/jobs` |
//! | job log | `actions/jobs/{id}/logs` (Range) | web route, public repos only | web route | `actions/jobs/{id}/logs` |
//!
//! Paging always sends `page` with `limit` (Forgejo ignores `limit` without `page`) and
//! stops as soon as enough rows are known: listing 20 runs costs one or two requests,
//! not the whole history. The run number users see in the web UI and the database id
//! the API takes in paths are kept apart in [`model::Run`].

pub mod log;
pub mod model;
pub mod repo;
pub mod token;
pub mod version;

use std::collections::{BTreeMap, HashMap};

use reqwest::header::{AUTHORIZATION, RANGE};
use reqwest::{Method, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::http::Client;
use model::{Job, Page, Run, Status, WireJobs, WireRun, WireTask, parse_time, span};
use repo::RepoRef;
use token::Token;
use version::{Product, ServerVersion};

/// The most rows Forgejo and Gitea return per page (`MAX_RESPONSE_ITEMS`).
pub const MAX_PAGE: usize = 50;

/// How far back a task scan may go when it only fills in job durations.
const DURATION_SCAN_PAGES: u64 = 4;

/// What runs to list.
#[derive(Clone, Debug, Default)]
pub struct RunQuery {
    /// Any of these statuses; empty means all.
    pub statuses: Vec<Status>,
    /// Any of these events (`push`, `workflow_dispatch`, …); empty means all.
    pub events: Vec<String>,
    /// The workflow file name, e.g. `deploy.yml`.
    pub workflow: Option<String>,
    pub limit: usize,
}

impl RunQuery {
    /// The `workflow_id` filter to send: only servers that have it (Forgejo v15+), and
    /// only a full file name, since the server matches exactly.
    fn server_workflow(&self, version: &ServerVersion) -> Option<&str> {
        self.workflow
            .as_deref()
            .filter(|w| version.runs_filter_by_workflow() && w.contains('.'))
    }

    fn matches(&self, run: &Run) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&run.status))
            && (self.events.is_empty() || self.events.contains(&run.event))
            && self
                .workflow
                .as_ref()
                .is_none_or(|w| workflow_matches(w, &run.workflow))
    }
}

/// `deploy` matches `deploy.yml` and `deploy.yaml`, as users type it either way.
fn workflow_matches(wanted: &str, actual: &str) -> bool {
    actual == wanted
        || actual
            .strip_suffix(".yml")
            .or_else(|| actual.strip_suffix(".yaml"))
            == Some(wanted)
}

/// Where a job's log can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// `GET /api/v1/repos/{o}/{r}/actions/jobs/{id}/logs[?attempt=N]`, token-authenticated.
    Api { job_id: i64, attempt: Option<u32> },
    /// The web UI's route, anonymous: `/{o}/{r}/actions/runs/{run}/jobs/{index}[/attempt/{n}]/logs`.
    Web { url: Url },
}

/// The outcome of asking for a log from some byte offset on.
pub enum LogChunk {
    /// The body, and how many leading bytes to drop (the server ignored `Range`).
    Body(Response, u64),
    /// The server has nothing past the offset yet (416).
    NothingNew,
    /// The job has not started, so there is no log yet.
    NotStarted,
}

/// A client for one repository's Actions on one forge.
#[derive(Debug)]
pub struct Forge {
    http: Client,
    base: Url,
    repo: RepoRef,
    token: Option<Token>,
    version: tokio::sync::OnceCell<ServerVersion>,
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

    /// The most recent runs matching `query`, newest first, at most `query.limit`.
    pub async fn list_runs(&self, query: &RunQuery) -> Result<Vec<Run>> {
        let version = self.version().await?.clone();
        let limit = query.limit.max(1);
        let mut runs = if version.has_runs_api() {
            self.list_runs_api(&version, query, limit).await?
        } else {
            self.list_runs_from_tasks(query, limit).await?
        };
        runs.sort_by_key(|run| std::cmp::Reverse(run.number));
        runs.dedup_by_key(|r| r.number);
        runs.truncate(limit);
        Ok(runs)
    }

    async fn list_runs_api(
        &self,
        version: &ServerVersion,
        query: &RunQuery,
        limit: usize,
    ) -> Result<Vec<Run>> {
        let client_side_filter =
            query.workflow.is_some() && query.server_workflow(version).is_none();
        let size = if client_side_filter {
            MAX_PAGE
        } else {
            limit.min(MAX_PAGE)
        };
        let first = self.runs_page(version, query, &[], 1, size).await?;
        let pages = (first.total_count as usize).div_ceil(size).max(1) as u64;
        // The pages still to read, newest first. Forgejo v12–v14 list oldest first, so
        // there the newest rows are on the last page and page 1 holds the oldest.
        let newest_first = version.runs_newest_first();
        let mut remaining: Vec<u64> = if newest_first {
            (2..=pages).collect()
        } else {
            (2..=pages).rev().collect()
        };
        let mut rows: Vec<Run> = wire_runs(first.workflow_runs, query);
        let mut newest_rows = if newest_first || pages == 1 {
            rows.len()
        } else {
            0
        };
        while newest_rows < limit && !remaining.is_empty() {
            let batch = (limit - newest_rows)
                .div_ceil(size)
                .clamp(1, remaining.len());
            let numbers: Vec<u64> = remaining.drain(..batch).collect();
            let pages = futures::future::try_join_all(
                numbers
                    .iter()
                    .map(|&p| self.runs_page(version, query, &[], p, size)),
            )
            .await?;
            for page in pages {
                let matching = wire_runs(page.workflow_runs, query);
                newest_rows += matching.len();
                rows.extend(matching);
            }
        }
        Ok(rows)
    }

    async fn runs_page(
        &self,
        version: &ServerVersion,
        query: &RunQuery,
        extra: &[(&str, String)],
        page: u64,
        size: usize,
    ) -> Result<Page<WireRun>> {
        let mut url = self.repo_api(&["actions", "runs"]);
        {
            let mut pairs = url.query_pairs_mut();
            pairs.append_pair("page", &page.to_string());
            pairs.append_pair("limit", &size.to_string());
            for status in &query.statuses {
                pairs.append_pair("status", &status_query(version, *status));
            }
            if version.product == Product::Forgejo {
                for event in &query.events {
                    pairs.append_pair("event", event);
                }
            } else if let [event] = query.events.as_slice() {
                pairs.append_pair("event", event);
            }
            if let Some(workflow) = query.server_workflow(version) {
                pairs.append_pair("workflow_id", workflow);
            }
            for (key, value) in extra {
                pairs.append_pair(key, value);
            }
        }
        self.get_json(url, "the runs list").await
    }

    /// Old servers: runs are the tasks grouped by run number. Tasks come newest first,
    /// so reading stops once `limit` runs older than the newest page's oldest are known.
    async fn list_runs_from_tasks(&self, query: &RunQuery, limit: usize) -> Result<Vec<Run>> {
        let mut tasks: Vec<WireTask> = Vec::new();
        let mut page = 1;
        loop {
            let batch = self.tasks_page(page).await?;
            let done = batch.len() < MAX_PAGE;
            tasks.extend(batch);
            let oldest_seen = tasks.iter().map(|t| t.run_number).min().unwrap_or(0);
            let complete: Vec<Run> = runs_from_tasks(&tasks)
                .into_iter()
                .filter(|r| r.number > oldest_seen && query.matches(r))
                .collect();
            if done {
                return Ok(runs_from_tasks(&tasks)
                    .into_iter()
                    .filter(|r| query.matches(r))
                    .collect());
            }
            if complete.len() >= limit {
                return Ok(complete);
            }
            page += 1;
        }
    }

    /// The run users call `#number`.
    pub async fn find_run(&self, number: i64) -> Result<Run> {
        let version = self.version().await?.clone();
        let missing = || {
            Error::not_found(format!("run #{number} not found in {}", self.repo))
                .hint("list recent runs with: runner-logs")
        };
        if version.has_runs_api() && version.runs_filter_by_number() {
            let page = self
                .runs_page(
                    &version,
                    &RunQuery::default(),
                    &[("run_number", number.to_string())],
                    1,
                    1,
                )
                .await?;
            return page
                .workflow_runs
                .into_iter()
                .map(WireRun::into_run)
                .find(|r| r.number == number)
                .ok_or_else(missing);
        }
        if version.has_runs_api() {
            // Gitea has no run_number filter; its list is newest first, so scan pages
            // only until the numbers drop below the one wanted.
            let mut page = 1;
            loop {
                let batch = self
                    .runs_page(&version, &RunQuery::default(), &[], page, MAX_PAGE)
                    .await?;
                let runs: Vec<Run> = batch
                    .workflow_runs
                    .into_iter()
                    .map(WireRun::into_run)
                    .collect();
                if let Some(run) = runs.iter().find(|r| r.number == number) {
                    return Ok(run.clone());
                }
                if runs.len() < MAX_PAGE || runs.iter().all(|r| r.number < number) {
                    return Err(missing());
                }
                page += 1;
            }
        }
        let tasks = self.tasks_of_run(number).await?;
        let run = runs_from_tasks(&tasks)
            .into_iter()
            .next()
            .ok_or_else(missing)?;
        self.found_tasks
            .lock()
            .expect("the task cache is never poisoned: no code panics while holding it")
            .insert(number, tasks);
        Ok(run)
    }

    /// The jobs of a run, in the web UI's order (their index is the `-j` number).
    pub async fn jobs(&self, run: &Run) -> Result<Vec<Job>> {
        let version = self.version().await?.clone();
        match run.id {
            Some(id) if version.has_jobs_api() => {
                let mut url = self.repo_api(&["actions", "runs", &id.to_string(), "jobs"]);
                url.query_pairs_mut()
                    .append_pair("page", "1")
                    .append_pair("limit", &MAX_PAGE.to_string());
                let wire: WireJobs = self.get_json(url, "the jobs of the run").await?;
                Ok(wire.into_jobs())
            }
            _ => {
                let found = self
                    .found_tasks
                    .lock()
                    .expect("the task cache is never poisoned: no code panics while holding it")
                    .remove(&run.number);
                let tasks = match found {
                    Some(tasks) => tasks,
                    None => self.tasks_of_run(run.number).await?,
                };
                Ok(jobs_from_tasks(&tasks))
            }
        }
    }

    /// Adds start times and durations to jobs that lack them: Forgejo v16's jobs carry
    /// no times, their tasks do. Only the listing needs them, so this is separate from
    /// [`Forge::jobs`] (a `--follow` poll does not pay for it). Newest tasks come first,
    /// so a recent run needs one page; an old one gets no durations, not a long scan.
    pub async fn fill_durations(&self, jobs: &mut [Job]) -> Result<()> {
        let Some(oldest) = jobs
            .iter()
            .filter(|j| j.started.is_none())
            .filter_map(|j| j.task_id)
            .min()
        else {
            return Ok(());
        };
        let mut by_task: HashMap<i64, WireTask> = HashMap::new();
        for page in 1..=DURATION_SCAN_PAGES {
            let batch = self.tasks_page(page).await?;
            let done = batch.len() < MAX_PAGE || batch.iter().any(|t| t.id <= oldest);
            by_task.extend(batch.into_iter().map(|t| (t.id, t)));
            if done {
                break;
            }
        }
        for job in jobs.iter_mut().filter(|j| j.started.is_none()) {
            if let Some(task) = job.task_id.and_then(|id| by_task.get(&id)) {
                job.started = parse_time(&task.created_at);
                job.duration = span(job.started, parse_time(&task.updated_at), job.status);
            }
        }
        Ok(())
    }

    /// All tasks of run `number`. Tasks come newest first, and a run's tasks are all
    /// created after the run, so the scan stops at the first page with a task of an
    /// older run created before this run's first task, or, while none of this run's
    /// tasks has been seen, at a page holding only older runs (a run that does not
    /// exist, or whose jobs have not started, must not cost the whole history).
    async fn tasks_of_run(&self, number: i64) -> Result<Vec<WireTask>> {
        let mut mine: Vec<WireTask> = Vec::new();
        let mut page = 1;
        loop {
            let batch = self.tasks_page(page).await?;
            let done = batch.len() < MAX_PAGE;
            let newest_on_page = batch.iter().map(|t| t.run_number).max();
            let (own, others): (Vec<WireTask>, Vec<WireTask>) =
                batch.into_iter().partition(|t| t.run_number == number);
            mine.extend(own);
            let first = mine.iter().filter_map(|t| parse_time(&t.created_at)).min();
            let passed = match first {
                Some(first) => others.iter().any(|t| {
                    t.run_number < number && parse_time(&t.created_at).is_some_and(|c| c < first)
                }),
                None => newest_on_page.is_some_and(|n| n < number),
            };
            if done || passed {
                return Ok(mine);
            }
            page += 1;
        }
    }

    async fn tasks_page(&self, page: u64) -> Result<Vec<WireTask>> {
        let mut url = self.repo_api(&["actions", "tasks"]);
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("limit", &MAX_PAGE.to_string());
        let page: Page<WireTask> = self.get_json(url, "the Actions tasks").await?;
        Ok(page.workflow_runs)
    }

    /// Decides where the log of `job` can be read, or says why it cannot.
    pub async fn log_source(
        &self,
        run: &Run,
        job: &Job,
        attempt: Option<u32>,
    ) -> Result<LogSource> {
        let version = self.version().await?.clone();
        if let (true, Some(job_id)) = (version.has_job_logs_api(), job.id) {
            return Ok(LogSource::Api { job_id, attempt });
        }
        // Before v16 only the web UI serves logs, and web routes ignore API tokens
        // (FJ services/auth/basic.go), so only public repositories can be read.
        if self.repo_is_private().await? {
            let upgrade = match version.product {
                Product::Forgejo => "upgrade the forge to Forgejo v16 or later",
                Product::Gitea => "upgrade the forge to Gitea 1.25 or later",
            };
            return Err(Error::remote(format!(
                "{version} has no job-log API this tool can use, and its web log route ignores tokens, so logs of the private repository {} cannot be read",
                self.repo
            ))
            .hint(format!(
                "{upgrade}, or open the log in the web UI: {}",
                self.web_log_url(&version, run.number, job.index, attempt.unwrap_or(job.attempt))
            )));
        }
        Ok(LogSource::Web {
            url: self.web_log_url(
                &version,
                run.number,
                job.index,
                attempt.unwrap_or(job.attempt),
            ),
        })
    }

    fn web_log_url(&self, version: &ServerVersion, run: i64, index: usize, attempt: u32) -> Url {
        let (run, index, attempt) = (
            run.to_string(),
            index.to_string(),
            attempt.max(1).to_string(),
        );
        let mut segments = vec![
            &*self.repo.owner,
            &*self.repo.name,
            "actions",
            "runs",
            &run,
            "jobs",
            &index,
        ];
        if version.web_log_route_has_attempt() {
            segments.extend(["attempt", &attempt]);
        }
        segments.push("logs");
        self.url(&segments)
    }

    async fn repo_is_private(&self) -> Result<bool> {
        #[derive(serde::Deserialize)]
        struct Repository {
            #[serde(default)]
            private: bool,
        }
        let repo: Repository = self.get_json(self.repo_api(&[]), "the repository").await?;
        Ok(repo.private)
    }

    /// Asks for the log from byte `offset` on, with `Range` so a growing log is not
    /// re-sent; servers that ignore `Range` answer 200, and the caller skips `offset`.
    pub async fn read_log(&self, source: &LogSource, offset: u64) -> Result<LogChunk> {
        let (url, authenticated) = match source {
            LogSource::Api { job_id, attempt } => {
                let mut url = self.repo_api(&["actions", "jobs", &job_id.to_string(), "logs"]);
                if let Some(attempt) = attempt {
                    url.query_pairs_mut()
                        .append_pair("attempt", &attempt.to_string());
                }
                (url, true)
            }
            LogSource::Web { url } => (url.clone(), false),
        };
        let mut request = self.http.request(Method::GET, url);
        if authenticated {
            request = self.authorize(request);
        }
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        let response = self.http.send(request).await?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => Ok(LogChunk::Body(response, 0)),
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(LogChunk::NothingNew),
            status if status.is_success() => Ok(LogChunk::Body(response, offset)),
            StatusCode::NOT_FOUND => {
                let message = self.error_message(response).await;
                if message.contains("not started") {
                    return Ok(LogChunk::NotStarted);
                }
                if message.contains("cleaned up") {
                    return Err(Error::not_found("the log has been cleaned up by the forge")
                        .hint("Forgejo deletes job logs after [actions] LOG_RETENTION_DAYS; re-run the job to get a new log"));
                }
                let mut err =
                    Error::not_found(format!("no log found ({})", nonempty(&message, "404")));
                if !authenticated {
                    err = err.hint("the web log route is anonymous: the repository must be public");
                }
                Err(err)
            }
            status => {
                let message = self.error_message(response).await;
                Err(self.status_error(status, &message, "the job log"))
            }
        }
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .pop_if_empty()
            .extend(segments);
        url
    }

    fn repo_api(&self, tail: &[&str]) -> Url {
        let mut segments = vec!["api", "v1", "repos", &self.repo.owner, &self.repo.name];
        segments.extend_from_slice(tail);
        self.url(&segments)
    }

    fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, token.header()),
            None => request,
        }
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url, what: &str) -> Result<T> {
        let request = self.authorize(self.http.request(Method::GET, url));
        let response = self.http.send(request).await?;
        let status = response.status();
        if !status.is_success() {
            let message = self.error_message(response).await;
            return Err(self.status_error(status, &message, what));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Error::remote(format!("{what}: the answer was cut off: {e}")))?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::remote(format!(
                "{what}: the forge sent JSON this tool cannot read ({e})"
            ))
            .hint("check that --forge-url points at a Forgejo or Gitea server")
        })
    }

    /// The `message` of an error body, scrubbed of the token and cut to one short line.
    async fn error_message(&self, response: Response) -> String {
        #[derive(serde::Deserialize)]
        struct Body {
            message: String,
        }
        let bytes = response.bytes().await.unwrap_or_default();
        let text = match serde_json::from_slice::<Body>(&bytes) {
            Ok(body) => body.message,
            Err(_) => String::from_utf8_lossy(&bytes).into_owned(),
        };
        let line = text.lines().next().unwrap_or_default().trim();
        let line: String = line.chars().take(200).collect();
        match &self.token {
            Some(token) => token.scrub(&line),
            None => line,
        }
    }

    /// One line per refusal, naming what to fix.
    fn status_error(&self, status: StatusCode, message: &str, what: &str) -> Error {
        let token_hint = "set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the read:repository scope";
        match status {
            StatusCode::UNAUTHORIZED if self.token.is_none() => {
                Error::remote(format!("{what}: the forge wants a token (401)")).hint(token_hint)
            }
            StatusCode::UNAUTHORIZED => Error::remote(format!("{what}: the forge rejected the token (401)"))
                .hint("the token may be expired or revoked; create a new one with the read:repository scope"),
            StatusCode::FORBIDDEN if message.contains("scope") => {
                let scope = message
                    .split(['[', ']'])
                    .nth(1)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("read:repository");
                Error::remote(format!("{what}: the token lacks the {scope} scope (403)"))
                    .hint(format!("create a token with the {scope} scope and use it instead"))
            }
            StatusCode::FORBIDDEN if message.contains("owner of the repo") => Error::remote(format!(
                "{what}: this Gitea version lets only the repository owner or an admin list Actions runs (403)"
            ))
            .hint("use a token of the owner or an admin, or upgrade to Gitea 1.26"),
            StatusCode::FORBIDDEN => Error::remote(format!(
                "{what}: access denied (403: {})",
                nonempty(message, "forbidden")
            ))
            .hint(token_hint),
            StatusCode::NOT_FOUND => {
                let err = Error::not_found(format!("{what}: {} not found on the forge (404)", self.repo));
                if self.token.is_none() {
                    err.hint("check --repo; if the repository is private, set FORGEJO_TOKEN")
                } else {
                    err.hint("check --repo and --forge-url")
                }
            }
            _ => Error::remote(format!(
                "{what}: the forge answered {} ({})",
                status.as_u16(),
                nonempty(message, status.canonical_reason().unwrap_or("error"))
            ))
            .hint("try again later, or check the forge's health"),
        }
    }
}

fn nonempty<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    if text.is_empty() { fallback } else { text }
}

/// A `status` query value in the server's vocabulary (Gitea takes GitHub names).
fn status_query(version: &ServerVersion, status: Status) -> String {
    match (version.product, status) {
        (Product::Gitea, Status::Waiting) => "queued".into(),
        (Product::Gitea, Status::Running) => "in_progress".into(),
        (Product::Gitea, Status::Blocked) => "waiting".into(),
        _ => status.name().into(),
    }
}

fn wire_runs(wire: Vec<WireRun>, query: &RunQuery) -> Vec<Run> {
    wire.into_iter()
        .map(WireRun::into_run)
        .filter(|r| query.matches(r))
        .collect()
}

/// Groups tasks (one per job attempt) into jobs: one per job name, in the order the
/// jobs first got a task, which is the web UI's order for jobs that have started. The
/// newest attempt gives the status and times.
fn jobs_from_tasks(tasks: &[WireTask]) -> Vec<Job> {
    let mut by_name: Vec<(&str, Vec<&WireTask>)> = Vec::new();
    let mut sorted: Vec<&WireTask> = tasks.iter().collect();
    sorted.sort_by_key(|t| t.id);
    for task in sorted {
        match by_name.iter_mut().find(|(name, _)| *name == task.name) {
            Some((_, attempts)) => attempts.push(task),
            None => by_name.push((&task.name, vec![task])),
        }
    }
    by_name
        .into_iter()
        .enumerate()
        .map(|(index, (name, attempts))| {
            let latest = attempts[attempts.len() - 1];
            let status = Status::from_forgejo(&latest.status);
            let started = parse_time(&latest.created_at);
            Job {
                index,
                id: None,
                name: name.to_owned(),
                status,
                attempt: attempts.len() as u32,
                task_id: Some(latest.id),
                started,
                duration: span(started, parse_time(&latest.updated_at), status),
            }
        })
        .collect()
}

/// Groups tasks into runs, newest run first; a run's status is its jobs' worst.
fn runs_from_tasks(tasks: &[WireTask]) -> Vec<Run> {
    let mut by_run: BTreeMap<i64, Vec<WireTask>> = BTreeMap::new();
    for task in tasks {
        by_run
            .entry(task.run_number)
            .or_default()
            .push(task.clone());
    }
    by_run
        .into_iter()
        .rev()
        .map(|(number, tasks)| {
            let jobs = jobs_from_tasks(&tasks);
            let status = jobs
                .iter()
                .map(|j| j.status)
                .reduce(Status::worst)
                .unwrap_or(Status::Unknown);
            let first = &tasks[0];
            let started = parse_time(&first.run_started_at);
            let stopped = tasks.iter().filter_map(|t| parse_time(&t.updated_at)).max();
            Run {
                id: None,
                number,
                status,
                workflow: first.workflow_id.clone(),
                title: first.display_title.clone(),
                git_ref: first.head_branch.clone(),
                event: first.event.clone(),
                started,
                stopped: stopped.filter(|_| status.is_done()),
                duration: span(started, stopped, status),
                url: first.url.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: i64, run: i64, name: &str, status: &str) -> WireTask {
        WireTask {
            id,
            run_number: run,
            name: name.into(),
            status: status.into(),
            created_at: format!("2025-07-20T10:{:02}:00Z", id % 60),
            updated_at: format!("2025-07-20T10:{:02}:30Z", id % 60),
            run_started_at: "2025-07-20T10:00:00Z".into(),
            ..WireTask::default()
        }
    }

    #[test]
    fn tasks_group_into_jobs_with_reruns_as_attempts() {
        let tasks = [
            task(10, 7, "build", "success"),
            task(11, 7, "test", "failure"),
            task(12, 7, "test", "success"),
        ];
        let jobs = jobs_from_tasks(&tasks);
        let summary: Vec<_> = jobs
            .iter()
            .map(|j| (j.index, j.name.as_str(), j.attempt, j.status))
            .collect();
        assert_eq!(
            summary,
            [
                (0, "build", 1, Status::Success),
                (1, "test", 2, Status::Success)
            ]
        );
        assert_eq!(jobs[1].task_id, Some(12));
    }

    #[test]
    fn runs_from_tasks_take_the_worst_job_status() {
        let tasks = [
            task(3, 2, "a", "success"),
            task(4, 2, "b", "failure"),
            task(2, 1, "a", "success"),
        ];
        let runs = runs_from_tasks(&tasks);
        assert_eq!(
            runs.iter()
                .map(|r| (r.number, r.status))
                .collect::<Vec<_>>(),
            [(2, Status::Failure), (1, Status::Success)]
        );
    }

    #[test]
    fn workflow_filter_accepts_the_name_without_extension() {
        assert!(workflow_matches("deploy", "deploy.yml"));
        assert!(workflow_matches("deploy.yaml", "deploy.yaml"));
        assert!(!workflow_matches("dep", "deploy.yml"));
    }
}
