//! The one HTTP client every tool uses.
//!
//! Why one: timeouts, retries, the concurrency bound, the plain-HTTP rule, secret
//! redaction and the meaning of each status must behave the same for the registry, the
//! forge and Argo CD, and a fix to one must reach all. What it guarantees:
//!
//! - every request ends in bounded time: [`Client::send`] gives the whole exchange,
//!   retries and body included, one deadline of `timeout` (a server that drips a byte a
//!   second cannot hold a hook); [`Client::send_streaming`] is for bodies read as they
//!   arrive (job logs) and bounds each read instead;
//! - retries with exponential backoff and jitter on 408, 429 (honouring `Retry-After`)
//!   and 5xx, and on connection errors, for idempotent methods only (GET, HEAD, PUT,
//!   DELETE); a POST is sent once. All waiting between tries is capped at
//!   [`RETRY_WAIT_BUDGET`]; a server that asks for longer gets a clear error, and every
//!   wait a server asks for is announced on stderr;
//! - at most `concurrency` requests waiting on a server at once (a semaphore held until
//!   the answer's headers are in), however many futures wait; bodies are then read
//!   without it, each bounded by [`MAX_BODY`] and the request's deadline;
//! - plain `http://` only for loopback hosts or with `insecure`; TLS roots are loaded
//!   only when the first `https://` request is made, so a tool talking to a loopback
//!   registry never pays for them;
//! - `debug` logs method, redacted URL, status and duration to stderr; credentials
//!   are never logged, because only the URL (stripped of userinfo and token query
//!   parameters) is ever formatted;
//! - [`status_error`] is the one mapping from an unsuccessful status to the suite's
//!   error kinds; clients add their own wording and hints on top.
//!
//! The client takes a plain [`HttpConfig`]; the clap flags that fill it live with the
//! commands (`commands::flags::HttpArgs`), so no client depends on the command line.

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::{Method, Request, Response, StatusCode, Url};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::output::stderr_line;

/// How long all the waits between tries of one request may add up to. A hook or a
/// workflow step should fail in seconds with a reason, not sleep for an hour because a
/// server said `Retry-After: 3600`.
pub const RETRY_WAIT_BUDGET: Duration = Duration::from_secs(30);

/// How the client behaves; filled from the command line by the commands.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The deadline of a whole request, and of each connect and read of a stream.
    pub timeout: Duration,
    /// Tries after the first, for requests that are safe to repeat.
    pub retries: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Allow plain http:// to hosts that are not loopback.
    pub insecure: bool,
    /// Log each request to stderr.
    pub debug: bool,
    /// The flag that sets `timeout`, named when a request runs out of it
    /// (`--timeout`; `--build-timeout` for the Dagger engine, `--upload-timeout` for
    /// an upload).
    pub timeout_flag: &'static str,
}

/// 64, not crane's 4 or a browser's 6: listing is one request per image, so the bound
/// sets how wall time grows with images (bench/container-list.sh: 40 images behind a
/// 20 ms delay take 5.5x the delay at 32 and 2.5x at 64), and 64 connections are
/// nothing to zot or distribution.
pub const DEFAULT_CONCURRENCY: usize = 64;

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(10),
            retries: 3,
            concurrency: DEFAULT_CONCURRENCY,
            insecure: false,
            debug: false,
            timeout_flag: "--timeout",
        }
    }
}

/// The shared client: cheap to clone, one connection pool per scheme.
#[derive(Clone, Debug)]
pub struct Client {
    /// For http:// URLs: built with an empty trust store, so no CA bundle is read.
    plain: reqwest::Client,
    /// For https:// URLs: built, with the platform's roots, on first use.
    secure: Arc<OnceLock<Result<reqwest::Client, String>>>,
    permits: Arc<Semaphore>,
    timeout: Duration,
    retries: u32,
    insecure: bool,
    debug: bool,
    timeout_flag: &'static str,
    /// The first backoff; later ones double. Tests shorten it.
    base_delay: Duration,
}

/// Whether a request's body is read whole (one deadline) or streamed (per-read bounds).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Whole,
    PerRead,
}

impl Client {
    pub fn new(config: &HttpConfig) -> Result<Self> {
        let plain = builder(config)
            .tls_certs_only([])
            .build()
            .map_err(|e| Error::usage(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            plain,
            secure: Arc::new(OnceLock::new()),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            timeout: config.timeout,
            retries: config.retries,
            insecure: config.insecure,
            debug: config.debug,
            timeout_flag: config.timeout_flag,
            base_delay: Duration::from_millis(500),
        })
    }

    /// Shortens the first retry delay; for tests that exercise retries.
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The deadline each request gets.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// A request builder; finish it with [`Client::send`] or [`Client::send_streaming`].
    /// The builder only carries method, URL, headers and body: which pool sends it is
    /// decided by the URL's scheme at send time.
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.plain.request(method, url)
    }

    /// Parses a URL and applies the plain-HTTP rule to it.
    pub fn parse_url(&self, url: &str) -> Result<Url> {
        let parsed = Url::parse(url).map_err(|e| {
            Error::usage(format!("bad URL '{}': {e}", redact_str(url)))
                .hint("give a full URL such as https://host.example or host:port")
        })?;
        self.check_url(&parsed)?;
        Ok(parsed)
    }

    /// Refuses plain http:// to anything but loopback unless `--insecure` was given.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.insecure || is_loopback(url) => Ok(()),
            "http" => Err(Error::usage(format!(
                "refusing plain http:// to {}: credentials and content would travel unencrypted",
                url.host_str().unwrap_or("?")
            ))
            .hint("use https://, or pass --insecure if this network is trusted")),
            other => Err(Error::usage(format!(
                "unsupported URL scheme '{other}' in {}",
                redact(url)
            ))),
        }
    }

    /// Sends a request whose answer is read whole (JSON, a manifest), retrying what is
    /// safe to retry, and returns the final response whatever its status; callers map
    /// statuses with [`status_error`] and their own wording. The exchange, body
    /// included, must finish within the timeout.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Result<Response> {
        self.send_with(builder, Deadline::Whole).await
    }

    /// [`Client::send`] for a body read as it arrives (a job log that may be hundreds
    /// of megabytes, or a follow that waits on the server): each connect and read is
    /// bounded by the timeout, the whole is not.
    pub async fn send_streaming(&self, builder: reqwest::RequestBuilder) -> Result<Response> {
        self.send_with(builder, Deadline::PerRead).await
    }

    async fn send_with(
        &self,
        builder: reqwest::RequestBuilder,
        deadline: Deadline,
    ) -> Result<Response> {
        let request = builder
            .build()
            .map_err(|e| Error::usage(format!("cannot build request: {e}")))?;
        self.check_url(request.url())?;
        let pool = self.pool(request.url())?;
        let idempotent = matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 0;
        loop {
            // The time the tries themselves have used; waits between them are budgeted
            // separately, so a Retry-After the server asked for does not eat the deadline.
            let remaining = self.timeout.saturating_sub(started.elapsed() - waited);
            let last_try = !idempotent || attempt >= self.retries;
            let mut this_try = match (last_try, request.try_clone()) {
                (false, Some(copy)) => copy,
                _ => {
                    let mut request = request;
                    limit(&mut request, deadline, remaining);
                    return self
                        .send_once(&pool, request)
                        .await
                        .map_err(|failure| failure.into_error(self.timeout, self.timeout_flag));
                }
            };
            limit(&mut this_try, deadline, remaining);
            attempt += 1;
            let wait = match self.send_once(&pool, this_try).await {
                Ok(response) if retryable_status(response.status()) => {
                    match retry_after(&response) {
                        Some(asked) => {
                            self.wait_asked(&request, &response, asked, waited)?;
                            asked
                        }
                        None => backoff(self.base_delay, attempt),
                    }
                }
                Ok(response) => return Ok(response),
                Err(failure)
                    if failure.retryable() && started.elapsed() - waited < self.timeout =>
                {
                    let wait = backoff(self.base_delay, attempt);
                    self.log_retry(&request, &failure.describe(), wait);
                    wait
                }
                Err(failure) => return Err(failure.into_error(self.timeout, self.timeout_flag)),
            };
            let wait = wait.min(RETRY_WAIT_BUDGET.saturating_sub(waited));
            if wait.is_zero() && waited >= RETRY_WAIT_BUDGET {
                return Err(Error::remote(format!(
                    "{}: still failing after waiting {} s between tries",
                    host_of(request.url()),
                    RETRY_WAIT_BUDGET.as_secs()
                ))
                .hint("the server is overloaded or down; try again later"));
            }
            tokio::time::sleep(wait).await;
            waited += wait;
        }
    }

    /// A server asked, with `Retry-After`, to wait: say so on stderr, or refuse when it
    /// asks for more than the budget has left.
    fn wait_asked(
        &self,
        request: &Request,
        response: &Response,
        asked: Duration,
        waited: Duration,
    ) -> Result<()> {
        let status = response.status();
        let host = host_of(request.url());
        let left = RETRY_WAIT_BUDGET.saturating_sub(waited);
        if asked > left {
            return Err(Error::remote(format!(
                "{host} answered {status} and asks to retry after {} s, longer than the {} s this tool waits in all",
                asked.as_secs(),
                RETRY_WAIT_BUDGET.as_secs()
            ))
            .hint("the server is rate-limiting or in maintenance; try again later"));
        }
        stderr_line(format_args!(
            "note: {host} answered {status}; waiting {} s as its Retry-After asks",
            asked.as_secs()
        ));
        Ok(())
    }

    /// The pool for a URL's scheme; the https one is built on first use.
    fn pool(&self, url: &Url) -> Result<reqwest::Client> {
        if url.scheme() != "https" {
            return Ok(self.plain.clone());
        }
        let config = HttpConfig {
            timeout: self.timeout,
            retries: self.retries,
            concurrency: 1,
            insecure: self.insecure,
            debug: self.debug,
            timeout_flag: self.timeout_flag,
        };
        self.secure
            .get_or_init(|| builder(&config).build().map_err(|e| e.to_string()))
            .clone()
            .map_err(|e| Error::remote(format!("cannot set up TLS: {e}")))
    }

    async fn send_once(
        &self,
        pool: &reqwest::Client,
        request: Request,
    ) -> Result<Response, SendFailure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendFailure::Closed)?;
        let method = request.method().clone();
        let url = request.url().clone();
        let started = Instant::now();
        let result = pool.execute(request).await;
        if self.debug {
            let outcome = match &result {
                Ok(response) => response.status().as_u16().to_string(),
                Err(err) => describe_reqwest(err),
            };
            stderr_line(format_args!(
                "debug: {method} {} -> {outcome} ({} ms)",
                redact(&url),
                started.elapsed().as_millis()
            ));
        }
        result.map_err(|source| SendFailure::Transport { url, source })
    }

    fn log_retry(&self, request: &Request, why: &str, wait: Duration) {
        if self.debug {
            stderr_line(format_args!(
                "debug: retrying {} {} after {why} in {} ms",
                request.method(),
                redact(request.url()),
                wait.as_millis()
            ));
        }
    }
}

/// The reqwest settings both pools share.
fn builder(config: &HttpConfig) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .connect_timeout(config.timeout)
        .read_timeout(config.timeout)
        .user_agent(concat!("opskit/", env!("CARGO_PKG_VERSION")))
}

/// Gives a try the rest of the request's deadline (reqwest's request timeout runs until
/// the body is read); a stream keeps only the per-read timeout.
fn limit(request: &mut Request, deadline: Deadline, remaining: Duration) {
    if deadline == Deadline::Whole {
        *request.timeout_mut() = Some(remaining.max(Duration::from_millis(1)));
    }
}

/// The most of an answer's body held in memory: far more than any answer these APIs
/// give, and a bound on what a broken server, or something else at its address, can
/// make a tool hold (the deadline bounds time, not bytes).
pub const MAX_BODY: usize = 64 << 20;

/// The most of an error answer's body read: plenty for a message worth showing.
const MAX_ERROR_BODY: usize = 64 << 10;

/// Reads a whole answer's body, at most [`MAX_BODY`], with one wording for a body that
/// timed out or was cut off whichever client asked. `what` names the thing being read.
pub async fn read_body(mut response: Response, what: &str) -> Result<Bytes> {
    let failed = |e: reqwest::Error| {
        let err = Error::remote(format!("{what}: {}", describe_reqwest(&e)));
        if e.is_timeout() {
            err.hint("the server did not finish its answer in time; raise --timeout or check the server's health")
        } else {
            err.hint(
                "the connection was closed mid-answer; try again, or check the server's health",
            )
        }
    };
    let too_large = || {
        Error::remote(format!(
            "{what}: the answer is larger than {} MiB",
            MAX_BODY >> 20
        ))
        .hint("check that the URL names the right server: no API here answers that much")
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_BODY as u64)
    {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(failed)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A whole answer's body ([`read_body`]) parsed as JSON; `sender` ("the forge") and
/// `check` (what to look at, naming the flag) word the error for JSON of another shape.
pub async fn read_json<T: serde::de::DeserializeOwned>(
    response: Response,
    what: &str,
    sender: &str,
    check: &str,
) -> Result<T> {
    let bytes = read_body(response, what).await?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::remote(format!(
            "{what}: {sender} sent JSON this tool cannot read ({e})"
        ))
        .hint(check)
    })
}

/// The start of an error answer's body, at most [`MAX_ERROR_BODY`] bytes (a failing
/// server's page can be anything); a body that cannot be read is as good as empty.
pub async fn error_body(mut response: Response) -> Bytes {
    let mut body = bytes::BytesMut::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ERROR_BODY - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == MAX_ERROR_BODY {
            break;
        }
    }
    body.freeze()
}

/// The one line an API's error body says, for messages: a JSON body's `message`, else
/// its `error` (Forgejo and Argo CD both answer so), else the text. `scrub` removes
/// secrets before the line is cut to 200 characters: cut first, a secret across the
/// cut would no longer match and half of it would show.
pub fn said_line(body: &[u8], scrub: impl Fn(&str) -> String) -> String {
    #[derive(serde::Deserialize)]
    struct Said {
        #[serde(default)]
        message: String,
        #[serde(default)]
        error: String,
    }
    let text = match serde_json::from_slice::<Said>(body) {
        Ok(said) if !said.message.is_empty() => said.message,
        Ok(said) => said.error,
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    let line = text.lines().next().unwrap_or_default().trim();
    scrub(line).chars().take(200).collect()
}

/// `host:port` of a URL, for messages.
fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => redact(url),
    }
}

enum SendFailure {
    Closed,
    Transport { url: Url, source: reqwest::Error },
}

impl SendFailure {
    fn retryable(&self) -> bool {
        match self {
            SendFailure::Closed => false,
            SendFailure::Transport { source, .. } => {
                source.is_timeout() || source.is_connect() || source.is_request()
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            SendFailure::Closed => "client shut down".to_owned(),
            SendFailure::Transport { source, .. } => describe_reqwest(source),
        }
    }

    fn into_error(self, timeout: Duration, flag: &str) -> Error {
        match self {
            SendFailure::Closed => Error::remote("the HTTP client was shut down"),
            SendFailure::Transport { url, source } if source.is_timeout() => {
                Error::remote(format!(
                    "{}: no complete answer within {} ({flag})",
                    host_of(&url),
                    seconds(timeout)
                ))
                .hint(format!(
                    "the server did not answer in time; raise {flag} or check the server's health"
                ))
            }
            SendFailure::Transport { url, source } => transport_error(&url, &source),
        }
    }
}

/// The one-line error for a request that got no HTTP answer.
pub fn transport_error(url: &Url, source: &reqwest::Error) -> Error {
    let what = describe_reqwest(source);
    let hint = if source.is_timeout() {
        "the server did not answer in time; raise --timeout or check the server's health"
    } else {
        "check the URL and that the server is up and reachable from here"
    };
    Error::remote(format!("cannot reach {}: {what}", host_of(url))).hint(hint)
}

/// `10 s`, `0.5 s`: a duration as a person reads it in a message.
fn seconds(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// A short cause for a transport error, without the URL (which may carry secrets).
fn describe_reqwest(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return "timed out".to_owned();
    }
    // The innermost cause says what happened ("Connection refused", "dns error ...").
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    // "Connection refused (os error 111)": the errno adds nothing for the reader.
    let text = match text.rsplit_once(" (os error ") {
        Some((what, _)) => what.to_lowercase(),
        None => text,
    };
    if err.is_connect() && !text.is_empty() {
        format!("connection failed: {text}")
    } else if err.is_body() || err.is_decode() {
        // reqwest reports a connection closed mid-body as a decode error, so the two
        // cannot be told apart here; the cause in brackets can.
        format!("the answer was cut off or garbled ({text})")
    } else {
        text
    }
}

fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// `Retry-After` in seconds (the HTTP-date form is rare from registries and forges and
/// falls back to the computed backoff). Not capped here: [`RETRY_WAIT_BUDGET`] decides.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// Exponential backoff with ±25 % jitter, so many clients do not retry in step.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let jitter = rand::random_range(0.75..1.25);
    exp.mul_f64(jitter)
}

/// Whether the URL's host is loopback (`localhost`, 127.0.0.0/8, `::1`), where plain
/// http cannot be sniffed.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Query parameters that carry secrets in the forge APIs.
const SECRET_PARAMS: &[&str] = &["token", "access_token", "password", "secret"];

/// A URL fit for messages and logs: no userinfo, secret query values replaced.
pub fn redact(url: &Url) -> String {
    let mut clean = url.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    if clean.query().is_some() {
        let pairs: Vec<(String, String)> = clean
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
                (
                    k.into_owned(),
                    if secret { "***".into() } else { v.into_owned() },
                )
            })
            .collect();
        clean.query_pairs_mut().clear().extend_pairs(pairs);
    }
    clean.to_string()
}

/// [`redact`] for text that may not even parse as a URL.
/// Text without `://` is not parsed as a URL: `user:pw@host:5000` would parse as the
/// scheme `user` with an opaque path, and the password would survive.
pub fn redact_str(url: &str) -> String {
    if url.contains("://")
        && let Ok(parsed) = Url::parse(url)
    {
        return redact(&parsed);
    }
    match url.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => url.to_owned(),
    }
}

/// The one mapping from an unsuccessful HTTP status to the suite's error, for every
/// client: 401/403 refused (exit 3), 404/410 not found (exit 4), 408/429/5xx a server
/// that kept failing after retries (exit 3), any other status refused (exit 3).
///
/// `what` names what was asked ("registry.example: tags of app"); `said` is what the
/// server said about it, already scrubbed of secrets, or empty. Clients that know more
/// (a registry's `/v2/` answering 404 is not a registry) refine the answer before
/// falling back here, and add hints naming their own flags.
pub fn status_error(status: StatusCode, what: &str, said: &str) -> Error {
    let code = status.as_u16();
    let said = if said.is_empty() {
        String::new()
    } else {
        format!(": {said}")
    };
    match status {
        StatusCode::UNAUTHORIZED => Error::remote(format!(
            "{what}: authentication required or credentials rejected (401{said})"
        )),
        StatusCode::FORBIDDEN => Error::remote(format!("{what}: access denied (403{said})")),
        StatusCode::NOT_FOUND | StatusCode::GONE => {
            Error::not_found(format!("{what}: not found ({code}{said})"))
        }
        status if retryable_status(status) => Error::remote(format!(
            "{what}: the server kept failing ({code} {}{said})",
            status.canonical_reason().unwrap_or("error")
        ))
        .hint("try again later, or check the server's health"),
        status => Error::remote(format!(
            "{what}: the server refused the request ({code} {}{said})",
            status.canonical_reason().unwrap_or("error")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(insecure: bool) -> Client {
        Client::new(&HttpConfig {
            insecure,
            ..HttpConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback_or_when_insecure() {
        let c = client(false);
        assert!(c.parse_url("http://127.0.0.1:5000/v2/").is_ok());
        assert!(c.parse_url("http://[::1]:5000/v2/").is_ok());
        assert!(c.parse_url("http://localhost:5000/v2/").is_ok());
        let err = c.parse_url("http://registry.example/v2/").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            client(true)
                .parse_url("http://registry.example/v2/")
                .is_ok()
        );
        assert!(c.parse_url("https://registry.example/v2/").is_ok());
    }

    #[test]
    fn said_line_scrubs_a_secret_before_cutting_the_line() {
        // The token spans the 200th character: cut first, its head would show.
        let body = format!(
            r#"{{"message":"{}tok-0123456789 rejected\nsecond line"}}"#,
            "x".repeat(195)
        );
        let line = said_line(body.as_bytes(), |l| l.replace("tok-0123456789", "***"));
        assert_eq!(line, format!("{}*** r", "x".repeat(195)));
        assert!(!line.contains("tok-"), "{line}");
        // Argo CD's `error`, and a body that is not JSON.
        assert_eq!(
            said_line(br#"{"error":"app not found","code":5}"#, str::to_owned),
            "app not found"
        );
        assert_eq!(
            said_line(b"<html>502 Bad Gateway</html>\n", str::to_owned),
            "<html>502 Bad Gateway</html>"
        );
    }

    #[test]
    fn redact_removes_userinfo_and_token_parameters() {
        let url = Url::parse("https://bob:hunter2@forge.example/api?token=abc&page=2").unwrap();
        let text = redact(&url);
        assert!(!text.contains("hunter2") && !text.contains("bob") && !text.contains("abc"));
        assert!(text.contains("page=2"), "{text}");
    }

    #[test]
    fn redact_str_hides_userinfo_even_when_unparseable() {
        assert_eq!(redact_str("bob:pw@host:5000"), "***@host:5000");
    }

    #[test]
    fn backoff_grows_and_stays_within_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let d = backoff(base, attempt);
            let nominal = 100.0 * f64::from(1u32 << (attempt - 1));
            let ms = d.as_secs_f64() * 1000.0;
            assert!(
                ms >= nominal * 0.75 && ms <= nominal * 1.25,
                "{attempt}: {ms}"
            );
        }
    }

    #[test]
    fn only_408_429_and_5xx_are_retried() {
        assert!(retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(retryable_status(StatusCode::REQUEST_TIMEOUT));
        assert!(retryable_status(StatusCode::BAD_GATEWAY));
        assert!(!retryable_status(StatusCode::NOT_FOUND));
        assert!(!retryable_status(StatusCode::UNAUTHORIZED));
    }

    /// A local server whose answers are scripted: each request takes the next status
    /// (the last one repeats), and the server counts requests and the most in flight.
    mod scripted {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        use axum::http::{HeaderValue, StatusCode};
        use axum::response::{IntoResponse, Response};

        #[derive(Default)]
        pub struct Counters {
            pub hits: AtomicUsize,
            in_flight: AtomicUsize,
            pub max_in_flight: AtomicUsize,
        }

        /// Starts the server; returns its base URL and counters.
        pub async fn serve(
            statuses: Vec<(u16, Option<&'static str>)>,
            hold: std::time::Duration,
        ) -> (String, Arc<Counters>) {
            let counters = Arc::new(Counters::default());
            let state = Arc::clone(&counters);
            let app = axum::Router::new().fallback(move || {
                let state = Arc::clone(&state);
                let statuses = statuses.clone();
                async move {
                    let n = state.hits.fetch_add(1, Ordering::SeqCst);
                    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    state.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    state.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let (code, retry_after) = statuses[n.min(statuses.len() - 1)];
                    let mut response: Response =
                        (StatusCode::from_u16(code).unwrap(), "body").into_response();
                    if let Some(secs) = retry_after {
                        response
                            .headers_mut()
                            .insert("retry-after", HeaderValue::from_static(secs));
                    }
                    response
                }
            });
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/", listener.local_addr().unwrap());
            tokio::spawn(async move { axum::serve(listener, app).await });
            (url, counters)
        }
    }

    fn fast_client(retries: u32, concurrency: usize) -> Client {
        Client::new(&HttpConfig {
            retries,
            concurrency,
            ..HttpConfig::default()
        })
        .unwrap()
        .with_base_delay(Duration::from_millis(10))
    }

    #[tokio::test]
    async fn a_refused_connection_is_one_plain_line_with_exit_3() {
        // Bind and drop a listener: its port is then closed on this machine.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&HttpConfig {
            retries: 0,
            ..HttpConfig::default()
        })
        .unwrap();
        let url = client
            .parse_url(&format!("http://127.0.0.1:{port}/v2/"))
            .unwrap();
        let err = client
            .send(client.request(Method::GET, url))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert_eq!(
            err.message(),
            format!("cannot reach 127.0.0.1:{port}: connection failed: connection refused")
        );
    }

    #[tokio::test]
    async fn a_429_waits_for_retry_after_and_then_succeeds() {
        use std::sync::atomic::Ordering;
        let (url, counters) =
            scripted::serve(vec![(429, Some("1")), (200, None)], Duration::ZERO).await;
        let client = fast_client(3, 4);
        let started = Instant::now();
        let response = client
            .send(client.request(Method::GET, client.parse_url(&url).unwrap()))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(counters.hits.load(Ordering::SeqCst), 2);
        assert!(started.elapsed() >= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_500_is_retried_until_success_but_a_post_is_sent_once() {
        use std::sync::atomic::Ordering;
        let (url, counters) =
            scripted::serve(vec![(500, None), (502, None), (200, None)], Duration::ZERO).await;
        let client = fast_client(3, 4);
        let target = client.parse_url(&url).unwrap();
        let get = client
            .send(client.request(Method::GET, target.clone()))
            .await
            .unwrap();
        assert_eq!(get.status(), StatusCode::OK);
        assert_eq!(counters.hits.load(Ordering::SeqCst), 3);

        let (url, counters) = scripted::serve(vec![(503, None)], Duration::ZERO).await;
        let target = client.parse_url(&url).unwrap();
        let post = client
            .send(client.request(Method::POST, target))
            .await
            .unwrap();
        assert_eq!(post.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(counters.hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn retries_stop_after_the_configured_number_and_return_the_last_answer() {
        use std::sync::atomic::Ordering;
        let (url, counters) = scripted::serve(vec![(503, None)], Duration::ZERO).await;
        let client = fast_client(2, 4);
        let target = client.parse_url(&url).unwrap();
        let response = client
            .send(client.request(Method::GET, target))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(counters.hits.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn no_more_than_concurrency_requests_are_in_flight() {
        use std::sync::atomic::Ordering;
        let (url, counters) = scripted::serve(vec![(200, None)], Duration::from_millis(50)).await;
        let client = fast_client(0, 3);
        let target = client.parse_url(&url).unwrap();
        let requests = (0..9).map(|_| client.send(client.request(Method::GET, target.clone())));
        for response in futures::future::join_all(requests).await {
            assert_eq!(response.unwrap().status(), StatusCode::OK);
        }
        assert_eq!(counters.hits.load(Ordering::SeqCst), 9);
        assert_eq!(counters.max_in_flight.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn json_of_another_shape_names_its_sender_and_what_to_check() {
        let url = dripping_server(
            "HTTP/1.1 200 OK\r\ncontent-length: 16\r\n\r\n",
            b"<html>hi</html>\n",
            Duration::ZERO,
        )
        .await;
        let client = timeout_client(Duration::from_secs(5));
        let target = client.parse_url(&url).unwrap();
        let response = client
            .send(client.request(Method::GET, target))
            .await
            .unwrap();
        let err = read_json::<serde_json::Value>(
            response,
            "the version",
            "the forge",
            "check --forge-url",
        )
        .await
        .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .starts_with("the version: the forge sent JSON this tool cannot read ("),
            "{}",
            err.message()
        );
        assert_eq!(err.hints(), ["check --forge-url"]);
    }

    #[tokio::test]
    async fn a_body_larger_than_max_body_is_refused_not_held() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let n = socket.read(&mut request).await.unwrap_or(0);
                    if request[..n].starts_with(b"GET /claims ") {
                        // Says what it would send: refused before a byte is read.
                        let _ = socket
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000000000\r\n\r\n{}")
                            .await;
                        return;
                    }
                    // Says nothing and sends without end, a MiB a chunk.
                    let _ = socket
                        .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
                        .await;
                    let chunk = vec![b' '; 1 << 20];
                    loop {
                        let sent = async {
                            socket.write_all(b"100000\r\n").await?;
                            socket.write_all(&chunk).await?;
                            socket.write_all(b"\r\n").await
                        };
                        if sent.await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        let client = timeout_client(Duration::from_secs(20));
        for path in ["/claims", "/streams"] {
            let url = client.parse_url(&format!("{base}{path}")).unwrap();
            let response = client.send(client.request(Method::GET, url)).await.unwrap();
            let err = read_body(response, "the answer").await.unwrap_err();
            assert_eq!(err.exit_code(), 3, "{path}");
            assert_eq!(
                err.message(),
                "the answer: the answer is larger than 64 MiB",
                "{path}"
            );
        }
        // An error body is read only as far as a message can use.
        let url = client.parse_url(&format!("{base}/streams")).unwrap();
        let response = client.send(client.request(Method::GET, url)).await.unwrap();
        assert_eq!(error_body(response).await.len(), MAX_ERROR_BODY);
    }

    /// A raw server that answers every connection with `head` and then sends `body` one
    /// byte per `gap`, or that never answers when `head` is empty. Returns its URL.
    async fn dripping_server(head: &'static str, body: &'static [u8], gap: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    if head.is_empty() {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let _ = socket.write_all(head.as_bytes()).await;
                    for byte in body {
                        tokio::time::sleep(gap).await;
                        if socket.write_all(&[*byte]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        url
    }

    fn timeout_client(timeout: Duration) -> Client {
        Client::new(&HttpConfig {
            timeout,
            ..HttpConfig::default()
        })
        .unwrap()
        .with_base_delay(Duration::from_millis(10))
    }

    #[tokio::test]
    async fn a_server_that_drips_its_body_ends_within_the_timeout() {
        // Each byte arrives well within the read timeout, so only a deadline on the
        // whole exchange can end this; without one it would take 64 x 100 ms.
        let url = dripping_server(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n",
            &[b' '; 64],
            Duration::from_millis(100),
        )
        .await;
        let client = timeout_client(Duration::from_millis(800));
        let started = Instant::now();
        let response = client
            .send(client.request(Method::GET, client.parse_url(&url).unwrap()))
            .await
            .unwrap();
        let err = read_body(response, "the run list").await.unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message().starts_with("the run list: timed out"),
            "{}",
            err.message()
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_ends_after_one_timeout_not_one_per_retry() {
        let url = dripping_server("", b"", Duration::ZERO).await;
        let client = timeout_client(Duration::from_millis(500));
        let started = Instant::now();
        let err = client
            .send(client.request(Method::GET, client.parse_url(&url).unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .ends_with("no complete answer within 0.5 s (--timeout)"),
            "{}",
            err.message()
        );
        // Three retries of 0.5 s each would take 2 s and more.
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_wait_budget_fails_at_once_saying_why() {
        use std::sync::atomic::Ordering;
        let (url, counters) = scripted::serve(vec![(429, Some("3600"))], Duration::ZERO).await;
        let client = fast_client(3, 4);
        let started = Instant::now();
        let err = client
            .send(client.request(Method::GET, client.parse_url(&url).unwrap()))
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(
            err.message()
                .contains("asks to retry after 3600 s, longer than the 30 s"),
            "{}",
            err.message()
        );
        assert_eq!(counters.hits.load(Ordering::SeqCst), 1);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn plain_http_never_loads_the_tls_roots() {
        let (url, _) = scripted::serve(vec![(200, None)], Duration::ZERO).await;
        let client = fast_client(0, 4);
        client
            .send(client.request(Method::GET, client.parse_url(&url).unwrap()))
            .await
            .unwrap();
        assert!(client.secure.get().is_none());
        client
            .pool(&Url::parse("https://registry.example/").unwrap())
            .unwrap();
        assert!(client.secure.get().is_some());
    }

    #[test]
    fn one_status_mapping_gives_each_status_its_exit_code() {
        let cases = [
            (
                401,
                3,
                "x: authentication required or credentials rejected (401)",
            ),
            (403, 3, "x: access denied (403: no)"),
            (404, 4, "x: not found (404: no)"),
            (
                429,
                3,
                "x: the server kept failing (429 Too Many Requests: no)",
            ),
            (
                503,
                3,
                "x: the server kept failing (503 Service Unavailable: no)",
            ),
            (
                400,
                3,
                "x: the server refused the request (400 Bad Request: no)",
            ),
        ];
        for (code, exit, message) in cases {
            let said = if code == 401 { "" } else { "no" };
            let err = status_error(StatusCode::from_u16(code).unwrap(), "x", said);
            assert_eq!((err.exit_code(), err.message()), (exit, message));
        }
    }
}
