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

/// What mise's shell completion offers for a partial command line, as bash asks it.
fn mise_completions(line: &str) -> Vec<String> {
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
        .current_dir(repo_root())
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
