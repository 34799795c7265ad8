//! `container-build-and-release NAME --local`, driven as a process against
//! testkit's Dagger test engine (the GraphQL session endpoint of engine v0.21.11 as
//! dagger-sdk 0.21.11 speaks to it, reached through DAGGER_SESSION_PORT/TOKEN as under
//! `dagger run`). The engine records every query; chains are checked field by field,
//! never as text, because the SDK's argument order changes from run to run.

use std::path::Path;

use testkit::cli::Outcome;
use testkit::dagger::{FailExec, FakeEngine, RawAnswer};
use testkit::git::GitRepo;

const REGISTRY: &str = "127.0.0.1:5999";
const PASSWORD: &str = "s3cret-registry-pw";

/// testkit's ops repo plus this repository's real miniflux pipeline, committed.
fn repo() -> GitRepo {
    let repo = testkit::ops::ops_repo();
    let miniflux =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../containers/miniflux/container.rs");
    repo.write(
        "containers/miniflux/container.rs",
        &std::fs::read_to_string(miniflux).expect("containers/miniflux/container.rs"),
    );
    repo.commit("miniflux, a native pipeline");
    repo
}

/// Runs the tool in `repo` with `engine`'s session variables (when given) and `env`;
/// the engine's port, the commit and temporary paths are filtered out of the output.
fn run(
    repo: &GitRepo,
    engine: Option<&FakeEngine>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_container-build-and-release"));
    let mut command = testkit::cli::command(bin, repo.path());
    command
        .args([
            "--local",
            "--registry",
            REGISTRY,
            "--image-prefix",
            "opskit",
        ])
        .args(args)
        .env("DOCKER_CONFIG", repo.path().join(".no-docker-config"))
        .envs(env.iter().copied());
    if let Some(engine) = engine {
        command.envs(engine.env());
    }
    let mut out = testkit::cli::output(&mut command);
    let sha = repo.head();
    for text in [&mut out.stdout, &mut out.stderr] {
        *text = text.replace(&sha, "[sha]").replace(&sha[..7], "[sha7]");
        *text = digest_filter()
            .replace_all(text, "sha256:[digest]")
            .into_owned();
        if let Some(engine) = engine {
            *text = text.replace(&format!(":{}", engine.port()), ":[port]");
        }
    }
    out
}

fn digest_filter() -> regex::Regex {
    regex::Regex::new("sha256:[0-9a-f]{64}").expect("valid regex")
}

#[test]
fn dockerfile_build_is_published_to_the_registry_path_with_its_version_and_the_digest_printed() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(&repo, Some(&engine), &["web", "--publish"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @"127.0.0.1:5999/opskit/web:v1.2.3-[sha7]@sha256:[digest]");
    insta::assert_snapshot!(out.stderr, @r"
    Building web (dockerfile) at [sha7] as 127.0.0.1:5999/opskit/web:v1.2.3-[sha7]
    Engine: DAGGER_SESSION_PORT (127.0.0.1:[port])
    ");

    let publish = engine.only("publish");
    let address = format!("{REGISTRY}/opskit/web:v1.2.3-{}", &repo.head()[..7]);
    assert_eq!(
        publish.arg_str("publish", "address"),
        Some(address.as_str())
    );
    let build = publish.field("dockerBuild").expect("a docker build");
    assert_eq!(
        build.arg("buildArgs"),
        Some(&serde_json::json!([{"name": "CONTAINER_APP_VERSION", "value": "1.2.3"}]))
    );
    assert!(
        publish.field("withRegistryAuth").is_none(),
        "no credentials, no auth"
    );
    // The build context is the container's directory as the commit has it.
    let context = publish
        .field("loadDirectoryFromID")
        .expect("the context by id");
    let context = engine.resolve_arg(context, "id");
    let path = context.arg_str("directory", "path").expect("a host path");
    assert!(path.ends_with("/containers/web"), "{path}");
}

#[test]
fn the_build_context_is_the_commit_not_the_working_tree() {
    let repo = repo();
    // Uncommitted: the tag says the commit, so the build must not see this.
    repo.write(
        "containers/web/Dockerfile",
        "FROM alpine\nARG CONTAINER_APP_VERSION=9.9.9\n",
    );
    let engine = FakeEngine::start();
    let out = run(&repo, Some(&engine), &["web", "--publish"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(":v1.2.3-"), "{}", out.stdout);
    let publish = engine.only("publish");
    assert_eq!(
        publish
            .field("dockerBuild")
            .and_then(|f| f.arg("buildArgs")),
        Some(&serde_json::json!([{"name": "CONTAINER_APP_VERSION", "value": "1.2.3"}]))
    );
}

#[test]
fn registry_password_reaches_the_engine_only_inside_set_secret() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(
        &repo,
        Some(&engine),
        &["web", "--publish", "--debug"],
        &[("REGISTRY_USERNAME", "ci"), ("REGISTRY_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
        "{out:?}"
    );

    let carrying: Vec<String> = engine
        .raw_queries()
        .into_iter()
        .filter(|q| q.contains(PASSWORD))
        .collect();
    assert_eq!(carrying.len(), 1, "{carrying:#?}");
    let secret = engine
        .queries()
        .into_iter()
        .find(|q| q.field("setSecret").is_some())
        .expect("a setSecret query");
    assert_eq!(secret.arg_str("setSecret", "plaintext"), Some(PASSWORD));
    assert_eq!(secret.leaf(), "id");

    let publish = engine.only("publish");
    let auth = publish
        .field("withRegistryAuth")
        .expect("registry auth on the publish");
    assert_eq!(auth.arg_str("username"), Some("ci"));
    assert_eq!(
        auth.arg_str("address"),
        publish.arg_str("publish", "address")
    );
    let secret_chain = engine.resolve_arg(auth, "secret");
    assert!(
        secret_chain.field("setSecret").is_some(),
        "{secret_chain:?}"
    );
}

#[test]
fn nix_build_runs_nix_build_in_a_pinned_nix_image_copies_the_archive_out_and_imports_it() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(
        &repo,
        Some(&engine),
        &[
            "web",
            "--kind",
            "nix",
            "--publish",
            "--nixpkgs",
            "https://nixpkgs.example/pinned.tar.gz",
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @"127.0.0.1:5999/opskit/web:v1.2.3-[sha7]-nix@sha256:[digest]");

    let publish = engine.only("publish");
    let import = publish
        .field("import")
        .expect("the image imported from the archive");
    let archive = engine.resolve_arg(import, "source");
    assert_eq!(archive.arg_str("from", "address"), Some("nixos/nix:2.28.3"));
    let env = archive.field("withEnvVariable").expect("NIX_PATH");
    assert_eq!(env.arg_str("name"), Some("NIX_PATH"));
    assert_eq!(
        env.arg_str("value"),
        Some("nixpkgs=https://nixpkgs.example/pinned.tar.gz")
    );
    let execs = archive.execs();
    assert_eq!(
        execs[0],
        ["nix-build", "default.nix", "--out-link", "/tmp/result"]
    );
    assert!(
        execs[1]
            .join(" ")
            .contains("cp -L /tmp/result /opskit/image.tar.gz"),
        "{execs:?}"
    );
    assert_eq!(
        archive.arg_str("file", "path"),
        Some("/opskit/image.tar.gz")
    );
    assert!(
        archive.fields("withMountedCache").is_empty(),
        "the archive is not under a cache mount"
    );
}

#[test]
fn native_pipeline_clones_the_tag_builds_go_and_runs_on_alpine() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(&repo, Some(&engine), &["miniflux", "--publish"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @"127.0.0.1:5999/opskit/miniflux:v2.2.6-[sha7]@sha256:[digest]");

    let publish = engine.only("publish");
    assert_eq!(publish.arg_str("from", "address"), Some("alpine:3.22"));
    let labels: Vec<(&str, &str)> = publish
        .fields("withLabel")
        .iter()
        .map(|f| {
            (
                f.arg_str("name").unwrap_or(""),
                f.arg_str("value").unwrap_or(""),
            )
        })
        .collect();
    assert!(
        labels.contains(&("org.opencontainers.image.version", "2.2.6")),
        "{labels:?}"
    );
    let binary = publish.field("withFile").expect("the binary copied in");
    assert_eq!(binary.arg_str("path"), Some("/usr/bin/miniflux"));
    let go = engine.resolve_arg(binary, "source");
    assert_eq!(
        go.arg_str("from", "address"),
        Some("golang:1.25-alpine3.22")
    );
    let build = go.execs().pop().expect("go build");
    assert_eq!(build[..3], ["go", "build", "-trimpath"]);
    assert!(
        build.iter().any(|a| a.contains("Version=2.2.6")),
        "{build:?}"
    );
    let source = engine
        .resolve_id(
            go.field("withDirectory")
                .and_then(|f| f.arg_str("source"))
                .expect("source id"),
        )
        .expect("an id the engine issued");
    assert_eq!(
        source.arg_str("git", "url"),
        Some("https://github.com/miniflux/v2")
    );
    assert_eq!(source.arg_str("tag", "name"), Some("v2.2.6"));
}

#[test]
fn failing_step_names_its_stage_and_step_with_the_command_exit_code_and_stderr_tail() {
    let repo = repo();
    let stderr = (1..=30)
        .map(|n| format!("compile error {n}\n"))
        .collect::<String>();
    let engine = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("-trimpath", 2).stderr(&stderr))
        .start();
    let out = run(&repo, Some(&engine), &["miniflux", "--publish"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "");
    assert!(
        !out.stderr.contains("traceparent") && !out.stderr.contains("panicked"),
        "{}",
        out.stderr
    );
    let first = out.stderr.lines().nth(2).expect("the error line");
    insta::assert_snapshot!(first, @"error: step 'go build' of stage 'backend' failed: `go build -trimpath -o /out/miniflux -ldflags -s -w -X miniflux.app/v2/internal/version.Version=2.2.6 .` exited with 2");
    assert!(out.stderr.contains("| compile error 30"), "{}", out.stderr);
    assert!(
        out.stderr.contains("| compile error 11"),
        "the last 20 lines: {}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("| compile error 10\n"),
        "only the last 20 lines: {}",
        out.stderr
    );
}

#[test]
fn export_writes_the_nix_archive_whole_or_not_at_all() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(
        &repo,
        Some(&engine),
        &["web", "--kind", "nix", "--export", "out/web.tar.gz"],
        &[("X", "")],
    );
    // The directory must exist: the tool does not invent one, and says so before a build.
    assert_eq!(out.code, 2, "{out:?}");
    assert!(engine.raw_queries().is_empty());

    std::fs::create_dir(repo.path().join("out")).expect("mkdir");
    let out = run(
        &repo,
        Some(&engine),
        &["web", "--kind", "nix", "--export", "out/web.tar.gz"],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let target = repo.path().join("out/web.tar.gz");
    assert_eq!(out.stdout.trim(), target.display().to_string());
    assert_eq!(
        std::fs::read(&target).expect("exported"),
        testkit::dagger::EXPORTED_FILE
    );
    assert_eq!(
        std::fs::read_dir(repo.path().join("out"))
            .expect("out/")
            .count(),
        1,
        "no partial file left"
    );

    let failing = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("nix-build", 1))
        .start();
    std::fs::remove_file(&target).expect("rm");
    let out = run(
        &repo,
        Some(&failing),
        &["web", "--kind", "nix", "--export", "out/web.tar.gz"],
        &[],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("step 'nix-build' of stage 'nix' failed"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(repo.path().join("out"))
            .expect("out/")
            .count(),
        0,
        "nothing half-written"
    );
}

#[test]
fn refused_registry_auth_is_exit_3_with_a_credentials_hint_and_no_secret() {
    let repo = repo();
    let engine = FakeEngine::builder().refuse_publish_unauthorized().start();
    let out = run(
        &repo,
        Some(&engine),
        &["web", "--publish"],
        &[("REGISTRY_USERNAME", "ci"), ("REGISTRY_PASSWORD", PASSWORD)],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr
            .contains("error: the registry refused the push: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("401 Unauthorized"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("hint: check REGISTRY_USERNAME and REGISTRY_PASSWORD"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(PASSWORD) && !out.stdout.contains(PASSWORD));
}

#[test]
fn unreachable_engine_says_where_it_looked_and_exits_3() {
    let repo = repo();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port().to_string();
    drop(closed);
    let out = run(
        &repo,
        None,
        &["web", "--publish"],
        &[
            ("DAGGER_SESSION_PORT", port.as_str()),
            ("DAGGER_SESSION_TOKEN", "t"),
        ],
    );
    assert_eq!(out.code, 3, "{out:?}");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        error.starts_with("error: the Dagger engine (from DAGGER_SESSION_PORT): ")
            && error.contains("refused"),
        "{error}"
    );
}

#[test]
fn no_engine_and_no_dagger_cli_is_exit_3_saying_how_it_was_looked_for() {
    let repo = repo();
    let out = run(
        &repo,
        None,
        &["web", "--publish"],
        &[("PATH", "/nonexistent")],
    );
    assert_eq!(out.code, 3, "{out:?}");
    insta::assert_snapshot!(out.stderr.lines().skip(1).collect::<Vec<_>>().join("\n"), @r"
    error: no Dagger engine: DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN are not set and there is no dagger CLI (_EXPERIMENTAL_DAGGER_CLI_BIN, or dagger on PATH)
      hint: run it as `dagger run container-build-and-release …`, or install the dagger CLI
    ");
}

#[test]
fn engine_answers_the_sdk_would_panic_on_are_exit_3_errors() {
    for (leaf, answer) in [
        ("publish", RawAnswer::NullData),
        // A failed id query: the SDK resolves ids lazily with unwrap.
        ("id", RawAnswer::NullData),
        (
            "publish",
            RawAnswer::NotJson("<html>bad gateway</html>".into()),
        ),
        ("publish", RawAnswer::Status(500, "engine crashed".into())),
        ("publish", RawAnswer::Hangup),
    ] {
        let repo = repo();
        let engine = FakeEngine::builder()
            .answer_raw(leaf, answer.clone())
            .start();
        let out = run(&repo, Some(&engine), &["web", "--publish"], &[]);
        assert_eq!(out.code, 3, "{leaf} {answer:?}: {out:?}");
        assert!(
            !out.stderr.contains("panicked") && !out.stderr.contains("RUST_BACKTRACE"),
            "{}",
            out.stderr
        );
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(errors.len(), 1, "{leaf} {answer:?}: {}", out.stderr);
        assert!(
            errors[0].contains("Dagger engine"),
            "{leaf} {answer:?}: {}",
            errors[0]
        );
    }
}

#[test]
fn a_wrong_session_token_is_refused_as_exit_3() {
    let repo = repo();
    let engine = FakeEngine::builder().token("the-right-one").start();
    let bin = Path::new(env!("CARGO_BIN_EXE_container-build-and-release"));
    let out = testkit::cli::output(
        testkit::cli::command(bin, repo.path())
            .args(["web", "--local", "--publish", "--registry", REGISTRY])
            .env("DAGGER_SESSION_PORT", engine.port().to_string())
            .env("DAGGER_SESSION_TOKEN", "wrong-token"),
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stderr.contains("401"), "{}", out.stderr);
    assert!(!out.stderr.contains("wrong-token"), "{}", out.stderr);
}

#[test]
fn bad_input_is_refused_before_the_engine_is_asked() {
    let repo = repo();
    let engine = FakeEngine::start();
    let cases: [(&[&str], i32); 7] = [
        (&["wbe", "--publish"], 4),
        (&["torrent", "--kind", "nix"], 4),
        (&["navi", "--publish"], 2),
        (&["web", "--publish", "--ref", "no-such-ref"], 2),
        (&["web", "--export", "containers"], 2),
        (&["web", "--export", "out/"], 2),
        (&["web", "--export", "no-such-dir/web.tar"], 2),
    ];
    let mut report = String::new();
    for (args, code) in cases {
        let out = run(&repo, Some(&engine), args, &[]);
        assert_eq!(out.code, code, "{args:?}: {out:?}");
        report.push_str(&format!("$ {}\n{}", args.join(" "), out.stderr));
    }
    assert!(
        engine.raw_queries().is_empty(),
        "{:#?}",
        engine.raw_queries()
    );
    insta::assert_snapshot!(report, @r"
    $ wbe --publish
    error: no container 'wbe' under containers/ (known: cache, miniflux, navi, tools, torrent, web)
    $ torrent --kind nix
    error: containers/torrent has no default.nix (its builds: dockerfile)
      hint: build one it has: --kind dockerfile
    $ navi --publish
    error: containers/navi/container.rs is not compiled into this build of the tool
      hint: native pipelines are compiled in: rebuild the tool from this checkout (cargo build -p container-build-and-release)
    $ web --publish --ref no-such-ref
    error: ref 'no-such-ref' does not resolve to a commit
      hint: give a branch, tag or commit SHA that exists in this clone (git fetch?)
    $ web --export containers
    error: bad --export containers: it is a directory
      hint: name the file to write, such as --export containers/web.tar
    $ web --export out/
    error: bad --export out/: it is a directory
      hint: name the file to write, such as --export out/web.tar
    $ web --export no-such-dir/web.tar
    error: bad --export no-such-dir/web.tar: its directory does not exist
      hint: create the directory first (the archive is written there only when whole)
    ");
}

#[test]
fn json_reports_the_build_and_a_closed_stdout_still_exits_0() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(&repo, Some(&engine), &["web", "--publish", "--json"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["container"], "web");
    assert_eq!(report["kind"], "dockerfile");
    assert_eq!(report["version"], "1.2.3");
    assert_eq!(report["commit"], "[sha]");
    assert_eq!(report["digest"], "sha256:[digest]");
    assert_eq!(report["image"], "127.0.0.1:5999/opskit/web:v1.2.3-[sha7]");

    let bin = Path::new(env!("CARGO_BIN_EXE_container-build-and-release"));
    let mut command = testkit::cli::command(bin, repo.path());
    command
        .args([
            "web",
            "--local",
            "--publish",
            "--json",
            "--registry",
            REGISTRY,
        ])
        .envs(engine.env());
    let out = testkit::cli::output_into_closed(&mut command, testkit::cli::Closed::Stdout);
    assert_eq!(out.code, 0, "{out:?}");
}

/// A stand-in for the dagger CLI: `dagger session` prints `line` and waits for stdin
/// to close, as the real one does; anything else fails.
fn fake_dagger_cli(dir: &Path, line: &str) -> std::path::PathBuf {
    fake_dagger_cli_ending(dir, line, "cat >/dev/null")
}

/// [`fake_dagger_cli`] that runs `ending` (shell) after its line instead of waiting.
fn fake_dagger_cli_ending(dir: &Path, line: &str, ending: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("dagger");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n[ \"$1\" = session ] || exit 64\necho 'engine starting' \necho '{line}'\n{ending}\n"
        ),
    )
    .expect("write the fake CLI");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// `NAME --publish` in `repo` with `cli` as the dagger CLI and no session variables.
fn publish_through_cli(repo: &GitRepo, cli: &Path) -> testkit::cli::Outcome {
    run(
        repo,
        None,
        &["web", "--publish"],
        &[(
            "_EXPERIMENTAL_DAGGER_CLI_BIN",
            cli.to_str().expect("UTF-8 path"),
        )],
    )
}

#[test]
fn without_session_variables_the_dagger_cli_on_path_is_started_for_a_session() {
    let repo = repo();
    let engine = FakeEngine::start();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    fake_dagger_cli(
        bin_dir.path(),
        &format!(
            r#"{{"port":{},"session_token":"{}"}}"#,
            engine.port(),
            engine.token()
        ),
    );
    let path = format!("{}:/usr/bin:/bin", bin_dir.path().display());
    let out = run(
        &repo,
        None,
        &["web", "--publish"],
        &[("PATH", path.as_str())],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let engine_line = out.stderr.lines().nth(1).expect("the engine line");
    assert_eq!(
        engine_line.replace(&bin_dir.path().display().to_string(), "[bin]"),
        format!(
            "Engine: `[bin]/dagger session` (127.0.0.1:{})",
            engine.port()
        )
    );
    assert_eq!(engine.only("publish").leaf(), "publish");
}

#[test]
fn a_dagger_session_the_tool_started_is_ended_by_closing_its_stdin_not_killed() {
    let repo = repo();
    let engine = FakeEngine::start();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    // Killed, the script would never write the file; the tool waits for it to end.
    let ended = bin_dir.path().join("ended");
    let cli = fake_dagger_cli_ending(
        bin_dir.path(),
        &format!(
            r#"{{"port":{},"session_token":"{}"}}"#,
            engine.port(),
            engine.token()
        ),
        &format!("cat >/dev/null\necho stdin-closed > '{}'", ended.display()),
    );
    let out = publish_through_cli(&repo, &cli);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&ended).expect("the CLI ended on its own"),
        "stdin-closed\n"
    );
}

#[test]
fn a_dagger_cli_that_never_says_where_its_engine_listens_is_exit_3() {
    let repo = repo();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    // Exits after its line, where the real one would wait for stdin.
    let cli = fake_dagger_cli_ending(
        bin_dir.path(),
        "Error: cannot start the engine: no container runtime",
        "exit 1",
    );
    let out = publish_through_cli(&repo, &cli);
    assert_eq!(out.code, 3, "{out:?}");
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert_eq!(
        error.replace(&bin_dir.path().display().to_string(), "[bin]"),
        "error: `[bin]/dagger session` did not say where its engine listens"
    );
}

#[test]
fn interactive_without_a_terminal_says_so_and_reports_the_failing_step() {
    let repo = repo();
    let engine = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("-trimpath", 2).stderr("undefined: foo"))
        .start();
    let out = run(&repo, Some(&engine), &["miniflux", "--interactive"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("error: step 'go build' of stage 'backend' failed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("    | undefined: foo"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("hint: --interactive needs the dagger CLI on PATH and a terminal"),
        "{}",
        out.stderr
    );
}

#[test]
fn only_a_build_is_checked_when_neither_publish_nor_export_is_asked() {
    let repo = repo();
    let engine = FakeEngine::start();
    let out = run(&repo, Some(&engine), &["web"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @"built 127.0.0.1:5999/opskit/web:v1.2.3-[sha7] (not published)");
    let leaves: Vec<String> = engine
        .queries()
        .iter()
        .map(|q| q.leaf().to_owned())
        .collect();
    assert!(leaves.contains(&"sync".to_owned()), "{leaves:?}");
    assert!(
        !leaves.iter().any(|l| l == "publish" || l == "export"),
        "{leaves:?}"
    );
}

/// The one test against a real Dagger engine, which cannot run here: it runs when
/// OPSKIT_DAGGER_E2E=1 and an engine session exists, e.g.
/// `OPSKIT_DAGGER_E2E=1 dagger run cargo nextest run -p container-build-and-release real_engine`
/// (README, "Testing against a real Dagger engine"). It builds this repository's
/// kubectl image (a Dockerfile on Alpine) and exports it.
#[test]
fn real_engine_builds_and_exports_this_repos_kubectl_image() {
    if std::env::var_os("OPSKIT_DAGGER_E2E").is_none() {
        eprintln!(
            "skipped: set OPSKIT_DAGGER_E2E=1 and run under `dagger run` to build with a real engine"
        );
        return;
    }
    let repo = GitRepo::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for file in ["containers/kubectl/Dockerfile", "service-versions.yaml"] {
        repo.write(
            file,
            &std::fs::read_to_string(root.join(file)).expect("in this repository"),
        );
    }
    repo.commit("kubectl");
    let bin = Path::new(env!("CARGO_BIN_EXE_container-build-and-release"));
    let mut command = testkit::cli::command(bin, repo.path());
    command.args([
        "kubectl",
        "--local",
        "--export",
        "kubectl.tar",
        "--registry",
        REGISTRY,
    ]);
    testkit::dagger::pass_real_engine(&mut command);
    let out = testkit::cli::output(&mut command);
    assert_eq!(out.code, 0, "{out:?}");
    let archive = std::fs::read(repo.path().join("kubectl.tar")).expect("the exported image");
    assert_eq!(&archive[257..262], b"ustar", "an OCI tarball");
}

#[test]
fn interactive_with_a_terminal_runs_the_same_command_again_under_dagger_run_i() {
    let repo = repo();
    let engine = FakeEngine::builder()
        .fail_exec(FailExec::on_arg("-trimpath", 2))
        .start();
    let bin_dir = tempfile::tempdir().expect("tempdir");
    let recorded = bin_dir.path().join("dagger.args");
    let cli = fake_dagger_cli(bin_dir.path(), "unused");
    // `dagger run -i …` here only records what it was asked to run, and how.
    std::fs::write(
        &cli,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\necho \"rerun=$OPSKIT_INTERACTIVE_RERUN\" >> '{}'\n",
            recorded.display(),
            recorded.display()
        ),
    )
    .expect("write the fake CLI");
    let tool = env!("CARGO_BIN_EXE_container-build-and-release");
    // `script` gives the tool a terminal, as a developer's shell would.
    let line = format!("{tool} miniflux --local --interactive --registry {REGISTRY}");
    let mut command = std::process::Command::new("script");
    command
        .args(["-qec", &line, "/dev/null"])
        .current_dir(repo.path())
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", bin_dir.path().display()),
        )
        .env("HOME", repo.path())
        .envs(engine.env());
    let out = testkit::cli::output(&mut command);
    assert_eq!(
        out.code, 1,
        "the step's failure is still the outcome: {out:?}"
    );
    assert!(
        out.stdout
            .contains("running it again under `dagger run -i`"),
        "{}",
        out.stdout
    );
    let asked = std::fs::read_to_string(&recorded).expect("the dagger CLI was run");
    let asked: Vec<&str> = asked.lines().collect();
    assert_eq!(
        asked,
        [
            "run",
            "-i",
            tool,
            "miniflux",
            "--local",
            "--interactive",
            "--registry",
            REGISTRY,
            "rerun=1"
        ]
    );
}

#[test]
fn a_build_that_outlasts_build_timeout_is_exit_3_naming_that_flag() {
    let repo = repo();
    let engine = FakeEngine::builder()
        .answer_raw(
            "publish",
            RawAnswer::Stall(std::time::Duration::from_secs(5)),
        )
        .start();
    let started = std::time::Instant::now();
    let out = run(
        &repo,
        Some(&engine),
        &["web", "--publish", "--build-timeout", "0.5"],
        &[],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "bounded by --build-timeout"
    );
    let error = out
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .expect("an error line");
    assert!(
        error.ends_with("no complete answer within 0.5 s (--build-timeout)"),
        "{error}"
    );
    assert!(
        out.stderr
            .contains("hint: the server did not answer in time; raise --build-timeout"),
        "{}",
        out.stderr
    );
}
