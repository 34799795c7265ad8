fn main() -> std::process::ExitCode {
    opskit::cli::main(opskit::commands::runner_logs::run)
}
