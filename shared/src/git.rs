//! Git, in-process through libgit2: resolving refs, and which containers changed.
//!
//! In-process because the tools run in hooks and loops: a `git` subprocess costs a few
//! milliseconds each, and the old tools started two per tag. Shallow clones and
//! detached HEADs are normal in CI, so every question here has an answer for them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::error::{Error, Result};

/// The repository containing `path`.
pub fn open_repo(path: &Path) -> Result<Repository> {
    Repository::discover(path).map_err(|e| {
        Error::usage(format!(
            "{} is not inside a git repository ({})",
            path.display(),
            e.message()
        ))
        .hint("run from a clone of the ops repository, or pass --repo-root")
    })
}

/// The working tree root of `repo`.
pub fn workdir(repo: &Repository) -> Result<PathBuf> {
    repo.workdir()
        .map(Path::to_path_buf)
        .ok_or_else(|| Error::usage("the repository is bare; a checkout is needed"))
}

/// The commit a ref, branch, tag or (abbreviated) SHA names; exit 2 if none.
pub fn resolve_commit(repo: &Repository, refname: &str) -> Result<Oid> {
    let object = repo.revparse_single(refname).map_err(|_| {
        Error::usage(format!("ref '{refname}' does not resolve to a commit"))
            .hint("give a branch, tag or commit SHA that exists in this clone (git fetch?)")
    })?;
    object
        .peel_to_commit()
        .map(|c| c.id())
        .map_err(|_| Error::usage(format!("ref '{refname}' does not point at a commit")))
}

pub fn is_shallow(repo: &Repository) -> bool {
    repo.is_shallow()
}

/// The first existing ref among the candidates for the main branch.
pub fn main_ref_candidates(configured: Option<&str>) -> Vec<String> {
    match configured {
        Some(name) => vec![name.to_owned()],
        None => vec!["origin/main".to_owned(), "main".to_owned()],
    }
}

/// Why a changed-only scope could not be computed; the caller then checks everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Paths changed between the merge base and the working tree (staged, unstaged and
    /// untracked), relative to the repository root.
    Changed {
        base: String,
        paths: BTreeSet<String>,
    },
    /// No base could be used; the string says why.
    Unknown(String),
}

/// Paths changed on this branch: from the merge base of HEAD and `base` to the working
/// tree, so that a pre-commit hook sees what is about to be committed.
pub fn changed_paths(repo: &Repository, base: &str) -> Scope {
    let base_oid = match resolve_commit(repo, base) {
        Ok(oid) => oid,
        Err(_) => return Scope::Unknown(format!("base '{base}' not found")),
    };
    let head = match repo.head().ok().and_then(|h| h.peel_to_commit().ok()) {
        Some(commit) => commit.id(),
        None => return Scope::Unknown("HEAD has no commit yet".to_owned()),
    };
    let merge_base = match repo.merge_base(head, base_oid) {
        Ok(oid) => oid,
        Err(_) if repo.is_shallow() => {
            return Scope::Unknown(format!("no merge base with '{base}' in this shallow clone"));
        }
        Err(_) => return Scope::Unknown(format!("no merge base with '{base}'")),
    };
    match diff_against(repo, merge_base) {
        Ok(paths) => Scope::Changed {
            base: base.to_owned(),
            paths,
        },
        Err(err) => Scope::Unknown(format!("cannot diff against '{base}': {}", err.message())),
    }
}

fn diff_against(
    repo: &Repository,
    base: Oid,
) -> std::result::Result<BTreeSet<String>, git2::Error> {
    let tree = repo.find_commit(base)?.tree()?;
    let mut options = git2::DiffOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    let diff = repo.diff_tree_to_workdir_with_index(Some(&tree), Some(&mut options))?;
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path().and_then(Path::to_str) {
                paths.insert(path.to_owned());
            }
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_commit_reports_the_ref_and_exit_2() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let err = resolve_commit(&repo, "no-such-branch").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.message().contains("'no-such-branch'"));
    }

    #[test]
    fn open_repo_outside_git_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let Err(err) = open_repo(dir.path()) else {
            panic!("a temp dir is not a repository")
        };
        assert_eq!(err.exit_code(), 2);
    }
}
