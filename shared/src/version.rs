//! App versions: validation, comparison, and ordering.
//!
//! Declared versions are compared with a leading `v` removed (`v0.61.1` and `0.61.1`
//! agree), as the repo's service file has always been. Ordering follows semver
//! precedence for the numeric release (`0.4.10` after `0.4.9`, `1.2` equal to `1.2.0`)
//! and for pre-releases (`1.0.0-rc1` before `1.0.0`; among themselves by the semver
//! crate's precedence when they are valid semver), but a distro revision such as
//! `4.1.1-r1` sorts *after* `4.1.1`, because it is a later build of the same release —
//! strict semver would put it before.

use std::cmp::Ordering;

use crate::error::{Error, Result};

/// The version without one leading `v` (or `V`).
pub fn strip_v(version: &str) -> &str {
    version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version)
}

/// Checks that a declared version can name an image: a digit first (after an optional
/// `v`), then only characters an image tag allows.
pub fn validate(version: &str, source: &str) -> Result<()> {
    let bare = strip_v(version);
    let ok = bare.starts_with(|c: char| c.is_ascii_digit())
        && bare.len() <= 100
        && bare
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "malformed version '{}' in {source}",
            version.escape_debug()
        ))
        .hint("a version starts with a digit (optionally after 'v'), like 1.2.3 or v4.1.1-r1"))
    }
}

/// Whether two declared versions agree once a leading `v` is removed.
pub fn same(a: &str, b: &str) -> bool {
    strip_v(a) == strip_v(b)
}

/// An ordering key for versions; see the module docs for the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionKey {
    release: Vec<u64>,
    /// -1 for a pre-release (`-rc1`, `-beta`), 0 for none, 1 for anything else (`-r1`).
    suffix_rank: i8,
    /// A pre-release as semver reads it (`rc.10` after `rc.9`, `alpha` before
    /// `alpha.1`), when it is valid semver; such pre-releases compare by semver's rules.
    pre: Option<semver::Prerelease>,
    suffix: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    Number(u64),
    Text(String),
}

const PRE_RELEASE_WORDS: &[&str] = &["alpha", "beta", "rc", "pre", "dev", "a", "b"];

impl VersionKey {
    pub fn new(version: &str) -> Self {
        let bare = strip_v(version);
        let end = bare
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(bare.len());
        let (release_text, suffix_text) = bare.split_at(end);
        let mut release: Vec<u64> = release_text
            .split('.')
            .filter(|part| !part.is_empty())
            .map(|part| part.parse().unwrap_or(u64::MAX))
            .collect();
        while release.last() == Some(&0) {
            release.pop();
        }
        let suffix_text = suffix_text.trim_start_matches(['-', '+', '_', '.']);
        let suffix = tokens(suffix_text);
        let suffix_rank = match suffix.first() {
            None => 0,
            Some(Token::Text(word)) if PRE_RELEASE_WORDS.contains(&word.as_str()) => -1,
            Some(_) => 1,
        };
        let pre = (suffix_rank == -1)
            .then(|| semver::Prerelease::new(suffix_text).ok())
            .flatten();
        VersionKey {
            release,
            suffix_rank,
            pre,
            suffix,
        }
    }
}

fn tokens(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            out.push(Token::Number(digits.parse().unwrap_or(u64::MAX)));
        } else if c.is_ascii_alphabetic() {
            let mut word = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_alphabetic()) {
                word.push(d.to_ascii_lowercase());
                chars.next();
            }
            out.push(Token::Text(word));
        } else {
            chars.next();
        }
    }
    out
}

impl Ord for VersionKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.release
            .cmp(&other.release)
            .then(self.suffix_rank.cmp(&other.suffix_rank))
            .then_with(|| match (&self.pre, &other.pre) {
                (Some(a), Some(b)) => a.cmp(b),
                _ => self.suffix.cmp(&other.suffix),
            })
    }
}

impl PartialOrd for VersionKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(versions: &[&str]) -> Vec<String> {
        let mut v: Vec<&str> = versions.to_vec();
        v.sort_by_key(|s| VersionKey::new(s));
        v.into_iter().map(str::to_owned).collect()
    }

    #[test]
    fn numeric_parts_compare_as_numbers_not_strings() {
        assert_eq!(
            sorted(&["v0.4.10", "v0.4.9", "0.4.2"]),
            ["0.4.2", "v0.4.9", "v0.4.10"]
        );
    }

    #[test]
    fn pre_releases_sort_before_and_distro_revisions_after_the_release() {
        assert_eq!(
            sorted(&["4.1.1-r1", "4.1.1", "4.1.1-rc1", "4.1.1-r2", "4.1.0"]),
            ["4.1.0", "4.1.1-rc1", "4.1.1", "4.1.1-r1", "4.1.1-r2"]
        );
    }

    #[test]
    fn semver_pre_releases_follow_semver_precedence() {
        assert_eq!(
            sorted(&[
                "1.0.0",
                "1.0.0-rc.10",
                "1.0.0-alpha.1",
                "1.0.0-rc.9",
                "1.0.0-alpha",
                "1.0.0-beta"
            ]),
            [
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta",
                "1.0.0-rc.9",
                "1.0.0-rc.10",
                "1.0.0"
            ]
        );
    }

    #[test]
    fn leading_v_and_trailing_zero_components_do_not_matter() {
        assert_eq!(VersionKey::new("v1.2"), VersionKey::new("1.2.0"));
        assert!(same("v0.61.1", "0.61.1"));
        assert!(!same("0.61.1", "0.61.2"));
    }

    #[test]
    fn validate_accepts_tag_safe_versions_and_refuses_others() {
        for good in ["1.2.3", "v4.1.1-r1", "2026.2.0", "3.8.2_1"] {
            assert!(validate(good, "x").is_ok(), "{good}");
        }
        for bad in ["latest", "", "v", "1.2.3+build", "1.2 3", "${version}"] {
            let err = validate(bad, "containers/a/Dockerfile").unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
    }
}
