//! `release-docs`: see `opskit::commands::release_docs`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(env!("CARGO_PKG_NAME"), opskit::commands::release_docs::run)
}
