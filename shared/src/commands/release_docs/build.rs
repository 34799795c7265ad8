//! `release-docs build`: the flags. The step builds the site with Quartz in a Dagger
//! container and packs it reproducibly; see `pipeline::release_docs::build`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::EXIT_CODES_HELP;
use crate::commands::flags::HttpArgs;
use crate::output::OutputArgs;
use crate::settings::RepoArgs;

const EXAMPLES: &str = "\
Examples:
  release-docs build --version v1.2.3      # target/docs/docs-v1.2.3.tar.gz, from HEAD
  release-docs build --version v1.2.3 --ref v1.2.3 --out /tmp/docs.tar.gz
  dagger run release-docs build --version \"$V\" --json   # in a workflow

Prints PATH  sha256:HEX  SIZE bytes (or --json: version, path, sha256, size).";

/// Build the docs site (Quartz, at a pinned version, in a Dagger engine) and pack it as
/// docs-VERSION.tar.gz: sorted names, mtime 0, owner 0, so the same docs give the same
/// sha256.
#[derive(Debug, Parser)]
#[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The version, vX.Y.Z: the tarball is docs-VERSION.tar.gz.
    #[arg(long, value_name = "VERSION")]
    pub version: String,

    /// Where the tarball is written (its directory is created) [default:
    /// target/docs/docs-VERSION.tar.gz under the repository root].
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// The git ref whose docs/ and CHANGELOG.md are built, as committed [default: HEAD].
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
