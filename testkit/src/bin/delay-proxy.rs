//! A proxy that delays every request by a fixed time, to measure how container-list
//! scales with network latency rather than with a local registry's speed.
//!
//! usage: delay-proxy --upstream URL [--delay-ms 20] [--listen 127.0.0.1:0]
//!
//! Prints its `host:port` on the first line of stdout, then serves until killed.

use std::io::Write;
use std::time::Duration;

use testkit::faults::{FaultProxy, Plan};

fn main() -> std::process::ExitCode {
    let mut upstream = None;
    let mut delay_ms = 20u64;
    let mut listen = "127.0.0.1:0".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next();
        match (arg.as_str(), value) {
            ("--upstream", Some(v)) => upstream = Some(v),
            ("--delay-ms", Some(v)) => match v.parse() {
                Ok(ms) => delay_ms = ms,
                Err(e) => return usage(&format!("--delay-ms: {e}")),
            },
            ("--listen", Some(v)) => listen = v,
            _ => return usage(&format!("unexpected or incomplete argument '{arg}'")),
        }
    }
    let Some(upstream) = upstream else {
        return usage("--upstream URL is required");
    };
    let plan = Plan {
        delay: Duration::from_millis(delay_ms),
        ..Plan::default()
    };
    let proxy = FaultProxy::start_on(&listen, &upstream, plan);
    println!("{}", proxy.host());
    let _ = std::io::stdout().flush();
    proxy.wait();
    std::process::ExitCode::SUCCESS
}

fn usage(problem: &str) -> std::process::ExitCode {
    eprintln!(
        "delay-proxy: {problem}\nusage: delay-proxy --upstream URL [--delay-ms 20] [--listen 127.0.0.1:0]"
    );
    std::process::ExitCode::from(2)
}
