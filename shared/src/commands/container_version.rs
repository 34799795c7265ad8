//! `container-version`: a container's app version, or its full image tag.
//!
//! Build workflows call this to name images, so it reads the build files as text (no
//! engine, no compile) and resolves `--ref` in-process: a branch name becomes its
//! commit and never ends up in a tag, which is the bug the old shell step had.

use std::io::{self, Write};

use clap::Parser;
use serde::Serialize;

use crate::containers::{self, BuildKind, Container};
use crate::error::{Error, Result};
use crate::extract::{self, Origin};
use crate::output::{OutputArgs, Paint, Printer, Report, Style, Table};
use crate::services::{ServiceFile, ServiceIndex};
use crate::settings::RepoArgs;
use crate::tag::ImageTag;

/// Run against this repository's own containers; `bins/container-version/tests/cli.rs`
/// runs every `$` line and checks the lines under it (a trailing `…` allows more).
const EXAMPLES: &str = "\
Examples:
  $ container-version navidrome
  v0.61.1
  $ container-version navidrome --tag                # HEAD's commit
  v0.61.1-3f2a9c1
  $ container-version kiwix-serve --tag --kind nix
  v3.8.2-3f2a9c1-nix
  $ container-version navidrome --tag --ref main     # main's commit, never its name
  v0.61.1-3f2a9c1
  $ container-version --matrix --tag                 # for >> \"$GITHUB_OUTPUT\"
  matrix={\"include\":[{\"container\":\"kiwix-serve\",\"kind\":\"dockerfile\",…";

/// Print a container's app version, or its image tag v<version>-<sha7>[-nix].
#[derive(Debug, Parser)]
#[command(version, after_help = format!("{EXAMPLES}\n\n{}", crate::cli::EXIT_CODES_HELP))]
pub struct Args {
    /// The container: a directory under containers/.
    #[arg(
        required_unless_present_any = ["all", "matrix"],
        conflicts_with_all = ["all", "matrix"]
    )]
    pub name: Option<String>,

    /// Every container, with its build kinds and versions.
    #[arg(long)]
    pub all: bool,

    /// Every container's builds as one line, matrix={"include":[…]}, to append to
    /// $GITHUB_OUTPUT; if any version cannot be read, nothing is printed and it exits 1.
    #[arg(long, conflicts_with_all = ["all", "json"])]
    pub matrix: bool,

    /// Print the full image tag v<version>-<sha7>[-nix] instead of the version.
    #[arg(long)]
    pub tag: bool,

    /// The commit to tag: a SHA, branch or tag, resolved to its commit [default: HEAD].
    #[arg(long = "ref", value_name = "REF", requires = "tag")]
    pub git_ref: Option<String>,

    /// Which build to report when a container has several [default: native, then
    /// dockerfile, then nix].
    #[arg(long, value_enum)]
    pub kind: Option<BuildKind>,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// One build of one container.
#[derive(Debug, Serialize)]
pub struct Build {
    pub container: String,
    pub kind: BuildKind,
    /// As declared (a leading `v` kept).
    pub version: String,
    #[serde(flatten)]
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The answer for one container (`container-version NAME`).
#[derive(Debug, Serialize)]
pub struct Single {
    #[serde(flatten)]
    pub build: Build,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

impl Report for Single {
    /// The tag when one was asked for (`--tag`), else the version: one word, for `$(…)`.
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        writeln!(
            out,
            "{}",
            self.build.tag.as_deref().unwrap_or(&self.build.version)
        )
    }
}

/// Every container (`container-version --all`).
#[derive(Debug, Serialize)]
pub struct All {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub containers: Vec<ContainerBuilds>,
    /// The builds as a flat list: `strategy.matrix: ${{ fromJSON(...) }}` takes it as is.
    pub include: Vec<Build>,
}

#[derive(Debug, Serialize)]
pub struct ContainerBuilds {
    pub name: String,
    pub path: String,
    pub kinds: Vec<BuildKind>,
    /// Why a version could not be read, per kind; empty when all were read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl Report for All {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        let with_tags = self.include.iter().any(|b| b.tag.is_some());
        let mut header = vec!["CONTAINER", "KIND", "VERSION"];
        if with_tags {
            header.push("TAG");
        }
        let mut table = Table::new(header);
        // `include` is in container order: walk it alongside the containers.
        let mut builds = self.include.iter().peekable();
        for container in &self.containers {
            while let Some(build) = builds.next_if(|b| b.container == container.name) {
                let mut row: Vec<crate::output::Cell> = vec![
                    container.name.clone().into(),
                    build.kind.as_str().into(),
                    build.version.clone().into(),
                ];
                if with_tags {
                    row.push(build.tag.clone().unwrap_or_default().into());
                }
                table.row(row);
            }
            for error in &container.errors {
                table.row([
                    container.name.clone().into(),
                    containers::kinds_label(&container.kinds).into(),
                    crate::output::Cell::painted(format!("error: {error}"), Paint::Red),
                ]);
            }
        }
        table.render(out, style)
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let root = args.repo.root()?;
    let file = ServiceFile::load(&root)?;
    let services = file.index();
    let commit = if args.tag {
        let repo = crate::git::open_repo(&root)?;
        let refname = args.git_ref.as_deref().unwrap_or("HEAD");
        Some(crate::git::resolve_commit(&repo, refname)?.to_string())
    } else {
        None
    };
    if args.matrix {
        let report = all(&root, &services, args.kind, commit)?;
        return print_matrix(&mut printer, &report);
    }
    if args.all {
        let report = all(&root, &services, args.kind, commit)?;
        printer.print(&report)?;
        let failures = report
            .containers
            .iter()
            .filter(|c| !c.errors.is_empty())
            .count();
        if failures > 0 {
            return Err(Error::failed(format!(
                "{failures} container(s) have a version that cannot be read"
            ))
            .hint("version-sync-check --all-files explains each one"));
        }
        return Ok(());
    }
    let name = args.name.as_deref().unwrap_or_default();
    let container = containers::find(&root, name)?;
    let kind = pick_kind(&container, args.kind)?;
    let build = build(&container, kind, &services, commit.as_deref())?;
    printer.print(&Single { build, commit })
}

/// The name of the `$GITHUB_OUTPUT` entry `--matrix` prints.
pub const MATRIX_OUTPUT: &str = "matrix";

/// `matrix={"include":[…]}` on one line, or — when any container's version cannot be
/// read — nothing on stdout, each problem on stderr, and exit 1: a matrix with a build
/// missing must never reach a workflow.
fn print_matrix(printer: &mut Printer, report: &All) -> Result<()> {
    let problems: Vec<&String> = report.containers.iter().flat_map(|c| &c.errors).collect();
    if !problems.is_empty() {
        for problem in &problems {
            crate::output::stderr_line(format_args!("error: {problem}"));
        }
        return Err(Error::failed(format!(
            "{} build(s) have a version that cannot be read; no matrix printed",
            problems.len()
        ))
        .hint("fix them, or build with --kind to leave a kind out on purpose"));
    }
    #[derive(Serialize)]
    struct Matrix<'a> {
        include: &'a [Build],
    }
    let json = serde_json::to_string(&Matrix {
        include: &report.include,
    })
    .map_err(|e| Error::failed(format!("cannot encode the matrix: {e}")))?;
    writeln!(printer.raw(), "{MATRIX_OUTPUT}={json}").map_err(crate::output::io_error)?;
    printer.flush()
}

/// The requested kind if the container has it, else the first by priority.
fn pick_kind(container: &Container, wanted: Option<BuildKind>) -> Result<BuildKind> {
    match wanted {
        Some(kind) if container.kinds.contains(&kind) => Ok(kind),
        Some(kind) => Err(Error::not_found(format!(
            "{} has no {} build (it has: {})",
            container.rel_path(),
            kind,
            container.kinds_label()
        ))),
        None => container.kinds.first().copied().ok_or_else(|| {
            Error::not_found(format!(
                "{} has no build file (Dockerfile, default.nix or container.rs)",
                container.rel_path()
            ))
        }),
    }
}

/// The image tag of one build of a commit: `v<version>-<sha7>`, with `-nix` for a nix
/// build. Shared with container-build-and-release, which must expect exactly the tags
/// this tool prints.
pub fn image_tag(version: &str, commit: &str, kind: BuildKind) -> String {
    ImageTag::new(version, commit, kind == BuildKind::Nix).to_string()
}

fn build(
    container: &Container,
    kind: BuildKind,
    services: &ServiceIndex<'_>,
    commit: Option<&str>,
) -> Result<Build> {
    let resolved = extract::resolve_version(container, kind, services)?;
    let tag = commit.map(|c| image_tag(&resolved.version, c, kind));
    Ok(Build {
        container: container.name.clone(),
        kind,
        version: resolved.version,
        origin: resolved.origin,
        tag,
    })
}

fn all(
    root: &std::path::Path,
    services: &ServiceIndex<'_>,
    only: Option<BuildKind>,
    commit: Option<String>,
) -> Result<All> {
    let mut containers = Vec::new();
    let mut include = Vec::new();
    for container in containers::discover(root)? {
        let mut errors = Vec::new();
        for &kind in container
            .kinds
            .iter()
            .filter(|k| only.is_none_or(|o| o == **k))
        {
            match build(&container, kind, services, commit.as_deref()) {
                Ok(build) => include.push(build),
                Err(err) => errors.push(err.message().to_owned()),
            }
        }
        containers.push(ContainerBuilds {
            name: container.name.clone(),
            path: container.rel_path(),
            kinds: container.kinds.clone(),
            errors,
        });
    }
    Ok(All {
        commit,
        containers,
        include,
    })
}
