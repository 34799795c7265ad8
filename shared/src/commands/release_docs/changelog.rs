//! `release-docs changelog`: the flags. The step runs towncrier (in a Dagger container,
//! or the local one with `--no-engine`); see `pipeline::release_docs::changelog`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::commands::flags::HttpArgs;
use crate::output::OutputArgs;
use crate::settings::RepoArgs;

/// Fold the fragments in docs/changelog.d into CHANGELOG.md for a version (towncrier),
/// and print the new section, for release notes.
#[derive(Clone, Debug, Parser)]
pub struct Args {
    /// The version the section is for, vX.Y.Z.
    #[arg(long, value_name = "VERSION")]
    pub version: String,

    /// The section's date, YYYY-MM-DD [default: today, UTC].
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,

    /// With no fragments, write a section anyway (towncrier's "No significant changes")
    /// instead of stopping with exit 1.
    #[arg(long)]
    pub allow_empty: bool,

    /// Run the towncrier on PATH instead of one in a Dagger container.
    #[arg(long)]
    pub no_engine: bool,

    /// Print the section that would be written and change nothing in the repository.
    #[arg(long)]
    pub draft: bool,

    /// Seconds the engine may take (exit 3 after).
    #[arg(long, default_value = "600", value_name = "SECS",
          value_parser = crate::commands::flags::parse_timeout)]
    pub build_timeout: Duration,

    /// Also write the section to this file (atomically), for release notes: the new one,
    /// the one already in CHANGELOG.md on a re-run, or the draft.
    #[arg(long, value_name = "PATH")]
    pub notes_out: Option<PathBuf>,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}
