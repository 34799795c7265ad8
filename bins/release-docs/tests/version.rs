//! `release-docs version` driven as a process against the Forgejo test server
//! (testkit::forgejo, mirroring Forgejo v16's releases and package listing): where the
//! latest version comes from, each bump, and the refusal of a version that exists.

mod common;

use testkit::cli::Outcome;
use testkit::forgejo::{ApiLevel, Builder, FakeForgejo, ReleaseSpec};

const TOKEN: &str = "tok-read-5c2e81";

fn forge() -> Builder {
    FakeForgejo::builder(ApiLevel::V16).token(TOKEN, &["read:repository", "read:package"])
}

fn version(server: &FakeForgejo, args: &[&str]) -> Outcome {
    let mut all = vec!["version"];
    all.extend_from_slice(args);
    common::run(server, &std::env::temp_dir(), Some(TOKEN), &all, &[])
}

/// Releases v1.2.2 then v1.2.3, and newer ones `latest` must skip: a draft, a
/// prerelease and a bare tag.
fn released() -> Builder {
    forge()
        .release(ReleaseSpec::new("v1.2.2"))
        .release(ReleaseSpec::new("v1.2.3"))
        .release(ReleaseSpec::new("v9.0.0").draft())
        .release(ReleaseSpec::new("v1.9.0").prerelease())
        .release(ReleaseSpec::new("v3.0.0").tag_only())
}

#[test]
fn the_next_version_is_the_latest_release_with_its_patch_raised() {
    let server = released().start();
    let out = version(&server, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"v1.2.4");
    assert_eq!(out.stderr, "");
    // Reading and checking only: nothing is created on the forge.
    let requests = common::requests(&server);
    assert!(
        requests.iter().all(|r| r.starts_with("GET ")),
        "{requests:?}"
    );
}

#[test]
fn each_bump_raises_its_part_and_resets_the_ones_below() {
    let server = released().start();
    let bumped: Vec<String> = ["patch", "minor", "major"]
        .iter()
        .map(|part| {
            let out = version(&server, &["--bump", part]);
            assert_eq!(out.code, 0, "{}", out.stderr);
            out.stdout.trim().to_owned()
        })
        .collect();
    assert_eq!(bumped, ["v1.2.4", "v1.3.0", "v2.0.0"]);
}

#[test]
fn with_nothing_published_yet_the_bump_starts_from_v0_0_0() {
    let server = forge().start();
    for (part, first) in [
        ("patch", "v0.0.1"),
        ("minor", "v0.1.0"),
        ("major", "v1.0.0"),
    ] {
        for from in ["release", "package"] {
            let out = version(&server, &["--bump", part, "--from", from]);
            assert_eq!(
                (out.code, out.stdout.trim()),
                (0, first),
                "{part} from {from}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn from_package_takes_the_highest_version_of_exactly_that_package() {
    // v1.10.0 is older than v1.9.0 but higher; docs-old matches `q=docs` as a
    // substring and must not count; `nightly` cannot be ordered and is named.
    let server = forge()
        .package_file("docs", "v1.10.0", "docs-v1.10.0.tar.gz", b"a")
        .package_file("docs", "v1.9.0", "docs-v1.9.0.tar.gz", b"b")
        .package_file("docs-old", "v5.0.0", "docs-v5.0.0.tar.gz", b"c")
        .package_file("docs", "nightly", "docs-nightly.tar.gz", b"d")
        .start();
    let out = version(&server, &["--from", "package"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"v1.10.1");
    insta::assert_snapshot!(out.stderr, @"warning: package docs has versions that are not vX.Y.Z, left out: nightly");
}

#[test]
fn from_package_reads_every_page_of_the_listing() {
    // Listed newest first, 50 a page: the oldest and highest is on page 2.
    let mut builder = forge().package_file("docs", "v3.0.0", "f", b"x");
    for n in 1..=59 {
        builder = builder.package_file("docs", &format!("v0.0.{n}"), "f", b"x");
    }
    let server = builder.start();
    let out = version(&server, &["--from", "package", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r#"
    {
      "latest": "v3.0.0",
      "next": "v3.0.1",
      "source": "package"
    }
    "#);
    let pages: Vec<String> = server
        .seen()
        .iter()
        .filter(|s| s.path == "/api/v1/packages/acme")
        .map(|s| s.query.clone())
        .collect();
    assert_eq!(
        pages,
        [
            "type=generic&q=docs&page=1&limit=50",
            "type=generic&q=docs&page=2&limit=50"
        ]
    );
}

#[test]
fn a_listing_whose_pages_repeat_is_exit_3_rather_than_a_short_list() {
    // A caching proxy that ignores `page`: page 2 is page 1 again.
    let mut builder = forge().ignore_page();
    for n in 1..=60 {
        builder = builder.package_file("docs", &format!("v0.0.{n}"), "f", b"x");
    }
    let server = builder.start();
    let out = version(&server, &["--from", "package"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: the versions of package docs: page 2 repeats page 1, so the forge's paging cannot be trusted and the list would be incomplete
      hint: check that no proxy in front of the forge ignores or caches the page query parameter
    ");
}

#[test]
fn package_versions_come_from_the_package_flag_or_docs_package() {
    let server = forge()
        .package_file("site", "v0.4.0", "site-v0.4.0.tar.gz", b"a")
        .start();
    let flag = version(&server, &["--from", "package", "--package", "site"]);
    assert_eq!(
        (flag.code, flag.stdout.trim()),
        (0, "v0.4.1"),
        "{}",
        flag.stderr
    );
    let env = common::run(
        &server,
        &std::env::temp_dir(),
        Some(TOKEN),
        &["version", "--from", "package"],
        &[("DOCS_PACKAGE", "site")],
    );
    assert_eq!(
        (env.code, env.stdout.trim()),
        (0, "v0.4.1"),
        "{}",
        env.stderr
    );
}

#[test]
fn set_gives_that_version_once_checked() {
    let server = released().start();
    let out = version(&server, &["--set", "v1.5.0", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r#"
    {
      "latest": "v1.2.3",
      "next": "v1.5.0",
      "source": "release"
    }
    "#);
}

#[test]
fn a_version_that_exists_as_a_release_is_refused_with_exit_1() {
    let server = released().start();
    let out = version(&server, &["--set", "v1.2.2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!(out.stderr, @r"
    error: v1.2.2 already exists as a release of acme/app
      hint: pick another: --bump minor, --bump major or --set vX.Y.Z
    ");
}

#[test]
fn a_version_taken_in_the_other_source_is_refused_naming_the_flag_that_reads_it() {
    // Releases end at v1.2.3, but v1.2.4 was published as a package already.
    let server = released()
        .package_file("docs", "v1.2.4", "docs-v1.2.4.tar.gz", b"a")
        .start();
    let out = version(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: v1.2.4 already exists as a version of package docs
      hint: pick another: --bump minor, --bump major or --set vX.Y.Z
      hint: the latest version was read from the other source; --from package reads this one
    ");
}

#[test]
fn a_malformed_set_is_a_usage_error_before_any_request() {
    let server = released().start();
    for bad in ["1.2.3", "v1.2", "v1.2.3-rc1", "v01.2.3"] {
        let out = version(&server, &["--set", bad]);
        assert_eq!(out.code, 2, "{bad}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!(
                "'{bad}' is not a docs version: give v<major>.<minor>.<patch>, such as v1.2.3"
            )),
            "{}",
            out.stderr
        );
    }
    assert_eq!(server.requests(), 0);
}

#[test]
fn bump_and_set_together_are_a_usage_error() {
    let server = released().start();
    let out = version(&server, &["--bump", "minor", "--set", "v1.5.0"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

#[test]
fn json_without_any_release_has_a_null_latest() {
    let server = forge().start();
    let out = version(&server, &["--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @r#"
    {
      "latest": null,
      "next": "v0.0.1",
      "source": "release"
    }
    "#);
}

#[test]
fn a_mistyped_repository_is_not_found_rather_than_no_release_yet() {
    let server = released().start();
    let out = common::run(
        &server,
        &std::env::temp_dir(),
        Some(TOKEN),
        &["version", "--repo", "acme/nope"],
        &[],
    );
    assert_eq!(out.code, 4, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: the repository: not found (404: The target couldn't be found.)
      hint: check --repo (acme/nope) and --forge-url
    ");
}

#[test]
fn a_latest_release_tag_that_is_no_version_cannot_be_bumped() {
    let server = forge().release(ReleaseSpec::new("docs-2026-08")).start();
    let out = version(&server, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: the latest release of acme/app is tagged 'docs-2026-08', which is not a version vX.Y.Z to bump
      hint: give the version with --set vX.Y.Z, or read the package's versions with --from package
    ");
}

#[test]
fn a_token_that_cannot_read_packages_cannot_check_the_version_is_free_and_says_which_scope() {
    let server = released()
        .token("tok-repo-only", &["read:repository"])
        .start();
    let out = common::run(
        &server,
        &std::env::temp_dir(),
        Some("tok-repo-only"),
        &["version"],
        &[],
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: looking up package docs v1.2.4: access denied (403: token does not have at least one of required scope(s): [read:package])
      hint: the token was refused: it needs the read:package scope (and to be valid); create one with that scope
    ");
    assert!(!out.stderr.contains("tok-repo-only"));
}

/// A checkout whose CHANGELOG.md's newest section is `newest` and whose docs manifest
/// deploys `deployed`'s tarball.
fn checkout(newest: &str, deployed: &str) -> testkit::git::GitRepo {
    let repo = testkit::git::GitRepo::new();
    repo.write(
        "CHANGELOG.md",
        &format!("# Changelog\n\n<!-- towncrier release notes start -->\n\n## [{newest}] - 2026-12-01\n\n### Features\n\n- x\n\n## [v1.2.3] - 2026-11-01\n"),
    );
    repo.write(
        "argocd/manifests/docs/deployment.yaml",
        &format!("spec:\n  template:\n    spec:\n      containers:\n        - name: docs\n          env:\n            - name: DOCS_RELEASE_URL\n              value: \"https://forge.example/docs-{deployed}.tar.gz\"\n"),
    );
    repo.commit("state");
    repo
}

#[test]
fn resume_gives_the_changelogs_newest_version_while_it_is_not_deployed_unchecked() {
    // v1.2.4 is released already (the failed run got that far); resuming must not
    // refuse it, nor move on to v1.2.5.
    let server = released().release(ReleaseSpec::new("v1.2.4")).start();
    let repo = checkout("v1.2.4", "v1.2.3");
    let out = common::run(
        &server,
        repo.path(),
        Some(TOKEN),
        &["version", "--resume", "--json"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(report["next"], "v1.2.4");
    assert_eq!(report["resumed"], true);
}

#[test]
fn resume_with_everything_deployed_is_the_next_new_version() {
    let server = released().start();
    let repo = checkout("v1.2.3", "v1.2.3");
    let out = common::run(
        &server,
        repo.path(),
        Some(TOKEN),
        &["version", "--resume"],
        &[],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"v1.2.4");
}
