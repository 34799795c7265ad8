//! Finding the Dagger engine and talking GraphQL to it.
//!
//! Found in this order, as the SDK's own `Engine::start` looks, minus its downloader
//! (a build machine with no internet must not sit in a DNS lookup, and a tool should not
//! fetch and run a binary behind its user's back):
//! 1. `DAGGER_SESSION_PORT` + `DAGGER_SESSION_TOKEN`, which `dagger run` sets;
//! 2. the dagger CLI — `_EXPERIMENTAL_DAGGER_CLI_BIN`, else `dagger` on PATH — started
//!    as `dagger session`, whose first stdout line is `{"port":…,"session_token":…}`.
//!
//! The transport is ours, not the SDK's: it implements the SDK's `GraphQLClient` over
//! `opskit::http`, so a query is bounded by `--build-timeout`, sent once (a publish is
//! not something to repeat), logged under `--debug` by URL only (a `setSecret` query
//! carries the secret in its text), and an answer the SDK would panic on (`{"data":null}`
//! with no errors) is an error instead. The first transport failure is also kept, as an
//! `opskit` error, for when the SDK loses it (it panics on a failed id query).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use dagger_sdk::core::gql_client::GraphQLErrorMessage;
use dagger_sdk::core::graphql_client::{GraphQLClient, GraphQLError};
use opskit::error::{Error, Result};
use opskit::http::{self, Client, HttpConfig};
use reqwest::{Method, Url};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

/// How long `dagger session` may take to print where its engine listens: starting the
/// engine container the first time on a machine pulls its image.
pub const SESSION_START_TIMEOUT: Duration = Duration::from_secs(300);

/// How long a `dagger session` we started may take to end after its stdin closes (it
/// closes its engine client and flushes telemetry) before it is killed.
const SESSION_CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the engine was found, for messages: an unreachable engine's error says how it
/// was looked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    SessionEnv,
    Cli(PathBuf),
}

impl std::fmt::Display for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Found::SessionEnv => f.write_str("DAGGER_SESSION_PORT"),
            Found::Cli(bin) => write!(f, "`{} session`", bin.display()),
        }
    }
}

/// A session with the engine: its GraphQL endpoint and, when we started the dagger CLI,
/// the CLI process, ended by [`Session::close`] (or killed if the session is dropped).
pub struct Session {
    pub port: u16,
    token: String,
    pub found: Found,
    cli: Option<tokio::process::Child>,
}

impl Session {
    /// Ends a `dagger session` we started as the SDK does, by closing its stdin, and
    /// waits for it to exit, at most [`SESSION_CLOSE_TIMEOUT`] before killing it.
    /// A session from `dagger run` is that command's to end.
    pub async fn close(mut self) {
        let Some(mut cli) = self.cli.take() else {
            return;
        };
        drop(cli.stdin.take());
        if tokio::time::timeout(SESSION_CLOSE_TIMEOUT, cli.wait())
            .await
            .is_err()
        {
            // Nothing to report: the build's result is already decided.
            let _ = cli.kill().await;
        }
    }
}

/// Where the engine is and how it was found: `DAGGER_SESSION_PORT (127.0.0.1:8080)`.
impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (127.0.0.1:{})", self.found, self.port)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("port", &self.port)
            .field("token", &"***")
            .field("found", &self.found)
            .finish()
    }
}

/// What the environment says about where an engine is.
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    pub session_port: Option<String>,
    pub session_token: Option<String>,
    pub cli_bin: Option<PathBuf>,
    pub path: Option<std::ffi::OsString>,
}

impl Lookup {
    pub fn from_env() -> Self {
        Lookup {
            session_port: std::env::var("DAGGER_SESSION_PORT").ok(),
            session_token: std::env::var("DAGGER_SESSION_TOKEN").ok(),
            cli_bin: std::env::var_os("_EXPERIMENTAL_DAGGER_CLI_BIN").map(PathBuf::from),
            path: std::env::var_os("PATH"),
        }
    }

    /// The dagger CLI this lookup would start, if any.
    pub fn cli(&self) -> Option<PathBuf> {
        if let Some(bin) = &self.cli_bin {
            return Some(bin.clone());
        }
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|dir| dir.join("dagger"))
            .find(|candidate| is_executable(candidate))
    }
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// Opens a session: the variables `dagger run` sets, else a `dagger session` we start.
pub async fn connect(lookup: &Lookup) -> Result<Session> {
    match (&lookup.session_port, &lookup.session_token) {
        (Some(port), Some(token)) => {
            let port = port.trim().parse::<u16>().map_err(|_| {
                Error::usage(format!(
                    "DAGGER_SESSION_PORT is not a port number: '{port}'"
                ))
            })?;
            Ok(Session {
                port,
                token: token.clone(),
                found: Found::SessionEnv,
                cli: None,
            })
        }
        (Some(_), None) | (None, Some(_)) => Err(Error::usage(
            "only one of DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN is set",
        )
        .hint("run the tool under `dagger run …`, which sets both, or unset the other")),
        (None, None) => match lookup.cli() {
            Some(bin) => start_cli_session(&bin).await,
            None => Err(Error::remote(
                "no Dagger engine: DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN are not set \
                 and there is no dagger CLI (_EXPERIMENTAL_DAGGER_CLI_BIN, or dagger on PATH)",
            )
            .hint(format!(
                "run it as `dagger run {} …`, or install the dagger CLI",
                this_tool()
            ))),
        },
    }
}

/// Runs `work` in a session with the engine: opened as [`connect`] finds it from the
/// environment, and ended by [`Session::close`] whatever `work` gave. `no_engine_hint`, when the command has a
/// way to work without an engine, is added to the error of finding none.
pub async fn with_session<T>(
    no_engine_hint: Option<&str>,
    work: impl AsyncFnOnce(&Session) -> Result<T>,
) -> Result<T> {
    let session = connect(&Lookup::from_env())
        .await
        .map_err(|e| match no_engine_hint {
            Some(hint) => e.hint(hint),
            None => e,
        })?;
    let done = work(&session).await;
    session.close().await;
    done
}

/// The name this process was started as, for hints that show a command line.
fn this_tool() -> String {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "<command>".to_owned())
}

#[derive(Deserialize)]
struct SessionLine {
    port: u16,
    session_token: String,
}

/// Starts `dagger session` and reads stdout until the line that says where it listens.
async fn start_cli_session(bin: &Path) -> Result<Session> {
    let started = |e: std::io::Error| {
        Error::remote(format!(
            "cannot start the dagger CLI {}: {e}",
            bin.display()
        ))
        .hint("check the dagger CLI: dagger version")
    };
    let mut child = tokio::process::Command::new(bin)
        .args(["session", "--label", "dagger.io/sdk.name:rust", "--label"])
        .arg(format!(
            "dagger.io/sdk.version:{}",
            dagger_sdk::core::DAGGER_ENGINE_VERSION
        ))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(started)?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| started(std::io::ErrorKind::BrokenPipe.into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let read = async {
        while let Some(line) = lines.next_line().await? {
            if let Ok(session) = serde_json::from_str::<SessionLine>(line.trim()) {
                return Ok(Some(session));
            }
        }
        Ok::<_, std::io::Error>(None)
    };
    let gave_up = || {
        Error::remote(format!(
            "`{} session` did not say where its engine listens",
            bin.display()
        ))
        .hint("check that the engine can start: dagger core version")
    };
    match tokio::time::timeout(SESSION_START_TIMEOUT, read).await {
        Ok(Ok(Some(line))) => Ok(Session {
            port: line.port,
            token: line.session_token,
            found: Found::Cli(bin.to_owned()),
            cli: Some(child),
        }),
        Ok(Ok(None)) | Err(_) => Err(gave_up()),
        Ok(Err(e)) => Err(started(e)),
    }
}

/// The SDK's transport: one POST per query, to `http://127.0.0.1:{port}/query`.
pub struct Transport {
    http: Client,
    url: Url,
    authorization: String,
    found: Found,
    /// The first failure the SDK was told about, kept as an `opskit` error.
    first_failure: Arc<Mutex<Option<Error>>>,
}

impl Transport {
    pub fn new(session: &Session, build_timeout: Duration, debug: bool) -> Result<Self> {
        let http = Client::new(&HttpConfig {
            timeout: build_timeout,
            retries: 0,
            concurrency: 16,
            insecure: false,
            debug,
            timeout_flag: "--build-timeout",
        })?;
        let url = Url::parse(&format!("http://127.0.0.1:{}/query", session.port))
            .map_err(|e| Error::usage(format!("bad engine address: {e}")))?;
        // As the SDK does: the session token as a Basic user name with no password.
        let basic = base64::engine::general_purpose::URL_SAFE.encode(format!("{}:", session.token));
        Ok(Transport {
            http,
            url,
            authorization: format!("Basic {basic}"),
            found: session.found.clone(),
            first_failure: Arc::new(Mutex::new(None)),
        })
    }

    /// The first transport failure, if any, for errors the SDK reported badly.
    pub fn failure_slot(&self) -> Arc<Mutex<Option<Error>>> {
        self.first_failure.clone()
    }

    fn fail(&self, error: Error) -> GraphQLError {
        let message = error.message().to_owned();
        if let Ok(mut slot) = self.first_failure.lock() {
            slot.get_or_insert(error);
        }
        GraphQLError::HttpError(message)
    }

    async fn post(&self, query: &str) -> Result<serde_json::Value> {
        let what = format!(
            "the Dagger engine at 127.0.0.1:{} (from {})",
            self.url.port().unwrap_or(0),
            self.found
        );
        let body = serde_json::json!({ "query": query, "variables": null });
        let request = self
            .http
            .request(Method::POST, self.url.clone())
            .header(reqwest::header::AUTHORIZATION, &self.authorization)
            .json(&body);
        let started = std::time::Instant::now();
        let response = self.http.send(request).await.map_err(|e| {
            let e = e.context(format!("the Dagger engine (from {})", self.found));
            // Out of --build-timeout, the engine is busy, not gone: the client's own
            // hint (raise the flag) is the one that helps.
            if started.elapsed() >= self.http.timeout() {
                e
            } else {
                e.hint("is the engine still running? run the tool under `dagger run …`")
            }
        })?;
        let status = response.status();
        let bytes = http::read_body(response, &what).await?;
        if !status.is_success() {
            let said = String::from_utf8_lossy(&bytes);
            return Err(http::status_error(status, &what, said.trim()));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::remote(format!("{what} sent an answer that is not JSON ({e})"))
                .hint("the engine and this tool may not match: it speaks dagger 0.21")
        })
    }
}

#[derive(Deserialize)]
struct Answer {
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<serde_json::Value>,
}

#[async_trait]
impl GraphQLClient for Transport {
    async fn query(&self, query: &str) -> Result<Option<serde_json::Value>, GraphQLError> {
        let value = self.post(query).await.map_err(|e| self.fail(e))?;
        let answer: Answer = serde_json::from_value(value).map_err(|e| {
            self.fail(Error::remote(format!(
                "the Dagger engine's answer is not a GraphQL response ({e})"
            )))
        })?;
        if !answer.errors.is_empty() {
            let fields: Vec<GraphQLErrorMessage> = answer
                .errors
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    self.fail(Error::remote(format!(
                        "the Dagger engine sent an error the tool cannot read ({e})"
                    )))
                })?;
            let message = fields
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_default();
            return Err(GraphQLError::DomainError { message, fields });
        }
        match answer.data {
            Some(data) if !data.is_null() => Ok(Some(data)),
            _ => Err(self.fail(Error::remote(
                "the Dagger engine answered with no data and no error",
            ))),
        }
    }
}
