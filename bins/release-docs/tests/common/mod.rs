//! Running `release-docs` as a process against the Forgejo test server.

use std::path::Path;

use testkit::cli::Outcome;
use testkit::forgejo::FakeForgejo;

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
