//! The `/query` endpoint: session-token check, ids, lazy evaluation, faults, and the
//! JSON shapes the engine answers with.

use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::{Value, json};

use super::query::parse_located;
use super::spec::{Builder, FailExec, PublishRefusal, RawAnswer};
use super::{Field, Query};
use crate::registry::digest;

const ID_PREFIX: &str = "fake-id-";

/// What `Container.export` writes: not a real archive, but a file a test can find.
pub const EXPORTED_ARCHIVE: &[u8] = b"fake docker archive\n";
/// What `File.export` writes.
pub const EXPORTED_FILE: &[u8] = b"fake file export\n";

pub(super) struct Engine {
    pub(super) spec: Builder,
    log: Mutex<Log>,
}

#[derive(Default)]
pub(super) struct Log {
    pub(super) requests: Vec<Seen>,
    pub(super) queries: Vec<Query>,
    /// `ids[n - 1]` is the chain `fake-id-n` stands for.
    ids: Vec<Query>,
    pub(super) execs: Vec<Vec<String>>,
    errors: u64,
}

pub(super) struct Seen {
    pub(super) authorization: Option<String>,
    pub(super) query_text: String,
}

/// One answer, before it becomes HTTP.
enum Reply {
    Json(StatusCode, Value),
    Text(StatusCode, String),
    Unauthorized,
    Hangup,
    /// Nothing for this long, then the connection closed: a build that outlasts the
    /// client's deadline.
    Stall(std::time::Duration),
}

/// Why an evaluation stopped.
struct ExecFailure<'a> {
    cmd: Vec<String>,
    fail: &'a FailExec,
}

pub(super) fn router(engine: std::sync::Arc<Engine>) -> Router {
    Router::new()
        .route("/query", post(query))
        .with_state(engine)
}

async fn query(
    State(engine): State<std::sync::Arc<Engine>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match engine.answer(&headers, &body) {
        Reply::Json(status, value) => (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            value.to_string(),
        )
            .into_response(),
        Reply::Text(status, text) => {
            (status, [(header::CONTENT_TYPE, "text/plain")], text).into_response()
        }
        // What the CLI's session server (`engine/client/client.go` `ServeHTTP`) does:
        // a challenge and no body.
        Reply::Unauthorized => (
            StatusCode::UNAUTHORIZED,
            [(
                header::WWW_AUTHENTICATE,
                r#"Basic realm="Access to the Dagger engine session""#,
            )],
        )
            .into_response(),
        // Unwinding out of the handler ends the connection's task, so the socket is
        // dropped with nothing written (a body that fails instead still sends the
        // status line first). `resume_unwind` skips the panic hook: no noise on stderr.
        Reply::Hangup => std::panic::resume_unwind(Box::new("fault: engine hung up")),
        Reply::Stall(wait) => {
            tokio::time::sleep(wait).await;
            std::panic::resume_unwind(Box::new("fault: engine stalled"))
        }
    }
}

impl Engine {
    pub(super) fn new(spec: Builder) -> Engine {
        Engine {
            spec,
            log: Mutex::new(Log::default()),
        }
    }

    pub(super) fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().expect("engine log lock")
    }

    /// The chain behind an id this engine issued.
    pub(super) fn resolve<'l>(&self, log: &'l Log, id: &str) -> Option<&'l Query> {
        let n: usize = id.strip_prefix(ID_PREFIX)?.parse().ok()?;
        log.ids.get(n.checked_sub(1)?)
    }

    fn answer(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let request: Option<Value> = serde_json::from_slice(body).ok();
        let text = request
            .as_ref()
            .and_then(|r| r.get("query"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let mut log = self.log();
        log.requests.push(Seen {
            authorization: authorization.clone(),
            query_text: text
                .clone()
                .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned()),
        });
        if !self.authorized(authorization.as_deref()) {
            return Reply::Unauthorized;
        }
        // `variables` may be absent, null or an object: the SDK inlines every argument,
        // and the parser refuses `$variables`, so their values are never needed.
        let Some(text) = text else {
            return Reply::Json(
                StatusCode::BAD_REQUEST,
                json!({"errors": [{"message": "json request body could not be decoded: no `query` string"}], "data": null}),
            );
        };
        // A query that does not parse gets gqlgen's answer, 422 with
        // `GRAPHQL_PARSE_FAILED` (assumed for the engine, not checked against it).
        let (query, locations) = match parse_located(&text) {
            Ok(parsed) => parsed,
            Err(err) => {
                return Reply::Json(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    json!({"errors": [{"message": err.to_string(), "extensions": {"code": "GRAPHQL_PARSE_FAILED"}}], "data": null}),
                );
            }
        };
        log.queries.push(query.clone());
        let leaf = query.leaf().to_owned();
        if let Some((_, raw)) = self.spec.raw.iter().find(|(l, _)| *l == leaf) {
            return match raw {
                RawAnswer::NullData => Reply::Json(StatusCode::OK, json!({"data": null})),
                RawAnswer::NotJson(body) => Reply::Text(StatusCode::OK, body.clone()),
                RawAnswer::Status(status, body) => Reply::Text(
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    body.clone(),
                ),
                RawAnswer::Hangup => Reply::Hangup,
                RawAnswer::Stall(wait) => Reply::Stall(*wait),
            };
        }
        let location = locations.last().copied().unwrap_or((1, 1));
        let path: Vec<&str> = query
            .chain
            .iter()
            .filter(|f| f.fragment().is_none())
            .map(Field::key)
            .collect();
        if let Some(unknown) = query
            .strings()
            .into_iter()
            .find(|s| s.starts_with(ID_PREFIX) && self.resolve(&log, s).is_none())
        {
            // The real engine fails to decode an id it did not make; the wording here
            // is made up.
            let message = format!("failed to decode ID {unknown:?}: not issued by this engine");
            return Reply::Json(StatusCode::OK, error(&message, location, &path, None));
        }
        // Lazy as the real engine: asking for an id builds nothing; any other leaf
        // (sync, stdout, publish, export, …) runs the chain and every chain its ids
        // stand for.
        if leaf != "id"
            && let Err(failure) = self.evaluate(&mut log, &query)
        {
            log.errors += 1;
            return Reply::Json(
                StatusCode::OK,
                exec_error(&failure, log.errors, location, &path),
            );
        }
        match self.leaf_value(&mut log, &query) {
            Ok(value) => {
                let data = path
                    .iter()
                    .rev()
                    .fold(value, |inner, key| json!({ *key: inner }));
                Reply::Json(StatusCode::OK, json!({ "data": data }))
            }
            Err(message) => Reply::Json(StatusCode::OK, error(&message, location, &path, None)),
        }
    }

    /// `Authorization: Basic base64("<token>:")`. The SDK encodes URL-safe with
    /// padding; standard base64 (what Go's `Request.BasicAuth` decodes) is accepted too.
    fn authorized(&self, authorization: Option<&str>) -> bool {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let Some(encoded) = authorization.and_then(|a| a.strip_prefix("Basic ")) else {
            return false;
        };
        [URL_SAFE, STANDARD]
            .iter()
            .filter_map(|engine| engine.decode(encoded.trim()).ok())
            .filter_map(|bytes| String::from_utf8(bytes).ok())
            .any(|pair| pair.split_once(':').map(|(user, _)| user) == Some(&self.spec.token))
    }

    /// Runs every `withExec` of `query` in order, each after the chains its ids stand
    /// for; stops at the first that a [`FailExec`] hits.
    fn evaluate(&self, log: &mut Log, query: &Query) -> Result<(), ExecFailure<'_>> {
        for field in &query.chain {
            let used: Vec<Query> = field
                .strings()
                .into_iter()
                .filter_map(|s| self.resolve(log, s).cloned())
                .collect();
            for chain in &used {
                self.evaluate(log, chain)?;
            }
            if field.name == "withExec" {
                let cmd: Vec<String> = field
                    .arg_strs("args")
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                log.execs.push(cmd.clone());
                if let Some(fail) = self.spec.fail_execs.iter().find(|f| f.hits(&cmd)) {
                    return Err(ExecFailure { cmd, fail });
                }
            }
        }
        Ok(())
    }

    /// The leaf's answer, or the message of the error it fails with.
    fn leaf_value(&self, log: &mut Log, query: &Query) -> Result<Value, String> {
        let leaf = query.leaf();
        if let Some((_, value)) = self.spec.answers.iter().find(|(l, _)| l == leaf) {
            return Ok(value.clone());
        }
        let object = &query.chain[..query.chain.len().saturating_sub(1)];
        let arg = |name: &str| query.chain.last().and_then(|f| f.arg_str(name));
        Ok(match leaf {
            "id" | "sync" => {
                log.ids.push(Query {
                    chain: object.to_vec(),
                });
                Value::from(format!("{ID_PREFIX}{}", log.ids.len()))
            }
            "publish" => {
                let address = arg("address").unwrap_or_default();
                match &self.spec.refuse_publish {
                    Some(PublishRefusal::Message(message)) => {
                        return Err(message.replace("{address}", address));
                    }
                    Some(PublishRefusal::Unauthorized) => return Err(unauthorized_push(address)),
                    None => Value::from(format!("{address}@{}", digest(address.as_bytes()))),
                }
            }
            "export" => {
                let path = arg("path").unwrap_or_default();
                export(object, path).map_err(|err| format!("failed to export to {path}: {err}"))?;
                Value::from(path)
            }
            "stdout" | "stderr" | "contents" => Value::from(""),
            "exitCode" => Value::from(0),
            "digest" => Value::from(digest(
                Query {
                    chain: object.to_vec(),
                }
                .to_string()
                .as_bytes(),
            )),
            _ => Value::Null,
        })
    }
}

/// The real engine exports to the caller's host path: a Container as an image
/// tarball, a File as its contents, a Directory as a directory. Relative paths are
/// taken from this (the test) process's working directory.
fn export(object: &[Field], path: &str) -> std::io::Result<()> {
    match object_type(object) {
        "Directory" => std::fs::create_dir_all(path),
        "File" => std::fs::write(path, EXPORTED_FILE),
        _ => std::fs::write(path, EXPORTED_ARCHIVE),
    }
}

/// The GraphQL type a chain ends on, as far as `export` needs to know (names from
/// dagger-sdk 0.21.11 src/gen.rs); `with…`/`without…` keep their receiver's type.
fn object_type(chain: &[Field]) -> &str {
    chain.iter().fold("Query", |current, field| {
        if let Some(on) = field.fragment() {
            return on;
        }
        match field.name.as_str() {
            "container" | "from" | "dockerBuild" | "import" | "build" => "Container",
            "directory" | "rootfs" | "tree" => "Directory",
            "file" | "asTarball" => "File",
            name if name.starts_with("with") => current,
            name => name
                .strip_prefix("load")
                .and_then(|rest| rest.strip_suffix("FromID"))
                .unwrap_or("?"),
        }
    })
}

/// BuildKit's message when a registry answers 401 to the push.
fn unauthorized_push(address: &str) -> String {
    let (registry, rest) = address.split_once('/').unwrap_or((address, ""));
    let repository = rest.split([':', '@']).next().unwrap_or(rest);
    format!(
        "failed to export: failed to push {address}: unexpected status from HEAD request to \
         http://{registry}/v2/{repository}/blobs/{}: 401 Unauthorized",
        digest(address.as_bytes())
    )
}

/// A plain GraphQL error: `{"data":null,"errors":[{message,locations,path}]}`.
fn error(
    message: &str,
    location: (usize, usize),
    path: &[&str],
    extensions: Option<Value>,
) -> Value {
    let mut entry = json!({
        "message": message,
        "locations": [{"line": location.0, "column": location.1}],
        "path": path,
    });
    if let Some(extensions) = extensions {
        entry["extensions"] = extensions;
    }
    json!({"data": null, "errors": [entry]})
}

/// The engine's error for a failed exec: BuildKit's message with the span's
/// traceparent appended, and the `EXEC_ERROR` extension dagger-sdk parses
/// (`GraphQlExtension::ExecError`: `cmd`, `exitCode`, `stdout`, `stderr`).
fn exec_error(failure: &ExecFailure<'_>, n: u64, location: (usize, usize), path: &[&str]) -> Value {
    let trace = digest(format!("trace {n}").as_bytes());
    let hex = trace.trim_start_matches("sha256:");
    let message = format!(
        "process {:?} did not complete successfully: exit code: {} [traceparent:00-{}-{}-01]",
        failure.cmd.join(" "),
        failure.fail.exit_code,
        &hex[..32],
        &hex[32..48],
    );
    let extensions = json!({
        "_type": "EXEC_ERROR",
        "cmd": failure.cmd,
        "exitCode": failure.fail.exit_code,
        "stdout": failure.fail.stdout,
        "stderr": failure.fail.stderr,
    });
    error(&message, location, path, Some(extensions))
}
