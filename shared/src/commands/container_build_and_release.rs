//! `container-build-and-release`, dispatch mode: build a container's image for one
//! commit on the forge's runners, follow the run, check what it pushed, and pin it.
//!
//! The order of the steps is the point. Everything that can be checked without
//! changing anything comes first — the container and its build files, the commit (it
//! must be on the forge, or the runner cannot check it out), each build's tag, and
//! whether that tag is already in the registry (tags are immutable: a second build of
//! the same commit would overwrite the first) — so a mistake costs nothing. Then one
//! dispatch, never retried: a dispatch whose answer is lost may still have started a
//! build, and two builds pushing one tag is worse than a clear error. The run is found
//! from the dispatch's answer (Forgejo v11+) or by workflow, event and time (before
//! v11, Gitea), never by `head_sha`, which for a dispatched run is the workflow
//! branch's tip, not the commit built. Only after the run succeeded and the registry
//! holds every expected tag is a pin moved.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;

use crate::cli::{EXIT_CODES_HELP, block_on};
use crate::commands::container_version;
use crate::commands::flags::{ForgeArgs, HttpArgs, RegistryArgs};
use crate::commands::runner_logs::sink::LogSink;
use crate::commands::runner_logs::{job_status_line, job_title};
use crate::containers::{self, BuildKind};
use crate::error::{Error, Result};
use crate::forge::dispatch::Dispatched;
use crate::forge::follow::{RunEvent, RunFollower};
use crate::forge::model::{Run, Status};
use crate::forge::{Forge, LogWrite};
use crate::output::{OutputArgs, Printer, Report, Style};
use crate::pins::edit::{PinTarget, set_pin_in_file};
use crate::registry::{Manifest, Registry};
use crate::services::ServiceFile;
use crate::settings::RepoArgs;
use crate::{extract, git, pins};

const EXAMPLES: &str = "\
Examples:
  container-build-and-release navidrome --dry-run     # what it would build and dispatch
  container-build-and-release navidrome --wait        # build HEAD, follow it, check the push
  container-build-and-release navidrome --ref main --wait --pin --commit
  container-build-and-release navidrome --json | jq .run.url
  dagger run container-build-and-release kubectl --local --publish   # build here, push
  container-build-and-release redis --local --export redis.tar   # then: docker load -i redis.tar";

const LOCAL: &str = "Local builds (Dagger)";

/// The nixpkgs `default.nix` builds use in the engine when NIX_BUILD_NIXPKGS is not set:
/// a release channel, so two builds of one commit a day apart may differ only when the
/// channel moved. Pin a commit's tarball in mise.toml for byte-identical builds.
pub const DEFAULT_NIXPKGS: &str = "https://channels.nixos.org/nixos-25.05/nixexprs.tar.xz";

/// Dispatch the build of a container's image for one commit, follow it, verify the
/// pushed tags, and optionally pin the new tag in argocd/.
#[derive(Debug, Parser)]
#[command(version, after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    /// The container: a directory under containers/.
    pub name: String,

    /// The commit to build: a SHA, branch or tag, resolved here to its full SHA
    /// [default: HEAD].
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,

    /// Show what would be built and dispatched, and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Follow the run to its end; on success check each expected tag in the registry,
    /// on failure print the tail of each failed job's log and exit 1.
    #[arg(long)]
    pub wait: bool,

    /// Seconds --wait waits for the run to appear and to end before giving up (exit 3).
    #[arg(long, default_value = "3600", value_name = "SECS",
          value_parser = crate::commands::flags::parse_timeout)]
    pub wait_timeout: Duration,

    /// Seconds between polls of the run under --wait.
    #[arg(long, default_value = "3", value_name = "SECS",
          value_parser = crate::commands::flags::parse_timeout)]
    pub interval: Duration,

    /// Build even when a tag of this commit is already in the registry (it is
    /// overwritten).
    #[arg(long)]
    pub force: bool,

    /// Set the container's pin in argocd/ to the new tag (needs --wait, unless the tag
    /// is already in the registry).
    #[arg(long)]
    pub pin: bool,

    /// With --pin: pin a commit that is not on main.
    #[arg(long, requires = "pin")]
    pub allow_branch: bool,

    /// With --pin: commit the changed manifests.
    #[arg(long, requires = "pin")]
    pub commit: bool,

    /// The workflow file to dispatch, in .forgejo/workflows.
    #[arg(
        long,
        env = "BUILD_WORKFLOW",
        default_value = "build-container.yaml",
        value_name = "FILE"
    )]
    pub workflow: String,

    /// The branch whose workflow file runs (the commit built is --ref, passed as input).
    #[arg(long, default_value = "main", value_name = "BRANCH")]
    pub workflow_ref: String,

    /// The main branch, for --pin's check that the commit is on it [default:
    /// origin/main if present, else main].
    #[arg(long, value_name = "REF")]
    pub main_ref: Option<String>,

    /// Build here, in a Dagger engine, instead of dispatching the build workflow
    /// (the engine from DAGGER_SESSION_PORT/DAGGER_SESSION_TOKEN, as `dagger run` sets
    /// them, else the dagger CLI on PATH). Without --publish or --export it only checks
    /// that the image builds.
    #[arg(long, help_heading = LOCAL, conflicts_with_all = ["wait", "pin", "force", "dry_run"])]
    pub local: bool,

    /// With --local: push the image to <registry>/<prefix>/<name>:<tag> and print the
    /// reference with its digest. Registry credentials reach the engine only as a
    /// Dagger secret.
    #[arg(long, help_heading = LOCAL, requires = "local", conflicts_with = "export")]
    pub publish: bool,

    /// With --local: write the image to PATH, in a directory that exists, as a tarball `docker load` accepts.
    #[arg(long, help_heading = LOCAL, requires = "local", value_name = "PATH")]
    pub export: Option<PathBuf>,

    /// With --local: the build to run when the container has several [default:
    /// native, then dockerfile, then nix].
    #[arg(long, help_heading = LOCAL, requires = "local", value_enum)]
    pub kind: Option<BuildKind>,

    /// With --local: when a step fails, run the build again under `dagger run -i`, which
    /// opens a shell in the failing step (needs the dagger CLI and a terminal).
    #[arg(long, help_heading = LOCAL, requires = "local")]
    pub interactive: bool,

    /// With --local: seconds the engine may take over one build before giving up (exit 3).
    #[arg(long, help_heading = LOCAL, default_value = "3600", value_name = "SECS",
          value_parser = crate::commands::flags::parse_timeout)]
    pub build_timeout: Duration,

    /// With --local: the nixpkgs `default.nix` builds import, as NIX_PATH's
    /// `nixpkgs=` (a tarball URL or a channel).
    #[arg(long, help_heading = LOCAL, env = "NIX_BUILD_NIXPKGS", value_name = "URL",
          default_value = DEFAULT_NIXPKGS)]
    pub nixpkgs: String,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub forge: ForgeArgs,

    #[command(flatten)]
    pub registry: RegistryArgs,

    #[command(flatten)]
    pub http: HttpArgs,

    #[command(flatten)]
    pub output: OutputArgs,
}

/// One build the dispatch is expected to push.
#[derive(Debug, Serialize)]
pub struct ExpectedBuild {
    pub kind: BuildKind,
    pub version: String,
    pub tag: String,
    /// `<registry>/<prefix>/<name>:<tag>`.
    pub image: String,
    /// Whether the registry has the tag (checked before the dispatch and after the run).
    pub in_registry: bool,
    /// Its manifest digest, when the registry has it and says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// The run the dispatch started.
#[derive(Debug, Serialize)]
pub struct DispatchedRunReport {
    pub number: i64,
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

/// Everything this run of the tool did, for `--json`.
#[derive(Debug, Default, Serialize)]
pub struct Outcome {
    pub container: String,
    pub commit: String,
    pub builds: Vec<ExpectedBuild>,
    pub dry_run: bool,
    /// The builds were already in the registry and nothing was dispatched.
    pub already_built: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<DispatchedRunReport>,
    /// Manifests whose pin was moved, relative to the repository.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pinned: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pin_commit: Option<String>,
}

impl Report for Outcome {
    /// The text form was printed step by step as it happened; this is only the JSON.
    fn render(&self, _out: &mut dyn Write, _style: Style) -> io::Result<()> {
        Ok(())
    }
}

/// Progress lines on stdout in text mode; nothing in `--json` mode, where the one
/// document at the end says it all.
struct Steps<'a> {
    printer: &'a mut Printer,
}

impl Steps<'_> {
    fn say(&mut self, line: impl std::fmt::Display) -> Result<()> {
        self.printer.step(line)
    }

    fn style(&self) -> Style {
        self.printer.style()
    }

    /// Lines of a job's log, through the same sink as `runner-logs`: colour codes
    /// stripped unless the output is a colour terminal.
    fn log_lines(&mut self, lines: &[String]) -> Result<()> {
        let keep_colour = self.printer.style().color;
        self.printer.step_with(|out| {
            let mut sink = LogSink::new(out, keep_colour);
            for line in lines {
                sink.write_log(line.as_bytes())?;
                sink.write_log(b"\n")?;
            }
            Ok(())
        })
    }
}

pub fn run(args: Args) -> Result<()> {
    let mut printer = Printer::stdout(&args.output);
    let mut outcome = Outcome {
        dry_run: args.dry_run,
        ..Outcome::default()
    };
    let result = release(&args, &mut printer, &mut outcome);
    printer.finish(&outcome, result)
}

fn release(args: &Args, printer: &mut Printer, outcome: &mut Outcome) -> Result<()> {
    let root = args.repo.root()?;
    let container = containers::find(&root, &args.name)?;
    if container.kinds.is_empty() {
        return Err(Error::not_found(format!(
            "{} has no build file (Dockerfile, default.nix or container.rs)",
            container.rel_path()
        )));
    }
    let repo = git::open_repo(&root)?;
    let commit = git::resolve_commit(&repo, args.git_ref.as_deref().unwrap_or("HEAD"))?;
    let sha = commit.to_string();
    outcome.container = container.name.clone();
    outcome.commit = sha.clone();

    let services = ServiceFile::load(&root)?;
    let services = services.index();
    let http = args.http.config();
    let forge = args.forge.connect(&http, &root)?;
    let registry = Registry::new(crate::http::Client::new(&http)?, &args.registry.settings())?;
    let repository = args.registry.repository(&container.name);
    let registry_host = registry.host().to_owned();
    for kind in &container.kinds {
        let version = extract::resolve_version(&container, *kind, &services)?.version;
        let tag = container_version::image_tag(&version, &sha, *kind);
        outcome.builds.push(ExpectedBuild {
            kind: *kind,
            image: format!("{registry_host}/{repository}:{tag}"),
            version,
            tag,
            in_registry: false,
            digest: None,
        });
    }

    let mut steps = Steps { printer };
    steps.say(format!("Container: {}", container.name))?;
    steps.say(format!("Commit:    {sha} ({})", &sha[..7]))?;
    steps.say("Expected builds:")?;
    for build in &outcome.builds {
        steps.say(format!("  {:<10} -> {}", build.kind.as_str(), build.image))?;
    }

    block_on(async {
        // Both are reads: ask the forge and the registry at once.
        let (pushed, existing) = futures::try_join!(
            forge.commit_exists(&sha),
            existing_builds(&registry, &repository, outcome)
        )?;
        if !pushed {
            return Err(Error::not_found(format!(
                "commit {} is not on the forge ({})",
                &sha[..7],
                forge.repo()
            ))
            .hint("push it before building it: git push origin HEAD"));
        }
        if !existing.is_empty() && !args.force {
            outcome.already_built = true;
            for build in outcome.builds.iter().filter(|b| b.in_registry) {
                steps.say(format!(
                    "Already in the registry: {}{}",
                    build.image,
                    digest_suffix(build)
                ))?;
            }
            let complete = existing.len() == outcome.builds.len();
            if args.pin && complete {
                return pin(args, &root, &repo, &registry_host, outcome, &mut steps);
            }
            let missing: Vec<&str> = outcome
                .builds
                .iter()
                .filter(|b| !b.in_registry)
                .map(|b| b.tag.as_str())
                .collect();
            return Err(Error::failed(format!(
                "{} of {}'s tags for commit {} are already in the registry; tags are immutable, nothing was dispatched",
                existing.len(),
                container.name,
                &sha[..7]
            ))
            .hint(match (args.pin, complete) {
                (false, true) => {
                    "pass --force to build and push them again, or --pin to pin what is there"
                        .to_owned()
                }
                // --pin pins only a whole build: the missing tags come from a new run.
                _ => format!(
                    "missing: {}; pass --force --wait to build them all again{}",
                    missing.join(", "),
                    if args.pin { " and pin them" } else { "" }
                ),
            }));
        }
        if args.pin && !args.wait {
            return Err(
                Error::usage("--pin needs --wait when the tag is not in the registry yet")
                    .hint("add --wait, so the pin moves only once the image is pushed"),
            );
        }
        let inputs = BTreeMap::from([
            ("container".to_owned(), container.name.clone()),
            ("ref".to_owned(), sha.clone()),
        ]);
        if args.dry_run {
            steps.say(format!(
                "Would dispatch {} on {} with inputs container={} ref={sha}",
                args.workflow, args.workflow_ref, container.name
            ))?;
            if args.wait {
                steps.say("Would follow the run, then check each tag in the registry")?;
            }
            if args.pin {
                steps.say("Would then pin the new tag in argocd/")?;
            }
            return Ok(());
        }
        let started = dispatch(args, &forge, &inputs, outcome, &mut steps).await?;
        if !args.wait {
            steps.say(format!(
                "Follow it with: runner-logs {} --follow",
                started.number
            ))?;
            return Ok(());
        }
        let waiting = Instant::now();
        let run = match started.run {
            Some(run) => run,
            None => {
                forge
                    .wait_for_run(started.number, args.wait_timeout)
                    .await?
            }
        };
        let left = args.wait_timeout.saturating_sub(waiting.elapsed());
        follow(args, &forge, run, left, outcome, &mut steps).await?;
        verify(&registry, &repository, outcome, &mut steps).await?;
        if args.pin {
            return pin(args, &root, &repo, &registry_host, outcome, &mut steps);
        }
        Ok(())
    })
}

/// Which expected builds the registry already has; records their digests.
async fn existing_builds(
    registry: &Registry,
    repository: &str,
    outcome: &mut Outcome,
) -> Result<Vec<String>> {
    let answers = futures::future::join_all(
        outcome
            .builds
            .iter()
            .map(|b| registry.manifest(repository, &b.tag)),
    )
    .await;
    let mut existing = Vec::new();
    for (build, answer) in outcome.builds.iter_mut().zip(answers) {
        if let Manifest::Present { digest } = answer? {
            build.in_registry = true;
            build.digest = digest;
            existing.push(build.tag.clone());
        }
    }
    Ok(existing)
}

/// ` sha256:…`, or nothing when the registry sent no digest.
fn digest_suffix(build: &ExpectedBuild) -> String {
    build
        .digest
        .as_deref()
        .map(|d| format!(" {d}"))
        .unwrap_or_default()
}

/// The run a dispatch started: its number, and the run itself when finding
/// the number took listing the runs.
struct Started {
    number: i64,
    run: Option<Run>,
}

/// Sends the one dispatch and says which run it started. Forgejo v11+ answers with the
/// run; before that, and on Gitea, the run is found among the newest (see
/// [`Forge::find_dispatched_run`]).
async fn dispatch(
    args: &Args,
    forge: &Forge,
    inputs: &BTreeMap<String, String>,
    outcome: &mut Outcome,
    steps: &mut Steps<'_>,
) -> Result<Started> {
    let answer = forge
        .dispatch(&args.workflow, &args.workflow_ref, inputs)
        .await?;
    let (started, url) = match answer {
        // Not looked up: before Forgejo v12 a run is listed only once a runner takes a
        // job, and the dispatch is done whether or not one has.
        Dispatched::Run(created) => (
            Started {
                number: created.number,
                run: None,
            },
            created.url,
        ),
        Dispatched::NoRunInfo { dispatched_at } => {
            let run = forge
                .find_dispatched_run(
                    &args.workflow,
                    &dispatched_at,
                    dispatch_lookup_timeout(args),
                )
                .await?;
            let url = run.url.clone();
            (
                Started {
                    number: run.number,
                    run: Some(run),
                },
                url,
            )
        }
    };
    steps.say(format!("Dispatched: run #{} {url}", started.number))?;
    outcome.run = Some(DispatchedRunReport {
        number: started.number,
        url,
        status: None,
    });
    Ok(started)
}

/// How long to look for the run a dispatch without run info started: the forge lists it
/// within seconds; a minute covers a busy one without hiding a dispatch that did not land.
fn dispatch_lookup_timeout(args: &Args) -> Duration {
    args.wait_timeout.min(Duration::from_secs(60))
}

/// Follows the run to its end, one line per job status change; a failed run prints
/// the tail of each failed job's log and exits 1.
async fn follow(
    args: &Args,
    forge: &Forge,
    run: Run,
    budget: Duration,
    outcome: &mut Outcome,
    steps: &mut Steps<'_>,
) -> Result<()> {
    let number = run.number;
    let style = steps.style();
    let mut follower = RunFollower::new(forge, run, args.interval);
    let finished = tokio::time::timeout(budget, async {
        while let Some(event) = follower.next().await? {
            match event {
                RunEvent::Job { job, .. } => steps.say(job_status_line(&job, style))?,
                RunEvent::Finished { run, .. } => return Ok(Some(run)),
            }
        }
        Ok::<_, Error>(None)
    })
    .await
    .map_err(|_| {
        Error::remote(format!(
            "run #{number} did not end within {} s (--wait-timeout)",
            args.wait_timeout.as_secs_f64()
        ))
        .hint(format!(
            "it goes on without us; follow it with: runner-logs {number} --follow"
        ))
    })??;
    let Some(run) = finished else {
        return Err(Error::remote(format!(
            "run #{number} vanished while it was followed"
        )));
    };
    if let Some(report) = &mut outcome.run {
        report.status = Some(run.status);
    }
    steps.say(format!("Run #{number} ended: {}", run.status))?;
    if run.status == Status::Success {
        return Ok(());
    }
    for tail in forge.failed_job_log_tails(&run, 20).await? {
        steps.say(format!(
            "==> {}: {} <==",
            job_title(&tail.job),
            tail.job.status
        ))?;
        match tail.lines {
            Ok(lines) => steps.log_lines(&lines)?,
            Err(err) => steps.say(format!("(log not readable: {})", err.message()))?,
        }
    }
    Err(
        Error::failed(format!("run #{number} ended with {}", run.status))
            .hint(format!("the whole log: runner-logs {number} --failed")),
    )
}

/// After a successful run, each expected tag must be in the registry.
async fn verify(
    registry: &Registry,
    repository: &str,
    outcome: &mut Outcome,
    steps: &mut Steps<'_>,
) -> Result<()> {
    existing_builds(registry, repository, outcome).await?;
    let missing: Vec<&str> = outcome
        .builds
        .iter()
        .filter(|b| !b.in_registry)
        .map(|b| b.image.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::failed(format!(
            "the run succeeded but the registry lacks {}",
            missing.join(", ")
        ))
        .hint("check the workflow's push step, and that it pushes to this registry and prefix"));
    }
    for build in &outcome.builds {
        steps.say(format!("Pushed: {}{}", build.image, digest_suffix(build)))?;
    }
    Ok(())
}

/// Moves the container's pins in argocd/ to the new tag, and commits them if asked.
fn pin(
    args: &Args,
    root: &Path,
    repo: &git2::Repository,
    registry_host: &str,
    outcome: &mut Outcome,
    steps: &mut Steps<'_>,
) -> Result<()> {
    let commit = git2::Oid::from_str(&outcome.commit)
        .map_err(|e| Error::usage(format!("bad commit {}: {e}", outcome.commit)))?;
    if !args.allow_branch && !git::is_on_main(repo, commit, args.main_ref.as_deref())? {
        return Err(Error::failed(format!(
            "commit {} is not on main; a branch build is not fit to pin",
            &outcome.commit[..7]
        ))
        .hint("merge it and build from main, or pass --allow-branch"));
    }
    // The build production runs: a Dockerfile or native build before the nix one.
    let build = outcome
        .builds
        .iter()
        .find(|b| b.kind != BuildKind::Nix)
        .or(outcome.builds.first())
        .ok_or_else(|| Error::failed("nothing was built to pin"))?;
    let repository = args.registry.repository(&outcome.container);
    let target = PinTarget {
        registry_host,
        repository: &repository,
        new_tag: &build.tag,
    };
    let argocd = root.join("argocd");
    let files: Vec<String> = pins::read_pins(root, &argocd, registry_host)?
        .into_iter()
        .filter(|p| p.repository == repository)
        .map(|p| p.file)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if files.is_empty() {
        return Err(Error::not_found(format!(
            "no pin of {registry_host}/{repository} under argocd/"
        ))
        .hint("add the image to the container's kustomization or deployment first"));
    }
    if args.dry_run {
        for file in &files {
            steps.say(format!("Would pin: {file} -> {}", build.tag))?;
        }
        return Ok(());
    }
    let mut paths: Vec<PathBuf> = Vec::new();
    for file in &files {
        let path = root.join(file);
        let edit = set_pin_in_file(&path, file, &target)?;
        if edit.changed() {
            steps.say(format!("Pinned: {file} -> {}", build.tag))?;
            outcome.pinned.push(file.clone());
            paths.push(path);
        } else {
            steps.say(format!("Already pinned: {file} at {}", build.tag))?;
        }
    }
    if args.commit && !paths.is_empty() {
        let message = format!("{}: pin {}", outcome.container, build.tag);
        let oid = git::commit_paths(repo, &paths, &message, None)?;
        steps.say(format!("Committed: {} {message}", &oid.to_string()[..7]))?;
        outcome.pin_commit = Some(oid.to_string());
    }
    Ok(())
}
