//! container-list when the reader of its output goes away (`| head`, a closed stderr in
//! a hook runner): it stops quietly with exit 0 in every mode, `--json` and `--debug`
//! too, and never panics the way `eprintln!` into a closed stderr does.

mod common;

use common::{container_list, ops_repo, run};
use testkit::cli::{Closed, output_into_closed};
use testkit::registry::TestRegistry;

fn registry_with_app() -> TestRegistry {
    let registry = TestRegistry::start();
    registry.push("opskit/app", "v1.0.0-0000000");
    registry
}

#[test]
fn debug_lines_into_a_closed_stderr_do_not_stop_the_listing() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let out = output_into_closed(
        container_list(repo.path(), &registry.host()).arg("--debug"),
        Closed::Stderr,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let with_stderr = run(container_list(repo.path(), &registry.host()).arg("--debug"));
    assert!(out.stdout.contains("v1.0.0-0000000"), "{}", out.stdout);
    assert_eq!(out.stdout, with_stderr.stdout);
}

#[test]
fn json_into_a_closed_stdout_exits_0_without_a_word() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let out = output_into_closed(
        container_list(repo.path(), &registry.host()).arg("--json"),
        Closed::Stdout,
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "");
}

#[test]
fn every_mode_with_both_streams_closed_exits_0() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    for flags in [&[][..], &["--json"], &["--debug"], &["--json", "--debug"]] {
        let out = output_into_closed(
            container_list(repo.path(), &registry.host()).args(flags),
            Closed::Both,
        );
        assert_eq!(out.code, 0, "{flags:?}: {out:?}");
    }
}

#[test]
fn an_error_into_a_closed_stderr_keeps_its_exit_code() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let out = output_into_closed(
        container_list(repo.path(), &registry.host()).arg("no-such-container"),
        Closed::Stderr,
    );
    assert_eq!(out.code, 4, "{out:?}");
}
