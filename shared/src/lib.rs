//! `opskit`: everything the opskit tools share.
//!
//! Each tool in `bins/` is a thin `main` over one `commands::<tool>::run` function here;
//! the logic lives in this crate so it can be tested without a process and reused by
//! the other tools (the registry client by `container-list` and the release tools, the
//! tag grammar by everything that names an image).
//!
//! # Layer rules
//!
//! The crate has three layers, and each keeps to its job so that the lower ones can be
//! reused by tools still to come (container-build-and-release, release-docs) and tested
//! without a process:
//!
//! 1. **Commands** (`commands::*`): own the clap structs (flag groups shared by several
//!    tools live in [`commands::flags`]), turn flags into plain settings, call clients,
//!    and print, through [`output::Printer`] on stdout and [`output::stderr_line`] /
//!    [`output::warn`] on stderr. Only commands decide what the user sees.
//! 2. **Clients** (`http`, `registry`, `forge`): talk to one remote each. They take
//!    plain settings structs, never clap types; they never print (a `--debug` trace is
//!    the HTTP client's one exception, and goes through `output::stderr_line`); long
//!    waits such as following a run are exposed as events the command renders. Every
//!    client sends through the one [`http::Client`] (deadlines, retries, concurrency,
//!    redaction) and maps statuses through [`http::status_error`].
//! 3. **Pure logic** (`version`, `tag`, `extract`, `containers`, `services`, `pins`,
//!    `git`, `ancestry`, `fsutil`): text and repository in, values out; no network, no
//!    output. Files are only ever replaced whole, through `fsutil::write_atomically`.
//!
//! Errors flow up as one [`Error`] whose [`Kind`] is the exit code; [`cli::main`] is
//! the only place that prints them. There is one tokio runtime per process, behind
//! [`cli::block_on`].

// `println!` panics on a closed stdout and `eprintln!` on a closed stderr; output goes
// through `output`, which turns a closed pipe into a quiet exit 0.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod ancestry;
pub mod argocd;
pub mod changelog;
pub mod cli;
pub mod commands;
pub mod containers;
pub mod error;
pub mod extract;
pub mod forge;
pub mod fsutil;
pub mod git;
pub mod http;
pub mod manifest_env;
pub mod nix;
pub mod output;
pub mod pack;
pub mod pins;
pub mod registry;
pub mod services;
pub mod settings;
pub mod tag;
pub mod version;
pub mod yaml_text;

pub use error::{Error, Kind, Result};
