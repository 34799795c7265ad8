//! `release-docs all`, driven as a process: real git (a bare "origin" the chain pushes
//! to), real towncrier (`--no-engine`), the Dagger test engine for the site build, and
//! the Forgejo test server (v16 releases). What it proves: the order (the changelog is
//! committed and pushed before the release tags it), that a re-run does nothing again,
//! that a run stopped half-way is finished by the next one, and that `--dry-run`
//! changes nothing.

mod common;

use std::path::Path;

use testkit::argocd::{AppSpec, AppState, FakeArgoCd};
use testkit::cli::Outcome;
use testkit::dagger::FakeEngine;
use testkit::forgejo::{ApiLevel, FakeForgejo, ReleaseSpec};
use testkit::git::{GitRepo, run_git};

const TOKEN: &str = "tok-release-1f6c0a";
const READ_ONLY: &str = "tok-read-77ab10";

/// [`common::docs_repo`], pushed to a bare origin.
fn checkout() -> (GitRepo, tempfile::TempDir) {
    let repo = common::docs_repo();
    let origin = tempfile::tempdir().expect("tempdir");
    run_git(origin.path(), &["init", "-q", "--bare", "-b", "main"]);
    repo.git(&[
        "remote",
        "add",
        "origin",
        &origin.path().display().to_string(),
    ]);
    repo.git(&["push", "-q", "-u", "origin", "main"]);
    (repo, origin)
}

fn forge() -> FakeForgejo {
    FakeForgejo::builder(ApiLevel::V16)
        .token(TOKEN, &["write:repository", "read:package"])
        .token(READ_ONLY, &["read:repository", "read:package"])
        .release(ReleaseSpec::new("v1.2.3"))
        .start()
}

fn all(
    repo: &GitRepo,
    server: &FakeForgejo,
    engine: &FakeEngine,
    token: &str,
    args: &[&str],
) -> Outcome {
    let mut argv = vec!["all", "--no-engine"];
    argv.extend_from_slice(args);
    let env: Vec<(&str, String)> = engine.env().into_iter().collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::run(server, repo.path(), Some(token), &argv, &env)
}

fn engine() -> FakeEngine {
    FakeEngine::builder()
        .answer("contents", serde_json::json!(common::QUARTZ_CONFIG))
        .start()
}

/// `git log --format=%s` of origin's main, newest first.
fn pushed(origin: &Path) -> Vec<String> {
    run_git(origin, &["log", "--format=%s", "main"])
        .lines()
        .map(str::to_owned)
        .collect()
}

fn manifest_url(repo: &GitRepo) -> String {
    let text = std::fs::read_to_string(repo.path().join("argocd/manifests/docs/deployment.yaml"))
        .expect("manifest");
    opskit::manifest_env::env_value("m", &text, "DOCS_RELEASE_URL").expect("the URL")
}

#[test]
fn the_chain_commits_the_changelog_before_the_release_tags_it_and_a_rerun_does_nothing() {
    let (repo, origin) = checkout();
    let server = forge();
    let engine = engine();
    let out = all(&repo, &server, &engine, TOKEN, &["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let summary: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(summary["version"], "v1.2.4");
    assert_eq!(summary["resumed"], false);
    let states: Vec<String> = summary["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            format!(
                "{}={}",
                s["step"].as_str().unwrap_or(""),
                s["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            "changelog=done",
            "build=done",
            "publish=done",
            "deploy=done"
        ]
    );

    let log = pushed(origin.path());
    assert_eq!(
        log[..2],
        [
            "docs: deploy v1.2.4 [skip ci]",
            "docs: changelog for v1.2.4 [skip ci]"
        ],
        "{log:?}"
    );
    let changelog_commit = run_git(origin.path(), &["rev-parse", "main~1"]);
    let release = server.release("v1.2.4").expect("the release was created");
    assert_eq!(
        release.target,
        changelog_commit.trim(),
        "the release tags the changelog commit"
    );
    assert!(
        release.notes.contains("Faster listing."),
        "{}",
        release.notes
    );
    let assets = server.release_assets("v1.2.4");
    assert_eq!(assets.len(), 1);
    assert_eq!(assets[0].0, "docs-v1.2.4.tar.gz");
    assert!(manifest_url(&repo).ends_with("/releases/download/v1.2.4/docs-v1.2.4.tar.gz"));
    assert_eq!(
        summary["url"].as_str(),
        Some(
            manifest_url(&repo)
                .replace(&server.url(), "[forge]")
                .as_str()
        )
    );
    assert!(
        !repo
            .path()
            .join("docs/changelog.d/+speed.feature.md")
            .exists()
    );

    // Again: the release is deployed and nothing new is in docs/changelog.d, so there
    // is nothing to do: nothing is committed, created or uploaded.
    let posts = server.requests_with("POST");
    let out = all(&repo, &server, &engine, TOKEN, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.requests_with("POST"), posts, "{}", out.stderr);
    assert_eq!(pushed(origin.path()), log);
    insta::assert_snapshot!(out.stderr, @"[version] nothing to release: every version in CHANGELOG.md is deployed, and there are no changelog fragments");
}

#[test]
fn a_deploy_committed_but_never_pushed_is_pushed_by_the_next_run() {
    // Argo CD deploys what the remote has: a deploy commit that never left this clone
    // (here, --no-push; as well a push that failed) is a release not yet done.
    let (repo, origin) = checkout();
    let server = forge();
    let engine = engine();
    let out = all(&repo, &server, &engine, TOKEN, &["--no-push"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(pushed(origin.path()), ["docs"]);

    let posts = server.requests_with("POST");
    // The manifest named as a user may type it: the upstream's copy is still found.
    let manifest = "./argocd/manifests/docs/deployment.yaml";
    let out = all(&repo, &server, &engine, TOKEN, &["--manifest", manifest]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("v1.2.4: finishing the release a previous run left half-done"),
        "{}",
        out.stderr
    );
    assert_eq!(
        pushed(origin.path())[..2],
        [
            "docs: deploy v1.2.4 [skip ci]",
            "docs: changelog for v1.2.4 [skip ci]"
        ]
    );
    assert_eq!(server.requests_with("POST"), posts, "nothing created again");
}

#[test]
fn with_nothing_new_sync_rolls_out_what_is_deployed_unless_argo_cd_shows_it_done() {
    let (repo, _origin) = checkout();
    let server = forge();
    let engine = engine();
    // Released and pushed; the rollout never happened (a sync that timed out, say).
    let out = all(&repo, &server, &engine, TOKEN, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let all_with_sync = |argocd: &FakeArgoCd| {
        let url = argocd.url();
        let env = [
            ("ARGOCD_SERVER", url.as_str()),
            ("ARGOCD_AUTH_TOKEN", "argo-token"),
        ];
        common::run(
            &server,
            repo.path(),
            Some(TOKEN),
            &["all", "--no-engine", "--sync", "--wait-timeout", "20"],
            &env,
        )
    };

    // Rolled out at the first look after the sync (`all` looks every 2 s).
    let out_of_sync = FakeArgoCd::builder("argo-token")
        .app(AppSpec {
            after_sync: vec![AppState::new("Synced", "Healthy").phase("Succeeded")],
            ..AppSpec::rolls_out("docs")
        })
        .start();
    let out = all_with_sync(&out_of_sync);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("[deploy] Argo CD app docs is not rolled out yet: syncing"),
        "{}",
        out.stderr
    );
    assert_eq!(out_of_sync.syncs().len(), 1);

    let done = FakeArgoCd::builder("argo-token")
        .app(AppSpec {
            name: "docs".to_owned(),
            initial: AppState::new("Synced", "Healthy").phase("Succeeded"),
            after_sync: vec![],
        })
        .start();
    let out = all_with_sync(&done);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("[deploy] Argo CD app docs is Synced and Healthy"),
        "{}",
        out.stderr
    );
    assert!(done.syncs().is_empty(), "nothing to sync");
    // Decided on Argo CD's state compared with git again, not on its cached one.
    assert_eq!(
        done.seen()[0].path,
        "/api/v1/applications/docs?refresh=normal"
    );
}

#[test]
fn a_run_stopped_at_the_upload_is_finished_by_the_next_with_the_same_version() {
    let (repo, origin) = checkout();
    let server = forge();
    let engine = engine();
    // A token that cannot create releases: the changelog is committed and pushed, the
    // release is refused.
    let out = all(&repo, &server, &engine, READ_ONLY, &[]);
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(
        pushed(origin.path())[0],
        "docs: changelog for v1.2.4 [skip ci]"
    );
    assert!(server.release("v1.2.4").is_none());

    let out = all(&repo, &server, &engine, TOKEN, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("[version] v1.2.4: finishing the release"),
        "{}",
        out.stderr
    );
    assert!(server.release("v1.2.4").is_some());
    assert!(server.release("v1.2.5").is_none(), "no second release");
    let log = pushed(origin.path());
    assert_eq!(
        log[..2],
        [
            "docs: deploy v1.2.4 [skip ci]",
            "docs: changelog for v1.2.4 [skip ci]"
        ]
    );
}

#[test]
fn dry_run_says_every_step_and_changes_nothing() {
    let (repo, origin) = checkout();
    let server = forge();
    let engine = engine();
    let before = pushed(origin.path());
    let out = all(&repo, &server, &engine, TOKEN, &["--dry-run", "--sync"]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    [version] v1.2.4 (latest: v1.2.3)
    [changelog] would fold 1 fragment(s) into CHANGELOG.md, commit and push it
    [build] would build docs-v1.2.4.tar.gz (Quartz in Dagger)
    [publish] would upload docs-v1.2.4.tar.gz as an asset of release v1.2.4, and read it back
    [deploy] would point argocd/manifests/docs/deployment.yaml at the uploaded tarball, commit, push, and sync Argo CD
    ");
    assert_eq!(pushed(origin.path()), before);
    let requests = common::requests(&server);
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "only reads: {requests:?}"
    );
    assert!(
        engine.raw_queries().is_empty(),
        "no engine call on a dry run"
    );
    assert!(
        repo.path()
            .join("docs/changelog.d/+speed.feature.md")
            .exists()
    );
    assert_eq!(run_git(repo.path(), &["status", "--porcelain"]), "");
}

#[test]
fn a_changelog_folded_but_never_committed_is_committed_before_the_release() {
    let (repo, origin) = checkout();
    let server = forge();
    let engine = engine();
    // A run that stopped right after towncrier: CHANGELOG.md written, fragments gone,
    // nothing committed.
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let out = testkit::cli::output(testkit::cli::command(bin, repo.path()).args([
        "changelog",
        "--version",
        "v1.2.4",
        "--no-engine",
    ]));
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(pushed(origin.path())[0], "docs");

    let out = all(&repo, &server, &engine, TOKEN, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("[version] v1.2.4: finishing the release"),
        "{}",
        out.stderr
    );
    let log = pushed(origin.path());
    assert_eq!(
        log[..3],
        [
            "docs: deploy v1.2.4 [skip ci]",
            "docs: changelog for v1.2.4 [skip ci]",
            "docs"
        ]
    );
    let changelog_commit = run_git(origin.path(), &["rev-parse", "main~1"]);
    assert_eq!(
        server.release("v1.2.4").expect("released").target,
        changelog_commit.trim()
    );
    let committed = run_git(origin.path(), &["show", "main~1:CHANGELOG.md"]);
    assert!(committed.contains("## [v1.2.4]"), "{committed}");
    assert_eq!(
        run_git(
            repo.path(),
            &["status", "--porcelain", "--untracked-files=no"]
        ),
        "",
        "everything the chain changed is committed"
    );
}
