//! Records the commit the tools are built from, for `--version`
//! (`container-list 0.1.0 (3f2a9c1)`): an operator comparing a runner's tools with a
//! laptop's needs more than the crate version, which changes rarely.
//!
//! Outside a git checkout (a source tarball) the commit is simply left out.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo::rerun-if-env-changed=OPSKIT_BUILD_COMMIT");
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the branch it points at (a
    // commit), loose or packed.
    for path in ["HEAD", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo::rerun-if-changed={path}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(path) = git(&["rev-parse", "--git-path", &branch])
    {
        println!("cargo::rerun-if-changed={path}");
    }
    let commit = std::env::var("OPSKIT_BUILD_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=7", "HEAD"]))
        .unwrap_or_default();
    println!("cargo::rustc-env=OPSKIT_COMMIT={commit}");
}
