//! A Dagger engine for tests: the GraphQL session endpoint of dagger engine v0.21.11
//! as dagger-sdk 0.21.11 (the Rust SDK) uses it.
//!
//! No engine can run here (it is a container image the dagger CLI starts), so this
//! mirrors what the SDK sees of one (this-machine.md §2, read from the SDK's
//! src/core/gql_client.rs, src/querybuilder.rs and src/gen.rs, and the CLI's session
//! server, dagger/dagger engine/client/client.go `ServeHTTP`):
//!
//! - `POST http://127.0.0.1:{DAGGER_SESSION_PORT}/query`, JSON body
//!   `{"query":"…","variables":null}` (`variables` may also be absent or `{}`);
//! - `Authorization: Basic base64("<DAGGER_SESSION_TOKEN>:")`. A missing or wrong
//!   token gets what the session server answers: `401`,
//!   `WWW-Authenticate: Basic realm="Access to the Dagger engine session"`, no body
//!   (the SDK then fails to parse the empty body as JSON);
//! - one selection chain per query (see [`Query`]), answered nested along the
//!   selection path, `{"data":{"container":{"from":{"withExec":{"stdout":""}}}}}`,
//!   aliases as keys, inline fragments adding no level (as the SDK unpacks them);
//! - object arguments as ids: `id` and `sync` answer a fresh `"fake-id-N"`, and the
//!   engine remembers the chain each stands for ([`FakeEngine::resolve_id`]); an id
//!   it never issued is an error, as an undecodable id is for the real engine;
//! - laziness: a chain is evaluated only when its leaf is not `id`; evaluating runs
//!   each of its `withExec`s, after the chains its id arguments stand for
//!   ([`FakeEngine::execs`] records them);
//! - leaf answers: `publish(address)` → `"<address>@sha256:<sha256 of address>"`,
//!   `export(path)` writes a placeholder at that host path (a file for Container and
//!   File, a directory for Directory) and answers the path, `stdout`/`stderr`/
//!   `contents` → `""`, `exitCode` → `0`, `digest` → `"sha256:…"`, anything else
//!   `null`; [`Builder::answer`] overrides one;
//! - errors as the engine gives them, HTTP 200 with `{"data":null,"errors":[…]}`: a
//!   failing exec's `EXEC_ERROR` (message `process "<cmd>" did not complete
//!   successfully: exit code: N [traceparent:…]`, `extensions` with `_type`, `cmd`,
//!   `exitCode`, `stdout`, `stderr`), a refused push (message only); a query it
//!   cannot parse gets gqlgen's `422` with `GRAPHQL_PARSE_FAILED` (an assumption).
//!
//! Where this knowingly differs: the session server decodes Basic auth with Go's
//! standard base64 while the SDK sends URL-safe; both are accepted here, so a token
//! whose encodings differ works here and might not against a real engine.
//!
//! Broken engines ([`RawAnswer`]: `{"data":null}` with no errors, a non-JSON body, a
//! 500, a closed connection) are there because the SDK panics on some of them, and
//! the pipeline has to turn each into a clear error.
//!
//! Every request is recorded (query text, parsed chain, `Authorization` header), so
//! tests can assert chains structurally (the SDK's argument order varies between
//! runs) and that a secret appears only in `setSecret(plaintext:…)`.
//!
//! Layout: `query` parses the SDK's query text, `spec` holds the builder and the
//! running engine's accessors, `answer` the endpoint (auth, ids, evaluation, JSON).

mod answer;
mod query;
mod spec;
#[cfg(test)]
mod tests;

pub use answer::{EXPORTED_ARCHIVE, EXPORTED_FILE};
pub use query::{Field, ParseError, Query};
pub use spec::{ArgMatch, Builder, DEFAULT_TOKEN, FailExec, FakeEngine, RawAnswer};

/// The variables through which a tool finds a real engine (`dagger run` sets the first
/// two), copied from the test process to `command`, whose environment
/// `testkit::cli::command` cleared: for the tests that run only under a real engine.
pub fn pass_real_engine(command: &mut std::process::Command) -> &mut std::process::Command {
    for name in [
        "DAGGER_SESSION_PORT",
        "DAGGER_SESSION_TOKEN",
        "_EXPERIMENTAL_DAGGER_CLI_BIN",
    ] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}
