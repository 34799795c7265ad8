//! `release-docs deploy`: point the docs deployment at a released tarball, commit that,
//! and have Argo CD roll it out.
//!
//! Each step is re-runnable, so a workflow that failed half-way finishes by running the
//! same command again: a manifest that already points at the URL is left as it is
//! ("already points at …"), a manifest that HEAD already has is not committed again,
//! and a sync is only started when asked.
//!
//! The order is the point. Everything that can be checked without changing anything
//! comes first (the URL, the Argo CD server and token, git's commit author, the
//! manifest's shape), so a mistake costs nothing. The manifest is then rewritten in
//! place, only the URL's bytes (`manifest_env`), validated by parsing it again and
//! written atomically: a failure leaves the old file, never half a file. The sync is one
//! POST, never retried; the wait polls the app and decides as `argocd app wait` does
//! (`argocd::Waiter`).
//!
//! Argo CD deploys what the git remote has: the commit made here is local, and the
//! workflow pushes it before `--sync` (the tool does not push). `--sync` warns when the
//! branch's upstream has another copy of the manifest, and syncs all the same (the app
//! may follow another branch).
//!
//! Exit codes: 1 the rollout failed (health turned Degraded, the sync operation
//! failed) or the edit could not be validated; 2 bad input (URL, flags, no git author,
//! a manifest with DOCS_RELEASE_URL twice or set by valueFrom); 3 Argo CD unreachable or
//! refusing (token refused, 403 for an app it does not show, another operation in
//! progress, --wait-timeout reached); 4 the manifest, or DOCS_RELEASE_URL in it, is
//! missing.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde::Serialize;

use crate::argocd::{Application, ArgoCd, SyncRequest, Verdict, Waiter};
use crate::cli::{EXIT_CODES_HELP, block_on};
use crate::commands::flags::{ArgoCdArgs, HttpArgs, parse_timeout};
use crate::error::{Error, Result};
use crate::git;
use crate::manifest_env;
use crate::output::{self, OutputArgs, Printer, Report, Style};
use crate::settings::RepoArgs;

/// The env var the docs image's start script downloads the site from.
pub const ENV_NAME: &str = "DOCS_RELEASE_URL";

const EXAMPLES: &str = "\
Examples:
  release-docs deploy --url https://forge.example/ops/opskit/releases/download/v1.3.0/docs-v1.3.0.tar.gz --commit
  release-docs deploy --url URL --sync --wait-timeout 300     # after the commit is pushed
  release-docs deploy --url URL --commit --sync --dry-run     # what it would do";

/// Point the docs deployment's DOCS_RELEASE_URL at a tarball, optionally commit the
/// manifest, and optionally sync the Argo CD app and wait until it is Synced and Healthy.
#[derive(Debug, Parser)]
#[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The docs tarball the deployment should serve (http or https).
    #[arg(long, value_name = "URL")]
    pub url: String,

    /// The deployment manifest, relative to the repository root.
    #[arg(long, default_value = super::DEFAULT_MANIFEST, value_name = "PATH")]
    pub manifest: PathBuf,

    /// The Argo CD application to sync.
    #[arg(long, default_value = "docs", value_name = "NAME")]
    pub app: String,

    /// Commit the manifest (only it) as `docs: deploy <version> [skip ci]`, with git's
    /// configured author; skipped when HEAD already has it.
    #[arg(long)]
    pub commit: bool,

    /// Sync the Argo CD app and wait until it is Synced and Healthy with no operation
    /// in progress. Argo CD deploys what the remote has: push the commit first.
    #[arg(long)]
    pub sync: bool,

    /// Seconds --sync waits for the rollout before giving up (exit 3).
    #[arg(long, default_value = "120", value_name = "SECS", value_parser = parse_timeout)]
    pub wait_timeout: Duration,

    /// Seconds between looks at the app under --sync.
    #[arg(long, default_value = "2", value_name = "SECS", value_parser = parse_timeout)]
    pub interval: Duration,

    /// Check everything and say what would be done; write, commit and sync nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub argocd: ArgoCdArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// What this run did, for `--json`.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    /// The manifest, as given (relative to the repository root).
    pub manifest: String,
    pub url: String,
    /// The URL the manifest had before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_url: Option<String>,
    /// The manifest was rewritten (or, with --dry-run, would be).
    pub manifest_changed: bool,
    pub dry_run: bool,
    /// The commit made, full SHA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncReport>,
}

/// The app as last seen under --sync.
#[derive(Debug, Serialize)]
pub struct SyncReport {
    pub app: String,
    pub sync_status: String,
    pub health_status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_phase: Option<String>,
    /// The rollout finished: Synced, Healthy, no operation in progress.
    pub done: bool,
}

impl Report for Outcome {
    /// The text form was printed step by step as it happened; this is only the JSON.
    fn render(&self, _out: &mut dyn Write, _style: Style) -> io::Result<()> {
        Ok(())
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let mut outcome = Outcome::of(&args);
    let result = deploy(&args, &mut printer, &mut outcome);
    printer.finish(&outcome, result)
}

/// [`run`] as a step of another command (`release-docs all`): its lines go to
/// `printer`, and what it did is returned rather than printed.
pub fn deploy_step(args: &Args, printer: &mut Printer) -> Result<Outcome> {
    let mut outcome = Outcome::of(args);
    deploy(args, printer, &mut outcome)?;
    Ok(outcome)
}

impl Outcome {
    fn of(args: &Args) -> Self {
        Outcome {
            manifest: args.manifest.display().to_string(),
            url: args.url.clone(),
            dry_run: args.dry_run,
            ..Outcome::default()
        }
    }
}

fn deploy(args: &Args, printer: &mut Printer, outcome: &mut Outcome) -> Result<()> {
    let url = check_url(&args.url)?;
    let root = args.repo.root()?;
    let path = root.join(&args.manifest);
    let file = outcome.manifest.clone();
    // Checks first: nothing is written until every input is known to be usable.
    let argocd = if args.sync {
        Some(args.argocd.connect(&args.http.config())?)
    } else {
        None
    };
    let repo = if args.commit {
        let repo = git::open_repo(&root)?;
        check_author(&repo)?;
        Some(repo)
    } else {
        None
    };

    let edit = if args.dry_run {
        let text = manifest_env::read_manifest(&path, &file)?;
        manifest_env::set_env_value(&file, &text, ENV_NAME, &args.url)?
    } else {
        manifest_env::set_env_value_in_file(&path, &file, ENV_NAME, &args.url)?
    };
    outcome.manifest_changed = edit.changed;
    if edit.changed {
        outcome.previous_url = Some(edit.old_value.clone());
        let verb = if args.dry_run {
            "Would update"
        } else {
            "Updated"
        };
        printer.step(format_args!(
            "{verb}: {file}:{} {ENV_NAME} {} -> {}",
            edit.line, edit.old_value, args.url
        ))?;
    } else {
        printer.step(format_args!(
            "Unchanged: {file} already points at {}",
            args.url
        ))?;
    }

    if let Some(repo) = &repo {
        commit(args, repo, &root, &path, &url, printer, outcome)?;
    }
    let Some(argocd) = &argocd else {
        return Ok(());
    };
    if args.dry_run {
        return printer.step(format_args!(
            "Would sync Argo CD app {} and wait up to {} s until it is Synced and Healthy",
            args.app,
            args.wait_timeout.as_secs_f64()
        ));
    }
    let upstream = match &repo {
        Some(repo) => unpushed_to(repo, &root, &path),
        None => git::open_repo(&root)
            .ok()
            .and_then(|repo| unpushed_to(&repo, &root, &path)),
    };
    if let Some(upstream) = upstream {
        output::warn(format_args!(
            "{file} differs from {upstream}'s, and Argo CD deploys what the remote has: \
             push before --sync, or the sync rolls out the old URL"
        ));
    }
    block_on(sync_and_wait(args, argocd, printer, outcome))
}

/// Commits the manifest alone, unless HEAD already has it as it is.
fn commit(
    args: &Args,
    repo: &git2::Repository,
    root: &Path,
    path: &Path,
    url: &url::Url,
    printer: &mut Printer,
    outcome: &mut Outcome,
) -> Result<()> {
    let file = &outcome.manifest;
    let message = format!("docs: deploy {} [skip ci]", release_name(url));
    if args.dry_run {
        return printer.step(format_args!("Would commit {file}: {message}"));
    }
    if git_has(repo, root, path)? {
        return printer.step(format_args!(
            "Nothing to commit: HEAD already has {file} as it is"
        ));
    }
    let sha = git::commit_paths(repo, &[path], &message, None)?.to_string();
    printer.step(format_args!("Committed: {} {message}", &sha[..7]))?;
    outcome.commit = Some(sha);
    Ok(())
}

/// The URL must be one the pod can download: http or https with a host.
fn check_url(text: &str) -> Result<url::Url> {
    let bad = |why: &str| {
        Error::usage(format!("--url {text}: {why}")).hint(
            "give the tarball's full download URL, e.g. https://forge.example/…/docs-v1.2.3.tar.gz",
        )
    };
    let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("not an http(s) URL"));
    }
    if text.chars().any(char::is_whitespace) {
        return Err(bad("contains whitespace"));
    }
    Ok(url)
}

/// Git must know who commits before the manifest is touched, so a missing identity
/// does not leave a changed manifest behind uncommitted.
fn check_author(repo: &git2::Repository) -> Result<()> {
    repo.signature().map(drop).map_err(|_| {
        Error::usage("--commit: no commit author: git config has no user.name/user.email")
            .hint("set them (git config user.name …; git config user.email …) and run again")
    })
}

/// The blob id of `path` (under `root`) in `tree`, if it is there.
fn blob_in(tree: &git2::Tree<'_>, root: &Path, path: &Path) -> Option<git2::Oid> {
    let rel = git::tree_path(root, path)?;
    tree.get_path(&rel).ok().map(|entry| entry.id())
}

/// Whether HEAD has the file exactly as the working tree has it (then there is
/// nothing to commit).
fn git_has(repo: &git2::Repository, root: &Path, path: &Path) -> Result<bool> {
    let Ok(head) = repo.head().and_then(|h| h.peel_to_tree()) else {
        return Ok(false);
    };
    let now = git2::Oid::hash_file(git2::ObjectType::Blob, path)?;
    Ok(blob_in(&head, root, path) == Some(now))
}

/// The upstream of HEAD's branch (`origin/main`), when it has another copy of the
/// file than the working tree: Argo CD syncs what the remote has, so the sync would
/// roll out the old URL.
fn unpushed_to(repo: &git2::Repository, root: &Path, path: &Path) -> Option<String> {
    let (name, tree) = git::upstream_tree(repo)?;
    let now = git2::Oid::hash_file(git2::ObjectType::Blob, path).ok()?;
    (blob_in(&tree, root, path) != Some(now)).then_some(name)
}

/// What to call the release in the commit message: the `vX.Y.Z` path segment of the
/// URL (a release tag or package version), else the URL itself.
fn release_name(url: &url::Url) -> String {
    let version =
        regex::Regex::new(r"^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$").expect("a valid pattern");
    url.path_segments()
        .and_then(|mut segments| segments.find(|s| version.is_match(s)))
        .map_or_else(|| url.to_string(), str::to_owned)
}

/// Starts the sync (one POST) and polls the app until the rollout is done, failed or
/// out of time, one line per change of what the app shows.
async fn sync_and_wait(
    args: &Args,
    argocd: &ArgoCd,
    printer: &mut Printer,
    outcome: &mut Outcome,
) -> Result<()> {
    let app = &args.app;
    let request = SyncRequest {
        // As the old workflow's `argocd app sync docs --prune`: the docs app owns its
        // namespace's resources, and one removed from git should go.
        prune: true,
        ..SyncRequest::default()
    };
    argocd.sync(app, &request).await?;
    printer.step(format_args!("Sync started: Argo CD app {app}"))?;
    let mut waiter = Waiter::default();
    let mut last_line = String::new();
    let waited = tokio::time::timeout(args.wait_timeout, async {
        loop {
            let state = argocd.app(app).await?;
            let line = describe(app, &state);
            outcome.sync = Some(report(app, &state));
            if line != last_line {
                printer.step(&line)?;
                last_line = line;
            }
            match waiter.observe(&state) {
                Verdict::Done => return Ok(()),
                Verdict::Failed(why) => {
                    return Err(Error::failed(format!("Argo CD app {app}: {why}"))
                        .hint(format!("see what failed with `argocd app get {app}`")));
                }
                Verdict::Waiting => tokio::time::sleep(args.interval).await,
            }
        }
    })
    .await;
    match waited {
        Ok(result) => result,
        Err(_) => {
            let last = match last_line.as_str() {
                "" => String::new(),
                line => format!("; last seen: {line}"),
            };
            Err(Error::remote(format!(
                "Argo CD app {app} was not Synced and Healthy within {} s (--wait-timeout){last}",
                args.wait_timeout.as_secs_f64()
            ))
            .hint(format!(
                "the rollout goes on without us; check it with `argocd app get {app}`, or wait longer with --wait-timeout"
            )))
        }
    }
}

/// `App docs: Synced/Healthy`, with the operation while one is pending or running.
fn describe(app: &str, state: &Application) -> String {
    let operation = if state.operation.is_some() {
        ", operation requested".to_owned()
    } else if state.operation_in_progress() {
        match state.phase() {
            Some(phase @ ("Succeeded" | "Failed" | "Error")) => {
                format!(", operation {phase}, not yet reconciled")
            }
            Some(phase) => format!(", operation {phase}"),
            None => String::new(),
        }
    } else {
        String::new()
    };
    format!(
        "App {app}: {}/{}{operation}",
        state.status.sync.status, state.status.health.status
    )
}

fn report(app: &str, state: &Application) -> SyncReport {
    SyncReport {
        app: app.to_owned(),
        sync_status: state.status.sync.status.clone(),
        health_status: state.status.health.status.clone(),
        operation_phase: state.phase().map(str::to_owned),
        done: state.done(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_names_the_release_version_from_the_url_else_the_url() {
        let name = |u: &str| release_name(&url::Url::parse(u).unwrap());
        assert_eq!(
            name("https://forge.example/o/r/releases/download/v1.3.0/docs-v1.3.0.tar.gz"),
            "v1.3.0"
        );
        assert_eq!(
            name("https://forge.example/api/packages/o/generic/docs/1.3.0-rc.1/docs.tar.gz"),
            "1.3.0-rc.1"
        );
        assert_eq!(
            name("https://cdn.example/docs/latest.tar.gz"),
            "https://cdn.example/docs/latest.tar.gz"
        );
    }

    #[test]
    fn only_full_http_urls_are_taken() {
        assert!(check_url("https://forge.example/docs.tar.gz").is_ok());
        for bad in [
            "forge.example/docs.tar.gz",
            "file:///tmp/docs.tar.gz",
            "https://x/a b",
        ] {
            assert_eq!(check_url(bad).unwrap_err().exit_code(), 2, "{bad}");
        }
    }
}
