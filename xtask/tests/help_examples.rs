//! Every command line in a tool's `--help` examples is one the tool accepts: an example
//! naming a flag that was renamed, or combining flags that conflict, fails here rather
//! than in a user's shell. (What the examples print is checked per tool, against real
//! runs, where the output is shown.)

use clap::error::ErrorKind;

/// The command lines of a help text's examples: lines that start with the tool's name
/// (or `$ ` and its name), cut at a pipe, a comment or the two spaces before a
/// description.
fn example_lines(help: &str, tool: &str) -> Vec<String> {
    help.lines()
        .map(|line| line.trim_start().trim_start_matches("$ "))
        .filter(|line| line.starts_with(&format!("{tool} ")) || *line == tool)
        .map(|line| {
            let end = [" | ", "  ", " #"]
                .iter()
                .filter_map(|cut| line.find(cut))
                .min()
                .unwrap_or(line.len());
            line[..end].trim().to_owned()
        })
        .collect()
}

#[test]
fn every_help_example_is_a_command_line_the_tool_accepts() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for (tool, command) in xtask::tools() {
        let help = command.clone().render_long_help().to_string();
        let examples = example_lines(&help, tool);
        assert!(!examples.is_empty(), "{tool}'s --help has no examples");
        for example in examples {
            let words: Vec<String> = example
                .split_whitespace()
                .map(|w| w.trim_matches('\'').to_owned())
                .collect();
            match command.clone().try_get_matches_from(&words) {
                Ok(_) => {}
                // Settings that come from the environment (REGISTRY, FORGE_URL) are
                // not set here; everything else about the line must be right.
                Err(e) if e.kind() == ErrorKind::MissingRequiredArgument => {}
                Err(e) => problems.push(format!("{example}\n    {}", e.kind())),
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "help examples the tools refuse:\n  {}",
        problems.join("\n  ")
    );
    assert!(checked >= 20, "only {checked} examples found");
}

#[test]
fn an_example_with_an_unknown_flag_would_be_caught() {
    let (_, command) = xtask::tools()
        .into_iter()
        .find(|(tool, _)| *tool == "runner-logs")
        .expect("runner-logs is a tool");
    let lines = example_lines(
        "Examples:\n  runner-logs 42 --no-such-flag   what it does\n",
        "runner-logs",
    );
    assert_eq!(lines, ["runner-logs 42 --no-such-flag"]);
    let words: Vec<&str> = lines[0].split_whitespace().collect();
    let err = command.try_get_matches_from(words).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownArgument);
}
