//! Settings every tool shares that are not about the network: where the ops repo is.

use std::path::{Path, PathBuf};

use crate::error::Result;

/// `--repo-root`: the ops repository the tool works on.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RepoArgs {
    /// The ops repository (holding containers/); default: the git checkout around the
    /// current directory, else the current directory.
    #[arg(long, env = "OPSKIT_REPO_ROOT", value_name = "DIR", global = true)]
    pub repo_root: Option<PathBuf>,
}

impl RepoArgs {
    /// The repository root: the flag, else the enclosing git work tree, else `.`.
    pub fn root(&self) -> Result<PathBuf> {
        if let Some(root) = &self.repo_root {
            return Ok(root.clone());
        }
        let cwd = std::env::current_dir()
            .map_err(|e| crate::Error::usage(format!("cannot read the current directory: {e}")))?;
        Ok(git2::Repository::discover(&cwd)
            .ok()
            .and_then(|repo| repo.workdir().map(Path::to_path_buf))
            .unwrap_or(cwd))
    }
}
