//! `release-docs build`, driven as a process against testkit's Dagger test engine (the
//! GraphQL session endpoint of engine v0.21.11 as dagger-sdk 0.21.11 speaks to it,
//! reached through DAGGER_SESSION_PORT/TOKEN as under `dagger run`). Chains are checked
//! field by field, never as text: the SDK's argument order changes between runs.
//!
//! The test engine's export of a directory creates an empty one, so the tarball these
//! tests see is the pack of an empty site: enough to check where it goes, that it is
//! whole, and that two builds give the same sha256 (`opskit::pack`'s own tests cover
//! what a full site packs to).

use std::path::Path;

use testkit::cli::Outcome;
use testkit::dagger::{FailExec, FakeEngine, Query};
use testkit::git::GitRepo;

/// The shape of Quartz v4.5's quartz.config.ts around the lines the build changes.
const UPSTREAM_CONFIG: &str = r#"const config: QuartzConfig = {
  configuration: {
    pageTitle: "Quartz 4",
    pageTitleSuffix: "",
    enableSPA: true,
    ignorePatterns: ["private", "templates", ".obsidian"],
    defaultDateType: "created",
  },
}
"#;

/// A repository with docs, a changelog fragment and CHANGELOG.md, committed.
fn repo() -> GitRepo {
    let repo = GitRepo::new();
    repo.write("docs/index.md", "# opskit\n")
        .write("docs/how-to/release.md", "# Releasing\n")
        .write("docs/changelog.d/+x.feature.md", "x\n")
        .write("CHANGELOG.md", "# Changelog\n")
        .write("README.md", "not docs\n");
    repo.commit("docs");
    repo
}

/// An engine whose quartz.config.ts is [`UPSTREAM_CONFIG`], failing `fail` if given.
fn engine(fail: Option<FailExec>) -> FakeEngine {
    let mut builder = FakeEngine::builder().answer("contents", serde_json::json!(UPSTREAM_CONFIG));
    if let Some(fail) = fail {
        builder = builder.fail_exec(fail);
    }
    builder.start()
}

/// `release-docs build ARGS…` in `repo` with `engine`'s session variables (when
/// given) and `env`; the repository path, commit and port are filtered out.
fn run(
    repo: &GitRepo,
    engine: Option<&FakeEngine>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut command = testkit::cli::command(bin, repo.path());
    command.arg("build").args(args).envs(env.iter().copied());
    if let Some(engine) = engine {
        command.envs(engine.env());
    }
    let mut out = testkit::cli::output(&mut command);
    let sha = repo.head();
    let root = repo.path().display().to_string();
    for text in [&mut out.stdout, &mut out.stderr] {
        *text = text.replace(&root, "[repo]").replace(&sha[..7], "[sha7]");
        if let Some(engine) = engine {
            *text = text.replace(&format!(":{}", engine.port()), ":[port]");
        }
    }
    out
}

/// The chain an id argument of `field` in `query` stands for.
fn resolved(engine: &FakeEngine, query: &Query, field: &str, arg: &str, which: usize) -> Query {
    let id = query.fields(field)[which]
        .arg_str(arg)
        .unwrap_or_else(|| panic!("{field}({arg}:) in {query:?}"));
    engine.resolve_id(id).expect("an id the engine issued")
}

fn sha256_of(path: &Path) -> String {
    opskit::forge::packages::Fingerprint::of(&std::fs::read(path).expect("the tarball")).sha256
}

#[test]
fn quartz_at_its_tag_builds_the_commits_docs_in_node_with_an_npm_cache_and_the_public_dir_is_exported()
 {
    let repo = repo();
    let engine = engine(None);
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    Building the docs v1.2.3 from [sha7] with Quartz v4.5.2
    Engine: DAGGER_SESSION_PORT (127.0.0.1:[port])
    ");

    let export = engine.only("export");
    assert_eq!(export.arg_str("directory", "path"), Some("/quartz/public"));
    assert_eq!(
        export.arg_str("from", "address"),
        Some("node:22-alpine3.22")
    );
    assert_eq!(
        export.execs(),
        [
            vec!["npm", "ci", "--no-audit", "--no-fund"],
            vec!["npx", "quartz", "build", "-d", "docs", "-o", "public"],
        ]
    );
    // npm ci runs before the content and the config are added: a docs change reuses
    // the installed layer.
    let names = export.names();
    let position = |name: &str| names.iter().position(|n| *n == name).expect(name);
    assert!(position("withExec") < position("withNewFile"), "{names:?}");

    let npm = export.field("withMountedCache").expect("the npm cache");
    assert_eq!(npm.arg_str("path"), Some("/root/.npm"));
    let volume = engine.resolve_arg(npm, "cache");
    assert_eq!(volume.arg_str("cacheVolume", "key"), Some("opskit-npm"));

    let mounts: Vec<Option<&str>> = export
        .fields("withDirectory")
        .iter()
        .map(|f| f.arg_str("path"))
        .collect();
    assert_eq!(mounts, [Some("/quartz"), Some("/quartz/docs")]);
    let quartz = resolved(&engine, &export, "withDirectory", "source", 0);
    assert_eq!(
        quartz.arg_str("git", "url"),
        Some("https://github.com/jackyzha0/quartz")
    );
    assert_eq!(quartz.arg_str("tag", "name"), Some("v4.5.2"));
    assert_eq!(quartz.leaf(), "tree");

    // The content is docs/ as the commit has it, by a host directory id resolved first.
    let content = resolved(&engine, &export, "withDirectory", "source", 1);
    let content = engine
        .resolve_id(content.arg_str("loadDirectoryFromID", "id").expect("an id"))
        .expect("an id the engine issued");
    let host = content.arg_str("directory", "path").expect("a host path");
    assert!(host.ends_with("/checkout/docs"), "{host}");

    let config = export.field("withNewFile").expect("the site's config");
    assert_eq!(config.arg_str("path"), Some("/quartz/quartz.config.ts"));
    insta::assert_snapshot!(config.arg_str("contents").expect("contents"), @r#"
    const config: QuartzConfig = {
      configuration: {
        pageTitle: "opskit",
        pageTitleSuffix: "",
        enableSPA: true,
        ignorePatterns: ["changelog.d", "private", "templates", ".obsidian"],
        defaultDateType: "modified",
      },
    }
    "#);
    let read = engine.only("contents");
    assert_eq!(read.arg_str("file", "path"), Some("quartz.config.ts"));
    assert_eq!(read.arg_str("tag", "name"), Some("v4.5.2"));
}

#[test]
fn the_tarball_goes_to_target_docs_by_default_and_two_builds_have_one_sha256() {
    let repo = repo();
    let engine = engine(None);
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    let tarball = repo.path().join("target/docs/docs-v1.2.3.tar.gz");
    let sha = sha256_of(&tarball);
    let size = std::fs::metadata(&tarball).expect("written").len();
    assert_eq!(
        out.stdout,
        format!("[repo]/target/docs/docs-v1.2.3.tar.gz  sha256:{sha}  {size} bytes\n")
    );

    let again = run(
        &repo,
        Some(&engine),
        &["--version", "v1.2.3", "--json"],
        &[],
    );
    assert_eq!(again.code, 0, "{again:?}");
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("JSON");
    assert_eq!(
        report,
        serde_json::json!({
            "version": "v1.2.3",
            "path": "[repo]/target/docs/docs-v1.2.3.tar.gz",
            "sha256": sha,
            "size": size,
        })
    );
    assert_eq!(sha256_of(&tarball), sha);
    assert_eq!(
        std::fs::read_dir(repo.path().join("target/docs"))
            .expect("dir")
            .count(),
        1,
        "no temporary file left"
    );
}

#[test]
fn out_and_ref_choose_the_tarball_path_and_the_commit() {
    let repo = repo();
    let first = repo.head();
    repo.write("docs/index.md", "# changed\n");
    repo.commit("later docs");
    let engine = engine(None);
    let out = run(
        &repo,
        Some(&engine),
        &[
            "--version",
            "v0.1.0",
            "--out",
            "dist/site.tar.gz",
            "--ref",
            &first,
        ],
        &[],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("dist/site.tar.gz  sha256:"),
        "{}",
        out.stdout
    );
    assert!(repo.path().join("dist/site.tar.gz").is_file());
    assert!(
        out.stderr.contains(&format!("from {} ", &first[..7])),
        "{}",
        out.stderr
    );
}

#[test]
fn a_failing_npm_ci_names_its_stage_and_step_and_leaves_no_tarball() {
    let repo = repo();
    let tarball = repo.path().join("target/docs/docs-v1.2.3.tar.gz");
    let engine = engine(Some(
        FailExec::on_arg("ci", 1).stderr("npm ERR! code ECONNRESET\nnpm ERR! network"),
    ));
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!(out.stderr.lines().skip(2).collect::<Vec<_>>().join("\n"), @r"
    error: step 'npm ci' of stage 'docs' failed: `npm ci --no-audit --no-fund` exited with 1
      hint: its stderr ended with:
        | npm ERR! code ECONNRESET
        | npm ERR! network
    ");
    assert!(!tarball.exists());
    assert!(!repo.path().join("target").exists(), "nothing half-written");
}

#[test]
fn a_failure_keeps_the_previous_tarball_untouched() {
    let repo = repo();
    std::fs::create_dir_all(repo.path().join("target/docs")).expect("mkdir");
    let tarball = repo.path().join("target/docs/docs-v1.2.3.tar.gz");
    std::fs::write(&tarball, "previous").expect("write");
    let engine = engine(Some(FailExec::on_arg("quartz", 2)));
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("error: step 'quartz build' of stage 'docs' failed"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&tarball).expect("kept"), b"previous");
    assert_eq!(
        std::fs::read_dir(repo.path().join("target/docs"))
            .expect("dir")
            .count(),
        1
    );
}

#[test]
fn a_quartz_config_without_the_lines_to_change_is_exit_1_before_npm_runs() {
    let repo = repo();
    let engine = FakeEngine::builder()
        .answer("contents", serde_json::json!("export default {}\n"))
        .start();
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(out.stderr.lines().skip(2).collect::<Vec<_>>().join("\n"), @r"
    error: Quartz v4.5.2's quartz.config.ts has 0 pageTitle, 0 ignorePatterns, 0 defaultDateType lines, not one of each
      hint: the pinned Quartz changed its configuration: update site_config with QUARTZ_TAG
    ");
    assert!(engine.execs().is_empty(), "{:?}", engine.execs());
}

#[test]
fn no_engine_and_no_dagger_cli_is_exit_3() {
    let repo = repo();
    let out = run(
        &repo,
        None,
        &["--version", "v1.2.3"],
        &[("PATH", "/nonexistent")],
    );
    assert_eq!(out.code, 3, "{out:?}");
    insta::assert_snapshot!(out.stderr.lines().skip(1).collect::<Vec<_>>().join("\n"), @r"
    error: no Dagger engine: DAGGER_SESSION_PORT and DAGGER_SESSION_TOKEN are not set and there is no dagger CLI (_EXPERIMENTAL_DAGGER_CLI_BIN, or dagger on PATH)
      hint: run it as `dagger run release-docs …`, or install the dagger CLI
    ");
    assert!(!repo.path().join("target").exists());
}

#[test]
fn bad_input_is_refused_before_the_engine_is_asked() {
    let repo = repo();
    let engine = engine(None);
    let cases: [&[&str]; 4] = [
        &["--version", "1.2.3"],
        &["--version", "v1.2"],
        &["--version", "v1.2.3", "--ref", "no-such-ref"],
        &["--version", "v1.2.3", "--out", "docs"],
    ];
    let mut report = String::new();
    for args in cases {
        let out = run(&repo, Some(&engine), args, &[]);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        report.push_str(&format!("$ build {}\n{}", args.join(" "), out.stderr));
    }
    assert!(
        engine.raw_queries().is_empty(),
        "{:#?}",
        engine.raw_queries()
    );
    insta::assert_snapshot!(report, @r"
    $ build --version 1.2.3
    error: --version '1.2.3' is not a docs version
      hint: give v<major>.<minor>.<patch>, such as v1.2.3
    $ build --version v1.2
    error: --version 'v1.2' is not a docs version
      hint: give v<major>.<minor>.<patch>, such as v1.2.3
    $ build --version v1.2.3 --ref no-such-ref
    error: ref 'no-such-ref' does not resolve to a commit
      hint: give a branch, tag or commit SHA that exists in this clone (git fetch?)
    $ build --version v1.2.3 --out docs
    error: bad --out docs: it is a directory
      hint: name the file to write, such as --out docs/docs-v1.2.3.tar.gz
    ");
}

#[test]
fn docs_without_an_index_page_are_built_with_a_warning() {
    let repo = repo();
    repo.remove("docs/index.md");
    repo.commit("no home page");
    let engine = engine(None);
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    Building the docs v1.2.3 from [sha7] with Quartz v4.5.2
    warning: docs/ in [sha7] has no index.md: the site will have no home page
    Engine: DAGGER_SESSION_PORT (127.0.0.1:[port])
    ");
}

#[test]
fn a_commit_without_docs_is_exit_4() {
    let repo = GitRepo::new();
    repo.write("README.md", "no docs\n");
    repo.commit("no docs");
    let engine = engine(None);
    let out = run(&repo, Some(&engine), &["--version", "v1.2.3"], &[]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(
        out.stderr.contains("docs is not in commit [sha7]"),
        "{}",
        out.stderr
    );
    assert!(engine.raw_queries().is_empty());
}

/// The one test against a real Dagger engine, which cannot run here: it runs when
/// OPSKIT_DAGGER_E2E=1 and an engine session exists, e.g.
/// `OPSKIT_DAGGER_E2E=1 dagger run cargo nextest run -p release-docs real_engine`
/// (needs the network: Quartz from GitHub, packages from npm). It builds a two-page
/// site twice: the tarball has the pages, and both builds have one sha256.
#[test]
fn real_engine_builds_a_site_twice_with_one_sha256() {
    if std::env::var_os("OPSKIT_DAGGER_E2E").is_none() {
        eprintln!(
            "skipped: set OPSKIT_DAGGER_E2E=1 and run under `dagger run` to build with a real engine"
        );
        return;
    }
    let repo = repo();
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut shas = Vec::new();
    for out in ["one.tar.gz", "two.tar.gz"] {
        let mut command = testkit::cli::command(bin, repo.path());
        command.args(["build", "--version", "v1.0.0", "--out", out]);
        testkit::dagger::pass_real_engine(&mut command);
        let result = testkit::cli::output(&mut command);
        assert_eq!(result.code, 0, "{result:?}");
        shas.push(sha256_of(&repo.path().join(out)));
    }
    assert_eq!(shas[0], shas[1], "two builds of one commit differ");
    let listing = std::process::Command::new("tar")
        .args(["-tzf", "one.tar.gz"])
        .current_dir(repo.path())
        .output()
        .expect("tar runs");
    assert!(listing.status.success(), "{listing:?}");
    let listing = String::from_utf8(listing.stdout).expect("UTF-8");
    let names: Vec<&str> = listing.lines().collect();
    for page in ["index.html", "how-to/release.html", "CHANGELOG.html"] {
        assert!(names.contains(&page), "{page} in {names:?}");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("changelog.d")),
        "{names:?}"
    );
}
