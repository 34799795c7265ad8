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
//! The walk reads git's commit-graph file when there is one (`git gc` writes it), which
//! libgit2 cannot use for files written by current git (see `commit_graph.rs`): 2,000
//! commits take ~0.4 ms that way instead of ~10 ms inflating every commit.
//!
//! A 7-hex prefix can, rarely, belong to two commits; git itself would call it
//! ambiguous. A branch commit sharing a prefix with a main commit would be marked
//! `[main]`; the odds in a repository of 10,000 commits are about 1 in 50,000.

mod commit_graph;

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use git2::{ErrorCode, Oid, Repository, Sort};
use serde::Serialize;

use crate::error::Result;
use crate::git;
use commit_graph::CommitGraph;

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
        ancestry.main = walk_main(&repo, tip)?;
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

/// Main's history, newest first: 28-bit prefix → position. Through the commit-graph
/// file where it covers the history (commits newer than the file are read from the
/// object database), else through libgit2's revwalk.
fn walk_main(repo: &Repository, tip: Oid) -> Result<HashMap<u32, usize>> {
    if let Some(graph) = CommitGraph::open(repo.commondir())
        && let Some(main) = walk_with_graph(repo, &graph, tip)
    {
        return Ok(main);
    }
    let mut main = HashMap::new();
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TIME)?;
    walk.push(tip)?;
    for (position, oid) in walk.enumerate() {
        main.entry(prefix28(oid?.as_bytes())).or_insert(position);
    }
    Ok(main)
}

/// A commit waiting in the walk: the graph's position when it is in the graph.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Graph(u32),
    Odb(Oid),
}

/// Newest first, as `Sort::TIME` orders; `None` if the graph turns out inconsistent.
fn walk_with_graph(
    repo: &Repository,
    graph: &CommitGraph,
    tip: Oid,
) -> Option<HashMap<u32, usize>> {
    let mut walk = GraphWalk {
        repo,
        graph,
        queue: BinaryHeap::new(),
        seen_graph: vec![false; graph.len()],
        seen_odb: HashSet::new(),
    };
    walk.enqueue_oid(tip)?;
    let mut main = HashMap::new();
    let mut parents = Vec::new();
    let mut position = 0;
    while let Some((_, node)) = walk.queue.pop() {
        match node {
            Node::Graph(index) => {
                main.entry(prefix28(graph.oid(index)?)).or_insert(position);
                graph.parents(index, &mut parents)?;
                for &parent in &parents {
                    walk.enqueue_graph(parent)?;
                }
            }
            Node::Odb(oid) => {
                main.entry(prefix28(oid.as_bytes())).or_insert(position);
                let commit = repo.find_commit(oid).ok()?;
                for parent in commit.parent_ids() {
                    walk.enqueue_oid(parent)?;
                }
            }
        }
        position += 1;
    }
    Some(main)
}

struct GraphWalk<'a> {
    repo: &'a Repository,
    graph: &'a CommitGraph,
    /// By commit time, newest on top.
    queue: BinaryHeap<(i64, Node)>,
    seen_graph: Vec<bool>,
    seen_odb: HashSet<Oid>,
}

impl GraphWalk<'_> {
    fn enqueue_graph(&mut self, index: u32) -> Option<()> {
        let seen = self.seen_graph.get_mut(index as usize)?;
        if !*seen {
            *seen = true;
            self.queue
                .push((self.graph.time(index)?, Node::Graph(index)));
        }
        Some(())
    }

    fn enqueue_oid(&mut self, oid: Oid) -> Option<()> {
        if let Some(index) = self.graph.position(oid.as_bytes()) {
            return self.enqueue_graph(index);
        }
        // Newer than the graph file. A parent missing from a shallow clone is where the
        // history ends here.
        if self.seen_odb.insert(oid)
            && let Ok(commit) = self.repo.find_commit(oid)
        {
            self.queue.push((commit.time().seconds(), Node::Odb(oid)));
        }
        Some(())
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
mod tests {
    use super::*;

    use crate::git::testing::git;

    /// main with an ordinary merge and an octopus merge (whose extra parents live in the
    /// graph's EDGE chunk), a commit-graph written by the real git, then two commits
    /// the graph does not know, and an unmerged branch.
    fn history_with_graph() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "c1"]);
        for branch in ["b1", "b2", "b3", "b4"] {
            git(d, &["checkout", "-q", "-b", branch, "main"]);
            git(d, &["commit", "-q", "--allow-empty", "-m", branch]);
        }
        git(d, &["checkout", "-q", "main"]);
        git(d, &["merge", "-q", "--no-ff", "-m", "merge b1", "b1"]);
        git(
            d,
            &["merge", "-q", "--no-ff", "-m", "octopus", "b2", "b3", "b4"],
        );
        git(d, &["commit-graph", "write", "--reachable"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "after graph 1"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "after graph 2"]);
        git(d, &["checkout", "-q", "-b", "feature"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "unmerged"]);
        git(d, &["checkout", "-q", "main"]);
        let repo = Repository::open(d).unwrap();
        (dir, repo)
    }

    #[test]
    fn commit_graph_parents_match_the_object_database_including_octopus_edges() {
        let (_dir, repo) = history_with_graph();
        let graph = CommitGraph::open(repo.commondir()).expect("git wrote a readable graph");
        assert_eq!(graph.len(), 7, "c1, b1..b4, two merges");
        let mut parents = Vec::new();
        for index in 0..graph.len() as u32 {
            let oid = Oid::from_bytes(graph.oid(index).unwrap()).unwrap();
            assert_eq!(graph.position(oid.as_bytes()), Some(index));
            let commit = repo.find_commit(oid).unwrap();
            graph.parents(index, &mut parents).unwrap();
            let from_graph: Vec<Oid> = parents
                .iter()
                .map(|&p| Oid::from_bytes(graph.oid(p).unwrap()).unwrap())
                .collect();
            assert_eq!(from_graph, commit.parent_ids().collect::<Vec<_>>());
            assert_eq!(graph.time(index), Some(commit.time().seconds()));
        }
    }

    #[test]
    fn the_graph_walk_finds_exactly_the_commits_libgit2_finds() {
        let (_dir, repo) = history_with_graph();
        let tip = repo.revparse_single("main").unwrap().id();
        let graph = CommitGraph::open(repo.commondir()).unwrap();
        let walked = walk_with_graph(&repo, &graph, tip).expect("consistent graph");
        let mut revwalk = repo.revwalk().unwrap();
        revwalk.push(tip).unwrap();
        let expected: HashSet<u32> = revwalk.map(|o| prefix28(o.unwrap().as_bytes())).collect();
        assert_eq!(walked.keys().copied().collect::<HashSet<_>>(), expected);
        assert_eq!(walked.len(), 9);
        assert_eq!(walked[&prefix28(tip.as_bytes())], 0);
        let unmerged = repo.revparse_single("feature").unwrap().id();
        assert!(!walked.contains_key(&prefix28(unmerged.as_bytes())));
    }

    #[test]
    fn a_truncated_commit_graph_is_refused_not_trusted() {
        let (dir, repo) = history_with_graph();
        let file = dir.path().join(".git/objects/info/commit-graph");
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert!(CommitGraph::open(repo.commondir()).is_none());
    }

    #[test]
    fn prefix28_of_an_oid_equals_its_first_seven_hex_digits() {
        let oid = git2::Oid::from_str("abc1234f00000000000000000000000000000000").unwrap();
        assert_eq!(prefix28(oid.as_bytes()), parse_prefix("abc1234").unwrap());
        assert_eq!(parse_prefix("abc123"), None);
        assert_eq!(parse_prefix("abc123z"), None);
    }
}
