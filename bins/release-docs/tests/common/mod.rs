//! Running `release-docs` as a process against the Forgejo test server, and the
//! repository and engine answers the chain's tests share.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::Path;

use testkit::cli::Outcome;
use testkit::forgejo::FakeForgejo;
use testkit::git::GitRepo;

/// quartz.config.ts as the engine hands it back: the three lines the build rewrites.
pub const QUARTZ_CONFIG: &str = "const config = {\n  configuration: {\n    pageTitle: \"Quartz 4\",\n    ignorePatterns: [\"private\"],\n    defaultDateType: \"created\",\n  },\n}\n";

/// This repository's towncrier setup and docs deployment manifest, a changelog with no
/// release yet, a docs page and one fragment, committed on main by a configured author.
pub fn docs_repo() -> GitRepo {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let repo = GitRepo::new();
    repo.git(&["config", "user.name", "Docs Bot"]);
    repo.git(&["config", "user.email", "docs@example.invalid"]);
    for file in ["towncrier.toml", "argocd/manifests/docs/deployment.yaml"] {
        repo.write(
            file,
            &std::fs::read_to_string(root.join(file)).expect("in this repository"),
        );
    }
    repo.write(
        "CHANGELOG.md",
        "# Changelog\n\n<!-- towncrier release notes start -->\n",
    )
    .write("docs/index.md", "# opskit\n")
    .write("docs/changelog.d/+speed.feature.md", "Faster listing.\n")
    .write("docs/changelog.d/.gitkeep", "");
    repo.commit("docs");
    repo
}

/// Runs `release-docs STEP ARGS…` on acme/app (unless ARGS give `--repo`) at `server`, in `dir`, with a clean
/// environment plus `token` (as `FORGEJO_TOKEN`) and `env`; the server's URL is
/// replaced by `[forge]` in what it printed.
pub fn run(
    server: &FakeForgejo,
    dir: &Path,
    token: Option<&str>,
    args: &[&str],
    env: &[(&str, &str)],
) -> Outcome {
    let bin = Path::new(env!("CARGO_BIN_EXE_release-docs"));
    let mut command = testkit::cli::command(bin, dir);
    command.args(args).args(["--forge-url", &server.url()]);
    if !args.contains(&"--repo") {
        command.args(["--repo", "acme/app"]);
    }
    command.env("OPSKIT_TIMEOUT", "5").envs(env.iter().copied());
    if let Some(token) = token {
        command.env("FORGEJO_TOKEN", token);
    }
    let mut out = testkit::cli::output(&mut command);
    out.stdout = out.stdout.replace(&server.url(), "[forge]");
    out.stderr = out.stderr.replace(&server.url(), "[forge]");
    out
}

/// The requests the server saw, as `METHOD path`, in order.
pub fn requests(server: &FakeForgejo) -> Vec<String> {
    server
        .seen()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect()
}
