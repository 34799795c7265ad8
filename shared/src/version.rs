//! App versions: validation, comparison, and ordering.
//!
//! Declared versions are compared with a leading `v` removed (`v0.61.1` and `0.61.1`
//! agree), as the repo's service file has always been.
//!
//! Ordering is one rule, a total order: each version maps to a [`VersionKey`] and keys
//! compare field by field, so `==` and `cmp` can never disagree.
//!
//! - The numeric release compares part by part as numbers (`0.4.10` after `0.4.9`),
//!   trailing zero parts ignored (`1.2` equal to `1.2.0`).
//! - Then the suffix's kind: a pre-release (`-rc1`, `-beta.2`: it starts with `alpha`,
//!   `beta`, `rc`, `pre`, `dev`, `a` or `b`) before the bare release, and anything else
//!   after it — a distro revision such as `4.1.1-r1` is a later build of the same
//!   release, where strict semver would put it before.
//! - Then the suffix as tokens: runs of digits (compared as numbers) and runs of letters
//!   (compared case-insensitively), separators ignored, a number before a word and a
//!   shorter list before a longer one it starts. For dotted semver pre-releases this is
//!   semver's precedence (`alpha` < `alpha.1` < `alpha.beta` < `beta.2` < `rc.9` <
//!   `rc.10`); where semver compares a mixed identifier as text, the tokens read it as
//!   people do: `rc9` < `rc10`, and `rc9`, `rc.9`, `rc_9` and `RC9` are the same
//!   position.

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

/// An ordering key for versions; see the module docs for the rule. Equal keys are
/// the same position in the order, and only then (`Eq` and `Ord` are both derived from
/// the same fields).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionKey {
    release: Vec<u64>,
    /// -1 for a pre-release (`-rc1`, `-beta`), 0 for none, 1 for anything else (`-r1`).
    suffix_rank: i8,
    suffix: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
        let suffix = tokens(suffix_text);
        let suffix_rank = match suffix.first() {
            None => 0,
            Some(Token::Text(word)) if PRE_RELEASE_WORDS.contains(&word.as_str()) => -1,
            Some(_) => 1,
        };
        VersionKey {
            release,
            suffix_rank,
            suffix,
        }
    }
}

/// Digit runs and letter runs (lowercased); everything else separates them.
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
    fn mixed_pre_release_spellings_are_one_total_order() {
        // Was a cycle: rc.10 < rc9 by semver, rc9 == rc_9 by tokens, rc_9 < rc.10.
        let key = |s: &str| VersionKey::new(&format!("1.0.0-{s}"));
        assert!(key("rc9") < key("rc.10"));
        assert!(key("rc_9") < key("rc.10"));
        assert!(key("rc9") < key("rc10"));
        assert_eq!(key("rc9"), key("rc_9"));
        assert_eq!(key("rc9").cmp(&key("rc_9")), std::cmp::Ordering::Equal);
        assert_eq!(key("RC.9"), key("rc9"));
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

    mod properties {
        use std::cmp::Ordering;

        use proptest::prelude::*;

        use super::super::VersionKey;

        /// Versions as they are written: releases with pre-releases, distro revisions
        /// and odd separators, semver and not.
        fn version() -> impl Strategy<Value = String> {
            "[vV]?[0-2](\\.[0-2]){0,2}([-_.+]?(alpha|beta|rc|RC|r|pre|a|b|x)([._-]?[0-9]{1,2})?){0,2}"
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn eq_is_exactly_cmp_equal(a in version(), b in version()) {
                let (ka, kb) = (VersionKey::new(&a), VersionKey::new(&b));
                prop_assert_eq!(ka == kb, ka.cmp(&kb) == Ordering::Equal, "{} vs {}", a, b);
                prop_assert_eq!(ka.partial_cmp(&kb), Some(ka.cmp(&kb)));
            }

            #[test]
            fn cmp_is_antisymmetric(a in version(), b in version()) {
                let (ka, kb) = (VersionKey::new(&a), VersionKey::new(&b));
                prop_assert_eq!(ka.cmp(&kb), kb.cmp(&ka).reverse(), "{} vs {}", a, b);
            }

            #[test]
            fn cmp_is_transitive(a in version(), b in version(), c in version()) {
                let mut keys = [VersionKey::new(&a), VersionKey::new(&b), VersionKey::new(&c)];
                keys.sort();
                prop_assert!(keys[0] <= keys[1] && keys[1] <= keys[2]);
                prop_assert!(keys[0] <= keys[2], "{} {} {}", a, b, c);
                for x in &keys {
                    for y in &keys {
                        for z in &keys {
                            if x <= y && y <= z {
                                prop_assert!(x <= z, "{} {} {}", a, b, c);
                            }
                        }
                    }
                }
            }
        }
    }
}
