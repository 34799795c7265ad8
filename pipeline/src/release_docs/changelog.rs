//! `release-docs changelog --version vX.Y.Z`: fold the fragments in `docs/changelog.d`
//! into CHANGELOG.md with towncrier, and print the new section for release notes.
//!
//! towncrier runs in a Dagger container (a pinned Python image, a pinned towncrier
//! from pip with a cache volume), or with `--no-engine` as the `towncrier` on PATH.
//! The changelog is working-tree state, not a commit: the container gets exactly what
//! towncrier reads — `towncrier.toml`, CHANGELOG.md and the fragments' directory — from
//! the working tree, and what it changed is brought back: CHANGELOG.md, written
//! atomically, and the fragments it consumed, deleted (only names that were fragments
//! here; nothing else in the directory is touched).
//!
//! Before towncrier runs, in this order: the version must be `vX.Y.Z` and every file
//! in the fragments' directory a well-formed fragment of a declared type (towncrier
//! would silently skip one with a misspelt type), both exit 2; a changelog that already
//! has the version's section is left alone and that section printed (so a re-run after
//! a later step failed is a no-op); then no fragments is exit 1 unless `--allow-empty`.
//!
//! `towncrier build --draft` runs first in both modes: its stdout is the section.
//! Stdout carries only the section (or `--json`'s one document); progress goes to
//! stderr. [`changelog`] does the work and prints nothing, for `release-docs all`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use opskit::changelog::{self as towncrier_files, CONFIG_FILE, Towncrier};
use opskit::cli::block_on;
use opskit::commands::release_docs::DocsVersion;
use opskit::commands::release_docs::changelog::Args;
use opskit::error::{Error, Result};
use opskit::fsutil::write_atomically;
use opskit::output::{Printer, Report, Style, stderr_line};
use serde::Serialize;

use crate::engine;
use crate::helpers::cache;
use crate::session::{self, STDERR_TAIL_LINES};

/// The image towncrier runs in: pinned, as every base image of the suite is.
pub const PYTHON_IMAGE: &str = "python:3.12-alpine3.22";
/// The towncrier the engine installs: the version measured against this repository's
/// configuration (this-machine.md §3(f)), so a new towncrier cannot change the format
/// of a release's notes unannounced.
pub const TOWNCRIER: &str = "towncrier==26.9.0";
/// The stage every step of the changelog pipeline reports under.
const STAGE: &str = "changelog";
/// Where the working-tree files are mounted in the container.
const SRC: &str = "/src";

/// What the step did, for `release-docs all` and `--json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChangelogOutcome {
    pub version: String,
    /// The version's section, as it is (or, with `--draft`, would be) in CHANGELOG.md.
    pub section: String,
    /// CHANGELOG.md was written by this run.
    pub written: bool,
    /// CHANGELOG.md had the section before this run; nothing was changed.
    pub already: bool,
    /// The fragments towncrier consumed and this run deleted, relative to the root.
    pub removed_fragments: Vec<String>,
    /// The changelog's path relative to the root, for messages.
    #[serde(skip)]
    pub changelog: String,
}

impl Report for ChangelogOutcome {
    fn render(&self, out: &mut dyn Write, _style: Style) -> io::Result<()> {
        out.write_all(self.section.as_bytes())
    }
}

/// The command: [`changelog`], then the section on stdout and what was done on stderr.
pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let outcome = changelog(&args)?;
    let done = if outcome.already {
        format!("{} already has {}", outcome.changelog, outcome.version)
    } else if !outcome.written {
        format!(
            "draft of {} for {}; nothing written",
            outcome.version, outcome.changelog
        )
    } else {
        format!(
            "wrote {} for {}, consuming {} fragment(s)",
            outcome.changelog,
            outcome.version,
            outcome.removed_fragments.len()
        )
    };
    stderr_line(format_args!("{done}"));
    printer.print(&outcome)
}

/// Does the step (see the module docs) and prints nothing.
pub fn changelog(args: &Args) -> Result<ChangelogOutcome> {
    let version = DocsVersion::parse(&args.version)
        .ok_or_else(|| {
            Error::usage(format!(
                "--version '{}' is not a docs version",
                args.version
            ))
            .hint("give v<major>.<minor>.<patch>, such as v1.2.3")
        })?
        .to_string();
    let date = match &args.date {
        Some(date) => towncrier_files::parse_date(date)?,
        None => towncrier_files::today_utc(),
    };
    let root = std::path::absolute(args.repo.root()?)
        .map_err(|e| Error::usage(format!("cannot resolve the repository root: {e}")))?;
    let config = Towncrier::load(&root)?;
    let fragments = config.fragments(&root)?;
    let changelog_path = root.join(&config.filename);
    let current = read_changelog(&changelog_path)?;
    let mut outcome = ChangelogOutcome {
        version: version.clone(),
        changelog: config.filename.clone(),
        ..ChangelogOutcome::default()
    };

    if let Some(section) = current
        .as_deref()
        .and_then(|text| config.existing_section(text, &version))
    {
        outcome.section = section;
        outcome.already = true;
        write_notes(args, &outcome.section)?;
        return Ok(outcome);
    }
    if fragments.is_empty() && !args.allow_empty {
        return Err(
            Error::failed(format!("no changelog fragments in {}", config.directory)).hint(
                "add one (<issue>.<type>.md), or pass --allow-empty to write a section \
                 saying \"No significant changes.\"",
            ),
        );
    }

    let job = Job {
        root: root.clone(),
        config: config.clone(),
        has_changelog: current.is_some(),
        has_fragments_dir: root.join(&config.directory).is_dir(),
        version: version.clone(),
        date,
        draft: args.draft,
    };
    let folded = if args.no_engine {
        fold_locally(&job)?
    } else {
        let debug = args.http.config().debug;
        let no_engine = "or run the towncrier on this machine: release-docs changelog --no-engine";
        block_on(engine::with_session(Some(no_engine), async |session| {
            session::run(session, args.build_timeout, debug, move |pipeline| {
                fold_in_engine(pipeline, job)
            })
            .await
        }))?
    };

    match folded {
        Folded::Draft(section) => outcome.section = tidy(&section),
        Folded::Written {
            changelog,
            remaining,
        } => {
            outcome.section = config
                .existing_section(&changelog, &version)
                .ok_or_else(|| {
                    Error::failed(format!(
                        "towncrier wrote {} without a section titled for {version}",
                        config.filename
                    ))
                    .hint(format!(
                        "check title_format in {CONFIG_FILE}: '{}'",
                        config.title_format
                    ))
                })?;
            if !args.no_engine {
                write_atomically(&changelog_path, changelog.as_bytes())?;
            }
            outcome.written = true;
            outcome.removed_fragments = consumed(&fragments, &remaining)
                .map(|name| format!("{}/{name}", config.directory))
                .collect();
            if !args.no_engine {
                for fragment in &outcome.removed_fragments {
                    remove_fragment(&root.join(fragment))?;
                }
            }
        }
    }
    write_notes(args, &outcome.section)?;
    Ok(outcome)
}

/// The section of `version` in the repository's changelog, if it has one: what
/// `release-docs all` asks to decide whether the step is done.
pub fn existing_section(root: &Path, version: &str) -> Result<Option<String>> {
    let config = Towncrier::load(root)?;
    Ok(read_changelog(&root.join(&config.filename))?
        .and_then(|text| config.existing_section(&text, version)))
}

/// What towncrier is run with.
struct Job {
    root: PathBuf,
    config: Towncrier,
    has_changelog: bool,
    has_fragments_dir: bool,
    version: String,
    date: String,
    draft: bool,
}

impl Job {
    /// `towncrier build` with `--draft` or `--yes`, for this version and date.
    fn args<'a>(&'a self, mode: &'a str) -> [&'a str; 7] {
        [
            "towncrier",
            "build",
            mode,
            "--version",
            &self.version,
            "--date",
            &self.date,
        ]
    }
}

/// What towncrier produced.
enum Folded {
    /// `--draft`: the section towncrier would write.
    Draft(String),
    /// The new changelog and the names left in the fragments' directory.
    Written {
        changelog: String,
        remaining: Vec<String>,
    },
}

/// The pipeline: install towncrier, mount its inputs, draft, build, read back.
async fn fold_in_engine(
    pipeline: crate::Pipeline,
    job: Job,
) -> Result<Folded, dagger_sdk::errors::DaggerError> {
    let client = pipeline.client();
    let host = client.host();
    let config = &job.config;
    let on_host = |rel: &str| job.root.join(rel).to_string_lossy().into_owned();
    let in_src = |rel: &str| format!("{SRC}/{rel}");
    // Ids resolved here, not lazily by the SDK (which unwraps a failed id query).
    let pip_cache = cache(&pipeline, "pip").id().await?;
    let towncrier_toml = host.file(on_host(CONFIG_FILE)).id().await?;

    let python = client
        .container()
        .from(PYTHON_IMAGE)
        .with_env_variable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .with_mounted_cache("/root/.cache/pip", pip_cache);
    let installed = pipeline.exec(
        &python,
        STAGE,
        "pip install towncrier",
        &["pip", "install", "--root-user-action=ignore", TOWNCRIER],
    );
    let mut src = installed
        .with_workdir(SRC)
        .with_file(in_src(CONFIG_FILE), towncrier_toml);
    if job.has_changelog {
        let changelog = host.file(on_host(&config.filename)).id().await?;
        src = src.with_file(in_src(&config.filename), changelog);
    }
    if job.has_fragments_dir {
        let fragments = host.directory(on_host(&config.directory)).id().await?;
        src = src.with_directory(in_src(&config.directory), fragments);
    }

    let draft = pipeline
        .exec(&src, STAGE, "towncrier build --draft", &job.args("--draft"))
        .stdout()
        .await?;
    if job.draft {
        return Ok(Folded::Draft(draft));
    }
    let built = pipeline.exec(&src, STAGE, "towncrier build", &job.args("--yes"));
    let changelog = built.file(in_src(&config.filename)).contents().await?;
    let remaining = if job.has_fragments_dir {
        built.directory(in_src(&config.directory)).entries().await?
    } else {
        Vec::new()
    };
    Ok(Folded::Written {
        changelog,
        remaining,
    })
}

/// `--no-engine`: the local towncrier, in the repository root. It writes the changelog
/// and removes the fragments itself (through git when they are tracked).
fn fold_locally(job: &Job) -> Result<Folded> {
    let draft = local_towncrier(&job.root, &job.args("--draft"))?;
    if job.draft {
        return Ok(Folded::Draft(draft));
    }
    local_towncrier(&job.root, &job.args("--yes"))?;
    let changelog = read_changelog(&job.root.join(&job.config.filename))?.unwrap_or_default();
    let remaining = job.config.fragments(&job.root)?;
    Ok(Folded::Written {
        changelog,
        remaining,
    })
}

/// Runs `args` (starting with `towncrier`) in `root`: its stdout, or exit 2 when there
/// is no towncrier and exit 1 with the tail of its stderr when it fails.
fn local_towncrier(root: &Path, args: &[&str]) -> Result<String> {
    let command_line = args.join(" ");
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(root)
        .output()
        .map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                Error::usage("--no-engine needs towncrier, and there is none on PATH")
                    .hint("pip install towncrier (or drop --no-engine to run it in Dagger)")
            } else {
                Error::failed(format!("cannot run `{command_line}`: {e}"))
            }
        })?;
    if !out.status.success() {
        let code = out
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| c.to_string());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines = session::tail(&stderr, STDERR_TAIL_LINES);
        let mut error = Error::failed(format!("`{command_line}` exited with {code}"));
        if !lines.is_empty() {
            error = error.hint(format!(
                "its stderr ended with:\n{}",
                session::indent(&lines)
            ));
        }
        return Err(error);
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The changelog's text; `None` when there is none yet (towncrier creates it).
fn read_changelog(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::failed(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// The fragments that are gone after towncrier ran.
fn consumed<'a>(
    fragments: &'a [String],
    remaining: &'a [String],
) -> impl Iterator<Item = &'a String> + 'a {
    fragments
        .iter()
        .filter(move |name| !remaining.iter().any(|left| left == *name))
}

fn remove_fragment(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::failed(format!(
            "cannot remove the consumed fragment {}: {e}",
            path.display()
        ))
        .hint("remove it by hand: its text is in the changelog now")),
    }
}

/// towncrier's draft ends in blank lines: the section with one line end.
fn tidy(section: &str) -> String {
    format!("{}\n", section.trim_end())
}

fn write_notes(args: &Args, section: &str) -> Result<()> {
    match &args.notes_out {
        Some(path) => write_atomically(path, section.as_bytes()),
        None => Ok(()),
    }
}
