//! container-version when the reader of its output goes away: a closed stdout ends the
//! run quietly with exit 0, text or `--json`; a closed stderr never turns an error's
//! exit code into a panic.

use std::path::Path;

use testkit::cli::{Closed, command, output_into_closed};
use testkit::ops::ops_repo;

fn container_version(dir: &Path) -> std::process::Command {
    command(&assert_cmd::cargo::cargo_bin("container-version"), dir)
}

#[test]
fn text_and_json_into_a_closed_stdout_exit_0_without_a_word() {
    let repo = ops_repo();
    for args in [&["--all"][..], &["--all", "--json"], &["web", "--json"]] {
        let out = output_into_closed(container_version(repo.path()).args(args), Closed::Stdout);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{args:?}");
    }
}

#[test]
fn an_error_into_a_closed_stderr_keeps_its_exit_code() {
    let repo = ops_repo();
    let out = output_into_closed(
        container_version(repo.path()).arg("no-such-container"),
        Closed::Stderr,
    );
    assert_eq!(out.code, 4, "{out:?}");
}
