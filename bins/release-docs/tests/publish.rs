//! `release-docs publish` driven as a process against the Forgejo test server
//! (testkit::forgejo: the generic registry with its 409 and plain-text 401s, the file
//! listing with Forgejo's `Size` or Gitea's `size`, releases and assets). The request
//! log proves what was sent, and how often.

mod common;

use std::path::{Path, PathBuf};

use testkit::cli::Outcome;
use testkit::forgejo::{ApiLevel, Builder, FakeForgejo, ReleaseSeen, ReleaseSpec};

/// May upload packages and read them back.
const PACKAGES: &str = "tok-pkg-0d4be9";
/// May create releases and upload assets.
const RELEASES: &str = "tok-repo-77a1f3";
/// Valid, but only for reading repositories.
const READ_ONLY: &str = "tok-read-e5c903";

const TARBALL: &[u8] = b"docs site v1.2.4\n";
const FILE: &str = "docs-v1.2.4.tar.gz";

fn forge(level: ApiLevel) -> Builder {
    FakeForgejo::builder(level)
        .token(PACKAGES, &["write:package"])
        .token(RELEASES, &["write:repository"])
        .token(READ_ONLY, &["read:repository"])
}

/// A temporary directory holding the tarball `docs-v1.2.4.tar.gz`.
fn tarball() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join(FILE);
    std::fs::write(&path, TARBALL).expect("write the tarball");
    (dir, path)
}

/// `release-docs publish --version VERSION --tarball TARBALL` in `dir`, with `token`
/// and `env`.
fn publish_in(
    server: &FakeForgejo,
    dir: &Path,
    version: &str,
    tarball: &str,
    env: &[(&str, &str)],
) -> Outcome {
    let args = ["publish", "--version", version, "--tarball", tarball];
    common::run(server, dir, Some(PACKAGES), &args, env)
}

/// `release-docs publish --version v1.2.4 --tarball <it> ARGS…` with `token`.
fn publish(server: &FakeForgejo, token: Option<&str>, args: &[&str]) -> Outcome {
    let (dir, path) = tarball();
    let path = path.to_str().expect("a UTF-8 path");
    let mut all = vec!["publish", "--version", "v1.2.4", "--tarball", path];
    all.extend_from_slice(args);
    let mut out = common::run(server, dir.path(), token, &all, &[]);
    out.stderr = out.stderr.replace(path, "[tarball]");
    out
}

/// The requests that change something.
fn writes(server: &FakeForgejo) -> Vec<String> {
    common::requests(server)
        .into_iter()
        .filter(|r| !r.starts_with("GET "))
        .collect()
}

const SHA: &str = "34c28f278f9e21b3acd583027db69c6cb64cf69cd504c8123e513baa42d54c6b";

#[test]
fn a_new_upload_prints_the_download_url_once_the_forge_lists_it_with_the_same_sha256() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(PACKAGES), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"[forge]/api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz");
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    uploaded docs-v1.2.4.tar.gz (17 bytes, sha256 [sha]) to package docs v1.2.4
    verified: the forge's copy has the same size and sha256
    ");
    assert_eq!(
        server.package_file("docs", "v1.2.4", FILE).as_deref(),
        Some(TARBALL)
    );
    assert_eq!(
        common::requests(&server),
        [
            "PUT /api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz",
            "GET /api/v1/packages/acme/generic/docs/v1.2.4/files",
        ]
    );
}

#[test]
fn the_local_sha256_is_the_one_the_snapshots_name() {
    // Guards the [sha] filter above: it must be the tarball's real sha256.
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(PACKAGES), &["--json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["sha256"], SHA);
}

#[test]
fn gitea_s_lowercase_size_is_read_back_as_well() {
    let server = forge(ApiLevel::Gitea125).start();
    let out = publish(&server, Some(PACKAGES), &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("verified:"), "{}", out.stderr);
}

#[test]
fn the_same_file_already_there_is_a_409_compared_by_sha256_and_counts_as_published() {
    let server = forge(ApiLevel::V16)
        .package_file("docs", "v1.2.4", FILE, TARBALL)
        .start();
    let out = publish(&server, Some(PACKAGES), &["--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    docs-v1.2.4.tar.gz is already in package docs v1.2.4, identical (17 bytes, sha256 [sha]); nothing uploaded
    verified: the forge's copy has the same size and sha256
    ");
    insta::assert_snapshot!(out.stdout.replace(SHA, "[sha]"), @r#"
    {
      "target": "package",
      "version": "v1.2.4",
      "file": "docs-v1.2.4.tar.gz",
      "size": 17,
      "sha256": "[sha]",
      "outcome": "already-uploaded",
      "url": "[forge]/api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz"
    }
    "#);
    assert_eq!(
        common::requests(&server),
        [
            "PUT /api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz",
            "GET /api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz",
            "GET /api/v1/packages/acme/generic/docs/v1.2.4/files",
        ]
    );
}

#[test]
fn other_content_under_the_same_name_is_exit_1_and_changes_nothing() {
    let server = forge(ApiLevel::V16)
        .package_file("docs", "v1.2.4", FILE, b"an older build\n")
        .start();
    let out = publish(&server, Some(PACKAGES), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    error: docs-v1.2.4.tar.gz in package docs v1.2.4 exists with other content (15 bytes, sha256 24d5a4fd5202ba5797683cd069644f7e8c5c5f327f184128a05320fbc02cfcff) than the local file (17 bytes, sha256 [sha]); nothing was changed
      hint: a published version is never replaced: publish a new one (release-docs version --bump patch)
    ");
    assert_eq!(
        server.package_file("docs", "v1.2.4", FILE).as_deref(),
        Some(&b"an older build\n"[..])
    );
    assert_eq!(
        writes(&server),
        ["PUT /api/packages/acme/generic/docs/v1.2.4/docs-v1.2.4.tar.gz"]
    );
}

#[test]
fn an_upload_the_forge_kept_only_part_of_fails_the_read_back_with_exit_1() {
    let server = forge(ApiLevel::V16).package_upload_keeps(9).start();
    let out = publish(&server, Some(PACKAGES), &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    uploaded docs-v1.2.4.tar.gz (17 bytes, sha256 [sha]) to package docs v1.2.4
    error: package docs v1.2.4 lists docs-v1.2.4.tar.gz with 9 bytes, sha256 ec2759bfdaaa56a30ab529d6b43e8fb0715779594212009fbf923246d0a70fb0, but the local file has 17 bytes, sha256 [sha]
      hint: the upload was damaged or replaced: delete that version in the forge's web UI and publish again
    ");
}

#[test]
fn the_put_is_sent_exactly_once_even_when_the_forge_answers_500() {
    let server = forge(ApiLevel::V16).package_upload_answers(500).start();
    let (dir, path) = tarball();
    // Retries asked for: they must still not apply to the upload.
    let retries = [("OPSKIT_RETRIES", "3")];
    let out = publish_in(
        &server,
        dir.path(),
        "v1.2.4",
        path.to_str().unwrap(),
        &retries,
    );
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: uploading docs-v1.2.4.tar.gz to package docs v1.2.4: the server kept failing (500 Internal Server Error: Internal Server Error)
      hint: try again later, or check the server's health
      hint: it was not retried, as it may have landed: run the same publish again to find out
    ");
    assert_eq!(server.requests_with("PUT"), 1);
    assert_eq!(server.requests(), 1);
}

#[test]
fn a_token_without_write_package_is_exit_3_naming_the_scope_and_never_printing_the_token() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(READ_ONLY), &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: uploading docs-v1.2.4.tar.gz to package docs v1.2.4: authentication required or credentials rejected (401: reqPackageAccess)
      hint: the token was refused: it needs the write:package scope (and to be valid); create one with that scope
    ");
    assert!(!out.stderr.contains(READ_ONLY) && !out.stdout.contains(READ_ONLY));
    assert_eq!(server.requests_with("PUT"), 1);
}

#[test]
fn no_token_at_all_is_exit_3_saying_where_to_give_one() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, None, &[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: uploading docs-v1.2.4.tar.gz to package docs v1.2.4: authentication required or credentials rejected (401: reqPackageAccess)
      hint: set FORGEJO_TOKEN, or pass --token-file or --token-cmd, with a token that has the write:package scope
    ");
}

#[test]
fn a_missing_tarball_is_exit_2_before_any_request() {
    let server = forge(ApiLevel::V16).start();
    let dir = tempfile::tempdir().unwrap();
    let out = publish_in(&server, dir.path(), "v1.2.4", "docs-v1.2.4.tar.gz", &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: cannot read --tarball docs-v1.2.4.tar.gz: No such file or directory (os error 2)
      hint: build it first: release-docs build --version V
    ");
    assert_eq!(server.requests(), 0);
}

#[test]
fn a_malformed_version_is_exit_2_before_any_request() {
    let server = forge(ApiLevel::V16).start();
    let (dir, path) = tarball();
    let out = publish_in(&server, dir.path(), "1.2.4", path.to_str().unwrap(), &[]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(server.requests(), 0);
}

#[test]
fn release_target_creates_the_missing_release_then_uploads_and_reads_back_the_asset() {
    let server = forge(ApiLevel::V16)
        .release(ReleaseSpec::new("v1.2.3"))
        .start();
    let out = publish(&server, Some(RELEASES), &["--target", "release", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout.replace(SHA, "[sha]"), @r#"
    {
      "target": "release",
      "version": "v1.2.4",
      "file": "docs-v1.2.4.tar.gz",
      "size": 17,
      "sha256": "[sha]",
      "outcome": "uploaded",
      "created_release": true,
      "url": "[forge]/acme/app/releases/download/v1.2.4/docs-v1.2.4.tar.gz"
    }
    "#);
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    created the release v1.2.4
    uploaded docs-v1.2.4.tar.gz (17 bytes, sha256 [sha]) to the release v1.2.4
    verified: the forge's copy has the same size and sha256
    ");
    assert_eq!(server.release_tags(), ["v1.2.3", "v1.2.4"]);
    assert_eq!(
        server.release_assets("v1.2.4"),
        [(FILE.to_owned(), TARBALL.to_vec())]
    );
    assert_eq!(
        writes(&server),
        [
            "POST /api/v1/repos/acme/app/releases",
            "POST /api/v1/repos/acme/app/releases/42/assets",
        ]
    );
}

#[test]
fn a_download_url_on_another_host_is_read_back_without_the_token() {
    // ROOT_URL names `localhost`, the tool was given 127.0.0.1: another origin.
    let server = forge(ApiLevel::V16)
        .release(ReleaseSpec::new("v1.2.3"))
        .public_host("localhost")
        .start();
    let out = publish(&server, Some(RELEASES), &["--target", "release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let downloads: Vec<bool> = server
        .seen()
        .iter()
        .filter(|s| s.path.contains("/releases/download/"))
        .map(|s| s.authorized)
        .collect();
    assert_eq!(downloads, [false], "read back once, with no token");
    assert!(
        server
            .seen()
            .iter()
            .any(|s| s.method == "POST" && s.authorized),
        "the forge's own API still gets the token"
    );
}

#[test]
fn release_target_prints_only_the_download_url_on_stdout() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(RELEASES), &["--target", "release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stdout, @"[forge]/acme/app/releases/download/v1.2.4/docs-v1.2.4.tar.gz");
}

#[test]
fn release_target_with_the_same_asset_there_uploads_nothing() {
    let server = forge(ApiLevel::V16)
        .release(ReleaseSpec::new("v1.2.4").asset(FILE, TARBALL))
        .start();
    let out = publish(&server, Some(RELEASES), &["--target", "release"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @"docs-v1.2.4.tar.gz in the release v1.2.4 is already there, identical (17 bytes, sha256 [sha]); nothing uploaded");
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert_eq!(server.release_assets("v1.2.4").len(), 1);
}

#[test]
fn release_target_with_another_asset_of_that_name_is_exit_1_and_adds_nothing() {
    let server = forge(ApiLevel::V16)
        .release(ReleaseSpec::new("v1.2.4").asset(FILE, b"docs site v0.0.0\n"))
        .start();
    let out = publish(&server, Some(RELEASES), &["--target", "release"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.starts_with(
            "error: docs-v1.2.4.tar.gz in the release v1.2.4 exists with other content"
        ),
        "{}",
        out.stderr
    );
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert_eq!(server.release_assets("v1.2.4").len(), 1);
}

#[test]
fn release_target_with_an_asset_of_another_size_refuses_without_downloading_it() {
    let server = forge(ApiLevel::V16)
        .release(ReleaseSpec::new("v1.2.4").asset(FILE, b"a longer, older build\n"))
        .start();
    let out = publish(&server, Some(RELEASES), &["--target", "release"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr.replace(SHA, "[sha]"), @r"
    error: docs-v1.2.4.tar.gz in the release v1.2.4 exists with other content (22 bytes) than the local file (17 bytes, sha256 [sha]); nothing was changed
      hint: a published version is never replaced: publish a new one (release-docs version --bump patch)
    ");
    assert!(writes(&server).is_empty(), "{:?}", writes(&server));
    assert!(
        !common::requests(&server)
            .iter()
            .any(|r| r.contains("/releases/download/"))
    );
}

#[test]
fn release_target_without_write_repository_is_exit_3_naming_that_scope() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(READ_ONLY), &["--target", "release"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: creating the release v1.2.4 in acme/app: access denied (403: token does not have at least one of required scope(s): [write:repository])
      hint: the token was refused: it needs the write:repository scope (and to be valid); create one with that scope
    ");
    assert!(!out.stderr.contains(READ_ONLY));
    assert!(server.release_tags().is_empty());
}

#[test]
fn release_target_gives_a_new_release_the_notes_file_and_the_commit_to_tag() {
    let server = forge(ApiLevel::V16).start();
    let notes = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(notes.path(), "## [v1.2.4]\n- New pages\n").unwrap();
    let notes = notes.path().to_str().unwrap();
    let out = publish(
        &server,
        Some(RELEASES),
        &[
            "--target",
            "release",
            "--notes-file",
            notes,
            "--commitish",
            "0a1b2c3",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        server.release("v1.2.4"),
        Some(ReleaseSeen {
            title: "v1.2.4".to_owned(),
            notes: "## [v1.2.4]\n- New pages\n".to_owned(),
            target: "0a1b2c3".to_owned(),
        })
    );
}

#[test]
fn release_flags_for_a_package_are_a_usage_error_before_any_request() {
    let server = forge(ApiLevel::V16).start();
    let out = publish(&server, Some(PACKAGES), &["--notes-file", "notes.md"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    insta::assert_snapshot!(out.stderr, @r"
    error: --notes-file is for --target release
      hint: a package version has no release: drop --notes-file or add --target release
    ");
    let out = publish(&server, Some(PACKAGES), &["--commitish", "main"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(server.requests(), 0);
}

#[test]
fn an_upload_that_outlasts_upload_timeout_is_exit_3_naming_that_flag_and_sent_once() {
    use std::time::{Duration, Instant};
    use testkit::faults::{Fault, FaultProxy, Plan};

    let server = forge(ApiLevel::V16).start();
    let proxy = FaultProxy::start(
        &server.url(),
        Plan::failing(
            "/generic/",
            usize::MAX,
            Fault::Stall(Duration::from_secs(30)),
        ),
    );
    let (dir, path) = tarball();
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let started = Instant::now();
    let mut out = testkit::cli::output(
        testkit::cli::command(bin, dir.path())
            .args(["publish", "--version", "v1.2.4", "--tarball"])
            .arg(&path)
            .args(["--upload-timeout", "0.5", "--forge-url"])
            .arg(format!("http://{}", proxy.host()))
            .args(["--repo", "acme/app"])
            .env("FORGEJO_TOKEN", PACKAGES),
    );
    out.stderr = out.stderr.replace(&proxy.host(), "[forge]");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by --upload-timeout"
    );
    insta::assert_snapshot!(out.stderr, @r"
    error: [forge]: no complete answer within 0.5 s (--upload-timeout)
      hint: the server did not answer in time; raise --upload-timeout or check the server's health
      hint: the upload may have landed: run the same publish again; a copy already there with the same content counts as done
    ");
    let puts = proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("PUT "))
        .count();
    assert_eq!(puts, 1, "never retried: {:?}", proxy.requests());
}
