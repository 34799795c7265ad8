//! The shape every tool's `main` shares: parse, run one library function, map the
//! result to an exit code.
//!
//! A tool's `main` is `opskit::cli::main::<Args>(command::run)`. Errors are printed
//! here and only here, as `error: <what failed>` plus `hint:` lines on stderr, so every
//! tool reports failures the same way and a script can rely on the exit code alone.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

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

/// Parses the process arguments into `A`, runs `command`, and turns the outcome into
/// the process exit code.
pub fn main<A: Parser>(command: impl FnOnce(A) -> Result<()>) -> ExitCode {
    let args = A::parse();
    finish(command(args))
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

/// Runs a future to completion on a runtime made for this one call.
///
/// The tools are short-lived; a current-thread runtime starts in microseconds and is
/// enough, because all waiting is on the network and concurrency comes from futures.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime needs no OS resources that can be missing")
        .block_on(future)
}
