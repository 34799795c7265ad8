//! One error type for the whole suite.
//!
//! Every failure a tool can meet ends up as an [`Error`]: a one-line message that says
//! what failed, optional hints that say what to do, and a [`Kind`] that fixes the exit
//! code. Scripts and workflows branch on the exit code, so the mapping is the contract
//! (documented in every tool's `--help`):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the check or job failed (version mismatch, failed run, missing pin) |
//! | 2 | usage or bad input (bad flag, malformed file, ref that does not resolve) |
//! | 3 | remote unreachable or refused (network, timeout, 401/403, 5xx after retries) |
//! | 4 | not found (unknown container, run, job or repository) |

use std::fmt;

/// What went wrong, as far as a caller of the tool cares: it decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The thing checked is not right (exit 1).
    Failed,
    /// The input given is not usable (exit 2).
    Usage,
    /// A remote could not be reached, refused, or kept failing (exit 3).
    Remote,
    /// What was asked for does not exist (exit 4).
    NotFound,
    /// Stdout was closed by the reader (`| head`): stop quietly, exit 0, as ripgrep does.
    BrokenPipe,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::Usage => 2,
            Kind::Remote => 3,
            Kind::NotFound => 4,
            Kind::BrokenPipe => 0,
        }
    }
}

/// A failure with its exit code, its one-line message and hints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: Kind,
    message: String,
    hints: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hints: Vec::new(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message)
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }

    pub fn remote(message: impl Into<String>) -> Self {
        Self::new(Kind::Remote, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// Adds a line telling the user what to do about it.
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Prefixes the message with what was being done, keeping kind and hints.
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The same error with `f` applied to its message and each hint: for removing
    /// secrets that something quoted back.
    #[must_use]
    pub fn map_text(mut self, f: impl Fn(&str) -> String) -> Self {
        self.message = f(&self.message);
        for hint in &mut self.hints {
            *hint = f(hint);
        }
        self
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hints(&self) -> &[String] {
        &self.hints
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<git2::Error> for Error {
    fn from(err: git2::Error) -> Self {
        Error::usage(format!("git: {}", err.message()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_documented_exit_code() {
        let codes: Vec<u8> = [Kind::Failed, Kind::Usage, Kind::Remote, Kind::NotFound]
            .iter()
            .map(|k| k.exit_code())
            .collect();
        assert_eq!(codes, [1, 2, 3, 4]);
    }

    #[test]
    fn context_prefixes_message_and_keeps_hints() {
        let err = Error::not_found("no such tag")
            .hint("list tags with container-list")
            .context("registry.example/app");
        assert_eq!(err.message(), "registry.example/app: no such tag");
        assert_eq!(err.hints(), ["list tags with container-list"]);
        assert_eq!(err.exit_code(), 4);
    }
}
