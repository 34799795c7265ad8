//! The routes each API level registers, and the listing handlers with Forgejo's
//! paging rules.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::*;

pub(super) fn router(state: Arc<Forge>) -> Router {
    let repo = "/api/v1/repos/{owner}/{repo}";
    let mut app = Router::new()
        .route("/api/v1/version", get(version))
        .route(repo, get(repository))
        .route(&format!("{repo}/actions/tasks"), get(list_tasks))
        .route(&format!("{repo}/git/commits/{{sha}}"), get(commit))
        .route(&format!("{repo}/contents/{{*path}}"), get(contents))
        .route(
            &format!("{repo}/actions/workflows/{{workflow}}/dispatches"),
            post(dispatch),
        )
        .route(
            "/api/packages/{owner}/generic/{package}/{version}/{file}",
            get(download_generic).put(upload_generic),
        )
        .route("/api/v1/packages/{owner}", get(list_packages))
        .route(
            "/api/v1/packages/{owner}/{kind}/{package}/{version}",
            get(one_package),
        )
        .route(
            "/api/v1/packages/{owner}/{kind}/{package}/{version}/files",
            get(package_files),
        )
        .route(&format!("{repo}/releases"), post(create_release))
        .route(&format!("{repo}/releases/latest"), get(latest_release))
        .route(
            &format!("{repo}/releases/tags/{{tag}}"),
            get(release_by_tag),
        )
        .route(
            &format!("{repo}/releases/{{id}}/assets"),
            post(upload_asset),
        )
        .route(
            "/{owner}/{repo}/releases/download/{tag}/{name}",
            get(download_asset),
        );
    if state.level != ApiLevel::V11 {
        app = app
            .route(&format!("{repo}/actions/runs"), get(list_runs))
            .route(&format!("{repo}/actions/runs/{{run}}"), get(one_run));
    }
    match state.level {
        ApiLevel::V16 | ApiLevel::Gitea125 => {
            app = app
                .route(&format!("{repo}/actions/runs/{{run}}/jobs"), get(run_jobs))
                .route(&format!("{repo}/actions/jobs/{{job}}/logs"), get(job_logs));
        }
        ApiLevel::V14 => {
            app = app.route(
                "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/attempt/{attempt}/logs",
                get(web_logs_attempt),
            );
        }
        ApiLevel::V11 => {
            app = app.route(
                "/{owner}/{repo}/actions/runs/{run}/jobs/{job}/logs",
                get(web_logs),
            );
        }
    }
    app.fallback(|| async { not_found() })
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

pub(super) async fn count(
    State(forge): State<Arc<Forge>>,
    request: Request,
    next: Next,
) -> Response {
    forge.count.fetch_add(1, Ordering::SeqCst);
    forge.seen.lock().expect("lock").push(Seen {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().unwrap_or_default().to_owned(),
        authorized: request.headers().contains_key(header::AUTHORIZATION),
    });
    next.run(request).await
}

pub(super) async fn version(State(forge): State<Arc<Forge>>) -> Response {
    axum::Json(json!({"version": forge.level.version_string()})).into_response()
}

pub(super) async fn repository(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    axum::Json(json!({
        "id": 7, "name": forge.repo, "full_name": format!("{}/{}", forge.owner, forge.repo),
        "private": forge.private, "html_url": forge.html_url(),
    }))
    .into_response()
}

/// `page` (1-based) and `limit` as Forgejo reads them (routers/api/v1/utils/page.go):
/// `limit` counts only when `page` is given; at most 50.
pub(super) fn paging(query: &[(String, String)]) -> (usize, usize) {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    match get("page") {
        Some(page) => {
            let limit = get("limit")
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_PAGING)
                .min(MAX_RESPONSE_ITEMS);
            (page.max(1), limit)
        }
        None => (1, DEFAULT_PAGING),
    }
}

pub(super) fn parse_query(raw: Option<String>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

pub(super) fn page_of<T: Clone>(rows: &[T], page: usize, limit: usize) -> Vec<T> {
    rows.iter()
        .skip((page - 1) * limit)
        .take(limit)
        .cloned()
        .collect()
}

pub(super) async fn list_tasks(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let (page, limit) = forge.paging(&parse_query(raw));
    // Tasks of jobs no runner has taken yet do not exist yet.
    let tasks: Vec<_> = forge
        .tasks
        .iter()
        .copied()
        .filter(|(_, run, job, _)| {
            forge.visible(&forge.runs[*run]) && forge.has_task(&forge.runs[*run].jobs[*job])
        })
        .collect();
    forge.polled();
    let rows: Vec<Value> = page_of(&tasks, page, limit)
        .into_iter()
        .map(|(id, run, job, attempt)| {
            let run = &forge.runs[run];
            forge.task_json(id, run, &run.jobs[job], attempt)
        })
        .collect();
    axum::Json(json!({"workflow_runs": rows, "total_count": tasks.len()})).into_response()
}

pub(super) async fn list_runs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let query = parse_query(raw);
    let all = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let gitea = forge.level == ApiLevel::Gitea125;
    if gitea && forge.token_of(&headers).is_none() {
        // 1.25 registers the route behind reqOwner() (fixed in 1.26 by #36818).
        return message(
            StatusCode::FORBIDDEN,
            "user should be the owner of the repo",
        );
    }
    let mut statuses = Vec::new();
    for value in all("status") {
        match (gitea, gitea_status_filter(value)) {
            (true, Some(internal)) => statuses.extend(internal),
            (false, _) if STATUSES.contains(&value) => statuses.push(value),
            _ => return message(StatusCode::BAD_REQUEST, &format!("unknown status: {value}")),
        }
    }
    let events = all("event");
    let number = all("run_number")
        .first()
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|_| !gitea);
    let v16 = forge.level == ApiLevel::V16;
    let workflow = all("workflow_id").first().copied().filter(|_| v16);
    let git_ref = all("ref").first().copied().filter(|_| v16);
    let mut matching: Vec<&RunRec> = forge
        .runs
        .iter()
        .filter(|r| forge.visible(r))
        .filter(|r| statuses.is_empty() || statuses.contains(&forge.run_status(r).as_str()))
        .filter(|r| events.is_empty() || events.contains(&r.event.as_str()))
        .filter(|r| number.is_none_or(|n| r.number == n))
        .filter(|r| workflow.is_none_or(|w| r.workflow == w))
        .filter(|r| git_ref.is_none_or(|g| format!("refs/heads/{}", r.git_ref) == g))
        .collect();
    // Forgejo v12–v14: no ORDER BY (database order); v15+ and Gitea: id DESC.
    if v16 || gitea {
        matching.reverse();
    }
    forge.polled();
    let (page, limit) = forge.paging(&query);
    let rows: Vec<Value> = page_of(&matching, page, limit)
        .into_iter()
        .map(|r| forge.run_json(r))
        .collect();
    let total = forge.claimed_total.unwrap_or(matching.len() as u64);
    axum::Json(json!({"total_count": total, "workflow_runs": rows})).into_response()
}

pub(super) async fn one_run(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    match forge
        .check_repo_api(&owner, &repo, &headers)
        .and_then(|()| forge.find_run_by_id(run))
    {
        Ok(run) => axum::Json(forge.run_json(run)).into_response(),
        Err(r) => *r,
    }
}

/// v16: a bare array of `{id,attempt,handle,repo_id,owner_id,name,needs,runs_on,task_id,status}`.
pub(super) async fn run_jobs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run)): Path<(String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    let run = match forge
        .check_repo_api(&owner, &repo, &headers)
        .and_then(|()| forge.find_run_by_id(run))
    {
        Ok(run) => run,
        Err(r) => return *r,
    };
    if forge.level == ApiLevel::Gitea125 {
        // GT `ListRunJobs`: `page`/`limit` like every list, with the total.
        let (page, limit) = forge.paging(&parse_query(raw));
        let jobs: Vec<Value> = page_of(&run.jobs.iter().collect::<Vec<_>>(), page, limit)
            .into_iter()
            .map(|job| forge.gitea_job_json(run, job))
            .collect();
        return axum::Json(json!({"total_count": run.jobs.len(), "jobs": jobs})).into_response();
    }
    let jobs: Vec<Value> = run
        .jobs
        .iter()
        .map(|job| {
            json!({
                "id": job.id, "attempt": job.attempts, "handle": format!("handle-{}", job.id),
                "repo_id": 7, "owner_id": 2, "name": job.name, "needs": [], "runs_on": ["docker"],
                "task_id": if forge.has_task(job) { job.tasks.last().copied().unwrap_or(0) } else { 0 },
                "status": forge.job_status(job),
            })
        })
        .collect();
    axum::Json(Value::Array(jobs)).into_response()
}
