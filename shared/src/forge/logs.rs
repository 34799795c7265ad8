//! Job logs: where a job's log can be read on this server, and reading it from an
//! offset (so `--follow` fetches only what is new).

use reqwest::header::RANGE;
use reqwest::{Method, Response, StatusCode, Url};

use super::Forge;
use super::model::{Job, Run};
use super::version::{Product, ServerVersion};
use crate::error::{Error, Result};

/// Where a job's log can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// `GET /api/v1/repos/{o}/{r}/actions/jobs/{id}/logs[?attempt=N]`, token-authenticated.
    Api { job_id: i64, attempt: Option<u32> },
    /// The web UI's route, anonymous: `/{o}/{r}/actions/runs/{run}/jobs/{index}[/attempt/{n}]/logs`.
    Web { url: Url },
}

/// The outcome of asking for a log from some byte offset on.
pub enum LogChunk {
    /// The body, and how many leading bytes to drop (the server ignored `Range`).
    Body(Response, u64),
    /// The server has nothing past the offset yet (416).
    NothingNew,
    /// The job has not started, so there is no log yet.
    NotStarted,
}

impl Forge {
    /// Decides where the log of `job` can be read, or says why it cannot.
    pub async fn log_source(
        &self,
        run: &Run,
        job: &Job,
        attempt: Option<u32>,
    ) -> Result<LogSource> {
        if let Some(asked) = attempt
            && asked > job.attempt
        {
            // Asked of the server, a missing attempt is a 404 that reads like a wrong
            // repository; the job already says how many attempts it has.
            let attempts = match job.attempt {
                1 => "1 attempt".to_owned(),
                n => format!("{n} attempts"),
            };
            return Err(Error::not_found(format!(
                "there is no attempt {asked}; the job has {attempts}"
            ))
            .hint(match job.attempt {
                1 => "leave out --attempt".to_owned(),
                n => format!("pass --attempt 1 to {n}, or leave it out for the latest"),
            }));
        }
        let version = self.version().await?.clone();
        if let (true, Some(job_id)) = (version.has_job_logs_api(), job.id) {
            return Ok(LogSource::Api { job_id, attempt });
        }
        // Before v16 only the web UI serves logs, and web routes ignore API tokens
        // (FJ services/auth/basic.go), so only public repositories can be read.
        let attempt = attempt.unwrap_or(job.attempt);
        let Some(index) = job.index else {
            return Err(self.private_log_refusal(&version, run, 0, attempt));
        };
        if self.repo_is_private().await? {
            return Err(self.private_log_refusal(&version, run, index, attempt));
        }
        Ok(LogSource::Web {
            url: self.web_log_url(&version, run.number, index, attempt),
        })
    }

    /// Why a private repository's log cannot be read before Forgejo v16.
    pub(super) fn private_log_refusal(
        &self,
        version: &ServerVersion,
        run: &Run,
        index: usize,
        attempt: u32,
    ) -> Error {
        let upgrade = match version.product {
            Product::Forgejo => "upgrade the forge to Forgejo v16 or later",
            Product::Gitea => "upgrade the forge to Gitea 1.25 or later",
        };
        Error::remote(format!(
            "{version} has no job-log API this tool can use, and its web log route ignores tokens, so logs of the private repository {} cannot be read",
            self.repo
        ))
        .hint(format!(
            "{upgrade}, or open the log in the web UI: {}",
            self.web_log_url(version, run.number, index, attempt)
        ))
    }

    pub(super) fn web_log_url(
        &self,
        version: &ServerVersion,
        run: i64,
        index: usize,
        attempt: u32,
    ) -> Url {
        let (run, index, attempt) = (
            run.to_string(),
            index.to_string(),
            attempt.max(1).to_string(),
        );
        let mut segments = vec![
            &*self.repo.owner,
            &*self.repo.name,
            "actions",
            "runs",
            &run,
            "jobs",
            &index,
        ];
        if version.web_log_route_has_attempt() {
            segments.extend(["attempt", &attempt]);
        }
        segments.push("logs");
        self.url(&segments)
    }

    /// Whether the repository is private, asked once.
    pub(super) async fn repo_is_private(&self) -> Result<bool> {
        #[derive(serde::Deserialize)]
        struct Repository {
            #[serde(default)]
            private: bool,
        }
        self.private
            .get_or_try_init(|| async {
                let repo: Repository = self.get_json(self.repo_api(&[]), "the repository").await?;
                Ok(repo.private)
            })
            .await
            .copied()
    }

    /// Asks for the log from byte `offset` on, with `Range` so a growing log is not
    /// re-sent; servers that ignore `Range` answer 200, and the caller skips `offset`.
    pub async fn read_log(&self, source: &LogSource, offset: u64) -> Result<LogChunk> {
        let (url, authenticated) = match source {
            LogSource::Api { job_id, attempt } => {
                let mut url = self.repo_api(&["actions", "jobs", &job_id.to_string(), "logs"]);
                if let Some(attempt) = attempt {
                    url.query_pairs_mut()
                        .append_pair("attempt", &attempt.to_string());
                }
                (url, true)
            }
            LogSource::Web { url } => (url.clone(), false),
        };
        let mut request = self.http.request(Method::GET, url);
        if authenticated {
            request = self.authorize(request);
        }
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        // A log may be hundreds of megabytes, or still growing: each read is bounded,
        // the whole is not.
        let response = self.http.send_streaming(request).await?;
        match response.status() {
            StatusCode::PARTIAL_CONTENT => Ok(LogChunk::Body(response, 0)),
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(LogChunk::NothingNew),
            status if status.is_success() => Ok(LogChunk::Body(response, offset)),
            StatusCode::NOT_FOUND => {
                let message = self.error_message(response).await;
                if message.contains("not started") {
                    return Ok(LogChunk::NotStarted);
                }
                if message.contains("cleaned up") {
                    return Err(super::jobs::cleaned_up());
                }
                let mut err = self.status_error(StatusCode::NOT_FOUND, &message, "the job log");
                if !authenticated {
                    err = err.hint("the web log route is anonymous: the repository must be public");
                }
                Err(err)
            }
            status => {
                let message = self.error_message(response).await;
                Err(self.status_error(status, &message, "the job log"))
            }
        }
    }
}

/// Where a log's bytes go. The command supplies it (stdout, with or without colour; a
/// file; a buffer in a test): the client reads the network and never writes output.
pub trait LogWrite {
    fn write_log(&mut self, bytes: &[u8]) -> Result<()>;
}

/// Streams a log body into `out` chunk by chunk, dropping its first `skip` bytes (a
/// server that ignored `Range` resends what was already printed). Returns the bytes
/// consumed after the skipped part. A body cut off mid-stream is an error (exit 3)
/// after what arrived has been written.
pub async fn copy_log(
    response: &mut Response,
    mut skip: u64,
    out: &mut dyn LogWrite,
) -> Result<u64> {
    let mut copied = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        Error::remote(format!(
            "the log download was cut off after {} bytes: {}",
            copied,
            if e.is_timeout() {
                "no data within --timeout"
            } else {
                "the connection closed mid-log"
            }
        ))
        .hint("run the command again; add --follow if the job is still running")
    })? {
        let mut bytes = &chunk[..];
        if skip > 0 {
            let dropped = skip.min(bytes.len() as u64);
            skip -= dropped;
            bytes = &bytes[dropped as usize..];
        }
        if !bytes.is_empty() {
            out.write_log(bytes)?;
            copied += bytes.len() as u64;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a command might supply instead of stdout.
    struct Collect(Vec<u8>);

    impl LogWrite for Collect {
        fn write_log(&mut self, bytes: &[u8]) -> Result<()> {
            self.0.extend_from_slice(bytes);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_log_goes_to_the_sink_the_caller_supplies_minus_what_was_printed() {
        let mut response = Response::from(axum::http::Response::new("line 1\nline 2\n"));
        let mut sink = Collect(Vec::new());
        let copied = copy_log(&mut response, 7, &mut sink).await.unwrap();
        assert_eq!((copied, sink.0.as_slice()), (7, &b"line 2\n"[..]));
    }
}
