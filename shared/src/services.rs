//! `service-versions.yaml`: the deployed version of each service, and the mapping from
//! containers to services.
//!
//! blumeops kept the container→service names, the nixpkgs packages and the untracked
//! containers as constants in its scripts; here they are optional fields of the file,
//! so the repo states them once and every tool reads the same answer.
//!
//! ```yaml
//! untracked-containers: [kubectl]      # containers without a service entry
//! services:
//!   - name: docs
//!     type: argocd                      # argocd | ansible | nixos
//!     last-reviewed: 2026-11-01         # or null
//!     current-version: "1.4.2"          # or null
//!     upstream-source: https://…
//!     notes: …                          # optional
//!     container: quartz                 # optional: the container, when names differ
//!     nixpkgs-package: redis            # optional: the package a default.nix builds
//! ```

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The file, relative to the repository root.
pub const SERVICE_FILE: &str = "service-versions.yaml";

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServiceFile {
    #[serde(default)]
    pub untracked_containers: Vec<String>,
    pub services: Vec<Service>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Service {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ServiceType,
    pub last_reviewed: Option<String>,
    pub current_version: Option<String>,
    pub upstream_source: String,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    #[serde(default)]
    pub nixpkgs_package: Option<String>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    Argocd,
    Ansible,
    Nixos,
}

impl ServiceFile {
    /// Reads the file at `<root>/service-versions.yaml`; a missing file is an empty one.
    pub fn load(root: &Path) -> Result<ServiceFile> {
        let path = root.join(SERVICE_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, SERVICE_FILE),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ServiceFile::default()),
            Err(e) => Err(Error::usage(format!("cannot read {}: {e}", path.display()))),
        }
    }

    /// Parses the YAML; errors name the file, line and column and what was expected.
    pub fn parse(text: &str, source: &str) -> Result<ServiceFile> {
        serde_saphyr::from_str(text).map_err(|e| yaml_error(source, &e))
    }

    /// The service entry for a container: the one naming it in `container:`, else the
    /// one with the container's name. One look-up; for many, build [`Self::index`] once.
    pub fn for_container(&self, container: &str) -> Option<&Service> {
        self.index().for_container(container)
    }

    pub fn is_untracked(&self, container: &str) -> bool {
        self.untracked_containers.iter().any(|c| c == container)
    }

    /// The entries by container name, for checking many containers in linear time.
    pub fn index(&self) -> ServiceIndex<'_> {
        let mut by_container: HashMap<&str, &Service> = HashMap::new();
        // The first entry naming a container in `container:` wins, as it always did;
        // an entry's own name counts only when no entry names the container.
        for service in &self.services {
            if let Some(container) = service.container.as_deref() {
                by_container.entry(container).or_insert(service);
            }
        }
        let mut by_name: HashMap<&str, &Service> = HashMap::new();
        for service in self.services.iter().filter(|s| s.container.is_none()) {
            by_name.entry(service.name.as_str()).or_insert(service);
        }
        for (name, service) in by_name {
            by_container.entry(name).or_insert(service);
        }
        ServiceIndex {
            file: self,
            by_container,
            untracked: self
                .untracked_containers
                .iter()
                .map(String::as_str)
                .collect(),
        }
    }
}

/// [`ServiceFile`] indexed by container name: each look-up is a hash probe.
#[derive(Debug)]
pub struct ServiceIndex<'a> {
    pub file: &'a ServiceFile,
    by_container: HashMap<&'a str, &'a Service>,
    untracked: HashSet<&'a str>,
}

impl<'a> ServiceIndex<'a> {
    /// As [`ServiceFile::for_container`].
    pub fn for_container(&self, container: &str) -> Option<&'a Service> {
        self.by_container.get(container).copied()
    }

    pub fn is_untracked(&self, container: &str) -> bool {
        self.untracked.contains(container)
    }
}

/// One line for a YAML error: `file:line:column: what`.
pub fn yaml_error(source: &str, err: &serde_saphyr::Error) -> Error {
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("malformed YAML").trim();
    // serde-saphyr says "error: line L column C: what"; the location is given once, below.
    let first = match first.strip_prefix("error: line ") {
        Some(rest) => rest.split_once(": ").map_or(first, |(_, what)| what),
        None => first,
    };
    let location = err
        .location()
        .map(|loc| format!("{}:{}", loc.line(), loc.column()))
        .unwrap_or_else(|| "?".to_owned());
    Error::usage(format!("{source}:{location}: {first}")).hint(format!(
        "fix {source} at that line; the schema is in docs/reference/service-versions.md"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
untracked-containers: [kubectl]
services:
  - name: docs
    type: argocd
    last-reviewed: 2026-11-01
    current-version: "v1.4.2"
    upstream-source: https://example.invalid/docs
    container: quartz
  - name: navidrome
    type: argocd
    last-reviewed: null
    current-version: null
    upstream-source: https://example.invalid/navidrome
    notes: pinned until the scanner bug is fixed
"#;

    #[test]
    fn parses_schema_with_optional_mappings() {
        let file = ServiceFile::parse(SAMPLE, SERVICE_FILE).unwrap();
        assert_eq!(file.for_container("quartz").unwrap().name, "docs");
        assert_eq!(file.for_container("docs"), None, "docs maps to quartz only");
        let navidrome = file.for_container("navidrome").unwrap();
        assert_eq!(navidrome.current_version, None);
        assert!(file.is_untracked("kubectl"));
    }

    #[test]
    fn an_entry_naming_the_container_beats_one_with_its_name_and_the_first_wins() {
        let text = "services:\n\
          - {name: web, type: argocd, last-reviewed: null, current-version: '1', upstream-source: x}\n\
          - {name: site, type: argocd, last-reviewed: null, current-version: '2', upstream-source: x, container: web}\n\
          - {name: site2, type: argocd, last-reviewed: null, current-version: '3', upstream-source: x, container: web}\n";
        let file = ServiceFile::parse(text, SERVICE_FILE).unwrap();
        let index = file.index();
        assert_eq!(index.for_container("web").unwrap().name, "site");
        assert_eq!(index.for_container("site"), None);
        assert_eq!(file.for_container("web").unwrap().name, "site");
    }

    #[test]
    fn malformed_yaml_names_file_line_and_column() {
        let err = ServiceFile::parse("services:\n  - name: [unclosed\n", SERVICE_FILE).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.message().starts_with("service-versions.yaml:"),
            "{}",
            err.message()
        );
        assert!(
            err.message().contains(":2:") || err.message().contains(":3:"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn unknown_field_is_reported_once_with_its_location_and_what_was_expected() {
        let text = "services:\n  - name: a\n    typo: 1\n";
        let err = ServiceFile::parse(text, SERVICE_FILE).unwrap_err();
        assert_eq!(
            err.message(),
            "service-versions.yaml:3:5: unknown field `typo`, expected one of name, type, \
             last-reviewed, current-version, upstream-source, notes, container, nixpkgs-package"
        );
    }
}
