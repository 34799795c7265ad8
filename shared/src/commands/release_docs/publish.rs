//! `release-docs publish`: upload the docs tarball, once, and prove the forge has it.
//!
//! The old workflow posted the tarball as a release asset and echoed the answer without
//! reading it (blumeops-tools.md §12). Here:
//!
//! - the upload is sent exactly once (no retries, its own `--upload-timeout`): a PUT
//!   or POST whose answer was lost may have landed, and the way to find out is to run
//!   the same command again, which is safe because of the next point;
//! - a file already there (the package's 409, or a release asset of the same name,
//!   which Forgejo would happily duplicate) is downloaded through sha256 and compared:
//!   the same bytes count as published, other bytes are exit 1 and nothing is changed
//!   (versions are immutable; publish a new one);
//! - what the forge holds is read back — the package's file list (size and sha256), or
//!   the asset's size and a download of it — and must match the local file;
//! - stdout is the download URL alone (or `--json`), so a workflow can hand it to
//!   `release-docs deploy --url`; what happened is said on stderr.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use serde::Serialize;

use super::{DocsVersion, PackageArgs, connect};
use crate::cli::{EXIT_CODES_HELP, block_on};
use crate::commands::flags::{ForgeArgs, HttpArgs, parse_timeout};
use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::forge::packages::{Fingerprint, Upload, valid_file_name};
use crate::forge::releases::{NewRelease, Release};
use crate::http::{Client, HttpConfig};
use crate::output::{OutputArgs, Printer, Report, Style, stderr_line};

const EXAMPLES: &str = "\
Examples:
  release-docs publish --version v1.2.4 --tarball docs-v1.2.4.tar.gz
  release-docs publish --version v1.2.4 --tarball docs-v1.2.4.tar.gz --target release
  URL=$(release-docs publish --version \"$V\" --tarball \"docs-$V.tar.gz\")";

/// Upload the docs tarball to the generic package registry (or as a release asset),
/// verify the forge's copy by size and sha256, and print its download URL.
#[derive(Debug, Parser)]
#[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The docs version: the package version, or the release's tag.
    #[arg(long, value_name = "vX.Y.Z", value_parser = DocsVersion::parse_arg)]
    pub version: DocsVersion,

    /// The tarball to upload; its file name is the name on the forge.
    #[arg(long, value_name = "PATH")]
    pub tarball: PathBuf,

    /// Where to publish it.
    #[arg(long, value_enum, default_value_t = Target::Package)]
    pub target: Target,

    #[command(flatten)]
    pub package: PackageArgs,

    /// With --target release: the notes of a release this creates (e.g. the changelog
    /// section `release-docs changelog` printed).
    #[arg(long, value_name = "PATH")]
    pub notes_file: Option<PathBuf>,

    /// With --target release: the branch or commit the tag of a release this creates
    /// is made on (so it can carry the changelog commit) [default: the default branch].
    #[arg(long, value_name = "REF")]
    pub commitish: Option<String>,

    /// Seconds the upload may take (it is sent once, never retried).
    #[arg(long, default_value = "300", value_name = "SECS", value_parser = parse_timeout)]
    pub upload_timeout: Duration,

    #[command(flatten)]
    pub forge: ForgeArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the tarball goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The generic package registry: `{forge}/api/packages/{owner}/generic/{pkg}/{V}/{file}`.
    Package,
    /// An asset of the release tagged with the version (created if missing).
    Release,
}

/// How the file got there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Uploaded by this run.
    Uploaded,
    /// The same bytes were there already; nothing was sent.
    AlreadyUploaded,
}

/// What `publish` did; `--json` prints it as it is.
#[derive(Debug, Serialize)]
pub struct Published {
    pub target: Target,
    pub version: DocsVersion,
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub outcome: Outcome,
    /// Whether this run created the release (release target only).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub created_release: bool,
    /// Where the file is downloaded from.
    pub url: String,
}

impl Report for Published {
    /// The URL alone, for `$(…)`; what happened went to stderr as it happened.
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        writeln!(out, "{}", self.url)
    }
}

/// The local file: its name on the forge, its bytes and their fingerprint.
struct Tarball {
    name: String,
    bytes: Bytes,
    print: Fingerprint,
}

impl Tarball {
    /// Reads it whole: a docs site is megabytes, and the one read gives both the
    /// bytes sent and the sha256 they are checked against.
    fn read(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| valid_file_name(n))
            .ok_or_else(|| {
                Error::usage(format!(
                    "--tarball {}: the file name cannot name a file on the forge",
                    path.display()
                ))
                .hint("use a plain name such as docs-v1.2.3.tar.gz")
            })?
            .to_owned();
        let bytes = std::fs::read(path).map_err(|e| {
            Error::usage(format!("cannot read --tarball {}: {e}", path.display()))
                .hint("build it first: release-docs build --version V")
        })?;
        let print = Fingerprint::of(&bytes);
        Ok(Tarball {
            name,
            bytes: Bytes::from(bytes),
            print,
        })
    }
}

pub fn run(args: Args) -> Result<()> {
    let published = publish(&args)?;
    Printer::stdout(&args.output).print(&published)
}

/// The upload and its read-back, printing nothing on stdout (what happens goes to
/// stderr as it happens): for `run`, and for `release-docs all`.
pub fn publish(args: &Args) -> Result<Published> {
    // Everything local first: a wrong path costs no request.
    let tarball = Tarball::read(&args.tarball)?;
    if args.target == Target::Package {
        let release_only = [
            (args.notes_file.is_some(), "--notes-file"),
            (args.commitish.is_some(), "--commitish"),
        ];
        if let Some((_, flag)) = release_only.iter().find(|(given, _)| *given) {
            return Err(
                Error::usage(format!("{flag} is for --target release")).hint(format!(
                    "a package version has no release: drop {flag} or add --target release"
                )),
            );
        }
    }
    let notes = match &args.notes_file {
        Some(path) => std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("cannot read --notes-file {}: {e}", path.display()))
        })?,
        None => String::new(),
    };
    let forge = connect(&args.forge, &args.http)?;
    // The upload's own client: no retries (see the module docs), its own deadline.
    let once = Client::new(&HttpConfig {
        retries: 0,
        timeout: args.upload_timeout,
        timeout_flag: "--upload-timeout",
        ..args.http.config()
    })?;
    block_on(async {
        match args.target {
            Target::Package => to_package(&forge, &once, args, &tarball).await,
            Target::Release => to_release(&forge, &once, args, &tarball, notes).await,
        }
    })
}

/// Where `file` of `version` is already published on `target`, if it is: the release's
/// asset of that name, or the package version's file. For `all`, which skips building
/// and uploading what the forge has.
pub async fn published_url(
    forge: &Forge,
    target: Target,
    package: &str,
    version: DocsVersion,
    file: &str,
) -> Result<Option<String>> {
    let tag = version.to_string();
    match target {
        Target::Release => Ok(forge.release_by_tag(&tag).await?.and_then(|release| {
            release
                .assets
                .into_iter()
                .find(|asset| asset.name == file)
                .map(|asset| asset.browser_download_url)
        })),
        Target::Package => {
            if !forge.package_version_exists(package, &tag).await? {
                return Ok(None);
            }
            let files = forge.package_files(package, &tag).await?;
            Ok(files
                .iter()
                .any(|f| f.name == file)
                .then(|| forge.generic_file_url(package, &tag, file).to_string()))
        }
    }
}

async fn to_package(
    forge: &Forge,
    once: &Client,
    args: &Args,
    tarball: &Tarball,
) -> Result<Published> {
    let package = &args.package.package;
    let version = args.version.to_string();
    let place = format!("package {package} {version}");
    let url = forge.generic_file_url(package, &version, &tarball.name);
    let answer = forge
        .put_generic_file(
            once,
            package,
            &version,
            &tarball.name,
            tarball.bytes.clone(),
        )
        .await?;
    let outcome = match answer {
        Upload::Created => {
            stderr_line(format_args!(
                "uploaded {} ({}) to {place}",
                tarball.name,
                tarball.print.describe()
            ));
            Outcome::Uploaded
        }
        Upload::Exists => {
            let what = format!("{} in {place}", tarball.name);
            let there = forge
                .fingerprint_of(url.clone(), &what, "read:package")
                .await?;
            same_or_refuse(&what, &there, tarball)?;
            stderr_line(format_args!(
                "{} is already in {place}, identical ({}); nothing uploaded",
                tarball.name,
                tarball.print.describe()
            ));
            Outcome::AlreadyUploaded
        }
    };
    // Read back what the forge recorded for the file.
    let files = forge.package_files(package, &version).await?;
    let Some(file) = files.iter().find(|f| f.name == tarball.name) else {
        return Err(Error::failed(format!(
            "{place} does not list {} after the upload",
            tarball.name
        ))
        .hint("check the package in the forge's web UI; run the same publish again to retry"));
    };
    if file.fingerprint != tarball.print {
        return Err(Error::failed(format!(
            "{place} lists {} with {}, but the local file has {}",
            tarball.name,
            file.fingerprint.describe(),
            tarball.print.describe()
        ))
        .hint("the upload was damaged or replaced: delete that version in the forge's web UI and publish again"));
    }
    stderr_line(format_args!(
        "verified: the forge's copy has the same size and sha256"
    ));
    Ok(Published {
        target: Target::Package,
        version: args.version,
        file: tarball.name.clone(),
        size: tarball.print.size,
        sha256: tarball.print.sha256.clone(),
        outcome,
        created_release: false,
        url: crate::http::redact(&url),
    })
}

async fn to_release(
    forge: &Forge,
    once: &Client,
    args: &Args,
    tarball: &Tarball,
    notes: String,
) -> Result<Published> {
    let tag = args.version.to_string();
    let (release, created_release) = match forge.release_by_tag(&tag).await? {
        Some(release) => (release, false),
        None => {
            let release = forge
                .create_release(&NewRelease {
                    tag: tag.clone(),
                    notes,
                    target: args.commitish.clone().unwrap_or_default(),
                    ..NewRelease::default()
                })
                .await?;
            stderr_line(format_args!("created the release {tag}"));
            (release, true)
        }
    };
    let what = format!("{} in the release {tag}", tarball.name);
    let (asset_url, outcome) = match existing_asset(forge, &release, &what, tarball).await? {
        Some(url) => {
            stderr_line(format_args!(
                "{what} is already there, identical ({}); nothing uploaded",
                tarball.print.describe()
            ));
            (url, Outcome::AlreadyUploaded)
        }
        None => {
            let asset = forge
                .upload_release_asset(once, &release, &tarball.name, tarball.bytes.clone())
                .await?;
            stderr_line(format_args!(
                "uploaded {} ({}) to the release {tag}",
                tarball.name,
                tarball.print.describe()
            ));
            // Read it back: the size the forge recorded, and the bytes it serves.
            let there = forge.asset_fingerprint(&asset, &what).await?;
            if asset.size != tarball.print.size || there != tarball.print {
                return Err(Error::failed(format!(
                    "{what}: the forge's copy ({} recorded, {} served) differs from the local file ({})",
                    asset.size,
                    there.describe(),
                    tarball.print.describe()
                ))
                .hint("delete the asset in the forge's web UI and publish again"));
            }
            stderr_line(format_args!(
                "verified: the forge's copy has the same size and sha256"
            ));
            (asset.browser_download_url, Outcome::Uploaded)
        }
    };
    Ok(Published {
        target: Target::Release,
        version: args.version,
        file: tarball.name.clone(),
        size: tarball.print.size,
        sha256: tarball.print.sha256.clone(),
        outcome,
        created_release,
        url: asset_url,
    })
}

/// The download URL of the release's asset named as the tarball when every asset of
/// that name holds the same bytes (Forgejo allows several); `None` when there is none;
/// exit 1 when one differs.
async fn existing_asset(
    forge: &Forge,
    release: &Release,
    what: &str,
    tarball: &Tarball,
) -> Result<Option<String>> {
    let mut found = None;
    for asset in release.assets.iter().filter(|a| a.name == tarball.name) {
        if asset.size != tarball.print.size {
            // A different size is a different file: no need to download it.
            return Err(differs(what, &format!("{} bytes", asset.size), tarball));
        }
        let there = forge.asset_fingerprint(asset, what).await?;
        same_or_refuse(what, &there, tarball)?;
        found = Some(asset.browser_download_url.clone());
    }
    Ok(found)
}

/// Exit 1 unless the forge's copy is the local file.
fn same_or_refuse(what: &str, there: &Fingerprint, tarball: &Tarball) -> Result<()> {
    if *there == tarball.print {
        return Ok(());
    }
    Err(differs(what, &there.describe(), tarball))
}

/// The forge has other bytes under the tarball's name (`there` says what is known
/// of them): exit 1, nothing changed.
fn differs(what: &str, there: &str, tarball: &Tarball) -> Error {
    Error::failed(format!(
        "{what} exists with other content ({there}) than the local file ({}); nothing was changed",
        tarball.print.describe()
    ))
    .hint("a published version is never replaced: publish a new one (release-docs version --bump patch)")
}
