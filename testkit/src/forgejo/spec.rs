//! What a test asks for: the API level, runs and jobs, tokens; and the running
//! server handle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::*;

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
    /// These lines, one every `every`: a log that keeps flowing slowly, as a long
    /// build's does, so the whole download outlasts any sane request deadline.
    Dripping {
        lines: Vec<String>,
        every: std::time::Duration,
    },
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

/// A release to put on the server (see [`Builder::release`]).
#[derive(Clone, Debug)]
pub struct ReleaseSpec {
    pub tag: String,
    pub draft: bool,
    pub prerelease: bool,
    /// Only a git tag: listed nowhere by the releases API, but turned into a release
    /// by a create for its tag.
    pub tag_only: bool,
    /// Assets as (name, content); names may repeat, as Forgejo allows.
    pub assets: Vec<(String, Vec<u8>)>,
}

impl ReleaseSpec {
    pub fn new(tag: &str) -> Self {
        ReleaseSpec {
            tag: tag.to_owned(),
            draft: false,
            prerelease: false,
            tag_only: false,
            assets: Vec::new(),
        }
    }

    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    pub fn prerelease(mut self) -> Self {
        self.prerelease = true;
        self
    }

    pub fn tag_only(mut self) -> Self {
        self.tag_only = true;
        self
    }

    pub fn asset(mut self, name: &str, content: &[u8]) -> Self {
        self.assets.push((name.to_owned(), content.to_vec()));
        self
    }
}

/// Configures and starts a [`FakeForgejo`].
#[derive(Clone, Debug)]
pub struct Builder {
    pub(super) level: ApiLevel,
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) private: bool,
    pub(super) require_signin: bool,
    pub(super) ignore_page: bool,
    pub(super) claimed_total: Option<u64>,
    pub(super) public_host: Option<String>,
    pub(super) tokens: Vec<(String, Vec<String>)>,
    pub(super) runs: Vec<RunSpec>,
    pub(super) dispatch: DispatchSpec,
    pub(super) commits: Vec<String>,
    /// Generic package files as (package, version, file, content), oldest first.
    pub(super) package_files: Vec<(String, String, String, Vec<u8>)>,
    /// Releases, oldest first.
    pub(super) releases: Vec<ReleaseSpec>,
    /// Answer every generic upload with this status, storing nothing.
    pub(super) upload_answer: Option<u16>,
    /// Store only this many bytes of each generic upload (and still answer 201).
    pub(super) upload_keeps: Option<usize>,
}

/// How the server answers workflow dispatches (see [`Builder::workflow`]).
#[derive(Clone, Debug, Default)]
pub(super) struct DispatchSpec {
    /// Workflow files the repository has at every ref.
    pub(super) workflows: Vec<String>,
    /// The runs dispatches create, in order, each for its own workflow.
    pub(super) runs: Vec<RunSpec>,
    /// List requests after a dispatch before its run shows in the lists.
    pub(super) appears_after: usize,
    /// Answer the POST with this status (after creating the run) instead of 201/204.
    pub(super) answer: Option<u16>,
    /// Tokens of site administrators: Forgejo shows them the text of a 500.
    pub(super) admins: Vec<String>,
    /// How long the POST takes to answer, after the run is created.
    pub(super) delay: std::time::Duration,
    /// Seconds the server's clock is off from the test's (negative: behind).
    pub(super) clock_offset: i64,
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

    /// Answer the runs list with this `total_count` whatever it holds, as a broken or
    /// hostile server might.
    pub fn claim_total(mut self, total: u64) -> Self {
        self.claimed_total = Some(total);
        self
    }

    /// Name this host (with the port the request came to) in the URLs answers carry,
    /// as a forge whose ROOT_URL is not the address the client used does.
    pub fn public_host(mut self, host: &str) -> Self {
        self.public_host = Some(host.to_owned());
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

    /// The repository has this workflow file (`.forgejo/workflows/{file}`) at every
    /// ref, so `POST …/actions/workflows/{file}/dispatches` is accepted; dispatching
    /// any other file is Forgejo's 500 (Gitea's 404).
    pub fn workflow(mut self, file: &str) -> Self {
        if !self.dispatch.workflows.iter().any(|w| w == file) {
            self.dispatch.workflows.push(file.to_owned());
        }
        self
    }

    /// The run the next dispatch of `run.workflow` creates (its number and jobs; its
    /// event becomes `workflow_dispatch`, its creation time the moment of the
    /// dispatch, and its job timelines count from then). Until dispatched it is in no
    /// list. Also declares the workflow file. Several: one per dispatch, in order.
    pub fn on_dispatch(mut self, run: RunSpec) -> Self {
        self = self.workflow(&run.workflow.clone());
        self.dispatch.runs.push(run.event("workflow_dispatch"));
        self
    }

    /// A dispatched run shows in the runs and tasks lists only from the `polls`-th
    /// list request after the dispatch on (a busy forge), so clients must wait.
    /// `usize::MAX`: it never shows.
    pub fn dispatch_appears_after(mut self, polls: usize) -> Self {
        self.dispatch.appears_after = polls;
        self
    }

    /// Answer every dispatch POST with `status` after the run is created: a plain-text
    /// body, as a proxy's 502 or a timeout in front of the forge has; for 500, the
    /// forge's own failure, whose message Forgejo blanks for non-admins.
    pub fn dispatch_answers(mut self, status: u16) -> Self {
        self.dispatch.answer = Some(status);
        self
    }

    /// The dispatch POST answers only after `delay`, the run being created at once: a
    /// forge slow to answer, which a client's deadline cuts off after it has acted.
    pub fn dispatch_delay(mut self, delay: std::time::Duration) -> Self {
        self.dispatch.delay = delay;
        self
    }

    /// The server's clock is `seconds` off (negative: behind): dispatched runs are
    /// created, and start, by that clock.
    pub fn clock_offset(mut self, seconds: i64) -> Self {
        self.dispatch.clock_offset = seconds;
        self
    }

    /// `token` is a site administrator's: Forgejo blanks the message of a 500 for
    /// everyone else in production (services/context/api.go `Error`).
    pub fn admin(mut self, token: &str) -> Self {
        self.dispatch.admins.push(token.to_owned());
        self
    }

    /// The repository has this commit (`GET …/git/commits/{sha}`, full or abbreviated).
    pub fn commit(mut self, sha: &str) -> Self {
        self.commits.push(sha.to_owned());
        self
    }

    /// The owner's generic package `package` has `file` in `version` (created in the
    /// order given: later calls are newer versions).
    pub fn package_file(
        mut self,
        package: &str,
        version: &str,
        file: &str,
        content: &[u8],
    ) -> Self {
        self.package_files.push((
            package.to_owned(),
            version.to_owned(),
            file.to_owned(),
            content.to_vec(),
        ));
        self
    }

    /// The repository has this release (created in the order given: the last one
    /// that is not a draft, prerelease or tag is `…/releases/latest`).
    pub fn release(mut self, release: ReleaseSpec) -> Self {
        self.releases.push(release);
        self
    }

    /// Answer every generic package upload with `status` (a plain-text body) and
    /// store nothing: a forge failing mid-upload.
    pub fn package_upload_answers(mut self, status: u16) -> Self {
        self.upload_answer = Some(status);
        self
    }

    /// Keep only the first `bytes` of each generic upload and answer 201 all the same:
    /// what a proxy that cut the body short would leave on the forge.
    pub fn package_upload_keeps(mut self, bytes: usize) -> Self {
        self.upload_keeps = Some(bytes);
        self
    }

    /// Starts the server on a free loopback port, on its own thread and runtime.
    pub fn start(self) -> FakeForgejo {
        let state = Arc::new(Forge::new(self));
        let (addr, stop_tx) = crate::serve::spawn(router(state.clone()));
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
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorized: bool,
}

/// A release as the server holds it (see [`FakeForgejo::release`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseSeen {
    pub title: String,
    pub notes: String,
    /// `target_commitish`: the branch or commit the tag was made on.
    pub target: String,
}

/// A dispatch as the server received it.
#[derive(Clone, Debug)]
pub struct DispatchSeen {
    /// The `{workflowfilename}` path segment.
    pub workflow: String,
    /// The JSON body (`ref`, `inputs`, `return_run_info`), `Null` if it was not JSON.
    pub body: serde_json::Value,
    /// The status the server answered.
    pub status: u16,
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
            claimed_total: None,
            public_host: None,
            tokens: Vec::new(),
            runs: Vec::new(),
            dispatch: DispatchSpec::default(),
            commits: Vec::new(),
            package_files: Vec::new(),
            releases: Vec::new(),
            upload_answer: None,
            upload_keeps: None,
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

    /// The dispatch requests that arrived (whatever the answer), oldest first.
    pub fn dispatches(&self) -> Vec<DispatchSeen> {
        self.state.dispatches.lock().expect("lock").clone()
    }

    /// How many requests with this method arrived.
    pub fn requests_with(&self, method: &str) -> usize {
        self.seen().iter().filter(|s| s.method == method).count()
    }

    /// The content of a generic package file, as stored (seeded or uploaded).
    pub fn package_file(&self, package: &str, version: &str, file: &str) -> Option<Vec<u8>> {
        let store = self.state.store.lock().expect("lock");
        store
            .version(package, version)
            .and_then(|v| v.files.iter().find(|f| f.name == file))
            .map(|f| f.content.clone())
    }

    /// The releases' tags, oldest first (tag-only ones included).
    pub fn release_tags(&self) -> Vec<String> {
        let store = self.state.store.lock().expect("lock");
        store.releases.iter().map(|r| r.tag.clone()).collect()
    }

    /// What the release tagged `tag` says: title, notes and the ref its tag is on.
    pub fn release(&self, tag: &str) -> Option<ReleaseSeen> {
        let store = self.state.store.lock().expect("lock");
        store
            .releases
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| ReleaseSeen {
                title: r.title.clone(),
                notes: r.notes.clone(),
                target: r.target.clone(),
            })
    }

    /// The assets of the release tagged `tag` as (name, content), oldest first.
    pub fn release_assets(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        let store = self.state.store.lock().expect("lock");
        store
            .releases
            .iter()
            .filter(|r| r.tag == tag)
            .flat_map(|r| r.assets.iter().map(|a| (a.name.clone(), a.content.clone())))
            .collect()
    }

    pub fn reset_counts(&self) {
        self.state.count.store(0, Ordering::SeqCst);
        self.state.seen.lock().expect("lock").clear();
    }
}
