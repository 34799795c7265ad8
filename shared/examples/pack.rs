//! `cargo run --example pack -- DIR OUT`: [`opskit::pack::pack`] from a shell, for
//! bench/docs-pack.sh. Prints `SHA256 SIZE` on one line.

use std::io::Write;
use std::path::PathBuf;

fn main() -> std::process::ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [dir, out] = args.as_slice() else {
        let _ = writeln!(std::io::stderr(), "usage: pack DIR OUT.tar.gz");
        return std::process::ExitCode::from(2);
    };
    match opskit::pack::pack(dir, out) {
        Ok(fingerprint) => {
            let _ = writeln!(
                std::io::stdout(),
                "{} {}",
                fingerprint.sha256,
                fingerprint.size
            );
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {}", error.message());
            std::process::ExitCode::from(error.exit_code())
        }
    }
}
