//! runner-logs when the reader of its output goes away (`runner-logs 42 -j 0 | head`,
//! a closed stderr under a hook runner): it stops quietly with exit 0 in every mode,
//! `--json` and `--debug` too, and a closed stderr never costs an error its exit code.

use std::path::Path;
use std::process::Command;

use testkit::cli::{Closed, output, output_into_closed};
use testkit::forgejo::{ApiLevel, FakeForgejo, JobSpec, RunSpec};

const TOKEN: &str = "tok-5c1e0d42aa";

/// Run #7 with one job whose log is long enough to fill any pipe buffer.
fn forge() -> FakeForgejo {
    FakeForgejo::builder(ApiLevel::V16)
        .token(TOKEN, &["read:repository"])
        .run(RunSpec::new(7, "build.yml", "Build").job(JobSpec::new(
            "build",
            "success",
            &"a line of build output\n".repeat(20_000),
        )))
        .start()
}

fn runner_logs(server: &FakeForgejo, args: &[&str]) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_runner-logs"));
    let mut command = testkit::cli::command(bin, &std::env::temp_dir());
    command
        .args(["--forge-url", &server.url(), "--repo", "acme/app"])
        .args(args)
        .env("FORGEJO_TOKEN", TOKEN);
    command
}

#[test]
fn every_mode_into_a_closed_stdout_exits_0_without_a_word() {
    let server = forge();
    for args in [
        &[][..],
        &["--json"],
        &["7"],
        &["7", "--json"],
        &["7", "-j", "0"],
        &["7", "-j", "0", "--debug"],
    ] {
        let out = output_into_closed(&mut runner_logs(&server, args), Closed::Stdout);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        if !args.contains(&"--debug") {
            assert_eq!(out.stderr, "", "{args:?}");
        }
    }
}

#[test]
fn debug_lines_into_a_closed_stderr_do_not_stop_the_log() {
    let server = forge();
    let out = output_into_closed(
        &mut runner_logs(&server, &["7", "-j", "0", "--debug"]),
        Closed::Stderr,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let with_stderr = output(&mut runner_logs(&server, &["7", "-j", "0", "--debug"]));
    assert_eq!(out.stdout, with_stderr.stdout);
    assert!(out.stdout.ends_with("a line of build output\n"));
}

#[test]
fn an_error_into_a_closed_stderr_keeps_its_exit_code() {
    let server = forge();
    let out = output_into_closed(&mut runner_logs(&server, &["99", "--debug"]), Closed::Both);
    assert_eq!(out.code, 4, "{out:?}");
}
