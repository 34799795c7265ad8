//! `cargo run -p xtask -- <chore>`: see the crate docs.
//!
//!   cli-docs [--check]         the CLI reference (docs/reference/cli/) and the mise task
//!                              specs (mise.toml); --check only says what is stale (exit 1)
//!   completions [--out-dir D]  bash, zsh and fish completions [default: target/completions]
//!   man [--out-dir D]          man pages, D/man1/<tool>.1 [default: target/man]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "xtask",
    about = "Files made from the opskit tools' clap commands"
)]
enum Chore {
    /// Write the CLI reference (docs/reference/cli/) and the mise task specs (mise.toml).
    CliDocs {
        /// Change nothing; list the stale files and exit 1 when there are any.
        #[arg(long)]
        check: bool,
    },
    /// Write bash, zsh and fish completions: DIR/bash/<tool>, DIR/zsh/_<tool>, DIR/fish/<tool>.fish.
    Completions {
        /// Where to write them [default: target/completions].
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Write man pages: DIR/man1/<tool>.1.
    Man {
        /// Where to write them [default: target/man].
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let root = xtask::repo_root();
    let result = match Chore::parse() {
        Chore::CliDocs { check: true } => xtask::stale(&root).map(|stale| {
            for message in &stale {
                report(format_args!("{message}"));
            }
            if !stale.is_empty() {
                report(format_args!("regenerate with: {}", xtask::REGENERATE));
            }
            stale.is_empty()
        }),
        Chore::CliDocs { check: false } => xtask::write_checked_in(&root).map(|changed| {
            for path in changed {
                report(format_args!("wrote {}", path.display()));
            }
            true
        }),
        Chore::Completions { out_dir } => {
            let out = out_dir.unwrap_or_else(|| root.join("target/completions"));
            xtask::write_completions(&out).map(|written| {
                report(format_args!(
                    "wrote {} files under {}",
                    written.len(),
                    out.display()
                ));
                true
            })
        }
        Chore::Man { out_dir } => {
            let out = out_dir.unwrap_or_else(|| root.join("target/man"));
            xtask::write_man_pages(&out).map(|written| {
                report(format_args!(
                    "wrote {} files under {}",
                    written.len(),
                    out.display()
                ));
                true
            })
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(message) => {
            report(format_args!("error: {message}"));
            ExitCode::from(2)
        }
    }
}

fn report(line: std::fmt::Arguments) {
    opskit::output::stderr_line(line);
}
