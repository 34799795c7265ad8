//! `release-docs`: every step's dispatch. `version`, `publish` and `deploy` need no
//! engine and live in `opskit::commands::release_docs`; `changelog`, `build` and `all`
//! run Dagger pipelines and live here.

use opskit::commands::release_docs::{Args, Step, deploy, publish, version};
use opskit::error::Result;

pub mod all;
pub mod build;
pub mod changelog;

pub fn run(args: Args) -> Result<()> {
    match args.step {
        Step::Version(args) => version::run(args),
        Step::Changelog(args) => changelog::run(args),
        Step::Build(args) => build::run(args),
        Step::Publish(args) => publish::run(args),
        Step::Deploy(args) => deploy::run(*args),
        Step::All(args) => all::run(args),
    }
}
