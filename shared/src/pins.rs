//! The image pins in `argocd/`: which tags of our registry production runs.
//!
//! Pins take three shapes in the manifests (blumeops-tools.md §15):
//! - a kustomization `images:` entry, whose `newName` (else `name`) is the image and
//!   `newTag`/`digest` the pin; the deployment itself carries a sentinel tag;
//! - a plain reference `registry/path:tag`, `registry/path@sha256:…` or
//!   `registry/path:tag@sha256:…`, in an `image:` field or inside a string such as
//!   `k8s:docker://registry/path:tag`.
//!
//! Only references to the given registry host count; upstream images are not ours to
//! check. Kustomization files are parsed as YAML; every other file is scanned as text,
//! because manifests are multi-document and templated, and a reference is a reference
//! wherever it appears.

pub mod edit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One pinned image reference.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Pin {
    /// The file, relative to the repository root.
    pub file: String,
    /// 1-based line of the reference (of the `images:` entry's name for kustomizations).
    pub line: usize,
    /// The repository path in the registry, without the host (`opskit/navidrome`).
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Pin {
    /// What to ask the registry for: the digest when pinned by one (it is immutable),
    /// else the tag.
    pub fn reference(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or_default()
    }

    /// `repository:tag@digest`, as written.
    pub fn display(&self) -> String {
        let mut text = self.repository.clone();
        if let Some(tag) = &self.tag {
            text.push(':');
            text.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            text.push('@');
            text.push_str(digest);
        }
        text
    }
}

/// The placeholder tag deployments carry for kustomize to replace.
const SENTINEL_TAGS: &[&str] = &["kustomized"];

#[derive(Deserialize)]
struct Kustomization {
    #[serde(default)]
    images: Vec<KustomizeImage>,
}

#[derive(Deserialize)]
struct KustomizeImage {
    name: String,
    #[serde(default, rename = "newName")]
    new_name: Option<String>,
    #[serde(default, rename = "newTag")]
    new_tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// Every pin of an image on `registry_host` in the YAML files under `dir`, sorted by
/// file and line. A missing directory is an error: a pin check that finds nothing to
/// check must not pass silently.
pub fn read_pins(repo_root: &Path, dir: &Path, registry_host: &str) -> Result<Vec<Pin>> {
    if !dir.is_dir() {
        return Err(
            Error::usage(format!("no manifest directory {}", dir.display()))
                .hint("run from the repository root, or pass --repo-root"),
        );
    }
    let reference = reference_pattern(registry_host);
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    let mut pins = BTreeSet::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
        let rel = path
            .strip_prefix(repo_root)
            .unwrap_or(&path)
            .display()
            .to_string();
        let is_kustomization = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("kustomization."));
        if is_kustomization {
            pins.extend(kustomization_pins(&text, &rel, registry_host)?);
        }
        pins.extend(text_pins(&text, &rel, &reference));
    }
    Ok(pins.into_iter().collect())
}

fn collect_yaml(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry
            .map_err(|e| Error::usage(format!("cannot read {}: {e}", dir.display())))?
            .path();
        if path.is_dir() {
            collect_yaml(&path, files)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// `host/path[:tag][@sha256:…]`, with the grammar of distribution's reference package
/// (path components, tag `[\w][\w.-]{0,127}`), so prose around it does not match.
fn reference_pattern(host: &str) -> Regex {
    let pattern = format!(
        r"(?:^|[^A-Za-z0-9._-]){}/([a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9._-]{{0,127}}))?(?:@(sha256:[0-9a-f]{{64}}))?",
        regex::escape(host)
    );
    Regex::new(&pattern).expect("the reference pattern is valid for any escaped host")
}

fn text_pins(text: &str, file: &str, reference: &Regex) -> Vec<Pin> {
    let mut pins = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for caps in reference.captures_iter(line) {
            let tag = caps.get(2).map(|m| m.as_str().to_owned());
            let digest = caps.get(3).map(|m| m.as_str().to_owned());
            if digest.is_none() && tag.as_deref().is_none_or(|t| SENTINEL_TAGS.contains(&t)) {
                continue;
            }
            pins.push(Pin {
                file: file.to_owned(),
                line: index + 1,
                repository: caps[1].to_owned(),
                tag,
                digest,
            });
        }
    }
    pins
}

fn kustomization_pins(text: &str, file: &str, host: &str) -> Result<Vec<Pin>> {
    let parsed: Kustomization = serde_saphyr::from_str(text).map_err(|e| {
        Error::usage(format!("{file}: not a valid kustomization: {e}"))
            .hint("fix the YAML; `kubectl kustomize` shows the same problem")
    })?;
    let prefix = format!("{host}/");
    let mut pins = Vec::new();
    for image in parsed.images {
        let name = image.new_name.as_deref().unwrap_or(&image.name);
        let Some(repository) = name.strip_prefix(&prefix) else {
            continue;
        };
        // kustomize also accepts `newTag: tag@sha256:…`.
        let (tag, digest) = match image.new_tag.as_deref().and_then(|t| t.split_once('@')) {
            Some((tag, digest)) => (Some(tag.to_owned()), Some(digest.to_owned())),
            None => (image.new_tag, image.digest),
        };
        if tag.is_none() && digest.is_none() {
            continue;
        }
        let line = text
            .lines()
            .position(|l| l.contains(name))
            .map_or(0, |i| i + 1);
        pins.push(Pin {
            file: file.to_owned(),
            line,
            repository: repository.to_owned(),
            tag,
            digest,
        });
    }
    Ok(pins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn pins_in(files: &[(&str, &str)]) -> Vec<String> {
        let root = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = root.path().join("argocd").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        read_pins(root.path(), &root.path().join("argocd"), "reg.example:5000")
            .unwrap()
            .iter()
            .map(|p| format!("{}:{} {}", p.file, p.line, p.display()))
            .collect()
    }

    #[test]
    fn kustomization_new_name_new_tag_and_digest_are_pins() {
        let kustomization = format!(
            "images:\n  - name: reg.example:5000/opskit/app\n    newTag: v1.0.0-abc1234\n  - name: app2\n    newName: reg.example:5000/opskit/app2\n    digest: {DIGEST}\n  - name: docker.io/library/redis\n    newTag: '7'\n  - name: reg.example:5000/opskit/app3\n    newTag: v3.0-abc1234@{DIGEST}\n"
        );
        let found = pins_in(&[("app/kustomization.yaml", &kustomization)]);
        assert_eq!(
            found,
            [
                "argocd/app/kustomization.yaml:2 opskit/app:v1.0.0-abc1234".to_owned(),
                format!("argocd/app/kustomization.yaml:5 opskit/app2@{DIGEST}"),
                format!("argocd/app/kustomization.yaml:9 opskit/app3:v3.0-abc1234@{DIGEST}"),
            ]
        );
    }

    #[test]
    fn plain_references_tag_at_digest_and_embedded_strings_are_pins() {
        let deployment = format!(
            "---\nspec:\n  containers:\n    - image: reg.example:5000/opskit/a:kustomized\n    - image: \"reg.example:5000/opskit/b:v2.0-def5678@{DIGEST}\"\n    - image: other.example/opskit/c:v1-abc1234\n# image: reg.example:5000/opskit/old:v0-0000000\n    env:\n      - value: k8s:docker://reg.example:5000/opskit/runner:v0.20.1-24f7512\n"
        );
        let found = pins_in(&[("x/deployment.yml", &deployment)]);
        assert_eq!(
            found,
            [
                format!("argocd/x/deployment.yml:5 opskit/b:v2.0-def5678@{DIGEST}"),
                "argocd/x/deployment.yml:9 opskit/runner:v0.20.1-24f7512".to_owned(),
            ]
        );
    }

    #[test]
    fn broken_kustomization_is_a_usage_error_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("argocd")).unwrap();
        std::fs::write(root.path().join("argocd/kustomization.yaml"), "images: [\n").unwrap();
        let err = read_pins(root.path(), &root.path().join("argocd"), "r").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message().starts_with("argocd/kustomization.yaml"),
            "{}",
            err.message()
        );
    }
}
