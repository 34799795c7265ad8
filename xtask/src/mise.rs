//! The mise tasks of the tools, made from their clap commands: each task's usage spec
//! (every flag the tool has, repeatable ones `var=#true`) and its `run` line, which
//! tells `scripts/mise-run-tool` how to turn mise's `usage_*` variables back into the
//! tool's arguments.

use std::fmt::Write as _;

use clap::{Arg, ArgAction, Command};

use crate::{choices, value_name, visible_args};

/// Positional args whose values are container names, completed from `containers/`.
const CONTAINER_ARG: &str = "name";

/// The usage spec (KDL) of the task that runs `command`.
pub fn usage_spec(command: &Command) -> String {
    let mut spec = String::new();
    for arg in visible_args(command) {
        let help = kdl_string(&short_help(arg));
        let var = if is_repeatable(arg) { " var=#true" } else { "" };
        if arg.is_positional() {
            let name = placeholder(arg);
            let (open, close) = if arg.is_required_set() {
                ("<", ">")
            } else {
                ("[", "]")
            };
            let dots = if is_repeatable(arg) { "..." } else { "" };
            let _ = write!(spec, "arg \"{open}{name}{close}{dots}\" help={help}{var}");
        } else {
            let mut usage = Vec::new();
            if let Some(short) = arg.get_short() {
                usage.push(format!("-{short}"));
            }
            if let Some(long) = arg.get_long() {
                usage.push(format!("--{long}"));
            }
            if arg.get_action().takes_values() {
                usage.push(format!("<{}>", placeholder(arg)));
            }
            let _ = write!(spec, "flag \"{}\" help={help}{var}", usage.join(" "));
        }
        let choices = choices(arg);
        if choices.is_empty() {
            spec.push('\n');
        } else {
            let quoted: Vec<String> = choices.iter().map(|c| kdl_string(c)).collect();
            let _ = writeln!(spec, " {{\n  choices {}\n}}", quoted.join(" "));
        }
    }
    for arg in visible_args(command).filter(|a| a.is_positional()) {
        if placeholder(arg) == CONTAINER_ARG {
            // From the checkout's top, so it completes in any directory of it.
            let _ = writeln!(
                spec,
                r#"complete "{CONTAINER_ARG}" run="ls \"$(git rev-parse --show-toplevel)/containers\"""#
            );
        }
    }
    spec
}

/// The task's `run` command: `scripts/mise-run-tool TOOL` with its positional args in
/// order (`name...` when repeatable), its repeatable flags (`--status...`) and the
/// flags that take one value (`--forge-url=`: passed whenever given, even as `''` or
/// `true`, which a switch's variable would also hold). What is left are switches.
pub fn run_line(name: &str, command: &Command) -> String {
    let mut line = format!("{{{{config_root}}}}/scripts/mise-run-tool {name}");
    for arg in visible_args(command).filter(|a| a.is_positional()) {
        let dots = if is_repeatable(arg) { "..." } else { "" };
        let _ = write!(line, " {}{dots}", usage_var(&placeholder(arg)));
    }
    for arg in visible_args(command).filter(|a| !a.is_positional()) {
        let Some(long) = arg.get_long() else {
            continue;
        };
        if is_repeatable(arg) {
            let _ = write!(line, " --{}...", usage_var(long));
        } else if arg.get_action().takes_values() {
            let _ = write!(line, " --{}=", usage_var(long));
        }
    }
    line
}

/// Whether an argument takes several values (mise must declare it `var=#true`, or it
/// keeps only the last).
pub fn is_repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
        || arg.get_num_args().is_some_and(|n| n.max_values() > 1)
}

/// The name mise gives the `usage_*` variable of an arg or flag named `name`.
fn usage_var(name: &str) -> String {
    name.replace('-', "_")
}

/// An argument's placeholder as a usage-spec name: lower case, `[a-z0-9_]`.
fn placeholder(arg: &Arg) -> String {
    value_name(arg)
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The first paragraph of an argument's help, on one line, with its default.
fn short_help(arg: &Arg) -> String {
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let mut help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
        .collect();
    if arg.get_action().takes_values()
        && !defaults.is_empty()
        && !help.to_lowercase().contains("default")
    {
        let _ = write!(help, " [default: {}]", defaults.join(", "));
    }
    help
}

fn kdl_string(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// The mise tasks of one tool: the tool itself, or for a tool made of steps
/// (`release-docs version`, `release-docs build`, …) one task per step, named
/// `tool:step`, so each task's usage spec is that step's flags.
pub fn tasks_of(name: &str, command: &Command) -> Vec<(String, Command)> {
    if !command.has_subcommands() {
        return vec![(name.to_owned(), command.clone())];
    }
    command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| (format!("{name}:{}", sub.get_name()), sub.clone()))
        .collect()
}

/// `mise.toml` with each tool's task spec and run line made from its command; a task
/// missing from the file is added, described by the command's `about`. Everything
/// else in the file is kept as it is.
pub fn update_mise_toml(text: &str, tools: &[(&str, Command)]) -> Result<String, String> {
    let mut text = text.to_owned();
    let tasks: Vec<(String, Command)> = tools
        .iter()
        .flat_map(|(name, command)| tasks_of(name, command))
        .collect();
    for (name, command) in &tasks {
        let header = if name.contains(':') {
            format!("[tasks.\"{name}\"]")
        } else {
            format!("[tasks.{name}]")
        };
        // Run where the user is, so a relative path in a flag (`--out ./x.tgz`) means
        // what it would typed to the tool; the tools find the checkout from there.
        let body = format!(
            "usage = '''\n{}'''\ndir = \"{{{{cwd}}}}\"\nrun = \"{}\"\n",
            usage_spec(command),
            run_line(name, command)
        );
        if body.matches("'''").count() != 2 {
            return Err(format!("the usage spec of {name} contains '''"));
        }
        let Some(start) = text.lines().position(|l| l.trim() == header) else {
            let about = command
                .get_about()
                .map(|a| a.to_string())
                .unwrap_or_default();
            if !text.ends_with("\n\n") {
                text.push('\n');
            }
            let _ = write!(
                text,
                "{header}\ndescription = \"{}\"\n{body}",
                about.replace('"', "\\\"")
            );
            continue;
        };
        let lines: Vec<&str> = text.lines().collect();
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with('['))
            .map_or(lines.len(), |i| start + 1 + i);
        let mut kept_before = Vec::new();
        let mut kept_after = Vec::new();
        let mut seen_body = false;
        let mut in_usage = false;
        for line in &lines[start + 1..end] {
            if in_usage {
                in_usage = !line.trim_end().ends_with("'''");
                continue;
            }
            if line.starts_with("usage = '''") {
                in_usage = line.matches("'''").count() < 2;
                seen_body = true;
            } else if ["usage =", "dir =", "run ="]
                .iter()
                .any(|key| line.starts_with(key))
            {
                seen_body = true;
            } else if seen_body {
                kept_after.push(*line);
            } else {
                kept_before.push(*line);
            }
        }
        let mut section = format!("{header}\n");
        for line in kept_before {
            let _ = writeln!(section, "{line}");
        }
        section.push_str(&body);
        for line in kept_after {
            let _ = writeln!(section, "{line}");
        }
        let mut rebuilt = lines[..start].join("\n");
        if start > 0 {
            rebuilt.push('\n');
        }
        rebuilt.push_str(&section);
        if end < lines.len() {
            rebuilt.push_str(&lines[end..].join("\n"));
            rebuilt.push('\n');
        }
        text = rebuilt;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser)]
    #[command(about = "Do a thing")]
    struct Sample {
        /// Items.
        #[arg(value_name = "ITEM")]
        items: Vec<String>,
        /// Tags to keep.
        #[arg(short = 't', long, value_name = "RE")]
        tag: Vec<String>,
        /// Wait this long.
        #[arg(long, default_value_t = 3)]
        wait: u32,
    }

    fn sample() -> Command {
        <Sample as clap::CommandFactory>::command().name("sample")
    }

    const SAMPLE_TASK: &str = r#"usage = '''
arg "[item]..." help="Items" var=#true
flag "-t --tag <re>" help="Tags to keep" var=#true
flag "--wait <wait>" help="Wait this long [default: 3]"
'''
dir = "{{cwd}}"
run = "{{config_root}}/scripts/mise-run-tool sample item... --tag... --wait="
"#;

    #[test]
    fn a_new_tool_gets_a_task_and_other_tasks_are_kept() {
        let before = "[env]\nX = \"1\"\n\n[tasks.test]\nrun = \"true\"\n";
        let after = update_mise_toml(before, &[("sample", sample())]).unwrap();
        assert_eq!(
            after,
            format!("{before}\n[tasks.sample]\ndescription = \"Do a thing\"\n{SAMPLE_TASK}")
        );
        let again = update_mise_toml(&after, &[("sample", sample())]).unwrap();
        assert_eq!(again, after);
    }

    #[test]
    fn an_existing_task_keeps_its_description_and_the_tasks_after_it() {
        let before = "[tasks.sample]\ndescription = \"Mine\"\nusage = '''\nflag \"--old\"\n'''\n\
                      run = \"old\"\n\n[tasks.test]\nrun = \"true\"\n";
        let after = update_mise_toml(before, &[("sample", sample())]).unwrap();
        assert_eq!(
            after,
            format!(
                "[tasks.sample]\ndescription = \"Mine\"\n{SAMPLE_TASK}\n[tasks.test]\nrun = \"true\"\n"
            )
        );
    }
}
