//! Runs: listing them newest first, and finding the one users call `#number`.
//!
//! Which endpoint answers depends on the server (the table in [`crate::forge`]); the
//! paging rules that keep a listing to one or two requests live here.

use std::collections::BTreeMap;

use super::jobs::jobs_from_tasks;
use super::model::{Page, Run, Status, WireRun, WireTask, parse_time, span};
use super::transport::Pages;
use super::version::{Product, ServerVersion};
use super::{Forge, MAX_PAGE};
use crate::error::{Error, Result};

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

impl Forge {
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
        let what = "the runs list";
        let mut seen = Pages::default();
        let first = self.runs_page(version, query, &[], 1, size).await?;
        seen.check(what, 1, first.workflow_runs.iter().map(|r| r.id))?;
        let pages = first.total_count.div_ceil(size as u64).max(1);
        // The pages still to read, newest first, produced as they are needed: the
        // count is the server's word, and a wrong one must not size anything here.
        // Forgejo v12–v14 list oldest first, so there the newest rows are on the last
        // page and page 1 holds the oldest.
        let newest_first = version.runs_newest_first();
        let mut remaining: Box<dyn Iterator<Item = u64> + Send> = if newest_first {
            Box::new(2..=pages)
        } else {
            Box::new((2..=pages).rev())
        };
        let mut rows: Vec<Run> = wire_runs(first.workflow_runs, query);
        let mut newest_rows = if newest_first || pages == 1 {
            rows.len()
        } else {
            0
        };
        while newest_rows < limit {
            let batch = (limit - newest_rows).div_ceil(size).max(1);
            let numbers: Vec<u64> = remaining.by_ref().take(batch).collect();
            if numbers.is_empty() {
                break;
            }
            let pages = futures::future::try_join_all(
                numbers
                    .iter()
                    .map(|&p| self.runs_page(version, query, &[], p, size)),
            )
            .await?;
            let mut empty_page = None;
            for (number, page) in numbers.iter().zip(pages) {
                seen.check(what, *number, page.workflow_runs.iter().map(|r| r.id))?;
                if page.workflow_runs.is_empty() {
                    empty_page = Some(*number);
                }
                let matching = wire_runs(page.workflow_runs, query);
                newest_rows += matching.len();
                rows.extend(matching);
            }
            match empty_page {
                // Newest first: past the last row, whatever the count claimed.
                Some(_) if newest_first => break,
                // Oldest first, the newest rows are on the last page the count names:
                // an empty one means the count is wrong and they cannot be found.
                Some(page) => {
                    return Err(Error::remote(format!(
                        "{what}: the forge counts {} runs, but page {page} of them is empty, so the newest runs cannot be found",
                        first.total_count
                    ))
                    .hint("runs may have been deleted meanwhile: run it again; if it persists, check the forge's health"));
                }
                None => {}
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
        let mut pages = Pages::default();
        let mut page = 1;
        loop {
            let batch = self.tasks_page(page, &mut pages).await?;
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
            let mut seen = Pages::default();
            let mut page = 1;
            loop {
                let batch = self
                    .runs_page(&version, &RunQuery::default(), &[], page, MAX_PAGE)
                    .await?;
                seen.check(
                    "the runs list",
                    page,
                    batch.workflow_runs.iter().map(|r| r.id),
                )?;
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

    #[test]
    fn runs_from_tasks_take_the_worst_job_status() {
        let tasks = [
            WireTask::sample(3, 2, "a", "success"),
            WireTask::sample(4, 2, "b", "failure"),
            WireTask::sample(2, 1, "a", "success"),
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
