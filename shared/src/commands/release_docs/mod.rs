//! `release-docs`: publish the docs site as a chain of steps a workflow can call one by
//! one — version, changelog, build, publish, deploy — and `all`, which runs them in order.
//!
//! Each step is re-runnable: it checks whether its work is already done before doing
//! it, so a workflow that failed half-way is finished by running it again.

use clap::{Parser, Subcommand};

use crate::cli::EXIT_CODES_HELP;
use crate::error::Result;

pub mod deploy;
pub mod publish;
pub mod version;

/// Version, changelog, docs build, upload, manifest update and Argo CD rollout of the
/// docs site, each step its own subcommand.
#[derive(Debug, Parser)]
#[command(version, after_help = EXIT_CODES_HELP)]
pub struct Args {
    #[command(subcommand)]
    pub step: Step,
}

#[derive(Debug, Subcommand)]
pub enum Step {
    Version(version::Args),
    Publish(publish::Args),
    Deploy(Box<deploy::Args>),
}

pub fn run(args: Args) -> Result<()> {
    match args.step {
        Step::Version(args) => version::run(args),
        Step::Publish(args) => publish::run(args),
        Step::Deploy(args) => deploy::run(*args),
    }
}
