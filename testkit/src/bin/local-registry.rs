//! Runs the test registry (Debian's docker-registry on loopback, temporary storage)
//! for scripts: the benchmark and scripts/demo-registry.
//!
//! usage: local-registry [--port N] [--user USER:PASSWORD]
//!
//! Prints `127.0.0.1:PORT` on the first line of stdout, serves until SIGINT or SIGTERM,
//! then stops the registry and removes its storage. Without --port, a free port.

use std::io::Write;

use testkit::registry::TestRegistry;

fn main() -> std::process::ExitCode {
    let mut port = None;
    let mut credentials = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--port", Some(value)) => match value.parse::<u16>() {
                Ok(0) => port = None,
                Ok(n) => port = Some(n),
                Err(_) => return usage(),
            },
            ("--user", Some(value)) => match value.split_once(':') {
                Some((user, password)) => {
                    credentials = Some((user.to_owned(), password.to_owned()));
                }
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    let registry = TestRegistry::start_on(port, credentials);
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
    eprintln!("usage: local-registry [--port N] [--user USER:PASSWORD]");
    std::process::ExitCode::from(2)
}
