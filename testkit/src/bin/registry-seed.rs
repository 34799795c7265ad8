//! Pushes tiny images to a registry through the OCI API, for the benchmark and the
//! demo script.
//!
//! usage: registry-seed --registry URL [--user USER:PASSWORD] [REPO:TAG ...]
//!
//! References come from the arguments, or from stdin (one per line) when there are
//! none. They are pushed by a few threads: the registry is local and each push is a
//! handful of small requests.

use std::io::BufRead;
use std::process::ExitCode;

use testkit::registry::Pusher;

const THREADS: usize = 8;

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
    let mut refs = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--registry" => registry = Some(args.next().ok_or("--registry needs a URL")?),
            "--user" => user = Some(args.next().ok_or("--user needs USER:PASSWORD")?),
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
    if refs.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| format!("reading stdin: {e}"))?;
            if !line.trim().is_empty() {
                refs.push(line.trim().to_owned());
            }
        }
    }
    let mut parsed = Vec::with_capacity(refs.len());
    for reference in &refs {
        let (repo, tag) = reference
            .rsplit_once(':')
            .ok_or(format!("'{reference}' is not REPO:TAG"))?;
        parsed.push((repo.to_owned(), tag.to_owned()));
    }
    let pusher = Pusher::new(&registry, credentials);
    std::thread::scope(|scope| {
        for chunk in parsed.chunks(parsed.len().div_ceil(THREADS).max(1)) {
            let pusher = &pusher;
            scope.spawn(move || {
                for (repo, tag) in chunk {
                    pusher.push(repo, tag);
                }
            });
        }
    });
    Ok(parsed.len())
}
