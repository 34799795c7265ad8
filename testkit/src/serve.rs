//! Serving a test server's router on a free loopback port, on its own thread and
//! runtime, so that plain `#[test]`s (and the tool processes they start) can talk to it
//! while the test blocks.

use std::net::SocketAddr;

/// Serves `app` on `127.0.0.1:<free port>` until the returned sender is dropped;
/// returns the address once the port is bound.
pub fn spawn(app: axum::Router) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test server runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind a loopback port");
            addr_tx
                .send(listener.local_addr().expect("local addr"))
                .expect("report address");
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("serve");
        });
    });
    (addr_rx.recv().expect("test server started"), stop_tx)
}
