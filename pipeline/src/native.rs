//! Native pipelines: `containers/<name>/container.rs`, each compiled into this crate by
//! `build.rs`. A file declares `pub const VERSION: &str` (which `container-version`
//! reads as text, with no compile) and `pub fn build(&Pipeline, Directory) -> Container`,
//! given the container's directory at the commit being built.

use crate::{Container, Directory, Pipeline};

/// One container's native pipeline.
pub struct NativePipeline {
    pub name: &'static str,
    pub version: &'static str,
    pub build: fn(&Pipeline, Directory) -> Container,
}

include!(concat!(env!("OUT_DIR"), "/native.rs"));

/// The native pipeline of `container`, if this build of the tool has one.
pub fn find(container: &str) -> Option<&'static NativePipeline> {
    PIPELINES.iter().find(|p| p.name == container)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_container_rs_in_the_repo_is_registered_with_its_declared_version() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../containers");
        let mut on_disk: Vec<(String, String)> = std::fs::read_dir(&root)
            .expect("containers/ exists")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("container.rs").is_file())
            .map(|e| {
                let text =
                    std::fs::read_to_string(e.path().join("container.rs")).expect("readable");
                let version = opskit::extract::native_version(&text).expect("declares VERSION");
                (e.file_name().to_string_lossy().into_owned(), version)
            })
            .collect();
        on_disk.sort();
        let registered: Vec<(String, String)> = PIPELINES
            .iter()
            .map(|p| (p.name.to_owned(), p.version.to_owned()))
            .collect();
        assert!(
            on_disk.len() >= 2,
            "at least two native pipelines: {on_disk:?}"
        );
        assert_eq!(registered, on_disk);
    }
}
