//! Which repository and forge to talk to when the user did not say.
//!
//! Operators run the tools inside a checkout, so `origin` already names the
//! repository. Both remote forms are read: `https://forge.example/acme/app.git` (which
//! also gives the forge URL) and `git@forge.example:acme/app.git` or
//! `ssh://git@forge.example:2222/acme/app.git` (which does not: the ssh host and port
//! rarely match the web URL, so `--forge-url` must say it).

use std::fmt;
use std::path::Path;

use crate::error::{Error, Result};

/// `owner/name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoRef {
    pub owner: String,
    pub name: String,
}

impl RepoRef {
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim().trim_end_matches('/');
        let text = text.strip_suffix(".git").unwrap_or(text);
        match text.split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(RepoRef {
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(
                Error::usage(format!("repository '{text}' is not in the form owner/name"))
                    .hint("pass --repo acme/app or set FORGE_REPO"),
            ),
        }
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// What a git remote URL says: the repository, and the forge's web URL when the
/// remote is https.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remote {
    pub repo: RepoRef,
    pub forge_url: Option<String>,
}

impl Remote {
    /// Reads the `https://`, `ssh://` and scp-like (`user@host:path`) forms.
    pub fn parse(url: &str) -> Option<Remote> {
        let url = url.trim();
        if let Some((scheme, rest)) = url.split_once("://") {
            let (authority, path) = rest.split_once('/')?;
            let host = authority.rsplit('@').next()?;
            let repo = RepoRef::parse(path).ok()?;
            let forge_url =
                matches!(scheme, "http" | "https").then(|| format!("{scheme}://{host}"));
            return Some(Remote { repo, forge_url });
        }
        let (_, path) = url.split_once(':')?;
        let repo = RepoRef::parse(path.trim_start_matches('/')).ok()?;
        Some(Remote {
            repo,
            forge_url: None,
        })
    }
}

/// The `origin` remote of the repository containing `dir`.
pub fn origin_remote(dir: &Path) -> Result<Remote> {
    let hint = "pass --repo owner/name (or set FORGE_REPO), or run inside a clone whose origin is on the forge";
    let repo = git2::Repository::discover(dir)
        .map_err(|_| Error::usage("no --repo given and not inside a git repository").hint(hint))?;
    let remote = repo.find_remote("origin").map_err(|_| {
        Error::usage("no --repo given and this clone has no 'origin' remote").hint(hint)
    })?;
    let url = remote.url().unwrap_or_default();
    Remote::parse(url).ok_or_else(|| {
        Error::usage(format!(
            "cannot tell the repository from the origin URL '{}'",
            crate::http::redact_str(url)
        ))
        .hint(hint)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, Option<String>) {
        let remote = Remote::parse(url).unwrap();
        (remote.repo.to_string(), remote.forge_url)
    }

    #[test]
    fn remotes_in_https_ssh_and_scp_form_name_the_repository() {
        assert_eq!(
            parsed("https://forge.example/acme/app.git"),
            ("acme/app".into(), Some("https://forge.example".into()))
        );
        assert_eq!(
            parsed("https://bot:pw@forge.example:3000/acme/app"),
            ("acme/app".into(), Some("https://forge.example:3000".into()))
        );
        assert_eq!(
            parsed("git@forge.example:acme/app.git"),
            ("acme/app".into(), None)
        );
        assert_eq!(
            parsed("ssh://git@forge.example:2222/acme/app.git"),
            ("acme/app".into(), None)
        );
        assert!(Remote::parse("/just/a/path").is_none());
    }

    #[test]
    fn repo_must_be_owner_slash_name() {
        assert!(RepoRef::parse("acme/app").is_ok());
        assert_eq!(RepoRef::parse("acme").unwrap_err().exit_code(), 2);
        assert!(RepoRef::parse("a/b/c").is_err());
    }
}
