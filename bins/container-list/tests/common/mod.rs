//! Shared set-up for the container-list end-to-end tests: a git repository with
//! containers, a command wired to a registry, and snapshot filters.

#![allow(dead_code)] // each test binary uses a different part of this module

use std::path::Path;

use std::process::Command;
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
    container_list_under(root, registry, "opskit")
}

/// [`container_list`] with another image prefix.
pub fn container_list_under(root: &Path, registry: &str, prefix: &str) -> Command {
    let mut cmd = testkit::cli::command(Path::new(env!("CARGO_BIN_EXE_container-list")), root);
    cmd.env("DOCKER_CONFIG", root.join(".no-docker-config"))
        .args(["--registry", registry, "--image-prefix", prefix])
        .env("OPSKIT_TIMEOUT", "5")
        .env("OPSKIT_RETRIES", "1");
    cmd
}

pub use testkit::cli::output as run;

/// Replaces the registry's loopback address (its port changes per run).
pub fn filtered(text: &str, host: &str) -> String {
    text.replace(host, "[REGISTRY]")
}
