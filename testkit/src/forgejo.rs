//! A Forgejo Actions server for tests, faithful to the real API's paths, status codes,
//! JSON fields and quirks (reference: apis.md §1, read from Forgejo's source).
//!
//! No Forgejo can run here, so this mirrors three API levels:
//!
//! - [`ApiLevel::V11`] — Forgejo v11.0: `GET …/actions/tasks` only (no runs list), and
//!   the web log route without an attempt segment;
//! - [`ApiLevel::V14`] — Forgejo v14.0 (routers/api/v1/api.go at v14.0.2): the runs
//!   list and run look-up (v12+, no ORDER BY, so oldest first; no `workflow_id` or
//!   `ref` filters), `…/actions/tasks`, and the web route
//!   `/{o}/{r}/actions/runs/{run}/jobs/{job}/attempt/{n}/logs`; **no** jobs or job-log
//!   API;
//! - [`ApiLevel::V16`] — the Forgejo v16 branch: runs newest first with `workflow_id`
//!   and `ref` filters, `…/runs/{id}/jobs` (a bare array), and
//!   `…/actions/jobs/{id}/logs[?attempt=N]` with `Range` (206/416);
//! - [`ApiLevel::Gitea125`] — Gitea 1.25 (routers/api/v1/repo/action.go): GitHub-style
//!   `status`/`conclusion` and field names, runs newest first with no `run_number`
//!   filter, listing only for the repository owner (403 `user should be the owner of
//!   the repo` otherwise; every token configured here counts as the owner's),
//!   `{"total_count","jobs":[…]}` and the job-log API (no `Range`).
//!
//! Quirks kept on purpose, because clients have to cope with them: `limit` is ignored
//! unless `page` is also sent (then 30 rows); at most 50 rows per page; the
//! capitalised `ScheduleID` key; run durations in nanoseconds, omitted when 0; the
//! Unix epoch for unset times; Forgejo's raw status names; `{"message":…}` error
//! bodies; web routes ignore `Authorization` (a private repository's web route is 404
//! without a session cookie); an out-of-range job index on the web route silently
//! serves job 0; a job gets a task only once a runner takes it, so skipped and queued
//! jobs are missing from `…/actions/tasks` (and their log is `404 job is not started`,
//! plain text on the web route); a log answer names its task in
//! `Content-Disposition: attachment; filename="{workflow}-{job}-{task}.log"`
//! (FJ routers/web/repo/actions/view.go `Logs`, v11.0.3 and v14.0.2 alike).
//!
//! Every request is counted and logged (path, query, whether it carried
//! `Authorization`), so tests can assert "two requests, not a hundred".

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

/// Which Forgejo API the server mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiLevel {
    V11,
    V14,
    V16,
    Gitea125,
}

impl ApiLevel {
    /// What `GET /api/v1/version` answers (Forgejo version + Gitea compatibility).
    pub fn version_string(self) -> &'static str {
        match self {
            ApiLevel::V11 => "11.0.3+gitea-1.22.0",
            ApiLevel::V14 => "14.0.2+gitea-1.22.0",
            ApiLevel::V16 => "16.0.2+gitea-1.22.0",
            ApiLevel::Gitea125 => "1.25.2",
        }
    }
}

/// What the server has for a job's log.
#[derive(Clone, Debug)]
pub enum Log {
    Text(Vec<u8>),
    /// A running job: each log request reveals one more chunk; the job is `running`
    /// until all are out, then takes its final status.
    Growing(Vec<Vec<u8>>),
    /// `404 logs have been cleaned up`.
    CleanedUp,
    /// `404 job is not started`.
    NotStarted,
    /// `len` bytes of a repeated log line, produced on the fly (benchmarks).
    Generated(u64),
}

/// A job to put in a run.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub name: String,
    /// A Forgejo status name: success, failure, running, waiting, cancelled, …
    pub status: String,
    pub attempts: u32,
    pub log: Log,
    /// Status changes over time, from the server's start: `(milliseconds, status)`.
    /// Empty: always `status`.
    pub timeline: Vec<(u64, String)>,
}

impl JobSpec {
    pub fn new(name: &str, status: &str, log: &str) -> Self {
        JobSpec {
            name: name.to_owned(),
            status: status.to_owned(),
            attempts: 1,
            log: Log::Text(log.as_bytes().to_vec()),
            timeline: Vec::new(),
        }
    }

    /// The job moves through these statuses, each from its millisecond after the server
    /// starts (the first from 0); the last is its final status. It has a task (and so a
    /// log, and a row in `…/actions/tasks`) only while not waiting or blocked.
    pub fn timeline(mut self, steps: &[(u64, &str)]) -> Self {
        self.timeline = steps.iter().map(|(t, s)| (*t, (*s).to_owned())).collect();
        if let Some((_, last)) = self.timeline.last() {
            self.status.clone_from(last);
        }
        self
    }

    pub fn with_log(mut self, log: Log) -> Self {
        self.log = log;
        self
    }

    /// Re-run: earlier attempts get the log `attempt {k} of {name}\n`.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }
}

/// A run to put on the server.
#[derive(Clone, Debug)]
pub struct RunSpec {
    pub number: i64,
    pub workflow: String,
    pub title: String,
    pub event: String,
    pub git_ref: String,
    pub jobs: Vec<JobSpec>,
}

impl RunSpec {
    pub fn new(number: i64, workflow: &str, title: &str) -> Self {
        RunSpec {
            number,
            workflow: workflow.to_owned(),
            title: title.to_owned(),
            event: "push".to_owned(),
            git_ref: "main".to_owned(),
            jobs: Vec::new(),
        }
    }

    pub fn event(mut self, event: &str) -> Self {
        self.event = event.to_owned();
        self
    }

    pub fn job(mut self, job: JobSpec) -> Self {
        self.jobs.push(job);
        self
    }
}

/// Configures and starts a [`FakeForgejo`].
#[derive(Clone, Debug)]
pub struct Builder {
    level: ApiLevel,
    owner: String,
    repo: String,
    private: bool,
    require_signin: bool,
    ignore_page: bool,
    tokens: Vec<(String, Vec<String>)>,
    runs: Vec<RunSpec>,
}

impl Builder {
    /// `[service] REQUIRE_SIGNIN_VIEW = true`: anonymous API calls get 401.
    pub fn require_signin(mut self) -> Self {
        self.require_signin = true;
        self
    }

    /// Serve page 1 whatever `page` asks, as a caching proxy in front of the forge
    /// that keys on the path alone would: every page repeats the first.
    pub fn ignore_page(mut self) -> Self {
        self.ignore_page = true;
        self
    }

    /// The repository is `owner/name`.
    pub fn repo(mut self, owner: &str, name: &str) -> Self {
        owner.clone_into(&mut self.owner);
        name.clone_into(&mut self.repo);
        self
    }

    /// A private repository: API reads need a token with `read:repository`; the web
    /// routes are 404, because they ignore tokens.
    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    /// A token the server accepts, with its scopes (`read:repository`, …).
    pub fn token(mut self, token: &str, scopes: &[&str]) -> Self {
        self.tokens.push((
            token.to_owned(),
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        ));
        self
    }

    pub fn run(mut self, run: RunSpec) -> Self {
        self.runs.push(run);
        self
    }

    /// Starts the server on a free loopback port, on its own thread and runtime.
    pub fn start(self) -> FakeForgejo {
        let state = Arc::new(Forge::new(self));
        let app = router(state.clone());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("test server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind a loopback port");
                addr_tx
                    .send(listener.local_addr().expect("local addr"))
                    .expect("report address");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serve");
            });
        });
        let addr = addr_rx.recv().expect("test server started");
        FakeForgejo {
            addr,
            state,
            _stop: stop_tx,
        }
    }

    /// Serves on `addr` until the process ends (the `fake-forgejo` binary).
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = router(Arc::new(Forge::new(self)));
        axum::serve(listener, app).await
    }
}

/// A running test server; stops when dropped.
pub struct FakeForgejo {
    addr: SocketAddr,
    state: Arc<Forge>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub authorized: bool,
}

impl FakeForgejo {
    pub fn builder(level: ApiLevel) -> Builder {
        Builder {
            level,
            owner: "acme".to_owned(),
            repo: "app".to_owned(),
            private: false,
            require_signin: false,
            ignore_page: false,
            tokens: Vec::new(),
            runs: Vec::new(),
        }
    }

    /// The forge's web root, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.state.count.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    pub fn reset_counts(&self) {
        self.state.count.store(0, Ordering::SeqCst);
        self.state.seen.lock().expect("lock").clear();
    }
}

/// 2025-07-20T08:00:00Z: run N is created N minutes later.
const BASE_TIME: i64 = 1_752_998_400;
/// A request the server turns away, with the answer it gives.
type Refusal = Box<Response>;

const DEFAULT_PAGING: usize = 30;
const MAX_RESPONSE_ITEMS: usize = 50;
const STATUSES: [&str; 8] = [
    "unknown",
    "waiting",
    "running",
    "success",
    "failure",
    "cancelled",
    "skipped",
    "blocked",
];

struct JobRec {
    id: i64,
    name: String,
    status: String,
    attempts: u32,
    /// Task ids, one per attempt, oldest first.
    tasks: Vec<i64>,
    log: Log,
    started: i64,
    timeline: Vec<(u64, String)>,
}

struct RunRec {
    id: i64,
    number: i64,
    workflow: String,
    title: String,
    event: String,
    git_ref: String,
    created: i64,
    jobs: Vec<JobRec>,
}

struct Forge {
    level: ApiLevel,
    owner: String,
    repo: String,
    private: bool,
    require_signin: bool,
    ignore_page: bool,
    tokens: Vec<(String, Vec<String>)>,
    /// By database id, ascending.
    runs: Vec<RunRec>,
    /// (task id, run index, job index, attempt), by task id descending.
    tasks: Vec<(i64, usize, usize, u32)>,
    /// When the server started: [`JobSpec::timeline`] counts from here.
    born: std::time::Instant,
    /// How many chunks of each growing log have been served, by job id.
    revealed: Mutex<HashMap<i64, usize>>,
    count: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

impl Forge {
    fn new(builder: Builder) -> Self {
        let mut specs = builder.runs;
        specs.sort_by_key(|r| r.number);
        let mut next_job = 900;
        let mut next_task = 1500;
        let mut tasks = Vec::new();
        let mut runs = Vec::new();
        for (run_index, spec) in specs.into_iter().enumerate() {
            let created = BASE_TIME + spec.number * 60;
            let mut jobs = Vec::new();
            for (job_index, job) in spec.jobs.into_iter().enumerate() {
                next_job += 1;
                // A job gets a task only when a runner picks it up: skipped jobs (an
                // `if:` that is false, a failed `needs`) and queued ones never have one,
                // so they are missing from `…/actions/tasks` (FJ `ActionRunJob.TaskID`).
                let started = !matches!(job.log, Log::NotStarted)
                    && !matches!(job.status.as_str(), "skipped" | "waiting" | "blocked");
                let mut ids = Vec::new();
                if started {
                    for attempt in 1..=job.attempts {
                        next_task += 1;
                        ids.push(next_task);
                        tasks.push((next_task, run_index, job_index, attempt));
                    }
                }
                jobs.push(JobRec {
                    id: next_job,
                    name: job.name,
                    status: job.status,
                    attempts: job.attempts,
                    tasks: ids,
                    log: job.log,
                    started: created + 2 + job_index as i64,
                    timeline: job.timeline,
                });
            }
            runs.push(RunRec {
                id: 300 + spec.number,
                number: spec.number,
                workflow: spec.workflow,
                title: spec.title,
                event: spec.event,
                git_ref: spec.git_ref,
                created,
                jobs,
            });
        }
        tasks.sort_by_key(|t| std::cmp::Reverse(t.0));
        Forge {
            level: builder.level,
            owner: builder.owner,
            repo: builder.repo,
            private: builder.private,
            require_signin: builder.require_signin,
            ignore_page: builder.ignore_page,
            tokens: builder.tokens,
            runs,
            tasks,
            born: std::time::Instant::now(),
            revealed: Mutex::new(HashMap::new()),
            count: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        }
    }

    fn html_url(&self) -> String {
        format!("https://forge.example/{}/{}", self.owner, self.repo)
    }

    /// A job's status right now: a growing log keeps its job running until served.
    fn job_status(&self, job: &JobRec) -> String {
        if !job.timeline.is_empty() {
            let now = self.born.elapsed().as_millis() as u64;
            return job
                .timeline
                .iter()
                .rev()
                .find(|(at, _)| *at <= now)
                .unwrap_or(&job.timeline[0])
                .1
                .clone();
        }
        if let Log::Growing(chunks) = &job.log {
            let revealed = self.revealed.lock().expect("lock");
            if revealed.get(&job.id).copied().unwrap_or(0) < chunks.len() {
                return "running".to_owned();
            }
        }
        job.status.clone()
    }

    /// Whether a runner has taken the job (FJ `ActionRunJob.TaskID != 0`) by now.
    fn has_task(&self, job: &JobRec) -> bool {
        !job.tasks.is_empty()
            && !matches!(
                self.job_status(job).as_str(),
                "waiting" | "blocked" | "skipped"
            )
    }

    fn run_status(&self, run: &RunRec) -> String {
        let rank = |s: &str| match s {
            "failure" => 7,
            "cancelled" => 6,
            "running" => 5,
            "waiting" => 4,
            "blocked" => 3,
            "unknown" => 2,
            "success" => 1,
            _ => 0,
        };
        run.jobs
            .iter()
            .map(|j| self.job_status(j))
            .max_by_key(|s| rank(s))
            .unwrap_or_else(|| "waiting".to_owned())
    }

    fn stopped(&self, run: &RunRec) -> Option<i64> {
        let done = ["success", "failure", "cancelled", "skipped"];
        done.contains(&self.run_status(run).as_str())
            .then_some(run.created + 2 + 83)
    }

    /// ActionRun (FJ modules/structs/action.go, services/convert/action.go), or
    /// Gitea's ActionWorkflowRun (GT modules/structs/repo_actions.go).
    fn run_json(&self, run: &RunRec) -> Value {
        let started = run.created + 2;
        let stopped = self.stopped(run);
        if self.level == ApiLevel::Gitea125 {
            let run_status = self.run_status(run);
            let (status, conclusion) = gitea_status(&run_status);
            let mut value = json!({
                "id": run.id,
                "url": format!("https://forge.example/api/v1/repos/{}/{}/actions/runs/{}", self.owner, self.repo, run.id),
                "html_url": format!("{}/actions/runs/{}", self.html_url(), run.number),
                "display_title": run.title,
                "path": format!("{}@refs/heads/{}", run.workflow, run.git_ref),
                "event": run.event,
                "run_attempt": 0,
                "run_number": run.number,
                "head_sha": "9f1c2d0e7b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
                "head_branch": run.git_ref,
                "status": status,
                "actor": {"id": 3, "login": "alice"},
                "trigger_actor": {"id": 3, "login": "alice"},
                "repository": {"id": 7, "full_name": format!("{}/{}", self.owner, self.repo)},
                "started_at": rfc3339(started),
                "completed_at": rfc3339(stopped.unwrap_or(0)),
            });
            if let Some(conclusion) = conclusion {
                value["conclusion"] = json!(conclusion);
            }
            return value;
        }
        let mut value = json!({
            "id": run.id,
            "title": run.title,
            "repository": {"id": 7, "name": self.repo, "full_name": format!("{}/{}", self.owner, self.repo), "html_url": self.html_url()},
            "workflow_id": run.workflow,
            "index_in_repo": run.number,
            "trigger_user": {"id": 3, "login": "alice", "full_name": "Alice", "email": "alice@example.com", "html_url": "https://forge.example/alice", "username": "alice"},
            "ScheduleID": 0,
            "prettyref": run.git_ref,
            "is_ref_deleted": false,
            "commit_sha": "9f1c2d0e7b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
            "is_fork_pull_request": false,
            "need_approval": false,
            "approved_by": 0,
            "event": run.event,
            "event_payload": "{}",
            "trigger_event": run.event,
            "status": self.run_status(run),
            "started": rfc3339(started),
            "stopped": rfc3339(stopped.unwrap_or(0)),
            "created": rfc3339(run.created),
            "updated": rfc3339(stopped.unwrap_or(started)),
            "html_url": format!("{}/actions/runs/{}", self.html_url(), run.number),
        });
        if let Some(stopped) = stopped {
            value["duration"] = json!((stopped - started) * 1_000_000_000);
        }
        value
    }

    /// ActionTask (`convert.ToActionTask`).
    fn task_json(&self, task_id: i64, run: &RunRec, job: &JobRec, attempt: u32) -> Value {
        let latest = attempt == job.attempts;
        let status = if latest {
            self.job_status(job)
        } else {
            "failure".to_owned()
        };
        let created = job.started + i64::from(attempt - 1) * 100;
        let updated = if status == "running" {
            created
        } else {
            created + 30
        };
        json!({
            "id": task_id,
            "name": job.name,
            "head_branch": run.git_ref,
            "head_sha": "9f1c2d0e7b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
            "run_number": run.number,
            "event": run.event,
            "display_title": run.title,
            "status": status,
            "workflow_id": run.workflow,
            "url": format!("{}/actions/runs/{}", self.html_url(), run.number),
            "created_at": rfc3339(created),
            "updated_at": rfc3339(updated),
            "run_started_at": rfc3339(run.created + 2),
        })
    }

    /// [`paging`], or always page 1 behind [`Builder::ignore_page`].
    fn paging(&self, query: &[(String, String)]) -> (usize, usize) {
        let (page, limit) = paging(query);
        (if self.ignore_page { 1 } else { page }, limit)
    }

    /// The configured token a request carries, if any.
    fn token_of(&self, headers: &HeaderMap) -> Option<&(String, Vec<String>)> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (_, token) = value.split_once(' ')?;
        self.tokens.iter().find(|(t, _)| t == token.trim())
    }

    /// A job as Gitea 1.25 lists it (GT modules/structs/repo_actions.go ActionWorkflowJob).
    fn gitea_job_json(&self, run: &RunRec, job: &JobRec) -> Value {
        let status = self.job_status(job);
        let (gitea, conclusion) = gitea_status(&status);
        let done = conclusion.is_some();
        let mut value = json!({
            "id": job.id,
            "url": format!("https://forge.example/api/v1/repos/{}/{}/actions/jobs/{}", self.owner, self.repo, job.id),
            "html_url": format!("{}/actions/runs/{}/jobs/{}", self.html_url(), run.number, run.jobs.iter().position(|j| j.id == job.id).unwrap_or(0)),
            "run_id": run.id,
            "name": job.name,
            "labels": ["docker"],
            "run_attempt": job.attempts,
            "head_branch": run.git_ref,
            "status": gitea,
            "runner_id": 5,
            "runner_name": "runner-1",
            "steps": null,
            "created_at": rfc3339(run.created),
            "started_at": rfc3339(job.started),
            "completed_at": rfc3339(if done { job.started + 30 } else { 0 }),
        });
        if let Some(conclusion) = conclusion {
            value["conclusion"] = json!(conclusion);
        }
        value
    }

    /// `Authorization: token T` / `Bearer T` (scheme case-insensitive) on API routes.
    fn check_api_auth(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer")
            })
            .map(|(_, token)| token.trim().to_owned());
        let Some(given) = given else {
            return if self.require_signin {
                Err(Box::new(message(
                    StatusCode::UNAUTHORIZED,
                    "token is required",
                )))
            } else if self.private {
                Err(Box::new(not_found()))
            } else {
                Ok(())
            };
        };
        let Some((_, scopes)) = self.tokens.iter().find(|(t, _)| *t == given) else {
            return Err(Box::new(message(
                StatusCode::UNAUTHORIZED,
                "invalid username, password or token",
            )));
        };
        if !scopes
            .iter()
            .any(|s| s == "read:repository" || s == "write:repository")
        {
            return Err(Box::new(message(
                StatusCode::FORBIDDEN,
                "token does not have at least one of required scope(s): [read:repository]",
            )));
        }
        Ok(())
    }

    /// What every repository API route checks first: the repository, then the token.
    fn check_repo_api(&self, owner: &str, repo: &str, headers: &HeaderMap) -> Result<(), Refusal> {
        self.check_repo(owner, repo)
            .and_then(|()| self.check_api_auth(headers))
    }

    fn check_repo(&self, owner: &str, repo: &str) -> Result<(), Refusal> {
        if owner == self.owner && repo == self.repo {
            Ok(())
        } else {
            Err(Box::new(not_found()))
        }
    }

    fn find_run_by_id(&self, id: i64) -> Result<&RunRec, Refusal> {
        self.runs
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| Box::new(not_found()))
    }

    /// Serves a job's log from `offset`, revealing one more chunk of a growing log.
    /// `web` answers as the web routes do: errors as plain text, not JSON.
    fn log_response(
        &self,
        run: &RunRec,
        job: &JobRec,
        attempt: u32,
        range: Option<u64>,
        web: bool,
    ) -> Response {
        let refuse = |text: &str| {
            if web {
                (StatusCode::NOT_FOUND, text.to_owned()).into_response()
            } else {
                message(StatusCode::NOT_FOUND, text)
            }
        };
        // FJ checks `job.TaskID == 0` before anything else.
        if !self.has_task(job) {
            return refuse("job is not started");
        }
        if attempt == 0 || attempt > job.attempts {
            return not_found();
        }
        // `{workflow without extension}-{job name}-{task id}.log`, the task being the
        // attempt's (FJ routers/web/repo/actions/view.go `Logs`): the one place a log
        // answer names the job and task it belongs to.
        let workflow = run.workflow.split('.').next().unwrap_or_default();
        let task = job.tasks[(attempt - 1) as usize];
        let filename = format!("{workflow}-{}-{task}.log", job.name);
        if attempt < job.attempts {
            let text = format!("attempt {attempt} of {}\n", job.name).into_bytes();
            return bytes_response(Bytes::from(text), range, &filename);
        }
        match &job.log {
            Log::CleanedUp => refuse("logs have been cleaned up"),
            Log::NotStarted => refuse("job is not started"),
            Log::Text(text) => bytes_response(Bytes::from(text.clone()), range, &filename),
            Log::Growing(chunks) => {
                let mut revealed = self.revealed.lock().expect("lock");
                let shown = revealed.entry(job.id).or_insert(0);
                *shown = (*shown + 1).min(chunks.len());
                let text: Vec<u8> = chunks[..*shown].concat();
                bytes_response(Bytes::from(text), range, &filename)
            }
            Log::Generated(len) => generated_response(*len, range, &filename),
        }
    }
}

/// Forgejo's internal status as Gitea 1.25 shows it (GT services/convert `ToActionsStatus`).
fn gitea_status(status: &str) -> (&'static str, Option<&str>) {
    match status {
        "waiting" => ("queued", None),
        "blocked" => ("waiting", None),
        "running" => ("in_progress", None),
        "success" | "failure" | "cancelled" | "skipped" => ("completed", Some(status)),
        _ => ("", None),
    }
}

/// Gitea's `status` query values, as internal statuses (GT `convertToInternal`).
fn gitea_status_filter(value: &str) -> Option<Vec<&'static str>> {
    Some(match value {
        "pending" | "waiting" | "requested" | "action_required" => vec!["blocked"],
        "queued" => vec!["waiting"],
        "in_progress" => vec!["running"],
        "completed" => vec!["success", "failure", "cancelled", "skipped"],
        "success" => vec!["success"],
        "failure" => vec!["failure"],
        "skipped" | "neutral" => vec!["skipped"],
        "cancelled" | "timed_out" => vec!["cancelled"],
        _ => return None,
    })
}

fn router(state: Arc<Forge>) -> Router {
    let repo = "/api/v1/repos/{owner}/{repo}";
    let mut app = Router::new()
        .route("/api/v1/version", get(version))
        .route(repo, get(repository))
        .route(&format!("{repo}/actions/tasks"), get(list_tasks));
    if state.level != ApiLevel::V11 {
        app = app
            .route(&format!("{repo}/actions/runs"), get(list_runs))
            .route(&format!("{repo}/actions/runs/{{run}}"), get(one_run));
    }
    match state.level {
        ApiLevel::V16 | ApiLevel::Gitea125 => {
            app = app
                .route(&format!("{repo}/actions/runs/{{run}}/jobs"), get(run_jobs))
                .route(&format!("{repo}/actions/jobs/{{job}}/logs"), get(job_logs));
        }
        ApiLevel::V14 => {
            app = app.route(
                "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/attempt/{attempt}/logs",
                get(web_logs_attempt),
            );
        }
        ApiLevel::V11 => {
            app = app.route(
                "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
                get(web_logs),
            );
        }
    }
    app.fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

async fn count(State(forge): State<Arc<Forge>>, request: Request, next: Next) -> Response {
    forge.count.fetch_add(1, Ordering::SeqCst);
    forge.seen.lock().expect("lock").push(Seen {
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        authorized: request.headers().contains_key(header::AUTHORIZATION),
    });
    next.run(request).await
}

async fn version(State(forge): State<Arc<Forge>>) -> Response {
    axum::Json(json!({"version": forge.level.version_string()})).into_response()
}

async fn repository(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    axum::Json(json!({
        "id": 7, "name": forge.repo, "full_name": format!("{}/{}", forge.owner, forge.repo),
        "private": forge.private, "html_url": forge.html_url(),
    }))
    .into_response()
}

/// `page` (1-based) and `limit` as Forgejo reads them (routers/api/v1/utils/page.go):
/// `limit` counts only when `page` is given; at most 50.
fn paging(query: &[(String, String)]) -> (usize, usize) {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    match get("page") {
        Some(page) => {
            let limit = get("limit")
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_PAGING)
                .min(MAX_RESPONSE_ITEMS);
            (page.max(1), limit)
        }
        None => (1, DEFAULT_PAGING),
    }
}

fn parse_query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn page_of<T: Clone>(rows: &[T], page: usize, limit: usize) -> Vec<T> {
    rows.iter()
        .skip((page - 1) * limit)
        .take(limit)
        .cloned()
        .collect()
}

async fn list_tasks(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let (page, limit) = forge.paging(&parse_query(raw));
    // Tasks of jobs no runner has taken yet do not exist yet.
    let tasks: Vec<_> = forge
        .tasks
        .iter()
        .copied()
        .filter(|(_, run, job, _)| forge.has_task(&forge.runs[*run].jobs[*job]))
        .collect();
    let rows: Vec<Value> = page_of(&tasks, page, limit)
        .into_iter()
        .map(|(id, run, job, attempt)| {
            let run = &forge.runs[run];
            forge.task_json(id, run, &run.jobs[job], attempt)
        })
        .collect();
    axum::Json(json!({"workflow_runs": rows, "total_count": tasks.len()})).into_response()
}

async fn list_runs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let query = parse_query(raw);
    let all = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let gitea = forge.level == ApiLevel::Gitea125;
    if gitea && forge.token_of(&headers).is_none() {
        // 1.25 registers the route behind reqOwner() (fixed in 1.26 by #36818).
        return message(
            StatusCode::FORBIDDEN,
            "user should be the owner of the repo",
        );
    }
    let mut statuses = Vec::new();
    for value in all("status") {
        match (gitea, gitea_status_filter(value)) {
            (true, Some(internal)) => statuses.extend(internal),
            (false, _) if STATUSES.contains(&value) => statuses.push(value),
            _ => return message(StatusCode::BAD_REQUEST, &format!("unknown status: {value}")),
        }
    }
    let events = all("event");
    let number = all("run_number")
        .first()
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|_| !gitea);
    let v16 = forge.level == ApiLevel::V16;
    let workflow = all("workflow_id").first().copied().filter(|_| v16);
    let git_ref = all("ref").first().copied().filter(|_| v16);
    let mut matching: Vec<&RunRec> = forge
        .runs
        .iter()
        .filter(|r| statuses.is_empty() || statuses.contains(&forge.run_status(r).as_str()))
        .filter(|r| events.is_empty() || events.contains(&r.event.as_str()))
        .filter(|r| number.is_none_or(|n| r.number == n))
        .filter(|r| workflow.is_none_or(|w| r.workflow == w))
        .filter(|r| git_ref.is_none_or(|g| format!("refs/heads/{}", r.git_ref) == g))
        .collect();
    // Forgejo v12–v14: no ORDER BY (database order); v15+ and Gitea: id DESC.
    if v16 || gitea {
        matching.reverse();
    }
    let (page, limit) = forge.paging(&query);
    let rows: Vec<Value> = page_of(&matching, page, limit)
        .into_iter()
        .map(|r| forge.run_json(r))
        .collect();
    axum::Json(json!({"total_count": matching.len(), "workflow_runs": rows})).into_response()
}

async fn one_run(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    match forge
        .check_repo_api(&owner, &repo, &headers)
        .and_then(|()| forge.find_run_by_id(run))
    {
        Ok(run) => axum::Json(forge.run_json(run)).into_response(),
        Err(r) => *r,
    }
}

/// v16: a bare array of `{id,attempt,handle,repo_id,owner_id,name,needs,runs_on,task_id,status}`.
async fn run_jobs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run)): Path<(String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = match forge
        .check_repo_api(&owner, &repo, &headers)
        .and_then(|()| forge.find_run_by_id(run))
    {
        Ok(run) => run,
        Err(r) => return *r,
    };
    if forge.level == ApiLevel::Gitea125 {
        // GT `ListRunJobs`: `page`/`limit` like every list, with the total.
        let (page, limit) = forge.paging(&parse_query(raw));
        let jobs: Vec<Value> = page_of(&run.jobs.iter().collect::<Vec<_>>(), page, limit)
            .into_iter()
            .map(|job| forge.gitea_job_json(run, job))
            .collect();
        return axum::Json(json!({"total_count": run.jobs.len(), "jobs": jobs})).into_response();
    }
    let jobs: Vec<Value> = run
        .jobs
        .iter()
        .map(|job| {
            json!({
                "id": job.id, "attempt": job.attempts, "handle": format!("handle-{}", job.id),
                "repo_id": 7, "owner_id": 2, "name": job.name, "needs": [], "runs_on": ["docker"],
                "task_id": if forge.has_task(job) { job.tasks.last().copied().unwrap_or(0) } else { 0 },
                "status": forge.job_status(job),
            })
        })
        .collect();
    axum::Json(Value::Array(jobs)).into_response()
}

/// v16: `GET …/actions/jobs/{job_id}/logs[?attempt=N]`, text/plain, Range.
async fn job_logs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, job)): Path<(String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let Some((run, job)) = forge
        .runs
        .iter()
        .flat_map(|r| r.jobs.iter().map(move |j| (r, j)))
        .find(|(_, j)| j.id == job)
    else {
        return message(StatusCode::NOT_FOUND, "job not found");
    };
    let attempt = parse_query(raw)
        .iter()
        .find(|(k, _)| k == "attempt")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(job.attempts);
    let range = range_start(&headers).filter(|_| forge.level != ApiLevel::Gitea125);
    forge.log_response(run, job, attempt, range, false)
}

/// v14: the web UI's route. It ignores tokens, ignores Range, treats attempt 0 as 1,
/// and serves job 0 for an out-of-range job index.
async fn web_logs_attempt(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run, job, attempt)): Path<(String, String, i64, usize, u32)>,
) -> Response {
    web_log(&forge, &owner, &repo, run, job, attempt.max(1))
}

/// v9–v13: the web route without an attempt segment (always the latest attempt).
async fn web_logs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run, job)): Path<(String, String, i64, usize)>,
) -> Response {
    let attempt = forge
        .runs
        .iter()
        .find(|r| r.number == run)
        .and_then(|r| r.jobs.get(job).or(r.jobs.first()))
        .map_or(1, |j| j.attempts);
    web_log(&forge, &owner, &repo, run, job, attempt)
}

fn web_log(forge: &Forge, owner: &str, repo: &str, run: i64, job: usize, attempt: u32) -> Response {
    if forge.check_repo(owner, repo).is_err() || forge.private {
        return not_found();
    }
    let Some(run) = forge.runs.iter().find(|r| r.number == run) else {
        return not_found();
    };
    let Some(job) = run.jobs.get(job).or(run.jobs.first()) else {
        return not_found();
    };
    forge.log_response(run, job, attempt, None, true)
}

fn range_start(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

fn log_headers(
    builder: axum::http::response::Builder,
    filename: &str,
) -> axum::http::response::Builder {
    builder
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header(header::ACCEPT_RANGES, "bytes")
}

fn bytes_response(text: Bytes, range: Option<u64>, filename: &str) -> Response {
    let len = text.len() as u64;
    let builder = log_headers(Response::builder(), filename);
    let response = match range {
        Some(start) if start >= len => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty()),
        Some(start) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{len}", len - 1),
            )
            .body(Body::from(text.slice(start as usize..))),
        None => builder.status(StatusCode::OK).body(Body::from(text)),
    };
    response.expect("valid response")
}

/// `len` bytes of a repeated, numbered-looking log line, made as they are sent.
fn generated_response(len: u64, range: Option<u64>, filename: &str) -> Response {
    const LINE: &[u8] = b"2025-07-20T10:15:02.000Z \x1b[32m[build]\x1b[0m compiling crate 42 of 300: lorem ipsum dolor sit amet\n";
    let start = range.unwrap_or(0).min(len);
    let mut block = Vec::with_capacity(64 * 1024);
    while block.len() + LINE.len() <= 64 * 1024 {
        block.extend_from_slice(LINE);
    }
    let block = Bytes::from(block);
    let period = block.len() as u64;
    let stream = futures::stream::unfold(start, move |pos| {
        let block = block.clone();
        async move {
            if pos >= len {
                return None;
            }
            let from = (pos % period) as usize;
            let take = ((period - from as u64).min(len - pos)) as usize;
            let chunk = block.slice(from..from + take);
            Some((Ok::<_, std::io::Error>(chunk), pos + take as u64))
        }
    });
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    log_headers(Response::builder(), filename)
        .status(status)
        .header(header::CONTENT_LENGTH, HeaderValue::from(len - start))
        .body(Body::from_stream(stream))
        .expect("valid response")
}

fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": text, "url": "https://forge.example/api/swagger"})),
    )
        .into_response()
}

/// Forgejo's 404 body (services/context/api.go).
fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "The target couldn't be found.", "url": "https://forge.example/api/swagger", "errors": []})),
    )
        .into_response()
}

/// Unix seconds as RFC 3339 UTC; 0 gives the epoch, as Forgejo sends for unset times.
/// (The client's formatter, whose known-date tests live with it in `opskit`.)
pub fn rfc3339(secs: i64) -> String {
    opskit::forge::model::format_rfc3339(secs)
}
