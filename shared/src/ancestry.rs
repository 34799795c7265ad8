//! Is the commit in an image tag on the main branch? (`[main]`, `[branch]`, `[unknown]`)
//!
//! Production manifests must pin images built from a commit on main: a tag built from
//! a PR branch that was squash-merged points at a commit main will never contain. The
//! old tool asked git twice per tag (`rev-parse`, then `merge-base --is-ancestor`), two
//! processes each. Here main's history is walked once per run, in-process, into a map
//! from the commit's 7-hex prefix (28 bits, as a `u32`) to its position from the tip,
//! and each tag is then a hash lookup. Only a tag whose commit is not on main costs an
//! object-database lookup, to tell `[branch]` (the commit exists here) from `[unknown]`
//! (it does not: not fetched, or not a commit of this repository); results are cached
//! per sha7, since `-nix` and Dockerfile tags share one.
//!
//! A 7-hex prefix can, rarely, belong to two commits; git itself would call it
//! ambiguous. A branch commit sharing a prefix with a main commit would be marked
//! `[main]`; the odds in a repository of 10,000 commits are about 1 in 50,000.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use git2::{ErrorCode, Repository, Sort};
use serde::Serialize;

use crate::error::Result;
use crate::git;

/// Where a tag's commit stands relative to main.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Marker {
    /// An ancestor of (or equal to) main: safe to pin in production.
    Main,
    /// A commit of this repository that main does not contain (a branch, or a PR that
    /// was squash-merged).
    Branch,
    /// Not a commit in this clone, or no repository/main to compare with.
    Unknown,
}

impl Marker {
    pub fn as_str(self) -> &'static str {
        match self {
            Marker::Main => "main",
            Marker::Branch => "branch",
            Marker::Unknown => "unknown",
        }
    }

    /// `[main]`, as shown after a tag.
    pub fn label(self) -> String {
        format!("[{}]", self.as_str())
    }
}

/// Main's history, loaded once, and the repository for the rare lookups off main.
pub struct Ancestry {
    repo: Option<Repository>,
    main_ref: Option<String>,
    /// 28-bit commit prefix → position from main's tip (0 = the tip).
    main: HashMap<u32, usize>,
    seen: HashMap<String, Marker>,
    warnings: Vec<String>,
    walk_time: Duration,
    mark_time: Duration,
}

impl Ancestry {
    /// Opens the repository at or above `repo_root` and walks main's history once.
    ///
    /// `main_ref` is the configured main branch; without one, `origin/main` is used if it
    /// exists, else `main`. A configured ref that does not resolve is an error (exit 2);
    /// no repository, or no main branch by default, gives markers of `[unknown]` and one
    /// warning, so listing tags still works outside a clone.
    pub fn load(repo_root: &Path, main_ref: Option<&str>) -> Result<Ancestry> {
        let mut ancestry = Ancestry {
            repo: None,
            main_ref: None,
            main: HashMap::new(),
            seen: HashMap::new(),
            warnings: Vec::new(),
            walk_time: Duration::ZERO,
            mark_time: Duration::ZERO,
        };
        let repo = match git::open_repo(repo_root) {
            Ok(repo) => repo,
            Err(err) => {
                ancestry
                    .warnings
                    .push(format!("{}; every tag is marked [unknown]", err.message()));
                return Ok(ancestry);
            }
        };
        let resolved = match main_ref {
            Some(name) => Some((name.to_owned(), git::resolve_commit(&repo, name)?)),
            None => git::main_ref_candidates(None).into_iter().find_map(|name| {
                git::resolve_commit(&repo, &name)
                    .ok()
                    .map(|oid| (name, oid))
            }),
        };
        let Some((name, tip)) = resolved else {
            ancestry.warnings.push(
                "neither origin/main nor main exists in this repository; every tag is marked \
                 [unknown] (pass --main-ref to name the main branch)"
                    .to_owned(),
            );
            ancestry.repo = Some(repo);
            return Ok(ancestry);
        };
        if git::is_shallow(&repo) {
            ancestry.warnings.push(format!(
                "this is a shallow clone: the ancestry of {name} may be incomplete, so older tags \
                 may show [unknown] (run `git fetch --unshallow` for exact markers)"
            ));
        }
        let started = Instant::now();
        let mut walk = repo.revwalk()?;
        walk.set_sorting(Sort::TIME)?;
        walk.push(tip)?;
        for (position, oid) in walk.enumerate() {
            let oid = oid?;
            ancestry
                .main
                .entry(prefix28(oid.as_bytes()))
                .or_insert(position);
        }
        ancestry.walk_time = started.elapsed();
        ancestry.main_ref = Some(name);
        ancestry.repo = Some(repo);
        Ok(ancestry)
    }

    /// The main ref compared against (`origin/main`), if any.
    pub fn main_ref(&self) -> Option<&str> {
        self.main_ref.as_deref()
    }

    /// Things the user should know about the markers (no repository, shallow clone).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// How many commits main's history has (as walked).
    pub fn main_len(&self) -> usize {
        self.main.len()
    }

    /// Time spent walking main, and marking tags so far: the git work of a run.
    pub fn timings(&self) -> (Duration, Duration) {
        (self.walk_time, self.mark_time)
    }

    /// How far from main's tip the commit is (0 = the tip), for ordering tags of one
    /// version newest first; `None` off main.
    pub fn position(&self, sha7: &str) -> Option<usize> {
        parse_prefix(sha7).and_then(|p| self.main.get(&p).copied())
    }

    /// The marker for a tag's abbreviated commit.
    pub fn mark(&mut self, sha7: &str) -> Marker {
        let started = Instant::now();
        let marker = match self.seen.get(sha7) {
            Some(marker) => *marker,
            None => {
                let marker = self.classify(sha7);
                self.seen.insert(sha7.to_owned(), marker);
                marker
            }
        };
        self.mark_time += started.elapsed();
        marker
    }

    fn classify(&self, sha7: &str) -> Marker {
        let (Some(repo), Some(prefix)) = (&self.repo, parse_prefix(sha7)) else {
            return Marker::Unknown;
        };
        if self.main_ref.is_none() {
            return Marker::Unknown;
        }
        if self.main.contains_key(&prefix) {
            return Marker::Main;
        }
        match repo.revparse_single(sha7) {
            Ok(object) if object.peel_to_commit().is_ok() => Marker::Branch,
            // Several objects share the prefix: it exists here, and none is on main.
            Err(err) if err.code() == ErrorCode::Ambiguous => Marker::Branch,
            _ => Marker::Unknown,
        }
    }
}

/// The first 28 bits of a commit id, the part a 7-hex abbreviation fixes.
fn prefix28(bytes: &[u8]) -> u32 {
    (u32::from(bytes[0]) << 20)
        | (u32::from(bytes[1]) << 12)
        | (u32::from(bytes[2]) << 4)
        | (u32::from(bytes[3]) >> 4)
}

/// `abc1234` → its 28 bits; `None` unless exactly 7 lowercase or uppercase hex digits.
fn parse_prefix(sha7: &str) -> Option<u32> {
    if sha7.len() != 7 {
        return None;
    }
    u32::from_str_radix(sha7, 16).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prefix28_of_an_oid_equals_its_first_seven_hex_digits() {
        let oid = git2::Oid::from_str("abc1234f00000000000000000000000000000000").unwrap();
        assert_eq!(prefix28(oid.as_bytes()), parse_prefix("abc1234").unwrap());
        assert_eq!(parse_prefix("abc123"), None);
        assert_eq!(parse_prefix("abc123z"), None);
    }
}
