//! `release-docs`: publish the docs site as a chain of steps a workflow can call one by
//! one — version, changelog, build, publish, deploy — and `all`, which runs them in order.
//!
//! Each step is re-runnable: it checks whether its work is already done before doing
//! it, so a workflow that failed half-way is finished by running it again.

use std::fmt;

use clap::{Parser, Subcommand};

use crate::cli::EXIT_CODES_HELP;
use crate::commands::flags::{ForgeArgs, HttpArgs};
use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::forge::packages::valid_package_name;

pub mod all;
pub mod build;
pub mod changelog;
pub mod deploy;
pub mod publish;
pub mod version;

/// The docs deployment manifest, relative to the repository root: its
/// `DOCS_RELEASE_URL` says which release is deployed.
pub const DEFAULT_MANIFEST: &str = "argocd/manifests/docs/deployment.yaml";

/// The docs tarball of `version`, as `build` writes it and `publish` uploads it.
pub fn tarball_name(version: DocsVersion) -> String {
    format!("docs-{version}.tar.gz")
}

const EXAMPLES: &str = "\
Examples:
  release-docs version --bump minor                # the next version, checked to be free
  release-docs changelog --version v1.5.0 --draft  # the section it would fold in
  release-docs build --version v1.5.0              # target/docs/docs-v1.5.0.tar.gz
  release-docs publish --version v1.5.0 --tarball target/docs/docs-v1.5.0.tar.gz
  release-docs deploy --url https://forge.example/docs-v1.5.0.tar.gz --commit --sync
  release-docs all --dry-run                       # every step it would take, nothing done";

/// Version, changelog, docs build, upload, manifest update and Argo CD rollout of the
/// docs site, each step its own subcommand.
#[derive(Debug, Parser)]
#[command(version, after_help = format!("{EXAMPLES}\n\n{EXIT_CODES_HELP}"))]
pub struct Args {
    #[command(subcommand)]
    pub step: Step,
}

/// The steps, in the order `all` runs them. `changelog`, `build` and `all` run in a
/// Dagger engine, so their `run` functions live in the `pipeline` crate
/// (`pipeline::release_docs`), which the `release-docs` binary dispatches through.
#[derive(Debug, Subcommand)]
pub enum Step {
    Version(version::Args),
    Changelog(changelog::Args),
    Build(build::Args),
    Publish(publish::Args),
    Deploy(Box<deploy::Args>),
    All(all::Args),
}

/// A docs release version, `vMAJOR.MINOR.PATCH`: the release tag, the package
/// version and the tarball's name all carry it, so it is one strict form (the old
/// workflow's `^v[0-9]+\.[0-9]+\.[0-9]+$`, without leading zeros as semver says).
/// The derived order is semver's for these: major, then minor, then patch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocsVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

/// Which version to release: the latest one bumped, or one given.
#[derive(Clone, Debug, clap::Args)]
pub struct VersionChoice {
    /// The part of the latest version to raise (from v0.0.0 when there is none yet).
    #[arg(long, value_enum, default_value_t = Bump::Patch, conflicts_with = "set")]
    pub bump: Bump,

    /// This version instead of a bump, checked like one.
    #[arg(long, value_name = "vX.Y.Z", value_parser = DocsVersion::parse_arg)]
    pub set: Option<DocsVersion>,
}

/// Which part a bump raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Bump {
    Patch,
    Minor,
    Major,
}

impl DocsVersion {
    /// What is bumped when nothing was released yet, so the first release is v0.0.1,
    /// v0.1.0 or v1.0.0 by the bump asked for (as the old workflow's default v0.0.0).
    pub const NONE_YET: DocsVersion = DocsVersion {
        major: 0,
        minor: 0,
        patch: 0,
    };

    /// `vX.Y.Z` exactly; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.strip_prefix('v')?.split('.');
        let mut number = || -> Option<u64> {
            let part = parts.next()?;
            let canonical = part == "0" || !part.starts_with('0');
            let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            (canonical && digits).then(|| part.parse().ok()).flatten()
        };
        let version = DocsVersion {
            major: number()?,
            minor: number()?,
            patch: number()?,
        };
        parts.next().is_none().then_some(version)
    }

    /// `--set`/`--version`: [`DocsVersion::parse`], with the reason for clap's error.
    pub fn parse_arg(text: &str) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| {
            format!("'{text}' is not a docs version: give v<major>.<minor>.<patch>, such as v1.2.3")
        })
    }

    #[must_use]
    pub fn bump(self, part: Bump) -> Self {
        let DocsVersion {
            major,
            minor,
            patch,
        } = self;
        match part {
            Bump::Patch => DocsVersion {
                patch: patch + 1,
                ..self
            },
            Bump::Minor => DocsVersion {
                major,
                minor: minor + 1,
                patch: 0,
            },
            Bump::Major => DocsVersion {
                major: major + 1,
                minor: 0,
                patch: 0,
            },
        }
    }
}

impl fmt::Display for DocsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl serde::Serialize for DocsVersion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// `--package`: the generic package the docs tarballs are published to.
#[derive(Clone, Debug, clap::Args)]
pub struct PackageArgs {
    /// The generic package (owned by the repository's owner) holding the docs tarballs.
    #[arg(long, env = "DOCS_PACKAGE", default_value = "docs", value_name = "NAME",
          value_parser = parse_package)]
    pub package: String,
}

fn parse_package(text: &str) -> Result<String, String> {
    if valid_package_name(text) {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not a package name: use letters, digits and - _ + . only"
        ))
    }
}

/// The forge, from the flags or the origin remote of the current directory's checkout.
pub fn connect(forge: &ForgeArgs, http: &HttpArgs) -> Result<Forge> {
    let dir = std::env::current_dir()
        .map_err(|e| Error::usage(format!("cannot read the current directory: {e}")))?;
    forge.connect(&http.config(), &dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strict_v_major_minor_patch() {
        assert_eq!(
            DocsVersion::parse("v1.20.3"),
            Some(DocsVersion {
                major: 1,
                minor: 20,
                patch: 3
            })
        );
        assert_eq!(DocsVersion::parse("v0.0.0"), Some(DocsVersion::NONE_YET));
        for bad in [
            "1.2.3",
            "v1.2",
            "v1.2.3.4",
            "v1.2.3-rc1",
            "v01.2.3",
            "v1..3",
            "V1.2.3",
            "v1.2.+3",
            "v1.2.3 ",
            "",
            "v99999999999999999999.0.0",
        ] {
            assert_eq!(DocsVersion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bumps_reset_the_lower_parts_and_order_is_numeric() {
        let v = DocsVersion::parse("v1.9.9").unwrap();
        assert_eq!(v.bump(Bump::Patch).to_string(), "v1.9.10");
        assert_eq!(v.bump(Bump::Minor).to_string(), "v1.10.0");
        assert_eq!(v.bump(Bump::Major).to_string(), "v2.0.0");
        assert!(v.bump(Bump::Patch) > v);
        assert!(DocsVersion::parse("v1.10.0") > DocsVersion::parse("v1.9.10"));
    }
}
