//! A runnable Forgejo Actions test server, for benchmarks and manual tries.
//!
//! `fake-forgejo [--api 11|14|16|gitea] [--runs N] [--log-bytes B] [--private] [--port P]`
//! serves repository `acme/app` with N runs of two jobs each (2N tasks); job 0 of run
//! #1 has a generated log of B bytes. It prints its URL on the first line of stdout,
//! then serves until killed. The API it mirrors is described in `testkit::forgejo`.

use testkit::forgejo::{ApiLevel, FakeForgejo, JobSpec, Log, RunSpec};

fn main() -> std::process::ExitCode {
    match serve(std::env::args().skip(1).collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fake-forgejo: {message}");
            std::process::ExitCode::from(2)
        }
    }
}

fn serve(args: Vec<String>) -> Result<(), String> {
    let mut level = ApiLevel::V16;
    let mut runs = 2500;
    let mut log_bytes = 1 << 20;
    let mut private = false;
    let mut port = 0u16;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--api" => {
                level = match value()?.as_str() {
                    "11" => ApiLevel::V11,
                    "14" => ApiLevel::V14,
                    "16" => ApiLevel::V16,
                    "gitea" => ApiLevel::Gitea125,
                    other => {
                        return Err(format!("--api must be 11, 14, 16 or gitea, not {other}"));
                    }
                }
            }
            "--runs" => runs = value()?.parse().map_err(|e| format!("--runs: {e}"))?,
            "--log-bytes" => {
                log_bytes = value()?.parse().map_err(|e| format!("--log-bytes: {e}"))?
            }
            "--port" => port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--private" => private = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let mut builder = FakeForgejo::builder(level).token("bench-token", &["read:repository"]);
    if private {
        builder = builder.private();
    }
    for number in 1..=runs {
        let status = if number % 7 == 0 {
            "failure"
        } else {
            "success"
        };
        let build = if number == 1 {
            JobSpec::new("build", "success", "").with_log(Log::Generated(log_bytes))
        } else {
            JobSpec::new("build", "success", "building\n")
        };
        builder = builder.run(
            RunSpec::new(
                number,
                if number % 2 == 0 {
                    "deploy.yml"
                } else {
                    "build.yml"
                },
                &format!("Commit {number}"),
            )
            .job(build)
            .job(JobSpec::new("test", status, "testing\n")),
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot bind 127.0.0.1:{port}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!("http://{addr}");
        use std::io::Write;
        let _ = std::io::stdout().flush();
        builder.serve(listener).await.map_err(|e| e.to_string())
    })
}
