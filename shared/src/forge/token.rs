//! The forge token: where it comes from, and how it stays secret.
//!
//! Operators keep the token in a password manager (`--token-cmd 'op read op://…'`), a
//! file (`--token-file`, e.g. a mounted secret in CI) or `FORGEJO_TOKEN`. The value
//! lives only inside [`Token`], whose `Debug` prints `***` and whose header is marked
//! sensitive, so no error, `--debug` line or panic message can show it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use reqwest::header::HeaderValue;

use crate::error::{Error, Result};

/// Where to read the token from; flags win over the environment.
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

/// A secret API token. Never `Display`, and `Debug` hides it.
#[derive(Clone)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    pub fn new(value: impl Into<String>) -> Result<Self> {
        let value = value.into().trim().to_owned();
        if value.is_empty() {
            return Err(Error::usage("the forge token is empty"));
        }
        if HeaderValue::from_str(&value).is_err() {
            return Err(Error::usage(
                "the forge token contains characters that cannot be sent in a header",
            ));
        }
        Ok(Token(value))
    }

    /// `Authorization: token <T>`, marked sensitive so HTTP debug output skips it.
    pub fn header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("token {}", self.0))
            .expect("checked to be a valid header value in Token::new");
        value.set_sensitive(true);
        value
    }

    /// Replaces every occurrence of the token in text that is about to be shown.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
}

impl TokenArgs {
    /// The token, if one was given; `None` means anonymous (public repositories).
    pub fn resolve(&self) -> Result<Option<Token>> {
        if let Some(path) = &self.token_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("cannot read --token-file {}: {e}", path.display()))
            })?;
            let first = text.lines().next().unwrap_or_default();
            return Token::new(first)
                .map(Some)
                .map_err(|e| e.context(format!("--token-file {}", path.display())));
        }
        if let Some(cmd) = &self.token_cmd {
            return run_token_command(cmd).map(Some);
        }
        match std::env::var("FORGEJO_TOKEN") {
            Ok(value) if !value.trim().is_empty() => Token::new(value).map(Some),
            _ => Ok(None),
        }
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
        .map_err(|e| Error::usage(format!("cannot run --token-cmd: {e}")))?;
    if !output.status.success() {
        return Err(Error::usage(format!(
            "--token-cmd failed ({}); its output was not used",
            output.status
        ))
        .hint(
            "run the command by hand to see why, e.g. whether the password manager is signed in",
        ));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| Error::usage("--token-cmd printed something that is not UTF-8"))?;
    Token::new(text).map_err(|e| e.context("--token-cmd"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_scrub_never_show_the_token() {
        let token = Token::new("s3cr3t-value\n").unwrap();
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(token.scrub("bad s3cr3t-value here"), "bad *** here");
        assert!(token.header().is_sensitive());
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
