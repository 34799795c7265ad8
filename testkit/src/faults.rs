//! A proxy in front of a real registry (or the Forgejo test server) that adds what a
//! healthy server never does: delay, 429 with `Retry-After`, 5xx, a stalled answer, a
//! body cut off mid-stream, the Bearer token flow, and zot's tag pagination.
//!
//! Content always comes from the real registry behind it; only the faults are made up,
//! and they follow the distribution spec and zot (apis.md §3): OCI error bodies
//! `{"errors":[{code,message}]}`, `WWW-Authenticate: Bearer realm,service,scope`, a
//! token endpoint answering `{"token","expires_in"}`, and zot's `ListTags` paging
//! (sorted, `last` exclusive, an unknown `last` → 404 with an empty body,
//! `Link: </v2/<name>/tags/list?n=N&last=T>; rel="next"` only while more remain).
//! The benchmark's delaying proxy is this proxy with only a delay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

/// What the proxy does to requests.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    /// Added before every answer (the benchmark's "network").
    pub delay: Duration,
    /// Faults, applied to the first `times` requests whose path contains `path_contains`.
    pub rules: Vec<Rule>,
    /// Require Bearer tokens from the proxy's own `/token` endpoint.
    pub bearer: Option<Bearer>,
    /// Page `tags/list` as zot does, with relative or absolute `Link`s.
    pub paginate_tags: Option<LinkStyle>,
}

impl Plan {
    /// The first `times` requests whose path contains `path` meet `fault`; nothing else
    /// is changed.
    pub fn failing(path: &str, times: usize, fault: Fault) -> Self {
        Plan {
            rules: vec![Rule {
                path_contains: path.to_owned(),
                times,
                fault,
            }],
            ..Plan::default()
        }
    }
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub path_contains: String,
    pub times: usize,
    pub fault: Fault,
}

#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this status and an OCI error body; `Retry-After: <secs>` if given.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Wait this long before answering (longer than the client's timeout).
    Stall(Duration),
    /// Forward, then cut the body off mid-stream: the original `Content-Length` is
    /// sent, then half the bytes, then the connection is closed (hyper aborts it when
    /// the body stream fails), as when a server or proxy dies mid-answer. Any body,
    /// JSON or a job log.
    TruncateJson,
}

/// The token flow: `/token` checks these Basic credentials (if a username is set) and
/// hands out tokens bound to the requested scope.
#[derive(Clone, Debug)]
pub struct Bearer {
    pub username: Option<String>,
    pub password: String,
    pub token: String,
    /// Tokens say `expires_in` this many seconds and are refused once it is up; `None`
    /// says 300 and never refuses one.
    pub lifetime_secs: Option<u64>,
    /// The scope the catalog's challenge names: zot's `repository::pull` where
    /// distribution names `registry:catalog:*`.
    pub catalog_scope: Option<String>,
}

impl Bearer {
    /// Tokens for `username`/`password` (anonymous when `None`), 300 s, distribution's
    /// scopes.
    pub fn new(username: Option<&str>, password: &str, token: &str) -> Self {
        Bearer {
            username: username.map(str::to_owned),
            password: password.to_owned(),
            token: token.to_owned(),
            lifetime_secs: None,
            catalog_scope: None,
        }
    }
}

/// Milliseconds since the proxy's clock began, for token ages.
fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

#[derive(Clone, Copy, Debug)]
pub enum LinkStyle {
    Relative,
    Absolute,
}

struct Shared {
    plan: Plan,
    remaining: Mutex<Vec<usize>>,
    log: Mutex<Vec<String>>,
    upstream: String,
    own_url: String,
    client: reqwest::Client,
}

/// A running proxy; stopped when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, plan: Plan) -> FaultProxy {
        Self::start_on("127.0.0.1:0", upstream, plan)
    }

    /// Starts on `listen` (`host:port`; port 0 for any).
    pub fn start_on(listen: &str, upstream: &str, plan: Plan) -> FaultProxy {
        let listener = std::net::TcpListener::bind(listen).expect("bind the proxy port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let remaining = plan.rules.iter().map(|r| r.times).collect();
        let shared = Arc::new(Shared {
            plan,
            remaining: Mutex::new(remaining),
            log: Mutex::new(Vec::new()),
            upstream: upstream.trim_end_matches('/').to_owned(),
            own_url: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(256)
                .build()
                .expect("proxy HTTP client"),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                // Dropping the server future on stop ends stalled handlers too.
                tokio::select! {
                    _ = axum::serve(listener, app) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        FaultProxy {
            addr,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, as `--registry` takes it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Every request seen, as `METHOD /path?query auth=<none|basic|bearer>`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// Blocks until stopped from outside (the delay-proxy binary).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map_or(path.clone(), |pq| pq.as_str().to_owned());
    let auth = match request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(v) if v.starts_with("Basic ") => "basic",
        Some(v) if v.starts_with("Bearer ") => "bearer",
        _ => "none",
    };
    shared
        .log
        .lock()
        .expect("log lock")
        .push(format!("{method} {path_and_query} auth={auth}"));
    if !shared.plan.delay.is_zero() {
        tokio::time::sleep(shared.plan.delay).await;
    }
    if let Some(bearer) = &shared.plan.bearer {
        if path == "/token" {
            return token_endpoint(bearer, request.headers(), request.uri().query());
        }
        if let Err(challenge) = check_bearer(&shared, bearer, &path, request.headers()) {
            return *challenge;
        }
    }
    let mut truncate = false;
    match take_fault(&shared, &path) {
        Some(Fault::Status {
            status,
            retry_after,
        }) => return fault_status(status, retry_after),
        Some(Fault::Stall(wait)) => tokio::time::sleep(wait).await,
        Some(Fault::TruncateJson) => truncate = true,
        None => {}
    }
    let response = match shared.plan.paginate_tags {
        Some(style) if path.ends_with("/tags/list") && method == axum::http::Method::GET => {
            paginated_tags(&shared, style, &path, request.uri().query()).await
        }
        _ => forward(&shared, request).await,
    };
    if truncate {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        let cut = bytes.slice(..bytes.len() / 2);
        // The half is sent and given time to leave before the error aborts the
        // connection: hyper flushes headers with the first chunk, so an error right
        // behind it would close the connection before the client saw an answer at all.
        let half = futures::stream::once(async move { Ok::<_, std::io::Error>(cut) });
        let abort = futures::stream::once(async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "fault: connection cut mid-body",
            ))
        });
        let mut response = Response::from_parts(parts, Body::from_stream(half.chain(abort)));
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        return response;
    }
    response
}

fn take_fault(shared: &Shared, path: &str) -> Option<Fault> {
    let mut remaining = shared.remaining.lock().expect("rules lock");
    shared
        .plan
        .rules
        .iter()
        .zip(remaining.iter_mut())
        .find(|(rule, left)| **left > 0 && path.contains(&rule.path_contains))
        .map(|(rule, left)| {
            *left -= 1;
            rule.fault.clone()
        })
}

fn fault_status(status: u16, retry_after: Option<u64>) -> Response {
    let code = match status {
        429 => "TOOMANYREQUESTS",
        _ => "UNKNOWN",
    };
    // The OCI error body, with Forgejo's `message` key beside it so a forge client
    // reads the same words (`{"message":…}`, FJ services/context/api.go).
    let body = serde_json::json!({
        "errors": [{"code": code, "message": "injected fault", "detail": {}}],
        "message": "injected fault",
    });
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The scope a request needs, as the registry's token auth names it.
fn scope_for(bearer: &Bearer, path: &str) -> String {
    if path == "/v2/_catalog" {
        return bearer
            .catalog_scope
            .clone()
            .unwrap_or_else(|| "registry:catalog:*".to_owned());
    }
    let rest = path.strip_prefix("/v2/").unwrap_or_default();
    for marker in ["/tags/list", "/manifests/", "/blobs/"] {
        if let Some(index) = rest.find(marker) {
            return format!("repository:{}:pull", &rest[..index]);
        }
    }
    String::new()
}

fn check_bearer(
    shared: &Shared,
    bearer: &Bearer,
    path: &str,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let scope = scope_for(bearer, path);
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Ours: `Bearer <token>.<scope>@<issued ms>`. `/v2/` accepts any live token of
    // ours; everything else a live token for its scope.
    let ours = given
        .strip_prefix(&format!("Bearer {}.", bearer.token))
        .and_then(|rest| rest.rsplit_once('@'))
        .and_then(|(scope, issued)| Some((scope, issued.parse::<u128>().ok()?)));
    let accepted = ours.is_some_and(|(token_scope, issued)| {
        let live = bearer
            .lifetime_secs
            .is_none_or(|secs| now_millis() < issued + u128::from(secs) * 1000);
        live && (scope.is_empty() || token_scope == scope)
    });
    if accepted {
        return Ok(());
    }
    let challenge = format!(
        r#"Bearer realm="{}/token",service="fault-proxy",scope="{scope}""#,
        shared.own_url
    );
    let body =
        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;
    let mut response = (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_str(&challenge).expect("challenge is ASCII"),
    );
    Err(Box::new(response))
}

fn token_endpoint(bearer: &Bearer, headers: &HeaderMap, query: Option<&str>) -> Response {
    if let Some(username) = &bearer.username {
        use base64::Engine;
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", bearer.password))
        );
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if given != Some(expected.as_str()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]}"#,
            )
                .into_response();
        }
    }
    let scope = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "scope")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let body = serde_json::json!({
        "token": format!("{}.{scope}@{}", bearer.token, now_millis()),
        "expires_in": bearer.lifetime_secs.unwrap_or(300),
        "issued_at": "2026-01-01T00:00:00Z",
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// zot's `ListTags`: the upstream's full list, sorted, `last` exclusive, `n` per page.
async fn paginated_tags(
    shared: &Shared,
    style: LinkStyle,
    path: &str,
    query: Option<&str>,
) -> Response {
    let upstream = match shared
        .client
        .get(format!("{}{path}", shared.upstream))
        .send()
        .await
    {
        Ok(response) => response,
        Err(err) => return (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    };
    if !upstream.status().is_success() {
        let status =
            StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
        let body = upstream.bytes().await.unwrap_or_default();
        return (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    let list: serde_json::Value = upstream.json().await.unwrap_or_default();
    let name = list["name"].as_str().unwrap_or_default().to_owned();
    let mut tags: Vec<String> = list["tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let start = match get("last") {
        Some(last) => match tags.iter().position(|t| *t == last) {
            Some(index) => index + 1,
            None => return StatusCode::NOT_FOUND.into_response(),
        },
        None => 0,
    };
    let n = match get("n").map(|n| n.parse::<usize>()) {
        Some(Ok(n)) => n,
        Some(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        None => tags.len(),
    };
    let page: Vec<String> = tags.iter().skip(start).take(n).cloned().collect();
    let more = start + page.len() < tags.len();
    let body = serde_json::json!({"name": name, "tags": page});
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if more && let Some(last) = page.last() {
        let target = format!("/v2/{name}/tags/list?n={n}&last={last}");
        let target = match style {
            LinkStyle::Relative => target,
            LinkStyle::Absolute => format!("{}{target}", shared.own_url),
        };
        response.headers_mut().insert(
            header::LINK,
            HeaderValue::from_str(&format!("<{target}>; rel=\"next\"")).expect("ASCII link"),
        );
    }
    response
}

async fn forward(shared: &Shared, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let target = format!(
        "{}{}",
        shared.upstream,
        parts.uri.path_and_query().map_or("/", |pq| pq.as_str())
    );
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut outgoing = shared.client.request(parts.method, target).body(body);
    for (name, value) in &parts.headers {
        let bearer = name == header::AUTHORIZATION && shared.plan.bearer.is_some();
        if name != header::HOST && !bearer {
            outgoing = outgoing.header(name, value);
        }
    }
    let upstream = match outgoing.send().await {
        Ok(response) => response,
        Err(err) => return (StatusCode::BAD_GATEWAY, err.to_string()).into_response(),
    };
    let status = upstream.status();
    let headers = upstream.headers().clone();
    let bytes = upstream.bytes().await.unwrap_or_default();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != header::TRANSFER_ENCODING && name != header::CONNECTION {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}
