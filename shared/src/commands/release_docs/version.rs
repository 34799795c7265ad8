//! `release-docs version`: the next docs version, from what the forge already has.
//!
//! The latest version is read from one source (`--from`): the latest release's tag
//! (`…/releases/latest`, the old workflow's choice), or the highest `vX.Y.Z` among the
//! generic package's versions. The next one is a bump of it (v0.0.0 when there is
//! none yet, so the first is v0.0.1, v0.1.0 or v1.0.0), or `--set`.
//!
//! Whatever the source, the next version is refused (exit 1) when it already exists
//! as a release **or** as a package version: publishing to either must never meet a
//! version that is already taken half-way through a release. The old workflow checked
//! only the release tag, after reading the latest release without checking the answer.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Serialize;

use super::{DocsVersion, PackageArgs, VersionChoice, connect};
use crate::cli::{EXIT_CODES_HELP, block_on};
use crate::commands::flags::{ForgeArgs, HttpArgs};
use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::manifest_env;
use crate::output::{OutputArgs, Printer, Report, Style, warn};
use crate::settings::RepoArgs;

const EXAMPLES: &str = "\
Examples:
  release-docs version                     # the latest release's version, patch raised
  release-docs version --bump minor --from package --package docs
  release-docs version --set v2.0.0        # checked: refused if it exists
  V=$(release-docs version --bump minor)   # for a workflow step
  V=$(release-docs version --resume)       # finish a release a failed run left half-done";

/// Print the next docs version: the latest one on the forge, bumped (or --set), and
/// refused when it already exists as a release or package version.
#[derive(Debug, Parser)]
#[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    #[command(flatten)]
    pub choice: VersionChoice,

    /// Where the latest version is read: the latest release's tag, or the package's
    /// highest version.
    #[arg(long, value_enum, default_value_t = Source::Release)]
    pub from: Source,

    /// Finish a release a failed run left half-done: when CHANGELOG.md's newest
    /// section is a version the docs manifest does not deploy yet (as the branch's
    /// upstream has it, else the working tree), print that version (its release or
    /// package may exist already) instead of a new one.
    #[arg(long, conflicts_with = "set")]
    pub resume: bool,

    /// With --resume: the manifest whose DOCS_RELEASE_URL says what is deployed,
    /// relative to the repository root.
    #[arg(long, value_name = "PATH", default_value = super::DEFAULT_MANIFEST)]
    pub manifest: PathBuf,

    #[command(flatten)]
    pub package: PackageArgs,

    #[command(flatten)]
    pub forge: ForgeArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the latest version comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Release,
    Package,
}

/// What `version` found; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct NextVersion {
    /// The latest version as the source has it (a release tag or package version);
    /// null when there is none yet.
    pub latest: Option<String>,
    pub next: DocsVersion,
    pub source: Source,
    /// The version is one a failed run left half-done (--resume), not a new one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub resumed: bool,
}

impl Report for NextVersion {
    /// One line, the version, so a workflow can take it with `$(…)`.
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        writeln!(out, "{}", self.next)
    }
}

pub fn run(args: Args) -> Result<()> {
    let forge = connect(&args.forge, &args.http)?;
    let next = block_on(next_version(&forge, &args))?;
    Printer::stdout(&args.output).print(&next)
}

/// The latest version in `args.from`, the next one, and the check that it is free.
pub async fn next_version(forge: &Forge, args: &Args) -> Result<NextVersion> {
    if args.resume
        && let Some(unfinished) = unfinished_release(&args.repo.root()?, &args.manifest)?
    {
        return Ok(NextVersion {
            latest: None,
            next: unfinished,
            source: args.from,
            resumed: true,
        });
    }
    let package = &args.package.package;
    let latest = match args.from {
        Source::Release => latest_release(forge).await?,
        Source::Package => latest_package_version(forge, package).await?,
    };
    let next = match args.choice.set {
        Some(version) => version,
        None => latest
            .as_ref()
            .map_or(DocsVersion::NONE_YET, |(_, v)| *v)
            .bump(args.choice.bump),
    };
    check_free(forge, next, package, args.from).await?;
    Ok(NextVersion {
        latest: latest.map(|(text, _)| text),
        next,
        source: args.from,
        resumed: false,
    })
}

/// The release a failed run left half-done: CHANGELOG.md's newest version, when the
/// manifest's DOCS_RELEASE_URL does not name its tarball yet — as the branch's
/// upstream has the manifest when there is one (Argo CD deploys what the remote has,
/// so a deploy commit not pushed, or a manifest written and not committed, is not
/// done), else as the working tree has it. `None` when every version in the changelog
/// is deployed (or there is no changelog).
pub fn unfinished_release(root: &Path, manifest: &Path) -> Result<Option<DocsVersion>> {
    let changelog = match std::fs::read_to_string(root.join("CHANGELOG.md")) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::usage(format!("cannot read CHANGELOG.md: {e}"))),
    };
    let Some(newest) = newest_changelog_version(&changelog) else {
        return Ok(None);
    };
    let file = manifest.display().to_string();
    let deployed = match upstream_manifest(root, manifest) {
        // The remote's copy without the variable deploys no docs release yet.
        Some(text) => {
            manifest_env::env_value(&file, &text, super::deploy::ENV_NAME).unwrap_or_default()
        }
        None => {
            let text = manifest_env::read_manifest(&root.join(manifest), &file)?;
            manifest_env::env_value(&file, &text, super::deploy::ENV_NAME)?
        }
    };
    Ok((!deployed.contains(&super::tarball_name(newest))).then_some(newest))
}

/// The manifest as HEAD's upstream has it, if the checkout has an upstream with that
/// file.
fn upstream_manifest(root: &Path, manifest: &Path) -> Option<String> {
    let repo = crate::git::open_repo(root).ok()?;
    let (_, tree) = crate::git::upstream_tree(&repo)?;
    let path = crate::git::tree_path(root, manifest)?;
    let blob = tree
        .get_path(&path)
        .ok()?
        .to_object(&repo)
        .ok()?
        .peel_to_blob()
        .ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

/// The version of the first `## [vX.Y.Z] …` heading: towncrier puts the newest first.
pub fn newest_changelog_version(changelog: &str) -> Option<DocsVersion> {
    changelog
        .lines()
        .filter_map(|line| line.strip_prefix("## ["))
        .filter_map(|rest| rest.split(']').next())
        .find_map(DocsVersion::parse)
}

/// The latest release's tag and version; a tag that is no `vX.Y.Z` cannot be bumped.
async fn latest_release(forge: &Forge) -> Result<Option<(String, DocsVersion)>> {
    let Some(release) = forge.latest_release().await? else {
        return Ok(None);
    };
    match DocsVersion::parse(&release.tag_name) {
        Some(version) => Ok(Some((release.tag_name, version))),
        None => Err(Error::failed(format!(
            "the latest release of {} is tagged '{}', which is not a version vX.Y.Z to bump",
            forge.repo(),
            release.tag_name
        ))
        .hint("give the version with --set vX.Y.Z, or read the package's versions with --from package")),
    }
}

/// The package's highest `vX.Y.Z` version; other versions are named in a warning and
/// left out, since they cannot be ordered against the docs' own.
async fn latest_package_version(
    forge: &Forge,
    package: &str,
) -> Result<Option<(String, DocsVersion)>> {
    let versions = forge.package_versions(package).await?;
    let (ours, others): (Vec<_>, Vec<_>) = versions
        .into_iter()
        .map(|text| (DocsVersion::parse(&text), text))
        .partition(|(parsed, _)| parsed.is_some());
    if !others.is_empty() {
        let names: Vec<String> = others.into_iter().map(|(_, text)| text).collect();
        warn(format_args!(
            "package {package} has versions that are not vX.Y.Z, left out: {}",
            names.join(", ")
        ));
    }
    Ok(ours
        .into_iter()
        .filter_map(|(parsed, text)| parsed.map(|v| (text, v)))
        .max_by_key(|(_, v)| *v))
}

/// Refuses `next` when a release or a package version has it already.
async fn check_free(forge: &Forge, next: DocsVersion, package: &str, from: Source) -> Result<()> {
    let tag = next.to_string();
    let (release, in_package) = futures::try_join!(
        forge.release_by_tag(&tag),
        forge.package_version_exists(package, &tag)
    )?;
    let (taken_as, other_source) = match (release, in_package) {
        (Some(_), _) => (format!("a release of {}", forge.repo()), Source::Release),
        (None, true) => (format!("a version of package {package}"), Source::Package),
        (None, false) => return Ok(()),
    };
    let mut err = Error::failed(format!("{tag} already exists as {taken_as}"))
        .hint("pick another: --bump minor, --bump major or --set vX.Y.Z");
    if other_source != from {
        let flag = match other_source {
            Source::Release => "--from release",
            Source::Package => "--from package",
        };
        err = err.hint(format!(
            "the latest version was read from the other source; {flag} reads this one"
        ));
    }
    Err(err)
}
