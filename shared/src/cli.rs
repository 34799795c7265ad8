//! The shape every tool's `main` shares: parse, run one library function, map the
//! result to an exit code.
//!
//! A tool's `main` is `opskit::cli::main::<Args>(command::run)`. Errors are printed
//! here and only here, as `error: <what failed>` plus `hint:` lines on stderr, so every
//! tool reports failures the same way and a script can rely on the exit code alone.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use std::sync::OnceLock;

use clap::{CommandFactory, Parser};

use crate::error::{Error, Kind, Result};
use crate::output::{ColorChoice, Paint, Style};

/// The exit-code table, appended to every tool's `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  the check or job failed (mismatch, failed job, missing pin)
  2  usage or bad input (bad flag, malformed file, ref that does not resolve)
  3  remote unreachable or refused (network, timeout, 401/403, 5xx after retries)
  4  not found (unknown container, run, job or repository)";

/// The version line of every tool: the workspace version and the commit it was built
/// from (empty outside a git checkout).
pub const VERSION: &str = match env!("OPSKIT_COMMIT").as_bytes() {
    b"" => env!("CARGO_PKG_VERSION"),
    _ => concat!(env!("CARGO_PKG_VERSION"), " (", env!("OPSKIT_COMMIT"), ")"),
};

/// A tool's clap command, named as its binary and carrying [`VERSION`]: what `main`
/// parses with, and what man pages, completions and the CLI reference are made from,
/// so they cannot disagree with the tool.
pub fn command<A: CommandFactory>(name: &'static str) -> clap::Command {
    A::command().name(name).bin_name(name).version(VERSION)
}

/// Parses the process arguments into `A` (the tool called `name`), runs `command`, and
/// turns the outcome into the process exit code.
pub fn main<A: Parser>(name: &'static str, command: impl FnOnce(A) -> Result<()>) -> ExitCode {
    let args = self::command::<A>(name)
        .try_get_matches()
        .and_then(|matches| A::from_arg_matches(&matches));
    match args {
        Ok(args) => finish(command(args)),
        // clap prints help, versions and usage errors itself (exit 0 or 2), and
        // ignores a closed stdout while doing so.
        Err(err) => err.exit(),
    }
}

/// Prints an error (if any) to stderr and picks the exit code.
pub fn finish(result: Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if err.kind() == Kind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            report_error(&err);
            ExitCode::from(err.exit_code())
        }
    }
}

fn report_error(err: &Error) {
    let style = Style {
        color: ColorChoice::Auto.resolve(std::io::stderr().is_terminal()),
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "{} {}",
        style.paint(Paint::Red, "error:"),
        err.message()
    );
    for hint in err.hints() {
        let _ = writeln!(stderr, "  {} {hint}", style.paint(Paint::Blue, "hint:"));
    }
}

/// Runs a future to completion on the process's one runtime.
///
/// The tools are short-lived and all their waiting is on the network, so one
/// current-thread runtime, made on first use and kept for the life of the process, is
/// enough: concurrency comes from futures. Keeping it means connection pools, the
/// registry's probe and its auth token outlive one `block_on` call.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread tokio runtime needs no OS resources that can be missing")
        })
        .block_on(future)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser)]
    #[command(version)]
    struct Sample {}

    #[test]
    fn version_names_the_tool_not_the_library_and_carries_the_commit() {
        let version = command::<Sample>("sample-tool").render_version();
        assert!(version.starts_with("sample-tool 0."), "{version}");
        let commit = env!("OPSKIT_COMMIT");
        assert!(version.contains(commit), "{version} lacks {commit}");
    }

    #[test]
    fn block_on_reuses_one_runtime() {
        let first = block_on(async { tokio::runtime::Handle::current().id() });
        let second = block_on(async { tokio::runtime::Handle::current().id() });
        assert_eq!(first, second);
    }
}
