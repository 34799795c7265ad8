//! Real git repositories for tests, made with the real `git` binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A throw-away git repository in a temporary directory.
pub struct GitRepo {
    dir: tempfile::TempDir,
}

impl GitRepo {
    /// `git init -b main` with a fixed identity and no user or system config, so the
    /// test sees the same git whatever machine runs it.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("create temp dir");
        let repo = GitRepo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating directories) relative to the repository root.
    pub fn write(&self, rel: &str, contents: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write file");
        self
    }

    pub fn remove(&self, rel: &str) -> &Self {
        std::fs::remove_file(self.path().join(rel)).expect("remove file");
        self
    }

    /// Stages everything and commits; returns the new commit's full SHA.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Runs git in the repository and returns its stdout; panics with stderr on failure.
    pub fn git(&self, args: &[&str]) -> String {
        run_git(self.path(), args)
    }

    /// A shallow clone (`--depth N`) of this repository, checked out at its HEAD branch.
    pub fn shallow_clone(&self, depth: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("create temp dir");
        let dest = dir.path().join("clone");
        let src = format!("file://{}", self.path().display());
        run_git(
            dir.path(),
            &["clone", "-q", "--depth", &depth.to_string(), &src, "clone"],
        );
        (dir, dest)
    }
}

impl Default for GitRepo {
    fn default() -> Self {
        Self::new()
    }
}

/// Runs git in `dir` with a fixed identity and dates and no global config.
pub fn run_git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("git output is UTF-8")
}
