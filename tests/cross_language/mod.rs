//! One specification, two languages, one queue: the generated Rust crate
//! (`NatsQueue`, feature `nats`) and the generated Erlang application
//! (backend `nats`) work on the same JetStream stream. The Rust side
//! publishes 1,000 jobs that the Erlang application's consumers process
//! and ack; the Erlang side publishes 1,000 jobs that the Rust lane workers
//! process and ack. After each step both sides read the same counts from
//! the stream.

pub mod harness;

use std::time::{Duration, Instant};

use ggen_jobs::Runtime;
use ggen_jobs::handler::DefaultHandler;
use ggen_jobs::queue::{JobQueue, QueueStats};

use crate::tools::have;
use harness::{ErlangApp, NatsServer, publish_noop, rust_queue};

const JOBS: u64 = 1000;

/// How long the test waits for the Rust workers to finish.
const LIVENESS: Duration = Duration::from_secs(300);

fn stats(pending: u64, acked: u64) -> QueueStats {
    QueueStats {
        pending,
        in_flight: 0,
        acked,
        dead: 0,
    }
}

#[test]
fn erlang_and_rust_share_one_queue() {
    if !have("nats-server", &["--version"]) || !have("rebar3", &["version"]) {
        return;
    }
    let server = NatsServer::start();
    let url = server.url();
    let app = ErlangApp::build();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    // Rust publishes, the Erlang application consumes.
    let queue = rt.block_on(async {
        let queue = rust_queue(&url).await;
        publish_noop(&queue, JOBS).await;
        queue
    });
    assert_eq!(rt.block_on(queue.stats()).expect("stats"), stats(JOBS, 0));
    let consumed = app.phase("consume", &url, JOBS);
    assert_eq!(consumed.stats, stats(0, JOBS), "as Erlang reads the stream");
    assert_eq!(
        rt.block_on(queue.stats()).expect("stats"),
        stats(0, JOBS),
        "as Rust reads it"
    );

    // The Erlang application publishes, the Rust lane workers consume.
    let published = app.phase("publish", &url, JOBS);
    assert_eq!(published.values.get("published"), Some(&JOBS));
    assert_eq!(
        published.stats,
        stats(JOBS, JOBS),
        "as Erlang reads the stream"
    );
    assert_eq!(
        rt.block_on(queue.stats()).expect("stats"),
        stats(JOBS, JOBS),
        "as Rust reads it"
    );
    rt.block_on(async {
        let runtime = Runtime::builder(DefaultHandler)
            .queue(queue)
            .start()
            .await
            .expect("the runtime starts");
        let deadline = Instant::now() + LIVENESS;
        loop {
            let now = runtime.queue_stats().await.expect("stats");
            if now == stats(0, 2 * JOBS) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Rust workers stalled at {now:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        runtime.shutdown().await;
    });
    let seen = app.phase("stats", &url, 0);
    assert_eq!(seen.stats, stats(0, 2 * JOBS), "as Erlang reads the stream");
}
