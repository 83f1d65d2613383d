//! Defaults come from the vocabulary's shapes (`sh:defaultValue`), read by
//! the templates through the `defaults` query: a default changed in the
//! vocabulary, or restated by a specification, reaches the generated Erlang
//! and Rust code with no template edit.

use ggen::init::Lang;

use crate::util::Project;

/// Every default of the vocabulary, as Turtle literals.
struct Defaults {
    pool_size: &'static str,
    max_overflow: &'static str,
    pull_size: &'static str,
    process_timeout: &'static str,
    strategy: &'static str,
    checkout_timeout: &'static str,
    priority: &'static str,
    domain: &'static str,
    circuit_breaker_open: &'static str,
    failure_threshold: &'static str,
    failure_window: &'static str,
    intensity: &'static str,
    period: &'static str,
    stream: &'static str,
    subject_prefix: &'static str,
}

/// The generated code states `d` as its defaults.
fn assert_generated_defaults(p: &Project, d: &Defaults) {
    let unquoted = |s: &str| s.trim_matches('"').to_string();
    let (strategy, variant) = match d.strategy {
        "\"lifo\"" => ("Lifo", "Lifo"),
        _ => ("Fifo", "Fifo"),
    };
    let config = p.read("rust/src/config.rs");
    for expected in [
        format!(
            "size: {},\n            max_overflow: {},\n            pull_size: {},\n            process_timeout: Duration::from_millis({}),\n            strategy: Strategy::{strategy},\n            checkout_timeout: Duration::from_millis({}),",
            d.pool_size, d.max_overflow, d.pull_size, d.process_timeout, d.checkout_timeout
        ),
        format!(
            "priority: {},\n            domain: {},\n            pool: \"job_worker_pool\",\n            circuit_breaker_open: {},\n            failure_threshold: {},\n            failure_window: Duration::from_millis({}),",
            d.priority, d.domain, d.circuit_breaker_open, d.failure_threshold, d.failure_window
        ),
        format!(
            "intensity: {},\n            period: Duration::from_secs({}),",
            d.intensity, d.period
        ),
        format!("#[default]\n    {variant},"),
        format!(
            "stream: {},\n    subject_prefix: {},",
            d.stream, d.subject_prefix
        ),
    ] {
        assert!(
            config.contains(&expected),
            "config.rs lacks:\n{expected}\n---\n{config}"
        );
    }
    let worker = p.read("erlang/src/job_worker.erl");
    let breaker = if d.circuit_breaker_open == "true" {
        "open"
    } else {
        "closed"
    };
    let lane = format!(
        "lane(_Priority, _Domain) ->\n    #{{pool => job_worker_pool, failure_threshold => {}, failure_window => {},\n      circuit_breaker => {breaker}}}.",
        d.failure_threshold, d.failure_window
    );
    assert!(
        worker.contains(&lane),
        "job_worker.erl lacks:\n{lane}\n---\n{worker}"
    );
    let jetstream = p.read("erlang/src/job_queue_jetstream.erl");
    let stream = format!("-define(STREAM, <<\"{}\">>).", unquoted(d.stream));
    assert!(jetstream.contains(&stream), "{jetstream}");
}

/// The tutorial's specification restates five defaults the first-release
/// way (`jobs:poolSize jobs:defaultValue 10 .`).
const RESTATED_BY_THE_SEED: [&str; 5] = ["10", "5", "5", "30000", "false"];

/// The vocabulary changed (in ejected copies of both targets): every
/// default it gives follows; the five the specification restates stay.
#[test]
fn generated_defaults_follow_the_vocabulary() {
    let p = Project::init(Lang::Both, "defaults");
    p.ggen(&["eject", "erlang"]).expect(0);
    p.ggen(&["eject", "rust"]).expect(0);
    let changed = [
        ("poolSize", "10", "17"),
        ("maxOverflow", "5", "3"),
        ("pullSize", "5", "2"),
        ("processTimeout", "30000", "4321"),
        ("strategy", "\"fifo\"", "\"lifo\""),
        ("checkoutTimeout", "5000", "111"),
        ("priority", "\"normal\"", "\"p9\""),
        ("domain", "\"default\"", "\"d9\""),
        ("circuitBreakerOpen", "false", "true"),
        ("failureThreshold", "5", "7"),
        ("failureWindow", "10000", "1234"),
        ("intensity", "5", "9"),
        ("period", "10", "13"),
        ("stream", "\"JOBS\"", "\"OTHER\""),
        ("subjectPrefix", "\"jobs\"", "\"work.jobs\""),
    ];
    for target in ["erlang", "rust"] {
        let file = format!("targets/{target}/ontology/jobs.shapes.ttl");
        let mut shapes = p.read(&file);
        for (property, old, new) in changed {
            let shape_start = shapes
                .find(&format!("jobs:{property}Shape a sh:PropertyShape"))
                .unwrap_or_else(|| panic!("{file} has a shape for jobs:{property}"));
            let old_line = format!("sh:defaultValue {old} .");
            let at = shape_start
                + shapes[shape_start..]
                    .find(&old_line)
                    .unwrap_or_else(|| panic!("jobs:{property}Shape has {old_line}"));
            shapes.replace_range(at..at + old_line.len(), &format!("sh:defaultValue {new} ."));
        }
        p.write(&file, &shapes);
    }
    p.ggen(&["sync"]).expect(0);
    let [
        pool_size,
        max_overflow,
        pull_size,
        process_timeout,
        circuit_breaker_open,
    ] = RESTATED_BY_THE_SEED;
    assert_generated_defaults(
        &p,
        &Defaults {
            pool_size,
            max_overflow,
            pull_size,
            process_timeout,
            strategy: "\"lifo\"",
            checkout_timeout: "111",
            priority: "\"p9\"",
            domain: "\"d9\"",
            circuit_breaker_open,
            failure_threshold: "7",
            failure_window: "1234",
            intensity: "9",
            period: "13",
            stream: "\"OTHER\"",
            subject_prefix: "\"work.jobs\"",
        },
    );
}

/// A specification restates defaults: the first-release way on the
/// property (`jobs:defaultValue`), or on the property's shape
/// (`sh:defaultValue`); either replaces the vocabulary's.
#[test]
fn a_specification_restates_defaults() {
    let p = Project::init(Lang::Both, "restated");
    let seed = p.read(p.spec());
    let mut changed = String::new();
    let mut values = ["17", "3", "2", "4321", "true"].into_iter();
    for line in seed.lines() {
        match line
            .strip_suffix(" .")
            .and_then(|l| l.strip_prefix("    jobs:defaultValue "))
        {
            Some(old) => {
                assert!(RESTATED_BY_THE_SEED.contains(&old), "{line}");
                changed.push_str(&format!(
                    "    jobs:defaultValue {} .\n",
                    values.next().unwrap()
                ));
            }
            None => changed.push_str(&format!("{line}\n")),
        }
    }
    assert!(values.next().is_none(), "the seed restates five defaults");
    p.write(
        p.spec(),
        &format!(
            "{changed}\n@prefix sh: <http://www.w3.org/ns/shacl#> .\n\
             jobs:strategy jobs:defaultValue \"lifo\" .\n\
             jobs:checkoutTimeout jobs:defaultValue 111 .\n\
             jobs:priorityShape sh:defaultValue \"p9\" .\n\
             jobs:domainShape sh:defaultValue \"d9\" .\n\
             jobs:failureThresholdShape sh:defaultValue 7 .\n\
             jobs:failureWindowShape sh:defaultValue 1234 .\n\
             jobs:intensity jobs:defaultValue 9 .\n\
             jobs:periodShape sh:defaultValue 13 .\n\
             jobs:streamShape sh:defaultValue \"OTHER\" .\n\
             jobs:subjectPrefix jobs:defaultValue \"work.jobs\" .\n"
        ),
    );
    p.ggen(&["sync"]).expect(0);
    assert_generated_defaults(
        &p,
        &Defaults {
            pool_size: "17",
            max_overflow: "3",
            pull_size: "2",
            process_timeout: "4321",
            strategy: "\"lifo\"",
            checkout_timeout: "111",
            priority: "\"p9\"",
            domain: "\"d9\"",
            circuit_breaker_open: "true",
            failure_threshold: "7",
            failure_window: "1234",
            intensity: "9",
            period: "13",
            stream: "\"OTHER\"",
            subject_prefix: "\"work.jobs\"",
        },
    );
}
