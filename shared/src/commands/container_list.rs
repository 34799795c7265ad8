//! `container-list`: every image and tag in the registry, newest first, each tag marked
//! `[main]` or `[branch]`.
//!
//! This is how an operator finds the tag to pin in a manifest. The Python tool it
//! replaces asked the registry one image at a time, sorted tags as strings
//! (`v0.4.10 < v0.4.9`), read only the first page, showed a failed request as
//! "(none)" and started two git processes per tag. Here:
//!
//! - all images are listed concurrently (bounded by `--concurrency`), after one `/v2/`
//!   probe that settles authentication, and every page is read;
//! - tags sort by the app version's semver, then by how recent their commit is on main,
//!   then Dockerfile before nix;
//! - markers come from one in-process walk of main ([`crate::ancestry`]);
//! - a failure is shown per image with its reason and makes the exit code 3, so an
//!   empty list always means an empty repository.

use std::cmp::Reverse;
use std::io::{self, Write};
use std::path::Path;

use clap::Parser;
use regex::Regex;
use serde::Serialize;

use crate::ancestry::{Ancestry, Marker};
use crate::commands::flags::HttpArgs;
use crate::containers::{self, Container};
use crate::error::{Error, Kind, Result};
use crate::http::Client;
use crate::output::{self, OutputArgs, Paint, Printer, Report, Style, Table};
use crate::pins::{self, Pin};
use crate::registry::{Registry, RegistryArgs};
use crate::settings::RepoArgs;
use crate::tag::ImageTag;
use crate::version::VersionKey;

const EXAMPLES: &str = "\
Examples:
  container-list                          every container, its 4 newest tags
  container-list navidrome                one image, its 10 newest tags
  container-list --include '^latest$'     also show tags outside v<version>-<sha7>[-nix]
  container-list --exclude=-nix$          hide nix builds
  container-list --registry-only          images in the registry with no containers/ directory
  container-list --check-pins             do the pins in argocd/ exist, and are they on main?

  The tag to pin (the newest built on main):
  container-list navidrome --all --json \\
    | jq -r '.images[0].tags[] | select(.marker == \"main\") | .tag' | head -n1

Settings: --registry/REGISTRY, --image-prefix/IMAGE_PREFIX; credentials from
--username/--password (REGISTRY_USERNAME/REGISTRY_PASSWORD), else the docker config
($DOCKER_CONFIG/config.json or ~/.docker/config.json, with its credential helpers).";

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

    /// Tags to show per image [default: 4, or 10 when names are given].
    #[arg(long, short = 'n', value_name = "N", conflicts_with = "all")]
    pub limit: Option<usize>,

    /// Show every tag.
    #[arg(long)]
    pub all: bool,

    /// Show only tags matching this regex (repeatable, any may match); tags outside
    /// v<version>-<sha7>[-nix], such as latest, are shown only when one matches.
    #[arg(long, value_name = "RE")]
    pub include: Vec<String>,

    /// Hide tags matching this regex (repeatable).
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
    let filter = TagFilter::new(&args.include, &args.exclude)?;
    let http = Client::new(&args.http.config())?;
    let registry = Registry::new(http, &args.registry)?;
    let root = args.repo.root()?;
    // Names are checked before anything waits on the network or git.
    let selected = if args.registry_only || args.check_pins {
        Vec::new()
    } else if args.names.is_empty() {
        containers::discover(&root)?
    } else {
        let mut seen = std::collections::HashSet::new();
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
        check_pins(&registry, &root, &mut ancestry, &mut printer)
    } else {
        let limit = match (args.all, args.limit) {
            (true, _) => None,
            (false, Some(n)) => Some(n),
            (false, None) if args.names.is_empty() => Some(DEFAULT_LIMIT_ALL),
            (false, None) => Some(DEFAULT_LIMIT_NAMED),
        };
        let listing = Listing {
            registry: &registry,
            args: &args.registry,
            filter: &filter,
            limit,
        };
        let images = if args.registry_only {
            listing.orphans(&selected_names(&root)?, &mut ancestry)?
        } else {
            listing.containers(&selected, &mut ancestry)
        };
        let report = ListReport {
            registry: registry.host().to_owned(),
            main_ref: ancestry.main_ref().map(str::to_owned),
            registry_only: args.registry_only,
            images,
        };
        printer.print(&report)?;
        report.outcome()
    };
    if args.http.debug {
        if let Some(source) = registry.credentials_source() {
            output::stderr_line(format_args!("debug: registry credentials from {source}"));
        }
        let (walk, mark) = ancestry.timings();
        output::stderr_line(format_args!(
            "debug: git: walked {} commits of {} in {:.2} ms, marked tags in {:.2} ms",
            ancestry.main_len(),
            ancestry.main_ref().unwrap_or("(no main)"),
            walk.as_secs_f64() * 1000.0,
            mark.as_secs_f64() * 1000.0
        ));
    }
    outcome
}

/// The names of every container directory, for telling orphans apart.
fn selected_names(root: &Path) -> Result<Vec<String>> {
    Ok(containers::discover(root)?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// `--include` / `--exclude`, compiled once.
struct TagFilter {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
}

impl TagFilter {
    fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        let compile = |flag: &str, patterns: &[String]| -> Result<Vec<Regex>> {
            patterns
                .iter()
                .map(|p| {
                    Regex::new(p).map_err(|e| {
                        let why = e.to_string();
                        let why = why.lines().last().unwrap_or_default().trim();
                        let why = why.strip_prefix("error: ").unwrap_or(why);
                        Error::usage(format!("bad {flag} regex '{p}': {why}")).hint(
                            "the syntax is Rust's regex crate (like ERE); quote it for the shell",
                        )
                    })
                })
                .collect()
        };
        Ok(TagFilter {
            include: compile("--include", include)?,
            exclude: compile("--exclude", exclude)?,
        })
    }

    fn keeps(&self, tag: &str, is_version_tag: bool) -> bool {
        let included = if self.include.is_empty() {
            is_version_tag
        } else {
            self.include.iter().any(|re| re.is_match(tag))
        };
        included && !self.exclude.iter().any(|re| re.is_match(tag))
    }
}

/// What one listing run needs, shared by the container and orphan modes.
struct Listing<'a> {
    registry: &'a Registry,
    args: &'a RegistryArgs,
    filter: &'a TagFilter,
    limit: Option<usize>,
}

impl Listing<'_> {
    fn containers(&self, selected: &[Container], ancestry: &mut Ancestry) -> Vec<ImageEntry> {
        let repositories: Vec<String> = selected
            .iter()
            .map(|c| self.args.repository(&c.name))
            .collect();
        let fetched = fetch_tags(self.registry, &repositories);
        selected
            .iter()
            .zip(repositories)
            .zip(fetched)
            .map(|((container, repository), tags)| {
                let mut entry = self.entry(&repository, tags, ancestry);
                entry.name = container.name.clone();
                entry.kinds = container
                    .kinds
                    .iter()
                    .map(|k| k.as_str().to_owned())
                    .collect();
                entry.path = Some(container.rel_path());
                entry
            })
            .collect()
    }

    /// Repositories under the image prefix that match no container directory.
    fn orphans(&self, known: &[String], ancestry: &mut Ancestry) -> Result<Vec<ImageEntry>> {
        let prefix = self.args.repository("");
        let catalog = crate::cli::block_on(async {
            self.registry.probe().await?;
            self.registry.catalog().await
        })?;
        let orphans: Vec<String> = catalog
            .into_iter()
            .filter(|repo| match repo.strip_prefix(&prefix) {
                Some(rest) => !known.iter().any(|name| name == rest),
                None => false,
            })
            .collect();
        let fetched = fetch_tags(self.registry, &orphans);
        Ok(orphans
            .into_iter()
            .zip(fetched)
            .map(|(repository, tags)| {
                let mut entry = self.entry(&repository, tags, ancestry);
                entry.name = repository
                    .strip_prefix(&prefix)
                    .unwrap_or(&repository)
                    .to_owned();
                entry
            })
            .collect())
    }

    fn entry(
        &self,
        repository: &str,
        tags: Result<Vec<String>>,
        ancestry: &mut Ancestry,
    ) -> ImageEntry {
        let mut entry = ImageEntry {
            name: repository.to_owned(),
            kinds: Vec::new(),
            image: format!("{}/{repository}", self.registry.host()),
            path: None,
            status: Status::Ok,
            error: None,
            error_kind: None,
            tags: Vec::new(),
            more: 0,
            hidden: 0,
        };
        match tags {
            Ok(tags) => {
                let (shown, more, hidden) = select_tags(tags, self.filter, self.limit, ancestry);
                entry.tags = shown;
                entry.more = more;
                entry.hidden = hidden;
            }
            Err(err) if err.kind() == Kind::NotFound => entry.status = Status::NotInRegistry,
            Err(err) => {
                entry.status = Status::Error;
                entry.error = Some(err.message().to_owned());
                entry.error_kind = Some(err.kind());
            }
        }
        entry
    }
}

/// Lists the tags of every repository concurrently, after one probe; a failed probe
/// is every repository's answer, so each image still says why it has no tags.
fn fetch_tags(registry: &Registry, repositories: &[String]) -> Vec<Result<Vec<String>>> {
    if repositories.is_empty() {
        return Vec::new();
    }
    crate::cli::block_on(async {
        if let Err(err) = registry.probe().await {
            return vec![Err(err); repositories.len()];
        }
        futures::future::join_all(repositories.iter().map(|repo| registry.tags(repo))).await
    })
}

/// Filters, orders newest first, cuts to the limit, and marks what is shown.
/// Returns the shown tags, how many more matched, and how many the filter hid.
fn select_tags(
    tags: Vec<String>,
    filter: &TagFilter,
    limit: Option<usize>,
    ancestry: &mut Ancestry,
) -> (Vec<TagEntry>, usize, usize) {
    let total = tags.len();
    let mut kept: Vec<(String, Option<ImageTag>)> = tags
        .into_iter()
        .map(|tag| {
            let parsed = ImageTag::parse(&tag);
            (tag, parsed)
        })
        .filter(|(tag, parsed)| filter.keeps(tag, parsed.is_some()))
        .collect();
    let hidden = total - kept.len();
    kept.sort_by_cached_key(|(tag, parsed)| match parsed {
        Some(parsed) => (
            0,
            Some(Reverse(VersionKey::new(&parsed.version))),
            ancestry.position(&parsed.sha7).unwrap_or(usize::MAX),
            parsed.nix,
            tag.clone(),
        ),
        None => (1, None, 0, false, tag.clone()),
    });
    let shown_count = limit.map_or(kept.len(), |n| n.min(kept.len()));
    let more = kept.len() - shown_count;
    kept.truncate(shown_count);
    let shown = kept
        .into_iter()
        .map(|(tag, parsed)| match parsed {
            Some(parsed) => TagEntry {
                marker: ancestry.mark(&parsed.sha7),
                version: Some(parsed.version),
                commit: Some(parsed.sha7),
                nix: parsed.nix,
                tag,
            },
            None => TagEntry {
                tag,
                version: None,
                commit: None,
                nix: false,
                marker: Marker::Unknown,
            },
        })
        .collect();
    (shown, more, hidden)
}

/// How the registry answered for one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    /// The registry has no such repository (nothing pushed yet): a real answer.
    NotInRegistry,
    /// The registry could not be asked or refused; `error` says why.
    Error,
}

/// One tag as shown; field names are stable for `--json`.
#[derive(Debug, Serialize)]
pub struct TagEntry {
    pub tag: String,
    /// The app version, without `v`; null for tags outside the grammar.
    pub version: Option<String>,
    /// The abbreviated commit the image was built from.
    pub commit: Option<String>,
    pub nix: bool,
    pub marker: Marker,
}

/// One image; field names are stable for `--json`.
#[derive(Debug, Serialize)]
pub struct ImageEntry {
    /// The container name (or, with --registry-only, the repository under the prefix).
    pub name: String,
    /// Build kinds found in containers/<name>: dockerfile, nix, native.
    pub kinds: Vec<String>,
    /// `registry/prefix/name`, as a manifest pins it.
    pub image: String,
    /// `containers/<name>`; null for repositories with no directory.
    pub path: Option<String>,
    pub status: Status,
    pub error: Option<String>,
    /// What kind of failure `error` is; decides the exit code.
    #[serde(skip)]
    pub error_kind: Option<Kind>,
    /// Newest first.
    pub tags: Vec<TagEntry>,
    /// Matching tags not shown because of the limit.
    pub more: usize,
    /// Tags the filter hid (outside the version grammar, or by --include/--exclude).
    pub hidden: usize,
}

/// The listing, for the default mode and --registry-only.
#[derive(Debug, Serialize)]
pub struct ListReport {
    pub registry: String,
    /// The ref markers compare with; null when there is none.
    pub main_ref: Option<String>,
    pub registry_only: bool,
    pub images: Vec<ImageEntry>,
}

impl ListReport {
    /// Exit 3 (or the failure's own code) when any image could not be listed: the output
    /// is then incomplete.
    fn outcome(&self) -> Result<()> {
        let failed: Vec<&ImageEntry> = self
            .images
            .iter()
            .filter(|i| i.status == Status::Error)
            .collect();
        match failed.first() {
            None => Ok(()),
            // Exit 3 for the registry's failures; a local cause (a broken credential
            // helper: exit 2) keeps its own code.
            Some(first) => Err(Error::new(
                first.error_kind.unwrap_or(Kind::Remote),
                format!(
                    "{} of {} images could not be listed; first: {}",
                    failed.len(),
                    self.images.len(),
                    first.error.as_deref().unwrap_or("unknown error")
                ),
            )
            .hint("fix the registry problem and run again; --debug shows each request")),
        }
    }
}

fn marker_paint(marker: Marker) -> Paint {
    match marker {
        Marker::Main => Paint::Green,
        Marker::Branch => Paint::Yellow,
        Marker::Unknown => Paint::Dim,
    }
}

impl Report for ListReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        if self.registry_only && self.images.is_empty() {
            writeln!(
                out,
                "Every repository in the registry under the prefix has a containers/ directory."
            )?;
        }
        for image in &self.images {
            let kinds = if self.registry_only {
                "registry only".to_owned()
            } else if image.kinds.is_empty() {
                "no build file".to_owned()
            } else {
                image.kinds.join("+")
            };
            writeln!(out, "[{kinds}] {}", style.paint(Paint::Bold, &image.name))?;
            writeln!(out, "   Image: {}", image.image)?;
            if let Some(path) = &image.path {
                writeln!(out, "   Path:  {path}")?;
            }
            match image.status {
                Status::Error => writeln!(
                    out,
                    "   Recent tags: {} {}",
                    style.paint(Paint::Red, "error:"),
                    image.error.as_deref().unwrap_or_default()
                )?,
                Status::NotInRegistry => writeln!(
                    out,
                    "   Recent tags: (none: nothing pushed to the registry yet)"
                )?,
                Status::Ok if image.tags.is_empty() => {
                    let why = if image.hidden > 0 {
                        format!(
                            "(none shown: {} tags outside v<version>-<sha7> or filtered; --include to see them)",
                            image.hidden
                        )
                    } else {
                        "(none: the repository has no tags)".to_owned()
                    };
                    writeln!(out, "   Recent tags: {why}")?
                }
                Status::Ok => {
                    writeln!(out, "   Recent tags:")?;
                    for tag in &image.tags {
                        writeln!(
                            out,
                            "     - {} {}",
                            tag.tag,
                            style.paint(marker_paint(tag.marker), &tag.marker.label())
                        )?;
                    }
                    if image.more > 0 {
                        writeln!(
                            out,
                            "     ({} older; --limit N or --all to show them)",
                            image.more
                        )?;
                    }
                }
            }
            writeln!(out)?;
        }
        let main = self.main_ref.as_deref().unwrap_or("main");
        writeln!(out, "Markers:")?;
        writeln!(
            out,
            "  [main]     the commit is on {main}: fit to pin in production manifests"
        )?;
        writeln!(
            out,
            "  [branch]   the commit is not on {main} (a branch, or a squash-merged PR): rebuild from {main} before pinning"
        )?;
        writeln!(
            out,
            "  [unknown]  the commit is not in this clone (git fetch?), or there is no {main} to compare with"
        )
    }
}

/// One pin and what the registry said about it.
#[derive(Debug, Serialize)]
pub struct PinEntry {
    #[serde(flatten)]
    pub pin: Pin,
    pub image: String,
    /// present, missing or error.
    pub status: PinStatus,
    pub error: Option<String>,
    /// The digest the registry answered with, when present.
    pub registry_digest: Option<String>,
    /// From the tag's commit; null for digest-only pins or tags outside the grammar.
    pub marker: Option<Marker>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinStatus {
    Present,
    Missing,
    Error,
}

#[derive(Debug, Serialize)]
pub struct PinReport {
    pub registry: String,
    pub main_ref: Option<String>,
    pub pins: Vec<PinEntry>,
}

fn check_pins(
    registry: &Registry,
    root: &Path,
    ancestry: &mut Ancestry,
    printer: &mut Printer,
) -> Result<()> {
    let pins = pins::read_pins(root, &root.join("argocd"), registry.host())?;
    // One HEAD per distinct image and reference, however often the manifests repeat it.
    let mut distinct: Vec<(&str, &str)> = pins
        .iter()
        .map(|pin| (pin.repository.as_str(), pin.reference()))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    let checked: Vec<Result<Option<String>>> = if distinct.is_empty() {
        Vec::new()
    } else {
        crate::cli::block_on(async {
            if let Err(err) = registry.probe().await {
                return vec![Err(err); distinct.len()];
            }
            futures::future::join_all(
                distinct
                    .iter()
                    .map(|(repository, reference)| registry.manifest_digest(repository, reference)),
            )
            .await
        })
    };
    let answers: Vec<Result<Option<String>>> = pins
        .iter()
        .map(|pin| {
            let key = (pin.repository.as_str(), pin.reference());
            let index = distinct
                .binary_search(&key)
                .expect("every pin's key is among the distinct keys");
            checked[index].clone()
        })
        .collect();
    let entries: Vec<PinEntry> = pins
        .into_iter()
        .zip(answers)
        .map(|(pin, answer)| {
            let marker = pin
                .tag
                .as_deref()
                .and_then(ImageTag::parse)
                .map(|tag| ancestry.mark(&tag.sha7));
            let (status, error, registry_digest) = match answer {
                Ok(Some(digest)) => (PinStatus::Present, None, Some(digest)),
                Ok(None) => (PinStatus::Missing, None, None),
                Err(err) if err.kind() == Kind::NotFound => (PinStatus::Missing, None, None),
                Err(err) => (PinStatus::Error, Some(err.message().to_owned()), None),
            };
            PinEntry {
                image: format!("{}/{}", registry.host(), pin.repository),
                pin,
                status,
                error,
                registry_digest,
                marker,
            }
        })
        .collect();
    let report = PinReport {
        registry: registry.host().to_owned(),
        main_ref: ancestry.main_ref().map(str::to_owned),
        pins: entries,
    };
    printer.print(&report)?;
    report.outcome()
}

impl PinReport {
    fn count(&self, status: PinStatus) -> usize {
        self.pins.iter().filter(|p| p.status == status).count()
    }

    /// Exit 1 when a pin is missing (the check failed), else 3 when one could not be
    /// verified, else 0.
    fn outcome(&self) -> Result<()> {
        let (missing, errors) = (self.count(PinStatus::Missing), self.count(PinStatus::Error));
        if missing > 0 {
            return Err(Error::failed(format!(
                "{missing} of {} image pins are not in the registry",
                self.pins.len()
            ))
            .hint("was the image for that commit built and pushed? (mise run runner-logs)"));
        }
        if errors > 0 {
            return Err(Error::remote(format!(
                "{errors} of {} image pins could not be verified",
                self.pins.len()
            ))
            .hint("fix the registry problem and run again; --debug shows each request"));
        }
        Ok(())
    }
}

impl Report for PinReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        if self.pins.is_empty() {
            return writeln!(out, "No pins of {} images under argocd/.", self.registry);
        }
        let mut table = Table::new(["FILE", "PIN", "REGISTRY", "COMMIT"]);
        for entry in &self.pins {
            let status = match entry.status {
                PinStatus::Present => output::Cell::painted("present", Paint::Green),
                PinStatus::Missing => output::Cell::painted("MISSING", Paint::Red),
                PinStatus::Error => output::Cell::painted(
                    format!("error: {}", entry.error.as_deref().unwrap_or_default()),
                    Paint::Red,
                ),
            };
            let marker = match entry.marker {
                Some(marker) => output::Cell::painted(marker.label(), marker_paint(marker)),
                None => output::Cell::from("-"),
            };
            table.row([
                output::Cell::from(format!("{}:{}", entry.pin.file, entry.pin.line)),
                output::Cell::from(entry.pin.display()),
                status,
                marker,
            ]);
        }
        table.render(out, style)?;
        let off_main = self
            .pins
            .iter()
            .filter(|p| p.marker == Some(Marker::Branch))
            .count();
        let main = self.main_ref.as_deref().unwrap_or("main");
        writeln!(out)?;
        writeln!(
            out,
            "{} present, {} missing, {} unverified; {off_main} built from a commit not on {main}.",
            self.count(PinStatus::Present),
            self.count(PinStatus::Missing),
            self.count(PinStatus::Error)
        )
    }
}
