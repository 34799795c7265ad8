//! Runs the test registry (Debian's docker-registry on a free loopback port, temporary
//! storage) for scripts: the benchmark and scripts/demo-registry.
//!
//! usage: local-registry [--user USER:PASSWORD]
//!
//! Prints `127.0.0.1:PORT` on the first line of stdout, serves until SIGINT or SIGTERM,
//! then stops the registry and removes its storage.

use std::io::Write;

use testkit::registry::TestRegistry;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let registry = match args.as_slice() {
        [] => TestRegistry::start(),
        [flag, creds] if flag == "--user" => match creds.split_once(':') {
            Some((user, password)) => TestRegistry::start_with_auth(user, password),
            None => return usage(),
        },
        _ => return usage(),
    };
    println!("{}", registry.host());
    let _ = std::io::stdout().flush();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    });
    drop(registry);
    std::process::ExitCode::SUCCESS
}

fn usage() -> std::process::ExitCode {
    eprintln!("usage: local-registry [--user USER:PASSWORD]");
    std::process::ExitCode::from(2)
}
