//! `release-docs build`: the flags. The step builds the site with Quartz in a Dagger
//! container and packs it reproducibly; see `pipeline::release_docs::build`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::commands::flags::HttpArgs;
use crate::output::OutputArgs;
use crate::settings::RepoArgs;

/// Build the docs site (Quartz, at a pinned version, in a Dagger engine) and pack it as
/// docs-VERSION.tar.gz: sorted names, mtime 0, owner 0, so the same docs give the same
/// sha256.
#[derive(Debug, Parser)]
pub struct Args {
    /// The version, vX.Y.Z: the tarball is docs-VERSION.tar.gz.
    #[arg(long, value_name = "VERSION")]
    pub version: String,

    /// Where the tarball is written [default: target/docs/docs-VERSION.tar.gz].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// The git ref whose docs/ is built [default: HEAD].
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,

    /// Seconds the engine may take over the build (exit 3 after).
    #[arg(long, default_value = "1800", value_name = "SECS",
          value_parser = crate::commands::flags::parse_timeout)]
    pub build_timeout: Duration,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}
