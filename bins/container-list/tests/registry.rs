//! container-list against a real registry (Debian's docker-registry on loopback) and
//! real git histories.

mod common;

use common::{container_list, container_list_under, filtered, ops_repo, run};
use testkit::git::GitRepo;
use testkit::registry::TestRegistry;

/// main: c1 ← c2 ← c3 (squash of PR) ; branch `feature` off c2 with f1 (kept);
/// PR branch `pr` with p1, squash-merged as c3 and deleted, so p1 exists but main
/// will never contain it.
struct History {
    repo: GitRepo,
    c1: String,
    c2: String,
    c3: String,
    f1: String,
    p1: String,
}

fn history() -> History {
    let repo = ops_repo(&["app", "tool"], &["app"]);
    let c1 = repo.head();
    repo.write(
        "containers/app/Dockerfile",
        "FROM scratch\nARG CONTAINER_APP_VERSION=1.1.0\n",
    );
    let c2 = repo.commit("app 1.1.0");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", "f\n");
    let f1 = repo.commit("feature work");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "-b", "pr"]);
    repo.write("pr.txt", "p\n");
    let p1 = repo.commit("pr work");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--squash", "pr"]);
    let c3 = repo.commit("squash-merge pr");
    repo.git(&["branch", "-q", "-D", "pr"]);
    History {
        repo,
        c1,
        c2,
        c3,
        f1,
        p1,
    }
}

fn short(sha: &str) -> &str {
    &sha[..7]
}

#[test]
fn tags_sort_by_semver_newest_first_and_are_marked_by_main_ancestry() {
    let h = history();
    let registry = TestRegistry::start();
    let tags = [
        format!("v0.4.9-{}", short(&h.c1)),
        format!("v0.4.10-{}", short(&h.c2)),
        format!("v0.4.10-{}-nix", short(&h.c2)),
        format!("v0.4.10-{}", short(&h.c3)),
        format!("v0.5.0-{}", short(&h.f1)),
        format!("v0.5.1-{}", short(&h.p1)),
        "v0.6.0-0000000".to_owned(),
        "latest".to_owned(),
    ];
    for tag in &tags {
        registry.push("opskit/app", tag);
    }
    let out = run(container_list(h.repo.path(), &registry.host()).args(["app", "tool"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = filtered(&out.stdout, &registry.host());
    let expected_tags = [
        "v0.6.0-0000000 [unknown]".to_owned(),
        format!("v0.5.1-{} [branch]", short(&h.p1)),
        format!("v0.5.0-{} [branch]", short(&h.f1)),
        // Same version: the newer commit on main first, then Dockerfile before nix.
        format!("v0.4.10-{} [main]", short(&h.c3)),
        format!("v0.4.10-{} [main]", short(&h.c2)),
        format!("v0.4.10-{}-nix [main]", short(&h.c2)),
        format!("v0.4.9-{} [main]", short(&h.c1)),
    ];
    let listed: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    assert_eq!(listed, expected_tags);
    let header: Vec<&str> = text.lines().take(4).collect();
    assert_eq!(
        header,
        [
            "[dockerfile+nix] app",
            "   Image: [REGISTRY]/opskit/app",
            "   Path:  containers/app",
            "   Recent tags:"
        ]
    );
    assert!(
        text.contains("[dockerfile] tool\n   Image: [REGISTRY]/opskit/tool\n   Path:  containers/tool\n   Recent tags: (none: nothing pushed to the registry yet)\n"),
        "{text}"
    );
    assert!(
        text.contains("[branch]   the commit is not on main"),
        "{text}"
    );
}

#[test]
fn default_limit_is_four_for_all_and_ten_for_named_with_a_count_of_the_rest() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    for minor in 0..12 {
        registry.push("opskit/app", &format!("v1.{minor}.0-0000000"));
    }
    let all = run(&mut container_list(repo.path(), &registry.host()));
    insta::assert_snapshot!(filtered(&all.stdout, &registry.host()), @r"
    [dockerfile] app
       Image: [REGISTRY]/opskit/app
       Path:  containers/app
       Recent tags:
         - v1.11.0-0000000 [unknown]
         - v1.10.0-0000000 [unknown]
         - v1.9.0-0000000 [unknown]
         - v1.8.0-0000000 [unknown]
         (8 older; --limit N or --all to show them)

    Markers:
      [main]     the commit is on main: fit to pin in production manifests
      [branch]   the commit is not on main (a branch, or a squash-merged PR): rebuild from main before pinning
      [unknown]  the commit is not in this clone (git fetch?), or there is no main to compare with
    ");
    let named = run(container_list(repo.path(), &registry.host()).arg("app"));
    assert_eq!(named.stdout.matches("     - ").count(), 10);
    assert!(named.stdout.contains("(2 older;"), "{}", named.stdout);
}

#[test]
fn every_catalog_page_is_read_when_the_registry_paginates() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    for name in ["a", "b", "c", "d", "e"] {
        registry.push(&format!("opskit/old-{name}"), "v1.0.0-0000000");
    }
    let out = run(container_list(repo.path(), &registry.host()).args([
        "--registry-only",
        "--page-size",
        "2",
        "--json",
        "--debug",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let names: Vec<&str> = json["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["old-a", "old-b", "old-c", "old-d", "old-e"]);
    // Three pages of n=2: the registry's Link headers were followed to the end.
    assert_eq!(
        out.stderr.matches("/v2/_catalog?").count(),
        3,
        "{}",
        out.stderr
    );
}

#[test]
fn json_output_has_stable_field_names() {
    let h = history();
    let registry = TestRegistry::start();
    registry.push("opskit/tool", &format!("v1.0.0-{}", short(&h.c1)));
    let out = run(container_list(h.repo.path(), &registry.host()).args(["tool", "--json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = filtered(&out.stdout, &registry.host()).replace(short(&h.c1), "[C1]");
    insta::assert_snapshot!(text, @r#"
    {
      "registry": "[REGISTRY]",
      "main_ref": "main",
      "registry_only": false,
      "images": [
        {
          "name": "tool",
          "kinds": [
            "dockerfile"
          ],
          "image": "[REGISTRY]/opskit/tool",
          "path": "containers/tool",
          "status": "ok",
          "error": null,
          "tags": [
            {
              "tag": "v1.0.0-[C1]",
              "version": "1.0.0",
              "commit": "[C1]",
              "nix": false,
              "marker": "main"
            }
          ],
          "more": 0,
          "hidden": 0
        }
      ]
    }
    "#);
}

#[test]
fn include_shows_only_the_tags_it_matches_version_or_not_then_exclude_then_limit() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    let tags = [
        "latest",
        "edge",
        "v1.0.0-0000000",
        "v1.0.0-0000000-nix",
        "v1.1.0-0000000",
        "v2.0.0-0000000",
    ];
    for tag in tags {
        registry.push("opskit/app", tag);
    }
    let listed = |extra: &[&str]| -> (Vec<String>, serde_json::Value) {
        let out = run(container_list(repo.path(), &registry.host())
            .arg("app")
            .args(extra));
        assert_eq!(out.code, 0, "{}", out.stderr);
        let json = run(container_list(repo.path(), &registry.host())
            .args(["app", "--json"])
            .args(extra));
        let json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        let shown = out
            .stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .map(|l| l.trim_end_matches(" [unknown]").to_owned())
            .collect();
        (shown, json["images"][0].clone())
    };
    // Without --include: the version tags only.
    let (shown, json) = listed(&[]);
    assert_eq!(
        shown,
        [
            "v2.0.0-0000000",
            "v1.1.0-0000000",
            "v1.0.0-0000000",
            "v1.0.0-0000000-nix"
        ]
    );
    assert_eq!(json["hidden"], 2);
    // --include means "only": latest alone, not latest added to the version tags.
    let (shown, json) = listed(&["--include", "^latest$"]);
    assert_eq!(shown, ["latest"]);
    assert_eq!(
        (json["hidden"].clone(), json["more"].clone()),
        (5.into(), 0.into())
    );
    // Repeated: any may match; version tags first, newest first, then the others.
    let (shown, _) = listed(&["--include", "^latest$", "--include", "^v1\\."]);
    assert_eq!(
        shown,
        [
            "v1.1.0-0000000",
            "v1.0.0-0000000",
            "v1.0.0-0000000-nix",
            "latest"
        ]
    );
    // --exclude wins over --include, and the limit counts what the filters left.
    let (shown, json) = listed(&[
        "--include",
        "^v1\\.|^edge$",
        "--exclude=-nix$",
        "--limit",
        "2",
    ]);
    assert_eq!(shown, ["v1.1.0-0000000", "v1.0.0-0000000"]);
    assert_eq!(
        (json["hidden"].clone(), json["more"].clone()),
        (3.into(), 1.into())
    );
    let (shown, _) = listed(&["--exclude=-nix$"]);
    assert_eq!(
        shown,
        ["v2.0.0-0000000", "v1.1.0-0000000", "v1.0.0-0000000"]
    );
}

/// `--include` is described the same way, as "only", wherever a user reads about it:
/// `--help`, the mise task's help and the how-to.
#[test]
fn include_is_described_as_only_in_help_mise_and_docs() {
    let help = run(testkit::cli::command(
        std::path::Path::new(env!("CARGO_BIN_EXE_container-list")),
        std::path::Path::new("."),
    )
    .arg("--help"))
    .stdout;
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let mise = std::fs::read_to_string(format!("{root}/mise.toml")).unwrap();
    let docs = std::fs::read_to_string(format!("{root}/docs/how-to/container-list.md")).unwrap();
    let flag_help: String = help
        .split("--include <RE>")
        .nth(1)
        .and_then(|rest| rest.split("--exclude <RE>").next())
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        flag_help.starts_with("Show only tags matching"),
        "{flag_help}"
    );
    let mise_line = mise
        .lines()
        .find(|l| l.contains("flag \"--include"))
        .unwrap();
    assert!(
        mise_line.contains("help=\"Show only tags matching"),
        "{mise_line}"
    );
    let examples: Vec<&str> = help
        .lines()
        .chain(docs.lines())
        .filter(|l| l.trim_start().starts_with("container-list") && l.contains("--include '"))
        .collect();
    assert!(!examples.is_empty());
    for text in [help.as_str(), mise.as_str(), docs.as_str()] {
        for wrong in ["also show", "also tags", "(also non-version"] {
            assert!(!text.contains(wrong), "'{wrong}' in:\n{text}");
        }
    }
    for example in examples {
        assert!(example.contains("only"), "{example}");
    }
}

#[test]
fn basic_auth_lists_with_the_right_password_and_fails_per_image_with_exit_3_otherwise() {
    let repo = ops_repo(&["app", "tool"], &[]);
    let registry = TestRegistry::start_with_auth("ci", "s3cret-pw");
    registry.push("opskit/app", "v1.0.0-0000000");

    let ok = run(container_list(repo.path(), &registry.host())
        .env("REGISTRY_USERNAME", "ci")
        .env("REGISTRY_PASSWORD", "s3cret-pw"));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout.contains("- v1.0.0-0000000 [unknown]"),
        "{}",
        ok.stdout
    );

    let mut hints: Vec<Vec<String>> = Vec::new();
    for creds in [&["--username", "ci", "--password", "wrong-pw"][..], &[]] {
        let bad = run(container_list(repo.path(), &registry.host()).args(creds));
        assert_eq!(bad.code, 3, "{}", bad.stderr);
        let text = filtered(&bad.stdout, &registry.host());
        assert_eq!(
            text.matches("Recent tags: error: [REGISTRY]: the /v2/ API check: authentication required or credentials rejected (401)").count(),
            2,
            "{text}"
        );
        assert!(
            bad.stderr
                .starts_with("error: 2 of 2 images could not be listed"),
            "{}",
            bad.stderr
        );
        assert!(!bad.stdout.contains("wrong-pw") && !bad.stderr.contains("wrong-pw"));
        hints.push(bad.stderr.lines().skip(1).map(str::to_owned).collect());
    }
    // The registry client's hints about credentials reach the user.
    insta::assert_debug_snapshot!(hints, @r#"
    [
        [
            "  hint: the credentials from --username/--password were refused; check the username and password or API key",
            "  hint: --debug shows each request",
        ],
        [
            "  hint: pass --username/--password (or REGISTRY_USERNAME/REGISTRY_PASSWORD), or `docker login` the registry",
            "  hint: --debug shows each request",
        ],
    ]
    "#);
}

#[test]
fn credentials_come_from_docker_config_and_credential_helpers() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start_with_auth("ci", "helper-secret");
    registry.push("opskit/app", "v1.0.0-0000000");
    let docker = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();

    // `auths` with base64 user:password, keyed by URL as `docker login` writes it.
    let auth = "Y2k6aGVscGVyLXNlY3JldA=="; // ci:helper-secret
    std::fs::write(
        docker.path().join("config.json"),
        format!(
            r#"{{"auths":{{"http://{}":{{"auth":"{auth}"}}}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let from_auths = run(container_list(repo.path(), &registry.host())
        .env("DOCKER_CONFIG", docker.path())
        .arg("--debug"));
    assert_eq!(from_auths.code, 0, "{}", from_auths.stderr);
    assert!(from_auths.stderr.contains("credentials from docker config"));

    // credHelpers: a real docker-credential-<name> program on PATH.
    let helper = bin.path().join("docker-credential-opskit-test");
    std::fs::write(
        &helper,
        "#!/bin/sh\nread host\necho \"{\\\"ServerURL\\\":\\\"$host\\\",\\\"Username\\\":\\\"ci\\\",\\\"Secret\\\":\\\"helper-secret\\\"}\"\n",
    )
    .unwrap();
    std::os::unix::fs::PermissionsExt::set_mode(
        &mut std::fs::metadata(&helper).unwrap().permissions(),
        0o755,
    );
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        docker.path().join("config.json"),
        format!(
            r#"{{"credHelpers":{{"{}":"opskit-test"}}}}"#,
            registry.host()
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let from_helper = run(container_list(repo.path(), &registry.host())
        .env("DOCKER_CONFIG", docker.path())
        .env("PATH", path)
        .arg("--debug"));
    assert_eq!(from_helper.code, 0, "{}", from_helper.stderr);
    assert!(
        from_helper
            .stderr
            .contains("credentials from docker-credential-opskit-test"),
        "{}",
        from_helper.stderr
    );
    for out in [&from_auths, &from_helper] {
        assert!(!out.stderr.contains("helper-secret") && !out.stdout.contains("helper-secret"));
        assert!(!out.stderr.contains(auth));
    }
}

#[test]
fn secrets_never_appear_in_output_errors_or_debug() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start_with_auth("ci", "right-pw");
    registry.push("opskit/app", "v1.0.0-0000000");
    for password in ["right-pw", "Wr0ng-Secret-Value"] {
        let out = run(container_list(repo.path(), &registry.host())
            .args(["--debug", "--json"])
            .env("REGISTRY_USERNAME", "ci")
            .env("REGISTRY_PASSWORD", password));
        assert!(out.stderr.contains("debug: GET"), "{}", out.stderr);
        for secret in [password, "Y2k6"] {
            assert!(!out.stdout.contains(secret), "stdout leaks {secret}");
            assert!(!out.stderr.contains(secret), "stderr leaks {secret}");
        }
    }
}

#[test]
fn registry_only_lists_repositories_without_a_containers_directory() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    registry.push("opskit/app", "v1.0.0-0000000");
    registry.push("opskit/retired", "v0.9.0-0000000");
    registry.push("opskit/nested/thing", "v0.1.0-0000000");
    registry.push("elsewhere/app", "v1.0.0-0000000");
    let out = run(container_list(repo.path(), &registry.host()).args([
        "--registry-only",
        "--page-size",
        "1",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(filtered(&out.stdout, &registry.host()), @r"
    [registry only] nested/thing
       Image: [REGISTRY]/opskit/nested/thing
       Recent tags:
         - v0.1.0-0000000 [unknown]

    [registry only] retired
       Image: [REGISTRY]/opskit/retired
       Recent tags:
         - v0.9.0-0000000 [unknown]

    Markers:
      [main]     the commit is on main: fit to pin in production manifests
      [branch]   the commit is not on main (a branch, or a squash-merged PR): rebuild from main before pinning
      [unknown]  the commit is not in this clone (git fetch?), or there is no main to compare with
    ");
}

#[test]
fn check_pins_reports_each_pin_and_exits_1_when_one_is_missing() {
    let h = history();
    let registry = TestRegistry::start();
    let host = registry.host();
    let on_main = format!("v1.0.0-{}", short(&h.c3));
    let on_branch = format!("v1.1.0-{}", short(&h.f1));
    registry.push("opskit/app", &on_main);
    let digest = registry.push("opskit/tool", &on_branch);
    h.repo.write(
        "argocd/app/kustomization.yaml",
        &format!("images:\n  - name: {host}/opskit/app\n    newTag: {on_main}\n"),
    );
    h.repo.write(
        "argocd/tool/deployment.yaml",
        &format!("spec:\n  containers:\n    - image: {host}/opskit/tool:{on_branch}@{digest}\n    - image: docker.io/library/redis:7\n"),
    );
    h.repo.commit("pins");
    let good = run(container_list(h.repo.path(), &host).arg("--check-pins"));
    assert_eq!(good.code, 0, "{}", good.stderr);
    let text = filtered(&good.stdout, &host)
        .replace(short(&h.c3), "[C3]")
        .replace(short(&h.f1), "[F1]")
        .replace(&digest, "[DIGEST]");
    insta::assert_snapshot!(text, @r"
    FILE                             PIN                                                                                                 REGISTRY  COMMIT
    argocd/app/kustomization.yaml:2  opskit/app:v1.0.0-[C3]                                                                           present   [main]
    argocd/tool/deployment.yaml:3    opskit/tool:v1.1.0-[F1]@[DIGEST]  present   [branch]

    2 present, 0 missing, 0 unverified; 1 built from a commit not on main.
    ");

    h.repo.write(
        "argocd/app/kustomization.yaml",
        &format!(
            "images:\n  - name: {host}/opskit/app\n    newTag: v9.9.9-{}\n",
            short(&h.c1)
        ),
    );
    let missing = run(container_list(h.repo.path(), &host).args(["--check-pins", "--json"]));
    assert_eq!(missing.code, 1, "{}", missing.stderr);
    let json: serde_json::Value = serde_json::from_str(&missing.stdout).unwrap();
    assert_eq!(json["pins"][0]["status"], "missing");
    assert_eq!(json["pins"][0]["marker"], "main");
    assert_eq!(json["pins"][1]["status"], "present");
    assert_eq!(json["pins"][1]["registry_digest"], digest.as_str());
    assert!(
        missing
            .stderr
            .starts_with("error: 1 of 2 image pins are not in the registry"),
        "{}",
        missing.stderr
    );

    // The same pin in two files is one HEAD request.
    h.repo.write(
        "argocd/tool/cronjob.yaml",
        &format!("image: {host}/opskit/tool:{on_branch}@{digest}\n"),
    );
    let repeated =
        run(container_list(h.repo.path(), &host).args(["--check-pins", "--json", "--debug"]));
    let json: serde_json::Value = serde_json::from_str(&repeated.stdout).unwrap();
    assert_eq!(json["pins"].as_array().unwrap().len(), 3);
    assert_eq!(
        repeated.stderr.matches("debug: HEAD ").count(),
        2,
        "{}",
        repeated.stderr
    );
}

#[test]
fn an_unreachable_registry_is_an_error_per_image_and_exit_3_never_an_empty_list() {
    let repo = ops_repo(&["app", "tool"], &[]);
    // A port nothing listens on: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = format!("127.0.0.1:{port}");
    let out = run(&mut container_list(repo.path(), &host));
    assert_eq!(out.code, 3);
    assert_eq!(
        filtered(&out.stdout, &host)
            .matches("   Recent tags: error: cannot reach [REGISTRY]: connection failed")
            .count(),
        2,
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .starts_with("error: 2 of 2 images could not be listed")
    );

    repo.write(
        "argocd/app/kustomization.yaml",
        &format!("images:\n  - name: {host}/opskit/app\n    newTag: v1.0.0-0000000\n"),
    );
    let pins = run(container_list(repo.path(), &host).args(["--check-pins", "--json"]));
    assert_eq!(pins.code, 3, "{}", pins.stderr);
    let json: serde_json::Value = serde_json::from_str(&pins.stdout).unwrap();
    assert_eq!(json["pins"][0]["status"], "error");
    assert!(
        pins.stderr
            .starts_with("error: 1 of 1 image pins could not be verified")
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_its_exit_code() {
    let repo = ops_repo(&["app", "tool"], &[]);
    let registry = TestRegistry::start();
    let cases: [(&[&str], &str, i32); 5] = [
        (
            &["nope"],
            "error: no container 'nope' under containers/ (known: app, tool)",
            4,
        ),
        (&["../etc"], "error: invalid container name '../etc'", 2),
        (&["."], "error: invalid container name '.'", 2),
        (
            &["-n", "0"],
            "error: invalid value '0' for '--limit <N>': 0 is not in 1..",
            2,
        ),
        (
            &["--include", "v(1"],
            "error: bad --include regex 'v(1': unclosed group",
            2,
        ),
    ];
    for (args, first_line, code) in cases {
        let out = run(container_list(repo.path(), &registry.host()).args(args));
        assert_eq!(out.code, code, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        let line = out.stderr.lines().next().unwrap_or_default();
        assert!(line.starts_with(first_line), "{args:?}: {}", out.stderr);
    }
    let with_path = run(&mut container_list(
        repo.path(),
        "https://r.example/some/path",
    ));
    assert_eq!(with_path.code, 2);
    assert!(with_path.stderr.starts_with(
        "error: bad --registry 'https://r.example/some/path': the registry API lives at the root"
    ));
    let plain_http = run(&mut container_list(repo.path(), "http://registry.example"));
    assert_eq!(plain_http.code, 2);
    assert!(
        plain_http
            .stderr
            .starts_with("error: refusing plain http:// to registry.example")
    );
}

#[test]
fn outside_a_git_repository_markers_are_unknown_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("containers/app")).unwrap();
    std::fs::write(
        dir.path().join("containers/app/Dockerfile"),
        "FROM scratch\n",
    )
    .unwrap();
    let registry = TestRegistry::start();
    registry.push("opskit/app", "v1.0.0-abcdef0");
    let out = run(&mut container_list(dir.path(), &registry.host()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("- v1.0.0-abcdef0 [unknown]"));
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.starts_with("warning: "), "{}", out.stderr);
    assert!(out.stderr.contains("every tag is marked [unknown]"));
}

#[test]
fn detached_head_and_origin_main_are_handled_and_shallow_clones_warn() {
    let h = history();
    let registry = TestRegistry::start();
    registry.push("opskit/app", &format!("v1.0.0-{}", short(&h.c1)));
    registry.push("opskit/app", &format!("v1.1.0-{}", short(&h.f1)));

    // A shallow clone has origin/main but only its tip: older commits are unknown.
    let (_keep, clone) = h.repo.shallow_clone(1);
    let shallow = run(container_list(&clone, &registry.host()).arg("app"));
    assert_eq!(shallow.code, 0, "{}", shallow.stderr);
    assert!(
        shallow.stderr.starts_with(
            "warning: this is a shallow clone: the ancestry of origin/main may be incomplete"
        ),
        "{}",
        shallow.stderr
    );
    assert!(
        shallow
            .stdout
            .contains(&format!("v1.0.0-{} [unknown]", short(&h.c1)))
    );

    h.repo.git(&["checkout", "-q", "--detach", &h.f1]);
    let detached = run(container_list(h.repo.path(), &registry.host()).arg("app"));
    assert_eq!(detached.code, 0, "{}", detached.stderr);
    assert!(detached.stderr.is_empty(), "{}", detached.stderr);
    assert!(
        detached
            .stdout
            .contains(&format!("v1.1.0-{} [branch]", short(&h.f1)))
    );
    assert!(
        detached
            .stdout
            .contains(&format!("v1.0.0-{} [main]", short(&h.c1)))
    );

    let bad_ref =
        run(container_list(h.repo.path(), &registry.host()).args(["--main-ref", "trunk"]));
    assert_eq!(bad_ref.code, 2);
    assert!(
        bad_ref
            .stderr
            .starts_with("error: ref 'trunk' does not resolve to a commit")
    );
}

/// The task as the repo's mise.toml declares it, run by the real mise: names and flags
/// reach the tool through the usage spec, and exit codes come back.
#[test]
fn mise_run_container_list_passes_names_and_flags_through_the_repos_task() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    for minor in 0..3 {
        registry.push("opskit/app", &format!("v1.{minor}.0-0000000"));
    }
    let sandbox = testkit::mise::TaskSandbox::from_repo("container-list");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_container-list"))
        .parent()
        .unwrap();
    let mise = |args: &[&str]| {
        let out = testkit::cli::output(
            sandbox
                .command(bin_dir)
                .args(args)
                .env("OPSKIT_REPO_ROOT", repo.path())
                .env("REGISTRY", registry.host())
                .env("IMAGE_PREFIX", "opskit")
                .env("DOCKER_CONFIG", sandbox.path().join("no-docker")),
        );
        (Some(out.code), out.stdout, out.stderr)
    };
    let (code, stdout, stderr) = mise(&["app", "--limit", "2", "--json"]);
    assert_eq!(code, Some(0), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let tags: Vec<&str> = json["images"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v1.2.0-0000000", "v1.1.0-0000000"]);
    assert_eq!(json["images"][0]["more"], 1);

    let (code, _, stderr) = mise(&["nope"]);
    assert_eq!(code, Some(4), "{stderr}");
    assert!(stderr.contains("error: no container 'nope'"), "{stderr}");
}

#[test]
fn a_missing_credential_helper_matters_only_when_the_registry_asks_for_credentials() {
    let repo = ops_repo(&["app"], &[]);
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(
        docker.path().join("config.json"),
        r#"{"credsStore":"opskit-no-such-helper"}"#,
    )
    .unwrap();

    let anonymous = TestRegistry::start();
    anonymous.push("opskit/app", "v1.0.0-0000000");
    let out =
        run(container_list(repo.path(), &anonymous.host()).env("DOCKER_CONFIG", docker.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("- v1.0.0-0000000 [unknown]"));

    let guarded = TestRegistry::start_with_auth("ci", "pw");
    let out = run(container_list(repo.path(), &guarded.host()).env("DOCKER_CONFIG", docker.path()));
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        filtered(&out.stdout, &guarded.host()).contains(
            "Recent tags: error: credential helper docker-credential-opskit-no-such-helper failed for [REGISTRY]: cannot run it"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn a_prefix_with_nothing_under_it_is_exit_4_with_one_line_and_a_hint_at_the_right_prefix() {
    let repo = ops_repo(&["app", "tool"], &[]);
    let registry = TestRegistry::start();
    let host = registry.host();
    registry.push("opskit/app", "v1.0.0-0000000");
    registry.push("opskit/tool", "v1.0.0-0000000");
    registry.push("elsewhere/other", "v1.0.0-0000000");
    for extra in [&[][..], &["--json"], &["app"], &["--registry-only"]] {
        let out = run(container_list_under(repo.path(), &host, "opskti").args(extra));
        assert_eq!(out.code, 4, "{extra:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{extra:?}: {}", out.stdout);
        let expected = format!(
            "error: the registry {host} has nothing under the image prefix 'opskti/'\n  \
             hint: check IMAGE_PREFIX or --image-prefix (an image is <registry>/<prefix>/<name>); \
             {} of the containers are under 'opskit/' there\n",
            if extra == ["app"] { 1 } else { 2 }
        );
        assert_eq!(out.stderr, expected, "{extra:?}");
    }
    // No prefix at all, where one is needed: the same answer.
    let out = run(&mut container_list_under(repo.path(), &host, ""));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(&format!(
            "error: the registry {host} has nothing under the image prefix (none: images at the registry's top level)\n"
        )),
        "{}",
        out.stderr
    );
    // The right prefix, with one image not pushed yet: a real answer, exit 0.
    let repo2 = ops_repo(&["app", "new"], &[]);
    let out = run(&mut container_list(repo2.path(), &host));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("Recent tags: (none: nothing pushed to the registry yet)")
    );
    // Even when that image is the only one asked for: others exist under the prefix.
    let out = run(container_list(repo2.path(), &host).arg("new"));
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn an_empty_registry_says_it_has_no_repositories_at_all_with_exit_4() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    let out = run(&mut container_list(repo.path(), &registry.host()));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert_eq!(
        filtered(&out.stderr, &registry.host()),
        "error: the registry [REGISTRY] has nothing under the image prefix 'opskit/'\n  \
         hint: the registry has no repositories at all: push an image first, or check --registry (REGISTRY)\n"
    );
}

#[test]
fn registry_only_sends_the_probe_once() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start();
    registry.push("opskit/app", "v1.0.0-0000000");
    registry.push("opskit/retired", "v0.9.0-0000000");
    let out =
        run(container_list(repo.path(), &registry.host()).args(["--registry-only", "--debug"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let probes = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("debug: GET ") && l.contains("/v2/ -> "))
        .count();
    assert_eq!(probes, 1, "{}", out.stderr);
    assert!(
        out.stdout.contains("[registry only] retired"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_credential_helper_failing_in_other_words_than_the_protocols_not_found_is_an_error() {
    let repo = ops_repo(&["app"], &[]);
    let registry = TestRegistry::start_with_auth("ci", "pw");
    registry.push("opskit/app", "v1.0.0-0000000");
    let docker = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    std::fs::write(
        docker.path().join("config.json"),
        r#"{"credsStore":"opskit-test"}"#,
    )
    .unwrap();
    let helper = bin.path().join("docker-credential-opskit-test");
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let with_helper = |said: &str| {
        std::fs::write(
            &helper,
            format!("#!/bin/sh\ncat >/dev/null\necho '{said}'\nexit 1\n"),
        )
        .unwrap();
        std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        run(container_list(repo.path(), &registry.host())
            .env("DOCKER_CONFIG", docker.path())
            .env("PATH", &path))
    };
    // A helper whose store is broken: its words contain "not found", but it is not the
    // protocol's answer for "no credentials", so listing anonymously would hide it.
    let broken = with_helper("pass: password store not found");
    assert_eq!(broken.code, 2, "{}", broken.stderr);
    assert!(
        filtered(&broken.stdout, &registry.host()).contains(
            "Recent tags: error: credential helper docker-credential-opskit-test failed for [REGISTRY]: exit status: 1 (pass: password store not found)"
        ),
        "{}",
        broken.stdout
    );
    // The protocol's own answer: no credentials, so the registry's 401 stands (exit 3).
    let none = with_helper("credentials not found in native keychain");
    assert_eq!(none.code, 3, "{}", none.stderr);
    assert!(
        none.stdout
            .contains("authentication required or credentials rejected (401)"),
        "{}",
        none.stdout
    );
}

/// Every example in `--help` runs against a real registry and does what its line says;
/// an example without a check here fails the test, so new ones get checked too.
#[test]
fn help_examples_do_what_they_say_against_a_real_registry() {
    let repo = ops_repo(&["navidrome", "miniflux"], &["navidrome"]);
    let main = repo.head();
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.txt", "f\n");
    let branch = repo.commit("feature work");
    repo.git(&["checkout", "-q", "main"]);
    let (main, branch) = (short(&main).to_owned(), short(&branch).to_owned());
    let registry = TestRegistry::start();
    let host = registry.host();
    let mut tags: Vec<String> = (0..7).map(|p| format!("v0.60.{p}-{main}")).collect();
    tags.extend([
        format!("v0.61.0-{main}"),
        format!("v0.61.1-{main}"),
        format!("v0.61.1-{main}-nix"),
        format!("v0.62.0-{branch}"),
        "latest".to_owned(),
    ]);
    for tag in &tags {
        registry.push("opskit/navidrome", tag);
    }
    registry.push("opskit/miniflux", &format!("v2.2.6-{main}"));
    registry.push("opskit/retired", &format!("v0.1.0-{main}"));
    repo.write(
        "argocd/navidrome/kustomization.yaml",
        &format!("images:\n  - name: {host}/opskit/navidrome\n    newTag: v0.61.1-{main}\n"),
    );
    repo.commit("pin");

    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_container-list"));
    let help = run(testkit::cli::command(bin, repo.path()).arg("--help")).stdout;
    let shell = |line: &str| {
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        run(
            testkit::cli::command(std::path::Path::new("sh"), repo.path())
                .args(["-c", line])
                .env("PATH", path)
                .env("REGISTRY", &host)
                .env("IMAGE_PREFIX", "opskit")
                .env("DOCKER_CONFIG", repo.path().join(".no-docker")),
        )
    };
    let shown_tags = |stdout: &str, image: &str| -> Vec<String> {
        stdout
            .split("\n\n")
            .find(|block| {
                block
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .ends_with(&format!("] {image}"))
            })
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().strip_prefix("- "))
            .map(|l| l.split(' ').next().unwrap_or_default().to_owned())
            .collect()
    };
    let mut checked = 0;
    let lines: Vec<&str> = help.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("  container-list") else {
            continue;
        };
        let line = format!("container-list{rest}");
        if let Some(first) = line.strip_suffix('\\') {
            // The pipeline: the newest tag built on main.
            let pipeline = format!("{first}{}", lines[i + 1]);
            if std::process::Command::new("jq")
                .arg("--version")
                .output()
                .is_err()
            {
                eprintln!("jq is not installed: the pipeline example is not checked");
                continue;
            }
            let out = shell(&pipeline);
            assert_eq!(out.code, 0, "{pipeline}: {}", out.stderr);
            assert_eq!(out.stdout, format!("v0.61.1-{main}\n"), "{pipeline}");
            checked += 1;
            continue;
        }
        let (command, says) = line.split_once("  ").unwrap();
        let says = says.trim();
        let out = shell(command);
        assert_eq!(out.code, 0, "{command}: {}", out.stderr);
        let navidrome = shown_tags(&out.stdout, "navidrome");
        match says {
            "every container, its 4 newest tags" => {
                assert_eq!(navidrome.len(), 4, "{}", out.stdout);
                assert_eq!(navidrome[0], format!("v0.62.0-{branch}"));
                assert_eq!(shown_tags(&out.stdout, "miniflux").len(), 1);
                assert!(out.stdout.contains("(7 older;"), "{}", out.stdout);
            }
            "one image, its 10 newest tags" => {
                assert_eq!(navidrome.len(), 10, "{}", out.stdout);
                assert!(!out.stdout.contains("miniflux"), "{}", out.stdout);
            }
            "only the tags of version 0.61" => {
                assert_eq!(navidrome.len(), 3, "{}", out.stdout);
                assert!(
                    navidrome.iter().all(|t| t.starts_with("v0.61.")),
                    "{navidrome:?}"
                );
            }
            "only tags named latest (a match need not be a version)" => {
                assert_eq!(navidrome, ["latest"], "{}", out.stdout);
                assert!(shown_tags(&out.stdout, "miniflux").is_empty());
            }
            "hide nix builds" => {
                assert_eq!(navidrome.len(), 4, "{}", out.stdout);
                assert!(
                    navidrome.iter().all(|t| !t.ends_with("-nix")),
                    "{navidrome:?}"
                );
            }
            "images in the registry with no containers/ directory" => {
                assert!(
                    out.stdout.starts_with("[registry only] retired\n"),
                    "{}",
                    out.stdout
                );
                assert!(!out.stdout.contains("navidrome"), "{}", out.stdout);
            }
            "do the pins in argocd/ exist, and are they on main?" => {
                assert!(
                    out.stdout.contains(
                        "1 present, 0 missing, 0 unverified; 0 built from a commit not on main."
                    ),
                    "{}",
                    out.stdout
                );
            }
            other => panic!("no check for the example '{command}': {other}"),
        }
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} examples found in:\n{help}");
}

/// An unknown name gets the containers module's own answer (the closest known name,
/// when one is close, and the ones that exist), with exit 4 and nothing on stdout.
#[test]
fn an_unknown_container_name_gets_the_shared_unknown_name_error() {
    let repo = ops_repo(&["navidrome", "miniflux"], &[]);
    let registry = TestRegistry::start();
    let out = run(container_list(repo.path(), &registry.host()).arg("navidrom"));
    assert_eq!(out.code, 4, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let expected = opskit::containers::unknown_container(
        "navidrom",
        &["miniflux".to_owned(), "navidrome".to_owned()],
    );
    assert_eq!(
        out.stderr.lines().next().unwrap_or_default(),
        format!("error: {}", expected.message())
    );
}
