//! `container-build-and-release`: dispatch mode is
//! `opskit::commands::container_build_and_release`; `--local` builds in a Dagger engine
//! through the `pipeline` crate, which only this tool (and release-docs) links.

use opskit::commands::container_build_and_release::{self, Args};

fn main() -> std::process::ExitCode {
    opskit::cli::main(env!("CARGO_PKG_NAME"), |args: Args| {
        if args.local {
            pipeline::local::run(args)
        } else {
            container_build_and_release::run(args)
        }
    })
}
