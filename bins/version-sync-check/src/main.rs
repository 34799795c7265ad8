//! `version-sync-check`: a thin entry point; the command lives in `opskit::commands::version_sync_check`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(
        env!("CARGO_PKG_NAME"),
        opskit::commands::version_sync_check::run,
    )
}
