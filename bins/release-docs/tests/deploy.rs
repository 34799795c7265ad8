//! `release-docs deploy` driven as a process: a copy of the ops repository made by the
//! test (with the repository's real docs deployment manifest) and the Argo CD test
//! server (testkit::argocd, mirroring Argo CD v3's REST answers). Each test names what
//! it proves; the server's request log proves what was not sent.

use std::path::Path;

use testkit::argocd::{AppSpec, FakeArgoCd};
use testkit::cli::Outcome;
use testkit::git::GitRepo;

const TOKEN: &str = "argo-tok-5c1e9a";
const MANIFEST: &str = "argocd/manifests/docs/deployment.yaml";
const REAL_MANIFEST: &str = include_str!("../../../argocd/manifests/docs/deployment.yaml");
const OLD_URL: &str =
    "https://forge.example.invalid/ops/opskit/releases/download/v0.1.0/docs-v0.1.0.tar.gz";
const URL: &str =
    "https://forge.example.invalid/ops/opskit/releases/download/v0.2.0/docs-v0.2.0.tar.gz";

/// testkit's ops repo with the real docs manifest committed on main, and a git
/// identity configured (as a workflow's checkout step sets one).
fn repo() -> GitRepo {
    let repo = testkit::ops::ops_repo();
    repo.git(&["config", "user.name", "Docs Bot"]);
    repo.git(&["config", "user.email", "docs@example.invalid"]);
    repo.write(MANIFEST, REAL_MANIFEST);
    repo.commit("docs deployment");
    repo
}

fn manifest(repo: &GitRepo) -> String {
    std::fs::read_to_string(repo.path().join(MANIFEST)).expect("read the manifest")
}

/// Runs `release-docs deploy` in `repo` with a clean environment, Argo CD at `server`
/// with `token`; the server's URL becomes `[argocd]` in what it printed.
fn deploy(repo: &GitRepo, server: Option<&FakeArgoCd>, token: &str, args: &[&str]) -> Outcome {
    deploy_in(repo.path(), server, token, args)
}

/// [`deploy`] in any checkout.
fn deploy_in(dir: &Path, server: Option<&FakeArgoCd>, token: &str, args: &[&str]) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut command = testkit::cli::command(bin, dir);
    command
        .arg("deploy")
        .args(["--interval", "0.02"])
        .env("ARGOCD_AUTH_TOKEN", token)
        .env("OPSKIT_TIMEOUT", "5")
        .args(args);
    if let Some(server) = server {
        command.env("ARGOCD_SERVER", server.url());
    }
    let mut out = testkit::cli::output(&mut command);
    if let Some(server) = server {
        for text in [&mut out.stdout, &mut out.stderr] {
            *text = text.replace(&server.url(), "[argocd]");
        }
    }
    out
}

fn server(app: AppSpec) -> FakeArgoCd {
    FakeArgoCd::builder(TOKEN).app(app).start()
}

/// `deploy --url URL --sync ARGS` in a fresh repository against a server with `app`,
/// sending `token`.
fn sync(app: AppSpec, token: &str, args: &[&str]) -> (GitRepo, FakeArgoCd, Outcome) {
    let repo = repo();
    let argo = server(app);
    let mut all = vec!["--url", URL, "--sync"];
    all.extend_from_slice(args);
    let out = deploy(&repo, Some(&argo), token, &all);
    (repo, argo, out)
}

#[test]
fn deploy_rewrites_only_the_url_and_commits_only_the_manifest_with_skip_ci() {
    let repo = repo();
    let before = repo.head();
    // Work in progress elsewhere stays out of the commit.
    repo.write(
        "service-versions.yaml",
        "services: []  # work in progress\n",
    );
    let out = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let sha7 = &repo.head()[..7];
    insta::assert_snapshot!(out.stdout.replace(sha7, "[sha7]"), @r"
    Updated: argocd/manifests/docs/deployment.yaml:18 DOCS_RELEASE_URL https://forge.example.invalid/ops/opskit/releases/download/v0.1.0/docs-v0.1.0.tar.gz -> https://forge.example.invalid/ops/opskit/releases/download/v0.2.0/docs-v0.2.0.tar.gz
    Committed: [sha7] docs: deploy v0.2.0 [skip ci]
    ");
    assert_eq!(manifest(&repo), REAL_MANIFEST.replace(OLD_URL, URL));

    let git = git2::Repository::open(repo.path()).unwrap();
    let head = git.head().unwrap().peel_to_commit().unwrap();
    assert_eq!(head.message().unwrap(), "docs: deploy v0.2.0 [skip ci]");
    assert_eq!(head.author().name().unwrap(), "Docs Bot");
    assert_eq!(head.parent_id(0).unwrap().to_string(), before);
    let parent_tree = head.parent(0).unwrap().tree().unwrap();
    let tree = head.tree().unwrap();
    let diff = git
        .diff_tree_to_tree(Some(&parent_tree), Some(&tree), None)
        .unwrap();
    let changed: Vec<String> = diff
        .deltas()
        .map(|d| d.new_file().path().unwrap().display().to_string())
        .collect();
    assert_eq!(changed, [MANIFEST]);
    let status = git.status_file(Path::new("service-versions.yaml")).unwrap();
    assert!(status.is_wt_modified(), "{status:?}");
}

#[test]
fn a_rerun_changes_nothing_and_says_the_manifest_already_points_at_the_url() {
    let repo = repo();
    let first = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let head = repo.head();
    let again = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    insta::assert_snapshot!(again.stdout, @r"
    Unchanged: argocd/manifests/docs/deployment.yaml already points at https://forge.example.invalid/ops/opskit/releases/download/v0.2.0/docs-v0.2.0.tar.gz
    Nothing to commit: HEAD already has argocd/manifests/docs/deployment.yaml as it is
    ");
    assert_eq!(repo.head(), head);
}

#[test]
fn a_run_that_wrote_but_did_not_commit_is_finished_by_the_next_run() {
    let repo = repo();
    let first = deploy(&repo, None, TOKEN, &["--url", URL]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let again = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("Unchanged: ") && again.stdout.contains("Committed: "),
        "{}",
        again.stdout
    );
}

#[test]
fn sync_starts_one_sync_and_waits_until_synced_healthy_and_reconciled() {
    let (_repo, argo, out) = sync(AppSpec::rolls_out("docs"), TOKEN, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Updated: argocd/manifests/docs/deployment.yaml:18 DOCS_RELEASE_URL https://forge.example.invalid/ops/opskit/releases/download/v0.1.0/docs-v0.1.0.tar.gz -> https://forge.example.invalid/ops/opskit/releases/download/v0.2.0/docs-v0.2.0.tar.gz
    Sync started: Argo CD app docs
    App docs: OutOfSync/Healthy, operation requested
    App docs: OutOfSync/Progressing, operation Running
    App docs: Synced/Progressing, operation Succeeded, not yet reconciled
    App docs: Synced/Progressing
    App docs: Synced/Healthy
    ");
    assert_eq!(
        argo.syncs(),
        [serde_json::json!({"prune": true, "dryRun": false})]
    );
    let seen = argo.seen();
    assert!(seen.iter().all(|s| s.authorized));
    assert_eq!(seen.iter().filter(|s| s.method == "POST").count(), 1);
    assert_eq!(seen.iter().filter(|s| s.method == "GET").count(), 5);
}

#[test]
fn json_prints_one_object_at_the_end_and_no_step_lines() {
    let (_repo, _argo, out) = sync(AppSpec::rolls_out("docs"), TOKEN, &["--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(
        report,
        serde_json::json!({
            "manifest": MANIFEST,
            "url": URL,
            "previous_url": OLD_URL,
            "manifest_changed": true,
            "dry_run": false,
            "sync": {
                "app": "docs",
                "sync_status": "Synced",
                "health_status": "Healthy",
                "operation_phase": "Succeeded",
                "done": true
            }
        })
    );
}

#[test]
fn a_degraded_app_fails_early_with_exit_1() {
    let (_repo, argo, out) = sync(AppSpec::degrades("docs"), TOKEN, &["--wait-timeout", "30"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r#"
    error: Argo CD app docs: health turned from Progressing to Degraded: Deployment "docs" exceeded its progress deadline
      hint: see what failed with `argocd app get docs`
    "#);
    // It stopped at the Degraded state, before the Healthy one after it.
    assert_eq!(argo.seen().iter().filter(|s| s.method == "GET").count(), 3);
}

#[test]
fn a_rollout_that_does_not_finish_in_time_is_exit_3_with_a_hint() {
    let (_repo, argo, out) = sync(AppSpec::stuck("docs"), TOKEN, &["--wait-timeout", "0.3"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: Argo CD app docs was not Synced and Healthy within 0.3 s (--wait-timeout); last seen: App docs: OutOfSync/Progressing, operation Running
      hint: the rollout goes on without us; check it with `argocd app get docs`, or wait longer with --wait-timeout
    ");
    assert_eq!(argo.syncs().len(), 1);
}

#[test]
fn a_sync_refused_because_another_operation_runs_is_exit_3_and_sent_once() {
    let (repo, argo, out) = sync(AppSpec::busy("docs"), TOKEN, &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: Argo CD: sync of docs: refused, another operation is already in progress (400)
      hint: wait for it to end (`argocd app get docs`), then run this again; or stop it with `argocd app terminate-op docs`
    ");
    assert_eq!(argo.syncs().len(), 1);
    // The manifest step is done; the re-run will only sync.
    assert_eq!(manifest(&repo), REAL_MANIFEST.replace(OLD_URL, URL));
}

#[test]
fn an_unknown_app_is_argo_cds_403_exit_3_with_a_hint_to_check_the_name() {
    let (_repo, _argo, out) = sync(AppSpec::rolls_out("docs"), TOKEN, &["--app", "dosc"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: Argo CD: sync of dosc: access denied (403: permission denied)
      hint: Argo CD answers 403 both for an app that does not exist and for one the token may not see or sync: check --app (dosc) with `argocd app list`, and the token's role
    ");
}

#[test]
fn a_refused_token_is_exit_3_and_never_printed_even_with_debug() {
    let secret = "wrong-secret-77f2";
    let (_repo, argo, out) = sync(AppSpec::rolls_out("docs"), secret, &["--debug"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    assert!(
        out.stderr.contains(
            "error: Argo CD: sync of docs: authentication required or credentials rejected (401: no session information)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: the Argo CD token was refused"),
        "{}",
        out.stderr
    );
    assert!(!argo.seen()[0].authorized);
}

#[test]
fn the_token_can_come_from_a_file() {
    let repo = repo();
    let argo = server(AppSpec::rolls_out("docs"));
    let file = repo.path().join(".argocd-token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let out = deploy(
        &repo,
        Some(&argo),
        "",
        &[
            "--url",
            URL,
            "--sync",
            "--argocd-token-file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(argo.seen().iter().all(|s| s.authorized));
}

#[test]
fn no_token_or_server_for_sync_is_exit_2_before_the_manifest_is_touched() {
    let repo = repo();
    let out = deploy(&repo, None, "", &["--url", URL, "--sync"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: no Argo CD server given
      hint: pass --argocd-url https://argocd.example or set ARGOCD_SERVER
    ");
    let argo = server(AppSpec::rolls_out("docs"));
    let out = deploy(&repo, Some(&argo), "", &["--url", URL, "--sync"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: no Argo CD token given
      hint: set ARGOCD_AUTH_TOKEN, or pass --argocd-token-file or --argocd-token-cmd (`argocd account generate-token` makes one)
    ");
    assert_eq!(manifest(&repo), REAL_MANIFEST);
    assert!(argo.seen().is_empty());
}

#[test]
fn no_git_author_is_exit_2_before_the_manifest_is_touched() {
    let repo = testkit::ops::ops_repo();
    repo.write(MANIFEST, REAL_MANIFEST);
    repo.commit("docs deployment");
    let out = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: --commit: no commit author: git config has no user.name/user.email
      hint: set them (git config user.name …; git config user.email …) and run again
    ");
    assert_eq!(manifest(&repo), REAL_MANIFEST);
}

#[test]
fn a_manifest_without_the_var_is_exit_4_naming_the_file() {
    let repo = repo();
    let text = REAL_MANIFEST.replace("DOCS_RELEASE_URL", "OTHER_URL");
    repo.write(MANIFEST, &text);
    let out = deploy(&repo, None, TOKEN, &["--url", URL]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: argocd/manifests/docs/deployment.yaml: no env entry DOCS_RELEASE_URL in any container (looked in every document's containers, initContainers and ephemeralContainers)
      hint: add `- name: DOCS_RELEASE_URL` with a `value:` to the container's env first
    ");
    assert_eq!(manifest(&repo), text);
}

#[test]
fn a_refused_edit_leaves_the_manifest_byte_for_byte_and_no_stray_file() {
    let repo = repo();
    // Two entries, CRLF line ends: ambiguous, so nothing may change.
    let text = REAL_MANIFEST
        .replace(
            "          ports:",
            "            - name: DOCS_RELEASE_URL\n              value: https://b.example/x.tgz\n          ports:",
        )
        .replace('\n', "\r\n");
    repo.write(MANIFEST, &text);
    let out = deploy(&repo, None, TOKEN, &["--url", URL, "--commit"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: argocd/manifests/docs/deployment.yaml: DOCS_RELEASE_URL is set 2 times (lines 17, 19), so which one to change is ambiguous
      hint: keep one DOCS_RELEASE_URL entry in the manifest
    ");
    assert_eq!(manifest(&repo), text);
    let mut names: Vec<String> = std::fs::read_dir(repo.path().join("argocd/manifests/docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["deployment.yaml"]);
}

#[test]
fn dry_run_says_every_step_and_writes_commits_and_sends_nothing() {
    let repo = repo();
    let head = repo.head();
    let argo = server(AppSpec::rolls_out("docs"));
    let out = deploy(
        &repo,
        Some(&argo),
        TOKEN,
        &["--url", URL, "--commit", "--sync", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Would update: argocd/manifests/docs/deployment.yaml:18 DOCS_RELEASE_URL https://forge.example.invalid/ops/opskit/releases/download/v0.1.0/docs-v0.1.0.tar.gz -> https://forge.example.invalid/ops/opskit/releases/download/v0.2.0/docs-v0.2.0.tar.gz
    Would commit argocd/manifests/docs/deployment.yaml: docs: deploy v0.2.0 [skip ci]
    Would sync Argo CD app docs and wait up to 120 s until it is Synced and Healthy
    ");
    assert_eq!(manifest(&repo), REAL_MANIFEST);
    assert_eq!(repo.head(), head);
    assert!(argo.seen().is_empty());
}

#[test]
fn a_url_that_is_not_http_is_exit_2() {
    let repo = repo();
    let out = deploy(&repo, None, TOKEN, &["--url", "docs-v0.2.0.tar.gz"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: --url docs-v0.2.0.tar.gz: relative URL without a base
      hint: give the tarball's full download URL, e.g. https://forge.example/…/docs-v1.2.3.tar.gz
    ");
    assert_eq!(manifest(&repo), REAL_MANIFEST);
}

#[test]
fn json_after_a_failed_rollout_still_reports_how_far_it_got() {
    let (_repo, _argo, out) = sync(AppSpec::degrades("docs"), TOKEN, &["--json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["manifest_changed"], true);
    assert_eq!(
        report["sync"],
        serde_json::json!({
            "app": "docs",
            "sync_status": "Synced",
            "health_status": "Degraded",
            "operation_phase": "Succeeded",
            "done": false
        })
    );
}

#[test]
fn a_missing_manifest_is_exit_4_with_a_hint_at_the_flag() {
    let repo = repo();
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["--url", URL, "--manifest", "argocd/manifests/nope.yaml"];
        args.extend_from_slice(extra);
        let out = deploy(&repo, None, TOKEN, &args);
        assert_eq!(out.code, 4, "{}", out.stderr);
        assert_eq!(
            out.stderr,
            "error: argocd/manifests/nope.yaml: no such file\n  hint: pass --manifest with the deployment's path, relative to the repository\n"
        );
    }
}

#[test]
fn a_sync_of_a_change_not_pushed_yet_warns_that_argo_cd_deploys_the_remote() {
    let origin = repo();
    let (_dir, clone) = origin.shallow_clone(1);
    let argo = server(AppSpec::rolls_out("docs"));
    let out = deploy_in(&clone, Some(&argo), TOKEN, &["--url", URL, "--sync"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @"warning: argocd/manifests/docs/deployment.yaml differs from origin/main's, and Argo CD deploys what the remote has: push before --sync, or the sync rolls out the old URL");

    // Committed and pushed (the remote-tracking branch moved): no warning.
    let git = |args: &[&str]| testkit::git::run_git(&clone, args);
    git(&["commit", "-qam", "docs: deploy v0.2.0 [skip ci]"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    let argo = server(AppSpec::rolls_out("docs"));
    let out = deploy_in(&clone, Some(&argo), TOKEN, &["--url", URL, "--sync"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
}
