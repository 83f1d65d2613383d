//! `[limits]`: how much work and memory one sync may use. Every limit has a
//! default far above any real specification and far below a machine's
//! memory, so that a hostile or mistaken input ends in a clear error rather
//! than a crash, a swapping machine or a sync that never ends.

use std::num::NonZeroU64;

use serde::Deserialize;

/// The limits of one sync, as `[limits]` sets them (each key optional).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How deeply a Turtle file may nest `[ … ]` and `( … )`.
    pub turtle_depth: NonZeroU64,
    /// How deeply a query's algebra may nest (parentheses, groups, and each
    /// `UNION` branch count one level).
    pub sparql_depth: NonZeroU64,
    /// Rows one query may return.
    pub rows: NonZeroU64,
    /// Triples in the graph after defaults and inference.
    pub quads: NonZeroU64,
    /// Bytes one rendered output may hold.
    pub output_bytes: NonZeroU64,
    /// Bytes all rendered outputs of a sync may hold together.
    pub total_bytes: NonZeroU64,
    /// Seconds the templates of one generation rule may take to render.
    pub render_seconds: NonZeroU64,
    /// Seconds one query may take to parse, or to plan and run.
    pub query_seconds: NonZeroU64,
    /// Seconds RDFC-1.0 may take to label the blank nodes.
    pub rdfc_seconds: NonZeroU64,
    /// Megabytes of memory (resident set) planning a sync may use.
    pub memory_mb: NonZeroU64,
}

const fn n(value: u64) -> NonZeroU64 {
    match NonZeroU64::new(value) {
        Some(v) => v,
        None => panic!("a default limit is zero"),
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            turtle_depth: n(1_000),
            sparql_depth: n(1_000),
            rows: n(2_000_000),
            quads: n(5_000_000),
            output_bytes: n(64 << 20),
            total_bytes: n(512 << 20),
            render_seconds: n(30),
            query_seconds: n(30),
            rdfc_seconds: n(30),
            memory_mb: n(1_536),
        }
    }
}
