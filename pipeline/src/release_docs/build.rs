//! `release-docs build --version vX.Y.Z`: the docs site, built by Quartz in a Dagger
//! engine and packed reproducibly as `docs-vX.Y.Z.tar.gz`.
//!
//! - **Quartz** is pinned by git tag ([`QUARTZ_TAG`], v4.5.2: v5 restructured its
//!   configuration), cloned by the engine, installed with `npm ci` against its own
//!   lock file under [`NODE_IMAGE`] (node 22, as Quartz 4.5 needs ≥ 22), with npm's
//!   cache in a cache volume at `/root/.npm` so a second build downloads nothing.
//! - **The content** is this repository's `docs/` *as the commit `--ref` has it*
//!   (default HEAD), written to a temporary directory from git, plus the commit's
//!   `CHANGELOG.md` (the release notes page, as the old workflow had it): a release
//!   is of a commit, not of whatever the working tree holds. Every file carries the
//!   commit's time, so the pages' dates, and the site, are the same on every build.
//! - **The configuration** is Quartz's own `quartz.config.ts` at the tag, with three
//!   lines changed (`site_config`): the site title, `changelog.d` ignored (its
//!   fragments are folded into CHANGELOG.md, not pages), and pages dated by their
//!   modification time (the commit's). Starting from upstream's file keeps every
//!   plugin setting right for the pinned version; changing three lines keeps the
//!   difference reviewable, and a tag whose file lacks one of them is an error rather
//!   than a site with Quartz's defaults.
//! - **The tarball** is packed here, not in the container, by [`opskit::pack`]:
//!   sorted names, mtime 0, owner 0, gzip without name or time, written atomically.
//!   So the same built site gives the same sha256, which `publish` relies on.
//!
//! Every command runs through [`Pipeline::exec`] as a step of stage `docs`, so a
//! failure says, for instance, step 'npm ci' of stage 'docs' with its stderr.
//! Progress goes to stderr; stdout has the one result line (or `--json`).

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opskit::cli::block_on;
use opskit::commands::release_docs::DocsVersion;
use opskit::commands::release_docs::build::Args;
use opskit::error::{Error, Result};
use opskit::git;
use opskit::output::{Printer, Report, Style, stderr_line, warn};
use serde::Serialize;

use crate::engine;
use crate::helpers::{NODE_IMAGE, cache, source_at_tag};
use crate::session;

/// Quartz's repository, cloned by the engine at [`QUARTZ_TAG`].
pub const QUARTZ_REPO: &str = "https://github.com/jackyzha0/quartz";
/// The Quartz release the site is built with.
pub const QUARTZ_TAG: &str = "v4.5.2";
/// The site's title, in every page's header.
pub const SITE_TITLE: &str = "opskit";
/// What is ignored besides Quartz's defaults: the changelog fragments.
const IGNORED: &str = "changelog.d";
/// Where Quartz is checked out in the container; the content goes to `docs/` in it.
const QUARTZ_DIR: &str = "/quartz";
const STAGE: &str = "docs";

/// What `build` made, for `all` and the one line it prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BuildOutcome {
    pub version: DocsVersion,
    pub path: PathBuf,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
}

impl Report for BuildOutcome {
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        writeln!(
            out,
            "{}  sha256:{}  {} bytes",
            self.path.display(),
            self.sha256,
            self.size
        )
    }
}

/// `release-docs build`: [`build`], then its one line (or JSON document) on stdout.
pub fn run(args: Args) -> Result<()> {
    let outcome = build(&args)?;
    Printer::stdout(&args.output).print(&outcome)
}

/// Builds the site and packs it, printing progress on stderr only: what `all` calls.
///
/// Errors: a version that is not vX.Y.Z (exit 2, before anything else); a ref that
/// does not resolve (2) or a commit without `docs/` (4); no engine, or a broken one
/// (3); a failing step, named with its stage and stderr (1); a tarball that cannot be
/// written (1). On any error no tarball is written, and an existing one is untouched.
pub fn build(args: &Args) -> Result<BuildOutcome> {
    let version = DocsVersion::parse(&args.version).ok_or_else(|| {
        Error::usage(format!(
            "--version '{}' is not a docs version",
            args.version
        ))
        .hint("give v<major>.<minor>.<patch>, such as v1.2.3")
    })?;
    let root = args.repo.root()?;
    let out = match &args.out {
        Some(path) => {
            let tarball = format!("docs-{version}.tar.gz");
            opskit::fsutil::refuse_directory("--out", path, &tarball)?;
            path.clone()
        }
        None => root
            .join("target/docs")
            .join(format!("docs-{version}.tar.gz")),
    };
    let work = tempfile::Builder::new()
        .prefix("opskit-docs-")
        .tempdir()
        .map_err(|e| Error::failed(format!("cannot make a temporary directory: {e}")))?;
    let (sha, content) = content_at(
        &root,
        args.git_ref.as_deref().unwrap_or("HEAD"),
        work.path(),
    )?;
    stderr_line(format_args!(
        "Building the docs {version} from {} with Quartz {QUARTZ_TAG}",
        &sha[..7]
    ));
    if !content.join("index.md").is_file() {
        warn(format_args!(
            "docs/ in {} has no index.md: the site will have no home page",
            &sha[..7]
        ));
    }
    let public = work.path().join("public");
    block_on(engine::with_session(None, async |session| {
        stderr_line(format_args!("Engine: {session}"));
        quartz_build(session, args, &content, &public).await
    }))?;

    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::failed(format!("cannot create {}: {e}", dir.display()))
                .hint("pass --out with a writable path")
        })?;
    }
    let fingerprint = opskit::pack::pack(&public, &out)?;
    Ok(BuildOutcome {
        version,
        path: out,
        sha256: fingerprint.sha256,
        size: fingerprint.size,
    })
}

/// Quartz builds `content` in the engine; its `public/` is exported to `public`.
async fn quartz_build(
    session: &engine::Session,
    args: &Args,
    content: &Path,
    public: &Path,
) -> Result<()> {
    let debug = args.http.config().debug;
    let config = session::run(session, args.build_timeout, debug, |pipeline| {
        let quartz = source_at_tag(&pipeline, QUARTZ_REPO, QUARTZ_TAG);
        async move { quartz.file("quartz.config.ts").contents().await }
    })
    .await?;
    let config = site_config(&config)?;
    let content = content.to_string_lossy().into_owned();
    let public = public.to_string_lossy().into_owned();
    session::run(
        session,
        args.build_timeout,
        debug,
        move |pipeline| async move {
            let client = pipeline.client();
            // Resolved here, not lazily by the SDK (which unwraps a failed id query).
            let content_id = client.host().directory(content).id().await?;
            let content = client.load_directory_from_id(content_id);
            let quartz = source_at_tag(&pipeline, QUARTZ_REPO, QUARTZ_TAG);
            let node = client
                .container()
                .from(NODE_IMAGE)
                .with_mounted_cache("/root/.npm", cache(&pipeline, "npm"))
                .with_directory(QUARTZ_DIR, quartz)
                .with_workdir(QUARTZ_DIR);
            // Before the content and the config: a docs change reuses the installed layer.
            let installed = pipeline.exec(
                &node,
                STAGE,
                "npm ci",
                &["npm", "ci", "--no-audit", "--no-fund"],
            );
            let ready = installed
                .with_new_file(format!("{QUARTZ_DIR}/quartz.config.ts"), config)
                .with_directory(format!("{QUARTZ_DIR}/docs"), content);
            let built = pipeline.exec(
                &ready,
                STAGE,
                "quartz build",
                &["npx", "quartz", "build", "-d", "docs", "-o", "public"],
            );
            built
                .directory(format!("{QUARTZ_DIR}/public"))
                .export(public)
                .await
                .map(|_| ())
        },
    )
    .await
}

/// The site's content as commit `git_ref` of the repository at `root` has it, written
/// under `work`: its `docs/`, plus its `CHANGELOG.md` (the release notes page) when it
/// has one. Returns the commit's id and the content directory.
///
/// Every file and directory gets the commit's time as its mtime: Quartz dates a page by
/// its file's mtime when the front matter gives no date (the content has no `.git` to
/// ask), and a date of "when it was exported" would make two builds of one commit
/// different sites with different sha256s. It also lets the engine reuse its cache:
/// Dagger keeps a host file's timestamps, so a new mtime is a new input.
fn content_at(root: &Path, git_ref: &str, work: &Path) -> Result<(String, PathBuf)> {
    let repo = git::open_repo(root)?;
    let commit = git::resolve_commit(&repo, git_ref)?;
    let checkout = work.join("checkout");
    git::export_tree(&repo, commit, "docs", &checkout)?;
    let content = checkout.join("docs");
    let tree = repo.find_commit(commit)?.tree()?;
    if let Ok(entry) = tree.get_path(Path::new("CHANGELOG.md")) {
        let blob = entry.to_object(&repo)?.peel_to_blob()?;
        let target = content.join("CHANGELOG.md");
        std::fs::write(&target, blob.content())
            .map_err(|e| Error::failed(format!("cannot write {}: {e}", target.display())))?;
    }
    let seconds = u64::try_from(repo.find_commit(commit)?.time().seconds()).unwrap_or(0);
    set_mtimes(&content, UNIX_EPOCH + Duration::from_secs(seconds))?;
    Ok((commit.to_string(), content))
}

/// `time` as the mtime of `dir` and everything under it (links are left alone: their
/// own mtime cannot be set without following them).
fn set_mtimes(dir: &Path, time: SystemTime) -> Result<()> {
    let failed = |path: &Path, e: std::io::Error| {
        Error::failed(format!("cannot set the time of {}: {e}", path.display()))
    };
    for entry in std::fs::read_dir(dir).map_err(|e| failed(dir, e))? {
        let path = entry.map_err(|e| failed(dir, e))?.path();
        let kind = std::fs::symlink_metadata(&path).map_err(|e| failed(&path, e))?;
        if kind.is_dir() {
            set_mtimes(&path, time)?;
        } else if kind.is_file() {
            std::fs::File::options()
                .write(true)
                .open(&path)
                .and_then(|file| file.set_modified(time))
                .map_err(|e| failed(&path, e))?;
        }
    }
    // After its entries: writing them would move a directory's mtime again.
    std::fs::File::open(dir)
        .and_then(|file| file.set_modified(time))
        .map_err(|e| failed(dir, e))
}

/// Quartz's `quartz.config.ts` with three lines changed, each found by the key it
/// starts with: the title becomes [`SITE_TITLE`]; `changelog.d` is added to
/// `ignorePatterns`; and pages are dated by their modification time, which
/// `content_at` sets to the commit's (a file's creation time cannot be set, so dating
/// by it would date each build differently). An error (exit 1) when upstream's file
/// does not have exactly one of each line.
fn site_config(upstream: &str) -> Result<String> {
    const KEYS: [&str; 3] = ["pageTitle:", "ignorePatterns: [", "defaultDateType:"];
    let mut found = [0; 3];
    let mut config = String::with_capacity(upstream.len() + 64);
    for line in upstream.split_inclusive('\n') {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let Some(key) = KEYS.iter().position(|key| body.starts_with(key)) else {
            config.push_str(line);
            continue;
        };
        found[key] += 1;
        config.push_str(indent);
        config.push_str(&match key {
            0 => format!("pageTitle: {SITE_TITLE:?},\n"),
            1 => format!("ignorePatterns: [{IGNORED:?}, {}", &body[KEYS[1].len()..]),
            _ => "defaultDateType: \"modified\",\n".to_owned(),
        });
    }
    if found != [1; 3] {
        let counts: Vec<String> = KEYS
            .iter()
            .zip(found)
            .map(|(key, n)| format!("{n} {}", key.trim_end_matches([':', ' ', '['])))
            .collect();
        return Err(Error::failed(format!(
            "Quartz {QUARTZ_TAG}'s quartz.config.ts has {} lines, not one of each",
            counts.join(", ")
        ))
        .hint("the pinned Quartz changed its configuration: update site_config with QUARTZ_TAG"));
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use testkit::git::GitRepo;

    fn files(dir: &Path) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(next) = pending.pop() {
            for entry in std::fs::read_dir(&next).expect("listable") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let rel = path.strip_prefix(dir).expect("under dir");
                    let text = std::fs::read_to_string(&path).expect("text");
                    found.push(format!("{}: {}", rel.display(), text.trim()));
                }
            }
        }
        found.sort();
        found
    }

    #[test]
    fn the_content_is_the_commits_docs_and_changelog_dated_at_the_commit_not_the_working_tree() {
        let repo = GitRepo::new();
        repo.write("docs/index.md", "committed")
            .write("docs/how-to/a.md", "a")
            .write("CHANGELOG.md", "notes")
            .write("src.rs", "not docs");
        let sha = repo.commit("docs");
        repo.write("docs/index.md", "uncommitted")
            .write("docs/new.md", "uncommitted");
        let work = tempfile::tempdir().expect("tempdir");
        let (commit, content) = content_at(repo.path(), "HEAD", work.path()).expect("content");
        assert_eq!(commit, sha);
        assert_eq!(
            files(&content),
            [
                "CHANGELOG.md: notes",
                "how-to/a.md: a",
                "index.md: committed"
            ]
        );
    }

    #[test]
    fn a_commit_without_a_changelog_gives_the_docs_alone() {
        let repo = GitRepo::new();
        repo.write("docs/index.md", "docs");
        repo.commit("docs");
        let work = tempfile::tempdir().expect("tempdir");
        let (_, content) = content_at(repo.path(), "HEAD", work.path()).expect("content");
        assert_eq!(files(&content), ["index.md: docs"]);
    }

    #[test]
    fn the_config_changes_the_title_the_ignored_paths_and_the_date_type_and_keeps_every_other_byte()
    {
        // The shape of Quartz v4.5's file; pageTitleSuffix must not be taken for pageTitle.
        let upstream = "const config = {\n  configuration: {\n    pageTitle: \"🪴 Quartz 4\",\n    pageTitleSuffix: \"\",\n    ignorePatterns: [\"private\"],\n    defaultDateType: \"created\",\n    baseUrl: \"x\",\n  },\n}\n";
        let config = site_config(upstream).expect("patched");
        assert_eq!(
            config,
            "const config = {\n  configuration: {\n    pageTitle: \"opskit\",\n    pageTitleSuffix: \"\",\n    ignorePatterns: [\"changelog.d\", \"private\"],\n    defaultDateType: \"modified\",\n    baseUrl: \"x\",\n  },\n}\n"
        );
    }

    #[test]
    fn a_config_with_a_line_missing_or_doubled_is_refused() {
        let doubled = "pageTitle: \"a\",\npageTitle: \"b\",\nignorePatterns: [],\n";
        let error = site_config(doubled).expect_err("two titles");
        assert_eq!(error.exit_code(), 1);
        assert_eq!(
            error.message(),
            "Quartz v4.5.2's quartz.config.ts has 2 pageTitle, 1 ignorePatterns, 0 defaultDateType lines, not one of each"
        );
        assert!(site_config("pageTitle: \"a\",\n").is_err());
    }
}
