//! Pushes tiny images to a registry through the OCI API, for the benchmark and the
//! demo script.
//!
//! usage: registry-seed --registry URL [--user USER:PASSWORD] [REPO:TAG ...]
//!        registry-seed --registry URL --images N --tags M [--prefix PATH]
//!
//! The second form makes N repositories `<prefix>/img-<i>` with M version tags each
//! (`v1.<j>.0-<sha7>`, every other one a `-nix` build), pushed concurrently.

use std::process::ExitCode;

use testkit::registry::Pusher;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(count) => {
            eprintln!("registry-seed: pushed {count} tags");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("registry-seed: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<usize, String> {
    let mut registry = None;
    let mut user = None;
    let mut images = 0usize;
    let mut tags = 0usize;
    let mut prefix = "bench".to_owned();
    let mut refs = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--registry" => registry = Some(value()?),
            "--user" => user = Some(value()?),
            "--images" => images = value()?.parse().map_err(|e| format!("--images: {e}"))?,
            "--tags" => tags = value()?.parse().map_err(|e| format!("--tags: {e}"))?,
            "--prefix" => prefix = value()?,
            _ if arg.contains(':') && !arg.starts_with('-') => refs.push(arg),
            _ => return Err(format!("unexpected argument '{arg}'")),
        }
    }
    let registry = registry.ok_or("--registry URL is required")?;
    let credentials = user
        .map(|u| {
            u.split_once(':')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or("--user takes USER:PASSWORD".to_owned())
        })
        .transpose()?;
    for i in 0..images {
        for j in 0..tags {
            let nix = if j % 2 == 1 { "-nix" } else { "" };
            refs.push(format!(
                "{prefix}/img-{i:03}:v1.{}.0-{:07x}{nix}",
                j / 2,
                (i * 7919 + j) * 2654435 % 0xfffffff
            ));
        }
    }
    let pusher = Pusher::new(&registry, credentials);
    // A handful of threads: the registry is local and each push is a few requests.
    let chunks: Vec<Vec<String>> = refs
        .chunks(refs.len().div_ceil(8).max(1))
        .map(<[String]>::to_vec)
        .collect();
    std::thread::scope(|scope| {
        for chunk in &chunks {
            let pusher = &pusher;
            scope.spawn(move || {
                for reference in chunk {
                    let (repo, tag) = reference.rsplit_once(':').expect("REPO:TAG");
                    pusher.push(repo, tag);
                }
            });
        }
    });
    Ok(refs.len())
}
