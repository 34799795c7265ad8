//! The repo's mise tasks, run by the real mise: what each tool receives (its arguments
//! and its settings) when started through its task, and that every task still offers
//! every flag its tool has.
//!
//! The tools are stood in for by a script that prints what it got, so these tests see
//! exactly the argv and environment mise and `scripts/mise-run-tool` hand over; the
//! argv is then parsed with the tool's real clap command.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use clap::ArgAction;
use testkit::mise::TaskSandbox;

/// The settings in the repo's `mise.toml` `[env]` that the shell may override.
const SETTINGS: [&str; 4] = ["REGISTRY", "IMAGE_PREFIX", "FORGE_URL", "FORGE_REPO"];

/// A directory holding a stand-in for every tool: it prints each argument as
/// `arg:<value>` and each [`SETTINGS`] variable (and NIX_PATH) that is set as
/// `env:<NAME>=<value>`, NUL-separated.
fn stand_in_tools() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let script = "#!/bin/sh\n\
        for a in \"$@\"; do printf 'arg:%s\\0' \"$a\"; done\n\
        for v in REGISTRY IMAGE_PREFIX FORGE_URL FORGE_REPO NIX_PATH; do\n\
          eval \"set=\\${$v+x} value=\\${$v-}\"\n\
          [ -n \"$set\" ] && printf 'env:%s=%s\\0' \"$v\" \"$value\"\n\
        done\n\
        exit 0\n";
    for (tool, _) in xtask::tools() {
        let path = dir.path().join(tool);
        std::fs::write(&path, script).expect("write the stand-in");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("make the stand-in executable");
    }
    dir
}

/// What the stand-in for a tool received through `mise run <task> ARGS` with `env`.
struct Received {
    args: Vec<String>,
    env: BTreeMap<String, String>,
}

fn run_task(task: &str, args: &[&str], env: &[(&str, &str)]) -> Received {
    let sandbox = TaskSandbox::from_repo(task);
    let tools = stand_in_tools();
    let mut command = sandbox.command(tools.path());
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = testkit::cli::output(&mut command);
    assert_eq!(out.code, 0, "mise run {task} {args:?}: {}", out.stderr);
    let mut received = Received {
        args: Vec::new(),
        env: BTreeMap::new(),
    };
    for item in out.stdout.split('\0').filter(|s| !s.is_empty()) {
        if let Some(arg) = item.strip_prefix("arg:") {
            received.args.push(arg.to_owned());
        } else if let Some((name, value)) =
            item.strip_prefix("env:").and_then(|e| e.split_once('='))
        {
            received.env.insert(name.to_owned(), value.to_owned());
        } else {
            panic!("unexpected output from the stand-in: {item:?}");
        }
    }
    received
}

/// `args` parsed by the tool's own clap command.
fn parse(tool: &str, args: &[String]) -> clap::ArgMatches {
    let (_, command) = xtask::tools()
        .into_iter()
        .find(|(name, _)| *name == tool)
        .expect("a tool of the workspace");
    command
        .try_get_matches_from(std::iter::once(tool.to_owned()).chain(args.iter().cloned()))
        .unwrap_or_else(|e| panic!("{tool} refuses {args:?}: {e}"))
}

fn values(matches: &clap::ArgMatches, id: &str) -> Vec<String> {
    matches
        .get_many::<String>(id)
        .map(|v| v.cloned().collect())
        .unwrap_or_default()
}

#[test]
fn repeated_flags_of_runner_logs_reach_the_tool_with_every_value() {
    let got = run_task(
        "runner-logs",
        &[
            "-s", "failure", "--status", "success", "-e", "push", "-e", "a b 'c'", "#42",
        ],
        &[],
    );
    let matches = parse("runner-logs", &got.args);
    assert_eq!(
        values(&matches, "status"),
        ["failure", "success"],
        "{:?}",
        got.args
    );
    assert_eq!(
        values(&matches, "event"),
        ["push", "a b 'c'"],
        "{:?}",
        got.args
    );
    assert_eq!(values(&matches, "run"), ["#42"], "{:?}", got.args);
}

#[test]
fn repeated_include_and_exclude_of_container_list_reach_the_tool_with_every_value() {
    let got = run_task(
        "container-list",
        &[
            "--include",
            "^v1",
            "--include",
            "latest|edge",
            "--exclude=-nix$",
            "--registry",
            "127.0.0.1:5000",
            "--exclude",
            "rc 1",
            "app",
            "other app",
        ],
        &[],
    );
    let matches = parse("container-list", &got.args);
    assert_eq!(
        values(&matches, "include"),
        ["^v1", "latest|edge"],
        "{:?}",
        got.args
    );
    assert_eq!(
        values(&matches, "exclude"),
        ["-nix$", "rc 1"],
        "{:?}",
        got.args
    );
    assert_eq!(
        values(&matches, "names"),
        ["app", "other app"],
        "{:?}",
        got.args
    );
}

#[test]
fn changed_files_with_spaces_and_quotes_reach_version_sync_check_whole() {
    let files = [
        "containers/a b/Dockerfile",
        "it's.yaml",
        "$(touch x)",
        "-odd",
        r#"back\slash "q""#,
        "new\nline\ttab",
    ];
    let mut args = vec!["--"];
    args.extend(files);
    let got = run_task("version-sync-check", &args, &[]);
    let matches = parse("version-sync-check", &got.args);
    assert_eq!(values(&matches, "files"), files, "{:?}", got.args);
}

#[test]
fn runner_logs_task_passes_repo_forge_url_and_token_flags() {
    let got = run_task(
        "runner-logs",
        &[
            "--repo",
            "acme/app",
            "--forge-url",
            "https://forge.test",
            "--token-cmd",
            "pass show forge",
            "42",
        ],
        &[],
    );
    let matches = parse("runner-logs", &got.args);
    assert_eq!(values(&matches, "repo"), ["acme/app"]);
    assert_eq!(values(&matches, "forge_url"), ["https://forge.test"]);
    assert_eq!(values(&matches, "token_cmd"), ["pass show forge"]);

    // Values a switch's variable would also hold still reach the flag as values.
    let got = run_task(
        "runner-logs",
        &["--token-cmd", "true", "--forge-url", "", "-w", "false"],
        &[],
    );
    let matches = parse("runner-logs", &got.args);
    assert_eq!(values(&matches, "token_cmd"), ["true"], "{:?}", got.args);
    assert_eq!(values(&matches, "forge_url"), [""], "{:?}", got.args);
    assert_eq!(values(&matches, "workflow"), ["false"], "{:?}", got.args);

    let got = run_task("runner-logs", &["--token-file", "/run/token", "42"], &[]);
    let matches = parse("runner-logs", &got.args);
    assert_eq!(
        matches.get_one::<std::path::PathBuf>("token_file"),
        Some(&"/run/token".into())
    );
}

#[test]
fn a_step_task_runs_its_tool_with_the_step_first() {
    let got = run_task(
        "release-docs:publish",
        &[
            "--version",
            "v1.5.0",
            "--tarball",
            "out dir/docs-v1.5.0.tar.gz",
        ],
        &[],
    );
    assert_eq!(got.args[0], "publish", "{:?}", got.args);
    let matches = parse("release-docs", &got.args);
    let (step, publish) = matches.subcommand().expect("a step");
    assert_eq!(step, "publish");
    let version: Vec<_> = publish.get_raw("version").expect("--version").collect();
    assert_eq!(version, ["v1.5.0"]);
    assert_eq!(
        publish.get_one::<std::path::PathBuf>("tarball"),
        Some(&"out dir/docs-v1.5.0.tar.gz".into())
    );
}

/// The usage spec of `task` as the real mise parses it.
fn parsed_spec(task: &str) -> serde_json::Value {
    let sandbox = TaskSandbox::from_repo(task);
    let out = testkit::cli::output(sandbox.mise().args(["tasks", "info", task, "--json"]));
    assert_eq!(out.code, 0, "mise tasks info {task}: {}", out.stderr);
    let info: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("mise tasks info --json is JSON");
    info["usage_spec"]["cmd"].clone()
}

#[test]
fn every_flag_of_each_tool_is_in_its_mise_task_and_repeatable_ones_keep_every_value() {
    let mut problems = Vec::new();
    let tasks = xtask::tools()
        .into_iter()
        .flat_map(|(tool, command)| xtask::mise::tasks_of(tool, &command));
    for (task, command) in tasks {
        let tool = task.as_str();
        let spec = parsed_spec(tool);
        let spec_flags: BTreeMap<String, bool> = spec["flags"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| {
                let var = f["var"].as_bool().unwrap_or(false);
                f["long"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |l| (l.as_str().unwrap().to_owned(), var))
            })
            .collect();
        let mut tool_flags = BTreeSet::new();
        for arg in xtask::visible_args(&command).filter(|a| !a.is_positional()) {
            let Some(long) = arg.get_long() else { continue };
            tool_flags.insert(long.to_owned());
            let repeatable = matches!(arg.get_action(), ArgAction::Append);
            match spec_flags.get(long) {
                None => problems.push(format!("{tool}: the task lacks --{long}")),
                Some(&var) if var != repeatable => problems.push(format!(
                    "{tool}: --{long} is {}repeatable in the tool but var={var} in the task",
                    if repeatable { "" } else { "not " }
                )),
                Some(_) => {}
            }
        }
        for long in spec_flags.keys().filter(|l| !tool_flags.contains(*l)) {
            problems.push(format!(
                "{tool}: the task offers --{long}, the tool has no such flag"
            ));
        }
        let spec_args: Vec<bool> = spec["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["var"].as_bool().unwrap_or(false))
            .collect();
        let tool_args: Vec<bool> = xtask::visible_args(&command)
            .filter(|a| a.is_positional())
            .map(xtask::mise::is_repeatable)
            .collect();
        if spec_args != tool_args {
            problems.push(format!(
                "{tool}: positional args (repeatable?) are {tool_args:?} in the tool, {spec_args:?} in the task"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "mise.toml tasks and the tools disagree:\n  {}\nregenerate the task specs with: {}",
        problems.join("\n  "),
        xtask::REGENERATE
    );
}

/// The default mise.toml gives `name` when the shell does not set it.
fn repo_default(name: &str) -> String {
    let mise_toml =
        std::fs::read_to_string(xtask::repo_root().join("mise.toml")).expect("read mise.toml");
    let line = mise_toml
        .lines()
        .find(|l| l.starts_with(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("mise.toml [env] has no {name}"));
    let (_, rest) = line.split_once("default='").unwrap_or_else(|| {
        panic!("{name} in mise.toml is not a default the shell can override: {line}")
    });
    rest.split('\'').next().unwrap_or_default().to_owned()
}

#[test]
fn a_setting_from_the_shell_wins_over_mise_toml_which_fills_in_when_unset() {
    let unset = run_task("runner-logs", &[], &[]);
    let shell: Vec<(&str, String)> = SETTINGS
        .iter()
        .map(|name| (*name, format!("from-the-shell-{name}")))
        .collect();
    let shell_env: Vec<(&str, &str)> = shell.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let set = run_task("runner-logs", &[], &shell_env);
    let empty: Vec<(&str, &str)> = SETTINGS.iter().map(|n| (*n, "")).collect();
    let emptied = run_task("runner-logs", &[], &empty);
    for (name, value) in &shell {
        let default = repo_default(name);
        assert_eq!(
            unset.env.get(*name),
            Some(&default),
            "{name} unset in the shell"
        );
        assert_eq!(set.env.get(*name), Some(value), "{name} set in the shell");
        assert_eq!(
            emptied.env.get(*name).map(String::as_str),
            Some(""),
            "{name} set empty"
        );
    }
}

#[test]
fn nix_path_stays_the_repos_pin_even_when_the_shell_sets_one() {
    let got = run_task(
        "container-version",
        &["--all"],
        &[("NIX_PATH", "nixpkgs=/somewhere/else")],
    );
    let nix_path = &got.env["NIX_PATH"];
    assert!(
        nix_path.starts_with("nixpkgs=") && nix_path.ends_with("/nix/pinned"),
        "{nix_path}"
    );
}

#[test]
fn every_tool_under_bins_has_its_reference_completions_and_task() {
    let mut bins: Vec<String> = std::fs::read_dir(xtask::repo_root().join("bins"))
        .expect("read bins/")
        .map(|entry| {
            entry
                .expect("a bins/ entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    bins.sort();
    let mut tools: Vec<String> = xtask::tools()
        .into_iter()
        .map(|(n, _)| n.to_owned())
        .collect();
    tools.sort();
    assert_eq!(
        tools,
        bins,
        "add the new tool to xtask::tools(), then run {}",
        xtask::REGENERATE
    );
}

#[test]
fn the_checked_in_cli_reference_and_task_specs_match_the_tools() {
    let stale = xtask::stale(&xtask::repo_root()).unwrap();
    assert!(
        stale.is_empty(),
        "{}\nthese files are made from the tools' clap commands; regenerate them with: {}",
        stale.join("\n"),
        xtask::REGENERATE
    );
}

#[test]
fn completions_and_man_pages_are_made_for_every_tool() {
    let out = tempfile::tempdir().unwrap();
    xtask::write_completions(out.path()).unwrap();
    xtask::write_man_pages(out.path()).unwrap();
    for (tool, command) in xtask::tools() {
        let read = |path: &Path| {
            std::fs::read_to_string(out.path().join(path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let bash = read(&Path::new("bash").join(tool));
        let zsh = read(&Path::new("zsh").join(format!("_{tool}")));
        let fish = read(&Path::new("fish").join(format!("{tool}.fish")));
        let man = read(&Path::new("man1").join(format!("{tool}.1")));
        assert!(
            bash.contains(&format!("complete -F _{}", tool.replace('-', "__"))),
            "{bash}"
        );
        assert!(zsh.starts_with(&format!("#compdef {tool}")), "{zsh}");
        assert!(man.contains(&format!(".TH {tool}")), "{man}");
        for arg in xtask::visible_args(&command) {
            let Some(long) = arg.get_long() else { continue };
            assert!(
                bash.contains(&format!("--{long}")),
                "bash {tool} lacks --{long}"
            );
            assert!(
                zsh.contains(&format!("--{long}")),
                "zsh {tool} lacks --{long}"
            );
            assert!(
                fish.contains(&format!("-l {long}")),
                "fish {tool} lacks --{long}"
            );
            let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
            assert!(man.contains(&roff), "man {tool} lacks --{long}");
        }
    }
}

#[test]
fn a_task_runs_in_the_directory_it_was_called_from() {
    // So `mise run release-docs:build --out ./site.tgz` in a subdirectory means the
    // file there, as the tool itself would take it.
    let sandbox = TaskSandbox::from_repo("container-version");
    let below = sandbox.path().join("containers/app");
    std::fs::create_dir_all(&below).expect("mkdir");
    let tools = tempfile::tempdir().expect("temp dir");
    let stand_in = tools.path().join("container-version");
    std::fs::write(&stand_in, "#!/bin/sh\npwd\n").expect("write the stand-in");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = testkit::cli::output(sandbox.command(tools.path()).current_dir(&below).arg("app"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::canonicalize(out.stdout.trim()).expect("a directory"),
        std::fs::canonicalize(&below).expect("a directory")
    );
}
