//! `container-build-and-release NAME --local`: build the image here, in a Dagger
//! engine, and publish it, export it, or only check that it builds.
//!
//! What is built is the container's directory *as it is in the commit* (`--ref`,
//! default HEAD), written to a temporary directory from git, not the working tree: the
//! tag says `<sha7>`, so the image must be that commit's, whatever is uncommitted.
//! Progress goes to stderr; stdout carries only the result — the published reference
//! with its digest, or the exported path — so `ref=$(container-build-and-release …)`
//! works, and `--json` prints one document.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use opskit::cli::block_on;
use opskit::commands::container_build_and_release::Args;
use opskit::commands::container_version::image_tag;
use opskit::containers::{self, BuildKind};
use opskit::error::{Error, Kind, Result};
use opskit::output::{Printer, Report, Style, stderr_line};
use opskit::registry::{self, Registry};
use opskit::services::ServiceFile;
use opskit::{extract, git};
use serde::Serialize;

use crate::engine::{self, Lookup};
use crate::kinds::{self, Inputs, Recipe};
use crate::session;

/// Set on the re-run under `dagger run -i`, so it does not start another.
const INTERACTIVE_RERUN: &str = "OPSKIT_INTERACTIVE_RERUN";

/// What the build did, for `--json` and the one line of text output.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub container: String,
    pub kind: Option<BuildKind>,
    pub version: String,
    pub tag: String,
    pub commit: String,
    /// `<registry>/<prefix>/<name>:<tag>`.
    pub image: String,
    /// The published reference with its digest, `…:<tag>@sha256:…`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exported: Option<PathBuf>,
}

impl Report for Outcome {
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        match (&self.reference, &self.exported) {
            (Some(reference), _) => writeln!(out, "{reference}"),
            (None, Some(path)) => writeln!(out, "{}", path.display()),
            (None, None) => writeln!(out, "built {} (not published)", self.image),
        }
    }
}

/// Where the image goes once built.
enum Destination {
    Publish {
        address: String,
        credentials: Option<registry::Credentials>,
    },
    Export(PathBuf),
    /// Neither: force the build, keep nothing.
    Check,
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let mut outcome = Outcome::default();
    let result = build(&args, &mut outcome);
    let result = match result {
        Err(error) if args.interactive && error.kind() == Kind::Failed => {
            Err(interactive_rerun(error))
        }
        other => other,
    };
    // In JSON mode the document is printed on failure too, with what was settled.
    printer.conclude(&outcome, result)
}

fn build(args: &Args, outcome: &mut Outcome) -> Result<()> {
    let root = args.repo.root()?;
    let container = containers::find(&root, &args.name)?;
    let kind = pick_kind(&container, args.kind)?;
    let recipe = Recipe::for_kind(kind, &container.name)?;
    let repo = git::open_repo(&root)?;
    let commit = git::resolve_commit(&repo, args.git_ref.as_deref().unwrap_or("HEAD"))?;
    let sha = commit.to_string();

    // The container's directory as the commit has it, and its version from there.
    let checkout = tempfile::Builder::new()
        .prefix("opskit-build-")
        .tempdir()
        .map_err(|e| Error::failed(format!("cannot make a temporary directory: {e}")))?;
    git::export_tree(&repo, commit, &container.rel_path(), checkout.path())?;
    let at_commit = containers::find(checkout.path(), &container.name)?;
    if !at_commit.kinds.contains(&kind) {
        return Err(Error::not_found(format!(
            "{} has no {} in commit {}",
            container.rel_path(),
            kind.file_name(),
            &sha[..7]
        ))
        .hint("commit the build file first, or pass --ref with a commit that has it"));
    }
    let services = ServiceFile::load(&root)?;
    let version = extract::resolve_version(&at_commit, kind, &services.index())?.version;
    let tag = image_tag(&version, &sha, kind);

    let http = args.http.config();
    let settings = args.registry.settings();
    let registry = Registry::new(opskit::http::Client::new(&http)?, &settings)?;
    let image = format!(
        "{}/{}:{tag}",
        registry.host(),
        args.registry.repository(&container.name)
    );
    *outcome = Outcome {
        container: container.name.clone(),
        kind: Some(kind),
        version: version.clone(),
        tag,
        commit: sha.clone(),
        image: image.clone(),
        ..Outcome::default()
    };
    let destination = if args.publish {
        let credentials = match registry::auth::from_flags(
            settings.username.as_deref(),
            settings.password.as_deref(),
        )? {
            Some(credentials) => Some(credentials),
            None => registry::auth::from_default_docker_config(registry.host())?,
        };
        Destination::Publish {
            address: image.clone(),
            credentials,
        }
    } else if let Some(path) = &args.export {
        Destination::Export(export_target(path, &container.name)?)
    } else {
        Destination::Check
    };

    stderr_line(format_args!(
        "Building {} ({kind}) at {} as {image}",
        container.name,
        &sha[..7]
    ));
    let context = checkout.path().join(container.rel_path());
    let inputs = BuildInputs {
        context: context.to_string_lossy().into_owned(),
        version,
        nixpkgs: args.nixpkgs.clone(),
        recipe,
    };
    let done = block_on(engine::with_session(None, async |session| {
        stderr_line(format_args!("Engine: {session}"));
        run_build(session, args, inputs, destination).await
    }))?;
    drop(checkout);
    match done {
        Done::Published(reference) => {
            outcome.digest = reference.split_once('@').map(|(_, d)| d.to_owned());
            outcome.reference = Some(reference);
        }
        Done::Exported(path) => outcome.exported = Some(path),
        Done::Checked => {}
    }
    Ok(())
}

/// The kind to build: the one asked for, which the container must have, else the first
/// of native, dockerfile, nix it has.
fn pick_kind(container: &containers::Container, asked: Option<BuildKind>) -> Result<BuildKind> {
    let present = container.kinds_label();
    match asked {
        Some(kind) if container.kinds.contains(&kind) => Ok(kind),
        Some(kind) => Err(Error::not_found(format!(
            "{} has no {} (its builds: {present})",
            container.rel_path(),
            kind.file_name()
        ))
        .hint(match container.kinds.first() {
            Some(first) => format!("build one it has: --kind {first}"),
            None => "add a Dockerfile, default.nix or container.rs".to_owned(),
        })),
        None => container.kinds.first().copied().ok_or_else(|| {
            Error::not_found(format!(
                "{} has no build file (Dockerfile, default.nix or container.rs)",
                container.rel_path()
            ))
        }),
    }
}

struct BuildInputs {
    context: String,
    version: String,
    nixpkgs: String,
    recipe: Recipe,
}

enum Done {
    Published(String),
    Exported(PathBuf),
    Checked,
}

async fn run_build(
    session: &engine::Session,
    args: &Args,
    inputs: BuildInputs,
    destination: Destination,
) -> Result<Done> {
    // An export is written beside its target and renamed into place only when whole.
    let partial = match &destination {
        Destination::Export(path) => Some(partial_path(path)),
        _ => None,
    };
    let partial_for_engine = partial.clone();
    let debug = args.http.config().debug;
    let result = session::run(
        session,
        args.build_timeout,
        debug,
        move |pipeline| async move {
            let client = pipeline.client();
            // Resolved here, not lazily by the SDK (which unwraps a failed id query).
            let context_id = client
                .host()
                .directory(inputs.context.as_str())
                .id()
                .await?;
            let context = client.load_directory_from_id(context_id);
            let built = kinds::build(
                &pipeline,
                inputs.recipe,
                context,
                &Inputs {
                    version: &inputs.version,
                    nixpkgs: &inputs.nixpkgs,
                },
            );
            match destination {
                Destination::Publish {
                    address,
                    credentials,
                } => {
                    let mut image = built.image;
                    if let Some(credentials) = credentials {
                        let secret = pipeline
                            .secret("registry-password", credentials.password())
                            .await?;
                        image = image.with_registry_auth(
                            address.as_str(),
                            credentials.username.as_str(),
                            secret,
                        );
                    }
                    image.publish(address.as_str()).await.map(Done::Published)
                }
                Destination::Export(path) => {
                    let partial = partial_for_engine.unwrap_or_else(|| path.clone());
                    let target = partial.to_string_lossy().into_owned();
                    match built.archive {
                        Some(archive) => archive.export(target).await?,
                        None => built.image.export(target).await?,
                    };
                    Ok(Done::Exported(path))
                }
                Destination::Check => built.image.sync().await.map(|_| Done::Checked),
            }
        },
    )
    .await;
    match (&result, partial) {
        (Ok(Done::Exported(path)), Some(partial)) => {
            std::fs::rename(&partial, path).map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                Error::failed(format!("cannot move the image to {}: {e}", path.display()))
            })?
        }
        (Err(_), Some(partial)) => {
            let _ = std::fs::remove_file(&partial);
        }
        _ => {}
    }
    result
}

/// `image.tar` → `.image.tar.partial`, in the same directory so the rename is atomic.
/// The file `--export` names, made absolute and checked before the build: a directory,
/// or a file in a directory that does not exist, would fail only after it.
fn export_target(path: &Path, container: &str) -> Result<PathBuf> {
    opskit::fsutil::refuse_directory("--export", path, &format!("{container}.tar"))?;
    let absolute = std::path::absolute(path)
        .map_err(|e| Error::usage(format!("bad --export {}: {e}", path.display())))?;
    match absolute.parent() {
        Some(dir) if dir.is_dir() => Ok(absolute),
        _ => Err(Error::usage(format!(
            "bad --export {}: its directory does not exist",
            path.display()
        ))
        .hint("create the directory first (the archive is written there only when whole)")),
    }
}

fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".to_owned());
    path.with_file_name(format!(".{name}.partial"))
}

/// `--interactive` after a failing step: the same command again under `dagger run -i`,
/// whose terminal UI opens a shell in the failing step (an SDK session cannot). Without
/// the dagger CLI or a terminal it says so and reports the failure as usual.
fn interactive_rerun(error: Error) -> Error {
    if std::env::var_os(INTERACTIVE_RERUN).is_some() {
        return error;
    }
    let cli = Lookup::from_env().cli();
    let terminal = io::stdin().is_terminal() && io::stderr().is_terminal();
    let (Some(cli), true) = (cli, terminal) else {
        return error.hint(
            "--interactive needs the dagger CLI on PATH and a terminal; without them the failing step is reported above",
        );
    };
    let Ok(exe) = std::env::current_exe() else {
        return error;
    };
    stderr_line(format_args!(
        "{}; running it again under `dagger run -i` to open a shell there",
        error.message()
    ));
    let status = std::process::Command::new(&cli)
        .args(["run", "-i"])
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .env(INTERACTIVE_RERUN, "1")
        .status();
    match status {
        Ok(_) => error,
        Err(e) => error.hint(format!("could not start {}: {e}", cli.display())),
    }
}
