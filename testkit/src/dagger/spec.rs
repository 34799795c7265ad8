//! What a test asks of the engine (the builder and its faults) and the running
//! engine's records.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;

use super::answer::{Engine, router};
use super::{Field, Query};

/// A `withExec` that fails: the engine answers the evaluating request with an
/// `EXEC_ERROR` carrying this exit code and output.
#[derive(Clone, Debug)]
pub struct FailExec {
    pub when: ArgMatch,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Which `withExec(args:[…])` a [`FailExec`] hits.
#[derive(Clone, Debug)]
pub enum ArgMatch {
    /// One element of `args` equals this (`"go"` hits `["go","build"]`, not `["cargo"]`).
    Element(String),
    /// One element of `args` contains this (`"nix-build"` hits
    /// `["sh","-c","nix-build default.nix && cp -L result /out"]`).
    Contains(String),
}

impl FailExec {
    /// Fails every evaluated `withExec` one of whose args equals `arg`.
    pub fn on_arg(arg: &str, exit_code: i32) -> Self {
        Self::new(ArgMatch::Element(arg.to_owned()), exit_code)
    }

    /// Fails every evaluated `withExec` one of whose args contains `text`.
    pub fn on_text(text: &str, exit_code: i32) -> Self {
        Self::new(ArgMatch::Contains(text.to_owned()), exit_code)
    }

    fn new(when: ArgMatch, exit_code: i32) -> Self {
        FailExec {
            when,
            exit_code,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    pub fn stdout(mut self, stdout: &str) -> Self {
        self.stdout = stdout.to_owned();
        self
    }

    pub fn stderr(mut self, stderr: &str) -> Self {
        self.stderr = stderr.to_owned();
        self
    }

    pub(super) fn hits(&self, args: &[String]) -> bool {
        match &self.when {
            ArgMatch::Element(want) => args.iter().any(|a| a == want),
            ArgMatch::Contains(want) => args.iter().any(|a| a.contains(want.as_str())),
        }
    }
}

/// A broken answer, given instead of the real one to every request whose leaf is the
/// one named in [`Builder::answer_raw`].
#[derive(Clone, Debug)]
pub enum RawAnswer {
    /// `200 {"data":null}` with no `errors`: dagger-sdk 0.21.11 `Selection::execute`
    /// unwraps the missing data and panics.
    NullData,
    /// `200` with this body, which is not JSON.
    NotJson(String),
    /// This status and plain-text body (a 500 from a dying engine or a proxy).
    Status(u16, String),
    /// The connection is closed before any answer is written.
    Hangup,
    /// No answer for this long (a build still running), then the connection closes.
    Stall(std::time::Duration),
}

/// How `publish` is refused.
#[derive(Clone, Debug)]
pub(super) enum PublishRefusal {
    Message(String),
    Unauthorized,
}

/// Configures and starts a [`FakeEngine`].
#[derive(Clone, Debug)]
pub struct Builder {
    pub(super) token: String,
    pub(super) fail_execs: Vec<FailExec>,
    pub(super) refuse_publish: Option<PublishRefusal>,
    pub(super) raw: Vec<(String, RawAnswer)>,
    pub(super) answers: Vec<(String, Value)>,
}

/// The token a [`FakeEngine`] expects unless [`Builder::token`] says otherwise.
pub const DEFAULT_TOKEN: &str = "fake-dagger-session-token";

impl Builder {
    /// The session token clients must present (`DAGGER_SESSION_TOKEN`).
    pub fn token(mut self, token: &str) -> Self {
        self.token = token.to_owned();
        self
    }

    /// Evaluated `withExec`s matching `fail` fail (the first matching rule wins).
    pub fn fail_exec(mut self, fail: FailExec) -> Self {
        self.fail_execs.push(fail);
        self
    }

    /// Every `publish` is refused with this message (`{address}` is replaced by the
    /// address published to), as a plain GraphQL error without extensions.
    pub fn refuse_publish(mut self, message: &str) -> Self {
        self.refuse_publish = Some(PublishRefusal::Message(message.to_owned()));
        self
    }

    /// Every `publish` is refused as BuildKit reports a registry's 401:
    /// `failed to export: failed to push ADDRESS: unexpected status from HEAD request
    /// to http://REGISTRY/v2/REPOSITORY/blobs/sha256:…: 401 Unauthorized`.
    pub fn refuse_publish_unauthorized(mut self) -> Self {
        self.refuse_publish = Some(PublishRefusal::Unauthorized);
        self
    }

    /// Requests whose leaf field is `leaf` (`"publish"`, `"id"`, `"stdout"`, …) get
    /// this broken answer instead, before anything is evaluated.
    pub fn answer_raw(mut self, leaf: &str, answer: RawAnswer) -> Self {
        self.raw.push((leaf.to_owned(), answer));
        self
    }

    /// Requests whose leaf field is `leaf` answer `value` there instead of the default
    /// (`""` for `stdout`, `null` for unknown fields); the chain is still evaluated.
    pub fn answer(mut self, leaf: &str, value: Value) -> Self {
        self.answers.push((leaf.to_owned(), value));
        self
    }

    /// Starts the engine on a free loopback port, on its own thread and runtime.
    pub fn start(self) -> FakeEngine {
        let engine = Arc::new(Engine::new(self));
        let app = router(engine.clone());
        let (addr, stop_tx) = crate::serve::spawn(app);
        FakeEngine {
            addr,
            engine,
            _stop: stop_tx,
        }
    }
}

/// A running test engine; stops when dropped.
pub struct FakeEngine {
    addr: SocketAddr,
    engine: Arc<Engine>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl FakeEngine {
    pub fn builder() -> Builder {
        Builder {
            token: DEFAULT_TOKEN.to_owned(),
            fail_execs: Vec::new(),
            refuse_publish: None,
            raw: Vec::new(),
            answers: Vec::new(),
        }
    }

    /// A healthy engine expecting [`DEFAULT_TOKEN`].
    pub fn start() -> FakeEngine {
        Self::builder().start()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn token(&self) -> &str {
        &self.engine.spec.token
    }

    /// `http://127.0.0.1:PORT/query`, where the SDK posts.
    pub fn url(&self) -> String {
        format!("http://{}/query", self.addr)
    }

    /// `DAGGER_SESSION_PORT` and `DAGGER_SESSION_TOKEN`, as `dagger run` sets them,
    /// for `Command::envs`.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            ("DAGGER_SESSION_PORT", self.port().to_string()),
            ("DAGGER_SESSION_TOKEN", self.token().to_owned()),
        ]
    }

    /// Every query that was authorised and parsed, in order.
    pub fn queries(&self) -> Vec<Query> {
        self.engine.log().queries.clone()
    }

    /// The `query` text of every request, in order, refused ones too (the whole body
    /// when it had no `query` string).
    pub fn raw_queries(&self) -> Vec<String> {
        self.engine
            .log()
            .requests
            .iter()
            .map(|r| r.query_text.clone())
            .collect()
    }

    /// The `Authorization` header of every request, in order (`None` when absent).
    pub fn auth_headers(&self) -> Vec<Option<String>> {
        self.engine
            .log()
            .requests
            .iter()
            .map(|r| r.authorization.clone())
            .collect()
    }

    /// The chain an id this engine issued stands for: the chain of the `id` or `sync`
    /// request, without that leaf. `None` for an id it never issued.
    pub fn resolve_id(&self, id: &str) -> Option<Query> {
        self.engine.resolve(&self.engine.log(), id).cloned()
    }

    /// The chain that the id in `field`'s argument `arg` stands for; panics when the
    /// argument is missing or is no id this engine issued.
    pub fn resolve_arg(&self, field: &Field, arg: &str) -> Query {
        let id = field
            .arg_str(arg)
            .unwrap_or_else(|| panic!("{} has no string argument {arg}: {field:?}", field.name));
        self.resolve_id(id).unwrap_or_else(|| {
            panic!(
                "{id} (in {}({arg}:)) is no id this engine issued",
                field.name
            )
        })
    }

    /// The one query whose leaf is `leaf` (`"publish"`, `"stdout"`, …); panics, listing
    /// every query, when there is none or more than one.
    pub fn only(&self, leaf: &str) -> Query {
        let mut found: Vec<Query> = self
            .queries()
            .into_iter()
            .filter(|q| q.leaf() == leaf)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one {leaf} query: {:#?}",
            self.raw_queries()
        );
        found.remove(0)
    }

    /// The `args` of every `withExec` the engine evaluated, in order, once per
    /// evaluation (the SDK re-sends whole chains, so one step can run more than once).
    pub fn execs(&self) -> Vec<Vec<String>> {
        self.engine.log().execs.clone()
    }
}
