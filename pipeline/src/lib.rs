//! Image builds in a Dagger engine, from Rust, with no Dagger module and no Python.
//!
//! Its own crate so that the tools a pre-commit hook runs (container-version,
//! version-sync-check) never link dagger-sdk and its second HTTP stack; only
//! `container-build-and-release --local` and `release-docs` do.
//!
//! - [`engine`]: finding the engine (`dagger run`'s session variables, else the dagger
//!   CLI) and the GraphQL transport the SDK talks through — ours, so every query is
//!   bounded in time, secrets never reach a log, and a broken answer is an error, not a
//!   panic inside the SDK;
//! - [`session`]: running a pipeline as a task and turning what the engine said into
//!   one clear error: the failing stage and step, its command, exit code and stderr;
//! - [`helpers`]: the pieces native pipelines are made of (go_build, node_build,
//!   alpine_runtime, oci_labels, a source checkout at a tag, cache volumes);
//! - [`kinds`]: the three build kinds — Dockerfile, `default.nix`, native `container.rs`;
//! - [`native`]: every `containers/*/container.rs`, compiled in by the build script;
//! - [`local`]: the `container-build-and-release --local` command.
//!
//! Layer rule: only [`local`] prints; the rest returns values and `opskit` errors.

// Output goes through `opskit::output`, which ignores a closed pipe and keeps
// secrets out; a stray println! here would do neither.
#![deny(clippy::print_stdout, clippy::print_stderr)]

// Native pipelines in containers/ name this crate as `pipeline::…`, from inside it too.
extern crate self as pipeline;

pub mod engine;
pub mod helpers;
pub mod kinds;
pub mod local;
pub mod native;
pub mod release_docs;
pub mod session;

pub use dagger_sdk::{Container, Directory, File, Query as Client};
pub use helpers::{
    GoBuild, alpine_runtime, cache, go_build, node_build, oci_labels, source_at_tag,
};
pub use session::Pipeline;

#[cfg(test)]
mod tests {
    /// The dependency tree of `package`, one crate name per line.
    fn tree(package: &str) -> String {
        let out = std::process::Command::new(env!("CARGO"))
            .args([
                "tree",
                "--offline",
                "--locked",
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "-p",
                package,
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8")
    }

    fn links_dagger(package: &str) -> bool {
        tree(package)
            .lines()
            .any(|line| line.starts_with("dagger-sdk "))
    }

    #[test]
    fn the_pre_commit_tools_do_not_link_dagger_sdk_and_the_builder_does() {
        for tool in [
            "container-version",
            "version-sync-check",
            "container-list",
            "runner-logs",
        ] {
            assert!(!links_dagger(tool), "{tool} links dagger-sdk");
        }
        assert!(links_dagger("container-build-and-release"));
    }
}
