//! `version-sync-check`: every place that declares a container's version agrees.
//!
//! Run as a pre-commit hook and in pull-request pipelines. The rules: each container
//! has a build file; every build file's version can be read (an unreadable version is
//! an error, never a silent pass); a tracked container has a service entry with a
//! non-null `current-version`; and all of them agree once a leading `v` is removed.
//!
//! Scope: the containers changed on this branch (from the merge base with main, or
//! with `GITHUB_BASE_REF` in a pull-request pipeline, to the working tree), or the
//! files pre-commit passes; everything when `service-versions.yaml` changed, with
//! `--all-files`, or when no base can be found — which it then says.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Write};
use std::path::Path;

use clap::Parser;
use serde::Serialize;

use crate::containers::{self, BuildKind, CONTAINERS_DIR, Container};
use crate::error::{Error, Result};
use crate::extract;
use crate::git::Scope;
use crate::output::{Cell, OutputArgs, Paint, Printer, Report, Style, Table};
use crate::services::{SERVICE_FILE, ServiceFile, ServiceIndex};
use crate::settings::RepoArgs;

/// Run against this repository's own containers; `bins/version-sync-check/tests/cli.rs`
/// runs every `$` line and checks the lines under it (`…` stands for any lines).
const EXAMPLES: &str = "\
Examples:
  $ version-sync-check                  # containers changed against main
  Scope: 0 container(s) changed against main
  No containers to check.
  $ version-sync-check --all-files      # every container
  Scope: all containers
  …
  All container versions agree.
  $ version-sync-check containers/navidrome/container.rs    # as pre-commit calls it
  Scope: 1 container(s) in the given files
  CONTAINER  BUILD   VERSIONS                                        STATUS
  navidrome  native  container.rs=v0.61.1, service-versions=v0.61.1  ok
  All container versions agree.

As a pre-commit or prek hook (.pre-commit-config.yaml), with NIX_PATH set when a
default.nix takes its version from nixpkgs:
  - repo: <this repo's URL>
    rev: <tag>
    hooks: [{id: version-sync-check}]";

/// Check that every declared version of each container agrees with the others and
/// with service-versions.yaml.
#[derive(Debug, Parser)]
#[command(version, after_help = format!("{EXAMPLES}\n\n{}", crate::cli::EXIT_CODES_HELP))]
pub struct Args {
    /// Changed files (as pre-commit passes them); limits the check to their containers.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// Check every container, not only the changed ones.
    #[arg(long)]
    pub all_files: bool,

    /// Compare against this ref [default: origin/$GITHUB_BASE_REF in a pull request,
    /// else origin/main, else main].
    #[arg(long, value_name = "REF", conflicts_with = "all_files")]
    pub base: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Serialize)]
pub struct SyncReport {
    pub scope: ScopeReport,
    pub containers: Vec<ContainerCheck>,
    /// Problems not tied to one container (a service naming a missing container).
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ScopeReport {
    pub mode: ScopeMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Why everything is checked, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Everything is checked because the changed-only scope could not be computed.
    #[serde(skip)]
    pub fell_back: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeMode {
    /// Containers changed against a base ref.
    Changed,
    /// Containers of the files given on the command line.
    Files,
    All,
}

#[derive(Debug, Serialize)]
pub struct ContainerCheck {
    pub name: String,
    pub kinds: Vec<BuildKind>,
    /// Each source of a version and what it says, in a stable order.
    pub versions: Vec<VersionSource>,
    pub status: Status,
    pub errors: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct VersionSource {
    /// `Dockerfile`, `default.nix`, `container.rs` or `service-versions`.
    pub source: String,
    pub version: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    Untracked,
    Mismatch,
    Unreadable,
    NoBuildFile,
    NoServiceEntry,
    NullVersion,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Untracked => "ok (untracked)",
            Status::Mismatch => "MISMATCH",
            Status::Unreadable => "UNREADABLE",
            Status::NoBuildFile => "NO BUILD FILE",
            Status::NoServiceEntry => "NO SERVICE ENTRY",
            Status::NullVersion => "NULL VERSION",
        }
    }

    fn is_ok(self) -> bool {
        matches!(self, Status::Ok | Status::Untracked)
    }
}

impl SyncReport {
    pub fn error_count(&self) -> usize {
        self.errors.len()
            + self
                .containers
                .iter()
                .map(|c| c.errors.len())
                .sum::<usize>()
    }
}

impl Report for SyncReport {
    fn render(&self, out: &mut dyn Write, style: Style) -> io::Result<()> {
        let count = self.containers.len();
        let scope = match (self.scope.mode, &self.scope.base, &self.scope.reason) {
            (_, _, Some(reason)) => format!("all containers ({reason})"),
            (ScopeMode::Changed, Some(base), None) => {
                format!("{count} container(s) changed against {base}")
            }
            (ScopeMode::Files, _, None) => format!("{count} container(s) in the given files"),
            _ => "all containers".to_owned(),
        };
        writeln!(out, "Scope: {scope}")?;
        if self.containers.is_empty() && self.errors.is_empty() {
            return writeln!(out, "No containers to check.");
        }
        let mut table = Table::new(["CONTAINER", "BUILD", "VERSIONS", "STATUS"]);
        for check in &self.containers {
            let versions: Vec<String> = check
                .versions
                .iter()
                .map(|v| format!("{}={}", v.source, v.version))
                .collect();
            table.row([
                Cell::from(check.name.as_str()),
                Cell::from(containers::kinds_label(&check.kinds)),
                Cell::from(versions.join(", ")),
                Cell::painted(
                    check.status.label(),
                    if check.status.is_ok() {
                        Paint::Green
                    } else {
                        Paint::Red
                    },
                ),
            ]);
        }
        table.render(out, style)?;
        let count = self.error_count();
        if count == 0 {
            return writeln!(out, "All container versions agree.");
        }
        writeln!(out, "\n{count} error(s):")?;
        for check in &self.containers {
            for error in &check.errors {
                writeln!(out, "  {}: {error}", check.name)?;
            }
        }
        for error in &self.errors {
            writeln!(out, "  {error}")?;
        }
        Ok(())
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let root = args.repo.root()?;
    let report = check(&root, &args)?;
    if let (true, Some(reason)) = (report.scope.fell_back, &report.scope.reason) {
        crate::output::warn(format!("checking all containers: {reason}"));
    }
    printer.print(&report)?;
    match report.error_count() {
        0 => Ok(()),
        n => Err(Error::failed(format!("{n} version problem(s) found"))),
    }
}

/// Runs the check; the report says what was checked and what is wrong.
pub fn check(root: &Path, args: &Args) -> Result<SyncReport> {
    // Parsing the service file and listing the containers are independent, and at
    // 20,000 containers each takes about a third of the run: do them side by side.
    let (file, all) = std::thread::scope(|scope| {
        let file = scope.spawn(|| ServiceFile::load(root));
        let all = containers::discover(root);
        let file = file
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (file, all)
    });
    let (file, all) = (file?, all?);
    let services = file.index();
    let (scope, selected) = select(root, args, &all)?;
    let in_scope: Vec<&Container> = all
        .iter()
        .filter(|c| {
            selected
                .as_ref()
                .is_none_or(|names| names.contains(&c.name))
        })
        .collect();
    let containers = check_all(&in_scope, &services);
    let errors = if selected.is_none() {
        dangling_service_containers(&file, &all)
    } else {
        Vec::new()
    };
    Ok(SyncReport {
        scope,
        containers,
        errors,
    })
}

/// Checks the containers in order; many are split across threads, since reading their
/// build files is most of the work.
fn check_all(containers: &[&Container], services: &ServiceIndex<'_>) -> Vec<ContainerCheck> {
    const PER_THREAD: usize = 1024;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(containers.len().div_ceil(PER_THREAD))
        .max(1);
    if threads == 1 {
        return containers
            .iter()
            .map(|c| check_container(c, services))
            .collect();
    }
    let chunk = containers.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = containers
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|c| check_container(c, services))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The scope, and the container names in it (`None` = all).
fn select(
    root: &Path,
    args: &Args,
    all: &[Container],
) -> Result<(ScopeReport, Option<BTreeSet<String>>)> {
    let everything = |reason: Option<String>, fell_back: bool| {
        (
            ScopeReport {
                mode: ScopeMode::All,
                base: None,
                reason,
                fell_back,
            },
            None,
        )
    };
    let limited = |mode: ScopeMode, base: Option<String>, names| {
        (
            ScopeReport {
                mode,
                base,
                reason: None,
                fell_back: false,
            },
            Some(names),
        )
    };
    if args.all_files {
        return Ok(everything(None, false));
    }
    if !args.files.is_empty() {
        let paths = args
            .files
            .iter()
            .map(|f| repo_path(root, f))
            .collect::<Result<BTreeSet<String>>>()?;
        refuse_missing(root, &paths, all)?;
        return Ok(match names_in(&paths, all) {
            Some(names) => limited(ScopeMode::Files, None, names),
            None => everything(Some(format!("{SERVICE_FILE} changed")), false),
        });
    }
    let repo = match crate::git::open_repo(root) {
        Ok(repo) => repo,
        Err(_) => return Ok(everything(Some("not a git repository".to_owned()), true)),
    };
    let base = match &args.base {
        Some(base) => {
            // An explicit base that does not resolve is bad input, not a reason to guess.
            crate::git::resolve_commit(&repo, base)?;
            base.clone()
        }
        None => match default_base(&repo) {
            Some(base) => base,
            None => {
                return Ok(everything(
                    Some("base not found: no origin/main or main in this clone".to_owned()),
                    true,
                ));
            }
        },
    };
    match crate::git::changed_paths(&repo, &base) {
        Scope::Changed { base, paths } => Ok(match names_in(&paths, all) {
            Some(names) => limited(ScopeMode::Changed, Some(base), names),
            None => everything(Some(format!("{SERVICE_FILE} changed")), false),
        }),
        Scope::Unknown(why) => Ok(everything(Some(why), true)),
    }
}

/// In a pull-request pipeline the target branch; else main, remote first.
fn default_base(repo: &git2::Repository) -> Option<String> {
    let mut candidates = Vec::new();
    if let Ok(target) = std::env::var("GITHUB_BASE_REF")
        && !target.is_empty()
    {
        candidates.push(format!("origin/{target}"));
        candidates.push(target);
    }
    candidates.extend(crate::git::main_ref_candidates(None));
    candidates
        .into_iter()
        .find(|c| crate::git::resolve_commit(repo, c).is_ok())
}

/// A given path as the repository names it, `/`-separated from its root: a relative
/// path is from the root already (pre-commit runs hooks there); an absolute one must be
/// inside the root.
fn repo_path(root: &Path, given: &str) -> Result<String> {
    let path = Path::new(given);
    let relative = if path.is_absolute() {
        let canonical = |p: &Path| p.canonicalize().ok();
        path.strip_prefix(root)
            .ok()
            .map(Path::to_path_buf)
            .or_else(|| {
                let (path, root) = (canonical(path)?, canonical(root)?);
                path.strip_prefix(root).ok().map(Path::to_path_buf)
            })
            .ok_or_else(|| {
                Error::usage(format!(
                    "{given} is outside the repository {}",
                    root.display()
                ))
                .hint("pass paths inside the repository, relative to its root as pre-commit does")
            })?
    } else {
        path.to_path_buf()
    };
    Ok(relative
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/"))
}

/// The container a path is in or names (`containers/<name>[/…]`), if any.
fn container_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(CONTAINERS_DIR)?.strip_prefix('/')?;
    let name = rest.split('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// The containers the paths touch; `None` when the service file is among them.
fn names_in(paths: &BTreeSet<String>, all: &[Container]) -> Option<BTreeSet<String>> {
    if paths.contains(SERVICE_FILE) {
        return None;
    }
    let known: HashSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    Some(
        paths
            .iter()
            .filter_map(|p| container_of(p))
            .filter(|name| known.contains(name))
            .map(str::to_owned)
            .collect(),
    )
}

/// Refuses given files that are nowhere: not in the working tree, not a file deleted
/// from a container that still exists, and not a deletion git knows of (in HEAD or the
/// index). A typo must not pass the hook as "nothing to check".
fn refuse_missing(root: &Path, paths: &BTreeSet<String>, all: &[Container]) -> Result<()> {
    let known: HashSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let candidates: Vec<&String> = paths
        .iter()
        .filter(|p| !root.join(p).exists())
        .filter(|p| container_of(p).is_none_or(|name| !known.contains(name)))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let repo = crate::git::open_repo(root).ok();
    let head_tree = repo
        .as_ref()
        .and_then(|r| r.head().ok())
        .and_then(|h| h.peel_to_tree().ok());
    let index = repo.as_ref().and_then(|r| r.index().ok());
    let missing: Vec<&str> = candidates
        .into_iter()
        .filter(|p| {
            let in_head = head_tree
                .as_ref()
                .is_some_and(|t| t.get_path(Path::new(p.as_str())).is_ok());
            let in_index = index
                .as_ref()
                .is_some_and(|i| i.get_path(Path::new(p.as_str()), 0).is_some());
            !in_head && !in_index
        })
        .map(String::as_str)
        .collect();
    match missing.as_slice() {
        [] => Ok(()),
        [one] => Err(Error::usage(format!(
            "no such file: {one} (not in the working tree, and not a deletion git knows of)"
        ))
        .hint("pass paths relative to the repository root, as pre-commit does")),
        many => Err(Error::usage(format!(
            "no such files: {} (not in the working tree, and not deletions git knows of)",
            many.join(", ")
        ))
        .hint("pass paths relative to the repository root, as pre-commit does")),
    }
}

fn check_container(container: &Container, services: &ServiceIndex<'_>) -> ContainerCheck {
    let mut versions = Vec::new();
    let mut errors = Vec::new();
    let mut status = Status::Ok;
    if container.kinds.is_empty() {
        status = Status::NoBuildFile;
        errors.push(format!(
            "no build file in {}: add a Dockerfile, default.nix or container.rs",
            container.rel_path()
        ));
    }
    for &kind in &container.kinds {
        match extract::resolve_version(container, kind, services) {
            Ok(resolved) => versions.push(VersionSource {
                source: kind.file_name().to_owned(),
                version: resolved.version,
            }),
            Err(err) => {
                status = Status::Unreadable;
                errors.push(with_hints(&err));
            }
        }
    }
    let tracked = !services.is_untracked(&container.name);
    if tracked {
        match services.for_container(&container.name) {
            None => {
                status = worse(status, Status::NoServiceEntry);
                errors.push(format!(
                    "no entry in {SERVICE_FILE}: add `- name: {}` with its current-version (or list it under untracked-containers)",
                    container.name
                ));
            }
            Some(service) => match &service.current_version {
                None => {
                    status = worse(status, Status::NullVersion);
                    errors.push(format!(
                        "current-version of service '{}' is null in {SERVICE_FILE}: set it to the deployed version",
                        service.name
                    ));
                }
                Some(version) => versions.push(VersionSource {
                    source: "service-versions".to_owned(),
                    version: version.clone(),
                }),
            },
        }
    } else if status == Status::Ok {
        status = Status::Untracked;
    }
    let distinct: BTreeSet<&str> = versions
        .iter()
        .map(|v| crate::version::strip_v(&v.version))
        .collect();
    if distinct.len() > 1 {
        status = worse(status, Status::Mismatch);
        let listed: Vec<String> = versions
            .iter()
            .map(|v| format!("{}={}", v.source, v.version))
            .collect();
        errors.push(format!(
            "versions disagree: {}; make them all the same",
            listed.join(", ")
        ));
    }
    ContainerCheck {
        name: container.name.clone(),
        kinds: container.kinds.clone(),
        versions,
        status,
        errors,
    }
}

/// Keeps the first problem found as the row's status; a mismatch is shown only if
/// nothing worse was found.
fn worse(current: Status, new: Status) -> Status {
    if current.is_ok() { new } else { current }
}

fn with_hints(err: &Error) -> String {
    match err.hints().first() {
        Some(hint) => format!("{} ({hint})", err.message()),
        None => err.message().to_owned(),
    }
}

fn dangling_service_containers(services: &ServiceFile, all: &[Container]) -> Vec<String> {
    let known: HashSet<&str> = all.iter().map(|c| c.name.as_str()).collect();
    services
        .services
        .iter()
        .filter_map(|s| {
            let name = s.container.as_deref()?;
            (!known.contains(name)).then(|| {
                format!(
                    "service '{}' in {SERVICE_FILE} names container '{name}', which is not under {CONTAINERS_DIR}/",
                    s.name
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::{Service, ServiceType};

    /// 20,000 containers without build files (no disk reads) and a service entry each,
    /// half of them mapped through `container:`.
    fn many(count: usize) -> (Vec<Container>, ServiceFile) {
        let containers = (0..count)
            .map(|i| Container {
                name: format!("app{i}"),
                dir: std::path::PathBuf::from(format!("containers/app{i}")),
                kinds: Vec::new(),
            })
            .collect();
        let services = (0..count)
            .map(|i| Service {
                name: if i % 2 == 0 {
                    format!("app{i}")
                } else {
                    format!("svc{i}")
                },
                kind: ServiceType::Argocd,
                last_reviewed: None,
                current_version: Some("1.0".to_owned()),
                upstream_source: "x".to_owned(),
                notes: None,
                container: (i % 2 == 1).then(|| format!("app{i}")),
                nixpkgs_package: None,
            })
            .collect();
        (
            containers,
            ServiceFile {
                untracked_containers: vec!["app0".to_owned()],
                services,
            },
        )
    }

    #[test]
    fn checking_20000_containers_is_linear_not_quadratic() {
        let (containers, file) = many(20_000);
        let started = std::time::Instant::now();
        let services = file.index();
        let refs: Vec<&Container> = containers.iter().collect();
        let checks = check_all(&refs, &services);
        let dangling = dangling_service_containers(&file, &containers);
        let took = started.elapsed();
        assert_eq!(checks.len(), 20_000);
        assert!(dangling.is_empty());
        assert_eq!(checks[0].status, Status::NoBuildFile);
        assert_eq!(
            checks[1].versions[0].version, "1.0",
            "found through container:"
        );
        assert_eq!(checks[2].versions[0].version, "1.0", "found by name");
        // A scan of every service per container (2·10⁸ comparisons) takes seconds even
        // optimised; the index takes milliseconds. The bound leaves room for a busy CI.
        assert!(took < std::time::Duration::from_millis(1500), "{took:?}");
    }
}
