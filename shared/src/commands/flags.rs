//! Flag groups several tools share, and the parsers that validate them.
//!
//! Why here and not beside the clients: clients take plain settings structs
//! ([`HttpConfig`](crate::http::HttpConfig) and the like) so they can be reused by tools
//! with other command lines and built in tests without clap; turning flags into
//! settings is the command layer's job.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::argocd::ArgoCd;
use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::forge::repo::{RepoRef, origin_remote};
use crate::forge::token::Token;
use crate::http::{Client, DEFAULT_CONCURRENCY, HttpConfig};

/// Network flags shared by the tools that talk HTTP.
#[derive(Clone, Debug, clap::Args)]
pub struct HttpArgs {
    /// Seconds a request may take, its retries included (the waits between retries
    /// come on top, 30 s at most), and each read of a streamed log; a stalled server
    /// ends the run with exit 3 after about this long.
    #[arg(long, env = "OPSKIT_TIMEOUT", default_value = "10", value_name = "SECS",
          value_parser = parse_timeout)]
    pub timeout: Duration,

    /// How many times to retry a request that failed with 408, 429, 5xx or a network
    /// error (never a request that changes something, such as a POST).
    #[arg(long, env = "OPSKIT_RETRIES", default_value_t = 3, value_name = "N")]
    pub retries: u32,

    /// How many requests may be in flight at once.
    #[arg(long, env = "OPSKIT_CONCURRENCY", default_value_t = DEFAULT_CONCURRENCY as u32,
          value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,

    /// Allow plain http:// to hosts that are not loopback.
    // From the environment, 1/true/yes/on turn it on and 0/false/no/off/empty off, as
    // shells and CI systems write booleans.
    #[arg(long, env = "OPSKIT_INSECURE", value_parser = clap::builder::FalseyValueParser::new())]
    pub insecure: bool,

    /// Log each request (method, URL without credentials, status, time) to stderr.
    #[arg(long, env = "OPSKIT_DEBUG", value_parser = clap::builder::FalseyValueParser::new())]
    pub debug: bool,
}

impl HttpArgs {
    /// The client settings these flags describe.
    pub fn config(&self) -> HttpConfig {
        HttpConfig {
            timeout: self.timeout,
            retries: self.retries,
            concurrency: self.concurrency as usize,
            insecure: self.insecure,
            debug: self.debug,
            timeout_flag: "--timeout",
        }
    }
}

/// The longest `--timeout` taken: a day. Anything longer is a typo, and `inf` or
/// `1e300` would overflow a `Duration`.
const MAX_TIMEOUT_SECS: f64 = 86_400.0;

/// `--timeout SECS`: a finite number of seconds above zero and at most a day, with or
/// without an `s` after it (`120s`, as `argocd app wait --timeout` is often written).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let secs: f64 = trimmed
        .strip_suffix('s')
        .unwrap_or(trimmed)
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds (e.g. 10 or 2.5)"))?;
    if !secs.is_finite() || secs <= 0.0 || secs > MAX_TIMEOUT_SECS {
        return Err(format!(
            "'{text}' is out of range: give seconds above 0 and at most {MAX_TIMEOUT_SECS}"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The registry flags shared by the tools that read images.
#[derive(Clone, Debug, clap::Args)]
pub struct RegistryArgs {
    /// The registry: host[:port] or URL. Plain http only for loopback (or --insecure).
    #[arg(long, env = "REGISTRY", value_name = "HOST")]
    pub registry: String,

    /// The path under which the suite's images live: image = <registry>/<prefix>/<name>.
    #[arg(long, env = "IMAGE_PREFIX", value_name = "PATH", default_value = "")]
    pub image_prefix: String,

    /// Registry username (with --password; a zot API key's owner).
    #[arg(long, env = "REGISTRY_USERNAME", value_name = "USER")]
    pub username: Option<String>,

    /// Registry password or zot API key. Prefer the environment variable to the flag.
    #[arg(
        long,
        env = "REGISTRY_PASSWORD",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// Ask for this many entries per list page (default: the registry's own page size).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
}

impl RegistryArgs {
    /// The registry client's settings these flags describe.
    pub fn settings(&self) -> crate::registry::Settings {
        crate::registry::Settings {
            registry: self.registry.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            page_size: self.page_size,
        }
    }

    /// The image prefix without leading or trailing slashes; empty for none.
    pub fn prefix(&self) -> &str {
        self.image_prefix.trim_matches('/')
    }

    /// `<prefix>/<name>`, or `<name>` without a prefix.
    pub fn repository(&self, name: &str) -> String {
        match self.prefix() {
            "" => name.to_owned(),
            prefix => format!("{prefix}/{name}"),
        }
    }
}

/// The forge and repository a tool talks to, and its token.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ForgeArgs {
    /// The repository as owner/name. Default: from the origin remote.
    #[arg(short = 'R', long, env = "FORGE_REPO", value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// The forge's web URL, e.g. https://forge.example. Default: from an https origin.
    #[arg(long, env = "FORGE_URL", value_name = "URL")]
    pub forge_url: Option<String>,

    #[command(flatten)]
    pub token: TokenArgs,
}

impl ForgeArgs {
    /// The forge client: flags and environment first, then the origin remote of the
    /// checkout around `dir` (read at most once, and only when something is missing).
    pub fn connect(&self, http: &HttpConfig, dir: &Path) -> Result<Forge> {
        let origin = || origin_remote(dir);
        // Empty counts as not given: `FORGE_URL= mise run …` asks for the origin remote
        // over mise.toml's default.
        let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let (repo, origin_url) = match given(&self.repo) {
            Some(repo) => (RepoRef::parse(&repo)?, None),
            None => {
                let remote = origin()?;
                (remote.repo, Some(remote.forge_url))
            }
        };
        let forge_url = match given(&self.forge_url) {
            Some(url) => Some(url),
            None => origin_url.unwrap_or_else(|| origin().ok().and_then(|r| r.forge_url)),
        }
        .ok_or_else(|| {
            Error::usage("no forge URL given")
                .hint("pass --forge-url https://forge.example or set FORGE_URL")
        })?;
        let token = self.token.resolve()?;
        Forge::new(Client::new(http)?, &forge_url, repo, token)
    }
}

/// Where to read the forge token from; flags win over the environment.
///
/// Operators keep the token in a password manager (`--token-cmd 'op read op://…'`), a
/// file (`--token-file`, e.g. a mounted secret in CI) or `FORGEJO_TOKEN`. Resolving it
/// is the command's job; the forge client takes the resolved [`Token`].
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TokenArgs {
    /// Read the forge token from this file (first line). Default: $FORGEJO_TOKEN.
    #[arg(long, value_name = "PATH", conflicts_with = "token_cmd")]
    pub token_file: Option<PathBuf>,

    /// Run this shell command and use its output as the forge token,
    /// e.g. 'op read op://vault/forgejo/api-token'.
    #[arg(long, value_name = "CMD")]
    pub token_cmd: Option<String>,
}

impl TokenArgs {
    /// The token, if one was given; `None` means anonymous (public repositories).
    pub fn resolve(&self) -> Result<Option<Token>> {
        resolve_token(
            self.token_file.as_deref(),
            self.token_cmd.as_deref(),
            "FORGEJO_TOKEN",
            ("--token-file", "--token-cmd"),
        )
    }
}

/// A token from a file (first line), else a command's output, else the environment
/// variable `env`; `None` when none is given. `flags` name the file and command flags
/// in errors.
fn resolve_token(
    file: Option<&Path>,
    cmd: Option<&str>,
    env: &str,
    (file_flag, cmd_flag): (&str, &str),
) -> Result<Option<Token>> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::usage(format!("cannot read {file_flag} {}: {e}", path.display()))
        })?;
        let first = text.lines().next().unwrap_or_default();
        return Token::new(first)
            .map(Some)
            .map_err(|e| e.context(format!("{file_flag} {}", path.display())));
    }
    if let Some(cmd) = cmd {
        return run_token_command(cmd)
            .map(Some)
            .map_err(|e| e.context(cmd_flag));
    }
    match std::env::var(env) {
        Ok(value) if !value.trim().is_empty() => {
            Token::new(value).map(Some).map_err(|e| e.context(env))
        }
        _ => Ok(None),
    }
}

/// The Argo CD server and where to read its token from; flags win over the
/// environment. The names follow the `argocd` CLI's environment (`ARGOCD_SERVER`,
/// `ARGOCD_AUTH_TOKEN`), so a workflow that ran `argocd app sync` needs no change.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ArgoCdArgs {
    /// Argo CD's API server: https://argocd.example, or a bare host (taken as https) as
    /// the argocd CLI takes it.
    #[arg(long, env = "ARGOCD_SERVER", value_name = "URL")]
    pub argocd_url: Option<String>,

    /// Read the Argo CD token from this file (first line). Default: $ARGOCD_AUTH_TOKEN.
    #[arg(long, value_name = "PATH", conflicts_with = "argocd_token_cmd")]
    pub argocd_token_file: Option<PathBuf>,

    /// Run this shell command and use its output as the Argo CD token,
    /// e.g. 'op read op://vault/argocd/token'.
    #[arg(long, value_name = "CMD")]
    pub argocd_token_cmd: Option<String>,
}

impl ArgoCdArgs {
    /// The Argo CD client; a missing server or token is a usage error (exit 2), found
    /// before anything is changed.
    pub fn connect(&self, http: &HttpConfig) -> Result<ArgoCd> {
        let url = self.argocd_url.as_deref().ok_or_else(|| {
            Error::usage("no Argo CD server given")
                .hint("pass --argocd-url https://argocd.example or set ARGOCD_SERVER")
        })?;
        let token = resolve_token(
            self.argocd_token_file.as_deref(),
            self.argocd_token_cmd.as_deref(),
            "ARGOCD_AUTH_TOKEN",
            ("--argocd-token-file", "--argocd-token-cmd"),
        )?
        .ok_or_else(|| {
            Error::usage("no Argo CD token given").hint(
                "set ARGOCD_AUTH_TOKEN, or pass --argocd-token-file or --argocd-token-cmd \
                 (`argocd account generate-token` makes one)",
            )
        })?;
        ArgoCd::new(Client::new(http)?, url, token)
    }
}

/// Runs `sh -c CMD`. Its stderr goes to the user (a password manager may prompt);
/// its stdout is the token and is never echoed, not even in the error for a failure.
fn run_token_command(cmd: &str) -> Result<Token> {
    let output = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::usage(format!("cannot run it: {e}")))?;
    if !output.status.success() {
        return Err(Error::usage(format!(
            "failed ({}); its output was not used",
            output.status
        ))
        .hint(
            "run the command by hand to see why, e.g. whether the password manager is signed in",
        ));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| Error::usage("it printed something that is not UTF-8"))?;
    Token::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_takes_positive_finite_seconds_up_to_a_day() {
        assert_eq!(parse_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_timeout("86400"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_timeout("120s"), Ok(Duration::from_secs(120)));
        for bad in [
            "inf", "1e300", "NaN", "0", "-1", "86401", "ten", "", "s", "2ss", "2m",
        ] {
            assert!(parse_timeout(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn a_bad_timeout_in_the_environment_is_a_usage_error_not_a_panic() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct Probe {
            #[command(flatten)]
            http: HttpArgs,
        }
        let err = Probe::try_parse_from(["probe", "--timeout", "inf"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn repository_joins_prefix_and_name() {
        let mut args = RegistryArgs {
            registry: "r".into(),
            image_prefix: "/opskit/".into(),
            username: None,
            password: Some("pw".into()),
            page_size: Some(5),
        };
        assert_eq!(args.repository("app"), "opskit/app");
        assert_eq!(args.prefix(), "opskit");
        let settings = args.settings();
        assert_eq!(
            (settings.registry.as_str(), settings.page_size),
            ("r", Some(5))
        );
        args.image_prefix.clear();
        assert_eq!(args.repository("app"), "app");
    }

    #[test]
    fn token_cmd_output_is_the_token_and_failures_do_not_echo_it() {
        let args = TokenArgs {
            token_cmd: Some("printf 'abc123\\n'".into()),
            ..TokenArgs::default()
        };
        let token = args.resolve().unwrap().unwrap();
        assert_eq!(token.scrub("abc123"), "***");
        let failing = TokenArgs {
            token_cmd: Some("echo leaked-secret; exit 3".into()),
            ..TokenArgs::default()
        };
        let err = failing.resolve().unwrap_err();
        assert!(
            !err.message().contains("leaked-secret"),
            "{}",
            err.message()
        );
        assert_eq!(err.exit_code(), 2);
    }
}
