//! Real `mise` running the repo's own task definitions, isolated: mise's config, data,
//! cache and state live in a temporary home, so neither the developer's mise setup nor
//! another test can change what a test sees.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary project whose `mise.toml` holds the repo's `[env]` and one task exactly
/// as the repo's `mise.toml` declares them (usage spec included), with the runner
/// script's path made absolute so the task works outside the repo. `{{config_root}}`
/// in `[env]` is the temporary project.
pub struct TaskSandbox {
    dir: tempfile::TempDir,
    task: String,
}

impl TaskSandbox {
    pub fn from_repo(task: &str) -> Self {
        let root = repo_root();
        let mise_toml = std::fs::read_to_string(root.join("mise.toml")).expect("read mise.toml");
        let section = mise_toml
            .split("\n[tasks.")
            .find(|s| s.starts_with(&format!("{task}]")) || s.starts_with(&format!("\"{task}\"]")))
            .unwrap_or_else(|| panic!("mise.toml has no task {task}"));
        let script = root.join("scripts/mise-run-tool");
        let section = section.replace(
            "run = \"{{config_root}}/scripts/mise-run-tool ",
            &format!("run = \"bash {} ", script.display()),
        );
        let env = mise_toml
            .split("\n[")
            .find(|s| s.starts_with("env]"))
            .map(|env| format!("[{env}\n"))
            .unwrap_or_default();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("mkdir home");
        std::fs::write(
            dir.path().join("mise.toml"),
            format!("{env}[tasks.{section}\n"),
        )
        .expect("write mise.toml");
        TaskSandbox {
            dir,
            task: task.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mise run --quiet <task>`, taking the tools from `bin_dir` (no rebuild).
    pub fn command(&self, bin_dir: &Path) -> Command {
        let mut command = self.mise();
        command
            .args(["run", "--quiet", &self.task])
            .env("OPSKIT_BIN_DIR", bin_dir);
        command
    }

    /// `mise` with no arguments, in the project, isolated from the caller's
    /// environment and mise setup (e.g. for `mise tasks info <task> --json`).
    pub fn mise(&self) -> Command {
        let home = self.dir.path().join("home");
        let mut command = Command::new("mise");
        command
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env("MISE_TRUSTED_CONFIG_PATHS", self.dir.path())
            .env("MISE_YES", "1")
            .env("MISE_CONFIG_DIR", home.join(".config/mise"))
            .env("MISE_DATA_DIR", home.join(".local/share/mise"))
            .env("MISE_CACHE_DIR", home.join(".cache/mise"))
            .env("MISE_STATE_DIR", home.join(".local/state/mise"));
        command
    }
}

/// The opskit repository this testkit is part of.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("testkit lives in the repo")
        .to_path_buf()
}
