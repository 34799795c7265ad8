//! `container-list`: see `opskit::commands::container_list`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(
        env!("CARGO_PKG_NAME"),
        opskit::commands::container_list::run,
    )
}
