//! `runner-logs` when the forge misbehaves: testkit's fault proxy in front of the
//! Forgejo test server adds 429 with `Retry-After`, 5xx, a stalled answer and a body
//! cut off mid-stream. The tool runs with its default retries unless a test says
//! otherwise: retrying is part of what is tested.

use std::path::Path;
use std::time::{Duration, Instant};

use testkit::cli::Outcome;
use testkit::faults::{Fault, FaultProxy, Plan};
use testkit::forgejo::{ApiLevel, FakeForgejo, JobSpec, Log, RunSpec};

/// Run #42 with one job whose log is two lines, and run #43 whose log is 1 MiB, on
/// Forgejo v16.
fn forge() -> FakeForgejo {
    FakeForgejo::builder(ApiLevel::V16)
        .run(
            RunSpec::new(42, "deploy.yml", "Deploy v1.4.0").job(JobSpec::new(
                "build",
                "success",
                "building the app\nbuilt it\n",
            )),
        )
        .run(
            RunSpec::new(43, "build.yml", "Big log")
                .job(JobSpec::new("build", "success", "").with_log(Log::Generated(1 << 20))),
        )
        .start()
}

/// Runs the tool through `proxy`; its address is replaced by `[forge]`.
fn run(proxy: &FaultProxy, args: &[&str]) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_runner-logs"));
    let url = format!("http://{}", proxy.host());
    let mut out = testkit::cli::output(
        testkit::cli::command(bin, &std::env::temp_dir())
            .args(["--forge-url", &url, "--repo", "acme/app"])
            .args(args),
    );
    out.stdout = out.stdout.replace(&proxy.host(), "[forge]");
    out.stderr = out.stderr.replace(&proxy.host(), "[forge]");
    out
}

fn count(proxy: &FaultProxy, fragment: &str) -> usize {
    proxy
        .requests()
        .iter()
        .filter(|r| r.contains(fragment))
        .count()
}

#[test]
fn a_429_is_retried_after_its_retry_after_and_the_listing_succeeds() {
    let server = forge();
    let proxy = FaultProxy::start(
        &server.url(),
        Plan::failing(
            "/actions/runs",
            1,
            Fault::Status {
                status: 429,
                retry_after: Some(1),
            },
        ),
    );
    let started = Instant::now();
    let out = run(&proxy, &["-L", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(out.stdout.contains("#43"), "{}", out.stdout);
    assert_eq!(
        out.stderr,
        "note: 127.0.0.1:[forge_port] answered 429 Too Many Requests; waiting 1 s as its Retry-After asks\n"
            .replace("127.0.0.1:[forge_port]", "[forge]")
    );
}

#[test]
fn a_500_then_success_is_retried_and_a_persistent_503_is_exit_3_in_one_line() {
    let server = forge();
    let flaky = FaultProxy::start(
        &server.url(),
        Plan::failing(
            "/actions/runs",
            2,
            Fault::Status {
                status: 500,
                retry_after: None,
            },
        ),
    );
    let out = run(&flaky, &["-L", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(count(&flaky, "/actions/runs"), 3);

    let broken = FaultProxy::start(
        &server.url(),
        Plan::failing(
            "/actions/runs",
            usize::MAX,
            Fault::Status {
                status: 503,
                retry_after: None,
            },
        ),
    );
    let out = run(&broken, &["-L", "1", "--retries", "2"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""));
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: the server kept failing (503 Service Unavailable: injected fault)
      hint: try again later, or check the server's health
    ");
    assert_eq!(
        count(&broken, "/actions/runs"),
        3,
        "one try and two retries"
    );
}

#[test]
fn a_stalled_forge_ends_with_exit_3_within_about_the_timeout() {
    let server = forge();
    let proxy = FaultProxy::start(
        &server.url(),
        Plan::failing(
            "/actions/runs",
            usize::MAX,
            Fault::Stall(Duration::from_secs(30)),
        ),
    );
    let started = Instant::now();
    let out = run(&proxy, &["--timeout", "0.5"]);
    let took = started.elapsed();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(took < Duration::from_secs(3), "took {took:?}");
    insta::assert_snapshot!(out.stderr, @r"
    error: [forge]: no complete answer within 0.5 s (--timeout)
      hint: the server did not answer in time; raise --timeout or check the server's health
    ");
}

#[test]
fn a_json_answer_cut_mid_body_is_exit_3_saying_it_was_cut_off() {
    let server = forge();
    let proxy = FaultProxy::start(
        &server.url(),
        Plan::failing("/actions/runs", usize::MAX, Fault::TruncateJson),
    );
    let out = run(&proxy, &["-L", "1"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: the answer was cut off or garbled (end of file before message length reached)
      hint: the connection was closed mid-answer; try again, or check the server's health
    ");
}

#[test]
fn a_log_cut_mid_stream_prints_what_arrived_then_exits_3() {
    let server = forge();
    let proxy = FaultProxy::start(
        &server.url(),
        Plan::failing("/logs", usize::MAX, Fault::TruncateJson),
    );
    let out = run(&proxy, &["43", "-j", "0"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // What arrived was printed as it came; the rest is missing, and the exit says so.
    assert!(
        !out.stdout.is_empty() && out.stdout.len() < 1 << 20,
        "{} bytes printed",
        out.stdout.len()
    );
    insta::assert_snapshot!(out.stderr, @r"
    error: the log download was cut off after 524288 bytes: the connection closed mid-log
      hint: run the command again; add --follow if the job is still running
    ");
}

#[test]
fn a_log_that_keeps_flowing_is_read_past_the_timeout_which_bounds_each_read_only() {
    // Ten lines 0.1 s apart: the download takes a second, --timeout is 0.4 s. A
    // whole-request deadline would cut it; a log is bounded per read.
    let lines: Vec<String> = (1..=10).map(|n| format!("step {n}\n")).collect();
    let server = FakeForgejo::builder(ApiLevel::V16)
        .run(RunSpec::new(5, "build.yml", "Slow").job(
            JobSpec::new("build", "success", "").with_log(Log::Dripping {
                lines: lines.clone(),
                every: Duration::from_millis(100),
            }),
        ))
        .start();
    // Straight to the server: the proxy would buffer the body.
    let out = testkit::cli::output(
        testkit::cli::command(
            Path::new(env!("CARGO_BIN_EXE_runner-logs")),
            &std::env::temp_dir(),
        )
        .args(["--forge-url", &server.url(), "--repo", "acme/app"])
        .args(["5", "-j", "0", "--timeout", "0.4"]),
    );
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, lines.concat().as_str()),
        "{}",
        out.stderr
    );
}
