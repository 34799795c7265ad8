//! container-list when the registry misbehaves: a fault-injecting proxy in front of the
//! real registry (testkit::faults) adds 429/5xx, stalls, truncated JSON, the Bearer
//! token flow and zot-style tag pagination.

mod common;

use std::time::{Duration, Instant};

use common::{container_list, filtered, ops_repo, run};
use testkit::faults::{Bearer, Fault, FaultProxy, LinkStyle, Plan};
use testkit::registry::TestRegistry;

fn registry_with_app() -> TestRegistry {
    let registry = TestRegistry::start();
    for patch in 0..3 {
        registry.push("opskit/app", &format!("v1.0.{patch}-0000000"));
    }
    registry
}

#[test]
fn a_429_is_retried_after_the_retry_after_seconds_and_the_listing_succeeds() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan::failing(
            "/tags/list",
            1,
            Fault::Status {
                status: 429,
                retry_after: Some(1),
            },
        ),
    );
    let started = Instant::now();
    let out = run(container_list(repo.path(), &proxy.host()).args(["--retries", "2", "--debug"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(
        out.stdout.contains("- v1.0.2-0000000 [unknown]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("answered 429 Too Many Requests; waiting 1 s as its Retry-After asks"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_500_then_success_is_retried_and_a_persistent_500_is_exit_3_in_the_registrys_words() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let flaky = FaultProxy::start(
        &registry.url(),
        Plan::failing(
            "/tags/list",
            2,
            Fault::Status {
                status: 500,
                retry_after: None,
            },
        ),
    );
    let out = run(container_list(repo.path(), &flaky.host()).args(["--retries", "2"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        flaky
            .requests()
            .iter()
            .filter(|r| r.contains("/tags/list"))
            .count(),
        3
    );

    let broken = FaultProxy::start(
        &registry.url(),
        Plan::failing(
            "/tags/list",
            usize::MAX,
            Fault::Status {
                status: 503,
                retry_after: None,
            },
        ),
    );
    let out = run(container_list(repo.path(), &broken.host()).args(["--retries", "1"]));
    assert_eq!(out.code, 3);
    assert!(
        filtered(&out.stdout, &broken.host()).contains(
            "   Recent tags: error: [REGISTRY]: tags of opskit/app: the server kept failing (503 Service Unavailable: UNKNOWN: injected fault)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_stalled_registry_times_out_with_exit_3_instead_of_hanging() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan::failing(
            "/tags/list",
            usize::MAX,
            Fault::Stall(Duration::from_secs(30)),
        ),
    );
    let started = Instant::now();
    let out = run(container_list(repo.path(), &proxy.host()).args([
        "--timeout",
        "0.5",
        "--retries",
        "0",
    ]));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(
        filtered(&out.stdout, &proxy.host()).contains(
            "   Recent tags: error: [REGISTRY]: no complete answer within 0.5 s (--timeout)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_tag_list_cut_mid_body_every_time_is_exit_3_saying_the_connection_closed() {
    // The proxy sends the full Content-Length, half the body, then closes the
    // connection; a single cut is retried, so it cuts every try.
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan::failing("/tags/list", usize::MAX, Fault::TruncateJson),
    );
    let out = run(&mut container_list(repo.path(), &proxy.host()));
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        filtered(&out.stdout, &proxy.host()).contains(
            "   Recent tags: error: [REGISTRY]: tags of opskit/app: the answer was cut off or garbled (end of file before message length reached)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_listing_that_outlives_its_token_fetches_a_new_one_instead_of_failing_401() {
    let repo = ops_repo(&["app"], &[]);
    let registry = registry_with_app();
    let mut bearer = Bearer::new(None, "", "short-lived");
    bearer.lifetime_secs = Some(1);
    // One tag a page, 250 ms an answer: the listing takes longer than a token lives.
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan {
            bearer: Some(bearer),
            delay: Duration::from_millis(250),
            paginate_tags: Some(LinkStyle::Relative),
            ..Plan::default()
        },
    );
    let out = run(container_list(repo.path(), &proxy.host()).args(["--page-size", "1", "--all"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("v1.0.0-0000000"), "{}", out.stdout);
    let tokens = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET /token") && r.contains("opskit%2Fapp"))
        .count();
    assert!(
        tokens >= 2,
        "the token was renewed: {:#?}",
        proxy.requests()
    );
}

#[test]
fn a_catalog_challenge_naming_another_scope_gets_a_token_for_that_scope() {
    // Nothing under the prefix: after the tags request has set up Bearer auth, the
    // catalog must be read to tell a wrong prefix (exit 4) from an empty registry.
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    registry.push("elsewhere/stray", "v9.0.0-0000000");
    let mut bearer = Bearer::new(None, "", "zot-like");
    // zot names the catalog's scope with an empty repository name.
    bearer.catalog_scope = Some("repository::pull".to_owned());
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan {
            bearer: Some(bearer),
            ..Plan::default()
        },
    );
    let out = run(&mut container_list(repo.path(), &proxy.host()));
    assert_eq!(out.code, 4, "{}{}", out.stdout, out.stderr);
    assert!(
        filtered(&out.stderr, &proxy.host()).starts_with(
            "error: the registry [REGISTRY] has nothing under the image prefix 'opskit/'"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn bearer_flow_gets_one_token_per_scope_with_the_tag_requests_sent_alongside_the_probe() {
    let repo = ops_repo(&["app", "tool"], &[]);
    let registry = registry_with_app();
    registry.push("opskit/tool", "v2.0.0-0000000");
    let proxy = FaultProxy::start(
        &registry.url(),
        Plan {
            bearer: Some(Bearer::new(Some("ci"), "tok-pass", "secret-token-value")),
            ..Plan::default()
        },
    );
    let out = run(container_list(repo.path(), &proxy.host()).args([
        "--username",
        "ci",
        "--password",
        "tok-pass",
        "--debug",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("- v2.0.0-0000000 [unknown]"));
    let mut seen: Vec<String> = proxy
        .requests()
        .into_iter()
        .map(|r| r.replace("%3A", ":").replace("%2F", "/"))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            // Probe and listings go out together; each 401 answers with the realm, the
            // first challenge is kept, one token is fetched per scope, and each request
            // is sent once more with its token: three round trips, not five.
            "GET /token?service=fault-proxy auth=basic",
            "GET /token?service=fault-proxy&scope=repository:opskit/app:pull auth=basic",
            "GET /token?service=fault-proxy&scope=repository:opskit/tool:pull auth=basic",
            "GET /v2/ auth=bearer",
            "GET /v2/ auth=none",
            "GET /v2/opskit/app/tags/list auth=bearer",
            "GET /v2/opskit/app/tags/list auth=none",
            "GET /v2/opskit/tool/tags/list auth=bearer",
            "GET /v2/opskit/tool/tags/list auth=none",
        ]
    );
    assert!(!out.stderr.contains("secret-token-value") && !out.stderr.contains("tok-pass"));

    let refused = run(container_list(repo.path(), &proxy.host()).args([
        "--username",
        "ci",
        "--password",
        "wrong",
    ]));
    assert_eq!(refused.code, 3);
    assert!(
        filtered(&refused.stdout, &proxy.host()).contains(
            "Recent tags: error: [REGISTRY]: token for the registry: authentication required or credentials rejected (401)"
        ),
        "{}",
        refused.stdout
    );
}

#[test]
fn tag_pages_are_followed_through_relative_and_absolute_links() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    for patch in 0..7 {
        registry.push("opskit/app", &format!("v3.0.{patch}-0000000"));
    }
    for style in [LinkStyle::Relative, LinkStyle::Absolute] {
        let proxy = FaultProxy::start(
            &registry.url(),
            Plan {
                paginate_tags: Some(style),
                ..Plan::default()
            },
        );
        let out = run(container_list(repo.path(), &proxy.host()).args([
            "app",
            "--all",
            "--page-size",
            "2",
        ]));
        assert_eq!(out.code, 0, "{style:?}: {}", out.stderr);
        assert_eq!(out.stdout.matches("     - v3.0.").count(), 7, "{style:?}");
        let pages: Vec<String> = proxy
            .requests()
            .into_iter()
            .filter(|r| r.contains("/tags/list"))
            .collect();
        assert_eq!(
            pages,
            [
                "GET /v2/opskit/app/tags/list?n=2 auth=none",
                "GET /v2/opskit/app/tags/list?n=2&last=v3.0.1-0000000 auth=none",
                "GET /v2/opskit/app/tags/list?n=2&last=v3.0.3-0000000 auth=none",
                "GET /v2/opskit/app/tags/list?n=2&last=v3.0.5-0000000 auth=none",
            ],
            "{style:?}"
        );
    }
}
