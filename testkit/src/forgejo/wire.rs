//! The JSON the real servers send: Forgejo's ActionRun and ActionTask, Gitea 1.25's
//! run and job shapes and status names, and the error bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::Digest;

use super::*;

impl Forge {
    /// When a job started: its seeded offset from its run's creation.
    pub(super) fn job_started(&self, run: &RunRec, job: &JobRec) -> i64 {
        self.created(run) + (job.started - run.created)
    }

    /// ActionRun (FJ modules/structs/action.go, services/convert/action.go), or
    /// Gitea's ActionWorkflowRun (GT modules/structs/repo_actions.go).
    pub(super) fn run_json(&self, run: &RunRec) -> Value {
        let started = self.created(run) + 2;
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
            "created": rfc3339(self.created(run)),
            "updated": rfc3339(stopped.unwrap_or(started)),
            "html_url": format!("{}/actions/runs/{}", self.html_url(), run.number),
        });
        if let Some(stopped) = stopped {
            value["duration"] = json!((stopped - started) * 1_000_000_000);
        }
        value
    }

    /// ActionTask (`convert.ToActionTask`).
    pub(super) fn task_json(
        &self,
        task_id: i64,
        run: &RunRec,
        job: &JobRec,
        attempt: u32,
    ) -> Value {
        let latest = attempt == job.attempts;
        let status = if latest {
            self.job_status(job)
        } else {
            "failure".to_owned()
        };
        let created = self.job_started(run, job) + i64::from(attempt - 1) * 100;
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
            "run_started_at": rfc3339(self.created(run) + 2),
        })
    }

    /// A job as Gitea 1.25 lists it (GT modules/structs/repo_actions.go ActionWorkflowJob).
    pub(super) fn gitea_job_json(&self, run: &RunRec, job: &JobRec) -> Value {
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
            "created_at": rfc3339(self.created(run)),
            "started_at": rfc3339(self.job_started(run, job)),
            "completed_at": rfc3339(if done { self.job_started(run, job) + 30 } else { 0 }),
        });
        if let Some(conclusion) = conclusion {
            value["conclusion"] = json!(conclusion);
        }
        value
    }
}

/// Forgejo's internal status as Gitea 1.25 shows it (GT services/convert `ToActionsStatus`).
pub(super) fn gitea_status(status: &str) -> (&'static str, Option<&str>) {
    match status {
        "waiting" => ("queued", None),
        "blocked" => ("waiting", None),
        "running" => ("in_progress", None),
        "success" | "failure" | "cancelled" | "skipped" => ("completed", Some(status)),
        _ => ("", None),
    }
}

/// Gitea's `status` query values, as internal statuses (GT `convertToInternal`).
pub(super) fn gitea_status_filter(value: &str) -> Option<Vec<&'static str>> {
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

pub(super) fn message(status: StatusCode, text: &str) -> Response {
    (
        status,
        axum::Json(json!({"message": text, "url": "https://forge.example/api/swagger"})),
    )
        .into_response()
}

/// Forgejo's 404 body (services/context/api.go).
pub(super) fn not_found() -> Response {
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

/// A plain-text answer, as the package routes (and web routes) send errors
/// (`http.Error`: the text and a newline).
pub(super) fn plain(status: StatusCode, text: &str) -> Response {
    (status, format!("{text}\n")).into_response()
}

impl Forge {
    /// A package version as `GET /api/v1/packages/{owner}` lists it (FJ
    /// modules/structs/package.go `Package`; `id` is the version's id).
    pub(super) fn package_json(&self, root: &str, version: &VersionRec) -> Value {
        let user = |id: i64, login: &str| json!({"id": id, "login": login, "username": login});
        json!({
            "id": version.id,
            "owner": user(9, &self.owner),
            "repository": null,
            "creator": user(3, "alice"),
            "type": "generic",
            "name": version.package,
            "version": version.version,
            "html_url": format!("{root}/{}/-/packages/generic/{}/{}", self.owner, version.package, version.version),
            "created_at": rfc3339(version.created),
        })
    }

    /// A package file as `…/{ver}/files` lists it (FJ `PackageFile`): Forgejo's size
    /// key is `Size` (no json tag), Gitea ≥1.24's `size`. `md5` and `sha1` are left out:
    /// nothing in the suite reads them.
    pub(super) fn package_file_json(&self, file: &FileRec) -> Value {
        let size_key = if self.level == ApiLevel::Gitea125 {
            "size"
        } else {
            "Size"
        };
        let mut value = json!({
            "id": file.id,
            "name": file.name,
            "sha256": hex(&sha2::Sha256::digest(&file.content)),
            "sha512": hex(&sha2::Sha512::digest(&file.content)),
        });
        value[size_key] = json!(file.content.len());
        value
    }

    /// A release (FJ modules/structs/release.go, services/convert `ToAPIRelease`);
    /// `root` is the server's address, its ROOT_URL.
    pub(super) fn release_json(&self, root: &str, release: &ReleaseRec) -> Value {
        let repo = format!("{}/{}", self.owner, self.repo);
        let api = format!("{root}/api/v1/repos/{repo}/releases/{}", release.id);
        let assets: Vec<Value> = release
            .assets
            .iter()
            .map(|a| self.asset_json(root, release, a))
            .collect();
        json!({
            "id": release.id,
            "tag_name": release.tag,
            "target_commitish": release.target,
            "name": release.title,
            "body": release.notes,
            "url": api,
            "html_url": format!("{root}/{repo}/releases/tag/{}", release.tag),
            "tarball_url": format!("{root}/{repo}/archive/{}.tar.gz", release.tag),
            "zipball_url": format!("{root}/{repo}/archive/{}.zip", release.tag),
            "hide_archive_links": false,
            "upload_url": format!("{api}/assets"),
            "draft": release.draft,
            "prerelease": release.prerelease,
            "created_at": rfc3339(release.created),
            "published_at": rfc3339(release.created),
            "author": {"id": 3, "login": "alice", "username": "alice"},
            "assets": assets,
            "archive_download_count": {"zip": 0, "tar_gz": 0},
        })
    }

    /// A release asset (FJ modules/structs/attachment.go `Attachment`).
    pub(super) fn asset_json(&self, root: &str, release: &ReleaseRec, asset: &AssetRec) -> Value {
        json!({
            "id": asset.id,
            "name": asset.name,
            "size": asset.content.len(),
            "download_count": 0,
            "created_at": rfc3339(release.created),
            "uuid": format!("00000000-0000-4000-8000-{:012}", asset.id),
            "browser_download_url": format!("{root}/{}/{}/releases/download/{}/{}", self.owner, self.repo, release.tag, asset.name),
            "type": "attachment",
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
