//! `runner-logs` driven as a process against the Forgejo test server, at the API levels
//! users run: v16 (jobs and job-log API), v14 (runs list, tasks and the web log route
//! only) and v11 (tasks only). Each command is checked on each level, and the request
//! log proves the tool reads only what it needs.

use std::path::Path;
use std::process::Command;

use testkit::cli::Outcome;
use testkit::forgejo::{ApiLevel, FakeForgejo, JobSpec, Log, RunSpec};
use testkit::git::GitRepo;

const TOKEN: &str = "tok-3f9a1c77e2";

/// Run #41 (one green job) and run #42 (build ok, test failed on its second attempt,
/// deploy cancelled), on repository acme/app.
fn forge(level: ApiLevel) -> testkit::forgejo::Builder {
    FakeForgejo::builder(level)
        .token(TOKEN, &["read:repository"])
        .token("tok-no-scope", &["read:user"])
        .run(
            RunSpec::new(41, "build.yml", "Fix the cache key").job(JobSpec::new(
                "build",
                "success",
                "\x1b[32mok\x1b[0m built\n",
            )),
        )
        .run(
            RunSpec::new(42, "deploy.yml", "Deploy v1.4.0")
                .event("workflow_dispatch")
                .job(JobSpec::new("build", "success", "building\nbuilt\n"))
                .job(
                    JobSpec::new(
                        "test",
                        "failure",
                        "running tests\n\x1b[31mFAILED\x1b[0m test_login\n",
                    )
                    .attempts(2),
                )
                .job(JobSpec::new("deploy", "cancelled", "deploy stopped\n")),
        )
}

/// Runs the tool against `server` with a clean environment; the server's URL is
/// replaced by `[forge]` in what it printed.
fn run_in(dir: &Path, server: &FakeForgejo, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_runner-logs"));
    let mut out = testkit::cli::output(
        testkit::cli::command(bin, dir)
            .args(args)
            .env("OPSKIT_RETRIES", "0")
            .envs(env.iter().copied()),
    );
    out.stdout = out.stdout.replace(&server.url(), "[forge]");
    out.stderr = out.stderr.replace(&server.url(), "[forge]");
    out
}

/// Runs the tool on acme/app at `server`, outside any git repository.
fn run(server: &FakeForgejo, args: &[&str]) -> Outcome {
    let url = server.url();
    let mut all = vec!["--forge-url", &url, "--repo", "acme/app"];
    all.extend_from_slice(args);
    run_in(&std::env::temp_dir(), server, &all, &[])
}

fn run_with_token(server: &FakeForgejo, args: &[&str]) -> Outcome {
    let url = server.url();
    let mut all = vec!["--forge-url", &url, "--repo", "acme/app"];
    all.extend_from_slice(args);
    run_in(
        &std::env::temp_dir(),
        server,
        &all,
        &[("FORGEJO_TOKEN", TOKEN)],
    )
}

fn api_requests(server: &FakeForgejo, fragment: &str) -> Vec<String> {
    server
        .seen()
        .into_iter()
        .filter(|s| s.path.contains(fragment))
        .map(|s| format!("{}?{}", s.path, s.query))
        .collect()
}

#[test]
fn lists_recent_runs_newest_first_on_v16_and_v14() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = forge(level).start();
        let out = run(&server, &[]);
        assert_eq!(out.code, 0, "{level:?}: {}", out.stderr);
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stdout, @r"
            RUN  STATUS   WORKFLOW    TITLE              REF   EVENT              STARTED (UTC)     DURATION
            #42  failure  deploy.yml  Deploy v1.4.0      main  workflow_dispatch  2025-07-20 08:42  1m23s
            #41  success  build.yml   Fix the cache key  main  push               2025-07-20 08:41  1m23s
            ");
        }
        // The version once, then one page of runs; `page` is always sent with `limit`.
        assert_eq!(server.requests(), 2, "{level:?}: {:?}", server.seen());
        assert_eq!(
            api_requests(&server, "/actions/runs"),
            ["/api/v1/repos/acme/app/actions/runs?page=1&limit=20"]
        );
    }
}

#[test]
fn lists_runs_from_tasks_on_servers_without_a_runs_api() {
    let server = forge(ApiLevel::V11).start();
    let out = run(&server, &["--limit", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    RUN  STATUS   WORKFLOW    TITLE          REF   EVENT              STARTED (UTC)     DURATION
    #42  failure  deploy.yml  Deploy v1.4.0  main  workflow_dispatch  2025-07-20 08:42  2m11s
    ");
}

/// 120 runs of two jobs: more than two pages at the server's 50-row maximum.
fn many_runs(level: ApiLevel) -> FakeForgejo {
    let mut builder = FakeForgejo::builder(level);
    for n in 1..=120 {
        let workflow = if n % 3 == 0 {
            "deploy.yml"
        } else {
            "build.yml"
        };
        let status = if n % 10 == 0 { "failure" } else { "success" };
        builder = builder.run(
            RunSpec::new(n, workflow, &format!("Commit {n}"))
                .job(JobSpec::new("build", "success", "ok\n"))
                .job(JobSpec::new("test", status, "ok\n")),
        );
    }
    builder.start()
}

fn run_numbers(json: &str) -> Vec<i64> {
    let value: serde_json::Value = serde_json::from_str(json).expect("runner-logs --json is JSON");
    value["runs"]
        .as_array()
        .expect("a runs array")
        .iter()
        .map(|r| r["number"].as_i64().expect("a run number"))
        .collect()
}

#[test]
fn pages_only_as_far_as_the_rows_asked_for() {
    // v16 lists newest first: 70 rows are page 1 (50) and page 2 (20 of 50).
    let server = many_runs(ApiLevel::V16);
    let out = run(&server, &["--limit", "70", "--json"]);
    assert_eq!(
        run_numbers(&out.stdout),
        (51..=120).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        api_requests(&server, "/actions/runs"),
        [
            "/api/v1/repos/acme/app/actions/runs?page=1&limit=50",
            "/api/v1/repos/acme/app/actions/runs?page=2&limit=50"
        ]
    );

    // v14 lists oldest first: page 1 gives the total, then the last page has the newest.
    let server = many_runs(ApiLevel::V14);
    let out = run(&server, &["--limit", "20", "--json"]);
    assert_eq!(
        run_numbers(&out.stdout),
        (101..=120).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        api_requests(&server, "/actions/runs"),
        [
            "/api/v1/repos/acme/app/actions/runs?page=1&limit=20",
            "/api/v1/repos/acme/app/actions/runs?page=6&limit=20"
        ]
    );
}

#[test]
fn tasks_only_servers_read_a_page_of_tasks_not_the_history() {
    let server = many_runs(ApiLevel::V11);
    let out = run(&server, &["--limit", "20", "--json"]);
    assert_eq!(
        run_numbers(&out.stdout),
        (101..=120).rev().collect::<Vec<_>>()
    );
    assert_eq!(
        api_requests(&server, "/actions/tasks"),
        ["/api/v1/repos/acme/app/actions/tasks?page=1&limit=50"]
    );
    // A run that does not exist is not looked for through all 240 tasks.
    server.reset_counts();
    let out = run(&server, &["500"]);
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(api_requests(&server, "/actions/tasks").len(), 1);
    // An old run is found further down, and the scan stops right after it.
    server.reset_counts();
    let out = run(&server, &["30"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.starts_with("Run #30 "), "{}", out.stdout);
    assert_eq!(api_requests(&server, "/actions/tasks").len(), 4);
}

#[test]
fn filters_by_status_on_the_server_and_by_workflow_where_the_server_cannot() {
    let server = many_runs(ApiLevel::V16);
    let out = run(&server, &["--status", "failure", "-L", "3", "--json"]);
    assert_eq!(run_numbers(&out.stdout), [120, 110, 100]);
    assert_eq!(
        api_requests(&server, "/actions/runs"),
        ["/api/v1/repos/acme/app/actions/runs?page=1&limit=3&status=failure"]
    );

    let server = many_runs(ApiLevel::V16);
    let out = run(&server, &["--workflow", "deploy.yml", "-L", "2", "--json"]);
    assert_eq!(run_numbers(&out.stdout), [120, 117]);
    assert_eq!(
        api_requests(&server, "/actions/runs"),
        ["/api/v1/repos/acme/app/actions/runs?page=1&limit=2&workflow_id=deploy.yml"]
    );

    // v14 has no workflow_id filter: full pages from the newest end until enough match.
    let server = many_runs(ApiLevel::V14);
    let out = run(&server, &["--workflow", "deploy", "-L", "2", "--json"]);
    assert_eq!(run_numbers(&out.stdout), [120, 117]);
    assert!(
        api_requests(&server, "/actions/runs").len() <= 3,
        "{:?}",
        server.seen()
    );
}

#[test]
fn shows_the_jobs_of_a_run_with_a_hint_for_the_failed_one() {
    for level in [ApiLevel::V16, ApiLevel::V14, ApiLevel::V11] {
        let server = forge(level).start();
        let out = run(&server, &["42"]);
        assert_eq!(out.code, 0, "{level:?}: {}", out.stderr);
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stdout, @r"
            Run #42 deploy.yml: Deploy v1.4.0 (main, workflow_dispatch) failure
            JOB  STATUS     NAME              DURATION
            0    success    build             30s
            1    failure    test (attempt 2)  30s
            2    cancelled  deploy            30s
            To see why job 1 failed: runner-logs 42 -j 1
            ");
        }
    }
}

#[test]
fn jobs_json_keeps_run_number_and_database_id_apart() {
    let server = forge(ApiLevel::V16).start();
    let out = run(&server, &["#42", "--json"]);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(value["run"]["number"], 42);
    assert_eq!(value["run"]["id"], 342);
    assert_eq!(value["jobs"][1]["name"], "test");
    assert_eq!(value["jobs"][1]["status"], "failure");
    assert_eq!(value["jobs"][1]["attempt"], 2);
}

#[test]
fn prints_a_jobs_full_log_and_exits_1_when_the_job_failed() {
    for level in [ApiLevel::V16, ApiLevel::V14, ApiLevel::V11] {
        let server = forge(level).start();
        let out = run(&server, &["42", "-j", "0"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "building\nbuilt\n"),
            "{level:?}: {}",
            out.stderr
        );

        let out = run(&server, &["42", "-j", "1"]);
        assert_eq!(out.code, 1, "{level:?}");
        // Piped: colours are stripped.
        assert_eq!(out.stdout, "running tests\nFAILED test_login\n");
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stderr, @"error: job 1 (test) of run #42 ended with failure");
        }
    }
}

#[test]
fn colour_is_kept_with_color_always() {
    let server = forge(ApiLevel::V16).start();
    let out = run(&server, &["41", "-j", "0", "--color", "always"]);
    assert_eq!(out.stdout, "\x1b[32mok\x1b[0m built\n");
}

#[test]
fn reads_an_earlier_attempt() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = forge(level).start();
        let out = run(&server, &["42", "-j", "1", "--attempt", "1"]);
        assert_eq!(
            out.stdout, "attempt 1 of test\n",
            "{level:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn an_attempt_the_job_never_had_is_exit_4_saying_how_many_it_has() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = forge(level).start();
        let out = run(&server, &["42", "-j", "1", "--attempt", "3"]);
        assert_eq!(out.code, 4, "{level:?}: {}", out.stderr);
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stderr, @r"
            error: job 1 (test) of run #42: there is no attempt 3; the job has 2 attempts
              hint: pass --attempt 1 to 2, or leave it out for the latest
            ");
        }
        assert!(
            !server
                .seen()
                .iter()
                .any(|s| s.path.contains("attempt/3") || s.query.contains("attempt=3")),
            "attempt 3 was never asked for"
        );
    }
}

#[test]
fn v16_reads_logs_through_the_api_with_the_token_and_v14_through_the_anonymous_web_route() {
    let server = forge(ApiLevel::V16).start();
    run_with_token(&server, &["42", "-j", "0"]);
    let log = server
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/logs"))
        .unwrap();
    assert_eq!(log.path, "/api/v1/repos/acme/app/actions/jobs/902/logs");
    assert!(log.authorized);

    let server = forge(ApiLevel::V14).start();
    run_with_token(&server, &["42", "-j", "0"]);
    let log = server
        .seen()
        .into_iter()
        .find(|s| s.path.ends_with("/logs"))
        .unwrap();
    assert_eq!(log.path, "/acme/app/actions/runs/42/jobs/0/attempt/1/logs");
    assert!(!log.authorized, "the token must not be sent to a web route");
}

#[test]
fn failed_prints_every_failed_jobs_log_after_a_header() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = forge(level).start();
        let out = run(&server, &["42", "--failed"]);
        assert_eq!(out.code, 1, "{level:?}");
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stdout, @r"
            ==> run #42 job 1 (test): failure <==
            running tests
            FAILED test_login
            ==> run #42 job 2 (deploy): cancelled <==
            deploy stopped
            ");
        }
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stderr, @"error: 2 of 3 jobs of run #42 failed");
        }
    }
    let server = forge(ApiLevel::V16).start();
    let out = run(&server, &["41", "--failed"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, ""));
    assert!(
        out.stderr.contains("run #41 has no failed jobs"),
        "{}",
        out.stderr
    );
}

fn growing(level: ApiLevel, final_status: &str) -> FakeForgejo {
    let chunks = ["step 1\n", "step 2\nstep ", "3\n", "done\n"]
        .iter()
        .map(|c| c.as_bytes().to_vec())
        .collect();
    FakeForgejo::builder(level)
        .run(
            RunSpec::new(7, "build.yml", "Long build")
                .job(JobSpec::new("build", final_status, "").with_log(Log::Growing(chunks))),
        )
        .start()
}

#[test]
fn follow_prints_new_lines_until_the_job_ends_then_exits_with_its_result() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = growing(level, "failure");
        let out = run(&server, &["7", "-j", "0", "--follow", "--interval", "0.01"]);
        assert_eq!(
            out.stdout, "step 1\nstep 2\nstep 3\ndone\n",
            "{level:?}: {}",
            out.stderr
        );
        assert_eq!(out.code, 1, "{level:?}");

        let server = growing(level, "success");
        let out = run(&server, &["7", "-j", "0", "-f", "--interval", "0.01"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "step 1\nstep 2\nstep 3\ndone\n")
        );
    }
    // v16 honours Range, so each poll asks only for the new bytes.
    let server = growing(ApiLevel::V16, "success");
    run(&server, &["7", "-j", "0", "-f", "--interval", "0.01"]);
    assert!(server.requests() < 20, "{:?}", server.seen());
}

#[test]
fn without_follow_a_running_job_prints_what_is_there_and_exits_0() {
    let server = growing(ApiLevel::V16, "failure");
    let out = run(&server, &["7", "-j", "0"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "step 1\n"));
}

#[test]
fn a_cleaned_up_log_is_a_clear_not_found() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = FakeForgejo::builder(level)
            .run(
                RunSpec::new(3, "build.yml", "Old")
                    .job(JobSpec::new("build", "success", "").with_log(Log::CleanedUp)),
            )
            .start();
        let out = run(&server, &["3", "-j", "0"]);
        assert_eq!((out.code, out.stdout.as_str()), (4, ""), "{level:?}");
        // Before v16 an expired log's answer does not name the job, so neither can we.
        let label = if level == ApiLevel::V16 {
            "job 0 (build)"
        } else {
            "job 0"
        };
        assert_eq!(
            out.stderr,
            format!(
                "error: {label} of run #3: the log has been cleaned up by the forge\n  hint: Forgejo deletes job logs after [actions] LOG_RETENTION_DAYS; re-run the job to get a new log\n"
            ),
            "{level:?}"
        );
    }
    // The listing still works; before v16 the numbers cannot be read back, so they are
    // shown as unknown rather than guessed.
    let server = FakeForgejo::builder(ApiLevel::V14)
        .run(
            RunSpec::new(3, "build.yml", "Old")
                .job(JobSpec::new("build", "success", "").with_log(Log::CleanedUp)),
        )
        .start();
    let out = run(&server, &["3"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Run #3 build.yml: Old (main, push) success
    JOB  STATUS   NAME   DURATION
    ?    success  build  30s
    Job numbers are unknown: before Forgejo v16 only the web UI knows them, and it could not tell them here (a private repository, or logs cleaned up).
    ");
}

#[test]
fn a_job_that_has_not_started_has_no_log_yet() {
    let server = FakeForgejo::builder(ApiLevel::V16)
        .run(
            RunSpec::new(5, "build.yml", "Queued")
                .job(JobSpec::new("build", "waiting", "").with_log(Log::NotStarted)),
        )
        .start();
    let out = run(&server, &["5", "-j", "0"]);
    assert_eq!(out.code, 4);
    insta::assert_snapshot!(out.stderr, @r"
    error: job 0 (build) of run #5 has not started yet, so it has no log
      hint: wait for it with: runner-logs 5 -j 0 --follow
    ");
}

#[test]
fn private_repository_logs_on_v14_are_refused_clearly_never_empty() {
    let server = forge(ApiLevel::V14).private().start();
    let out = run_with_token(&server, &["42", "-j", "0"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""));
    insta::assert_snapshot!(out.stderr, @r"
    error: job 0 of run #42: Forgejo 14.0.2 has no job-log API this tool can use, and its web log route ignores tokens, so logs of the private repository acme/app cannot be read
      hint: upgrade the forge to Forgejo v16 or later, or open the log in the web UI: [forge]/acme/app/actions/runs/42/jobs/0/attempt/1/logs
    ");
    // The jobs still list, through the token-authenticated tasks API.
    assert_eq!(run_with_token(&server, &["42"]).code, 0);
    // On v16 the same private log is read through the API with the token.
    let server = forge(ApiLevel::V16).private().start();
    let out = run_with_token(&server, &["42", "-j", "0"]);
    assert_eq!((out.code, out.stdout.as_str()), (0, "building\nbuilt\n"));
}

#[test]
fn job_index_out_of_range_says_how_many_jobs_the_run_has() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = forge(level).start();
        let out = run(&server, &["42", "-j", "7"]);
        assert_eq!((out.code, out.stdout.as_str()), (4, ""));
        insta::allow_duplicates! {
            insta::assert_snapshot!(out.stderr, @r"
            error: job 7 not found: run #42 has 3 jobs (index 0 to 2)
              hint: list them with: runner-logs 42
            ");
        }
        // On v14 the web route answers job 0's log for job 7, as Forgejo does: the
        // tool tells the two apart and prints nothing.
    }
}

/// Run #43: build ok, lint skipped (its `if:` was false, so it never got a task), test
/// failed, deploy ok. Before v16 the tasks list has only build, test and deploy.
fn with_a_skipped_job(level: ApiLevel) -> FakeForgejo {
    FakeForgejo::builder(level)
        .run(
            RunSpec::new(43, "ci.yml", "Skip lint")
                .job(JobSpec::new("build", "success", "build log\n"))
                .job(JobSpec::new("lint", "skipped", ""))
                .job(JobSpec::new("test", "failure", "test log\n"))
                .job(JobSpec::new("deploy", "success", "deploy log\n")),
        )
        .start()
}

#[test]
fn job_numbers_are_the_web_uis_even_when_a_job_was_skipped() {
    for level in [ApiLevel::V16, ApiLevel::V14, ApiLevel::V11] {
        let server = with_a_skipped_job(level);
        // Job 2 in the web UI is test: its log, and its failure as the exit code.
        let out = run(&server, &["43", "-j", "2"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (1, "test log\n"),
            "{level:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .starts_with("error: job 2 (test) of run #43 ended with failure"),
            "{level:?}: {}",
            out.stderr
        );
        let out = run(&server, &["43", "-j", "3"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "deploy log\n"),
            "{level:?}: {}",
            out.stderr
        );
        // The skipped job has no log, and says so.
        let out = run(&server, &["43", "-j", "1"]);
        assert_eq!((out.code, out.stdout.as_str()), (4, ""), "{level:?}");
        assert!(
            out.stderr
                .contains("never started (skipped), so it has no log"),
            "{level:?}: {}",
            out.stderr
        );
        // Past the last job the web route would serve job 0: refused instead.
        let out = run(&server, &["43", "-j", "4"]);
        assert_eq!((out.code, out.stdout.as_str()), (4, ""), "{level:?}");
        assert!(
            out.stderr
                .starts_with("error: job 4 not found: run #43 has"),
            "{level:?}: {}",
            out.stderr
        );
    }
    // The listing numbers jobs as the web UI does, the skipped one included.
    let server = with_a_skipped_job(ApiLevel::V14);
    let out = run(&server, &["43"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Run #43 ci.yml: Skip lint (main, push) failure
    JOB  STATUS   NAME                      DURATION
    0    success  build                     30s
    1    skipped  (no task: never started)  -
    2    failure  test                      30s
    3    success  deploy                    30s
    To see why job 2 failed: runner-logs 43 -j 2
    ");
}

#[test]
fn bad_input_gets_one_line_and_its_exit_code() {
    let server = forge(ApiLevel::V16).start();
    let cases: [(&[&str], i32, &str); 6] = [
        (
            &["42", "-j", "0", "-f", "--interval", "nan"],
            2,
            "error: --interval must be a positive number of seconds, not NaN",
        ),
        (
            &["latest"],
            2,
            "error: RUN must be a run number such as 42, not 'latest'",
        ),
        (&["99"], 4, "error: run #99 not found in acme/app"),
        (&["--status", "green"], 2, "error: unknown status 'green'"),
        (
            &["-j", "1"],
            2,
            "error: -j/--job and --failed need a run number",
        ),
        (
            &["42", "-j", "1", "--json"],
            2,
            "error: --json lists runs and jobs; a log is printed as text",
        ),
    ];
    for (args, code, first_line) in cases {
        let out = run(&server, args);
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().next(), Some(first_line), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn auth_failures_say_what_is_wrong_with_the_token() {
    let server = forge(ApiLevel::V16).private().start();
    let url = server.url();
    let base = ["--forge-url", url.as_str(), "--repo", "acme/app"];
    let tmp = std::env::temp_dir();

    let out = run_in(&tmp, &server, &base, &[("FORGEJO_TOKEN", "wrong-token")]);
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: authentication required or credentials rejected (401: invalid username, password or token)
      hint: the token may be expired or revoked; create a new one with the read:repository scope
    ");

    let signin = forge(ApiLevel::V16).require_signin().start();
    let signin_url = signin.url();
    let out = run_in(
        &tmp,
        &signin,
        &["--forge-url", &signin_url, "--repo", "acme/app"],
        &[],
    );
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: authentication required or credentials rejected (401: token is required)
      hint: set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the read:repository scope
    ");

    let out = run_in(&tmp, &server, &base, &[("FORGEJO_TOKEN", "tok-no-scope")]);
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: access denied (403: token does not have at least one of required scope(s): [read:repository])
      hint: create a token with the read:repository scope and use it instead
    ");

    // Forgejo hides a private repository from anonymous callers: 404, with the hint.
    let out = run_in(&tmp, &server, &base, &[]);
    assert_eq!(out.code, 4);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: not found (404: The target couldn't be found.)
      hint: check --repo (acme/app); if the repository is private, set FORGEJO_TOKEN
    ");
}

#[test]
fn opskit_debug_takes_the_booleans_shells_and_ci_write() {
    let server = forge(ApiLevel::V16).start();
    let url = server.url();
    let args = ["--forge-url", url.as_str(), "--repo", "acme/app", "-L", "1"];
    for (value, on) in [
        ("1", true),
        ("true", true),
        ("yes", true),
        ("0", false),
        ("false", false),
        ("", false),
    ] {
        let out = run_in(
            &std::env::temp_dir(),
            &server,
            &args,
            &[("OPSKIT_DEBUG", value)],
        );
        assert_eq!(out.code, 0, "OPSKIT_DEBUG={value}: {}", out.stderr);
        assert_eq!(
            out.stderr.contains("debug: GET"),
            on,
            "OPSKIT_DEBUG={value}: {}",
            out.stderr
        );
    }
}

#[test]
fn token_from_file_and_command_work_and_the_token_never_appears_in_output() {
    // Private, and anonymous API calls refused (401): only the token gets anywhere.
    let server = forge(ApiLevel::V16).private().require_signin().start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
    let file = file.to_str().unwrap();
    let cmd = format!("printf %s {TOKEN}");
    let ways: [&[&str]; 2] = [&["--token-file", file], &["--token-cmd", &cmd]];
    let cases: [(&[&str], i32, &str); 4] = [
        (&["--debug"], 0, ""),
        (&["42", "--debug"], 0, ""),
        (
            &["42", "-j", "1", "--debug"],
            1,
            "error: job 1 (test) of run #42 ended with failure",
        ),
        (
            &["99", "--debug"],
            4,
            "error: run #99 not found in acme/app",
        ),
    ];
    for way in ways {
        for (args, code, error) in cases {
            server.reset_counts();
            let mut all = way.to_vec();
            all.extend_from_slice(args);
            let out = run(&server, &all);
            assert_eq!(out.code, code, "{all:?}: {}", out.stderr);
            let errors: Vec<&str> = out
                .stderr
                .lines()
                .filter(|l| !l.starts_with("debug: "))
                .collect();
            assert_eq!(errors.first().copied().unwrap_or(""), error, "{all:?}");
            assert!(out.stderr.contains("debug: GET"), "--debug logs requests");
            assert!(
                !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
                "token leaked with {all:?}"
            );
            assert!(
                server
                    .seen()
                    .iter()
                    .filter(|s| s.path.starts_with("/api/v1/repos/"))
                    .all(|s| s.authorized),
                "{all:?}: every API request carries the token"
            );
        }
    }
    // Without a token the same server refuses: the cases above depend on it.
    let out = run(&server, &["42"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    // A token the server rejects is not echoed either.
    let out = run_in(
        &std::env::temp_dir(),
        &server,
        &[
            "--forge-url",
            &server.url(),
            "--repo",
            "acme/app",
            "--debug",
        ],
        &[("FORGEJO_TOKEN", "leaky-secret-123")],
    );
    assert_eq!(out.code, 3);
    assert!(!out.stderr.contains("leaky-secret-123"), "{}", out.stderr);
}

#[test]
fn limit_is_always_sent_with_page_so_the_server_does_not_fall_back_to_30_rows() {
    // Forgejo ignores `limit` without `page` and answers 30 rows: 40 asked must be 40.
    for level in [ApiLevel::V16, ApiLevel::V14, ApiLevel::V11] {
        let server = many_runs(level);
        let out = run(&server, &["--limit", "40", "--json"]);
        assert_eq!(out.code, 0, "{level:?}: {}", out.stderr);
        assert_eq!(
            run_numbers(&out.stdout),
            (81..=120).rev().collect::<Vec<_>>(),
            "{level:?}"
        );
    }
}

#[test]
fn an_unreachable_forge_is_exit_3_in_one_line() {
    let server = forge(ApiLevel::V16).start();
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let out = run_in(
        &std::env::temp_dir(),
        &server,
        &["--forge-url", &dead, "--repo", "acme/app"],
        &[],
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr.starts_with("error: cannot reach 127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.stderr.lines().count(),
        2,
        "one error line and one hint: {}",
        out.stderr
    );
}

#[test]
fn repository_and_forge_url_come_from_the_origin_remote() {
    let server = forge(ApiLevel::V16).start();
    let repo = GitRepo::new();
    repo.git(&[
        "remote",
        "add",
        "origin",
        &format!("{}/acme/app.git", server.url()),
    ]);
    let out = run_in(repo.path(), &server, &["-L", "1"], &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("#42"), "{}", out.stdout);
    // Set but empty, as `FORGE_URL= mise run runner-logs` leaves them: the origin still.
    let out = run_in(
        repo.path(),
        &server,
        &["-L", "1"],
        &[("FORGE_URL", ""), ("FORGE_REPO", "")],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("#42"), "{}", out.stdout);

    // An ssh origin names the repository but not the web URL.
    let repo = GitRepo::new();
    repo.git(&["remote", "add", "origin", "git@forge.example:acme/app.git"]);
    let out = run_in(repo.path(), &server, &[], &[]);
    assert_eq!(out.code, 2);
    insta::assert_snapshot!(out.stderr, @r"
    error: no forge URL given
      hint: pass --forge-url https://forge.example or set FORGE_URL
    ");
    let out = run_in(
        repo.path(),
        &server,
        &["-L", "1"],
        &[("FORGE_URL", &server.url())],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn mise_run_runner_logs_passes_run_and_job_through_the_usage_spec() {
    let server = forge(ApiLevel::V16).start();
    let sandbox = testkit::mise::TaskSandbox::from_repo("runner-logs");
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_runner-logs"))
        .parent()
        .unwrap();
    let mise = |args: &[&str]| {
        testkit::cli::output(
            sandbox
                .command(bin_dir)
                .args(args)
                .env("FORGE_URL", server.url())
                .env("FORGE_REPO", "acme/app"),
        )
    };

    let out = mise(&["42", "-j", "0"]);
    assert_eq!(out.stdout, "building\nbuilt\n", "{}", out.stderr);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(api_requests(&server, "/logs").len() == 1);

    // Short flags of the list view come through as the tool's long flags.
    let listed = mise(&["-s", "failure", "-L", "1", "--json"]);
    assert_eq!(run_numbers(&listed.stdout), [42], "{}", listed.stderr);

    // The failed job's exit code comes through mise.
    let failed = mise(&["42", "--job", "1"]);
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stdout.contains("FAILED test_login"));
}

#[test]
fn a_log_costs_four_requests_on_v16_and_no_task_scan() {
    let server = forge(ApiLevel::V16).start();
    run(&server, &["42", "-j", "0"]);
    let paths: Vec<String> = server.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(
        paths,
        [
            "/api/v1/version",
            "/api/v1/repos/acme/app/actions/runs",
            "/api/v1/repos/acme/app/actions/runs/342/jobs",
            "/api/v1/repos/acme/app/actions/jobs/902/logs"
        ]
    );
}

#[test]
fn a_large_log_piped_into_head_stops_quietly() {
    let server = FakeForgejo::builder(ApiLevel::V16)
        .run(
            RunSpec::new(1, "build.yml", "Big")
                .job(JobSpec::new("build", "success", "").with_log(Log::Generated(50 << 20))),
        )
        .start();
    let script = format!(
        "set -o pipefail; '{}' --forge-url {} --repo acme/app 1 -j 0 | head -c 100 >/dev/null",
        env!("CARGO_BIN_EXE_runner-logs"),
        server.url()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn a_url_that_is_not_a_forge_says_so() {
    let server = forge(ApiLevel::V16).start();
    let url = format!("{}/not-here", server.url());
    let out = run_in(
        &std::env::temp_dir(),
        &server,
        &["--forge-url", &url, "--repo", "acme/app"],
        &[],
    );
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(out.stderr, @r"
    error: [forge]/not-here/ does not answer GET /api/v1/version
      hint: check that --forge-url is the web root of a Forgejo or Gitea server
    ");
}

#[test]
fn status_is_coloured_on_request_and_plain_when_piped() {
    let server = forge(ApiLevel::V16).start();
    let out = run(&server, &["--color", "always"]);
    assert!(
        out.stdout.contains("\x1b[31mfailure\x1b[0m"),
        "{:?}",
        out.stdout
    );
    let out = run(&server, &["42", "--color", "always"]);
    assert!(
        out.stdout.contains("\x1b[32msuccess\x1b[0m"),
        "{:?}",
        out.stdout
    );
    assert!(!run(&server, &[]).stdout.contains('\x1b'));
}

#[test]
fn runs_json_has_rfc3339_times_and_durations_in_seconds() {
    let server = forge(ApiLevel::V16).start();
    let out = run(&server, &["--json", "-L", "1"]);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let run = &value["runs"][0];
    assert_eq!(value["repo"], "acme/app");
    assert_eq!(run["number"], 42);
    assert_eq!(run["started"], "2025-07-20T08:42:02Z");
    assert_eq!(run["duration_seconds"], 83);
    assert_eq!(run["ref"], "main");
}

#[test]
fn gitea_1_25_lists_runs_and_jobs_and_reads_logs_with_an_owner_token() {
    let server = forge(ApiLevel::Gitea125).start();
    let out = run_with_token(&server, &["-L", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    RUN  STATUS   WORKFLOW    TITLE          REF   EVENT              STARTED (UTC)     DURATION
    #42  failure  deploy.yml  Deploy v1.4.0  main  workflow_dispatch  2025-07-20 08:42  1m23s
    ");
    let out = run_with_token(&server, &["41"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    Run #41 build.yml: Fix the cache key (main, push) success
    JOB  STATUS   NAME   DURATION
    0    success  build  30s
    ");
    let out = run_with_token(&server, &["42", "-j", "1"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (1, "running tests\nFAILED test_login\n")
    );
    let out = run_with_token(&server, &["--status", "in_progress", "--json"]);
    assert_eq!(run_numbers(&out.stdout), Vec::<i64>::new());
    let runs_queries = api_requests(&server, "/actions/runs");
    // Status filters go out in Gitea's names; Gitea has no run_number filter, so the
    // run was found by reading the newest-first list.
    assert!(
        runs_queries
            .iter()
            .any(|q| q.ends_with("status=in_progress")),
        "{runs_queries:?}"
    );
    assert!(
        runs_queries.iter().all(|q| !q.contains("run_number")),
        "{runs_queries:?}"
    );

    // 1.25 lets only the owner list runs.
    let out = run(&server, &[]);
    assert_eq!(out.code, 3);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: access denied (403: user should be the owner of the repo)
      hint: Gitea 1.25 lets only the repository owner or an admin list Actions runs: use such a token, or upgrade to Gitea 1.26
    ");
}

/// Run #9 with 60 jobs, `job-0` … `job-59`, each logging its own name.
fn sixty_jobs(level: ApiLevel) -> testkit::forgejo::Builder {
    let mut run = RunSpec::new(9, "matrix.yml", "Wide matrix");
    for n in 0..60 {
        let name = format!("job-{n}");
        run = run.job(JobSpec::new(&name, "success", &format!("{name}\n")));
    }
    FakeForgejo::builder(level)
        .token(TOKEN, &["read:repository"])
        .run(run)
}

#[test]
fn jobs_past_the_first_page_of_fifty_are_listed_and_readable() {
    let server = sixty_jobs(ApiLevel::Gitea125).start();
    let out = run_with_token(&server, &["9", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let jobs = value["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 60);
    assert_eq!(jobs[59]["name"], "job-59");
    assert_eq!(jobs[59]["index"], 59);
    let out = run_with_token(&server, &["9", "-j", "55"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "job-55\n"),
        "{}",
        out.stderr
    );
    let pages: Vec<String> = api_requests(&server, "/runs/309/jobs");
    assert!(
        pages.iter().any(|q| q.ends_with("?page=2&limit=50")),
        "{pages:?}"
    );
}

#[test]
fn a_total_count_larger_than_the_list_sizes_nothing_and_never_passes_for_the_list() {
    // 2^64 - 1 rows claimed for 3: v16 lists newest first and stops at the first empty
    // page; v14 lists oldest first, so the newest rows would be on the last page the
    // count names, which is empty: exit 3, not the oldest runs shown as the newest.
    for (level, code) in [(ApiLevel::V16, 0), (ApiLevel::V14, 3)] {
        let mut builder = FakeForgejo::builder(level).claim_total(u64::MAX);
        for n in 1..=3 {
            builder = builder.run(
                RunSpec::new(n, "build.yml", &format!("Commit {n}"))
                    .job(JobSpec::new("build", "success", "ok\n")),
            );
        }
        let server = builder.start();
        let out = run(&server, &["--limit", "70", "--json"]);
        assert_eq!(out.code, code, "{level:?}: {}", out.stderr);
        let pages = server
            .seen()
            .iter()
            .filter(|s| s.path.ends_with("/actions/runs"))
            .count();
        assert!(pages <= 3, "{level:?}: {pages} pages asked for");
        if code == 3 {
            assert!(
                out.stderr.contains("the newest runs cannot be found"),
                "{}",
                out.stderr
            );
        }
    }
}

#[test]
fn a_page_that_repeats_an_earlier_one_is_exit_3_not_a_short_list() {
    // Runs (v16, newest first: 70 rows need two pages).
    let mut builder = FakeForgejo::builder(ApiLevel::V16).ignore_page();
    for n in 1..=120 {
        builder = builder.run(
            RunSpec::new(n, "build.yml", &format!("Commit {n}"))
                .job(JobSpec::new("build", "success", "ok\n")),
        );
    }
    let server = builder.start();
    let out = run(&server, &["--limit", "70"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: the runs list: page 2 repeats page 1, so the forge's paging cannot be trusted and the list would be incomplete
      hint: check that no proxy in front of the forge ignores or caches the page query parameter
    ");

    // Tasks (v11 has only the tasks list: 40 runs of two jobs need two pages).
    let mut builder = FakeForgejo::builder(ApiLevel::V11).ignore_page();
    for n in 1..=60 {
        builder = builder.run(
            RunSpec::new(n, "build.yml", &format!("Commit {n}"))
                .job(JobSpec::new("build", "success", "ok\n"))
                .job(JobSpec::new("test", "success", "ok\n")),
        );
    }
    let server = builder.start();
    let out = run(&server, &["--limit", "40"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: the Actions tasks: page 2 repeats page 1"),
        "{}",
        out.stderr
    );

    // Jobs (Gitea pages them).
    let server = sixty_jobs(ApiLevel::Gitea125).ignore_page().start();
    let out = run_with_token(&server, &["9"]);
    assert_eq!((out.code, out.stdout.as_str()), (3, ""), "{}", out.stderr);
    assert!(
        out.stderr
            .starts_with("error: the jobs of the run: page 2 repeats page 1"),
        "{}",
        out.stderr
    );
}

/// Run #8, live: build runs then succeeds at 300 ms; test waits for a runner, runs
/// from 150 ms and fails at 450 ms.
fn live_run(level: ApiLevel) -> FakeForgejo {
    FakeForgejo::builder(level)
        .run(
            RunSpec::new(8, "ci.yml", "Live")
                .job(
                    JobSpec::new("build", "success", "build log\n")
                        .timeline(&[(0, "running"), (300, "success")]),
                )
                .job(JobSpec::new("test", "failure", "test log\n").timeline(&[
                    (0, "waiting"),
                    (150, "running"),
                    (450, "failure"),
                ])),
        )
        .start()
}

#[test]
fn follow_without_a_job_prints_status_changes_until_the_run_ends_and_exits_1_on_failure() {
    let server = live_run(ApiLevel::V16);
    let out = run(&server, &["8", "--follow", "--interval", "0.03"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    job 0 (build): running
    job 1 (test): waiting for a runner
    job 1 (test): running
    job 0 (build): success
    job 1 (test): failure
    run #8 ended: failure
    ");
    insta::assert_snapshot!(out.stderr, @r"
    error: run #8 ended with failure: 1 of 2 jobs failed
      hint: see why with: runner-logs 8 -j 1
    ");

    // Before v16 the waiting job's name is not known until a runner takes it.
    let server = live_run(ApiLevel::V14);
    let out = run(&server, &["8", "--follow", "--interval", "0.03"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r"
    job 0 (build): running
    job 1: waiting for a runner
    job 1 (test): running
    job 0 (build): success
    job 1 (test): failure
    run #8 ended: failure
    ");

    // A run that succeeds exits 0.
    let server = FakeForgejo::builder(ApiLevel::V16)
        .run(RunSpec::new(8, "ci.yml", "Live").job(
            JobSpec::new("build", "success", "ok\n").timeline(&[(0, "running"), (100, "success")]),
        ))
        .start();
    let out = run(&server, &["8", "-f", "--interval", "0.03"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (
            0,
            "job 0 (build): running\njob 0 (build): success\nrun #8 ended: success\n"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn following_a_job_that_never_gets_a_runner_ends_when_its_run_does() {
    // Before v16 a job without a task has no name and no status of its own: only the
    // run, which ends at 200 ms when build fails and test is skipped, says it is over.
    let server = FakeForgejo::builder(ApiLevel::V14)
        .run(
            RunSpec::new(8, "ci.yml", "Live")
                .job(
                    JobSpec::new("build", "failure", "build log\n")
                        .timeline(&[(0, "running"), (200, "failure")]),
                )
                .job(
                    JobSpec::new("test", "skipped", "")
                        .timeline(&[(0, "waiting"), (200, "skipped")]),
                ),
        )
        .start();
    let started = std::time::Instant::now();
    let out = run(&server, &["8", "-j", "1", "--follow", "--interval", "0.03"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(out.code, 4, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    job 1 of run #8 is waiting: no runner has picked it up yet; waiting for it to start
    error: job 1 of run #8 never started (skipped), so it has no log
    ");
}

#[test]
fn following_a_job_that_waits_for_a_runner_says_it_is_waiting() {
    for level in [ApiLevel::V16, ApiLevel::V14] {
        let server = live_run(level);
        let out = run(&server, &["8", "-j", "1", "--follow", "--interval", "0.03"]);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (1, "test log\n"),
            "{level:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains("is waiting: no runner has picked it up yet"),
            "{level:?}: {}",
            out.stderr
        );
    }
}
