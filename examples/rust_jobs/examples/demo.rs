//! Starts the generated tree, publishes jobs to every lane, lets the lane
//! workers process them, and prints the pools, lanes, queue and metrics.
//!
//! `cargo run --example demo`

use std::error::Error;
use std::time::{Duration, Instant};

use serde_json::json;

use ggen_jobs::config;
use ggen_jobs::handler::DefaultHandler;
use ggen_jobs::start;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let runtime = start(DefaultHandler).await?;
    println!(
        "started: {} pool(s), {} lane(s), {} lane worker(s)",
        config::POOLS.len(),
        config::LANES.len(),
        runtime.which_children().await.len()
    );

    let jobs = [
        json!({"action": "noop"}),
        json!({"action": "sleep", "ms": 50}),
        json!({"action": "noop"}),
        json!({"action": "fail"}),
        json!({"action": "sleep", "ms": 20}),
        json!({"action": "noop"}),
    ];
    let mut published = 0;
    for lane in config::LANES {
        if lane.circuit_breaker_open {
            println!(
                "lane ({}, {}) starts with its breaker open: no jobs for it",
                lane.priority, lane.domain
            );
            continue;
        }
        for payload in &jobs {
            runtime
                .publish(lane.priority, lane.domain, payload.clone())
                .await?;
            published += 1;
        }
    }
    println!("published {published} job(s)");

    // A failing job is tried three times, then dead-lettered.
    let deadline = Instant::now() + Duration::from_secs(10);
    let stats = loop {
        let stats = runtime.queue_stats().await?;
        if stats.acked + stats.dead == published || Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    println!(
        "queue: pending {} in flight {} acked {} dead {}",
        stats.pending, stats.in_flight, stats.acked, stats.dead
    );

    for name in runtime.pools() {
        if let Some(status) = runtime.pool_status(name) {
            println!(
                "pool {name}: {:?}, available {}, overflow {}, in use {}, waiting {}",
                status.state, status.available, status.overflow, status.in_use, status.waiting
            );
        }
    }
    for lane in config::LANES {
        if let Some(status) = runtime.lane_status(lane.priority, lane.domain) {
            let c = status.counts;
            println!(
                "lane ({}, {}) on {}: breaker {:?}, pulled {} processed {} failed {} acked {}",
                lane.priority,
                lane.domain,
                status.pool,
                status.breaker,
                c.pulled,
                c.processed,
                c.failed,
                c.acked
            );
        }
        // The Erlang-style call: one batch on the calling task.
        match runtime.execute(lane.priority, lane.domain).await {
            Ok(outcome) => println!(
                "execute({}, {}): processed {} failed {}",
                lane.priority, lane.domain, outcome.processed, outcome.failed
            ),
            Err(error) => println!("execute({}, {}): {error}", lane.priority, lane.domain),
        }
    }

    println!("\n{}", runtime.render_prometheus().await);
    let exit = runtime.shutdown().await;
    println!("supervisor: {exit:?}");
    Ok(())
}
