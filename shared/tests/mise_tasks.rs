//! The mise tasks in the repo's `mise.toml` must describe the tools as they are: every
//! flag a task's usage spec declares must exist on the tool, because
//! `scripts/mise-run-tool` hands each one to the tool as `--<name>`. This catches a
//! flag renamed in the tool but not in the task (mise would accept it, the tool not).

use std::collections::BTreeMap;

use clap::CommandFactory;
use opskit::commands::{container_list, container_version, runner_logs, version_sync_check};

/// Task name → (usage spec, run line), read from mise.toml.
fn tasks() -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../mise.toml"))
        .expect("read mise.toml");
    let mut tasks = BTreeMap::new();
    for section in text.split("\n[tasks.").skip(1) {
        let name = section
            .split(']')
            .next()
            .expect("a task header ends in ]")
            .to_owned();
        let usage = section
            .split("usage = '''")
            .nth(1)
            .and_then(|rest| rest.split("'''").next())
            .unwrap_or_default()
            .to_owned();
        let run = section
            .lines()
            .find(|l| l.starts_with("run = "))
            .unwrap_or_default()
            .to_owned();
        tasks.insert(name, (usage, run));
    }
    tasks
}

/// The long flags (without `--`) and positional names a usage spec declares.
fn declared(usage: &str) -> (Vec<String>, Vec<String>) {
    let mut flags = Vec::new();
    let mut args = Vec::new();
    for line in usage.lines().map(str::trim) {
        let Some(spec) = line.split('"').nth(1) else {
            continue;
        };
        if line.starts_with("flag ") {
            let long = spec
                .split_whitespace()
                .find_map(|w| w.strip_prefix("--"))
                .expect("every flag has a long form");
            flags.push(long.to_owned());
        } else if line.starts_with("arg ") {
            args.push(spec.trim_matches(['<', '>', '[', ']', '.']).to_owned());
        }
    }
    (flags, args)
}

#[test]
fn every_flag_in_a_task_usage_spec_exists_on_its_tool() {
    let tools = [
        ("container-version", container_version::Args::command()),
        ("version-sync-check", version_sync_check::Args::command()),
        ("container-list", container_list::Args::command()),
        ("runner-logs", runner_logs::Args::command()),
    ];
    let tasks = tasks();
    for (tool, command) in tools {
        let (usage, run) = tasks
            .get(tool)
            .unwrap_or_else(|| panic!("no mise task {tool}"));
        let (flags, args) = declared(usage);
        assert!(
            !flags.is_empty(),
            "{tool}: no flags parsed from its usage spec"
        );
        let longs: Vec<&str> = command
            .get_arguments()
            .filter_map(|a| a.get_long())
            .collect();
        for flag in &flags {
            assert!(
                longs.contains(&flag.as_str()),
                "{tool}: task flag --{flag} is not a flag of the tool ({longs:?})"
            );
        }
        for arg in &args {
            assert!(
                run.split_whitespace().any(|w| w.trim_matches('"') == arg),
                "{tool}: positional '{arg}' is not passed on by the task's run line: {run}"
            );
        }
        assert!(
            run.contains(&format!("scripts/mise-run-tool {tool}")),
            "{tool}: {run}"
        );
    }
}
