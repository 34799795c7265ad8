//! Running a tool's binary the way a user or workflow does, with the environment
//! pinned so the output is the same on every machine.

use std::path::Path;
use std::process::Command;

/// What a run of a tool left behind.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code; -1 if the process was killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `bin` in `dir` with an empty environment but `PATH` (and `HOME` = `dir`), so no
/// setting, token, docker config or colour preference of the developer's shell (or of
/// mise) leaks into a test. Output is piped, so the tools print plain text.
pub fn command(bin: &Path, dir: &Path) -> Command {
    let mut command = Command::new(bin);
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir);
    command
}

/// Runs a prepared command and collects its outcome.
pub fn output(command: &mut Command) -> Outcome {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", command.get_program()));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `bin` in `dir` with `args` and only the given environment (see [`command`]).
pub fn run(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    output(command(bin, dir).args(args).envs(env.iter().copied()))
}

/// Which of a tool's output streams a test hands it already closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    Stdout,
    Stderr,
    Both,
}

/// Runs a prepared command with `closed` connected to pipes whose reading end is gone
/// before the tool starts, as `tool | head -0` or `tool 2>&- …` leave it: every write
/// there fails with `EPIPE`. The other stream is collected as usual.
pub fn output_into_closed(command: &mut Command, closed: Closed) -> Outcome {
    let closed_pipe = || {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        writer
    };
    if matches!(closed, Closed::Stdout | Closed::Both) {
        command.stdout(closed_pipe());
    }
    if matches!(closed, Closed::Stderr | Closed::Both) {
        command.stderr(closed_pipe());
    }
    output(command)
}
