//! `runner-logs`: did the build run, which job failed, and what did it print?
//!
//! Three views over one forge client ([`crate::forge`]): recent runs (no RUN), the jobs
//! of run RUN, and the full log of job `-j N` of that run, streamed to stdout as it
//! arrives. RUN is the run number the web UI shows (`#42`), never the database id; the
//! job index is the web UI's too (`…/runs/42/jobs/3`). The server's version decides
//! which endpoints are used, so the same command works on Forgejo v11 through v16 and
//! on Gitea 1.24/1.25; where a server cannot give what was asked (logs of a private
//! repository before Forgejo v16) the tool says so in one line and exits 3, rather than
//! printing nothing.

pub(crate) mod sink;

use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use crate::cli::{EXIT_CODES_HELP, block_on};
use crate::commands::flags::{ForgeArgs, HttpArgs};
use crate::error::{Error, Result};
use crate::forge::copy_log;
use crate::forge::follow::{RunEvent, RunFollower};
use crate::forge::model::{Job, Run, Status, format_duration, format_time};
use crate::forge::{Forge, LogChunk, RunQuery};
use crate::output::{
    Cell, OutputArgs, Paint, Printer, Report, Style, Table, io_error, stderr_line, warn,
};
use sink::LogSink;

const EXAMPLES: &str = "\
Examples:
  runner-logs                         recent runs, newest first
  runner-logs --status failure -L 5   the last five failed runs
  runner-logs 42                      the jobs of run #42 (the number the web UI shows)
  runner-logs 42 -j 3                 the full log of job 3 of run #42
  runner-logs 42 -j 3 | grep -i error search a log (colours are stripped when piped)
  runner-logs 42 -j 3 --follow        print a running job's log until it ends
  runner-logs 42 --follow             print job status changes until run #42 ends
  runner-logs 42 --failed             the logs of every failed job of run #42
  runner-logs --json | jq '.runs[0]'  machine-readable output

With -j (and --failed), the exit code is 1 when the job failed or was cancelled, as
with `gh run view --exit-status`. The forge is --forge-url or FORGE_URL; the
repository is --repo, FORGE_REPO, or the origin remote of the current git clone.
The token (FORGEJO_TOKEN, --token-file or --token-cmd) is never printed.

Before Forgejo v16 there is no job-log API: logs are read from the web UI's route,
which ignores tokens, so they can be read only for public repositories.";

/// List Forgejo Actions runs, the jobs of a run, or one job's full log.
#[derive(Debug, clap::Parser)]
#[command(name = "runner-logs", version, after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The run number as the web UI shows it (42 or #42). Without it, list recent runs.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,

    /// Print the full log of the job with this index (as listed by `runner-logs RUN`).
    #[arg(short = 'j', long = "job", value_name = "N")]
    pub job: Option<usize>,

    /// Read this attempt of the job (1 is the first run; default: the latest).
    #[arg(long, value_name = "N", requires = "job",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub attempt: Option<u32>,

    /// Print the logs of every failed job of RUN, each after a header line.
    #[arg(long, conflicts_with = "job")]
    pub failed: bool,

    /// With -j: while the job runs, keep printing new lines; exit with its result.
    /// Without -j: print each job's status change until the run ends; exit 1 if a
    /// job failed (as `gh run watch --exit-status`).
    #[arg(short = 'f', long, requires = "run", conflicts_with = "failed")]
    pub follow: bool,

    /// Seconds between polls with --follow.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    pub interval: f64,

    /// Only runs with this status (success, failure, cancelled, skipped, running,
    /// waiting, blocked; or queued, in_progress, completed). Repeatable.
    #[arg(short = 's', long, value_name = "STATUS")]
    pub status: Vec<String>,

    /// Only runs of this workflow file (deploy.yml, or just deploy).
    #[arg(short = 'w', long, value_name = "FILE")]
    pub workflow: Option<String>,

    /// Only runs triggered by this event (push, workflow_dispatch, …). Repeatable.
    #[arg(short = 'e', long, value_name = "EVENT")]
    pub event: Vec<String>,

    /// How many runs to list.
    #[arg(short = 'L', long, default_value_t = 20, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,

    #[command(flatten)]
    pub forge: ForgeArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// What the arguments ask for, once checked.
enum Mode {
    Runs(RunQuery),
    Jobs(i64),
    Log { run: i64, job: usize },
    Failed(i64),
    Follow(i64),
}

pub fn run(args: Args) -> Result<()> {
    let mode = mode(&args)?;
    let forge = connect(&args)?;
    let mut printer = Printer::stdout(&args.output);
    let poll = Duration::from_secs_f64(args.interval.clamp(0.01, 3600.0)); // checked finite in mode()
    block_on(async {
        match mode {
            Mode::Runs(query) => list_runs(&forge, &query, &mut printer).await,
            Mode::Jobs(number) => list_jobs(&forge, number, &mut printer).await,
            Mode::Log { run, job } => {
                let run = forge.find_run(run).await?;
                let job = forge.job(&run, job).await?;
                let job = &job;
                let keep_colour = printer.style().color;
                let mut sink = LogSink::new(printer.raw(), keep_colour);
                let follow = args.follow.then_some(poll);
                let status = stream_log(&forge, &run, job, args.attempt, follow, &mut sink).await?;
                job_outcome(&run, job, status)
            }
            Mode::Failed(number) => failed_logs(&forge, number, &mut printer).await,
            Mode::Follow(number) => follow_run(&forge, number, poll, &mut printer).await,
        }
    })
}

fn mode(args: &Args) -> Result<Mode> {
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(Error::usage(format!(
            "--interval must be a positive number of seconds, not {}",
            args.interval
        )));
    }
    if args.output.json && (args.job.is_some() || args.failed || args.follow) {
        return Err(
            Error::usage("--json lists runs and jobs; a log is printed as text")
                .hint("drop --json, or use `runner-logs RUN --json` for the jobs"),
        );
    }
    let Some(text) = &args.run else {
        if args.job.is_some() || args.failed {
            return Err(Error::usage("-j/--job and --failed need a run number")
                .hint("find the run with `runner-logs`, then `runner-logs 42 -j 3`"));
        }
        let mut statuses = Vec::new();
        for raw in &args.status {
            statuses.extend(Status::parse_filter(raw).ok_or_else(|| {
                Error::usage(format!("unknown status '{raw}'"))
                    .hint("use one of: success failure cancelled skipped running waiting blocked (or queued, in_progress, completed)")
            })?);
        }
        return Ok(Mode::Runs(RunQuery {
            statuses,
            events: args.event.clone(),
            workflow: args.workflow.clone(),
            limit: args.limit as usize,
        }));
    };
    if !args.status.is_empty() || args.workflow.is_some() || !args.event.is_empty() {
        return Err(Error::usage(
            "--status, --workflow and --event filter the runs list, not one run",
        )
        .hint("drop RUN to list runs, or drop the filters"));
    }
    let number = parse_run_number(text)?;
    Ok(match (args.job, args.failed) {
        (Some(job), _) => Mode::Log { run: number, job },
        (None, true) => Mode::Failed(number),
        (None, false) if args.follow => Mode::Follow(number),
        (None, false) => Mode::Jobs(number),
    })
}

/// `42` or `#42`: the number the web UI shows.
fn parse_run_number(text: &str) -> Result<i64> {
    text.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| {
            Error::usage(format!("RUN must be a run number such as 42, not '{text}'"))
                .hint("run numbers are shown by `runner-logs` and in the web UI (#42)")
        })
}

/// The forge, from the flags or the origin remote of the current directory's checkout.
fn connect(args: &Args) -> Result<Forge> {
    let dir = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    args.forge.connect(&args.http.config(), &dir)
}

async fn list_runs(forge: &Forge, query: &RunQuery, printer: &mut Printer) -> Result<()> {
    let runs = forge.list_runs(query).await?;
    printer.print(&RunsReport {
        repo: forge.repo().to_string(),
        runs,
    })
}

async fn list_jobs(forge: &Forge, number: i64, printer: &mut Printer) -> Result<()> {
    let run = forge.find_run(number).await?;
    let mut jobs = forge.jobs(&run).await?;
    forge.fill_durations(&mut jobs).await?;
    printer.print(&JobsReport { run, jobs })
}

/// Prints the log of `job`; with `follow`, keeps polling until the job has ended and
/// returns its final status. Status is read before each log fetch, so once it is
/// final, that fetch is known to get the last bytes.
async fn stream_log(
    forge: &Forge,
    run: &Run,
    job: &Job,
    attempt: Option<u32>,
    follow: Option<Duration>,
    sink: &mut LogSink<'_>,
) -> Result<Status> {
    let what = || job_label(run, job);
    let source = forge
        .log_source(run, job, attempt)
        .await
        .map_err(|e| e.context(what()))?;
    let mut status = job.status;
    // Refreshed each poll: once a job without a task gets one, its name is known and
    // later polls find it in the tasks without asking the web route again.
    let mut current = job.clone();
    let mut offset = 0;
    let mut said_waiting = false;
    loop {
        let last = follow.is_none() || status.is_done();
        match forge
            .read_log(&source, offset)
            .await
            .map_err(|e| e.context(what()))?
        {
            LogChunk::Body(mut response, skip) => {
                offset += copy_log(&mut response, skip, sink).await?;
            }
            LogChunk::NothingNew => {}
            LogChunk::NotStarted if status.is_done() => {
                return Err(Error::not_found(format!(
                    "{} never started ({status}), so it has no log",
                    what()
                )));
            }
            LogChunk::NotStarted if follow.is_none() => {
                return Err(Error::not_found(format!(
                    "{} has not started yet, so it has no log",
                    what()
                ))
                .hint(format!(
                    "wait for it with: runner-logs {} -j {} --follow",
                    run.number,
                    index_text(job)
                )));
            }
            LogChunk::NotStarted => {
                if !said_waiting {
                    said_waiting = true;
                    stderr_line(format_args!(
                        "{} is {status}: no runner has picked it up yet; waiting for it to start",
                        what()
                    ));
                }
            }
        }
        let Some(interval) = follow.filter(|_| !last) else {
            return Ok(status);
        };
        tokio::time::sleep(interval).await;
        current = forge.refresh_job(run, &current).await?;
        status = current.status;
    }
}

/// `RUN --follow`: one line per job status change until the run ends, then exit 1 if
/// a job (or the run) failed. The waiting is the client's ([`RunFollower`]); this
/// only renders its events.
async fn follow_run(
    forge: &Forge,
    number: i64,
    interval: Duration,
    printer: &mut Printer,
) -> Result<()> {
    let run = forge.find_run(number).await?;
    let style = printer.style();
    let out = printer.raw();
    let mut follower = RunFollower::new(forge, run, interval);
    while let Some(event) = follower.next().await? {
        match event {
            RunEvent::Job { job, .. } => {
                writeln!(out, "{}", job_status_line(&job, style))
                    .and_then(|()| out.flush())
                    .map_err(io_error)?;
            }
            RunEvent::Finished { run, jobs } => {
                let failed: Vec<&Job> = jobs.iter().filter(|j| j.status.is_failed()).collect();
                let status = style.paint(status_paint(run.status), run.status.name());
                writeln!(out, "run #{number} ended: {status}")
                    .and_then(|()| out.flush())
                    .map_err(io_error)?;
                if !failed.is_empty() || run.status.is_failed() {
                    let mut err = Error::failed(format!(
                        "run #{number} ended with {}: {} of {} jobs failed",
                        run.status,
                        failed.len(),
                        jobs.len()
                    ));
                    if let Some(first) = failed.first().and_then(|j| j.index) {
                        err = err.hint(format!("see why with: runner-logs {number} -j {first}"));
                    }
                    return Err(err);
                }
            }
        }
    }
    Ok(())
}

/// `job 2 (test): failure`, `job 0 (build): waiting for a runner`: one line per job
/// status change while a run is followed, here and in container-build-and-release.
pub fn job_status_line(job: &Job, style: Style) -> String {
    let status = style.paint(status_paint(job.status), job.status.name());
    let waiting = match job.status {
        Status::Waiting => " for a runner",
        Status::Blocked => " (waiting for the jobs it needs)",
        _ => "",
    };
    format!("{}: {status}{waiting}", job_title(job))
}

/// `job 2 (test)`, `job ? (build)`: a job as the follow and failure lines name it.
pub fn job_title(job: &Job) -> String {
    format!("job {}{}", index_text(job), name_part(job))
}

fn job_outcome(run: &Run, job: &Job, status: Status) -> Result<()> {
    if status.is_failed() {
        return Err(Error::failed(format!(
            "{} ended with {status}",
            job_label(run, job)
        )));
    }
    Ok(())
}

async fn failed_logs(forge: &Forge, number: i64, printer: &mut Printer) -> Result<()> {
    let run = forge.find_run(number).await?;
    let jobs = forge.jobs(&run).await?;
    let failed: Vec<&Job> = jobs.iter().filter(|j| j.status.is_failed()).collect();
    if failed.is_empty() {
        warn(format!("run #{number} has no failed jobs ({})", run.status));
        return Ok(());
    }
    let keep_colour = printer.style().color;
    let style = printer.style();
    let mut sink = LogSink::new(printer.raw(), keep_colour);
    for job in &failed {
        let header = format!(
            "==> run #{number} job {}{}: {} <==",
            index_text(job),
            name_part(job),
            job.status
        );
        sink.line(&style.paint(Paint::Bold, &header))?;
        if let Err(err) = stream_log(forge, &run, job, None, None, &mut sink).await {
            if err.kind() == crate::Kind::BrokenPipe {
                return Err(err);
            }
            warn(err.message());
        }
    }
    Err(Error::failed(format!(
        "{} of {} jobs of run #{number} failed",
        failed.len(),
        jobs.len()
    )))
}

/// `job 3 (test) of run #42`, or `job 3 of run #42` for a job whose name is unknown.
fn job_label(run: &Run, job: &Job) -> String {
    format!(
        "job {}{} of run #{}",
        index_text(job),
        name_part(job),
        run.number
    )
}

fn name_part(job: &Job) -> String {
    if job.name.is_empty() {
        String::new()
    } else {
        format!(" ({})", job.name)
    }
}

/// The job's number, or `?` where the server cannot tell it.
fn index_text(job: &Job) -> String {
    job.index.map_or_else(|| "?".to_owned(), |i| i.to_string())
}

/// A job's name in the table; a job that never got a task has none before v16.
fn job_name(job: &Job) -> String {
    match (job.name.is_empty(), job.attempt > 1) {
        (true, _) => "(no task: never started)".to_owned(),
        (false, true) => format!("{} (attempt {})", job.name, job.attempt),
        (false, false) => job.name.clone(),
    }
}

fn status_cell(status: Status) -> Cell {
    Cell::painted(status.name(), status_paint(status))
}

fn status_paint(status: Status) -> Paint {
    match status {
        Status::Success => Paint::Green,
        Status::Failure => Paint::Red,
        Status::Cancelled | Status::Blocked => Paint::Yellow,
        Status::Running | Status::Waiting => Paint::Blue,
        Status::Skipped | Status::Unknown => Paint::Dim,
    }
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_owned()
    } else {
        text.to_owned()
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return or_dash(text);
    }
    let cut: String = text.chars().take(max - 1).collect();
    format!("{cut}…")
}

fn when(secs: Option<i64>) -> String {
    secs.map_or_else(|| "-".to_owned(), format_time)
}

fn how_long(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), format_duration)
}

/// Recent runs, newest first.
#[derive(Serialize)]
struct RunsReport {
    repo: String,
    runs: Vec<Run>,
}

impl Report for RunsReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        if self.runs.is_empty() {
            return writeln!(out, "No runs found in {}.", self.repo);
        }
        let mut table = Table::new([
            "RUN",
            "STATUS",
            "WORKFLOW",
            "TITLE",
            "REF",
            "EVENT",
            "STARTED (UTC)",
            "DURATION",
        ]);
        for run in &self.runs {
            table.row([
                Cell::from(format!("#{}", run.number)),
                status_cell(run.status),
                Cell::from(or_dash(&run.workflow)),
                Cell::from(shorten(&run.title, 40)),
                Cell::from(shorten(&run.git_ref, 24)),
                Cell::from(or_dash(&run.event)),
                Cell::from(when(run.started)),
                Cell::from(how_long(run.duration)),
            ]);
        }
        table.render(out, style)
    }
}

/// One run and its jobs.
#[derive(Serialize)]
struct JobsReport {
    run: Run,
    jobs: Vec<Job>,
}

impl Report for JobsReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        let run = &self.run;
        writeln!(
            out,
            "Run #{} {}: {} ({}, {}) {}",
            run.number,
            or_dash(&run.workflow),
            or_dash(&run.title),
            or_dash(&run.git_ref),
            or_dash(&run.event),
            style.paint(status_paint(run.status), run.status.name()),
        )?;
        if self.jobs.is_empty() {
            return writeln!(out, "No jobs have started yet.");
        }
        let mut table = Table::new(["JOB", "STATUS", "NAME", "DURATION"]);
        for job in &self.jobs {
            let name = job_name(job);
            table.row([
                Cell::from(index_text(job)),
                status_cell(job.status),
                Cell::from(name),
                Cell::from(how_long(job.duration)),
            ]);
        }
        table.render(out, style)?;
        if let Some((_, index)) = self
            .jobs
            .iter()
            .find_map(|j| Some((j, j.index?)).filter(|_| j.status.is_failed()))
        {
            writeln!(
                out,
                "To see why job {index} failed: runner-logs {} -j {index}",
                run.number
            )?;
        }
        if self.jobs.iter().any(|j| j.index.is_none()) {
            writeln!(
                out,
                "Job numbers are unknown: before Forgejo v16 only the web UI knows them, and it could not tell them here (a private repository, or logs cleaned up)."
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_numbers_accept_hash_prefix_and_reject_words() {
        assert_eq!(parse_run_number("#42").unwrap(), 42);
        assert_eq!(parse_run_number("42").unwrap(), 42);
        let err = parse_run_number("latest").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(parse_run_number("0").is_err());
    }
}
