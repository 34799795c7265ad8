//! Job logs: the v16/Gitea API route, the web UI routes of v11 and v14, `Range`,
//! the `Content-Disposition` that names the task, and generated logs for benchmarks.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::*;

impl Forge {
    /// Serves a job's log from `offset`, revealing one more chunk of a growing log.
    /// `web` answers as the web routes do: errors as plain text, not JSON.
    pub(super) fn log_response(
        &self,
        run: &RunRec,
        job: &JobRec,
        attempt: u32,
        range: Option<u64>,
        web: bool,
    ) -> Response {
        let refuse = |text: &str| {
            if web {
                (StatusCode::NOT_FOUND, text.to_owned()).into_response()
            } else {
                message(StatusCode::NOT_FOUND, text)
            }
        };
        // FJ checks `job.TaskID == 0` before anything else.
        if !self.has_task(job) {
            return refuse("job is not started");
        }
        if attempt == 0 || attempt > job.attempts {
            return not_found();
        }
        // `{workflow without extension}-{job name}-{task id}.log`, the task being the
        // attempt's (FJ routers/web/repo/actions/view.go `Logs`): the one place a log
        // answer names the job and task it belongs to.
        let workflow = run.workflow.split('.').next().unwrap_or_default();
        let task = job.tasks[(attempt - 1) as usize];
        let filename = format!("{workflow}-{}-{task}.log", job.name);
        if attempt < job.attempts {
            let text = format!("attempt {attempt} of {}\n", job.name).into_bytes();
            return bytes_response(Bytes::from(text), range, &filename);
        }
        match &job.log {
            Log::CleanedUp => refuse("logs have been cleaned up"),
            Log::NotStarted => refuse("job is not started"),
            Log::Text(text) => bytes_response(Bytes::from(text.clone()), range, &filename),
            Log::Growing(chunks) => {
                let mut revealed = self.revealed.lock().expect("lock");
                let shown = revealed.entry(job.id).or_insert(0);
                *shown = (*shown + 1).min(chunks.len());
                let text: Vec<u8> = chunks[..*shown].concat();
                bytes_response(Bytes::from(text), range, &filename)
            }
            Log::Generated(len) => generated_response(*len, range, &filename),
            Log::Dripping { lines, every } => dripping_response(lines.clone(), *every, &filename),
        }
    }
}

/// v16: `GET …/actions/jobs/{job_id}/logs[?attempt=N]`, text/plain, Range.
pub(super) async fn job_logs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, job)): Path<(String, String, i64)>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = forge.check_repo_api(&owner, &repo, &headers) {
        return *r;
    }
    let Some((run, job)) = forge
        .runs
        .iter()
        .filter(|r| forge.visible(r))
        .flat_map(|r| r.jobs.iter().map(move |j| (r, j)))
        .find(|(_, j)| j.id == job)
    else {
        return message(StatusCode::NOT_FOUND, "job not found");
    };
    let attempt = parse_query(raw)
        .iter()
        .find(|(k, _)| k == "attempt")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(job.attempts);
    let range = range_start(&headers).filter(|_| forge.level != ApiLevel::Gitea125);
    forge.log_response(run, job, attempt, range, false)
}

/// v14: the web UI's route. It ignores tokens, ignores Range, treats attempt 0 as 1,
/// and serves job 0 for an out-of-range job index.
pub(super) async fn web_logs_attempt(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run, job, attempt)): Path<(String, String, i64, usize, u32)>,
) -> Response {
    web_log(&forge, &owner, &repo, run, job, attempt.max(1))
}

/// v9–v13: the web route without an attempt segment (always the latest attempt).
pub(super) async fn web_logs(
    State(forge): State<Arc<Forge>>,
    Path((owner, repo, run, job)): Path<(String, String, i64, usize)>,
) -> Response {
    let attempt = forge
        .runs
        .iter()
        .find(|r| r.number == run)
        .and_then(|r| r.jobs.get(job).or(r.jobs.first()))
        .map_or(1, |j| j.attempts);
    web_log(&forge, &owner, &repo, run, job, attempt)
}

pub(super) fn web_log(
    forge: &Forge,
    owner: &str,
    repo: &str,
    run: i64,
    job: usize,
    attempt: u32,
) -> Response {
    if forge.check_repo(owner, repo).is_err() || forge.private {
        return not_found();
    }
    let Some(run) = forge
        .runs
        .iter()
        .find(|r| r.number == run && forge.visible(r))
    else {
        return not_found();
    };
    let Some(job) = run.jobs.get(job).or(run.jobs.first()) else {
        return not_found();
    };
    forge.log_response(run, job, attempt, None, true)
}

pub(super) fn range_start(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?
        .strip_suffix('-')?
        .parse()
        .ok()
}

pub(super) fn log_headers(
    builder: axum::http::response::Builder,
    filename: &str,
) -> axum::http::response::Builder {
    builder
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        )
        .header(header::ACCEPT_RANGES, "bytes")
}

pub(super) fn bytes_response(text: Bytes, range: Option<u64>, filename: &str) -> Response {
    let len = text.len() as u64;
    let builder = log_headers(Response::builder(), filename);
    let response = match range {
        Some(start) if start >= len => builder
            .status(StatusCode::RANGE_NOT_SATISFIABLE)
            .header(header::CONTENT_RANGE, format!("bytes */{len}"))
            .body(Body::empty()),
        Some(start) => builder
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{len}", len - 1),
            )
            .body(Body::from(text.slice(start as usize..))),
        None => builder.status(StatusCode::OK).body(Body::from(text)),
    };
    response.expect("valid response")
}

/// `len` bytes of a repeated, numbered-looking log line, made as they are sent.
pub(super) fn generated_response(len: u64, range: Option<u64>, filename: &str) -> Response {
    const LINE: &[u8] = b"2025-07-20T10:15:02.000Z \x1b[32m[build]\x1b[0m compiling crate 42 of 300: lorem ipsum dolor sit amet\n";
    let start = range.unwrap_or(0).min(len);
    let mut block = Vec::with_capacity(64 * 1024);
    while block.len() + LINE.len() <= 64 * 1024 {
        block.extend_from_slice(LINE);
    }
    let block = Bytes::from(block);
    let period = block.len() as u64;
    let stream = futures::stream::unfold(start, move |pos| {
        let block = block.clone();
        async move {
            if pos >= len {
                return None;
            }
            let from = (pos % period) as usize;
            let take = ((period - from as u64).min(len - pos)) as usize;
            let chunk = block.slice(from..from + take);
            Some((Ok::<_, std::io::Error>(chunk), pos + take as u64))
        }
    });
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    log_headers(Response::builder(), filename)
        .status(status)
        .header(header::CONTENT_LENGTH, HeaderValue::from(len - start))
        .body(Body::from_stream(stream))
        .expect("valid response")
}

/// The lines one by one, `every` apart, without a `Content-Length` (chunked).
pub(super) fn dripping_response(
    lines: Vec<String>,
    every: std::time::Duration,
    filename: &str,
) -> Response {
    let stream = futures::stream::unfold(lines.into_iter(), move |mut lines| async move {
        let line = lines.next()?;
        tokio::time::sleep(every).await;
        Some((Ok::<_, std::io::Error>(Bytes::from(line)), lines))
    });
    log_headers(Response::builder(), filename)
        .status(StatusCode::OK)
        .body(Body::from_stream(stream))
        .expect("valid response")
}
