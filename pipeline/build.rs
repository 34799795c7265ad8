//! Registers every native pipeline: each `containers/<name>/container.rs` becomes a
//! module of this crate and an entry of `native::PIPELINES`, so adding a container with
//! a Rust pipeline is adding its file — no list to keep in step. The files are compiled
//! here, not read at run time, so `cargo clippy` checks them like any other code.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let containers = Path::new(&manifest_dir).join("../containers");
    println!("cargo:rerun-if-changed={}", containers.display());

    let mut found: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(&containers)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.path().join("container.rs"))
                .filter(|file| file.is_file())
                .filter_map(|file| {
                    let name = file.parent()?.file_name()?.to_str()?.to_owned();
                    Some((name, file))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();

    let mut code = String::new();
    for (name, file) in &found {
        let module = module_name(name);
        let path = file.canonicalize().unwrap_or_else(|_| file.clone());
        writeln!(
            code,
            "#[path = {:?}]\npub mod {module};",
            path.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("\n/// Every native pipeline, by container name.\npub const PIPELINES: &[NativePipeline] = &[\n");
    for (name, _) in &found {
        let module = module_name(name);
        writeln!(
            code,
            "    NativePipeline {{ name: {name:?}, version: {module}::VERSION, build: {module}::build }},"
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");

    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("native.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}

/// `kiwix-serve` → `kiwix_serve`: a container name as a Rust module name.
fn module_name(container: &str) -> String {
    container
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}
