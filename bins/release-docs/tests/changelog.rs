//! `release-docs changelog` driven as a process on a git repository made here with
//! this repository's own towncrier.toml: with the real towncrier (`--no-engine`; pip's
//! towncrier, which scripts/setup installs), and in Dagger against testkit's test
//! engine (the GraphQL session endpoint of engine v0.21.11 as dagger-sdk 0.21.11 speaks
//! to it), whose recorded chains are checked field by field, never as text.

use std::path::{Path, PathBuf};

use serde_json::json;
use testkit::cli::Outcome;
use testkit::dagger::{FailExec, FakeEngine, Query};
use testkit::git::GitRepo;

const DATE: &str = "2026-12-02";
const HEADER: &str = "# Changelog\n\n<!-- towncrier release notes start -->\n";
/// A section from an earlier release, below which the new one goes.
const OLDER: &str = "\n## [v1.2.2] - 2026-11-01\n\n### Bug Fixes\n\n- Old fix.\n";
const FRAGMENTS: [(&str, &str); 3] = [
    ("+search.feature.md", "Search the docs site.\n"),
    ("12.bugfix.md", "Links to anchors work again.\n"),
    ("+runner.infra.md", "Docs build on the runner.\n"),
];

/// A committed repository: this repo's towncrier.toml, a changelog with one older
/// section, `.gitkeep` and three fragments.
fn repo() -> GitRepo {
    let repo = GitRepo::new();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../towncrier.toml");
    repo.write(
        "towncrier.toml",
        &std::fs::read_to_string(config).expect("the repository's towncrier.toml"),
    );
    repo.write("CHANGELOG.md", &format!("{HEADER}{OLDER}"));
    repo.write("docs/changelog.d/.gitkeep", "");
    for (name, text) in FRAGMENTS {
        repo.write(&format!("docs/changelog.d/{name}"), text);
    }
    repo.commit("fragments");
    repo
}

/// `release-docs changelog ARGS…` in `repo`, with `engine`'s session variables when
/// given and `path` as PATH when given; the engine's port is filtered out.
fn run(repo: &GitRepo, engine: Option<&FakeEngine>, args: &[&str], path: Option<&Path>) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut command = testkit::cli::command(bin, repo.path());
    command.arg("changelog").args(args);
    if let Some(engine) = engine {
        command.envs(engine.env());
    }
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let mut out = testkit::cli::output(&mut command);
    if let Some(engine) = engine {
        for text in [&mut out.stdout, &mut out.stderr] {
            *text = text.replace(&format!(":{}", engine.port()), ":[port]");
        }
    }
    out
}

/// The local towncrier, for v1.2.3 on [`DATE`], plus `args`.
fn local(repo: &GitRepo, args: &[&str]) -> Outcome {
    let mut all = vec!["--version", "v1.2.3", "--date", DATE, "--no-engine"];
    all.extend_from_slice(args);
    run(repo, None, &all, None)
}

/// [`local`] with no more flags and `path` as PATH.
fn local_on(repo: &GitRepo, path: &Path) -> Outcome {
    run(
        repo,
        None,
        &["--version", "v1.2.3", "--date", DATE, "--no-engine"],
        Some(path),
    )
}

fn changelog(repo: &GitRepo) -> String {
    std::fs::read_to_string(repo.path().join("CHANGELOG.md")).expect("CHANGELOG.md")
}

/// The names in docs/changelog.d, sorted.
fn fragments(repo: &GitRepo) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo.path().join("docs/changelog.d"))
        .expect("docs/changelog.d")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

const ALL_FRAGMENTS: [&str; 4] = [
    "+runner.infra.md",
    "+search.feature.md",
    ".gitkeep",
    "12.bugfix.md",
];

/// A directory holding one executable `towncrier` script, to put first on PATH.
fn fake_towncrier(script: &str) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("a temp dir");
    let bin = dir.path().join("towncrier");
    std::fs::write(&bin, format!("#!/bin/sh\n{script}\n")).expect("write the script");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = std::env::join_paths(std::iter::once(dir.path().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("a PATH");
    (dir, PathBuf::from(path))
}

#[test]
fn local_towncrier_folds_the_fragments_prints_the_section_and_removes_them() {
    let repo = repo();
    let out = local(&repo, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @r"
    ## [v1.2.3] - 2026-12-02

    ### Features

    - Search the docs site.

    ### Bug Fixes

    - Links to anchors work again.

    ### Infrastructure

    - Docs build on the runner.
    ");
    insta::assert_snapshot!(out.stderr, @"wrote CHANGELOG.md for v1.2.3, consuming 3 fragment(s)");
    let written = changelog(&repo);
    assert!(
        written.starts_with(&format!("{HEADER}\n{}", out.stdout)),
        "{written}"
    );
    assert!(
        written.ends_with(OLDER),
        "the older section is kept: {written}"
    );
    assert_eq!(fragments(&repo), [".gitkeep"]);
}

#[test]
fn a_rerun_changes_nothing_and_prints_the_section_already_written() {
    let repo = repo();
    let first = local(&repo, &[]);
    assert_eq!(first.code, 0, "{first:?}");
    let written = changelog(&repo);
    // A fragment for the next release arrives; the re-run must not fold it in.
    repo.write("docs/changelog.d/+later.doc.md", "Later.\n");

    // On another day too: the section is found by its version.
    let again = run(
        &repo,
        None,
        &["--version", "v1.2.3", "--date", "2026-12-24", "--no-engine"],
        None,
    );
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, first.stdout);
    insta::assert_snapshot!(again.stderr, @"CHANGELOG.md already has v1.2.3");
    assert_eq!(changelog(&repo), written);
    assert_eq!(fragments(&repo), ["+later.doc.md", ".gitkeep"]);
}

#[test]
fn draft_prints_the_section_and_changes_nothing() {
    let repo = repo();
    let before = changelog(&repo);
    let out = local(&repo, &["--draft"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .starts_with("## [v1.2.3] - 2026-12-02\n\n### Features\n"),
        "{}",
        out.stdout
    );
    insta::assert_snapshot!(out.stderr, @"draft of v1.2.3 for CHANGELOG.md; nothing written");
    assert_eq!(changelog(&repo), before);
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
    assert_eq!(repo.git(&["status", "--porcelain"]), "");
}

#[test]
fn json_reports_version_section_written_already_and_the_removed_fragments() {
    let repo = repo();
    let out = local(&repo, &["--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(report["version"], "v1.2.3");
    assert_eq!(report["written"], true);
    assert_eq!(report["already"], false);
    assert_eq!(
        report["removed_fragments"],
        json!([
            "docs/changelog.d/+runner.infra.md",
            "docs/changelog.d/+search.feature.md",
            "docs/changelog.d/12.bugfix.md"
        ])
    );
    let section = report["section"].as_str().expect("the section");
    assert!(changelog(&repo).contains(section), "{section}");

    let again = local(&repo, &["--json"]);
    let report: serde_json::Value = serde_json::from_str(&again.stdout).expect("one JSON document");
    assert_eq!(
        (
            &report["written"],
            &report["already"],
            &report["removed_fragments"]
        ),
        (&json!(false), &json!(true), &json!([]))
    );
    assert_eq!(report["section"], section);
}

#[test]
fn notes_out_gets_the_section_too() {
    let repo = repo();
    let notes = repo.path().join("notes.md");
    let out = local(&repo, &["--notes-out", notes.to_str().expect("UTF-8")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(std::fs::read_to_string(&notes).expect("notes"), out.stdout);
}

#[test]
fn no_fragments_stops_with_exit_1_unless_allow_empty() {
    let repo = repo();
    for (name, _) in FRAGMENTS {
        repo.remove(&format!("docs/changelog.d/{name}"));
    }
    repo.commit("no fragments");
    let before = changelog(&repo);
    let out = local(&repo, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r#"
    error: no changelog fragments in docs/changelog.d
      hint: add one (<issue>.<type>.md), or pass --allow-empty to write a section saying "No significant changes."
    "#);
    assert_eq!(changelog(&repo), before);

    let out = local(&repo, &["--allow-empty"]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @r"
    ## [v1.2.3] - 2026-12-02

    No significant changes.
    ");
    assert!(changelog(&repo).contains("## [v1.2.3] - 2026-12-02\n\nNo significant changes.\n"));
}

#[test]
fn a_malformed_fragment_name_is_exit_2_before_towncrier_runs() {
    let repo = repo();
    repo.write("docs/changelog.d/+typo.feture.md", "Lost.\n");
    repo.write("docs/changelog.d/notes.txt", "Not a fragment.\n");
    let (dir, path) = fake_towncrier("touch \"$0.ran\"");
    let out = local_on(&repo, &path);
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: malformed changelog fragment name: docs/changelog.d/+typo.feture.md, docs/changelog.d/notes.txt
      hint: name it <issue>.<type>.md or +<name>.<type>.md, where <type> is one of: feature, bugfix, infra, doc, misc
    ");
    assert!(!dir.path().join("towncrier.ran").exists(), "towncrier ran");
    assert_eq!(changelog(&repo), format!("{HEADER}{OLDER}"));
}

#[test]
fn a_version_or_date_not_in_the_release_form_is_exit_2() {
    let repo = repo();
    let out = run(&repo, None, &["--version", "1.2.3", "--no-engine"], None);
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: --version '1.2.3' is not a docs version
      hint: give v<major>.<minor>.<patch>, such as v1.2.3
    ");
    let out = run(
        &repo,
        None,
        &["--version", "v1.2.3", "--date", "12/02/2026", "--no-engine"],
        None,
    );
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: '12/02/2026' is not a date
      hint: give --date as YYYY-MM-DD, such as 2026-12-02
    ");
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

#[test]
fn the_date_defaults_to_today_in_utc() {
    let repo = repo();
    let out = run(
        &repo,
        None,
        &["--version", "v1.2.3", "--no-engine", "--draft"],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let today = opskit::changelog::today_utc();
    assert!(
        out.stdout.starts_with(&format!("## [v1.2.3] - {today}\n")),
        "{}",
        out.stdout
    );
}

#[test]
fn no_local_towncrier_is_exit_2_saying_how_to_install_it() {
    let repo = repo();
    let empty = tempfile::tempdir().expect("a temp dir");
    let out = local_on(&repo, empty.path());
    assert_eq!(out.code, 2, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: --no-engine needs towncrier, and there is none on PATH
      hint: pip install towncrier (or drop --no-engine to run it in Dagger)
    ");
}

#[test]
fn a_failing_local_towncrier_is_exit_1_with_the_tail_of_its_stderr() {
    let repo = repo();
    let (_dir, path) =
        fake_towncrier("echo 'Loading template...' >&2; echo 'Error: bad template' >&2; exit 1");
    let out = local_on(&repo, &path);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: `towncrier build --draft --version v1.2.3 --date 2026-12-02` exited with 1
      hint: its stderr ended with:
        | Loading template...
        | Error: bad template
    ");
    assert_eq!(changelog(&repo), format!("{HEADER}{OLDER}"));
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

// In Dagger, against the test engine.

/// What the test engine's towncrier "prints" for `--draft`, with its blank tail.
const DRAFTED: &str = "## [v1.2.3] - 2026-12-02\n\n### Features\n\n- Search the docs site.\n\n\n\n";
/// What the test engine's towncrier "wrote".
fn folded() -> String {
    format!(
        "{HEADER}\n## [v1.2.3] - 2026-12-02\n\n### Features\n\n- Search the docs site.\n{OLDER}"
    )
}

/// An engine whose towncrier drafts [`DRAFTED`], writes [`folded`] and leaves `left`
/// in the fragments' directory.
fn towncrier_engine(left: serde_json::Value) -> testkit::dagger::Builder {
    FakeEngine::builder()
        .answer("stdout", json!(DRAFTED))
        .answer("contents", json!(folded()))
        .answer("entries", left)
}

fn in_engine(repo: &GitRepo, engine: &FakeEngine, args: &[&str]) -> Outcome {
    let mut all = vec!["--version", "v1.2.3", "--date", DATE];
    all.extend_from_slice(args);
    run(repo, Some(engine), &all, None)
}

/// The host path behind the id argument `arg` of the `field` at `path` in `query`.
fn host_path(engine: &FakeEngine, query: &Query, field: &str, path: &str, arg: &str) -> String {
    let mounted = query
        .fields(field)
        .into_iter()
        .find(|f| f.arg_str("path") == Some(path))
        .unwrap_or_else(|| panic!("{field} at {path} in {query}"));
    let chain = engine.resolve_arg(mounted, arg);
    let kind = chain.chain.last().expect("a field").name.clone();
    assert_eq!(chain.names()[..1], ["host"], "{chain}");
    format!(
        "{kind} {}",
        chain.arg_str(&kind, "path").expect("a host path")
    )
}

#[test]
fn in_dagger_towncrier_runs_pinned_in_python_on_the_working_tree_files_only() {
    let repo = repo();
    let engine = towncrier_engine(json!([".gitkeep"])).start();
    let out = in_engine(&repo, &engine, &[]);
    assert_eq!(out.code, 0, "{out:?}");

    let draft = engine.only("stdout");
    assert_eq!(
        draft.arg_str("from", "address"),
        Some("python:3.12-alpine3.22")
    );
    let cache = draft.field("withMountedCache").expect("the pip cache");
    assert_eq!(cache.arg_str("path"), Some("/root/.cache/pip"));
    let volume = engine.resolve_arg(cache, "cache");
    assert_eq!(volume.arg_str("cacheVolume", "key"), Some("opskit-pip"));
    assert_eq!(
        draft.execs(),
        [
            vec![
                "pip",
                "install",
                "--root-user-action=ignore",
                "towncrier==26.9.0"
            ],
            vec![
                "towncrier",
                "build",
                "--draft",
                "--version",
                "v1.2.3",
                "--date",
                DATE
            ],
        ]
    );
    assert_eq!(draft.arg_str("withWorkdir", "path"), Some("/src"));
    // Exactly what towncrier reads, from the working tree.
    let root = repo.path().to_string_lossy().into_owned();
    let mounts: Vec<String> = [
        ("withFile", "/src/towncrier.toml"),
        ("withFile", "/src/CHANGELOG.md"),
        ("withDirectory", "/src/docs/changelog.d"),
    ]
    .iter()
    .map(|(field, path)| host_path(&engine, &draft, field, path, "source").replace(&root, "[root]"))
    .collect();
    assert_eq!(
        mounts,
        [
            "file [root]/towncrier.toml",
            "file [root]/CHANGELOG.md",
            "directory [root]/docs/changelog.d",
        ]
    );
    assert_eq!(
        draft.fields("withFile").len() + draft.fields("withDirectory").len(),
        3,
        "{draft}"
    );

    let contents = engine.only("contents");
    assert_eq!(
        contents.execs().last().map(Vec::as_slice),
        Some(
            &[
                "towncrier",
                "build",
                "--yes",
                "--version",
                "v1.2.3",
                "--date",
                DATE
            ]
            .map(String::from)[..]
        )
    );
    assert_eq!(contents.arg_str("file", "path"), Some("/src/CHANGELOG.md"));
    let entries = engine.only("entries");
    assert_eq!(
        entries.arg_str("directory", "path"),
        Some("/src/docs/changelog.d")
    );
    assert!(
        entries
            .execs()
            .iter()
            .any(|e| e.contains(&"--yes".to_owned()))
    );
}

#[test]
fn in_dagger_the_changelog_is_written_back_and_consumed_fragments_deleted() {
    let repo = repo();
    // towncrier left 12.bugfix.md: it is not deleted here either.
    let engine = towncrier_engine(json!([".gitkeep", "12.bugfix.md"])).start();
    let out = in_engine(&repo, &engine, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stdout, @r"
    ## [v1.2.3] - 2026-12-02

    ### Features

    - Search the docs site.
    ");
    insta::assert_snapshot!(out.stderr, @"wrote CHANGELOG.md for v1.2.3, consuming 2 fragment(s)");
    assert_eq!(changelog(&repo), folded());
    assert_eq!(fragments(&repo), [".gitkeep", "12.bugfix.md"]);
}

#[test]
fn in_dagger_draft_runs_only_the_draft_and_changes_nothing() {
    let repo = repo();
    let engine = towncrier_engine(json!([])).start();
    let out = in_engine(&repo, &engine, &["--draft"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, DRAFTED.trim_end().to_owned() + "\n");
    assert!(
        engine
            .execs()
            .iter()
            .all(|e| !e.contains(&"--yes".to_owned())),
        "{:?}",
        engine.execs()
    );
    assert_eq!(changelog(&repo), format!("{HEADER}{OLDER}"));
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

#[test]
fn in_dagger_a_failing_towncrier_names_stage_and_step_and_leaves_the_changelog() {
    let repo = repo();
    let engine = towncrier_engine(json!([]))
        .fail_exec(
            FailExec::on_arg("--yes", 1)
                .stderr("Loading template...\nError: could not write CHANGELOG.md\n"),
        )
        .start();
    let out = in_engine(&repo, &engine, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: step 'towncrier build' of stage 'changelog' failed: `towncrier build --yes --version v1.2.3 --date 2026-12-02` exited with 1
      hint: its stderr ended with:
        | Loading template...
        | Error: could not write CHANGELOG.md
    ");
    assert_eq!(out.stdout, "");
    assert_eq!(changelog(&repo), format!("{HEADER}{OLDER}"));
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

#[test]
fn in_dagger_a_section_already_written_needs_no_engine_call() {
    let repo = repo();
    repo.write("CHANGELOG.md", &folded());
    let engine = towncrier_engine(json!([])).start();
    let out = in_engine(&repo, &engine, &[]);
    assert_eq!(out.code, 0, "{out:?}");
    insta::assert_snapshot!(out.stderr, @"CHANGELOG.md already has v1.2.3");
    assert!(
        out.stdout.starts_with("## [v1.2.3] - 2026-12-02\n"),
        "{}",
        out.stdout
    );
    assert!(
        engine.raw_queries().is_empty(),
        "{:#?}",
        engine.raw_queries()
    );
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

#[test]
fn with_no_engine_anywhere_it_is_exit_3_and_suggests_no_engine() {
    let repo = repo();
    let empty = tempfile::tempdir().expect("a temp dir");
    let out = run(
        &repo,
        None,
        &["--version", "v1.2.3", "--date", DATE],
        Some(empty.path()),
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        out.stderr.contains("no Dagger engine")
            && out.stderr.contains("release-docs changelog --no-engine"),
        "{}",
        out.stderr
    );
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}

#[test]
fn in_dagger_a_changelog_back_without_the_section_is_exit_1_and_nothing_is_written() {
    let repo = repo();
    let engine = FakeEngine::builder()
        .answer("stdout", json!(DRAFTED))
        .answer(
            "contents",
            json!(format!("{HEADER}\n## v1.2.3 (2026-12-02)\n")),
        )
        .answer("entries", json!([]))
        .start();
    let out = in_engine(&repo, &engine, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: towncrier wrote CHANGELOG.md without a section titled for v1.2.3
      hint: check title_format in towncrier.toml: '## [{version}] - {project_date}'
    ");
    assert_eq!(changelog(&repo), format!("{HEADER}{OLDER}"));
    assert_eq!(fragments(&repo), ALL_FRAGMENTS);
}
