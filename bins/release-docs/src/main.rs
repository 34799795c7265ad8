//! `release-docs`: see `opskit::commands::release_docs` (the steps' flags, and the
//! steps that need no engine) and `pipeline::release_docs` (the dispatch, and the steps
//! that run in Dagger).

fn main() -> std::process::ExitCode {
    opskit::cli::main(env!("CARGO_PKG_NAME"), pipeline::release_docs::run)
}
