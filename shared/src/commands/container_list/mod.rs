//! `container-list`: every image and tag in the registry, newest first, each tag marked
//! `[main]` or `[branch]`.
//!
//! This is how an operator finds the tag to pin in a manifest. The Python tool it
//! replaces asked the registry one image at a time, sorted tags as strings
//! (`v0.4.10 < v0.4.9`), read only the first page, showed a failed request as
//! "(none)" and started two git processes per tag. Here:
//!
//! - all images are listed concurrently (bounded by `--concurrency`), alongside one
//!   `/v2/` probe that settles authentication, and every page is read;
//! - tags sort by the app version's semver, then by how recent their commit is on main,
//!   then Dockerfile before nix;
//! - markers come from one in-process walk of main ([`crate::ancestry`]);
//! - a failure is shown per image with its reason and makes the exit code 3, so an
//!   empty list always means an empty repository; a prefix under which the registry
//!   has nothing at all is exit 4, not a page of "nothing pushed".
//!
//! The module is split by job: [`listing`] asks the registry and picks the tags,
//! [`pins`] checks the pins in `argocd/`, [`render`] prints both for humans.

mod listing;
mod pins;
mod render;

use std::collections::HashSet;

use clap::Parser;

use crate::ancestry::Ancestry;
use crate::commands::flags::{HttpArgs, RegistryArgs};
use crate::containers;
use crate::error::Result;
use crate::http::Client;
use crate::output::{self, OutputArgs, Printer, stderr_line};
use crate::registry::Registry;
use crate::settings::RepoArgs;

pub use listing::{ImageEntry, ListReport, Status, TagEntry};
pub use pins::{PinEntry, PinReport, PinStatus};

const EXAMPLES: &str = "\
Examples:
  container-list                          every container, its 4 newest tags
  container-list navidrome                one image, its 10 newest tags
  container-list navidrome --include '^v0\\.61\\.'   only the tags of version 0.61
  container-list --include '^latest$'     only tags named latest (a match need not be a version)
  container-list --exclude=-nix$          hide nix builds
  container-list --registry-only          images in the registry with no containers/ directory
  container-list --check-pins             do the pins in argocd/ exist, and are they on main?

  The tag to pin (the newest built on main):
  container-list navidrome --all --json \\
    | jq -r '.images[0].tags[] | select(.marker == \"main\") | .tag' | head -n1

Settings: --registry/REGISTRY, --image-prefix/IMAGE_PREFIX; credentials from
--username/--password (REGISTRY_USERNAME/REGISTRY_PASSWORD), else the docker config
($DOCKER_CONFIG/config.json or ~/.docker/config.json, with its credential helpers).
When the registry has nothing at all under the image prefix, the run says so and
exits 4: check IMAGE_PREFIX.";

/// The number of tags shown per image without --limit: a glance for all, more for one.
const DEFAULT_LIMIT_ALL: usize = 4;
const DEFAULT_LIMIT_NAMED: usize = 10;

/// List the images in the registry and their tags, newest first, each marked [main]
/// or [branch] by whether its commit is on the main branch.
#[derive(Debug, Parser)]
#[command(
    name = "container-list",
    version,
    after_help = format!("{EXAMPLES}\n\n{}", crate::cli::EXIT_CODES_HELP)
)]
pub struct Args {
    /// Containers to show (directories under containers/) [default: all].
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Tags to show per image, after filtering [default: 4, or 10 when names are given].
    #[arg(long, short = 'n', value_name = "N", conflicts_with = "all",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,

    /// Show every tag.
    #[arg(long)]
    pub all: bool,

    /// Show only tags matching this regex (repeatable: any may match), version tags or
    /// not; without it, only tags of the form v<version>-<sha7>[-nix] are shown.
    #[arg(long, value_name = "RE")]
    pub include: Vec<String>,

    /// Hide tags matching this regex (repeatable); wins over --include.
    #[arg(long, value_name = "RE")]
    pub exclude: Vec<String>,

    /// List the repositories under the image prefix that have no containers/ directory.
    #[arg(long, conflicts_with_all = ["names", "check_pins"])]
    pub registry_only: bool,

    /// Check the image pins in argocd/: does each exist in the registry, and is its
    /// commit on main? Exit 1 when one is missing.
    #[arg(long, conflicts_with = "names")]
    pub check_pins: bool,

    /// The main branch to mark tags against [default: origin/main if present, else main].
    #[arg(long, env = "OPSKIT_MAIN_REF", value_name = "REF")]
    pub main_ref: Option<String>,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> Result<()> {
    let filter = listing::TagFilter::new(&args.include, &args.exclude)?;
    let http = Client::new(&args.http.config())?;
    let registry = Registry::new(http, &args.registry.settings())?;
    let root = args.repo.root()?;
    // Names are checked before anything waits on the network or git.
    let selected = if args.registry_only || args.check_pins {
        Vec::new()
    } else if args.names.is_empty() {
        containers::discover(&root)?
    } else {
        let mut seen = HashSet::new();
        args.names
            .iter()
            .filter(|name| seen.insert(name.as_str()))
            .map(|name| containers::find(&root, name))
            .collect::<Result<_>>()?
    };
    let mut ancestry = Ancestry::load(&root, args.main_ref.as_deref())?;
    for warning in ancestry.warnings() {
        output::warn(warning);
    }
    let mut printer = Printer::stdout(&args.output);
    let outcome = if args.check_pins {
        pins::check_pins(&registry, &root, &mut ancestry, &mut printer)
    } else {
        let limit = match (args.all, args.limit) {
            (true, _) => None,
            (false, Some(n)) => Some(n as usize),
            (false, None) if args.names.is_empty() => Some(DEFAULT_LIMIT_ALL),
            (false, None) => Some(DEFAULT_LIMIT_NAMED),
        };
        let listing = listing::Listing {
            registry: &registry,
            args: &args.registry,
            filter: &filter,
            limit,
        };
        list(
            &listing,
            &root,
            &selected,
            args.registry_only,
            &mut ancestry,
            &mut printer,
        )
    };
    if args.http.debug {
        if let Some(source) = registry.credentials_source() {
            stderr_line(format_args!("debug: registry credentials from {source}"));
        }
        let (walk, mark) = ancestry.timings();
        stderr_line(format_args!(
            "debug: git: walked {} commits of {} in {:.2} ms, marked tags in {:.2} ms",
            ancestry.main_len(),
            ancestry.main_ref().unwrap_or("(no main)"),
            walk.as_secs_f64() * 1000.0,
            mark.as_secs_f64() * 1000.0
        ));
    }
    outcome
}

/// The default mode and --registry-only: list, check the prefix, print.
fn list(
    listing: &listing::Listing<'_>,
    root: &std::path::Path,
    selected: &[containers::Container],
    registry_only: bool,
    ancestry: &mut Ancestry,
    printer: &mut Printer,
) -> Result<()> {
    let images = if registry_only {
        let known: Vec<String> = containers::discover(root)?
            .into_iter()
            .map(|c| c.name)
            .collect();
        listing.orphans(&known, ancestry)?
    } else {
        let images = listing.containers(selected, ancestry);
        listing.check_prefix(&images, selected)?;
        images
    };
    let report = ListReport {
        registry: listing.registry.host().to_owned(),
        main_ref: ancestry.main_ref().map(str::to_owned),
        registry_only,
        images,
    };
    printer.print(&report)?;
    report.outcome()
}
