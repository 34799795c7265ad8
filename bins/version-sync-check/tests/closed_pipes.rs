//! version-sync-check when the reader of its output goes away: a closed stdout ends
//! the run quietly with exit 0, text or `--json`.

use testkit::cli::{Closed, command, output_into_closed};
use testkit::ops::ops_repo;

#[test]
fn text_and_json_into_a_closed_stdout_exit_0_without_a_word() {
    let repo = ops_repo();
    let bin = assert_cmd::cargo::cargo_bin("version-sync-check");
    for args in [&["--all-files"][..], &["--all-files", "--json"]] {
        let out = output_into_closed(command(&bin, repo.path()).args(args), Closed::Stdout);
        assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{args:?}");
    }
}
