//! release-docs when the reader of its output goes away (`V=$(release-docs version |
//! head -1)`, a closed stderr under a workflow runner): every step exits 0 in every
//! mode, `--json` and `--debug` too, a step that changes things finishes its work (only
//! its output is dropped), and an error keeps its exit code.

mod common;

use std::path::Path;
use std::process::Command;

use testkit::cli::{Closed, output_into_closed};
use testkit::dagger::FakeEngine;
use testkit::forgejo::{ApiLevel, FakeForgejo, ReleaseSpec};
use testkit::git::GitRepo;

const TOKEN: &str = "tok-all-scopes-41d0";

/// [`common::docs_repo`] with a tarball to publish.
fn repo() -> GitRepo {
    let repo = common::docs_repo();
    repo.write("docs-v1.2.4.tar.gz", "a tarball\n");
    repo.commit("a tarball");
    repo
}

struct Setup {
    repo: GitRepo,
    forge: FakeForgejo,
    engine: FakeEngine,
}

fn setup() -> Setup {
    Setup {
        repo: repo(),
        forge: FakeForgejo::builder(ApiLevel::V16)
            .token(
                TOKEN,
                &["write:repository", "write:package", "read:package"],
            )
            .release(ReleaseSpec::new("v1.2.3"))
            .start(),
        engine: FakeEngine::builder()
            .answer("contents", serde_json::json!(common::QUARTZ_CONFIG))
            .start(),
    }
}

/// `release-docs ARGS…` in the repository, with the forge flags for the steps that
/// talk to the forge and the engine's session for those that build.
fn release_docs(setup: &Setup, args: &[&str]) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut command = testkit::cli::command(bin, setup.repo.path());
    command
        .args(args)
        .env("FORGEJO_TOKEN", TOKEN)
        .envs(setup.engine.env());
    if ["version", "publish", "all"].contains(&args[0]) {
        command.args(["--forge-url", &setup.forge.url(), "--repo", "acme/app"]);
    }
    command
}

#[test]
fn every_step_in_every_mode_into_a_closed_stdout_exits_0() {
    let setup = setup();
    let steps: [&[&str]; 7] = [
        &["version"],
        // Before publish: once v1.2.4 is a package version, a new release is refused.
        &["all", "--dry-run", "--no-engine"],
        &["changelog", "--version", "v1.2.4", "--no-engine", "--draft"],
        &["build", "--version", "v1.2.4", "--out", "built.tar.gz"],
        &[
            "publish",
            "--version",
            "v1.2.4",
            "--tarball",
            "docs-v1.2.4.tar.gz",
        ],
        &[
            "deploy",
            "--url",
            "https://forge.example/docs-v1.2.4.tar.gz",
        ],
        &[
            "deploy",
            "--url",
            "https://forge.example/docs-v1.2.4.tar.gz",
            "--dry-run",
        ],
    ];
    for step in steps {
        for mode in [&[][..], &["--json"], &["--debug"]] {
            for closed in [Closed::Stdout, Closed::Both] {
                let mut command = release_docs(&setup, step);
                command.args(mode);
                let out = output_into_closed(&mut command, closed);
                assert_eq!(out.code, 0, "{step:?} {mode:?} {closed:?}: {out:?}");
            }
        }
    }
}

#[test]
fn a_closed_stdout_does_not_stop_deploy_between_writing_the_manifest_and_committing_it() {
    let setup = setup();
    let url = "https://forge.example/docs-v9.9.9.tar.gz";
    let out = output_into_closed(
        &mut release_docs(&setup, &["deploy", "--url", url, "--commit"]),
        Closed::Stdout,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(setup.repo.git(&["status", "--porcelain"]), "");
    let manifest = setup
        .repo
        .git(&["show", "HEAD:argocd/manifests/docs/deployment.yaml"]);
    assert!(manifest.contains(url), "{manifest}");
}

#[test]
fn an_error_keeps_its_exit_code_whatever_is_closed() {
    let setup = setup();
    for closed in [Closed::Stdout, Closed::Stderr, Closed::Both] {
        // v1.2.3 is released: refused with exit 1.
        let out = output_into_closed(
            &mut release_docs(&setup, &["version", "--set", "v1.2.3"]),
            closed,
        );
        assert_eq!(out.code, 1, "{closed:?}: {out:?}");
        // Not a version: exit 2.
        let out = output_into_closed(
            &mut release_docs(&setup, &["build", "--version", "1.2"]),
            closed,
        );
        assert_eq!(out.code, 2, "{closed:?}: {out:?}");
    }
}
