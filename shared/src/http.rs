//! The one HTTP client every tool uses.
//!
//! Why one: timeouts, retries, the concurrency bound, the plain-HTTP rule and secret
//! redaction must behave the same for the registry, the forge and Argo CD, and a fix to
//! one must reach all. What it guarantees:
//!
//! - connect and read timeouts, so a stalled server ends in exit 3, not a hang;
//! - retries with exponential backoff and jitter on 408, 429 (honouring `Retry-After`)
//!   and 5xx, and on connection errors, for idempotent methods only (GET, HEAD, PUT,
//!   DELETE); a POST is sent once;
//! - at most `--concurrency` requests in flight (a semaphore), however many futures wait;
//! - plain `http://` only for loopback hosts or with `--insecure`;
//! - `--debug` logs method, redacted URL, status and duration to stderr; credentials
//!   are never logged, because only the URL (stripped of userinfo and token query
//!   parameters) is ever formatted.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, Request, Response, StatusCode, Url};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// Network flags shared by the tools that talk HTTP.
#[derive(Clone, Debug, clap::Args)]
pub struct HttpArgs {
    /// Seconds to wait for a connection, and for each read, before giving up.
    #[arg(
        long,
        env = "OPSKIT_TIMEOUT",
        default_value_t = 10.0,
        value_name = "SECS"
    )]
    pub timeout: f64,

    /// How many times to retry a request that failed with 408, 429, 5xx or a network error.
    #[arg(long, env = "OPSKIT_RETRIES", default_value_t = 3, value_name = "N")]
    pub retries: u32,

    /// How many requests may be in flight at once.
    // 16, not crane's 4 or a browser's 6: listing is one request per image, so the bound
    // sets how wall time grows with images (bench/container-list.sh: 40 images behind a
    // 20 ms delay take 8.3x the delay at 8, 5.5x at 32), and 16 connections are nothing
    // to zot or distribution.
    #[arg(long, env = "OPSKIT_CONCURRENCY", default_value_t = 16, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Allow plain http:// to hosts that are not loopback.
    #[arg(long, env = "OPSKIT_INSECURE")]
    pub insecure: bool,

    /// Log each request (method, URL without credentials, status, time) to stderr.
    #[arg(long, env = "OPSKIT_DEBUG")]
    pub debug: bool,
}

impl Default for HttpArgs {
    fn default() -> Self {
        HttpArgs {
            timeout: 10.0,
            retries: 3,
            concurrency: 16,
            insecure: false,
            debug: false,
        }
    }
}

/// The shared client: cheap to clone, one connection pool.
#[derive(Clone, Debug)]
pub struct Client {
    inner: reqwest::Client,
    permits: Arc<Semaphore>,
    retries: u32,
    insecure: bool,
    debug: bool,
    /// The first backoff; later ones double. Tests shorten it.
    base_delay: Duration,
}

impl Client {
    pub fn new(args: &HttpArgs) -> Result<Self> {
        let timeout = Duration::from_secs_f64(args.timeout.max(0.001));
        let inner = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(timeout)
            .user_agent(concat!("opskit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::usage(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Client {
            inner,
            permits: Arc::new(Semaphore::new(args.concurrency.max(1) as usize)),
            retries: args.retries,
            insecure: args.insecure,
            debug: args.debug,
            base_delay: Duration::from_millis(500),
        })
    }

    /// Shortens the first retry delay; for tests that exercise retries.
    #[must_use]
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// A request builder on the shared pool; finish it with [`Client::send`].
    pub fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        self.inner.request(method, url)
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

    /// Sends a request, retrying what is safe to retry, and returns the final response
    /// whatever its status; callers map statuses to errors with their own wording.
    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Result<Response> {
        let request = builder
            .build()
            .map_err(|e| Error::usage(format!("cannot build request: {e}")))?;
        self.check_url(request.url())?;
        let idempotent = matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
        );
        let mut attempt = 0;
        loop {
            let retry_copy = if idempotent && attempt < self.retries {
                request.try_clone()
            } else {
                None
            };
            let this_try = match retry_copy {
                Some(copy) => copy,
                None => {
                    return self
                        .send_once(request)
                        .await
                        .map_err(SendFailure::into_error);
                }
            };
            attempt += 1;
            match self.send_once(this_try).await {
                Ok(response) if retryable_status(response.status()) => {
                    let wait =
                        retry_after(&response).unwrap_or_else(|| backoff(self.base_delay, attempt));
                    self.log_retry(&request, &response.status().to_string(), wait);
                    tokio::time::sleep(wait).await;
                }
                Ok(response) => return Ok(response),
                Err(failure) if failure.retryable() => {
                    let wait = backoff(self.base_delay, attempt);
                    self.log_retry(&request, &failure.describe(), wait);
                    tokio::time::sleep(wait).await;
                }
                Err(failure) => return Err(failure.into_error()),
            }
        }
    }

    async fn send_once(&self, request: Request) -> Result<Response, SendFailure> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| SendFailure::Closed)?;
        let method = request.method().clone();
        let url = request.url().clone();
        let started = Instant::now();
        let result = self.inner.execute(request).await;
        if self.debug {
            let outcome = match &result {
                Ok(response) => response.status().as_u16().to_string(),
                Err(err) => describe_reqwest(err),
            };
            eprintln!(
                "debug: {method} {} -> {outcome} ({} ms)",
                redact(&url),
                started.elapsed().as_millis()
            );
        }
        result.map_err(|source| SendFailure::Transport { url, source })
    }

    fn log_retry(&self, request: &Request, why: &str, wait: Duration) {
        if self.debug {
            eprintln!(
                "debug: retrying {} {} after {why} in {} ms",
                request.method(),
                redact(request.url()),
                wait.as_millis()
            );
        }
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

    fn into_error(self) -> Error {
        match self {
            SendFailure::Closed => Error::remote("the HTTP client was shut down"),
            SendFailure::Transport { url, source } => transport_error(&url, &source),
        }
    }
}

/// The one-line error for a request that got no HTTP answer.
pub fn transport_error(url: &Url, source: &reqwest::Error) -> Error {
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        _ => redact(url),
    };
    let what = describe_reqwest(source);
    let hint = if source.is_timeout() {
        "the server did not answer in time; raise --timeout or check the server's health"
    } else {
        "check the URL and that the server is up and reachable from here"
    };
    Error::remote(format!("cannot reach {host}: {what}")).hint(hint)
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
        format!("the response was cut off or malformed ({text})")
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
/// falls back to the computed backoff). Capped so a hostile value cannot hang a hook.
fn retry_after(response: &Response) -> Option<Duration> {
    let seconds: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds.min(60)))
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

/// Maps a status that means "you may not" to the suite's error, naming what to fix.
pub fn auth_error(status: StatusCode, what: &str, hint: &str) -> Error {
    let reason = if status == StatusCode::UNAUTHORIZED {
        "authentication required or credentials rejected (401)"
    } else {
        "access denied (403)"
    };
    Error::remote(format!("{what}: {reason}")).hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(insecure: bool) -> Client {
        Client::new(&HttpArgs {
            insecure,
            ..HttpArgs::default()
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

    fn fast_client(retries: u32, concurrency: u32) -> Client {
        Client::new(&HttpArgs {
            retries,
            concurrency,
            ..HttpArgs::default()
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
        let client = Client::new(&HttpArgs {
            retries: 0,
            ..HttpArgs::default()
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
}
