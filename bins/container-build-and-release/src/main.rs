//! `container-build-and-release`: see `opskit::commands::container_build_and_release`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(
        env!("CARGO_PKG_NAME"),
        opskit::commands::container_build_and_release::run,
    )
}
