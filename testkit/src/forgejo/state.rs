//! The server's records (runs, jobs, tasks by id), status over time, and the
//! checks every API route makes first (repository, token, scope).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicUsize;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::*;

/// 2025-07-20T08:00:00Z: run N is created N minutes later.
pub(super) const BASE_TIME: i64 = 1_752_998_400;
/// A request the server turns away, with the answer it gives.
pub(super) type Refusal = Box<Response>;

pub(super) const DEFAULT_PAGING: usize = 30;
pub(super) const MAX_RESPONSE_ITEMS: usize = 50;
pub(super) const STATUSES: [&str; 8] = [
    "unknown",
    "waiting",
    "running",
    "success",
    "failure",
    "cancelled",
    "skipped",
    "blocked",
];

pub(super) struct JobRec {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) status: String,
    pub(super) attempts: u32,
    /// Task ids, one per attempt, oldest first.
    pub(super) tasks: Vec<i64>,
    pub(super) log: Log,
    pub(super) started: i64,
    pub(super) timeline: Vec<(u64, String)>,
}

pub(super) struct RunRec {
    pub(super) id: i64,
    pub(super) number: i64,
    pub(super) workflow: String,
    pub(super) title: String,
    pub(super) event: String,
    pub(super) git_ref: String,
    pub(super) created: i64,
    pub(super) jobs: Vec<JobRec>,
    /// For a run a dispatch creates: its place in [`Forge::slots`].
    pub(super) slot: Option<usize>,
}

/// A dispatch that created its run: when, and how many list requests came since.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub(super) unix: i64,
    pub(super) at: std::time::Instant,
    pub(super) polls: usize,
}

/// A generic package version and its files.
pub(super) struct VersionRec {
    /// The version's id (what the package listing calls `id`).
    pub(super) id: i64,
    pub(super) package: String,
    pub(super) version: String,
    pub(super) created: i64,
    pub(super) files: Vec<FileRec>,
}

pub(super) struct FileRec {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) content: Vec<u8>,
}

pub(super) struct ReleaseRec {
    pub(super) id: i64,
    pub(super) tag: String,
    pub(super) title: String,
    pub(super) notes: String,
    pub(super) target: String,
    pub(super) draft: bool,
    pub(super) prerelease: bool,
    pub(super) tag_only: bool,
    pub(super) created: i64,
    pub(super) assets: Vec<AssetRec>,
}

pub(super) struct AssetRec {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) content: Vec<u8>,
}

/// What uploads and creations change: package versions and releases.
pub(super) struct Store {
    /// Oldest first.
    pub(super) versions: Vec<VersionRec>,
    /// Oldest first.
    pub(super) releases: Vec<ReleaseRec>,
    next_id: i64,
    /// The creation time of the next record: one minute after the last, so "newest"
    /// is well defined without reading the clock.
    next_time: i64,
}

impl Store {
    fn new(builder: &Builder) -> Self {
        let mut store = Store {
            versions: Vec::new(),
            releases: Vec::new(),
            next_id: 40,
            next_time: BASE_TIME,
        };
        for (package, version, file, content) in &builder.package_files {
            store.add_file(package, version, file, content.clone());
        }
        for spec in &builder.releases {
            let release = store.add_release(&spec.tag, "", "", "main");
            release.draft = spec.draft;
            release.prerelease = spec.prerelease;
            release.tag_only = spec.tag_only;
            let id = release.id;
            for (name, content) in &spec.assets {
                store.add_asset(id, name, content.clone());
            }
        }
        store
    }

    fn next(&mut self) -> (i64, i64) {
        self.next_id += 1;
        self.next_time += 60;
        (self.next_id, self.next_time)
    }

    pub(super) fn version(&self, package: &str, version: &str) -> Option<&VersionRec> {
        self.versions
            .iter()
            .find(|v| v.package == package && v.version == version)
    }

    /// Adds a file, creating its version if new; the caller checked for a 409.
    pub(super) fn add_file(&mut self, package: &str, version: &str, file: &str, content: Vec<u8>) {
        let (id, created) = self.next();
        let index = match self
            .versions
            .iter()
            .position(|v| v.package == package && v.version == version)
        {
            Some(index) => index,
            None => {
                self.versions.push(VersionRec {
                    id,
                    package: package.to_owned(),
                    version: version.to_owned(),
                    created,
                    files: Vec::new(),
                });
                self.versions.len() - 1
            }
        };
        self.versions[index].files.push(FileRec {
            id: id + 1000,
            name: file.to_owned(),
            content,
        });
    }

    pub(super) fn add_release(
        &mut self,
        tag: &str,
        title: &str,
        notes: &str,
        target: &str,
    ) -> &mut ReleaseRec {
        let (id, created) = self.next();
        self.releases.push(ReleaseRec {
            id,
            tag: tag.to_owned(),
            title: if title.is_empty() { tag } else { title }.to_owned(),
            notes: notes.to_owned(),
            target: target.to_owned(),
            draft: false,
            prerelease: false,
            tag_only: false,
            created,
            assets: Vec::new(),
        });
        self.releases.last_mut().expect("just pushed")
    }

    /// Adds an asset to release `release_id`; names may repeat (Forgejo allows it).
    pub(super) fn add_asset(
        &mut self,
        release_id: i64,
        name: &str,
        content: Vec<u8>,
    ) -> Option<(usize, usize)> {
        let (id, _) = self.next();
        let index = self.releases.iter().position(|r| r.id == release_id)?;
        let release = &mut self.releases[index];
        release.assets.push(AssetRec {
            id: id + 2000,
            name: name.to_owned(),
            content,
        });
        Some((index, release.assets.len() - 1))
    }
}

pub(super) struct Forge {
    pub(super) level: ApiLevel,
    pub(super) owner: String,
    pub(super) repo: String,
    pub(super) private: bool,
    pub(super) require_signin: bool,
    pub(super) ignore_page: bool,
    pub(super) claimed_total: Option<u64>,
    pub(super) public_host: Option<String>,
    pub(super) tokens: Vec<(String, Vec<String>)>,
    /// By database id, ascending.
    pub(super) runs: Vec<RunRec>,
    /// (task id, run index, job index, attempt), by task id descending.
    pub(super) tasks: Vec<(i64, usize, usize, u32)>,
    /// When the server started: [`JobSpec::timeline`] counts from here.
    pub(super) born: std::time::Instant,
    /// How many chunks of each growing log have been served, by job id.
    pub(super) revealed: Mutex<HashMap<i64, usize>>,
    pub(super) count: AtomicUsize,
    pub(super) seen: Mutex<Vec<Seen>>,
    pub(super) dispatch: DispatchSpec,
    /// One per run in `dispatch.runs`: `Some` once a dispatch created it.
    pub(super) slots: Mutex<Vec<Option<Slot>>>,
    pub(super) dispatches: Mutex<Vec<DispatchSeen>>,
    pub(super) commits: Vec<String>,
    pub(super) store: Mutex<Store>,
    pub(super) upload_answer: Option<u16>,
    pub(super) upload_keeps: Option<usize>,
}

impl Forge {
    pub(super) fn new(builder: Builder) -> Self {
        let store = Mutex::new(Store::new(&builder));
        let mut specs: Vec<(RunSpec, Option<usize>)> =
            builder.runs.into_iter().map(|r| (r, None)).collect();
        specs.extend(
            builder
                .dispatch
                .runs
                .iter()
                .cloned()
                .enumerate()
                .map(|(slot, r)| (r, Some(slot))),
        );
        specs.sort_by_key(|(r, _)| r.number);
        let mut next_job = 900;
        let mut next_task = 1500;
        let mut tasks = Vec::new();
        let mut runs = Vec::new();
        for (run_index, (spec, slot)) in specs.into_iter().enumerate() {
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
                slot,
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
            claimed_total: builder.claimed_total,
            public_host: builder.public_host,
            tokens: builder.tokens,
            runs,
            tasks,
            born: std::time::Instant::now(),
            revealed: Mutex::new(HashMap::new()),
            count: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            slots: Mutex::new(vec![None; builder.dispatch.runs.len()]),
            dispatch: builder.dispatch,
            dispatches: Mutex::new(Vec::new()),
            commits: builder.commits,
            store,
            upload_answer: builder.upload_answer,
            upload_keeps: builder.upload_keeps,
        }
    }

    pub(super) fn html_url(&self) -> String {
        format!("https://forge.example/{}/{}", self.owner, self.repo)
    }

    /// A job's status right now: a growing log keeps its job running until served.
    pub(super) fn job_status(&self, job: &JobRec) -> String {
        if !job.timeline.is_empty() {
            let now = self.clock(job).as_millis() as u64;
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
    pub(super) fn has_task(&self, job: &JobRec) -> bool {
        !job.tasks.is_empty()
            && !matches!(
                self.job_status(job).as_str(),
                "waiting" | "blocked" | "skipped"
            )
    }

    pub(super) fn run_status(&self, run: &RunRec) -> String {
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

    pub(super) fn stopped(&self, run: &RunRec) -> Option<i64> {
        let done = ["success", "failure", "cancelled", "skipped"];
        done.contains(&self.run_status(run).as_str())
            .then_some(self.created(run) + 2 + 83)
    }

    /// The time a job's timeline counts from: the server's start, or the dispatch
    /// that created its run.
    fn clock(&self, job: &JobRec) -> std::time::Duration {
        let slots = self.slots.lock().expect("lock");
        let dispatched = self
            .runs
            .iter()
            .find(|r| r.jobs.iter().any(|j| j.id == job.id))
            .and_then(|r| r.slot)
            .and_then(|slot| slots[slot]);
        match dispatched {
            Some(slot) => slot.at.elapsed(),
            None => self.born.elapsed(),
        }
    }

    /// When a run was created: fixed for seeded runs, the dispatch's wall-clock time
    /// for a dispatched one.
    pub(super) fn created(&self, run: &RunRec) -> i64 {
        run.slot
            .and_then(|slot| self.slots.lock().expect("lock")[slot])
            .map_or(run.created, |slot| slot.unix)
    }

    /// Whether a run is in the lists yet: seeded runs always; a dispatched run from
    /// [`Builder::dispatch_appears_after`] list requests after its dispatch on.
    pub(super) fn visible(&self, run: &RunRec) -> bool {
        match run.slot {
            None => true,
            Some(slot) => self.slots.lock().expect("lock")[slot]
                .is_some_and(|s| s.polls >= self.dispatch.appears_after),
        }
    }

    /// A list request arrived: every dispatched run is one poll closer to showing.
    pub(super) fn polled(&self) {
        for slot in self.slots.lock().expect("lock").iter_mut().flatten() {
            slot.polls = slot.polls.saturating_add(1);
        }
    }

    /// [`paging`], or always page 1 behind [`Builder::ignore_page`].
    pub(super) fn paging(&self, query: &[(String, String)]) -> (usize, usize) {
        let (page, limit) = paging(query);
        (if self.ignore_page { 1 } else { page }, limit)
    }

    /// The configured token a request carries, if any.
    pub(super) fn token_of(&self, headers: &HeaderMap) -> Option<&(String, Vec<String>)> {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (_, token) = value.split_once(' ')?;
        self.tokens.iter().find(|(t, _)| t == token.trim())
    }

    /// `Authorization: token T` / `Bearer T` (scheme case-insensitive) on API routes.
    pub(super) fn check_api_auth(&self, headers: &HeaderMap) -> Result<(), Refusal> {
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
    pub(super) fn check_repo_api(
        &self,
        owner: &str,
        repo: &str,
        headers: &HeaderMap,
    ) -> Result<(), Refusal> {
        self.check_repo(owner, repo)
            .and_then(|()| self.check_api_auth(headers))
    }

    pub(super) fn check_repo(&self, owner: &str, repo: &str) -> Result<(), Refusal> {
        if owner == self.owner && repo == self.repo {
            Ok(())
        } else {
            Err(Box::new(not_found()))
        }
    }

    pub(super) fn find_run_by_id(&self, id: i64) -> Result<&RunRec, Refusal> {
        self.runs
            .iter()
            .find(|r| r.id == id && self.visible(r))
            .ok_or_else(|| Box::new(not_found()))
    }
}
