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
//! Every level also has workflow dispatch and the commit look-up (`dispatch`, mirroring
//! apis.md §1.7 and FJ `DispatchWorkflow`): Forgejo v11+ answers 201 with
//! `{"id","run_number","jobs"}` when `return_run_info` is true, Gitea 1.25 always 204;
//! a workflow file the repository lacks is Forgejo's 500 (message blanked unless the
//! token is an admin's, [`Builder::admin`]) and Gitea's 404; dispatching needs the
//! `write:repository` scope. A dispatch creates the run declared with
//! [`Builder::on_dispatch`], which then shows in the runs and tasks lists (after
//! [`Builder::dispatch_appears_after`] list requests); [`Builder::dispatch_answers`]
//! makes the POST fail (a 502 from a proxy) after the run is created.
//!
//! Every request is counted and logged (method, path, query, whether it carried
//! `Authorization`), so tests can assert "two requests, not a hundred", or exactly one
//! POST; [`FakeForgejo::dispatches`] keeps each dispatch's body.
//!
//! Every level also has the generic package registry and releases (`packages`,
//! `releases`, mirroring apis.md §2): uploads, the 409 for a file that exists, the
//! package listing with `Link`/`X-Total-Count`, a version's files with Forgejo's `Size`
//! (Gitea's `size`), releases latest and by tag, creation and assets. Tests seed them
//! with [`Builder::package_file`] and [`Builder::release`], and read what was uploaded
//! with [`FakeForgejo::package_file`] and [`FakeForgejo::release_assets`].

//!
//! # Layout, by job
//!
//! One file per concern, so that mirroring a new Forgejo quirk touches one place:
//! `spec` (what a test asks for), `state` (records, status over time, auth checks),
//! `wire` (JSON shapes and error bodies), `routes` (which routes each level has,
//! listings and paging), `logs` (the log routes), `dispatch` (dispatch and
//! commits), `packages` and `releases`; `tests` runs the opskit forge client against it.

mod dispatch;
mod logs;
mod packages;
mod releases;
mod routes;
mod spec;
mod state;
#[cfg(test)]
mod tests;
mod wire;

pub use spec::{
    ApiLevel, Builder, DispatchSeen, FakeForgejo, JobSpec, Log, ReleaseSeen, ReleaseSpec, RunSpec,
    Seen,
};
pub use wire::rfc3339;

use dispatch::*;
use logs::*;
use packages::*;
use releases::*;
use routes::*;
use spec::DispatchSpec;
use state::*;
use wire::*;
