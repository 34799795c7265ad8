//! `container-list`: see `opskit::commands::container_list`.

fn main() -> std::process::ExitCode {
    opskit::cli::main(opskit::commands::container_list::run)
}
