//! `release-docs all`: the flags. The chain itself is `pipeline::release_docs::all`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use super::publish::Target;
use super::{PackageArgs, VersionChoice};
use crate::cli::EXIT_CODES_HELP;
use crate::commands::flags::{ArgoCdArgs, ForgeArgs, HttpArgs, parse_timeout};
use crate::output::OutputArgs;
use crate::settings::RepoArgs;

const EXAMPLES: &str = "\
Examples:
  release-docs all --dry-run              # every step it would take, nothing changed
  release-docs all --bump minor --sync    # release, deploy, and roll out with Argo CD
  release-docs all                        # again after a failure: finishes that release";

/// Run every step in order — version, changelog (committed and pushed before anything
/// is tagged), build, publish, deploy — skipping each one already done, so a re-run
/// after a failure finishes the same release.
#[derive(Debug, Parser)]
#[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// Used when no release is half-done (see `version --resume`).
    #[command(flatten)]
    pub choice: VersionChoice,

    /// Where the tarball is published: as the release's asset (the release tags the
    /// changelog commit), or in the generic package registry.
    #[arg(long, value_enum, default_value_t = Target::Release)]
    pub target: Target,

    #[command(flatten)]
    pub package: PackageArgs,

    /// Run the towncrier on PATH instead of one in a Dagger container.
    #[arg(long)]
    pub no_engine: bool,

    /// Do not push the commits made (the changelog, the manifest); the release then
    /// cannot tag the changelog commit and Argo CD deploys the old manifest.
    #[arg(long)]
    pub no_push: bool,

    /// Sync the Argo CD app after the manifest is pushed, and wait until it is Synced
    /// and Healthy.
    #[arg(long)]
    pub sync: bool,

    /// The Argo CD app to sync.
    #[arg(long, default_value = "docs", value_name = "NAME")]
    pub app: String,

    /// The deployment manifest, relative to the repository root.
    #[arg(long, default_value = super::DEFAULT_MANIFEST, value_name = "PATH")]
    pub manifest: PathBuf,

    /// Seconds the rollout may take under --sync (exit 3 after).
    #[arg(long, default_value = "120", value_name = "SECS", value_parser = parse_timeout)]
    pub wait_timeout: Duration,

    /// Seconds the engine may take over each of the changelog and the site build.
    #[arg(long, default_value = "1800", value_name = "SECS", value_parser = parse_timeout)]
    pub build_timeout: Duration,

    /// Print every step and call nothing that changes anything.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub forge: ForgeArgs,

    #[command(flatten)]
    pub argocd: ArgoCdArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}
