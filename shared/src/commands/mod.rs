//! One module per tool: its clap `Args` and the `run` function its `main` calls.
//!
//! Commands are plain functions over parsed arguments, as in jj and uv, so tests can
//! call them without a process and `--help` text lives next to the code it documents.

pub mod container_build_and_release;
pub mod container_list;
pub mod container_version;
pub mod flags;
pub mod release_docs;
pub mod runner_logs;
pub mod version_sync_check;
