//! Checkout/return throughput and acquire latency: this crate's pool against
//! deadpool 0.13 (unmanaged and managed) and bb8 0.9, in one run.
//!
//! `cargo bench --bench pool` runs three scenarios, each on a fresh tokio
//! multi-thread runtime (one worker per core):
//!
//! - (a) one task: acquire, drop, repeat; pool of 16;
//! - (b) 16 tasks on a pool of 16: acquire, drop, repeat;
//! - (c) 64 tasks on a pool of 16: acquire, `yield_now().await`, drop.
//!
//! Every pool runs every scenario once per round; the pool order rotates
//! between rounds. Each run has an unmeasured warm-up, then counts
//! completed cycles for `BENCH_SECS` (default 2). Every 16th acquire is
//! timed with `Instant::now()` (two vDSO clock reads, amortised to a few
//! ns per cycle), the same for all pools. The table shows the median over
//! `BENCH_ROUNDS` rounds (default 5) with the min–max in brackets.
//!
//! Fairness: our pool is called as its users call it, `checkout(5 s)`,
//! timeout included. deadpool is called with `get()` and no timeout (its
//! fastest path: no timer at all); bb8 with `get()`, no check on checkout,
//! all 16 connections idle from the start. deadpool "managed" is the
//! semantic equivalent of ours (the pool creates objects through a manager);
//! "unmanaged" (a fixed set of objects) is the lighter of the two.
//!
//! For profiling: `BENCH_SCENARIOS=ac` and `BENCH_POOLS=ours,dpu,dpm,bb8`
//! select runs; `BENCH_DIST=1` prints each run's latency percentiles;
//! `BENCH_WORKERS=n` sets the number of runtime workers.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ggen_jobs::config::{PoolConfig, Strategy};
use ggen_jobs::pool::Pool;

const POOL_SIZE: usize = 16;
const SAMPLE_EVERY: u64 = 16;
const WARM_UP: Duration = Duration::from_millis(300);
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);

/// The object every pool lends out.
#[derive(Debug, Default)]
struct Conn(u64);

/// One acquire/(hold)/release cycle; returns the acquire latency if `timed`.
trait BenchPool: Clone + Send + Sync + 'static {
    fn cycle(&self, timed: bool, hold: bool) -> impl Future<Output = Option<Duration>> + Send;
}

#[derive(Clone)]
struct Ours(Pool<Conn>);

impl BenchPool for Ours {
    async fn cycle(&self, timed: bool, hold: bool) -> Option<Duration> {
        let start = timed.then(Instant::now);
        let conn = self.0.checkout(CHECKOUT_TIMEOUT).await.expect("checkout");
        let latency = start.map(|s| s.elapsed());
        black_box(&conn.0);
        if hold {
            tokio::task::yield_now().await;
        }
        drop(conn);
        latency
    }
}

#[derive(Clone)]
struct DeadpoolUnmanaged(deadpool::unmanaged::Pool<Conn>);

impl BenchPool for DeadpoolUnmanaged {
    async fn cycle(&self, timed: bool, hold: bool) -> Option<Duration> {
        let start = timed.then(Instant::now);
        let conn = self.0.get().await.expect("get");
        let latency = start.map(|s| s.elapsed());
        black_box(&conn.0);
        if hold {
            tokio::task::yield_now().await;
        }
        drop(conn);
        latency
    }
}

struct NoopManager;

impl deadpool::managed::Manager for NoopManager {
    type Type = Conn;
    type Error = std::convert::Infallible;

    async fn create(&self) -> Result<Conn, Self::Error> {
        Ok(Conn::default())
    }

    async fn recycle(
        &self,
        _conn: &mut Conn,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Self::Error> {
        Ok(())
    }
}

#[derive(Clone)]
struct DeadpoolManaged(deadpool::managed::Pool<NoopManager>);

impl BenchPool for DeadpoolManaged {
    async fn cycle(&self, timed: bool, hold: bool) -> Option<Duration> {
        let start = timed.then(Instant::now);
        let conn = self.0.get().await.expect("get");
        let latency = start.map(|s| s.elapsed());
        black_box(&conn.0);
        if hold {
            tokio::task::yield_now().await;
        }
        drop(conn);
        latency
    }
}

struct NoopConnections;

impl bb8::ManageConnection for NoopConnections {
    type Connection = Conn;
    type Error = std::convert::Infallible;

    async fn connect(&self) -> Result<Conn, Self::Error> {
        Ok(Conn::default())
    }

    async fn is_valid(&self, _conn: &mut Conn) -> Result<(), Self::Error> {
        Ok(())
    }

    fn has_broken(&self, _conn: &mut Conn) -> bool {
        false
    }
}

#[derive(Clone)]
struct Bb8(bb8::Pool<NoopConnections>);

impl BenchPool for Bb8 {
    async fn cycle(&self, timed: bool, hold: bool) -> Option<Duration> {
        let start = timed.then(Instant::now);
        let conn = self.0.get().await.expect("get");
        let latency = start.map(|s| s.elapsed());
        black_box(&conn.0);
        if hold {
            tokio::task::yield_now().await;
        }
        drop(conn);
        latency
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ours,
    DeadpoolUnmanaged,
    DeadpoolManaged,
    Bb8,
}

const KINDS: [Kind; 4] = [
    Kind::Ours,
    Kind::DeadpoolUnmanaged,
    Kind::DeadpoolManaged,
    Kind::Bb8,
];

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Ours => "ggen pool",
            Kind::DeadpoolUnmanaged => "deadpool 0.13 unmanaged",
            Kind::DeadpoolManaged => "deadpool 0.13 managed",
            Kind::Bb8 => "bb8 0.9",
        }
    }
}

struct Scenario {
    label: &'static str,
    tasks: usize,
    hold: bool,
}

const SCENARIOS: [Scenario; 3] = [
    Scenario {
        label: "(a) 1 task, get/drop",
        tasks: 1,
        hold: false,
    },
    Scenario {
        label: "(b) 16 tasks, pool 16",
        tasks: 16,
        hold: false,
    },
    Scenario {
        label: "(c) 64 tasks, pool 16, hold across yield",
        tasks: 64,
        hold: true,
    },
];

/// What one run of one pool in one scenario measured.
#[derive(Clone, Copy)]
struct Run {
    ops_per_sec: f64,
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

async fn task_loop<P: BenchPool>(pool: P, stop: Arc<AtomicBool>, hold: bool) -> (u64, Vec<u32>) {
    let mut cycles = 0_u64;
    let mut latencies = Vec::with_capacity(1 << 16);
    while !stop.load(Ordering::Relaxed) {
        let timed = cycles.is_multiple_of(SAMPLE_EVERY);
        if let Some(latency) = pool.cycle(timed, hold).await {
            latencies.push(u32::try_from(latency.as_nanos()).unwrap_or(u32::MAX));
        }
        cycles += 1;
    }
    (cycles, latencies)
}

/// Runs `tasks` copies of the cycle loop for `period`; returns the cycles
/// done, the latency samples and the measured wall time.
async fn drive<P: BenchPool>(
    pool: &P,
    tasks: usize,
    hold: bool,
    period: Duration,
) -> (u64, Vec<u32>, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|_| tokio::spawn(task_loop(pool.clone(), Arc::clone(&stop), hold)))
        .collect();
    // A plain sleep of the block_on thread (not a runtime worker): the
    // stop signal must not depend on the runtime's timer being serviced.
    std::thread::sleep(period);
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let mut cycles = 0;
    let mut latencies = Vec::new();
    for handle in handles {
        let (n, mut l) = handle.await.expect("bench task");
        cycles += n;
        latencies.append(&mut l);
    }
    (cycles, latencies, elapsed)
}

fn percentile(sorted: &[u32], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    Duration::from_nanos(u64::from(sorted[rank - 1]))
}

async fn measure<P: BenchPool>(pool: P, scenario: &Scenario, period: Duration) -> Run {
    drive(&pool, scenario.tasks, scenario.hold, WARM_UP).await;
    let (cycles, mut latencies, elapsed) =
        drive(&pool, scenario.tasks, scenario.hold, period).await;
    latencies.sort_unstable();
    if std::env::var("BENCH_DIST").is_ok() {
        let q = |p: f64| percentile(&latencies, p).as_secs_f64() * 1e6;
        eprintln!(
            "   dist: p10 {:.1} p25 {:.1} p50 {:.1} p75 {:.1} p90 {:.1} p95 {:.1} p99 {:.1} p99.9 {:.1}",
            q(0.1),
            q(0.25),
            q(0.5),
            q(0.75),
            q(0.9),
            q(0.95),
            q(0.99),
            q(0.999)
        );
    }
    Run {
        ops_per_sec: cycles as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        p999: percentile(&latencies, 0.999),
    }
}

async fn run(kind: Kind, scenario: &Scenario, period: Duration) -> Run {
    match kind {
        Kind::Ours => {
            let config = PoolConfig {
                name: "bench",
                size: POOL_SIZE,
                max_overflow: 0,
                strategy: Strategy::Fifo,
                ..PoolConfig::default()
            };
            measure(Ours(Pool::new(&config, Conn::default)), scenario, period).await
        }
        Kind::DeadpoolUnmanaged => {
            let objects: Vec<Conn> = (0..POOL_SIZE).map(|_| Conn::default()).collect();
            let pool = DeadpoolUnmanaged(deadpool::unmanaged::Pool::from(objects));
            measure(pool, scenario, period).await
        }
        Kind::DeadpoolManaged => {
            let pool = deadpool::managed::Pool::builder(NoopManager)
                .max_size(POOL_SIZE)
                .build()
                .expect("deadpool build");
            // Create all objects up front, like the other pools.
            let mut warm = Vec::new();
            for _ in 0..POOL_SIZE {
                warm.push(pool.get().await.expect("get"));
            }
            drop(warm);
            measure(DeadpoolManaged(pool), scenario, period).await
        }
        Kind::Bb8 => {
            let size = u32::try_from(POOL_SIZE).expect("small pool");
            let pool = bb8::Pool::builder()
                .max_size(size)
                .min_idle(size)
                .test_on_check_out(false)
                .build(NoopConnections)
                .await
                .expect("bb8 build");
            measure(Bb8(pool), scenario, period).await
        }
    }
}

fn env_number(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// "median [min–max]" of `values`, each scaled by `scale`.
fn spread(values: &[f64], scale: f64, decimals: usize) -> String {
    let mut v: Vec<f64> = values.iter().map(|x| x / scale).collect();
    let mid = median(&mut v);
    format!(
        "{mid:.decimals$} [{:.decimals$}–{:.decimals$}]",
        v[0],
        v[v.len() - 1]
    )
}

fn main() {
    let period = Duration::from_secs_f64(env_number("BENCH_SECS", 2.0));
    let rounds = env_number("BENCH_ROUNDS", 5.0).max(1.0) as usize;
    let worker_threads = std::env::var("BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let new_runtime = || {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = worker_threads {
            builder.worker_threads(n);
        }
        builder.enable_all().build().expect("tokio runtime")
    };
    let workers = new_runtime().metrics().num_workers();

    // Optional filters for profiling: BENCH_SCENARIOS=ac, BENCH_POOLS=ours,dpu,dpm,bb8.
    let scenarios = std::env::var("BENCH_SCENARIOS").unwrap_or_else(|_| "abc".into());
    let pools = std::env::var("BENCH_POOLS").unwrap_or_else(|_| "ours,dpu,dpm,bb8".into());
    let wanted = |s: usize, k: usize| {
        scenarios.contains(["a", "b", "c"][s])
            && pools
                .split(',')
                .any(|p| p == ["ours", "dpu", "dpm", "bb8"][k])
    };

    // results[scenario][kind][round]
    let mut results = vec![vec![Vec::<Run>::new(); KINDS.len()]; SCENARIOS.len()];
    for round in 0..rounds {
        for (s, scenario) in SCENARIOS.iter().enumerate() {
            for k in 0..KINDS.len() {
                let k = (k + round) % KINDS.len();
                if !wanted(s, k) {
                    continue;
                }
                // A fresh runtime per run: no run inherits another's threads,
                // timers or task placement.
                let result = new_runtime().block_on(run(KINDS[k], scenario, period));
                eprintln!(
                    "round {} {:<42} {:<24} {:>10.0} ops/s  p50 {:>7.2?}  p99 {:>8.2?}",
                    round + 1,
                    scenario.label,
                    KINDS[k].label(),
                    result.ops_per_sec,
                    result.p50,
                    result.p99
                );
                results[s][k].push(result);
            }
        }
    }

    println!();
    println!(
        "Pool of {POOL_SIZE}, tokio multi-thread ({workers} workers), {rounds} rounds of {:.1} s per pool and scenario; median [min–max] over rounds; latency = acquire time, every {SAMPLE_EVERY}th acquire timed.",
        period.as_secs_f64()
    );
    println!();
    println!("| scenario | pool | ops/s (M) | p50 µs | p99 µs | p99.9 µs |");
    println!("|---|---|---|---|---|---|");
    for (s, scenario) in SCENARIOS.iter().enumerate() {
        for (k, kind) in KINDS.iter().enumerate() {
            let runs = &results[s][k];
            if runs.is_empty() {
                continue;
            }
            let col = |f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<_>>();
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                scenario.label,
                kind.label(),
                spread(&col(|r| r.ops_per_sec), 1e6, 2),
                spread(&col(|r| r.p50.as_secs_f64()), 1e-6, 2),
                spread(&col(|r| r.p99.as_secs_f64()), 1e-6, 1),
                spread(&col(|r| r.p999.as_secs_f64()), 1e-6, 0),
            );
        }
    }

    println!();
    println!("Ratios, ours / theirs, per round (same round, same conditions): median [min–max].");
    println!();
    println!(
        "| scenario | ops/s vs deadpool unmanaged | ops/s vs deadpool managed | ops/s vs bb8 | p99 vs deadpool unmanaged | p99 vs deadpool managed |"
    );
    println!("|---|---|---|---|---|---|");
    for (s, scenario) in SCENARIOS.iter().enumerate() {
        let ours = &results[s][0];
        let ratio = |k: usize, f: fn(&Run) -> f64| {
            if ours.is_empty() || results[s][k].is_empty() {
                return "–".to_string();
            }
            let v: Vec<f64> = ours
                .iter()
                .zip(&results[s][k])
                .map(|(a, b)| f(a) / f(b))
                .collect();
            spread(&v, 1.0, 2)
        };
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            scenario.label,
            ratio(1, |r| r.ops_per_sec),
            ratio(2, |r| r.ops_per_sec),
            ratio(3, |r| r.ops_per_sec),
            ratio(1, |r| r.p99.as_secs_f64()),
            ratio(2, |r| r.p99.as_secs_f64()),
        );
    }
    println!();
    println!("(ops/s ratio > 1: ours faster; p99 ratio < 1: ours lower tail)");
}
