//! `release-docs all`: every step in order, each skipped when already done, so a re-run
//! after a failure finishes the same release instead of starting another.
//!
//! - **version**: `version --resume` — the changelog's newest version while the
//!   manifest does not deploy it (a release a failed run left half-done), else a bump;
//! - **changelog**: skipped when CHANGELOG.md has the section; else folded. Either way
//!   what it left uncommitted is committed (`[skip ci]`) and pushed *before* anything
//!   is tagged, so the release tags the commit whose changelog describes it (the old
//!   workflow tagged first), even after a run that stopped between fold and commit;
//! - **build + publish**: skipped when the forge already has the tarball for the
//!   version (a rebuild is reproducible, but need not be repeated); the release is
//!   created on the changelog commit;
//! - **deploy**: the manifest pointed at the URL, committed and pushed, then (with
//!   `--sync`) the Argo CD rollout — after the push, because Argo CD deploys what the
//!   remote has. A release counts as deployed only once the remote's manifest names
//!   it, so a deploy commit that was never pushed is finished by the next run; with
//!   nothing new to release, `--sync` still rolls out what is deployed unless Argo CD
//!   already shows it Synced and Healthy (a sync that timed out or failed).
//!
//! `--dry-run` reads (the forge, the files) and says what each step would do; it writes,
//! commits, pushes, uploads and syncs nothing, and starts no engine.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use opskit::changelog::Towncrier;
use opskit::cli::block_on;
use opskit::commands::release_docs::all::Args;
use opskit::commands::release_docs::publish::{self, Target};
use opskit::commands::release_docs::version::{self, Source};
use opskit::commands::release_docs::{
    DocsVersion, build as build_flags, changelog as changelog_flags, connect, deploy, tarball_name,
};
use opskit::error::{Error, Result};
use opskit::git;
use opskit::output::{OutputArgs, Printer, Report, Style, stderr_line};
use serde::Serialize;

use super::{build, changelog};

fn say(step: &str, line: std::fmt::Arguments<'_>) {
    stderr_line(format_args!("[{step}] {line}"));
}

/// What `all` did, step by step: the `--json` document; the text output is the
/// deployed URL alone (progress went to stderr).
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub version: Option<DocsVersion>,
    /// The version is one a previous run left half-done.
    pub resumed: bool,
    pub dry_run: bool,
    /// Every version is deployed and no fragments wait: nothing was done.
    pub nothing_to_release: bool,
    pub steps: Vec<StepReport>,
    /// The tarball's download URL, which the manifest points at.
    pub url: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StepReport {
    pub step: &'static str,
    pub state: StepState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepState {
    Done,
    /// Found already done.
    Skipped,
    /// `--dry-run`: it would run.
    WouldRun,
}

impl Summary {
    fn record(&mut self, step: &'static str, state: StepState) {
        self.steps.push(StepReport { step, state });
    }
}

impl Report for Summary {
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        match &self.url {
            Some(url) if !self.dry_run => writeln!(out, "{url}"),
            _ => Ok(()),
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let mut summary = Summary {
        dry_run: args.dry_run,
        ..Summary::default()
    };
    let result = chain(&args, &mut summary);
    printer.conclude(&summary, result)
}

fn chain(args: &Args, summary: &mut Summary) -> Result<()> {
    let root = args.repo.root()?;
    let forge = connect(&args.forge, &args.http)?;

    // version
    let next = block_on(version::next_version(
        &forge,
        &version::Args {
            choice: args.choice.clone(),
            from: match args.target {
                Target::Release => Source::Release,
                Target::Package => Source::Package,
            },
            resume: args.choice.set.is_none(),
            manifest: args.manifest.clone(),
            package: args.package.clone(),
            forge: args.forge.clone(),
            repo: args.repo.clone(),
            http: args.http.clone(),
            output: OutputArgs::default(),
        },
    ))?;
    let version = next.next;
    summary.version = Some(version);
    summary.resumed = next.resumed;
    if !next.resumed
        && args.choice.set.is_none()
        && changelog::existing_section(&root, &version.to_string())?.is_none()
        && Towncrier::load(&root)?.fragments(&root)?.is_empty()
    {
        say(
            "version",
            format_args!(
                "nothing to release: every version in CHANGELOG.md is deployed, and there are no changelog fragments"
            ),
        );
        summary.nothing_to_release = true;
        if args.sync && !args.dry_run {
            finish_rollout(args, &root, summary)?;
        }
        return Ok(());
    }
    if next.resumed {
        say(
            "version",
            format_args!("{version}: finishing the release a previous run left half-done"),
        );
    } else {
        let latest = next.latest.as_deref().unwrap_or("none yet");
        say("version", format_args!("{version} (latest: {latest})"));
    }

    // changelog
    let notes = tempfile::Builder::new()
        .prefix("opskit-notes-")
        .tempfile()
        .map_err(|e| Error::failed(format!("cannot make a temporary file: {e}")))?;
    let changelog_args = changelog_flags::Args {
        version: version.to_string(),
        date: None,
        allow_empty: false,
        no_engine: args.no_engine,
        draft: false,
        build_timeout: args.build_timeout,
        notes_out: Some(notes.path().to_owned()),
        repo: args.repo.clone(),
        http: args.http.clone(),
        output: OutputArgs::default(),
    };
    if changelog::existing_section(&root, &version.to_string())?.is_some() {
        say(
            "changelog",
            format_args!("CHANGELOG.md already has {version}: skipped"),
        );
        summary.record("changelog", StepState::Skipped);
        if !args.dry_run {
            // For the release notes.
            changelog::changelog(&changelog_args)?;
        }
    } else if args.dry_run {
        let fragments = Towncrier::load(&root)?.fragments(&root)?;
        say(
            "changelog",
            format_args!(
                "would fold {} fragment(s) into CHANGELOG.md, commit and push it",
                fragments.len()
            ),
        );
        summary.record("changelog", StepState::WouldRun);
    } else {
        changelog::changelog(&changelog_args)?;
        summary.record("changelog", StepState::Done);
    }
    if !args.dry_run {
        // Whatever the step left uncommitted — this run's, or a run that stopped
        // before its commit — is committed, and pushed (a no-op when it was), so the
        // release below tags a commit the forge has, with its changelog.
        commit_changelog(&root, version)?;
        if !args.no_push {
            push(&root, "changelog")?;
        }
    }

    // build + publish
    let file = tarball_name(version);
    let published = block_on(publish::published_url(
        &forge,
        args.target,
        &args.package.package,
        version,
        &file,
    ))?;
    let url = match published {
        Some(url) => {
            say(
                "publish",
                format_args!("{file} is already published: {url}"),
            );
            summary.record("build", StepState::Skipped);
            summary.record("publish", StepState::Skipped);
            url
        }
        None if args.dry_run => {
            say(
                "build",
                format_args!("would build {file} (Quartz in Dagger)"),
            );
            let place = match args.target {
                Target::Release => format!("as an asset of release {version}"),
                Target::Package => format!("to the generic package {}", args.package.package),
            };
            say(
                "publish",
                format_args!("would upload {file} {place}, and read it back"),
            );
            say(
                "deploy",
                format_args!(
                    "would point {} at the uploaded tarball, commit, push{}",
                    args.manifest.display(),
                    if args.sync { ", and sync Argo CD" } else { "" }
                ),
            );
            for step in ["build", "publish", "deploy"] {
                summary.record(step, StepState::WouldRun);
            }
            return Ok(());
        }
        None => {
            let url = build_and_publish(args, &root, version, notes.path())?;
            summary.record("build", StepState::Done);
            summary.record("publish", StepState::Done);
            url
        }
    };
    summary.url = Some(url.clone());

    // deploy: the manifest committed and pushed first, then the rollout.
    // Its step lines are progress here: stdout is `all`'s.
    let mut progress = Printer::progress();
    let deployed = deploy::deploy_step(&deploy_args(args, &url, true, false), &mut progress)?;
    if !args.dry_run && !args.no_push {
        push(&root, "deploy")?;
    }
    if args.sync {
        deploy::deploy_step(&deploy_args(args, &url, false, true), &mut progress)?;
    }
    let state = match (args.dry_run, deployed.manifest_changed) {
        (true, _) => StepState::WouldRun,
        (false, true) => StepState::Done,
        (false, false) => StepState::Skipped,
    };
    summary.record("deploy", state);
    Ok(())
}

/// With `--sync` and nothing new to release: the rollout of what is deployed, unless
/// Argo CD already shows it done — a previous run's sync may have timed out or failed
/// after its push, and a re-run is how that run is finished.
fn finish_rollout(args: &Args, root: &Path, summary: &mut Summary) -> Result<()> {
    let argocd = args.argocd.connect(&args.http.config())?;
    let app = block_on(argocd.app_refreshed(&args.app))?;
    if app.done() {
        say(
            "deploy",
            format_args!("Argo CD app {} is Synced and Healthy", args.app),
        );
        summary.record("deploy", StepState::Skipped);
        return Ok(());
    }
    let file = args.manifest.display().to_string();
    let text = opskit::manifest_env::read_manifest(&root.join(&args.manifest), &file)?;
    let url = opskit::manifest_env::env_value(&file, &text, deploy::ENV_NAME)?;
    say(
        "deploy",
        format_args!("Argo CD app {} is not rolled out yet: syncing", args.app),
    );
    deploy::deploy_step(
        &deploy_args(args, &url, false, true),
        &mut Printer::progress(),
    )?;
    summary.record("deploy", StepState::Done);
    Ok(())
}

/// The deploy step's flags for pointing at `url`: committing, or syncing.
fn deploy_args(args: &Args, url: &str, commit: bool, sync: bool) -> deploy::Args {
    deploy::Args {
        url: url.to_owned(),
        manifest: args.manifest.clone(),
        app: args.app.clone(),
        commit,
        sync,
        wait_timeout: args.wait_timeout,
        interval: Duration::from_secs(2),
        dry_run: args.dry_run,
        argocd: args.argocd.clone(),
        repo: args.repo.clone(),
        http: args.http.clone(),
        output: OutputArgs::default(),
    }
}

fn build_and_publish(
    args: &Args,
    root: &Path,
    version: DocsVersion,
    notes: &Path,
) -> Result<String> {
    let built = build::build(&build_flags::Args {
        version: version.to_string(),
        out: None,
        git_ref: None,
        build_timeout: args.build_timeout,
        repo: args.repo.clone(),
        http: args.http.clone(),
        output: OutputArgs::default(),
    })?;
    say(
        "build",
        format_args!("{} sha256:{}", built.path.display(), built.sha256),
    );
    let repo = git::open_repo(root)?;
    let head = git::resolve_commit(&repo, "HEAD")?.to_string();
    let published = publish::publish(&publish::Args {
        version,
        tarball: built.path,
        target: args.target,
        package: args.package.clone(),
        notes_file: (args.target == Target::Release).then(|| notes.to_owned()),
        commitish: (args.target == Target::Release).then_some(head),
        upload_timeout: Duration::from_secs(300),
        forge: args.forge.clone(),
        http: args.http.clone(),
        output: OutputArgs::default(),
    })?;
    say("publish", format_args!("{}", published.url));
    Ok(published.url)
}

/// Commits CHANGELOG.md and the fragments towncrier removed, if any of them differ
/// from HEAD, with git's configured author.
fn commit_changelog(root: &Path, version: DocsVersion) -> Result<()> {
    let towncrier = Towncrier::load(root)?;
    let repo = git::open_repo(root)?;
    let mut options = git2::StatusOptions::new();
    options
        .pathspec(&towncrier.filename)
        .pathspec(&towncrier.directory)
        .include_untracked(false);
    let paths: Vec<PathBuf> = repo
        .statuses(Some(&mut options))
        .map_err(|e| Error::failed(format!("cannot read git status: {e}")))?
        .iter()
        .filter_map(|entry| entry.path().ok().map(PathBuf::from))
        .collect();
    if paths.is_empty() {
        return Ok(());
    }
    let message = format!("docs: changelog for {version} [skip ci]");
    let commit = git::commit_paths(&repo, &paths, &message, None)?;
    say(
        "changelog",
        format_args!("committed {}", &commit.to_string()[..7]),
    );
    Ok(())
}

/// `git push` of the current branch to its upstream (origin): with git's own
/// credentials, as the user's or the CI checkout's. Sent once; a refused push stops the
/// chain (exit 3) before anything is tagged or deployed from a commit the forge lacks.
fn push(root: &Path, step: &str) -> Result<()> {
    let out = std::process::Command::new("git")
        .args(["push", "--quiet", "origin", "HEAD"])
        .current_dir(root)
        .output()
        .map_err(|e| {
            Error::usage(format!("cannot run git push: {e}")).hint("install git, or pass --no-push")
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_owned();
        return Err(Error::remote(format!("git push failed: {last}"))
            .hint("push by hand (git push origin HEAD), then run release-docs all again: it goes on from here"));
    }
    say(step, format_args!("pushed"));
    Ok(())
}
