//! An API token (the forge's, Argo CD's): where it comes from, and how it stays secret.
//!
//! The client takes a resolved [`Token`]; where it comes from (`--token-cmd`,
//! `--token-file`, `FORGEJO_TOKEN`) is the command line's business
//! (`commands::flags::TokenArgs`). The value lives only inside [`Token`], whose `Debug`
//! prints `***` and whose header is marked sensitive, so no error, `--debug` line or
//! panic message can show it.

use reqwest::header::HeaderValue;

use crate::error::{Error, Result};

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
            return Err(Error::usage("the token is empty"));
        }
        if HeaderValue::from_str(&value).is_err() {
            return Err(Error::usage(
                "the token contains characters that cannot be sent in a header",
            ));
        }
        Ok(Token(value))
    }

    /// `Authorization: token <T>` (Forgejo), marked sensitive so HTTP debug output
    /// skips it.
    pub fn header(&self) -> HeaderValue {
        self.with_scheme("token")
    }

    /// `Authorization: Bearer <T>` (Argo CD), marked sensitive like [`Token::header`].
    pub fn bearer(&self) -> HeaderValue {
        self.with_scheme("Bearer")
    }

    fn with_scheme(&self, scheme: &str) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("{scheme} {}", self.0))
            .expect("checked to be a valid header value in Token::new");
        value.set_sensitive(true);
        value
    }

    /// Replaces every occurrence of the token in text that is about to be shown.
    pub fn scrub(&self, text: &str) -> String {
        text.replace(&self.0, "***")
    }
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
        assert!(token.bearer().is_sensitive());
        assert_eq!(token.bearer().to_str().unwrap(), "Bearer s3cr3t-value");
    }
}
