//! An Argo CD API server for tests, mirroring Argo CD v3.x's REST answers as apis.md §4
//! records them (read from argoproj/argo-cd v3.5; v2.x answers these routes alike).
//!
//! What it mirrors:
//! - `POST /api/v1/applications/{name}/sync`: 200 with the Application and a top-level
//!   `operation` (`{"sync":{…},"initiatedBy":{"username":"admin"}}`); 400
//!   `another operation is already in progress` (grpc code 9) while an operation is
//!   requested or running;
//! - `GET /api/v1/applications/{name}`: the Application with `status.sync`,
//!   `status.health`, `status.operationState` (`finishedAt` only once the phase is
//!   `Succeeded`, `Failed` or `Error`) and `status.reconciledAt`;
//! - errors as grpc-gateway writes them, `{"error","code","message"}`: 401
//!   `no session information` (code 16) without a valid `Authorization: Bearer`, and
//!   **403 `permission denied` (code 7) for an app that does not exist**, as Argo CD
//!   answers rather than 404 unless `?project=` is given.
//!
//! An app's states are a script ([`AppSpec`]): before a sync every GET shows its
//! `initial` state; an accepted sync starts the `after_sync` list, and each GET from
//! then on shows the next state (the last repeats), so a test decides exactly what a
//! poller sees: operation requested, Running, Succeeded, health Progressing then
//! Healthy, or Degraded. Every request is recorded, and every sync body kept.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

/// One state of an app as a GET shows it.
#[derive(Clone, Debug)]
pub struct AppState {
    /// `Synced`, `OutOfSync` or `Unknown`.
    pub sync: String,
    /// `Healthy`, `Progressing`, `Degraded`, …
    pub health: String,
    pub health_message: Option<String>,
    /// A sync is requested and not yet picked up by the controller (top-level
    /// `operation` set).
    pub requested: bool,
    /// `status.operationState.phase`; `None`: the app was never synced.
    pub phase: Option<String>,
    pub operation_message: Option<String>,
    /// `reconciledAt` is after the operation's `finishedAt` (else before it: the
    /// controller has not looked at the app since the sync ended).
    pub reconciled: bool,
}

impl AppState {
    pub fn new(sync: &str, health: &str) -> Self {
        AppState {
            sync: sync.to_owned(),
            health: health.to_owned(),
            health_message: None,
            requested: false,
            phase: None,
            operation_message: None,
            reconciled: true,
        }
    }

    /// The last operation's phase.
    pub fn phase(mut self, phase: &str) -> Self {
        self.phase = Some(phase.to_owned());
        self
    }

    /// A sync requested, not yet picked up.
    pub fn requested(mut self) -> Self {
        self.requested = true;
        self
    }

    /// The operation finished after the last reconcile.
    pub fn unreconciled(mut self) -> Self {
        self.reconciled = false;
        self
    }

    pub fn health_message(mut self, message: &str) -> Self {
        self.health_message = Some(message.to_owned());
        self
    }

    pub fn operation_message(mut self, message: &str) -> Self {
        self.operation_message = Some(message.to_owned());
        self
    }

    /// An operation requested or running: a sync now is refused.
    fn busy(&self) -> bool {
        self.requested || matches!(self.phase.as_deref(), Some("Running" | "Terminating"))
    }
}

/// An application and its script.
#[derive(Clone, Debug)]
pub struct AppSpec {
    pub name: String,
    pub initial: AppState,
    pub after_sync: Vec<AppState>,
}

impl AppSpec {
    /// An app out of sync with git (the manifest just changed) that a sync rolls out:
    /// operation requested, Running while the pod is replaced, Succeeded but not yet
    /// reconciled, then Synced and Progressing, then Synced and Healthy.
    pub fn rolls_out(name: &str) -> Self {
        AppSpec {
            name: name.to_owned(),
            initial: AppState::new("OutOfSync", "Healthy").phase("Succeeded"),
            after_sync: vec![
                AppState::new("OutOfSync", "Healthy")
                    .phase("Succeeded")
                    .requested(),
                AppState::new("OutOfSync", "Progressing").phase("Running"),
                AppState::new("Synced", "Progressing")
                    .phase("Succeeded")
                    .unreconciled(),
                AppState::new("Synced", "Progressing").phase("Succeeded"),
                AppState::new("Synced", "Healthy").phase("Succeeded"),
            ],
        }
    }

    /// An app whose new pod never comes up: the sync succeeds, then health turns
    /// Degraded (and later, too late to matter, Healthy again).
    pub fn degrades(name: &str) -> Self {
        let mut app = Self::rolls_out(name);
        app.after_sync = vec![
            app.after_sync[0].clone(),
            AppState::new("OutOfSync", "Progressing").phase("Running"),
            AppState::new("Synced", "Degraded")
                .phase("Succeeded")
                .health_message("Deployment \"docs\" exceeded its progress deadline"),
            AppState::new("Synced", "Healthy").phase("Succeeded"),
        ];
        app
    }

    /// An app with another operation running (an auto-sync): a sync is refused.
    pub fn busy(name: &str) -> Self {
        AppSpec {
            name: name.to_owned(),
            initial: AppState::new("OutOfSync", "Progressing").phase("Running"),
            after_sync: vec![],
        }
    }

    /// An app whose sync runs and never ends.
    pub fn stuck(name: &str) -> Self {
        let mut app = Self::rolls_out(name);
        app.after_sync.truncate(2);
        app
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// It carried the server's token as `Authorization: Bearer`.
    pub authorized: bool,
}

/// Configures and starts a [`FakeArgoCd`].
#[derive(Clone, Debug)]
pub struct Builder {
    token: String,
    apps: Vec<AppSpec>,
}

impl Builder {
    pub fn app(mut self, app: AppSpec) -> Self {
        self.apps.push(app);
        self
    }

    /// Starts the server on a free loopback port, on its own thread and runtime.
    pub fn start(self) -> FakeArgoCd {
        let state = Arc::new(Server {
            token: self.token,
            apps: Mutex::new(
                self.apps
                    .into_iter()
                    .map(|spec| AppRec { spec, step: None })
                    .collect(),
            ),
            seen: Mutex::new(Vec::new()),
            syncs: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/api/v1/applications/{name}", get(get_app))
            .route("/api/v1/applications/{name}/sync", post(sync_app))
            .with_state(state.clone());
        let (addr, stop_tx) = crate::serve::spawn(app);
        FakeArgoCd {
            addr,
            state,
            _stop: stop_tx,
        }
    }
}

/// A running Argo CD test server; stops when dropped.
pub struct FakeArgoCd {
    addr: SocketAddr,
    state: Arc<Server>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeArgoCd {
    /// A server that accepts `token` (as `Authorization: Bearer <token>`).
    pub fn builder(token: &str) -> Builder {
        Builder {
            token: token.to_owned(),
            apps: Vec::new(),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("lock").clone()
    }

    /// The bodies of the sync requests that arrived (accepted or not), oldest first.
    pub fn syncs(&self) -> Vec<Value> {
        self.state.syncs.lock().expect("lock").clone()
    }
}

struct AppRec {
    spec: AppSpec,
    /// The index into `after_sync` the next GET shows; `None` before a sync.
    step: Option<usize>,
}

impl AppRec {
    fn current(&self) -> &AppState {
        match self.step {
            None => &self.spec.initial,
            Some(i) => {
                let script = &self.spec.after_sync;
                script
                    .get(i)
                    .or(script.last())
                    .unwrap_or(&self.spec.initial)
            }
        }
    }
}

struct Server {
    token: String,
    apps: Mutex<Vec<AppRec>>,
    seen: Mutex<Vec<Seen>>,
    syncs: Mutex<Vec<Value>>,
}

impl Server {
    /// Records the request; gives the refusal for a missing or wrong token.
    fn refusal(&self, method: &str, path: String, headers: &HeaderMap) -> Option<Response> {
        let expected = format!("Bearer {}", self.token);
        let authorized = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == expected);
        self.seen.lock().expect("lock").push(Seen {
            method: method.to_owned(),
            path,
            authorized,
        });
        (!authorized).then(|| error(StatusCode::UNAUTHORIZED, 16, "no session information"))
    }
}

/// grpc-gateway's error body (swagger `runtimeError`).
fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": message, "code": code, "message": message})),
    )
        .into_response()
}

fn permission_denied() -> Response {
    error(StatusCode::FORBIDDEN, 7, "permission denied")
}

async fn get_app(
    State(server): State<Arc<Server>>,
    Path(name): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    // `?refresh=normal` is kept in what was seen; the state answered is the same.
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    let path = format!("/api/v1/applications/{name}{query}");
    if let Some(refusal) = server.refusal("GET", path, &headers) {
        return refusal;
    }
    let mut apps = server.apps.lock().expect("lock");
    let Some(app) = apps.iter_mut().find(|a| a.spec.name == name) else {
        return permission_denied();
    };
    let body = application(&name, app.current(), None);
    if let Some(step) = &mut app.step {
        *step += 1;
    }
    axum::Json(body).into_response()
}

async fn sync_app(
    State(server): State<Arc<Server>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = format!("/api/v1/applications/{name}/sync");
    if let Some(refusal) = server.refusal("POST", path, &headers) {
        return refusal;
    }
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    server.syncs.lock().expect("lock").push(request.clone());
    let mut apps = server.apps.lock().expect("lock");
    let Some(app) = apps.iter_mut().find(|a| a.spec.name == name) else {
        return permission_denied();
    };
    if app.current().busy() {
        return error(
            StatusCode::BAD_REQUEST,
            9,
            "another operation is already in progress",
        );
    }
    let answer = application(&name, app.current(), Some(&request));
    app.step = Some(0);
    axum::Json(answer).into_response()
}

/// The sync operation as Argo CD records it from a request body.
fn operation(request: Option<&Value>) -> Value {
    let request = request.cloned().unwrap_or_else(|| json!({}));
    let mut sync = json!({"revision": request.get("revision").cloned().unwrap_or("main".into())});
    for key in ["prune", "dryRun"] {
        if let Some(value) = request.get(key).filter(|v| v.as_bool() == Some(true)) {
            sync[key] = value.clone();
        }
    }
    json!({"sync": sync, "initiatedBy": {"username": "admin"}})
}

/// The Application JSON for a state; `requested` is the sync request just accepted
/// (the POST's answer carries it as the top-level `operation`).
fn application(name: &str, state: &AppState, requested: Option<&Value>) -> Value {
    const REVISION: &str = "9f1c2d0e7b5a4c3d2e1f0a9b8c7d6e5f4a3b2c1d";
    let mut health = json!({"status": state.health});
    if let Some(message) = &state.health_message {
        health["message"] = message.clone().into();
    }
    let mut status = json!({
        "sync": {"status": state.sync, "revision": REVISION},
        "health": health,
        "resources": [{"kind": "Deployment", "name": name, "status": state.sync,
                       "health": {"status": state.health}}],
    });
    let finished = matches!(
        state.phase.as_deref(),
        Some("Succeeded" | "Failed" | "Error")
    );
    status["reconciledAt"] = if state.reconciled || !finished {
        "2025-07-20T10:20:12Z".into()
    } else {
        "2025-07-20T10:20:05Z".into()
    };
    if let Some(phase) = &state.phase {
        let mut op_state = json!({
            "operation": operation(None),
            "phase": phase,
            "message": state.operation_message.clone().unwrap_or_else(|| match phase.as_str() {
                "Succeeded" => "successfully synced (all tasks run)".to_owned(),
                "Running" => "one or more tasks are running".to_owned(),
                _ => String::new(),
            }),
            "startedAt": "2025-07-20T10:20:00Z",
        });
        if finished {
            op_state["finishedAt"] = "2025-07-20T10:20:09Z".into();
            op_state["syncResult"] = json!({
                "revision": REVISION,
                "resources": [{"kind": "Deployment", "name": name, "status": "Synced"}],
            });
        }
        status["operationState"] = op_state;
    }
    let mut app = json!({
        "metadata": {"name": name, "namespace": "argocd", "resourceVersion": "123456"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://forge.example.invalid/ops/opskit.git",
                       "path": format!("argocd/manifests/{name}"), "targetRevision": "main"},
        },
        "status": status,
    });
    if requested.is_some() || state.requested {
        app["operation"] = operation(requested);
    }
    app
}

#[cfg(test)]
mod tests {
    use super::*;

    use opskit::argocd::{ArgoCd, SyncRequest, Verdict, Waiter};
    use opskit::forge::token::Token;
    use opskit::http::{Client, HttpConfig};

    fn client(server: &FakeArgoCd, token: &str) -> ArgoCd {
        let http = Client::new(&HttpConfig::default()).unwrap();
        ArgoCd::new(http, &server.url(), Token::new(token).unwrap()).unwrap()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_sync_then_polls_walk_the_script_to_done_as_argocd_app_wait_decides() {
        let server = FakeArgoCd::builder("tok")
            .app(AppSpec::rolls_out("docs"))
            .start();
        let argo = client(&server, "tok");
        runtime().block_on(async {
            let request = SyncRequest {
                prune: true,
                ..SyncRequest::default()
            };
            let answer = argo.sync("docs", &request).await.unwrap();
            assert!(answer.operation.is_some());
            let mut waiter = Waiter::default();
            let mut seen = Vec::new();
            loop {
                let app = argo.app("docs").await.unwrap();
                seen.push(format!(
                    "{}/{} {}",
                    app.status.sync.status,
                    app.status.health.status,
                    app.phase().unwrap_or("-")
                ));
                match waiter.observe(&app) {
                    Verdict::Waiting => {}
                    verdict => {
                        assert_eq!(verdict, Verdict::Done);
                        break;
                    }
                }
            }
            // The unreconciled Succeeded state is not done yet.
            assert_eq!(
                seen,
                [
                    "OutOfSync/Healthy Succeeded",
                    "OutOfSync/Progressing Running",
                    "Synced/Progressing Succeeded",
                    "Synced/Progressing Succeeded",
                    "Synced/Healthy Succeeded",
                ]
            );
        });
        assert_eq!(server.syncs(), [json!({"prune": true, "dryRun": false})]);
    }

    #[test]
    fn refusals_are_argo_cds_statuses_and_map_to_the_suites_exit_codes() {
        let server = FakeArgoCd::builder("tok")
            .app(AppSpec::busy("docs"))
            .start();
        runtime().block_on(async {
            let argo = client(&server, "tok");
            let busy = argo
                .sync("docs", &SyncRequest::default())
                .await
                .unwrap_err();
            assert_eq!(busy.exit_code(), 3);
            assert!(
                busy.message()
                    .contains("another operation is already in progress"),
                "{}",
                busy.message()
            );
            let unknown = argo.app("nope").await.unwrap_err();
            assert_eq!(
                (unknown.exit_code(), unknown.message()),
                (
                    3,
                    "Argo CD: application nope: access denied (403: permission denied)"
                )
            );
            let wrong = client(&server, "wrong-secret")
                .app("docs")
                .await
                .unwrap_err();
            assert_eq!(wrong.exit_code(), 3);
            assert!(!wrong.message().contains("wrong-secret"));
        });
        let seen = server.seen();
        assert_eq!(seen.len(), 3);
        assert!(!seen[2].authorized);
    }
}
