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

// Native pipelines in containers/ name this crate as `pipeline::…`, from inside it too.
extern crate self as pipeline;

pub mod engine;
pub mod helpers;
pub mod kinds;
pub mod local;
pub mod native;
pub mod session;

pub use dagger_sdk::{Container, Directory, File, Query as Client};
pub use helpers::{
    GoBuild, alpine_runtime, cache, go_build, node_build, oci_labels, source_at_tag,
};
pub use session::Pipeline;
