//! Workflow dispatch and commit look-up.
//!
//! Mirrors (apis.md §1.1, §1.7):
//!
//! - `POST /api/v1/repos/{o}/{r}/actions/workflows/{file}/dispatches` — FJ
//!   routers/api/v1/repo/action.go `DispatchWorkflow` and services/actions/workflows.go
//!   (v11.0–v16): `ref` empty → 400 `ref is empty`; a file the repository lacks →
//!   **500** (`errors.New("workflow not found")` is not `ErrNotExist`), whose message
//!   Forgejo blanks for anyone but a site admin in production (services/context/api.go
//!   `Error`); otherwise the run is created and the answer is 201
//!   `{"id","run_number","jobs"}` when `return_run_info` is true (v11+, #7193/#7286),
//!   else 204. Gitea 1.25 (GT `ActionsDispatchWorkflow`) always answers 204, and 404 for
//!   a missing workflow (that message's wording is this server's, not read from Gitea).
//!   The route needs a token (`reqToken`: 401 `token is required`) with the
//!   `write:repository` scope (403 `token does not have at least one of required
//!   scope(s): [write:repository]`). A dispatched run's `commit_sha`/`head_sha` is the
//!   tip of the ref dispatched on (main), never the `ref` input.
//! - `GET /api/v1/repos/{o}/{r}/contents/{filepath}` — FJ routers/api/v1/repo/file.go
//!   `GetContents`: 200 with the entry (`name`, `path`, `type`) for a file the
//!   repository has (here: the dispatchable workflows under `.forgejo/workflows/`), the
//!   generic 404 for one it lacks. The `ref` query is accepted and not checked.
//! - `GET /api/v1/repos/{o}/{r}/git/commits/{sha}` — FJ routers/api/v1/repo/commits.go
//!   `GetSingleCommit`: 200 with the commit, 404 `ctx.NotFound(sha)` (the message is the
//!   SHA itself) for one the repository lacks, 422 for text that is no ref or SHA.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

impl Forge {
    /// The token check of a write route: a token, known, with `write:repository`.
    pub(super) fn check_write_auth(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some((_, scopes)) = self.token_of(headers) else {
            return Err(Box::new(if headers.contains_key("authorization") {
                message(
                    StatusCode::UNAUTHORIZED,
                    "invalid username, password or token",
                )
            } else {
                message(StatusCode::UNAUTHORIZED, "token is required")
            }));
        };
        if !scopes.iter().any(|s| s == "write:repository") {
            return Err(Box::new(message(
                StatusCode::FORBIDDEN,
                "token does not have at least one of required scope(s): [write:repository]",
            )));
        }
        Ok(())
    }

    fn is_admin(&self, headers: &HeaderMap) -> bool {
        self.token_of(headers)
            .is_some_and(|(t, _)| self.dispatch.admins.contains(t))
    }

    /// Creates the next run waiting for a dispatch of `workflow`: its id, number and
    /// job names. With none left, a run that no list will show.
    fn create_dispatched_run(&self, workflow: &str) -> (i64, i64, Vec<String>) {
        let mut slots = self.slots.lock().expect("lock");
        let next = self
            .runs
            .iter()
            .filter(|r| r.workflow == workflow)
            .find_map(|r| r.slot.filter(|s| slots[*s].is_none()).map(|s| (r, s)));
        match next {
            Some((run, slot)) => {
                slots[slot] = Some(Slot {
                    unix: now_unix() + self.dispatch.clock_offset,
                    at: std::time::Instant::now(),
                    polls: 0,
                });
                let jobs = run.jobs.iter().map(|j| j.name.clone()).collect();
                (run.id, run.number, jobs)
            }
            None => {
                let number = self.runs.iter().map(|r| r.number).max().unwrap_or(0) + 1000;
                (300 + number, number, Vec::new())
            }
        }
    }
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub(super) async fn dispatch(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (status, response) = answer_dispatch(&forge, &owner, &repo, &workflow, &headers, &parsed);
    forge.dispatches.lock().expect("lock").push(DispatchSeen {
        workflow,
        body: parsed,
        status: status.as_u16(),
    });
    tokio::time::sleep(forge.dispatch.delay).await;
    response
}

fn answer_dispatch(
    forge: &Forge,
    owner: &str,
    repo: &str,
    workflow: &str,
    headers: &HeaderMap,
    body: &Value,
) -> (StatusCode, Response) {
    let refuse = |r: Refusal| (r.status(), *r);
    if let Err(r) = forge
        .check_repo(owner, repo)
        .and_then(|()| forge.check_write_auth(headers))
    {
        return refuse(r);
    }
    let gitea = forge.level == ApiLevel::Gitea125;
    let git_ref = body.get("ref").and_then(Value::as_str).unwrap_or_default();
    if git_ref.is_empty() {
        return if gitea {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            (status, message(status, "[Ref]: Required"))
        } else {
            let status = StatusCode::BAD_REQUEST;
            (status, message(status, "ref is empty"))
        };
    }
    if !forge.dispatch.workflows.iter().any(|w| w == workflow) {
        if gitea {
            return (
                StatusCode::NOT_FOUND,
                message(
                    StatusCode::NOT_FOUND,
                    &format!("workflow \"{workflow}\" not found"),
                ),
            );
        }
        let text = if forge.is_admin(headers) {
            "workflow not found"
        } else {
            ""
        };
        let status = StatusCode::INTERNAL_SERVER_ERROR;
        return (status, message(status, text));
    }
    let (id, number, jobs) = forge.create_dispatched_run(workflow);
    if let Some(code) = forge.dispatch.answer {
        let status = StatusCode::from_u16(code).expect("a valid status");
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // The forge's own failure: Forgejo's JSON, its text blanked for non-admins.
            let text = if forge.is_admin(headers) {
                "database is locked"
            } else {
                ""
            };
            return (status, message(status, text));
        }
        let text = status.canonical_reason().unwrap_or("error").to_owned();
        return (status, (status, text).into_response());
    }
    let run_info = body
        .get("return_run_info")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if run_info && !gitea {
        let status = StatusCode::CREATED;
        let info = json!({"id": id, "run_number": number, "jobs": jobs});
        return (status, (status, axum::Json(info)).into_response());
    }
    (
        StatusCode::NO_CONTENT,
        StatusCode::NO_CONTENT.into_response(),
    )
}

pub(super) async fn commit(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    if sha.is_empty()
        || !sha
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
    {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("no valid ref or sha: {sha}"),
        );
    }
    let Some(full) = forge
        .commits
        .iter()
        .find(|c| sha.len() >= 4 && c.starts_with(&sha.to_ascii_lowercase()))
    else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(
                json!({"message": sha, "url": "https://forge.example/api/swagger", "errors": null}),
            ),
        )
            .into_response();
    };
    axum::Json(json!({
        "url": format!("https://forge.example/api/v1/repos/{owner}/{repo}/git/commits/{full}"),
        "sha": full,
        "created": rfc3339(BASE_TIME),
        "html_url": format!("{}/commit/{full}", forge.html_url()),
        "commit": {
            "url": format!("https://forge.example/api/v1/repos/{owner}/{repo}/git/commits/{full}"),
            "author": {"name": "Alice", "email": "alice@example.com", "date": rfc3339(BASE_TIME)},
            "committer": {"name": "Alice", "email": "alice@example.com", "date": rfc3339(BASE_TIME)},
            "message": "Bump navidrome\n",
            "tree": {"url": "https://forge.example/api/v1/repos/acme/app/git/trees/0000000", "sha": "0000000000000000000000000000000000000000", "created": rfc3339(BASE_TIME)},
        },
        "author": null,
        "committer": null,
        "parents": [],
    }))
    .into_response()
}

pub(super) async fn contents(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let known = forge
        .dispatch
        .workflows
        .iter()
        .any(|w| path == format!(".forgejo/workflows/{w}"));
    if !known {
        return not_found();
    }
    let name = path.rsplit('/').next().unwrap_or_default();
    axum::Json(json!({"name": name, "path": path, "type": "file"})).into_response()
}
