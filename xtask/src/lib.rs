//! Repo chores made from the tools' own clap commands, so that nothing a user reads
//! about a tool can disagree with the tool: shell completions (bash, zsh, fish), man
//! pages, the CLI reference in `docs/reference/cli/`, and the usage specs of the mise
//! tasks in `mise.toml`.
//!
//! `cargo run -p xtask -- cli-docs` rewrites the checked-in files (the reference and the
//! task specs); the tests fail, naming that command, when they are stale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, Command};

pub mod mise;
pub mod reference;

/// The command that regenerates every checked-in file this crate makes.
pub const REGENERATE: &str = "cargo run -p xtask -- cli-docs";

/// Every opskit tool: its binary name and its clap command, built exactly as its
/// `main` builds it.
pub fn tools() -> Vec<(&'static str, Command)> {
    use opskit::cli::command;
    use opskit::commands::{
        container_build_and_release, container_list, container_version, release_docs, runner_logs,
        version_sync_check,
    };
    vec![
        (
            "container-version",
            command::<container_version::Args>("container-version"),
        ),
        (
            "version-sync-check",
            command::<version_sync_check::Args>("version-sync-check"),
        ),
        (
            "container-list",
            command::<container_list::Args>("container-list"),
        ),
        ("runner-logs", command::<runner_logs::Args>("runner-logs")),
        (
            "container-build-and-release",
            command::<container_build_and_release::Args>("container-build-and-release"),
        ),
        (
            "release-docs",
            command::<release_docs::Args>("release-docs"),
        ),
    ]
}

/// The repository this crate lives in.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repo")
        .to_path_buf()
}

/// A checked-in file this crate makes: where it lives (relative to the repo) and what
/// it should hold.
pub struct Generated {
    pub path: PathBuf,
    pub content: String,
}

/// Every checked-in file made from the clap commands, given the repo's current
/// `mise.toml` (whose task specs are rewritten in place).
pub fn checked_in(mise_toml: &str) -> Result<Vec<Generated>, String> {
    let tools = tools();
    let mut files = Vec::new();
    for (name, command) in &tools {
        files.push(Generated {
            path: Path::new("docs/reference/cli").join(format!("{name}.md")),
            content: reference::markdown(command),
        });
    }
    files.push(Generated {
        path: "docs/reference/cli/README.md".into(),
        content: reference::index(&tools),
    });
    files.push(Generated {
        path: "mise.toml".into(),
        content: mise::update_mise_toml(mise_toml, &tools)?,
    });
    Ok(files)
}

/// The checked-in files that differ from what [`checked_in`] makes, as one message
/// per file (empty when all are current).
pub fn stale(root: &Path) -> Result<Vec<String>, String> {
    let mise_toml = read(&root.join("mise.toml"))?;
    let mut stale = Vec::new();
    for file in checked_in(&mise_toml)? {
        let current = std::fs::read_to_string(root.join(&file.path)).unwrap_or_default();
        if current != file.content {
            stale.push(format!(
                "{} is stale:\n{}",
                file.path.display(),
                first_difference(&current, &file.content)
            ));
        }
    }
    Ok(stale)
}

/// The first line where `old` and `new` differ, for a failure message.
pub fn first_difference(old: &str, new: &str) -> String {
    let mut old_lines = old.lines();
    let mut new_lines = new.lines();
    for number in 1.. {
        match (old_lines.next(), new_lines.next()) {
            (None, None) => break,
            (a, b) if a == b => continue,
            (a, b) => {
                return format!(
                    "  line {number}\n  checked in: {}\n  generated:  {}",
                    a.unwrap_or("(end of file)"),
                    b.unwrap_or("(end of file)")
                );
            }
        }
    }
    "  (line endings differ)".to_owned()
}

/// Writes the checked-in files; returns the paths that changed.
pub fn write_checked_in(root: &Path) -> Result<Vec<PathBuf>, String> {
    let mise_toml = read(&root.join("mise.toml"))?;
    let mut changed = Vec::new();
    for file in checked_in(&mise_toml)? {
        let path = root.join(&file.path);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(file.content.as_str()) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&path, &file.content).map_err(|e| format!("{}: {e}", path.display()))?;
        changed.push(file.path);
    }
    Ok(changed)
}

/// Writes bash, zsh and fish completions for every tool under `out`: `bash/<tool>`,
/// `zsh/_<tool>` and `fish/<tool>.fish`, the names each shell looks up lazily.
pub fn write_completions(out: &Path) -> Result<Vec<PathBuf>, String> {
    use clap_complete::Shell;
    let mut written = Vec::new();
    for (name, mut command) in tools() {
        for (shell, dir, file) in [
            (Shell::Bash, "bash", name.to_owned()),
            (Shell::Zsh, "zsh", format!("_{name}")),
            (Shell::Fish, "fish", format!("{name}.fish")),
        ] {
            let mut text = Vec::new();
            clap_complete::generate(shell, &mut command, name, &mut text);
            let path = out.join(dir).join(file);
            write_file(&path, &text)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes a man page `man1/<tool>.1` for every tool under `out`.
pub fn write_man_pages(out: &Path) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    for (name, command) in tools() {
        let mut text = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut text)
            .map_err(|e| format!("man page of {name}: {e}"))?;
        let path = out.join("man1").join(format!("{name}.1"));
        write_file(&path, &text)?;
        written.push(path);
    }
    Ok(written)
}

fn write_file(path: &Path, content: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, content).map_err(|e| format!("{}: {e}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The arguments a user can give: neither hidden nor clap's own `--help`/`--version`.
pub fn visible_args(command: &Command) -> impl Iterator<Item = &Arg> {
    command.get_arguments().filter(|arg| {
        !arg.is_hide_set() && !matches!(arg.get_action(), ArgAction::Help | ArgAction::Version)
    })
}

/// The value placeholder of an argument (`N`, `URL`, or its id in capitals).
pub fn value_name(arg: &Arg) -> String {
    arg.get_value_names()
        .and_then(|names| names.first())
        .map(|name| name.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_uppercase())
}

/// An argument's help as one paragraph (the long help when there is one).
pub fn help_text(arg: &Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    help.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The values a flag takes when clap knows them (value enums), for docs and choices.
pub fn choices(arg: &Arg) -> Vec<String> {
    if !arg.get_action().takes_values() {
        return Vec::new();
    }
    arg.get_possible_values()
        .iter()
        .filter(|value| !value.is_hide_set())
        .map(|value| value.get_name().to_owned())
        .collect()
}

/// `-j, --job <N>` as the help shows it.
pub fn flag_usage(arg: &Arg) -> String {
    let mut usage = String::new();
    if let Some(short) = arg.get_short() {
        let _ = write!(usage, "-{short}");
        if arg.get_long().is_some() {
            usage.push_str(", ");
        }
    }
    if let Some(long) = arg.get_long() {
        let _ = write!(usage, "--{long}");
    }
    if arg.get_action().takes_values() {
        let _ = write!(usage, " <{}>", value_name(arg));
    }
    usage
}
