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

/// Settings from the developer's shell (or mise) that would change what a test sees.
const AMBIENT: &[&str] = &[
    "OPSKIT_REPO_ROOT",
    "GITHUB_BASE_REF",
    "NIX_PATH",
    "REGISTRY",
    "IMAGE_PREFIX",
    "FORGE_URL",
    "FORGE_REPO",
    "FORGEJO_TOKEN",
    "CLICOLOR_FORCE",
];

/// Runs `bin` in `dir` with `args` and the extra `env`, without colour and without
/// the ambient settings above.
pub fn run(bin: &Path, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut command = Command::new(bin);
    command.args(args).current_dir(dir).env("NO_COLOR", "1");
    for name in AMBIENT {
        command.env_remove(name);
    }
    let out = command
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}
