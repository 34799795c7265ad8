//! Running a pipeline, and saying clearly why it failed.
//!
//! The engine reports a failing command as an `EXEC_ERROR` with its `cmd`, exit code,
//! stdout and stderr, but not which step of ours it was. So every command a pipeline
//! runs goes through [`Pipeline::exec`], which records its stage, step name and
//! arguments; a failure is matched back by its `cmd`. A command we did not record (a
//! Dockerfile's `RUN`) is reported by its command line.
//!
//! The SDK resolves object ids with `unwrap` and unwraps a missing `data`: a broken
//! engine answer panics inside it. The pipeline therefore runs as a spawned task with a
//! quiet panic hook; a panic becomes the transport failure that caused it (kept by
//! [`crate::engine::Transport`]) or, failing that, a plain exit-3 error — never a
//! backtrace on a user's terminal.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dagger_sdk::core::gql_client::GraphQlExtension;
use dagger_sdk::core::graphql_client::GraphQLError;
use dagger_sdk::errors::DaggerError;
use dagger_sdk::{Container, Id, Query, Selection};
use opskit::error::{Error, Kind, Result};

use crate::engine::{Session, Transport};

/// How many lines of a failing command's stderr an error shows.
pub const STDERR_TAIL_LINES: usize = 20;

/// A pipeline's handle on the engine: the SDK client plus the record of its steps.
#[derive(Clone)]
pub struct Pipeline {
    client: Query,
    record: Arc<Mutex<Record>>,
}

#[derive(Default)]
struct Record {
    steps: Vec<Step>,
    /// Secret values handed to the engine: removed from anything it says back.
    secrets: Vec<String>,
}

/// One command a pipeline runs, as recorded by [`Pipeline::exec`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub stage: String,
    pub name: String,
    pub cmd: Vec<String>,
}

impl Pipeline {
    pub fn new(client: Query) -> Self {
        Pipeline {
            client,
            record: Arc::new(Mutex::new(Record::default())),
        }
    }

    /// The SDK's root query, for what the helpers do not cover.
    pub fn client(&self) -> &Query {
        &self.client
    }

    /// Runs `args` in `container` as step `name` of `stage`, remembering which step it
    /// is so a failure can be reported by name.
    pub fn exec(&self, container: &Container, stage: &str, name: &str, args: &[&str]) -> Container {
        if let Ok(mut record) = self.record.lock() {
            record.steps.push(Step {
                stage: stage.to_owned(),
                name: name.to_owned(),
                cmd: args.iter().map(|a| (*a).to_owned()).collect(),
            });
        }
        container.with_exec(args.to_vec())
    }

    /// A secret for the engine, resolved to its id at once (the SDK would otherwise
    /// resolve it later with `unwrap`). The value never appears in an error of ours.
    pub async fn secret(&self, name: &str, plaintext: &str) -> Result<Id, DaggerError> {
        if let Ok(mut record) = self.record.lock() {
            record.secrets.push(plaintext.to_owned());
        }
        self.client.set_secret(name, plaintext).id().await
    }

    /// The step whose command is `cmd`, if a pipeline ran it through [`Pipeline::exec`].
    pub fn step_for(&self, cmd: &[String]) -> Option<Step> {
        let record = self.record.lock().ok()?;
        record
            .steps
            .iter()
            .rev()
            .find(|step| step.cmd == cmd)
            .cloned()
    }

    fn redact(&self, text: &str) -> String {
        let Ok(record) = self.record.lock() else {
            return text.to_owned();
        };
        record
            .secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(text.to_owned(), |text, secret| {
                text.replace(secret.as_str(), "***")
            })
    }
}

/// Runs `body` against the engine of `session` and maps whatever went wrong to one
/// error: the failing step, a refused push, an unreachable or broken engine.
pub async fn run<T, F, Fut>(
    session: &Session,
    build_timeout: Duration,
    debug: bool,
    body: F,
) -> Result<T>
where
    F: FnOnce(Pipeline) -> Fut,
    Fut: Future<Output = Result<T, DaggerError>> + Send + 'static,
    T: Send + 'static,
{
    let transport = Transport::new(session, build_timeout, debug)?;
    let failure = transport.failure_slot();
    let pipeline = Pipeline::new(Query {
        proc: None,
        selection: Selection::default(),
        graphql_client: Arc::new(transport),
    });

    let quiet = QuietPanics::install();
    let outcome = tokio::spawn(body(pipeline.clone())).await;
    let panic_message = quiet.finish();
    let kept = || failure.lock().ok().and_then(|mut slot| slot.take());
    let error = match outcome {
        Ok(Ok(value)) => return Ok(value),
        Ok(Err(error)) => describe(&error, &pipeline, kept()),
        Err(_) => kept().unwrap_or_else(|| {
            Error::remote(format!(
                "the Dagger SDK could not use the engine's answer{}",
                panic_message.map(|m| format!(" ({m})")).unwrap_or_default()
            ))
            .hint("the engine and this tool may not match: it speaks dagger 0.21")
        }),
    };
    // Whichever way it failed, what the engine said back may quote a secret handed to
    // it (a step's stderr, an HTTP error's body, a panic's message).
    Err(error.map_text(|text| pipeline.redact(text)))
}

/// A panic hook that records instead of printing, for the life of one pipeline run.
struct QuietPanics {
    message: Arc<Mutex<Option<String>>>,
}

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

static PREVIOUS_HOOK: Mutex<Option<PanicHook>> = Mutex::new(None);

impl QuietPanics {
    fn install() -> Self {
        let message = Arc::new(Mutex::new(None));
        let slot = message.clone();
        let previous = std::panic::take_hook();
        if let Ok(mut keep) = PREVIOUS_HOOK.lock() {
            *keep = Some(previous);
        }
        std::panic::set_hook(Box::new(move |info| {
            let text = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned());
            if let Ok(mut slot) = slot.lock() {
                *slot = text;
            }
        }));
        QuietPanics { message }
    }

    fn finish(self) -> Option<String> {
        let _ = std::panic::take_hook();
        if let Some(previous) = PREVIOUS_HOOK.lock().ok().and_then(|mut keep| keep.take()) {
            std::panic::set_hook(previous);
        }
        self.message.lock().ok().and_then(|mut m| m.take())
    }
}

/// ` [traceparent:00-…-01]`, which the engine appends to its messages.
fn strip_traceparent(message: &str) -> &str {
    match message.find(" [traceparent:") {
        Some(at) => message[..at].trim_end(),
        None => message.trim_end(),
    }
}

/// The last `n` non-empty lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

fn describe(error: &DaggerError, pipeline: &Pipeline, kept: Option<Error>) -> Error {
    match error {
        DaggerError::Query(GraphQLError::DomainError { message, fields }) => {
            let exec = fields.iter().find_map(|f| match &f.extensions {
                Some(GraphQlExtension::ExecError {
                    cmd,
                    exit_code,
                    stderr,
                    ..
                }) => Some((cmd, *exit_code, stderr)),
                _ => None,
            });
            match exec {
                Some((cmd, exit_code, stderr)) => step_failed(pipeline, cmd, exit_code, stderr),
                None => engine_refused(strip_traceparent(message)),
            }
        }
        DaggerError::Query(GraphQLError::HttpError(message)) => {
            kept.unwrap_or_else(|| Error::remote(format!("the Dagger engine failed: {message}")))
        }
        DaggerError::Unpack(e) => kept.unwrap_or_else(|| {
            Error::remote(format!(
                "the Dagger engine's answer has an unexpected shape ({e})"
            ))
            .hint("the engine and this tool may not match: it speaks dagger 0.21")
        }),
        other => kept.unwrap_or_else(|| Error::remote(format!("Dagger: {other}"))),
    }
}

/// A command in the build exited non-zero: the build failed (exit 1).
fn step_failed(pipeline: &Pipeline, cmd: &[String], exit_code: i32, stderr: &str) -> Error {
    let command = cmd.join(" ");
    let what = match pipeline.step_for(cmd) {
        Some(step) => format!("step '{}' of stage '{}'", step.name, step.stage),
        None => "a build step".to_owned(),
    };
    let mut error = Error::new(
        Kind::Failed,
        format!("{what} failed: `{command}` exited with {exit_code}"),
    );
    let lines = tail(stderr, STDERR_TAIL_LINES);
    if !lines.is_empty() {
        error = error.hint(format!("its stderr ended with:\n{}", indent(&lines)));
    }
    error
}

pub(crate) fn indent(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| format!("    | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// An error the engine raised itself (a refused push, a bad Dockerfile, a pull).
fn engine_refused(message: &str) -> Error {
    let lower = message.to_ascii_lowercase();
    if [
        "401",
        "403",
        "unauthorized",
        "denied",
        "authentication required",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        return Error::remote(format!("the registry refused the push: {message}")).hint(
            "check REGISTRY_USERNAME and REGISTRY_PASSWORD (or --username/--password) \
             for this registry",
        );
    }
    Error::new(
        Kind::Failed,
        format!("the Dagger engine could not build: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_suffix_is_stripped_and_the_message_kept() {
        assert_eq!(
            strip_traceparent(
                "process \"go build\" did not complete successfully: exit code: 2 [traceparent:00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01]"
            ),
            "process \"go build\" did not complete successfully: exit code: 2"
        );
        assert_eq!(strip_traceparent("plain message"), "plain message");
    }

    #[test]
    fn stderr_tail_keeps_the_last_non_empty_lines() {
        assert_eq!(tail("a\n\nb\nc\n\n", 2), vec!["b", "c"]);
        assert_eq!(tail("only\n", 20), vec!["only"]);
    }

    #[test]
    fn refused_push_is_a_remote_error_with_a_credentials_hint() {
        let error = engine_refused("failed to push 127.0.0.1:5000/x: 401 Unauthorized");
        assert_eq!(error.exit_code(), 3);
        assert!(error.hints()[0].contains("REGISTRY_PASSWORD"));
        assert_eq!(
            engine_refused("dockerfile parse error line 3").exit_code(),
            1
        );
    }
}

#[cfg(test)]
mod engine_tests {
    use super::*;
    use crate::engine::{Lookup, connect};
    use testkit::dagger::{FakeEngine, RawAnswer};

    /// Runs `body` as a pipeline against `engine` and gives the error it must end in.
    async fn failure_of<F, Fut>(engine: &FakeEngine, body: F) -> Error
    where
        F: FnOnce(Pipeline) -> Fut,
        Fut: Future<Output = Result<(), DaggerError>> + Send + 'static,
    {
        let session = connect(&Lookup {
            session_port: Some(engine.port().to_string()),
            session_token: Some(engine.token().to_owned()),
            ..Lookup::default()
        })
        .await
        .expect("a session from the variables");
        run(&session, Duration::from_secs(5), false, body)
            .await
            .expect_err("the pipeline fails")
    }

    #[tokio::test]
    async fn a_panic_in_the_sdk_on_a_lazily_resolved_id_becomes_the_engines_error() {
        // The directory's id is resolved by the SDK inside the chain, with `unwrap`.
        let engine = FakeEngine::builder()
            .answer_raw("id", RawAnswer::NullData)
            .start();
        let error = failure_of(&engine, |pipeline| async move {
            let client = pipeline.client();
            let dir = client.host().directory("/tmp");
            client
                .container()
                .from("alpine:3.22")
                .with_directory("/src", dir)
                .sync()
                .await?;
            Ok(())
        })
        .await;
        assert_eq!(error.exit_code(), 3);
        assert_eq!(
            error.message(),
            "the Dagger engine answered with no data and no error"
        );
    }

    #[tokio::test]
    async fn a_panic_with_no_engine_failure_behind_it_is_still_an_exit_3_error() {
        let engine = FakeEngine::start();
        let error = failure_of(&engine, |_pipeline| async move {
            if std::hint::black_box(true) {
                std::panic::panic_any("an SDK invariant");
            }
            Ok(())
        })
        .await;
        assert_eq!(error.exit_code(), 3);
        assert_eq!(
            error.message(),
            "the Dagger SDK could not use the engine's answer (an SDK invariant)"
        );
    }

    /// Publishes with the registry password `hunter2-secret` handed over as a secret.
    async fn publish_with_password(pipeline: Pipeline) -> Result<(), DaggerError> {
        let secret = pipeline.secret("pw", "hunter2-secret").await?;
        pipeline
            .client()
            .container()
            .from("alpine:3.22")
            .with_registry_auth("127.0.0.1:5999/x", "ci", secret)
            .publish("127.0.0.1:5999/x:v1")
            .await?;
        Ok(())
    }

    #[tokio::test]
    async fn secrets_are_redacted_from_what_the_engine_says_back() {
        let engine = FakeEngine::builder()
            .refuse_publish("failed to push {address}: password hunter2-secret rejected")
            .start();
        let error = failure_of(&engine, publish_with_password).await;
        assert!(
            !error.message().contains("hunter2-secret"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains("password *** rejected"),
            "{}",
            error.message()
        );
    }

    #[tokio::test]
    async fn a_secret_an_engine_error_page_echoes_is_redacted_too() {
        let engine = FakeEngine::builder()
            .answer_raw(
                "publish",
                RawAnswer::Status(
                    500,
                    "query failed: setSecret(plaintext: \"hunter2-secret\")".into(),
                ),
            )
            .start();
        let error = failure_of(&engine, publish_with_password).await;
        assert_eq!(error.exit_code(), 3);
        assert!(
            error.message().contains("setSecret(plaintext: \"***\")"),
            "{}",
            error.message()
        );
    }
}
