fn main() -> std::process::ExitCode {
    opskit::cli::main(env!("CARGO_PKG_NAME"), opskit::commands::runner_logs::run)
}
