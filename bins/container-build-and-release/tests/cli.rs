//! `container-build-and-release` driven as a process: a git repository made by the
//! test, the real registry (Debian's docker-registry on loopback) and the Forgejo test
//! server (testkit::forgejo, mirroring Forgejo v16's dispatch answer and Gitea 1.25's
//! 204). Each test names what it proves; the request logs prove what was not sent.

use std::path::Path;
use std::process::Command;

use testkit::cli::Outcome;
use testkit::forgejo::{ApiLevel, Builder, FakeForgejo, JobSpec, RunSpec};
use testkit::git::GitRepo;
use testkit::registry::TestRegistry;

const WRITE: &str = "tok-write-6b1f0c";
const READ: &str = "tok-read-91d2ae";
const WF: &str = "build-container.yaml";

/// testkit's ops repo (container `web`: a Dockerfile and a default.nix at v1.2.3) with
/// a kustomization pinning web's image in `registry`, committed on main.
fn repo(registry: &str) -> GitRepo {
    let repo = testkit::ops::ops_repo();
    // --commit signs as git config says, as `git commit` does.
    repo.git(&["config", "user.name", "Release Bot"]);
    repo.git(&["config", "user.email", "release@example.invalid"]);
    repo.write(
        "argocd/manifests/web/kustomization.yaml",
        &format!(
            "# web, pinned by container-build-and-release --pin\r\nresources:\r\n  - deployment.yaml\r\nimages:\r\n  - name: {registry}/opskit/web\r\n    newTag: \"v1.2.2-0000000\" # the last release\r\n"
        ),
    );
    repo.commit("pin web");
    repo
}

/// Pushes both of web's builds of HEAD, as the build workflow would; gives HEAD's sha7.
fn push_builds(registry: &TestRegistry, repo: &GitRepo) -> String {
    let sha7 = repo.head()[..7].to_owned();
    registry.push("opskit/web", &format!("v1.2.3-{sha7}"));
    registry.push("opskit/web", &format!("v1.2.3-{sha7}-nix"));
    sha7
}

fn forge(level: ApiLevel, repo: &GitRepo) -> Builder {
    FakeForgejo::builder(level)
        .token(WRITE, &["write:repository"])
        .token(READ, &["read:repository"])
        .workflow(WF)
        .commit(&repo.head())
}

fn build_run(number: i64, status: &str, log: &str) -> RunSpec {
    RunSpec::new(number, WF, "Build web").job(JobSpec::new("build", status, log))
}

/// Runs the tool with `args` in `repo` against `server` and `registry`, with a clean
/// environment and `token`; the server's URL, the registry and the commit are replaced
/// by `[forge]`, `[registry]`, `[sha]` and `[sha7]` in what it printed.
fn run(
    repo: &GitRepo,
    server: &FakeForgejo,
    registry: &str,
    token: &str,
    args: &[&str],
) -> Outcome {
    let mut out = testkit::cli::output(&mut command(repo, server, registry, token, args));
    let sha = repo.head();
    for text in [&mut out.stdout, &mut out.stderr] {
        *text = text
            .replace(&server.url(), "[forge]")
            .replace(registry, "[registry]")
            .replace(&sha, "[sha]")
            .replace(&sha[..7], "[sha7]");
    }
    out
}

/// The tool in `repo` against the forge and the registry.
fn command(
    repo: &GitRepo,
    server: &FakeForgejo,
    registry: &str,
    token: &str,
    args: &[&str],
) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_container-build-and-release"));
    let mut command = testkit::cli::command(bin, repo.path());
    command
        .args(["--forge-url", &server.url(), "--repo", "acme/app"])
        .args(["--registry", registry, "--image-prefix", "opskit"])
        .args(["--interval", "0.05"])
        .env("FORGEJO_TOKEN", token)
        .env("DOCKER_CONFIG", repo.path().join(".no-docker-config"))
        .env("OPSKIT_TIMEOUT", "5")
        .args(args);
    command
}

#[test]
fn a_closed_stdout_drops_the_progress_but_the_run_is_still_followed_pinned_and_committed() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let sha7 = push_builds(&registry, &repo);
    let server = forge(ApiLevel::V16, &repo)
        .on_dispatch(build_run(7, "success", "built\n"))
        .start();
    let mut command = command(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--force", "--wait", "--pin", "--commit"],
    );
    let out = testkit::cli::output_into_closed(&mut command, testkit::cli::Closed::Stdout);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(server.dispatches().len(), 1);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
    let pinned = repo.git(&["show", "HEAD:argocd/manifests/web/kustomization.yaml"]);
    assert!(
        pinned.contains(&format!("newTag: \"v1.2.3-{sha7}\"")),
        "{pinned}"
    );
}

#[test]
fn dry_run_checks_everything_and_dispatches_nothing() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::V16, &repo).start();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Container: web
    Commit:    [sha] ([sha7])
    Expected builds:
      dockerfile -> [registry]/opskit/web:v1.2.3-[sha7]
      nix        -> [registry]/opskit/web:v1.2.3-[sha7]-nix
    Would dispatch build-container.yaml on main with inputs container=web ref=[sha]
    ");
    assert!(server.dispatches().is_empty());
}

#[test]
fn a_commit_not_on_the_forge_is_refused_with_a_hint_to_push_and_nothing_dispatched() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = FakeForgejo::builder(ApiLevel::V16)
        .token(WRITE, &["write:repository"])
        .workflow(WF)
        .start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: commit [sha7] is not on the forge (acme/app)
      hint: push it before building it: git push origin HEAD
    ");
    assert!(server.dispatches().is_empty());
}

#[test]
fn a_tag_already_in_the_registry_stops_with_exit_1_and_nothing_dispatched() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let sha7 = &repo.head()[..7];
    registry.push("opskit/web", &format!("v1.2.3-{sha7}"));
    let server = forge(ApiLevel::V16, &repo).start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Already in the registry: [registry]/opskit/web:v1.2.3-[sha7] sha256:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.starts_with(
            "error: 1 of web's tags for commit [sha7] are already in the registry; tags are immutable, nothing was dispatched"
        ),
        "{}",
        out.stderr
    );
    // Half a build cannot be pinned: the hint names what is missing, with or without --pin.
    let hint = |out: &Outcome| out.stderr.lines().nth(1).unwrap_or_default().to_owned();
    assert_eq!(
        hint(&out),
        "  hint: missing: v1.2.3-[sha7]-nix; pass --force --wait to build them all again"
    );
    let out = run(&repo, &server, &registry.host(), WRITE, &["web", "--pin"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        hint(&out),
        "  hint: missing: v1.2.3-[sha7]-nix; pass --force --wait to build them all again and pin them"
    );
    assert!(server.dispatches().is_empty());
}

#[test]
fn wait_follows_the_run_verifies_each_pushed_tag_and_pins_it_keeping_the_file() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let built = repo.head();
    // The workflow's push, done ahead: --force builds over tags that exist.
    let sha7 = push_builds(&registry, &repo);
    let server = forge(ApiLevel::V16, &repo)
        .on_dispatch(build_run(7, "success", "built\n"))
        .start();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--force", "--wait", "--pin", "--commit", "--json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dispatches = server.dispatches();
    assert_eq!(dispatches.len(), 1);
    assert_eq!(dispatches[0].workflow, WF);
    assert_eq!(
        dispatches[0].body,
        serde_json::json!({
            "ref": "main",
            "inputs": {"container": "web", "ref": built},
            "return_run_info": true
        })
    );
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["run"]["number"], 7);
    assert_eq!(report["run"]["status"], "success");
    assert_eq!(
        report["pinned"],
        serde_json::json!(["argocd/manifests/web/kustomization.yaml"])
    );
    for build in report["builds"].as_array().unwrap() {
        assert_eq!(build["in_registry"], true);
        assert!(build["digest"].as_str().unwrap().starts_with("sha256:"));
    }
    let manifest =
        std::fs::read_to_string(repo.path().join("argocd/manifests/web/kustomization.yaml"))
            .unwrap();
    assert_eq!(
        manifest,
        format!(
            "# web, pinned by container-build-and-release --pin\r\nresources:\r\n  - deployment.yaml\r\nimages:\r\n  - name: {}/opskit/web\r\n    newTag: \"v1.2.3-{sha7}\" # the last release\r\n",
            registry.host()
        )
    );
    assert_eq!(
        repo.git(&["log", "-1", "--format=%s"]).trim(),
        format!("web: pin v1.2.3-{sha7}")
    );
    assert_eq!(repo.git(&["status", "--porcelain"]).trim(), "");
}

#[test]
fn a_failed_run_prints_the_tail_of_the_failed_jobs_log_and_exits_1() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::V16, &repo)
        .on_dispatch(build_run(
            8,
            "failure",
            "step 1\nstep 2\n\x1b[31merror:\x1b[0m go build failed\n",
        ))
        .start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web", "--wait"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let tail = out
        .stdout
        .split_once("Dispatched:")
        .map(|(_, t)| t)
        .unwrap_or_default();
    insta::assert_snapshot!(tail, @r"
     run #8 [forge]/acme/app/actions/runs/8
    job 0 (build): failure
    Run #8 ended: failure
    ==> job 0 (build): failure <==
    step 1
    step 2
    error: go build failed
    ");
    insta::assert_snapshot!(out.stderr, @r"
    error: run #8 ended with failure
      hint: the whole log: runner-logs 8 --failed
    ");
}

#[test]
fn without_run_info_the_run_is_found_by_workflow_and_time_not_by_commit() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::Gitea125, &repo)
        .run(
            build_run(3, "success", "an older build of the same commit\n")
                .event("workflow_dispatch"),
        )
        .on_dispatch(build_run(4, "running", "building\n"))
        .dispatch_appears_after(2)
        .start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Dispatched: run #4 https://forge.example/acme/app/actions/runs/4"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .ends_with("Follow it with: runner-logs 4 --follow\n")
    );
}

#[test]
fn a_502_on_the_dispatch_is_never_retried() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::V16, &repo).dispatch_answers(502).start();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--retries", "3"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(server.dispatches().len(), 1, "sent exactly once");
}

#[test]
fn a_missing_workflow_file_is_not_found_and_a_read_only_token_is_refused() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = FakeForgejo::builder(ApiLevel::V16)
        .token(WRITE, &["write:repository"])
        .token(READ, &["read:repository"])
        .commit(&repo.head())
        .start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains(WF), "{}", out.stderr);

    let server = forge(ApiLevel::V16, &repo).start();
    let out = run(&repo, &server, &registry.host(), READ, &["web"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("write:repository"), "{}", out.stderr);
    assert!(!out.stderr.contains(READ), "the token is never printed");
}

#[test]
fn bad_input_is_refused_and_nothing_is_dispatched() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::V16, &repo).start();
    let cases: [(&[&str], i32, &str); 3] = [
        (&["webb"], 4, "did you mean 'web'?"),
        (&["web", "--ref", "no-such-branch"], 2, "no-such-branch"),
        (&["web", "--pin"], 2, "--pin needs --wait"),
    ];
    for (args, code, says) in cases {
        let out = run(&repo, &server, &registry.host(), WRITE, args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    assert!(server.dispatches().is_empty());
}

#[test]
fn a_run_that_never_appears_is_exit_3_after_the_wait_timeout() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    // Gitea answers 204 and the dispatch starts nothing the lists ever show.
    let server = forge(ApiLevel::Gitea125, &repo)
        .run(build_run(3, "success", "an older build\n").event("workflow_dispatch"))
        .start();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--wait", "--wait-timeout", "1"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        !out.stdout.contains("Dispatched: run #3"),
        "never an older run: {}",
        out.stdout
    );
    assert_eq!(server.dispatches().len(), 1);
}

#[test]
fn a_run_the_forge_named_is_reported_at_once_even_before_a_runner_takes_it() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    // Forgejo v11 answers the dispatch with run #5, but lists a run only through the
    // tasks of its jobs: with no runner free, not at all.
    let server = || {
        forge(ApiLevel::V11, &repo)
            .on_dispatch(build_run(5, "waiting", ""))
            .dispatch_appears_after(usize::MAX)
            .start()
    };
    let out = run(
        &repo,
        &server(),
        &registry.host(),
        WRITE,
        &["web", "--json"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["run"]["number"], 5);

    let server = server();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--wait", "--wait-timeout", "1"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stdout.contains("Dispatched: run #5 "), "{}", out.stdout);
    insta::assert_snapshot!(out.stderr, @r"
    error: run #5 of acme/app did not appear within 1 s
      hint: the dispatch landed, so do not send it again: no runner may have taken its jobs yet; check the runners, then follow it with runner-logs 5 --follow
    ");
    assert_eq!(server.dispatches().len(), 1);
}

#[test]
fn a_run_that_never_ends_is_exit_3_after_the_wait_timeout_saying_how_to_follow_it() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = forge(ApiLevel::V16, &repo)
        .on_dispatch(build_run(9, "running", "still building\n"))
        .start();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--wait", "--wait-timeout", "0.5"],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: run #9 did not end within 0.5 s (--wait-timeout)
      hint: it goes on without us; follow it with: runner-logs 9 --follow
    ");
}

#[test]
fn a_branch_commit_is_not_pinned_unless_allowed_and_the_manifest_is_untouched() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("containers/web/notes.txt", "a branch change\n");
    repo.commit("branch work");
    push_builds(&registry, &repo);
    let server = forge(ApiLevel::V16, &repo).start();
    let manifest = repo.path().join("argocd/manifests/web/kustomization.yaml");
    let before = std::fs::read(&manifest).unwrap();

    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--pin", "--main-ref", "main"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("is not on main"), "{}", out.stderr);
    assert_eq!(std::fs::read(&manifest).unwrap(), before);

    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--pin", "--allow-branch", "--main-ref", "main"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Pinned: argocd/manifests/web/kustomization.yaml -> v1.2.3-[sha7]"),
        "{}",
        out.stdout
    );
    assert!(
        server.dispatches().is_empty(),
        "the tags existed: nothing to build"
    );
}

#[test]
fn dry_run_with_pin_on_existing_tags_says_what_it_would_pin_and_writes_nothing() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    push_builds(&registry, &repo);
    let server = forge(ApiLevel::V16, &repo).start();
    let manifest = repo.path().join("argocd/manifests/web/kustomization.yaml");
    let before = std::fs::read(&manifest).unwrap();
    let out = run(
        &repo,
        &server,
        &registry.host(),
        WRITE,
        &["web", "--pin", "--dry-run"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .ends_with("Would pin: argocd/manifests/web/kustomization.yaml -> v1.2.3-[sha7]\n"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read(&manifest).unwrap(), before);
    assert!(server.dispatches().is_empty());
}

#[test]
fn a_container_without_a_build_file_is_refused_before_any_request() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    repo.write("containers/docs-only/README.md", "no build here\n");
    repo.commit("a directory without a build file");
    let server = forge(ApiLevel::V16, &repo).start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["docs-only"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("docs-only"), "{}", out.stderr);
    assert_eq!(server.requests(), 0, "nothing asked of the forge");
}

#[test]
fn json_is_printed_also_when_a_step_fails_so_a_workflow_can_read_what_was_found() {
    let registry = TestRegistry::start();
    let repo = repo(&registry.host());
    let server = FakeForgejo::builder(ApiLevel::V16)
        .token(WRITE, &["write:repository"])
        .workflow(WF)
        .start();
    let out = run(&repo, &server, &registry.host(), WRITE, &["web", "--json"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["container"], "web");
    assert_eq!(report["commit"], "[sha]");
    assert_eq!(report["builds"][1]["tag"], "v1.2.3-[sha7]-nix");
    assert!(report.get("run").is_none(), "nothing was dispatched");
}
