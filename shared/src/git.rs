//! Git, in-process through libgit2: resolving refs, which containers changed, whether a
//! commit is on main, and committing exactly the files a tool edited (a pin moved by
//! `container-build-and-release --pin --commit`).
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

/// `path` as a tree names it: relative to `root` (an absolute path inside it is made
/// relative), without `.` components. `None` for a path outside the root.
pub fn tree_path(root: &Path, path: &Path) -> Option<PathBuf> {
    let relative = if path.is_absolute() {
        path.strip_prefix(root).ok()?
    } else {
        path
    };
    Some(
        relative
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect(),
    )
}

/// The upstream of HEAD's branch (`origin/main`) and the tree it has, when HEAD is on
/// a branch that tracks one: what a deployment that reads the remote sees.
pub fn upstream_tree(repo: &Repository) -> Option<(String, git2::Tree<'_>)> {
    let head = repo.head().ok()?;
    let branch = repo
        .find_branch(head.shorthand().ok()?, git2::BranchType::Local)
        .ok()?;
    let upstream = branch.upstream().ok()?;
    let name = upstream.name().ok()??.to_owned();
    let tree = upstream.get().peel_to_tree().ok()?;
    Some((name, tree))
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

/// Commits exactly `paths`, as they are in the working tree, on the branch HEAD points
/// at, like `git commit --only -- PATHS`: whatever else is staged or modified stays as
/// it was, staged or not, and is not part of the commit. A path missing from the
/// working tree is committed as deleted. Returns the new commit.
///
/// `paths` are relative to the working tree root (not the current directory), or
/// absolute inside it; directories are refused (name the files). `author` is the given
/// signature, else `user.name`/`user.email` from git config; the committer is the
/// configured identity when there is one, else the author. No hooks run, and the
/// message is used as given (a workflow adds `[skip ci]` itself).
///
/// Errors (exit 2): a detached HEAD, a path outside the repository or a directory, no
/// author, nothing changed in those paths; the branch moving under the commit is
/// libgit2's "current tip is not the first parent" error.
pub fn commit_paths<P: AsRef<Path>>(
    repo: &Repository,
    paths: &[P],
    message: &str,
    author: Option<&git2::Signature<'_>>,
) -> Result<Oid> {
    let root = workdir(repo)?;
    if paths.is_empty() {
        return Err(Error::usage("no paths to commit"));
    }
    let head = repo.find_reference("HEAD")?;
    let branch = head
        .symbolic_target()?
        .filter(|t| t.starts_with("refs/heads/"))
        .ok_or_else(|| {
            Error::usage("HEAD is detached, so there is no branch to commit on")
                .hint("check out the branch the commit belongs on (git switch main)")
        })?
        .to_owned();
    let parent = match repo.head() {
        Ok(head) => Some(head.peel_to_commit()?),
        Err(e) if e.code() == git2::ErrorCode::UnbornBranch => None,
        Err(e) => return Err(e.into()),
    };
    let base = match &parent {
        Some(commit) => commit.tree()?,
        None => repo.find_tree(repo.treebuilder(None)?.write()?)?,
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    let mut relative = Vec::new();
    for path in paths {
        let rel = relative_to_root(&root, path.as_ref())?;
        let full = root.join(&rel);
        let name = rel
            .to_str()
            .ok_or_else(|| Error::usage(format!("{} is not a UTF-8 path", rel.display())))?;
        let name = name.replace(std::path::MAIN_SEPARATOR, "/");
        match std::fs::symlink_metadata(&full) {
            Ok(meta) if meta.is_dir() => {
                return Err(Error::usage(format!(
                    "{name} is a directory; name the files to commit"
                )));
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&full)
                    .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
                let bytes = target.to_string_lossy().into_owned().into_bytes();
                update.upsert(&name, repo.blob(&bytes)?, git2::FileMode::Link);
            }
            Ok(meta) => {
                let blob = repo.blob_path(&full)?;
                update.upsert(&name, blob, file_mode(&meta));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if base.get_path(Path::new(&name)).is_err() {
                    return Err(Error::usage(format!(
                        "{name} is neither in the working tree nor in HEAD"
                    )));
                }
                update.remove(&name);
            }
            Err(e) => return Err(Error::usage(format!("cannot read {name}: {e}"))),
        }
        relative.push((name, full.exists()));
    }
    let tree = repo.find_tree(update.create_updated(repo, &base)?)?;
    if tree.id() == base.id() {
        let names: Vec<&str> = relative.iter().map(|(n, _)| n.as_str()).collect();
        return Err(Error::usage(format!(
            "nothing to commit: {} unchanged since HEAD",
            names.join(", ")
        )));
    }
    let configured = repo.signature().ok();
    let author = match (author, &configured) {
        (Some(author), _) => author.to_owned(),
        (None, Some(configured)) => configured.to_owned(),
        (None, None) => {
            return Err(Error::usage("no commit author: git config has no user.name/user.email")
                .hint("set them (git config user.name …; git config user.email …), or configure the tool's commit author"));
        }
    };
    let committer = configured.unwrap_or_else(|| author.clone());
    let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
    let oid = repo.commit(Some(&branch), &author, &committer, message, &tree, &parents)?;
    // The index now agrees with the new commit for these paths; other entries, staged
    // or not, are as they were.
    let mut index = repo.index()?;
    for (name, exists) in &relative {
        if *exists {
            index.add_path(Path::new(name))?;
        } else {
            index.remove_path(Path::new(name))?;
        }
    }
    index.write()?;
    Ok(oid)
}

fn relative_to_root(root: &Path, path: &Path) -> Result<PathBuf> {
    let outside = || {
        Error::usage(format!(
            "{} is outside the repository at {}",
            path.display(),
            root.display()
        ))
    };
    let rel = if path.is_absolute() {
        match path.strip_prefix(root) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => {
                let canonical_root = root.canonicalize().map_err(|_| outside())?;
                let parent = path.parent().ok_or_else(outside)?;
                let canonical_parent = parent.canonicalize().map_err(|_| outside())?;
                let file = path.file_name().ok_or_else(outside)?;
                canonical_parent
                    .join(file)
                    .strip_prefix(&canonical_root)
                    .map_err(|_| outside())?
                    .to_path_buf()
            }
        }
    } else {
        path.to_path_buf()
    };
    let plain = rel
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !plain || rel.as_os_str().is_empty() {
        return Err(outside());
    }
    Ok(rel)
}

/// Writes the files under `path` (relative to the repository root, `/`-separated) as
/// they are in `commit` into `dest`, keeping the relative path: what a build of that
/// commit sees, whatever the working tree holds. Executable bits and symlinks are kept
/// on Unix. Returns how many files were written; none (the path is not in the commit)
/// is an error naming the commit.
pub fn export_tree(repo: &Repository, commit: Oid, path: &str, dest: &Path) -> Result<usize> {
    let tree = repo.find_commit(commit)?.tree()?;
    let entry = tree.get_path(Path::new(path)).map_err(|_| {
        Error::not_found(format!("{path} is not in commit {}", short(commit)))
            .hint("commit the files before building them, or pass the --ref that has them")
    })?;
    let subtree = repo.find_tree(entry.id()).map_err(|_| {
        Error::usage(format!(
            "{path} is not a directory in commit {}",
            short(commit)
        ))
    })?;
    let mut written = 0;
    let mut failure = None;
    subtree
        .walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let Ok(name) = entry.name() else {
                return git2::TreeWalkResult::Ok;
            };
            let target = dest.join(path).join(parent).join(name);
            let outcome = write_entry(repo, entry, &target);
            match outcome {
                Ok(true) => written += 1,
                Ok(false) => {}
                Err(e) => {
                    failure = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
            git2::TreeWalkResult::Ok
        })
        .or_else(|e| if failure.is_some() { Ok(()) } else { Err(e) })?;
    match failure {
        Some(e) => Err(e),
        None => Ok(written),
    }
}

fn short(commit: Oid) -> String {
    commit.to_string()[..7].to_owned()
}

/// One tree entry onto disk; `false` for a directory (created) or a submodule (skipped).
fn write_entry(repo: &Repository, entry: &git2::TreeEntry<'_>, target: &Path) -> Result<bool> {
    let io = |e: std::io::Error| Error::failed(format!("cannot write {}: {e}", target.display()));
    match entry.filemode() {
        0o040000 => std::fs::create_dir_all(target).map_err(io).map(|()| false),
        0o160000 => Ok(false),
        mode => {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let blob = repo.find_blob(entry.id())?;
            #[cfg(unix)]
            if mode == 0o120000 {
                let link = String::from_utf8_lossy(blob.content()).into_owned();
                std::os::unix::fs::symlink(link, target).map_err(io)?;
                return Ok(true);
            }
            std::fs::write(target, blob.content()).map_err(io)?;
            #[cfg(unix)]
            if mode == 0o100755 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(target, std::fs::Permissions::from_mode(0o755))
                    .map_err(io)?;
            }
            Ok(true)
        }
    }
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> git2::FileMode {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 != 0 {
        git2::FileMode::BlobExecutable
    } else {
        git2::FileMode::Blob
    }
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> git2::FileMode {
    git2::FileMode::Blob
}

/// Whether `commit` is main's tip or one of its ancestors, exactly, for one full commit
/// id (before pinning the image built from it in production).
///
/// [`crate::ancestry::Ancestry`] answers the same question for many tags at once, by
/// their 7-hex prefix, after one walk of main; this asks libgit2 about one commit and
/// walks only as far as needed. `main_ref` is the configured main branch; without one,
/// `origin/main` if it exists, else `main` ([`main_ref_candidates`]).
///
/// Errors: no main branch, or a configured one that does not resolve (exit 2); a commit
/// not in this clone (exit 4); in a shallow clone, a commit not found on main, because
/// the missing history may hold it (exit 2, with the fix).
pub fn is_on_main(repo: &Repository, commit: Oid, main_ref: Option<&str>) -> Result<bool> {
    let (name, tip) = match main_ref {
        Some(name) => (name.to_owned(), resolve_commit(repo, name)?),
        None => main_ref_candidates(None)
            .into_iter()
            .find_map(|name| resolve_commit(repo, &name).ok().map(|oid| (name, oid)))
            .ok_or_else(|| {
                Error::usage("neither origin/main nor main exists in this repository")
                    .hint("pass the main branch's ref (--main-ref)")
            })?,
    };
    if repo.find_commit(commit).is_err() {
        return Err(
            Error::not_found(format!("commit {commit} is not in this clone"))
                .hint("git fetch, then try again"),
        );
    }
    if tip == commit || repo.graph_descendant_of(tip, commit)? {
        return Ok(true);
    }
    if repo.is_shallow() {
        return Err(Error::usage(format!(
            "cannot tell whether {commit} is on {name}: this is a shallow clone"
        ))
        .hint("run `git fetch --unshallow` and try again"));
    }
    Ok(false)
}

/// The real `git` for the library's unit tests (testkit depends on this crate, so it
/// cannot serve them), with no user or system configuration leaking in.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    pub fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

#[cfg(test)]
mod commit_tests {
    use super::*;

    use super::testing::git;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A repository on main with two committed files and a configured identity.
    fn repo() -> (tempfile::TempDir, Repository) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        git(d, &["config", "user.name", "Ops Bot"]);
        git(d, &["config", "user.email", "bot@example.invalid"]);
        write(d, "argocd/app/kustomization.yaml", "newTag: v1\n");
        write(d, "README.md", "readme\n");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "c1"]);
        let repo = Repository::open(d).unwrap();
        (dir, repo)
    }

    #[test]
    fn commit_paths_commits_only_those_paths_and_leaves_other_changes_as_they_were() {
        let (dir, repo) = repo();
        let d = dir.path();
        write(d, "argocd/app/kustomization.yaml", "newTag: v2\n");
        write(d, "README.md", "staged edit\n");
        git(d, &["add", "README.md"]);
        write(d, "README.md", "unstaged edit on top\n");
        write(d, "notes.txt", "untracked\n");
        let oid = commit_paths(
            &repo,
            &["argocd/app/kustomization.yaml"],
            "Pin app v2 [skip ci]",
            None,
        )
        .unwrap();
        assert_eq!(git(d, &["rev-parse", "HEAD"]).trim(), oid.to_string());
        assert_eq!(
            git(d, &["show", "--name-only", "--format=%an <%ae>|%s", "HEAD"]),
            "Ops Bot <bot@example.invalid>|Pin app v2 [skip ci]\n\nargocd/app/kustomization.yaml\n"
        );
        assert_eq!(
            git(d, &["show", "HEAD:argocd/app/kustomization.yaml"]),
            "newTag: v2\n"
        );
        // README stays staged and modified on top; notes.txt stays untracked; the
        // committed file is clean.
        assert_eq!(
            git(d, &["status", "--porcelain"]),
            "MM README.md\n?? notes.txt\n"
        );
        assert_eq!(git(d, &["show", ":README.md"]), "staged edit\n");
    }

    #[test]
    fn commit_paths_uses_the_given_author_and_takes_absolute_paths() {
        let (dir, repo) = repo();
        let d = dir.path();
        write(d, "argocd/app/kustomization.yaml", "newTag: v3\n");
        let author = git2::Signature::now("Release Bot", "release@example.invalid").unwrap();
        commit_paths(
            &repo,
            &[d.join("argocd/app/kustomization.yaml")],
            "Pin",
            Some(&author),
        )
        .unwrap();
        assert_eq!(
            git(d, &["log", "-1", "--format=%an <%ae> / %cn"]),
            "Release Bot <release@example.invalid> / Ops Bot\n"
        );
        assert_eq!(git(d, &["status", "--porcelain"]), "");
    }

    #[test]
    fn commit_paths_commits_a_deleted_file_as_deleted() {
        let (dir, repo) = repo();
        let d = dir.path();
        std::fs::remove_file(d.join("README.md")).unwrap();
        commit_paths(&repo, &["README.md"], "Drop the readme", None).unwrap();
        assert_eq!(
            git(d, &["ls-tree", "-r", "--name-only", "HEAD"]),
            "argocd/app/kustomization.yaml\n"
        );
        assert_eq!(git(d, &["status", "--porcelain"]), "");
    }

    #[test]
    fn commit_paths_refuses_unchanged_paths_outside_paths_directories_and_a_detached_head() {
        let (dir, repo) = repo();
        let d = dir.path();
        let message = |paths: &[&str]| {
            let err = commit_paths(&repo, paths, "m", None).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            err.message().to_owned()
        };
        assert!(message(&["README.md"]).starts_with("nothing to commit"));
        assert!(message(&["../elsewhere"]).contains("outside the repository"));
        assert!(message(&["/etc/hostname"]).contains("outside the repository"));
        assert!(message(&["argocd"]).contains("is a directory"));
        assert!(message(&["no-such-file"]).contains("neither in the working tree"));
        let head = git(d, &["rev-parse", "HEAD"]);
        git(d, &["checkout", "-q", "--detach", head.trim()]);
        write(d, "README.md", "changed\n");
        assert!(message(&["README.md"]).contains("detached"));
    }

    #[test]
    fn is_on_main_is_true_for_main_and_its_ancestors_and_false_for_a_branch() {
        let (dir, repo) = repo();
        let d = dir.path();
        let first = resolve_commit(&repo, "HEAD").unwrap();
        git(d, &["commit", "-q", "--allow-empty", "-m", "c2"]);
        let tip = resolve_commit(&repo, "HEAD").unwrap();
        git(d, &["checkout", "-q", "-b", "feature"]);
        git(d, &["commit", "-q", "--allow-empty", "-m", "f1"]);
        let branch = resolve_commit(&repo, "HEAD").unwrap();
        assert!(is_on_main(&repo, first, None).unwrap());
        assert!(is_on_main(&repo, tip, None).unwrap());
        assert!(!is_on_main(&repo, branch, None).unwrap());
        assert!(is_on_main(&repo, branch, Some("feature")).unwrap());
        let err = is_on_main(&repo, first, Some("origin/main")).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let missing = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        assert_eq!(is_on_main(&repo, missing, None).unwrap_err().exit_code(), 4);
    }
}

#[cfg(test)]
mod export_tests {
    use super::testing::git;
    use super::*;

    #[test]
    fn export_tree_writes_the_commits_files_not_the_working_trees() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        std::fs::create_dir_all(d.join("containers/web/conf")).unwrap();
        std::fs::write(d.join("containers/web/Dockerfile"), "ARG V=1\n").unwrap();
        std::fs::write(d.join("containers/web/conf/start.sh"), "#!/bin/sh\n").unwrap();
        git(d, &["add", "."]);
        git(
            d,
            &["update-index", "--chmod=+x", "containers/web/conf/start.sh"],
        );
        git(
            d,
            &[
                "-c",
                "user.name=a",
                "-c",
                "user.email=a@b",
                "commit",
                "-q",
                "-m",
                "c1",
            ],
        );
        std::fs::write(d.join("containers/web/Dockerfile"), "ARG V=2\n").unwrap();
        std::fs::write(d.join("containers/web/untracked"), "x").unwrap();

        let repo = Repository::open(d).unwrap();
        let head = resolve_commit(&repo, "HEAD").unwrap();
        let out = tempfile::tempdir().unwrap();
        assert_eq!(
            export_tree(&repo, head, "containers/web", out.path()).unwrap(),
            2
        );
        let web = out.path().join("containers/web");
        assert_eq!(
            std::fs::read_to_string(web.join("Dockerfile")).unwrap(),
            "ARG V=1\n"
        );
        assert!(!web.join("untracked").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(web.join("conf/start.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "executable bit kept");
        }

        let missing = export_tree(&repo, head, "containers/nope", out.path()).unwrap_err();
        assert_eq!(missing.exit_code(), 4);
        assert!(
            missing
                .message()
                .starts_with("containers/nope is not in commit ")
        );
    }
}
