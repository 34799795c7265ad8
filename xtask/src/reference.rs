//! The CLI reference, `docs/reference/cli/<tool>.md`: every argument, flag and
//! subcommand of a tool with its full help, as `--help` shows them.

use std::fmt::Write as _;

use clap::Command;

use crate::{REGENERATE, choices, flag_usage, help_text, value_name, visible_args};

/// The reference page of one tool.
pub fn markdown(command: &Command) -> String {
    let mut page = format!(
        "<!-- Generated from the tool's clap command by `{REGENERATE}`; do not edit. -->\n\n"
    );
    section(&mut page, command, 1, command.get_name());
    page
}

/// The index page listing every tool's reference.
pub fn index(tools: &[(&str, Command)]) -> String {
    let mut page = format!(
        "<!-- Generated from the tools' clap commands by `{REGENERATE}`; do not edit. -->\n\n\
         # CLI reference\n\n\
         Every flag and argument of each tool, with the help its `--help` prints. Shell\n\
         completions and man pages are made from the same commands: see the README.\n\n"
    );
    for (name, command) in tools {
        let about = command
            .get_about()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let _ = writeln!(page, "- [`{name}`]({name}.md): {}", escape(&about));
    }
    page
}

fn section(page: &mut String, command: &Command, level: usize, path: &str) {
    let hashes = "#".repeat(level);
    let _ = writeln!(page, "{hashes} `{path}`\n");
    let about = command
        .get_long_about()
        .or(command.get_about())
        .map(|a| a.to_string());
    if let Some(about) = about {
        let _ = writeln!(page, "{}\n", escape(about.trim()));
    }
    let mut usage = command.clone().bin_name(path).render_usage().to_string();
    usage = usage.trim().trim_start_matches("Usage: ").to_owned();
    let _ = writeln!(page, "```text\n{usage}\n```\n");

    let positionals: Vec<_> = visible_args(command)
        .filter(|a| a.is_positional())
        .collect();
    if !positionals.is_empty() {
        let _ = writeln!(page, "{hashes}# Arguments\n");
        for arg in positionals {
            let dots = if crate::mise::is_repeatable(arg) {
                "..."
            } else {
                ""
            };
            let name = value_name(arg);
            let name = if arg.is_required_set() {
                format!("<{name}>{dots}")
            } else {
                format!("[{name}]{dots}")
            };
            item(page, &name, arg);
        }
    }
    let flags: Vec<_> = visible_args(command)
        .filter(|a| !a.is_positional())
        .collect();
    if !flags.is_empty() {
        let _ = writeln!(page, "{hashes}# Options\n");
        for arg in flags {
            item(page, &flag_usage(arg), arg);
        }
    }
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_path = format!("{path} {}", sub.get_name());
        section(page, sub, level + 1, &sub_path);
    }
    let after = command
        .get_after_long_help()
        .or(command.get_after_help())
        .map(|a| a.to_string());
    if let Some(after) = after {
        let _ = writeln!(page, "{hashes}# Examples and exit codes\n");
        let _ = writeln!(page, "```text\n{}\n```\n", after.trim_end());
    }
}

fn item(page: &mut String, name: &str, arg: &clap::Arg) {
    let _ = writeln!(page, "- `{name}`");
    let mut text = escape(&help_text(arg));
    let mut facts = Vec::new();
    if crate::mise::is_repeatable(arg)
        && !arg.is_positional()
        && !text.to_lowercase().contains("repeatable")
    {
        facts.push("repeatable".to_owned());
    }
    let choices = choices(arg);
    if !choices.is_empty() {
        let list: Vec<String> = choices.iter().map(|c| format!("`{c}`")).collect();
        facts.push(format!("one of {}", list.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if arg.get_action().takes_values() && !defaults.is_empty() {
        facts.push(format!("default `{}`", defaults.join(", ")));
    }
    if let Some(env) = arg.get_env() {
        facts.push(format!("environment `{}`", env.to_string_lossy()));
    }
    if !text.is_empty() && !text.ends_with(['.', '!', '?', ':']) {
        text.push('.');
    }
    if !facts.is_empty() {
        let facts = facts.join("; ");
        let mut chars = facts.chars();
        let first = chars.next().map(|c| c.to_uppercase().to_string());
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&first.unwrap_or_default());
        text.push_str(chars.as_str());
        text.push('.');
    }
    if !text.is_empty() {
        let _ = writeln!(page, "  {text}");
    }
    page.push('\n');
}

/// Prose from the help made safe for markdown: `<version>` would be taken for HTML.
fn escape(text: &str) -> String {
    text.replace('<', "\\<")
}
