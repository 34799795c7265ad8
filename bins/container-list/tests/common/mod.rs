//! Shared set-up for the container-list end-to-end tests: a git repository with
//! containers, a command wired to a registry, and snapshot filters.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::Path;

use assert_cmd::Command;
use testkit::git::GitRepo;

/// A repository with a `containers/<name>/Dockerfile` for each name in `dockerfile`
/// and a `default.nix` for each in `nix`, in one commit on main.
pub fn ops_repo(dockerfile: &[&str], nix: &[&str]) -> GitRepo {
    let repo = GitRepo::new();
    for name in dockerfile {
        repo.write(
            &format!("containers/{name}/Dockerfile"),
            "FROM scratch\nARG CONTAINER_APP_VERSION=1.0.0\n",
        );
    }
    for name in nix {
        repo.write(
            &format!("containers/{name}/default.nix"),
            "{ }: { version = \"1.0.0\"; }\n",
        );
    }
    repo.commit("containers");
    repo
}

/// `container-list` against `registry`, with prefix `opskit`, run in `root`, with a
/// clean environment: no user docker config, no colour, no inherited settings.
pub fn container_list(root: &Path, registry: &str) -> Command {
    let mut cmd = Command::cargo_bin("container-list").expect("binary built");
    cmd.current_dir(root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", root)
        .env("DOCKER_CONFIG", root.join(".no-docker-config"))
        .env("NO_COLOR", "1")
        .args(["--registry", registry, "--image-prefix", "opskit"])
        .env("OPSKIT_TIMEOUT", "5")
        .env("OPSKIT_RETRIES", "1");
    cmd
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().expect("run container-list");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Replaces the registry's loopback address (its port changes per run).
pub fn filtered(text: &str, host: &str) -> String {
    text.replace(host, "[REGISTRY]")
}
