//! Dev-only harness shared by the tests of every tool.
//!
//! Real parts where they can run here (git repositories made with the real `git`, the
//! Debian `docker-registry` on a loopback port), and servers that follow the real APIs
//! where they cannot (Forgejo). Nothing here is linked into a shipped binary.

pub mod argocd;
pub mod cli;
pub mod dagger;
pub mod faults;
pub mod forgejo;
pub mod git;
pub mod mise;
pub mod ops;
pub mod registry;
pub mod serve;
