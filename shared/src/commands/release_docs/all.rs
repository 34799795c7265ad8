//! `release-docs all`: the flags. The chain itself is `pipeline::release_docs::all`.

use clap::Parser;

use crate::output::OutputArgs;

/// Run every step in order — version, changelog (committed before anything is
/// tagged), build, publish, deploy — skipping each one already done, so a re-run after
/// a failure finishes the job.
#[derive(Debug, Parser)]
pub struct Args {
    /// Print every step and call nothing that changes anything.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,
}
