//! A runnable Dagger engine test server, for benchmarks and manual tries.
//!
//! `fake-dagger-engine` prints `DAGGER_SESSION_PORT=… DAGGER_SESSION_TOKEN=…` on the
//! first line of stdout (ready for `env $(…)`), then serves until killed. What it
//! mirrors is described in `testkit::dagger`.

fn main() {
    let engine = testkit::dagger::FakeEngine::start();
    let [(port_name, port), (token_name, token)] = engine.env();
    println!("{port_name}={port} {token_name}={token}");
    loop {
        std::thread::park();
    }
}
