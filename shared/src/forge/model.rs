//! Runs and jobs as the tool sees them, whatever the server's wire format.
//!
//! Forgejo sends its raw statuses, run durations in nanoseconds, the Unix epoch for
//! unset times and a capitalised `ScheduleID` key; Gitea 1.25 sends GitHub-style
//! `status`/`conclusion` pairs and other field names. Both are read into one wire
//! struct and normalised here, so the commands never see a server's quirks.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A run's or job's state, in Forgejo's names (FJ models/actions/status.go).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Unknown,
    Waiting,
    Running,
    Success,
    Failure,
    Cancelled,
    Skipped,
    Blocked,
}

impl Status {
    pub const ALL: [Status; 8] = [
        Status::Unknown,
        Status::Waiting,
        Status::Running,
        Status::Success,
        Status::Failure,
        Status::Cancelled,
        Status::Skipped,
        Status::Blocked,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Waiting => "waiting",
            Status::Running => "running",
            Status::Success => "success",
            Status::Failure => "failure",
            Status::Cancelled => "cancelled",
            Status::Skipped => "skipped",
            Status::Blocked => "blocked",
        }
    }

    /// A Forgejo status string; anything unrecognised is `unknown`.
    pub fn from_forgejo(raw: &str) -> Status {
        Status::ALL
            .into_iter()
            .find(|s| s.name() == raw)
            .unwrap_or(Status::Unknown)
    }

    /// Gitea's GitHub-style pair (GT services/convert/convert.go `ToActionsStatus`),
    /// mapped back to Forgejo's names.
    pub fn from_gitea(status: &str, conclusion: Option<&str>) -> Status {
        match status {
            "queued" => Status::Waiting,
            "waiting" => Status::Blocked,
            "in_progress" => Status::Running,
            "completed" => Status::from_forgejo(conclusion.unwrap_or("")),
            other => Status::from_forgejo(other),
        }
    }

    /// The status names a user may pass to `--status`: Forgejo's, plus the GitHub
    /// names people type from habit (`queued`, `in_progress`, `completed`).
    pub fn parse_filter(raw: &str) -> Option<Vec<Status>> {
        let one = |s| Some(vec![s]);
        match raw.to_ascii_lowercase().as_str() {
            "queued" => one(Status::Waiting),
            "in_progress" => one(Status::Running),
            "pending" => one(Status::Blocked),
            "completed" | "done" => Some(Status::ALL.into_iter().filter(|s| s.is_done()).collect()),
            "failed" => one(Status::Failure),
            "canceled" => one(Status::Cancelled),
            other => Status::ALL
                .into_iter()
                .find(|s| s.name() == other)
                .map(|s| vec![s]),
        }
    }

    /// Final states: the run or job will not change any more.
    pub fn is_done(self) -> bool {
        matches!(
            self,
            Status::Success | Status::Failure | Status::Cancelled | Status::Skipped
        )
    }

    /// A job that did not succeed: what `--failed` shows and what makes `-j` exit 1.
    pub fn is_failed(self) -> bool {
        matches!(self, Status::Failure | Status::Cancelled)
    }

    /// Worst wins, as the web UI summarises a run from its jobs.
    fn severity(self) -> u8 {
        match self {
            Status::Failure => 7,
            Status::Cancelled => 6,
            Status::Running => 5,
            Status::Waiting => 4,
            Status::Blocked => 3,
            Status::Unknown => 2,
            Status::Success => 1,
            Status::Skipped => 0,
        }
    }

    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One workflow run. `id` is the database id the API takes in paths; `number` is the
/// run number the web UI shows (`index_in_repo`), which is what users type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Run {
    pub id: Option<i64>,
    pub number: i64,
    pub status: Status,
    pub workflow: String,
    pub title: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub event: String,
    /// Unix seconds; `None` when the server sent the epoch (unset). JSON: RFC 3339, UTC.
    #[serde(serialize_with = "rfc3339")]
    pub started: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    pub stopped: Option<i64>,
    #[serde(serialize_with = "seconds", rename = "duration_seconds")]
    pub duration: Option<Duration>,
    pub url: String,
}

/// One job of a run, with the index the web UI uses in its URLs (`…/jobs/{index}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Job {
    /// The web UI's number for the job (`…/jobs/{index}`), what `-j` takes; `None`
    /// where the server cannot tell it (private repositories before Forgejo v16).
    pub index: Option<usize>,
    /// The job's database id: what the v16 log endpoint takes. Unknown before v16.
    pub id: Option<i64>,
    pub name: String,
    pub status: Status,
    pub attempt: u32,
    pub task_id: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    pub started: Option<i64>,
    #[serde(serialize_with = "seconds", rename = "duration_seconds")]
    pub duration: Option<Duration>,
}

fn rfc3339<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(secs) => s.serialize_some(&format_rfc3339(*secs)),
        None => s.serialize_none(),
    }
}

fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// `{"total_count":N,"workflow_runs":[…]}`: the runs list of both products, and the
/// tasks list, whose key is also `workflow_runs` although its entries are tasks.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    #[serde(default)]
    pub total_count: u64,
    #[serde(default = "Vec::new", alias = "jobs")]
    pub workflow_runs: Vec<T>,
}

/// A run as Forgejo (FJ modules/structs/action.go) or Gitea 1.25
/// (GT modules/structs/repo_actions.go) sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireRun {
    pub id: i64,
    // Forgejo
    pub title: String,
    pub workflow_id: String,
    pub index_in_repo: i64,
    pub prettyref: String,
    pub trigger_event: String,
    pub started: String,
    pub stopped: String,
    /// Nanoseconds; omitted when 0.
    pub duration: i64,
    // Gitea
    pub display_title: String,
    pub path: String,
    pub run_number: i64,
    pub head_branch: String,
    pub conclusion: Option<String>,
    pub started_at: String,
    pub completed_at: String,
    // both
    pub event: String,
    pub status: String,
    pub html_url: String,
}

impl WireRun {
    pub fn into_run(self) -> Run {
        let gitea = self.index_in_repo == 0 && self.run_number != 0;
        let status = if gitea {
            Status::from_gitea(&self.status, self.conclusion.as_deref())
        } else {
            Status::from_forgejo(&self.status)
        };
        let started = parse_time(if gitea {
            &self.started_at
        } else {
            &self.started
        });
        let stopped = parse_time(if gitea {
            &self.completed_at
        } else {
            &self.stopped
        });
        let duration = if self.duration > 0 {
            Some(Duration::from_nanos(self.duration.unsigned_abs()))
        } else {
            span(started, stopped, status)
        };
        let workflow = if gitea {
            self.path.split('@').next().unwrap_or_default().to_owned()
        } else {
            self.workflow_id
        };
        Run {
            id: Some(self.id),
            number: if gitea {
                self.run_number
            } else {
                self.index_in_repo
            },
            status,
            workflow,
            title: if gitea {
                self.display_title
            } else {
                self.title
            },
            git_ref: if gitea {
                self.head_branch
            } else {
                self.prettyref
            },
            event: if self.event.is_empty() {
                self.trigger_event
            } else {
                self.event
            },
            started,
            stopped,
            duration,
            url: self.html_url,
        }
    }
}

/// A task: one execution attempt of a job (`GET …/actions/tasks`, `convert.ToActionTask`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireTask {
    pub id: i64,
    pub name: String,
    pub head_branch: String,
    pub run_number: i64,
    pub event: String,
    pub display_title: String,
    pub status: String,
    pub workflow_id: String,
    pub url: String,
    pub created_at: String,
    pub updated_at: String,
    pub run_started_at: String,
}

impl WireTask {
    /// Task `id` of run `run` as the tasks list gives it, for the tests that group
    /// tasks into runs and jobs.
    #[cfg(test)]
    pub fn sample(id: i64, run: i64, name: &str, status: &str) -> WireTask {
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
}

/// A job from the Forgejo v16 `…/runs/{id}/jobs` array, or Gitea 1.25's `jobs` list.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct WireJob {
    pub id: i64,
    pub name: String,
    pub status: String,
    pub attempt: u32,
    pub task_id: i64,
    // Gitea
    pub run_attempt: u32,
    pub conclusion: Option<String>,
    pub started_at: String,
    pub completed_at: String,
}

/// The jobs of a run: a bare array on Forgejo v16, `{"jobs":[…]}` on Gitea.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum WireJobs {
    Bare(Vec<WireJob>),
    Paged(Page<WireJob>),
}

impl WireJobs {
    /// The rows, whether they are Gitea's, and the total the server reported (Gitea).
    pub fn into_parts(self) -> (Vec<WireJob>, bool, Option<u64>) {
        match self {
            WireJobs::Bare(jobs) => (jobs, false, None),
            WireJobs::Paged(page) => (page.workflow_runs, true, Some(page.total_count)),
        }
    }

    #[cfg(test)]
    pub fn into_jobs(self) -> Vec<Job> {
        let (wire, gitea, _) = self.into_parts();
        wire_jobs(wire, gitea)
    }
}

/// Jobs as the jobs API lists them: in the web UI's order, so the position is the index.
pub(crate) fn wire_jobs(wire: Vec<WireJob>, gitea: bool) -> Vec<Job> {
    wire.into_iter()
        .enumerate()
        .map(|(index, job)| {
            let status = if gitea {
                Status::from_gitea(&job.status, job.conclusion.as_deref())
            } else {
                Status::from_forgejo(&job.status)
            };
            let started = parse_time(&job.started_at);
            let stopped = parse_time(&job.completed_at);
            Job {
                index: Some(index),
                id: Some(job.id),
                name: job.name,
                status,
                attempt: job.attempt.max(job.run_attempt).max(1),
                task_id: (job.task_id > 0).then_some(job.task_id),
                started,
                duration: span(started, stopped, status),
            }
        })
        .collect()
}

/// The length of a finished span; nothing for runs still going or never started.
pub(crate) fn span(start: Option<i64>, stop: Option<i64>, status: Status) -> Option<Duration> {
    match (start, stop) {
        (Some(a), Some(b)) if b >= a && status.is_done() => {
            Some(Duration::from_secs(b.abs_diff(a)))
        }
        _ => None,
    }
}

/// RFC 3339 (`2025-07-20T10:15:02Z`, `…+02:00`, fractional seconds allowed) to Unix
/// seconds, by `jiff` (which refuses what is not a date, such as month 13). The epoch
/// and anything unparseable mean "unset", as Forgejo sends `1970-01-01T00:00:00Z` for
/// times that never happened.
pub fn parse_time(text: &str) -> Option<i64> {
    let secs = text.trim().parse::<jiff::Timestamp>().ok()?.as_second();
    (secs > 0).then_some(secs)
}

/// Unix seconds as `YYYY-MM-DD HH:MM` in UTC, for tables.
pub fn format_time(secs: i64) -> String {
    format_rfc3339(secs)[..16].replace('T', " ")
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: i64) -> String {
    let time = jiff::Timestamp::from_second(secs).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `1h02m`, `4m05s`, `12s`: short enough for a table column.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_zones_and_the_epoch_means_unset() {
        assert_eq!(parse_time("2025-07-20T10:15:02Z"), Some(1_753_006_502));
        assert_eq!(parse_time("2025-07-20T12:15:02+02:00"), Some(1_753_006_502));
        assert_eq!(
            parse_time("2025-07-20T10:15:02.123456Z"),
            Some(1_753_006_502)
        );
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), None);
        assert_eq!(parse_time("2025-07-20t10:15:02z"), Some(1_753_006_502));
        assert_eq!(parse_time(""), None);
        assert_eq!(format_time(1_753_006_502), "2025-07-20 10:15");
        assert_eq!(format_rfc3339(1_753_006_502), "2025-07-20T10:15:02Z");
    }

    #[test]
    fn times_that_are_not_dates_are_unset_not_wrapped_into_the_next_year() {
        // The hand-written parser took month 13 as January of the next year.
        for bad in [
            "2025-13-01T00:00:00Z",
            "2025-02-30T00:00:00Z",
            "2025-07-32T10:15:02Z",
            "2025-07-20T25:15:02Z",
            "2025-07-20T10:15:02",
            "2025-07-20T10:15:02+2",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn forgejo_run_reads_nanosecond_duration_and_schedule_id_key() {
        let json = r#"{"id":311,"title":"Deploy v1.4.0","workflow_id":"deploy.yml","index_in_repo":42,"ScheduleID":0,"prettyref":"main","event":"workflow_dispatch","trigger_event":"workflow_dispatch","status":"success","started":"2025-07-20T10:15:02Z","stopped":"2025-07-20T10:16:25Z","created":"2025-07-20T10:15:00Z","duration":83000000000,"html_url":"https://forge.example.com/acme/app/actions/runs/42"}"#;
        let run = serde_json::from_str::<WireRun>(json).unwrap().into_run();
        assert_eq!((run.id, run.number), (Some(311), 42));
        assert_eq!(run.status, Status::Success);
        assert_eq!(run.duration, Some(Duration::from_secs(83)));
        assert_eq!(
            (run.workflow.as_str(), run.git_ref.as_str()),
            ("deploy.yml", "main")
        );
    }

    #[test]
    fn gitea_run_and_jobs_map_status_and_conclusion() {
        let json = r#"{"id":311,"display_title":"Deploy v1.4.0","path":"deploy.yml@refs/heads/main","event":"workflow_dispatch","run_attempt":0,"run_number":42,"head_branch":"main","status":"completed","conclusion":"failure","started_at":"2025-07-20T10:15:02Z","completed_at":"2025-07-20T10:16:25Z"}"#;
        let run = serde_json::from_str::<WireRun>(json).unwrap().into_run();
        assert_eq!((run.number, run.status), (42, Status::Failure));
        assert_eq!(run.workflow, "deploy.yml");
        assert_eq!(run.duration, Some(Duration::from_secs(83)));
        let jobs = r#"{"total_count":1,"jobs":[{"id":901,"name":"deploy","run_attempt":1,"status":"in_progress","started_at":"2025-07-20T10:15:03Z","completed_at":"1970-01-01T00:00:00Z"}]}"#;
        let jobs = serde_json::from_str::<WireJobs>(jobs).unwrap().into_jobs();
        assert_eq!(jobs[0].status, Status::Running);
        assert_eq!((jobs[0].id, jobs[0].duration), (Some(901), None));
    }

    #[test]
    fn status_filters_accept_forgejo_and_github_names() {
        assert_eq!(
            Status::parse_filter("in_progress"),
            Some(vec![Status::Running])
        );
        assert_eq!(Status::parse_filter("completed").map(|v| v.len()), Some(4));
        assert_eq!(Status::parse_filter("failure"), Some(vec![Status::Failure]));
        assert_eq!(Status::parse_filter("bogus"), None);
        assert_eq!(Status::Success.worst(Status::Failure), Status::Failure);
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(245)), "4m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }
}
