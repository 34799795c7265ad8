//! Asking nix for the version of an unmodified nixpkgs package.
//!
//! A `default.nix` that only wraps `pkgs.redis` declares no version: the version is
//! whatever the pinned nixpkgs has. That takes nix to answer, so it is the one place
//! these tools start a subprocess; when nix is missing they say exactly that.

use std::process::Command;

use crate::error::{Error, Result};

/// `<pkgs>.<package>.version` from the `<nixpkgs>` on `NIX_PATH`.
pub fn nixpkgs_version(package: &str, needed_by: &str) -> Result<String> {
    let valid = !package.is_empty()
        && package
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+'))
        && !package.starts_with(['.', '-']);
    if !valid {
        return Err(Error::usage(format!(
            "invalid nixpkgs package name '{}' for {needed_by}",
            package.escape_debug()
        )));
    }
    let expr = format!("(import <nixpkgs> {{ }}).{package}.version");
    let output = Command::new("nix")
        .args([
            "--extra-experimental-features",
            "nix-command",
            "eval",
            "--raw",
            "--impure",
            "--expr",
            &expr,
        ])
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::usage(format!(
                "{needed_by} declares no version; it comes from nixpkgs '{package}', and reading that needs nix, which is not installed"
            ))
            .hint("install nix (apt install nix-bin), or declare `version = \"…\";` in the file"));
        }
        Err(e) => return Err(Error::usage(format!("cannot run nix: {e}"))),
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let said = NixSaid::read(&stderr);
        let mut err = Error::usage(format!(
            "nix could not evaluate nixpkgs '{package}'.version for {needed_by}: {}",
            said.error
        ));
        for warning in said.warnings {
            err = err.hint(format!("nix: {warning}"));
        }
        return Err(err.hint(
            "set NIX_PATH to a nixpkgs (NIX_PATH=nixpkgs=/path/to/nixpkgs), and check the package name",
        ));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    crate::version::validate(&version, &format!("nixpkgs '{package}'"))?;
    Ok(version)
}

/// What nix said on stderr, reduced to its own words: the error, and its warnings.
#[derive(Debug, PartialEq, Eq)]
struct NixSaid<'a> {
    error: &'a str,
    warnings: Vec<&'a str>,
}

impl<'a> NixSaid<'a> {
    /// The first `error:` line that says something (nix 2.8 puts the message on it;
    /// newer nix starts with a bare `error:` and a trace, the message nested below);
    /// without one, the first line that is not a warning. Source excerpts, traces and
    /// "(use '--show-trace' …)" are left out.
    fn read(stderr: &'a str) -> Self {
        let lines: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let warnings = lines
            .iter()
            .filter_map(|l| l.strip_prefix("warning:"))
            .map(str::trim)
            .collect();
        let error = lines
            .iter()
            .filter_map(|l| l.strip_prefix("error:"))
            .map(str::trim)
            .find(|said| !said.is_empty())
            .or_else(|| {
                lines
                    .iter()
                    .find(|l| !l.starts_with("warning:") && !l.starts_with("error:"))
                    .copied()
            })
            .unwrap_or("nix exited with an error and said nothing");
        NixSaid { error, warnings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix_2_8_errors_keep_nix_s_own_message_not_the_trailer() {
        let stderr = "warning: Nix search path entry '/nonexistent' does not exist, ignoring
error: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)

       at «string»:1:9:

            1| (import <nixpkgs> { }).redis.version
             |         ^
(use '--show-trace' to show detailed location information)
";
        assert_eq!(
            NixSaid::read(stderr),
            NixSaid {
                error: "file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)",
                warnings: vec!["Nix search path entry '/nonexistent' does not exist, ignoring"],
            }
        );
    }

    #[test]
    fn newer_nix_errors_with_a_bare_error_line_and_a_trace_keep_the_nested_message() {
        let stderr = "error:
       … while calling the 'import' builtin
         at «string»:1:2:
            1| (import <nixpkgs> { }).redis.version
             |  ^

       error: file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)
";
        assert_eq!(
            NixSaid::read(stderr).error,
            "file 'nixpkgs' was not found in the Nix search path (add it using $NIX_PATH or -I)"
        );
        assert_eq!(
            NixSaid::read("").error,
            "nix exited with an error and said nothing"
        );
        assert_eq!(NixSaid::read("segfault\n").error, "segfault");
    }
}
