//! The forge client's dispatch, commit and log-tail calls against this server, at each
//! API level: what the client sends, and what it makes of each answer.

use std::collections::BTreeMap;
use std::time::Duration;

use opskit::forge::Forge;
use opskit::forge::dispatch::{Dispatched, Since};
use opskit::forge::repo::RepoRef;
use opskit::forge::token::Token;
use opskit::http::{Client, HttpConfig};

use super::*;

const WRITE: &str = "tok-write";
const READ: &str = "tok-read";
const ADMIN: &str = "tok-admin";
const WF: &str = "build-container.yaml";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

/// A repository with two older dispatched runs of the workflow (of the same commit,
/// as far as anyone can tell) and the run the next dispatch creates.
fn server(level: ApiLevel) -> Builder {
    FakeForgejo::builder(level)
        .token(WRITE, &["write:repository"])
        .token(READ, &["read:repository"])
        .token(ADMIN, &["write:repository"])
        .admin(ADMIN)
        .commit(SHA)
        .run(
            RunSpec::new(40, WF, "Build navidrome")
                .event("workflow_dispatch")
                .job(JobSpec::new("build", "success", "built\n")),
        )
        .run(
            RunSpec::new(41, WF, "Build navidrome")
                .event("workflow_dispatch")
                .job(JobSpec::new("build", "success", "built again\n")),
        )
        .run(RunSpec::new(42, "deploy.yml", "Deploy").job(JobSpec::new("deploy", "success", "")))
        .on_dispatch(
            RunSpec::new(43, WF, "Build navidrome")
                .job(JobSpec::new("build", "running", "building\n"))
                .job(JobSpec::new("push", "waiting", "")),
        )
}

fn forge(server: &FakeForgejo, token: Option<&str>) -> Forge {
    forge_with_timeout(server, token, Duration::from_secs(5))
}

fn forge_with_timeout(server: &FakeForgejo, token: Option<&str>, timeout: Duration) -> Forge {
    let http = Client::new(&HttpConfig {
        timeout,
        ..HttpConfig::default()
    })
    .unwrap()
    .with_base_delay(Duration::from_millis(5));
    Forge::new(
        http,
        &server.url(),
        RepoRef::parse("acme/app").unwrap(),
        token.map(|t| Token::new(t).unwrap()),
    )
    .unwrap()
}

fn inputs() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("container".to_owned(), "navidrome".to_owned()),
        ("ref".to_owned(), SHA.to_owned()),
    ])
}

#[tokio::test]
async fn the_dispatch_body_names_ref_inputs_and_asks_for_run_info() {
    let server = server(ApiLevel::V16).start();
    forge(&server, Some(WRITE))
        .dispatch(WF, "main", &inputs())
        .await
        .unwrap();
    let seen = server.dispatches();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].workflow, WF);
    assert_eq!(
        seen[0].body,
        serde_json::json!({"ref": "main", "inputs": {"container": "navidrome", "ref": SHA}, "return_run_info": true})
    );
}

#[tokio::test]
async fn forgejo_v11_and_later_answer_the_dispatch_with_the_run() {
    for level in [ApiLevel::V11, ApiLevel::V14, ApiLevel::V16] {
        let server = server(level).start();
        let answer = forge(&server, Some(WRITE))
            .dispatch(WF, "main", &inputs())
            .await
            .unwrap();
        let Dispatched::Run(run) = answer else {
            panic!("{level:?}: no run info: {answer:?}");
        };
        assert_eq!((run.id, run.number), (343, 43), "{level:?}");
        assert_eq!(run.jobs, ["build", "push"]);
        assert_eq!(
            run.url,
            format!("{}/acme/app/actions/runs/43", server.url())
        );
        // Nothing but the version was read before: no run look-up was needed.
        assert_eq!(server.requests(), 2, "{level:?}: {:?}", server.seen());
    }
}

#[tokio::test]
async fn gitea_gives_no_run_info_and_the_run_is_found_by_number_and_time_not_commit() {
    let server = server(ApiLevel::Gitea125).start();
    let forge = forge(&server, Some(WRITE));
    let answer = forge.dispatch(WF, "main", &inputs()).await.unwrap();
    let Dispatched::NoRunInfo { dispatched_at } = answer else {
        panic!("Gitea has no run info: {answer:?}");
    };
    assert_eq!(dispatched_at.newest_before, Some(41));
    let run = forge
        .find_dispatched_run(WF, &dispatched_at, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((run.number, run.event.as_str()), (43, "workflow_dispatch"));
    assert!(
        server.seen().iter().all(|s| !s.query.contains("head_sha")),
        "never matched by commit: {:?}",
        server.seen()
    );
}

#[tokio::test]
async fn a_run_that_appears_only_after_some_polls_is_waited_for() {
    let server = server(ApiLevel::Gitea125).dispatch_appears_after(2).start();
    let forge = forge(&server, Some(WRITE));
    let Dispatched::NoRunInfo { dispatched_at } =
        forge.dispatch(WF, "main", &inputs()).await.unwrap()
    else {
        panic!("Gitea has no run info");
    };
    server.reset_counts();
    let run = forge
        .find_dispatched_run(WF, &dispatched_at, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(run.number, 43);
    assert_eq!(server.requests_with("GET"), 3, "{:?}", server.seen());
}

#[tokio::test]
async fn an_older_run_of_the_workflow_is_never_taken_for_the_dispatched_one() {
    // The run never shows: the older dispatched runs (#40, #41) are all there is.
    let server = server(ApiLevel::Gitea125)
        .dispatch_appears_after(usize::MAX)
        .start();
    let forge = forge(&server, Some(WRITE));
    let Dispatched::NoRunInfo { dispatched_at } =
        forge.dispatch(WF, "main", &inputs()).await.unwrap()
    else {
        panic!("Gitea has no run info");
    };
    let err = forge
        .find_dispatched_run(WF, &dispatched_at, Duration::from_millis(700))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err:?}");
    assert!(
        err.message().contains("did not appear"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn the_dispatched_run_is_found_the_same_way_through_tasks_and_both_run_orders() {
    // Forgejo v11 has no runs list (runs come from the tasks of their jobs); v14 lists
    // runs oldest first without a workflow filter; v16 newest first with one.
    for level in [ApiLevel::V11, ApiLevel::V14, ApiLevel::V16] {
        let server = server(level).start();
        let forge = forge(&server, Some(WRITE));
        let since = Since {
            newest_before: Some(41),
            ..Since::now()
        };
        let Dispatched::Run(created) = forge.dispatch(WF, "main", &inputs()).await.unwrap() else {
            panic!("{level:?} answers with the run");
        };
        let run = forge
            .find_dispatched_run(WF, &since, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(run.number, created.number, "{level:?}");
        let listed = forge
            .wait_for_run(created.number, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(listed.number, 43, "{level:?}");
    }
}

#[tokio::test]
async fn a_502_on_the_dispatch_is_not_retried_and_says_it_may_have_landed() {
    let server = server(ApiLevel::V16).dispatch_answers(502).start();
    let err = forge(&server, Some(WRITE))
        .dispatch(WF, "main", &inputs())
        .await
        .unwrap_err();
    assert_eq!(server.requests_with("POST"), 1, "{:?}", server.seen());
    assert_eq!(err.exit_code(), 3);
    assert!(
        err.message().contains("may or may not have landed"),
        "{}",
        err.message()
    );
    assert!(
        err.hints().iter().any(|h| h.contains("not sent again")),
        "{:?}",
        err.hints()
    );
}

#[tokio::test]
async fn a_blank_500_for_a_workflow_that_exists_may_have_landed_and_is_not_sent_again() {
    // Forgejo blanks the message: the file's presence says it is not a missing workflow.
    let server = server(ApiLevel::V16).dispatch_answers(500).start();
    let err = forge(&server, Some(WRITE))
        .dispatch(WF, "main", &inputs())
        .await
        .unwrap_err();
    assert_eq!(server.requests_with("POST"), 1);
    assert_eq!(err.exit_code(), 3, "{err:?}");
    assert!(
        err.message().contains("may or may not have landed"),
        "{}",
        err.message()
    );
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.path == format!("/api/v1/repos/acme/app/contents/.forgejo/workflows/{WF}")),
        "{:?}",
        server.seen()
    );
}

#[tokio::test]
async fn a_missing_workflow_file_is_not_found_naming_it_whether_or_not_the_500_says_why() {
    for token in [WRITE, ADMIN] {
        let server = server(ApiLevel::V14).start();
        let err = forge(&server, Some(token))
            .dispatch("nope.yaml", "main", &inputs())
            .await
            .unwrap_err();
        assert_eq!(server.dispatches()[0].status, 500);
        assert_eq!(err.exit_code(), 4, "{token}: {err:?}");
        assert!(err.message().contains("nope.yaml"), "{}", err.message());
    }
    let gitea = server(ApiLevel::Gitea125).start();
    let err = forge(&gitea, Some(WRITE))
        .dispatch("nope.yaml", "main", &inputs())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4, "{err:?}");
}

#[tokio::test]
async fn a_token_without_write_scope_is_refused_with_a_hint_naming_the_scope() {
    let server = server(ApiLevel::V16).start();
    let err = forge(&server, Some(READ))
        .dispatch(WF, "main", &inputs())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.message().contains("403"), "{}", err.message());
    assert!(
        err.hints().iter().any(|h| h.contains("write:repository")),
        "{:?}",
        err.hints()
    );
    assert_eq!(server.requests_with("POST"), 1);
}

#[tokio::test]
async fn a_dispatch_without_a_valid_token_hints_at_the_token() {
    for token in [None, Some("tok-revoked")] {
        let server = server(ApiLevel::V16).start();
        let err = forge(&server, token)
            .dispatch(WF, "main", &inputs())
            .await
            .unwrap_err();
        assert_eq!(err.exit_code(), 3);
        assert!(err.message().contains("401"), "{}", err.message());
        assert!(
            err.hints().iter().any(|h| h.contains("token")),
            "{:?}",
            err.hints()
        );
    }
}

#[tokio::test]
async fn a_commit_is_found_and_an_unpushed_one_is_not() {
    let server = server(ApiLevel::V16).start();
    let forge = forge(&server, Some(READ));
    assert!(forge.commit_exists(SHA).await.unwrap());
    assert!(forge.commit_exists(&SHA[..7]).await.unwrap());
    assert!(!forge.commit_exists(&"f".repeat(40)).await.unwrap());
    assert_eq!(
        forge.commit_exists("main").await.unwrap_err().exit_code(),
        2
    );
}

#[tokio::test]
async fn a_commit_look_up_in_a_missing_repository_is_not_found_not_unpushed() {
    let server = server(ApiLevel::V16).repo("acme", "other").start();
    let err = forge(&server, Some(READ))
        .commit_exists(SHA)
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 4, "{err:?}");
}

#[tokio::test]
async fn the_log_tails_of_failed_jobs_keep_their_last_lines() {
    let log = (1..=30).map(|i| format!("line {i}\n")).collect::<String>();
    let server = FakeForgejo::builder(ApiLevel::V16)
        .token(READ, &["read:repository"])
        .run(
            RunSpec::new(7, WF, "Build")
                .job(JobSpec::new("build", "failure", &log))
                .job(JobSpec::new("lint", "success", "fine\n"))
                .job(JobSpec::new("push", "cancelled", "").with_log(Log::NotStarted)),
        )
        .start();
    let forge = forge(&server, Some(READ));
    let run = forge.find_run(7).await.unwrap();
    let tails = forge.failed_job_log_tails(&run, 3).await.unwrap();
    let names: Vec<&str> = tails.iter().map(|t| t.job.name.as_str()).collect();
    assert_eq!(names, ["build", "push"]);
    assert_eq!(
        tails[0].lines.as_deref().unwrap(),
        ["line 28", "line 29", "line 30"]
    );
    assert_eq!(tails[1].lines.as_deref().unwrap(), [] as [String; 0]);
}

#[tokio::test]
async fn a_dispatched_runs_jobs_follow_their_timeline_from_the_dispatch() {
    let server = FakeForgejo::builder(ApiLevel::V16)
        .token(WRITE, &["write:repository"])
        .on_dispatch(RunSpec::new(1, WF, "Build").job(
            JobSpec::new("build", "running", "").timeline(&[(0, "running"), (150, "failure")]),
        ))
        .start();
    // The server has been up longer than the timeline by the time of the dispatch.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let forge = forge(&server, Some(WRITE));
    let Dispatched::Run(created) = forge.dispatch(WF, "main", &inputs()).await.unwrap() else {
        panic!("v16 answers with the run");
    };
    let run = forge.find_run(created.number).await.unwrap();
    assert_eq!(run.status.name(), "running");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let run = forge.find_run(created.number).await.unwrap();
    assert_eq!(run.status.name(), "failure");
}

#[tokio::test]
async fn before_v12_a_dispatched_run_is_waited_for_until_a_runner_takes_a_job() {
    let server = FakeForgejo::builder(ApiLevel::V11)
        .token(WRITE, &["write:repository"])
        .on_dispatch(RunSpec::new(5, WF, "Build").job(
            JobSpec::new("build", "running", "").timeline(&[(0, "waiting"), (300, "running")]),
        ))
        .start();
    let forge = forge(&server, Some(WRITE));
    let Dispatched::Run(created) = forge.dispatch(WF, "main", &inputs()).await.unwrap() else {
        panic!("v11 answers with the run");
    };
    let missing = forge.find_run(created.number).await.unwrap_err();
    assert_eq!(
        missing.exit_code(),
        4,
        "no task yet, so no run: {missing:?}"
    );
    let run = forge
        .wait_for_run(created.number, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((run.number, run.status.name()), (5, "running"));
}

#[tokio::test]
async fn a_dispatch_cut_off_by_the_deadline_is_sent_once_and_may_have_landed() {
    let server = server(ApiLevel::V16)
        .dispatch_delay(Duration::from_secs(2))
        .start();
    let err = forge_with_timeout(&server, Some(WRITE), Duration::from_millis(300))
        .dispatch(WF, "main", &inputs())
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err:?}");
    assert!(
        err.message().contains("may or may not have landed"),
        "{}",
        err.message()
    );
    // Give a retry, had there been one, time to arrive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests_with("POST"), 1, "{:?}", server.seen());
}

#[tokio::test]
async fn a_forge_clock_a_few_seconds_behind_still_finds_the_dispatched_run() {
    // The run starts 2 s after its creation, by a clock 6 s behind ours: 4 s before
    // the dispatch as we count, within the allowed skew.
    let server = server(ApiLevel::Gitea125).clock_offset(-6).start();
    let forge = forge(&server, Some(WRITE));
    let Dispatched::NoRunInfo { dispatched_at } =
        forge.dispatch(WF, "main", &inputs()).await.unwrap()
    else {
        panic!("Gitea has no run info");
    };
    let run = forge
        .find_dispatched_run(WF, &dispatched_at, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(run.number, 43);
}
