//! The jobs of a run, numbered as the web UI numbers them.
//!
//! The `-j N` a user types is the N of the web UI's `…/runs/42/jobs/N`. Forgejo v16
//! and Gitea list a run's jobs in that order. Before v16 the only API source is
//! `…/actions/tasks`, which holds only jobs a runner has picked up: skipped and queued
//! jobs are missing, and parallel jobs appear in the order runners took them. So
//! there the order is read back from the web UI's own log route, whose answer names
//! the task it serves; where that cannot be done the index is left unknown, and a log
//! is refused rather than guessed.

use std::collections::HashMap;

use reqwest::header::CONTENT_DISPOSITION;
use reqwest::{Method, StatusCode};

use super::model::{Job, Page, Run, Status, WireJobs, WireTask, parse_time, span, wire_jobs};
use super::transport::Pages;
use super::{Forge, MAX_PAGE};
use crate::error::{Error, Result};

/// How far back a task scan may go when it only fills in job durations.
const DURATION_SCAN_PAGES: u64 = 4;

/// What the web UI's log route answers for one job index (before v16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WebSlot {
    /// A log, named after this task (its `Content-Disposition`).
    Task(i64),
    /// `404 job is not started`: the job has no task (skipped, cancelled before it
    /// started, or still queued).
    NotStarted,
    /// `404 logs have been cleaned up`: a job with a task, but which one is not said.
    CleanedUp,
    /// A log whose answer names no task (no `Content-Disposition` file name).
    Unnamed,
}

/// The most job indexes probed on the web route before giving up.
const MAX_WEB_JOBS: usize = 256;

impl Forge {
    /// The jobs of a run, in the web UI's order: `index` is the `-j` number. Before
    /// Forgejo v16 the order is read back from the web UI (see the module docs); for a
    /// private repository there it cannot be, and every `index` is `None`.
    pub async fn jobs(&self, run: &Run) -> Result<Vec<Job>> {
        let version = self.version().await?.clone();
        match run.id {
            Some(id) if version.has_jobs_api() => self.api_jobs(id).await,
            _ => {
                let tasks = self.run_tasks(run.number).await?;
                if !self.repo_is_private().await?
                    && let Some(jobs) = self.web_ordered_jobs(run, &tasks).await?
                {
                    return Ok(jobs);
                }
                // The jobs are known, their numbers are not: listed without them.
                Ok(jobs_from_tasks(&tasks))
            }
        }
    }

    /// Job `index` as the web UI numbers it, or an error saying why it cannot be
    /// known; never another job.
    pub async fn job(&self, run: &Run, index: usize) -> Result<Job> {
        let version = self.version().await?.clone();
        if run.id.is_some() && version.has_jobs_api() {
            let jobs = self.jobs(run).await?;
            return jobs
                .get(index)
                .cloned()
                .ok_or_else(|| job_not_found(run, index, Some(jobs.len())));
        }
        if self.repo_is_private().await? {
            return Err(self
                .private_log_refusal(&version, run, index, 1)
                .context(format!("job {index} of run #{}", run.number)));
        }
        let tasks = self.run_tasks(run.number).await?;
        let jobs = jobs_from_tasks(&tasks);
        let by_task = task_names(&tasks);
        let slot = self.web_slot(run, index).await?;
        // An index past the last job silently serves job 0, so any other index must
        // be told apart from job 0.
        let first = if index == 0 {
            slot
        } else {
            self.web_slot(run, 0).await?
        };
        match slot {
            WebSlot::Task(task) => {
                let name = by_task
                    .get(&task)
                    .ok_or_else(|| self.unmappable(run, &format!("job {index} is served from task {task}, which is not a task of this run")))?;
                if let (true, WebSlot::Task(first_task)) = (index > 0, first)
                    && by_task.get(&first_task) == Some(name)
                {
                    let count = self.web_ordered_jobs(run, &tasks).await.ok().flatten();
                    return Err(job_not_found(run, index, count.map(|j| j.len())));
                }
                let mut job = jobs
                    .into_iter()
                    .find(|j| &j.name == name)
                    .expect("every task name is a job of jobs_from_tasks");
                job.index = Some(index);
                Ok(job)
            }
            WebSlot::NotStarted if index == 0 || matches!(first, WebSlot::Task(_)) => {
                Ok(not_started_job(run, index))
            }
            // The route names no task for an expired log, so not even the job's name
            // is known; there is no log to show either way.
            WebSlot::CleanedUp => Err(cleaned_up().context(format!(
                "job {index} of run #{}",
                run.number
            ))),
            WebSlot::Unnamed => Err(self.unmappable(
                run,
                &format!("the web UI's log of job {index} does not name its task (no Content-Disposition file name)"),
            )),
            WebSlot::NotStarted => Err(self.unmappable(
                run,
                &format!("job 0 has not started either, so the web UI's answer for job {index} cannot be told apart from job 0's"),
            )),
        }
    }

    /// Reads the status of `job` again (for `--follow`), without re-reading the
    /// order: by id where the server has a jobs API, by name from the tasks before.
    pub async fn refresh_job(&self, run: &Run, job: &Job) -> Result<Job> {
        let version = self.version().await?.clone();
        let fresh = match (run.id, job.id) {
            (Some(run_id), Some(id)) if version.has_jobs_api() => self
                .api_jobs(run_id)
                .await?
                .into_iter()
                .find(|j| j.id == Some(id)),
            _ => {
                let name = match (job.name.is_empty(), job.index) {
                    (false, _) | (true, None) => job.name.clone(),
                    // A job that had no task: once it starts, the web UI tells which.
                    // Until then only the run can say it ended (skipped, or cancelled
                    // before it started, apis.md §1.5–1.6), so the run is read again.
                    (true, Some(index)) => {
                        let run = self.find_run(run.number).await?;
                        let seen = self.job(&run, index).await?;
                        if seen.name.is_empty() {
                            return Ok(seen);
                        }
                        seen.name
                    }
                };
                let tasks = self.tasks_of_run(run.number).await?;
                jobs_from_tasks(&tasks).into_iter().find(|j| j.name == name)
            }
        };
        Ok(match fresh {
            Some(mut fresh) => {
                fresh.index = job.index;
                fresh
            }
            None => job.clone(),
        })
    }

    /// `…/runs/{id}/jobs`, every page. A page that repeats an earlier one is an error:
    /// a server that ignores `page` would otherwise show the first 50 jobs as all.
    async fn api_jobs(&self, run_id: i64) -> Result<Vec<Job>> {
        let what = "the jobs of the run";
        let mut rows = Vec::new();
        let mut gitea = false;
        let mut pages = Pages::default();
        for page in 1.. {
            let mut url = self.repo_api(&["actions", "runs", &run_id.to_string(), "jobs"]);
            url.query_pairs_mut()
                .append_pair("page", &page.to_string())
                .append_pair("limit", &MAX_PAGE.to_string());
            let wire: WireJobs = self.get_json(url, what).await?;
            let (batch, is_gitea, total) = wire.into_parts();
            gitea = is_gitea;
            pages.check(what, page, batch.iter().map(|j| j.id))?;
            let short = batch.len() < MAX_PAGE || batch.len() > MAX_PAGE;
            rows.extend(batch);
            if short || total.is_some_and(|t| rows.len() as u64 >= t) {
                break;
            }
        }
        Ok(wire_jobs(rows, gitea))
    }

    /// The run's tasks: those [`Forge::find_run`] read, if it did, else from the server.
    async fn run_tasks(&self, number: i64) -> Result<Vec<WireTask>> {
        let found = self
            .found_tasks
            .lock()
            .expect("the task cache is never poisoned: no code panics while holding it")
            .remove(&number);
        match found {
            Some(tasks) => Ok(tasks),
            None => self.tasks_of_run(number).await,
        }
    }

    /// Before v16: asks the web UI's log route for job 0, 1, 2, … and places each
    /// job by the task its answer names, until the route falls back to job 0 (past the
    /// last job). Only the headers are read. `None` when the answers do not tell (an
    /// expired log names no task; a task that is not this run's): the caller then
    /// lists the jobs without numbers rather than with guessed ones.
    async fn web_ordered_jobs(&self, run: &Run, tasks: &[WireTask]) -> Result<Option<Vec<Job>>> {
        let jobs = jobs_from_tasks(tasks);
        let by_task = task_names(tasks);
        let mut slots: Vec<Option<String>> = Vec::new();
        let placed = |slots: &[Option<String>]| {
            jobs.iter()
                .all(|j| slots.iter().any(|s| s.as_deref() == Some(j.name.as_str())))
        };
        loop {
            let index = slots.len();
            // With job 0 unstarted, an index past the end looks like another unstarted
            // job: stop once every job with a task has its place.
            if index > 0 && slots[0].is_none() && placed(&slots) {
                break;
            }
            if index >= MAX_WEB_JOBS.max(jobs.len() + 1) {
                return Ok(None);
            }
            match self.web_slot(run, index).await? {
                WebSlot::Task(task) => {
                    let Some(name) = by_task.get(&task) else {
                        return Ok(None);
                    };
                    if index > 0 && slots[0].as_ref() == Some(name) {
                        break;
                    }
                    if slots.iter().any(|s| s.as_ref() == Some(name)) {
                        return Ok(None);
                    }
                    slots.push(Some(name.clone()));
                }
                WebSlot::NotStarted => slots.push(None),
                WebSlot::CleanedUp | WebSlot::Unnamed => return Ok(None),
            }
        }
        if !placed(&slots) {
            return Ok(None);
        }
        Ok(Some(
            slots
                .into_iter()
                .enumerate()
                .map(|(index, slot)| match slot {
                    Some(name) => {
                        let mut job = jobs
                            .iter()
                            .find(|j| j.name == name)
                            .cloned()
                            .expect("placed names come from jobs_from_tasks");
                        job.index = Some(index);
                        job
                    }
                    None => not_started_job(run, index),
                })
                .collect(),
        ))
    }

    /// What the web log route answers for job `index`, from the headers alone.
    async fn web_slot(&self, run: &Run, index: usize) -> Result<WebSlot> {
        let version = self.version().await?.clone();
        let url = self.web_log_url(&version, run.number, index, 1);
        let response = self.http.send(self.http.request(Method::GET, url)).await?;
        let status = response.status();
        if status.is_success() {
            let task = response
                .headers()
                .get(CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(task_of_filename);
            return Ok(task.map_or(WebSlot::Unnamed, WebSlot::Task));
        }
        let message = self.error_message(response).await;
        if status == StatusCode::NOT_FOUND && message.contains("not started") {
            return Ok(WebSlot::NotStarted);
        }
        if status == StatusCode::NOT_FOUND && message.contains("cleaned up") {
            return Ok(WebSlot::CleanedUp);
        }
        Err(self
            .status_error(
                status,
                &message,
                &format!("the web UI's log of job {index}"),
            )
            .context(format!("run #{}", run.number)))
    }

    /// The refusal when the web UI's numbering cannot be read back.
    fn unmappable(&self, run: &Run, why: &str) -> Error {
        Error::remote(format!(
            "cannot tell which job the web UI numbers this way in run #{}: {why}",
            run.number
        ))
        .hint("upgrade the forge to Forgejo v16 or later (its jobs API gives the web UI's numbering), or open the run in the web UI")
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
        let mut pages = Pages::default();
        for page in 1..=DURATION_SCAN_PAGES {
            let batch = self.tasks_page(page, &mut pages).await?;
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
    pub(super) async fn tasks_of_run(&self, number: i64) -> Result<Vec<WireTask>> {
        let mut mine: Vec<WireTask> = Vec::new();
        let mut pages = Pages::default();
        let mut page = 1;
        loop {
            let batch = self.tasks_page(page, &mut pages).await?;
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

    /// One page of `…/actions/tasks`; `pages` refuses a page that repeats another.
    pub(super) async fn tasks_page(&self, page: u64, pages: &mut Pages) -> Result<Vec<WireTask>> {
        let what = "the Actions tasks";
        let mut url = self.repo_api(&["actions", "tasks"]);
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("limit", &MAX_PAGE.to_string());
        let rows: Page<WireTask> = self.get_json(url, what).await?;
        pages.check(what, page, rows.workflow_runs.iter().map(|t| t.id))?;
        Ok(rows.workflow_runs)
    }
}

/// `404 job N of run #R not found`, saying how many jobs there are when known.
fn job_not_found(run: &Run, index: usize, count: Option<usize>) -> Error {
    let has = match count {
        Some(0) => "no jobs yet".to_owned(),
        Some(1) => "1 job (index 0)".to_owned(),
        Some(n) => format!("{n} jobs (index 0 to {})", n - 1),
        None => format!("fewer than {} jobs", index + 1),
    };
    Error::not_found(format!(
        "job {index} not found: run #{} has {has}",
        run.number
    ))
    .hint(format!("list them with: runner-logs {}", run.number))
}

/// The forge deleted the log (`[actions] LOG_RETENTION_DAYS`).
pub(super) fn cleaned_up() -> Error {
    Error::not_found("the log has been cleaned up by the forge").hint(
        "Forgejo deletes job logs after [actions] LOG_RETENTION_DAYS; re-run the job to get a new log",
    )
}

/// A job the web UI lists that never got a task. Its name is not in any API before
/// v16; in a finished run it was skipped (or cancelled before it started).
fn not_started_job(run: &Run, index: usize) -> Job {
    Job {
        index: Some(index),
        id: None,
        name: String::new(),
        status: if run.status.is_done() {
            Status::Skipped
        } else {
            Status::Waiting
        },
        attempt: 1,
        task_id: None,
        started: None,
        duration: None,
    }
}

/// Task id to job name, for every attempt's task.
fn task_names(tasks: &[WireTask]) -> HashMap<i64, String> {
    tasks.iter().map(|t| (t.id, t.name.clone())).collect()
}

/// The task id in `attachment; filename="build-test-1503.log"`
/// (`{workflow}-{job}-{task}.log`, FJ routers/web/repo/actions/view.go `Logs`).
fn task_of_filename(disposition: &str) -> Option<i64> {
    let name = disposition
        .split("filename=")
        .nth(1)?
        .trim()
        .trim_matches('"');
    let stem = name.strip_suffix(".log")?;
    stem.rsplit('-').next()?.parse().ok()
}

/// Groups tasks (one per job attempt) into jobs: one per job name, in the order the
/// jobs first got a task. That is not the web UI's order (skipped and queued jobs have
/// no task, and parallel jobs get theirs in any order), so `index` is left for the
/// caller to establish. The newest attempt gives the status and times.
pub(super) fn jobs_from_tasks(tasks: &[WireTask]) -> Vec<Job> {
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
        .map(|(name, attempts)| {
            let latest = attempts[attempts.len() - 1];
            let status = Status::from_forgejo(&latest.status);
            let started = parse_time(&latest.created_at);
            Job {
                index: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_group_into_jobs_with_reruns_as_attempts() {
        let tasks = [
            WireTask::sample(10, 7, "build", "success"),
            WireTask::sample(11, 7, "test", "failure"),
            WireTask::sample(12, 7, "test", "success"),
        ];
        let jobs = jobs_from_tasks(&tasks);
        let summary: Vec<_> = jobs
            .iter()
            .map(|j| (j.name.as_str(), j.attempt, j.status))
            .collect();
        assert_eq!(
            summary,
            [("build", 1, Status::Success), ("test", 2, Status::Success)]
        );
        assert_eq!(jobs[1].task_id, Some(12));
    }
}

#[cfg(test)]
mod web_tests {
    use super::*;

    #[test]
    fn the_task_id_is_read_from_the_log_file_name() {
        assert_eq!(
            task_of_filename(r#"attachment; filename="deploy-build-and-test-1503.log""#),
            Some(1503)
        );
        assert_eq!(
            task_of_filename("attachment; filename=ci-lint-7.log"),
            Some(7)
        );
        assert_eq!(task_of_filename("attachment"), None);
        assert_eq!(task_of_filename(r#"attachment; filename="x.txt""#), None);
    }
}
