//! `opskit`: everything the opskit tools share.
//!
//! Each tool in `bins/` is a thin `main` over one `commands::<tool>::run` function here;
//! the logic lives in this crate so it can be tested without a process and reused by
//! the other tools (the registry client by `container-list` and the release tools, the
//! tag grammar by everything that names an image).

pub mod ancestry;
pub mod cli;
pub mod commands;
pub mod containers;
pub mod error;
pub mod extract;
pub mod forge;
pub mod git;
pub mod http;
pub mod nix;
pub mod output;
pub mod pins;
pub mod registry;
pub mod services;
pub mod settings;
pub mod tag;
pub mod version;

pub use error::{Error, Kind, Result};
