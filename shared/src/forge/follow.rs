//! Following a whole run until it ends, as events (`gh run watch`).
//!
//! Why here and not in the command: container-build-and-release dispatches a run and
//! then waits for it, and must see the same job changes `runner-logs RUN --follow`
//! prints. So the client produces [`RunEvent`]s and never prints; each tool renders
//! them its own way (and decides its exit code from [`RunEvent::Finished`]).

use std::collections::HashMap;
use std::time::Duration;

use super::Forge;
use super::model::{Job, Run, Status};
use crate::error::Result;

/// What changed since the last poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunEvent {
    /// A job seen for the first time (`previous` is `None`) or whose status changed.
    Job { job: Job, previous: Option<Status> },
    /// The run has ended: its final status and its jobs. No event follows.
    Finished { run: Run, jobs: Vec<Job> },
}

/// Polls a run every `interval` and yields what changed, until it has ended.
///
/// ```no_run
/// # async fn demo(forge: &opskit::forge::Forge, run: opskit::forge::model::Run) -> opskit::Result<()> {
/// use opskit::forge::follow::{RunEvent, RunFollower};
/// let mut follower = RunFollower::new(forge, run, std::time::Duration::from_secs(3));
/// while let Some(event) = follower.next().await? {
///     if let RunEvent::Finished { run, .. } = event {
///         println!("run #{} ended: {}", run.number, run.status);
///     }
/// }
/// # Ok(()) }
/// ```
pub struct RunFollower<'a> {
    forge: &'a Forge,
    run: Run,
    interval: Duration,
    known: HashMap<String, Status>,
    queue: std::collections::VecDeque<RunEvent>,
    polled: bool,
    finished: bool,
}

impl<'a> RunFollower<'a> {
    pub fn new(forge: &'a Forge, run: Run, interval: Duration) -> Self {
        RunFollower {
            forge,
            run,
            interval,
            known: HashMap::new(),
            queue: std::collections::VecDeque::new(),
            polled: false,
            finished: false,
        }
    }

    /// The next event; `None` after [`RunEvent::Finished`]. Sleeps between polls, so
    /// this may take as long as the run does.
    pub async fn next(&mut self) -> Result<Option<RunEvent>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Ok(Some(event));
            }
            if self.finished {
                return Ok(None);
            }
            if self.polled {
                tokio::time::sleep(self.interval).await;
            }
            self.polled = true;
            self.poll().await?;
        }
    }

    async fn poll(&mut self) -> Result<()> {
        let run = self.forge.find_run(self.run.number).await?;
        let jobs = self.forge.jobs(&run).await?;
        for job in &jobs {
            let key = job_key(job);
            let previous = self.known.insert(key, job.status);
            if previous != Some(job.status) {
                self.queue.push_back(RunEvent::Job {
                    job: job.clone(),
                    previous,
                });
            }
        }
        if run.status.is_done() && jobs.iter().all(|j| j.status.is_done()) {
            self.finished = true;
            self.queue.push_back(RunEvent::Finished {
                run: run.clone(),
                jobs,
            });
        }
        self.run = run;
        Ok(())
    }
}

/// Jobs are told apart by their web UI number where known, else by name.
fn job_key(job: &Job) -> String {
    match job.index {
        Some(index) => format!("#{index}"),
        None => job.name.clone(),
    }
}
