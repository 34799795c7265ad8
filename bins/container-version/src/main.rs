//! `container-version`: a thin entry point; the command lives in `opskit::commands::container_version`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(
        env!("CARGO_PKG_NAME"),
        opskit::commands::container_version::run,
    )
}
