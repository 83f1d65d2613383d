//! Jobs consumed through NATS JetStream by the generated Erlang application
//! and by the generated Rust crate, measured in one run on one server.
//!
//! `cargo bench --bench nats_consume` (needs `nats-server`, Erlang and
//! rebar3). Each round: the Rust crate publishes `JOBS` noop jobs, the
//! Erlang application starts with its lane consumers and runs until the
//! stream shows them all acked; then the Erlang application publishes
//! `JOBS` jobs and the Rust runtime starts with its lane workers and runs
//! until they are all acked. The time is from the start of the consuming
//! application to the stream showing every job acked, so it includes the
//! application's start (milliseconds). Both sides run with the
//! specification's defaults: one lane, a pool of 10, pulls of 5, the
//! default handler. `JOBS` (default 20000) and `ROUNDS` (default 3) can be
//! set in the environment.

#[path = "../tests/cross_language/harness.rs"]
mod harness;
#[path = "../tests/tools.rs"]
mod tools;

use std::time::{Duration, Instant};

use ggen_jobs::Runtime;
use ggen_jobs::handler::DefaultHandler;

use harness::{ErlangApp, NatsServer, publish_noop, rust_queue};
use tools::have;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    if !have("nats-server", &["--version"]) || !have("rebar3", &["version"]) {
        return;
    }
    let jobs = env("JOBS", 20_000);
    let rounds = env("ROUNDS", 3);
    let server = NatsServer::start();
    let url = server.url();
    let app = ErlangApp::build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (mut erlang, mut rust) = (Vec::new(), Vec::new());
    let mut acked = 0;
    for round in 1..=rounds {
        rt.block_on(async { publish_noop(&rust_queue(&url).await, jobs).await });
        acked += jobs;
        let consumed = app.phase("consume", &url, acked);
        assert_eq!((consumed.stats.acked, consumed.stats.dead), (acked, 0));
        let micros = consumed.values["elapsed_us"] as f64;
        erlang.push(jobs as f64 / (micros / 1e6));

        app.phase("publish", &url, jobs);
        acked += jobs;
        let elapsed = rt.block_on(async {
            let queue = rust_queue(&url).await;
            let start = Instant::now();
            let runtime = Runtime::builder(DefaultHandler)
                .queue(queue)
                .start()
                .await
                .expect("the runtime starts");
            loop {
                let stats = runtime.queue_stats().await.expect("stats");
                if stats.acked >= acked && stats.pending == 0 && stats.in_flight == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let elapsed = start.elapsed();
            runtime.shutdown().await;
            elapsed
        });
        rust.push(jobs as f64 / elapsed.as_secs_f64());
        println!(
            "round {round}: Erlang {:.0} jobs/s, Rust {:.0} jobs/s",
            erlang.last().expect("a round"),
            rust.last().expect("a round")
        );
    }
    let range = |v: &[f64]| {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(0.0, f64::max);
        format!("[{min:.0}–{max:.0}]")
    };
    println!("{jobs} noop jobs per round, {rounds} rounds, one nats-server, medians [min–max]:");
    println!(
        "  Erlang application (nats backend, lane consumers): {:.0} jobs/s {}",
        median(erlang.clone()),
        range(&erlang)
    );
    println!(
        "  Rust crate (NatsQueue, lane workers):              {:.0} jobs/s {}",
        median(rust.clone()),
        range(&rust)
    );
}
