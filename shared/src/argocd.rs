//! An Argo CD REST client: start a sync of an application and read its state, and the
//! rule that decides, from that state, whether a rollout is done (apis.md §4, read
//! from Argo CD v3.x; the paths and fields used are the same in v2.x).
//!
//! Argo CD's own CLI waits on a gRPC watch stream; a REST client polls
//! `GET /api/v1/applications/{name}` instead, and decides on each answer as
//! `argocd app wait` decides on each event ([`Waiter`]): done when the app is Synced,
//! Healthy, with no operation pending or running and reconciled once after it. The
//! sync itself is one POST, never retried ([`crate::http::Client`] sends a POST once):
//! a sync whose answer was lost may have started, and a second one would be refused as
//! "another operation is already in progress" anyway.
//!
//! Like every client here it takes plain settings and a resolved token, and never
//! prints; the command renders what [`Waiter`] reports.

use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Response, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::forge::token::Token;
use crate::http::{self, Client};

/// The client of one Argo CD server.
#[derive(Clone, Debug)]
pub struct ArgoCd {
    http: Client,
    base: Url,
    token: Token,
}

/// What `POST …/sync` asks for (apis.md §4.2; every field optional there).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRequest {
    /// Delete resources that are no longer in git (`argocd app sync --prune`).
    pub prune: bool,
    pub dry_run: bool,
    /// The revision to sync to; the app's target revision when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// The parts of an Application this tool reads (apis.md §4.3).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    /// The operation requested and not yet picked up by the controller.
    #[serde(default)]
    pub operation: Option<serde_json::Value>,
    #[serde(default)]
    pub status: AppStatus,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    #[serde(default)]
    pub sync: SyncStatus,
    #[serde(default)]
    pub health: HealthStatus,
    #[serde(default)]
    pub operation_state: Option<OperationState>,
    #[serde(default)]
    pub reconciled_at: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct SyncStatus {
    /// `Synced`, `OutOfSync` or `Unknown`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
pub struct HealthStatus {
    /// `Healthy`, `Progressing`, `Degraded`, `Suspended`, `Missing` or `Unknown`.
    #[serde(default)]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OperationState {
    /// `Running`, `Terminating`, `Failed`, `Error` or `Succeeded`.
    #[serde(default)]
    pub phase: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<serde_json::Value>,
}

impl Application {
    /// `argocd app wait`'s `operationInProgress`: an operation requested and not picked
    /// up, one not finished, or one finished (not a dry run) that the controller has
    /// not reconciled the app after. Timestamps are RFC 3339 from one clock, Argo CD's.
    pub fn operation_in_progress(&self) -> bool {
        if self.operation.is_some() {
            return true;
        }
        let Some(state) = &self.status.operation_state else {
            return false;
        };
        let Some(finished) = state.finished_at.as_deref() else {
            return true;
        };
        let dry_run = state
            .operation
            .as_ref()
            .and_then(|op| op.pointer("/sync/dryRun"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        !dry_run
            && self
                .status
                .reconciled_at
                .as_deref()
                .is_none_or(|at| before(at, finished))
    }

    /// `argocd app wait`'s `ready` with its default conditions: Synced, Healthy, and no
    /// operation requested.
    pub fn ready(&self) -> bool {
        self.status.sync.status == "Synced"
            && self.status.health.status == "Healthy"
            && self.operation.is_none()
    }

    /// The rollout is done: ready, and no operation in progress.
    pub fn done(&self) -> bool {
        self.ready() && !self.operation_in_progress()
    }

    /// The phase of the last operation, when there is one.
    pub fn phase(&self) -> Option<&str> {
        self.status
            .operation_state
            .as_ref()
            .map(|s| s.phase.as_str())
    }
}

/// Whether RFC 3339 time `a` is before `b`; text that does not parse counts as not
/// before (the wait then ends on the other conditions rather than never).
fn before(a: &str, b: &str) -> bool {
    match (a.parse::<jiff::Timestamp>(), b.parse::<jiff::Timestamp>()) {
        (Ok(a), Ok(b)) => a < b,
        _ => false,
    }
}

/// What one look at the app says about the rollout.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Done,
    Waiting,
    /// Stop now: the app turned Degraded, or the sync operation failed.
    Failed(String),
}

/// Decides, look by look, whether a rollout is done, as `argocd app wait` decides on
/// each event, and fails early where it does: when the health turns `Degraded` from
/// any state but `Unknown` or `Degraded` (so an app that was Degraded before the sync
/// gets the sync's chance to heal it), and, as `argocd app sync` does, when the
/// operation ends in `Failed` or `Error`.
#[derive(Debug, Default)]
pub struct Waiter {
    last_health: Option<String>,
}

impl Waiter {
    pub fn observe(&mut self, app: &Application) -> Verdict {
        let health = app.status.health.status.as_str();
        let previous = self.last_health.replace(health.to_owned());
        if health == "Degraded"
            && previous
                .as_deref()
                .is_some_and(|p| p != "Unknown" && p != "Degraded")
        {
            let why = app
                .status
                .health
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Verdict::Failed(format!(
                "health turned from {} to Degraded{why}",
                previous.unwrap_or_default()
            ));
        }
        // Only the operation the controller has picked up is ours; while one is still
        // requested, `operationState` describes the one before.
        if app.operation.is_none()
            && let Some(state) = &app.status.operation_state
            && matches!(state.phase.as_str(), "Failed" | "Error")
        {
            let why = state
                .message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Verdict::Failed(format!("the sync operation ended {}{why}", state.phase));
        }
        if app.done() {
            Verdict::Done
        } else {
            Verdict::Waiting
        }
    }
}

impl ArgoCd {
    /// A client of the server at `base_url` (`https://argocd.example`, or a bare host
    /// as `ARGOCD_SERVER` gives it, taken as https).
    pub fn new(http: Client, base_url: &str, token: Token) -> Result<Self> {
        let with_scheme = if base_url.contains("://") {
            base_url.to_owned()
        } else {
            format!("https://{base_url}")
        };
        let base = http.parse_url(&with_scheme)?;
        Ok(ArgoCd { http, base, token })
    }

    fn app_url(&self, app: &str, tail: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .expect("http(s) URLs have a path")
            .pop_if_empty()
            .extend(["api", "v1", "applications", app])
            .extend(tail);
        url
    }

    /// Starts a sync of `app`: one POST, never retried. Answers the Application with
    /// its requested `operation`.
    pub async fn sync(&self, app: &str, request: &SyncRequest) -> Result<Application> {
        let what = format!("Argo CD: sync of {app}");
        let builder = self
            .http
            .request(Method::POST, self.app_url(app, &["sync"]))
            .json(request);
        self.call(builder, app, &what).await
    }

    /// The application's current state.
    pub async fn app(&self, app: &str) -> Result<Application> {
        let what = format!("Argo CD: application {app}");
        let builder = self.http.request(Method::GET, self.app_url(app, &[]));
        self.call(builder, app, &what).await
    }

    /// The application's state once Argo CD has compared it with git again
    /// (`?refresh=normal`, apis.md §4.3): the cached state can say Synced for a
    /// revision older than the one just pushed.
    pub async fn app_refreshed(&self, app: &str) -> Result<Application> {
        let what = format!("Argo CD: application {app} (refreshed)");
        let mut url = self.app_url(app, &[]);
        url.query_pairs_mut().append_pair("refresh", "normal");
        let builder = self.http.request(Method::GET, url);
        self.call(builder, app, &what).await
    }

    async fn call(
        &self,
        builder: reqwest::RequestBuilder,
        app: &str,
        what: &str,
    ) -> Result<Application> {
        let builder = builder.header(AUTHORIZATION, self.token.bearer());
        let response = self.http.send(builder).await?;
        let status = response.status();
        if !status.is_success() {
            let message = self.error_message(response).await;
            return Err(self.status_error(status, &message, app, what));
        }
        http::read_json(
            response,
            what,
            "the server",
            "check that --argocd-url points at Argo CD's API server",
        )
        .await
    }

    /// What an Argo CD error body (`{"error","code","message"}`) says
    /// ([`http::said_line`]), scrubbed of the token.
    async fn error_message(&self, response: Response) -> String {
        let body = http::error_body(response).await;
        http::said_line(&body, |line| self.token.scrub(line))
    }

    /// [`http::status_error`] with what Argo CD's answers mean: a 403 for an app that
    /// does not exist (Argo CD does not say which), a sync refused while another
    /// operation runs, a token refused.
    fn status_error(&self, status: StatusCode, message: &str, app: &str, what: &str) -> Error {
        let err = http::status_error(status, what, message);
        match status {
            StatusCode::UNAUTHORIZED => err.hint(
                "the Argo CD token was refused (expired or revoked?): create one with \
                 `argocd account generate-token` and set ARGOCD_AUTH_TOKEN",
            ),
            StatusCode::FORBIDDEN if message.contains("sync window") => err.hint(format!(
                "a sync window blocks syncs now; see `argocd app get {app}`"
            )),
            StatusCode::FORBIDDEN => err.hint(format!(
                "Argo CD answers 403 both for an app that does not exist and for one the \
                 token may not see or sync: check --app ({app}) with `argocd app list`, and \
                 the token's role"
            )),
            StatusCode::BAD_REQUEST
                if message.contains("another operation is already in progress") =>
            {
                Error::remote(format!(
                    "{what}: refused, another operation is already in progress (400)"
                ))
                .hint(format!(
                    "wait for it to end (`argocd app get {app}`), then run this again; \
                     or stop it with `argocd app terminate-op {app}`"
                ))
            }
            _ => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(json: serde_json::Value) -> Application {
        serde_json::from_value(json).unwrap()
    }

    fn state(sync: &str, health: &str, phase: Option<&str>) -> serde_json::Value {
        let mut status = serde_json::json!({
            "sync": {"status": sync},
            "health": {"status": health},
            "reconciledAt": "2025-07-20T10:20:12Z",
        });
        if let Some(phase) = phase {
            let finished = (phase != "Running").then_some("2025-07-20T10:20:09Z");
            status["operationState"] = serde_json::json!({
                "phase": phase,
                "finishedAt": finished,
                "operation": {"sync": {"prune": true}},
            });
        }
        serde_json::json!({"metadata": {"name": "docs"}, "status": status})
    }

    #[test]
    fn done_needs_synced_healthy_and_no_operation_pending_running_or_unreconciled() {
        assert!(app(state("Synced", "Healthy", Some("Succeeded"))).done());
        assert!(app(state("Synced", "Healthy", None)).done());
        assert!(!app(state("OutOfSync", "Healthy", None)).done());
        assert!(!app(state("Synced", "Progressing", Some("Succeeded"))).done());
        assert!(!app(state("Synced", "Healthy", Some("Running"))).done());

        let mut pending = state("Synced", "Healthy", Some("Succeeded"));
        pending["operation"] = serde_json::json!({"sync": {"prune": true}});
        assert!(!app(pending).done());

        // Finished after the last reconcile: wait for one more.
        let mut stale = state("Synced", "Healthy", Some("Succeeded"));
        stale["status"]["reconciledAt"] = "2025-07-20T10:20:05Z".into();
        assert!(app(stale.clone()).operation_in_progress());
        stale["status"]["reconciledAt"] = serde_json::Value::Null;
        assert!(app(stale.clone()).operation_in_progress());
        // ... unless it was a dry run, which changes nothing to reconcile.
        stale["status"]["operationState"]["operation"]["sync"]["dryRun"] = true.into();
        assert!(!app(stale).operation_in_progress());
    }

    #[test]
    fn the_waiter_fails_early_on_a_turn_to_degraded_or_a_failed_operation_only() {
        let mut waiter = Waiter::default();
        assert_eq!(
            waiter.observe(&app(state("OutOfSync", "Healthy", Some("Running")))),
            Verdict::Waiting
        );
        assert_eq!(
            waiter.observe(&app(state("Synced", "Degraded", Some("Succeeded")))),
            Verdict::Failed("health turned from Healthy to Degraded".into())
        );

        // Degraded before the sync: the sync gets its chance to heal it.
        let mut waiter = Waiter::default();
        for health in ["Degraded", "Degraded", "Progressing"] {
            assert_eq!(
                waiter.observe(&app(state("Synced", health, Some("Running")))),
                Verdict::Waiting
            );
        }
        assert_eq!(
            waiter.observe(&app(state("Synced", "Healthy", Some("Succeeded")))),
            Verdict::Done
        );

        let mut failed = state("OutOfSync", "Healthy", Some("Failed"));
        failed["status"]["operationState"]["message"] =
            "one or more objects failed to apply".into();
        assert_eq!(
            Waiter::default().observe(&app(failed.clone())),
            Verdict::Failed(
                "the sync operation ended Failed: one or more objects failed to apply".into()
            )
        );
        // An old failure while ours is still requested is not ours.
        failed["operation"] = serde_json::json!({"sync": {}});
        assert_eq!(Waiter::default().observe(&app(failed)), Verdict::Waiting);
    }

    #[test]
    fn a_bare_host_is_taken_as_https_and_plain_http_only_to_loopback() {
        let http = Client::new(&http::HttpConfig::default()).unwrap();
        let token = Token::new("t").unwrap();
        let argo = ArgoCd::new(http.clone(), "argocd.example", token.clone()).unwrap();
        assert_eq!(
            argo.app_url("docs", &["sync"]).as_str(),
            "https://argocd.example/api/v1/applications/docs/sync"
        );
        let err = ArgoCd::new(http, "http://argocd.example", token).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
