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
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no message")
            .trim();
        return Err(Error::usage(format!(
            "nix could not evaluate nixpkgs '{package}'.version for {needed_by}: {last}"
        ))
        .hint("check NIX_PATH points at a nixpkgs (nixpkgs=/path), and the package name"));
    }
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    crate::version::validate(&version, &format!("nixpkgs '{package}'"))?;
    Ok(version)
}
