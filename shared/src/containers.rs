//! Discovery of the repo's containers: `containers/<name>/` with its build files.
//!
//! A container is a directory under `containers/` holding at least one build file. The
//! build kinds are told apart by file name only, so discovery reads directory entries
//! and never file contents: listing 200 containers costs 200 `readdir`s.
//!
//! Names come from users and workflows and end up in paths and image references, so
//! [`validate_name`] refuses anything that could leave `containers/` before a path is
//! built from it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// The directory, relative to the repository root, that holds the containers.
pub const CONTAINERS_DIR: &str = "containers";

/// How an image is built; each kind has its own build file and its own version source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BuildKind {
    /// A native Dagger pipeline in Rust: `container.rs` with `pub const VERSION`.
    Native,
    /// A `Dockerfile` with `ARG CONTAINER_APP_VERSION=…`.
    Dockerfile,
    /// A `default.nix`; its image tag ends in `-nix`.
    Nix,
}

impl BuildKind {
    /// In priority order: the kind a container is built with when none is named.
    pub const ALL: [BuildKind; 3] = [BuildKind::Native, BuildKind::Dockerfile, BuildKind::Nix];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildKind::Native => "native",
            BuildKind::Dockerfile => "dockerfile",
            BuildKind::Nix => "nix",
        }
    }

    /// The file that declares this kind of build.
    pub fn file_name(self) -> &'static str {
        match self {
            BuildKind::Native => "container.rs",
            BuildKind::Dockerfile => "Dockerfile",
            BuildKind::Nix => "default.nix",
        }
    }
}

impl fmt::Display for BuildKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `dockerfile+nix` for a list of kinds, `none` for an empty one.
pub fn kinds_label(kinds: &[BuildKind]) -> String {
    if kinds.is_empty() {
        return "none".to_owned();
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    names.join("+")
}

/// One directory under `containers/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Container {
    pub name: String,
    /// `containers/<name>` joined to the repository root.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The build kinds present, in [`BuildKind::ALL`] order; empty if none.
    pub kinds: Vec<BuildKind>,
}

impl Container {
    /// `dockerfile+nix`, as shown in listings.
    pub fn kinds_label(&self) -> String {
        kinds_label(&self.kinds)
    }

    pub fn build_file(&self, kind: BuildKind) -> PathBuf {
        self.dir.join(kind.file_name())
    }

    /// `containers/<name>`, for messages and output.
    pub fn rel_path(&self) -> String {
        format!("{CONTAINERS_DIR}/{}", self.name)
    }

    fn load(dir: PathBuf, name: String) -> Self {
        let kinds = BuildKind::ALL
            .into_iter()
            .filter(|kind| dir.join(kind.file_name()).is_file())
            .collect();
        Container { name, dir, kinds }
    }
}

/// Refuses names that are not a single plain path component, before any path is built.
pub fn validate_name(name: &str) -> Result<()> {
    let problem = if name.is_empty() {
        Some("is empty")
    } else if name.starts_with('-') {
        Some("starts with '-'")
    } else if name.contains('/') || name.contains('\\') {
        Some("contains a path separator")
    } else if name.contains("..") {
        Some("contains '..'")
    } else if name == "." {
        Some("is '.'")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Error::usage(format!(
            "invalid container name '{}': it {problem}",
            name.escape_debug()
        ))
        .hint("give the name of a directory under containers/, such as 'navidrome'")),
        None => Ok(()),
    }
}

/// Every container under `<root>/containers/`, sorted by name.
pub fn discover(root: &Path) -> Result<Vec<Container>> {
    let dir = root.join(CONTAINERS_DIR);
    let entries = std::fs::read_dir(&dir).map_err(|e| {
        Error::usage(format!("cannot read {}: {e}", dir.display()))
            .hint("run from the repository root, or pass --repo-root")
    })?;
    let mut containers = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|e| Error::usage(format!("cannot read {}: {e}", dir.display())))?;
        if !entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        containers.push(Container::load(entry.path(), name));
    }
    containers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(containers)
}

/// The container called `name`, or exit 4 naming the ones that exist.
pub fn find(root: &Path, name: &str) -> Result<Container> {
    validate_name(name)?;
    let dir = root.join(CONTAINERS_DIR).join(name);
    if dir.is_dir() {
        return Ok(Container::load(dir, name.to_owned()));
    }
    let known: Vec<String> = discover(root)?.into_iter().map(|c| c.name).collect();
    Err(unknown_container(name, &known))
}

/// The error for a name that is not a container: the closest known name when one is
/// close enough to be a typo, and the ones that exist.
pub fn unknown_container(name: &str, known: &[String]) -> Error {
    let suggestion = closest(name, known)
        .map(|close| format!("; did you mean '{close}'?"))
        .unwrap_or_default();
    Error::not_found(format!(
        "no container '{name}' under {CONTAINERS_DIR}/{suggestion} (known: {})",
        if known.is_empty() {
            "none".to_owned()
        } else {
            known.join(", ")
        }
    ))
}

/// The known name most like `name`, if it is like it enough (Jaro-Winkler similarity
/// above 0.8, compared without case): `navidrom` → `navidrome`, `Redis` → `redis`.
pub fn closest<'a>(name: &str, known: &'a [String]) -> Option<&'a str> {
    let wanted = name.to_lowercase();
    known
        .iter()
        .map(|k| (strsim::jaro_winkler(&wanted, &k.to_lowercase()), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        dir
    }

    #[test]
    fn discover_finds_kinds_by_file_name_sorted_by_name() {
        let dir = tree(&[
            "containers/zeta/Dockerfile",
            "containers/alpha/default.nix",
            "containers/alpha/Dockerfile",
            "containers/mid/container.rs",
            "containers/empty/README.md",
            "containers/.hidden/Dockerfile",
        ]);
        let found = discover(dir.path()).unwrap();
        let summary: Vec<(String, String)> = found
            .iter()
            .map(|c| (c.name.clone(), c.kinds_label()))
            .collect();
        assert_eq!(
            summary,
            [
                ("alpha".into(), "dockerfile+nix".into()),
                ("empty".into(), "none".into()),
                ("mid".into(), "native".into()),
                ("zeta".into(), "dockerfile".into()),
            ]
        );
    }

    #[test]
    fn names_that_could_escape_containers_dir_are_refused_with_exit_2() {
        for bad in ["../etc", "a/b", "..", ".", "-rf", "", "a\\b"] {
            let err = validate_name(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        assert!(validate_name("navidrome").is_ok());
        assert!(validate_name("kiwix-serve.v2_x").is_ok());
    }

    #[test]
    fn unknown_name_is_not_found_and_lists_known_names() {
        let dir = tree(&["containers/a/Dockerfile", "containers/b/default.nix"]);
        let err = find(dir.path(), "x").unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            err.message(),
            "no container 'x' under containers/ (known: a, b)"
        );
    }

    #[test]
    fn a_near_miss_suggests_the_closest_known_name() {
        let dir = tree(&[
            "containers/navidrome/container.rs",
            "containers/navi/Dockerfile",
            "containers/redis/default.nix",
        ]);
        let err = find(dir.path(), "navidrom").unwrap_err();
        assert_eq!(err.exit_code(), 4);
        assert_eq!(
            err.message(),
            "no container 'navidrom' under containers/; did you mean 'navidrome'? \
             (known: navi, navidrome, redis)"
        );
        assert_eq!(closest("Redis", &["redis".into()]), Some("redis"));
        assert_eq!(
            closest("kubectl", &["navidrome".into(), "redis".into()]),
            None
        );
    }
}
