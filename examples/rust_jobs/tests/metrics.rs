//! The Prometheus exposition is well formed: each family once, HELP then
//! TYPE before its samples, valid names, escaped label values.

use std::collections::HashSet;

use ggen_jobs::circuit_breaker::BreakerState;
use ggen_jobs::metrics::{JobCounts, JobMetrics, LaneSnapshot};
use ggen_jobs::metrics::{PoolSnapshot, Snapshot, render_prometheus};
use ggen_jobs::pool::{PoolState, PoolStatus};
use ggen_jobs::queue::QueueStats;

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Splits a sample line into its name, raw label text and value.
fn parse_sample(line: &str) -> (&str, Option<&str>, &str) {
    let (series, value) = line.rsplit_once(' ').expect("sample has a value");
    match series.split_once('{') {
        Some((name, labels)) => (
            name,
            Some(labels.strip_suffix('}').expect("closing brace")),
            value,
        ),
        None => (series, None, value),
    }
}

/// Checks the exposition rules this crate promises and returns the
/// families it found.
fn check(text: &str) -> Vec<(String, String)> {
    let mut families = Vec::new();
    let mut seen = HashSet::new();
    let mut current: Option<(String, String)> = None;
    let mut help_for: Option<String> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, _) = rest.split_once(' ').expect("HELP has text");
            assert!(valid_name(name), "bad name {name}");
            assert!(seen.insert(name.to_owned()), "family {name} declared twice");
            help_for = Some(name.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE has a kind");
            assert_eq!(
                help_for.as_deref(),
                Some(name),
                "TYPE {name} right after its HELP"
            );
            assert!(["counter", "gauge"].contains(&kind), "kind {kind}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "counter {name} ends in _total");
            }
            current = Some((name.to_owned(), kind.to_owned()));
            families.push((name.to_owned(), kind.to_owned()));
        } else {
            assert!(!line.starts_with('#'), "unexpected comment {line}");
            let (name, labels, value) = parse_sample(line);
            let (family, _) = current.as_ref().expect("sample after a TYPE");
            assert_eq!(name, family, "sample under its own family");
            value.parse::<f64>().expect("numeric value");
            if let Some(labels) = labels {
                check_labels(labels);
            }
        }
    }
    families
}

/// `key="value",...` with `\\`, `\"` and `\n` the only escapes.
fn check_labels(labels: &str) {
    let mut rest = labels;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").expect("key=\"");
        assert!(valid_name(key), "label name {key}");
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("closing quote") {
                (_, '\\') => {
                    let (_, escaped) = chars.next().expect("escaped char");
                    assert!(['\\', '"', 'n'].contains(&escaped), "escape \\{escaped}");
                }
                (_, '\n') => panic!("raw newline in label value"),
                (i, '"') => break i,
                _ => {}
            }
        };
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

fn lane(priority: &str, domain: &str) -> LaneSnapshot {
    LaneSnapshot {
        pool: "email_pool".to_owned(),
        priority: priority.to_owned(),
        domain: domain.to_owned(),
        counts: JobCounts {
            pulled: 7,
            processed: 5,
            failed: 2,
            ..JobCounts::default()
        },
        breaker: BreakerState::HalfOpen,
        breaker_opened: 3,
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        lanes: vec![lane("high", "email"), lane("we\"ird\\", "multi\nline")],
        pools: vec![PoolSnapshot {
            name: "email_pool".to_owned(),
            size: 3,
            max_overflow: 1,
            status: PoolStatus {
                state: PoolState::Overflow,
                available: 0,
                overflow: 0,
                in_use: 3,
                waiting: 0,
            },
        }],
        queue: Some(QueueStats {
            pending: 4,
            in_flight: 1,
            acked: 9,
            dead: 2,
        }),
    }
}

#[test]
fn the_exposition_is_well_formed() {
    let text = render_prometheus(&snapshot());
    let families = check(&text);
    assert!(families.len() >= 20, "{families:?}");
    assert!(text.ends_with('\n'));
}

#[test]
fn samples_carry_their_values_and_labels() {
    let text = render_prometheus(&snapshot());
    for line in [
        "jobs_pulled_total{pool=\"email_pool\",priority=\"high\",domain=\"email\"} 7",
        "jobs_processed_total{pool=\"email_pool\",priority=\"high\",domain=\"email\"} 5",
        "jobs_circuit_breaker_state{pool=\"email_pool\",priority=\"high\",domain=\"email\"} 2",
        "jobs_circuit_breaker_opened_total{pool=\"email_pool\",priority=\"high\",domain=\"email\"} 3",
        "jobs_pool_in_use{pool=\"email_pool\"} 3",
        "jobs_queue_dead 2",
        "jobs_queue_acked_total 9",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
}

#[test]
fn label_values_are_escaped() {
    let text = render_prometheus(&snapshot());
    assert!(
        text.contains(r#"priority="we\"ird\\",domain="multi\nline""#),
        "{text}"
    );
}

#[test]
fn the_queue_families_are_left_out_when_the_queue_cannot_report() {
    let text = render_prometheus(&Snapshot {
        queue: None,
        ..snapshot()
    });
    check(&text);
    assert!(!text.contains("jobs_queue_"));
}

#[test]
fn counters_count() {
    let metrics = JobMetrics::default();
    metrics.pulled.add(3);
    metrics.failed.inc();
    let counts = metrics.snapshot();
    assert_eq!((counts.pulled, counts.failed, counts.processed), (3, 1, 0));
}
