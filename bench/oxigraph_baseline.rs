//! The bare-oxigraph baseline of `bench/sync_bench.py`: what the generic
//! 1M-triple scenario costs without ggen. It loads one Turtle file into an
//! in-memory oxigraph store, runs one SELECT query and writes every row, a
//! line of tab-separated values, into one file: the work ggen's scenario
//! does minus normalization, validation, templates and the receipt.
//!
//!     cargo run --release --example oxigraph_baseline -- DATA.ttl QUERY.rq OUT

use std::io::Write;

use oxigraph::io::{RdfFormat, RdfParser};
use oxigraph::model::Term;
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, query, out] = args.as_slice() else {
        return Err("usage: oxigraph_baseline DATA.ttl QUERY.rq OUT".into());
    };
    let store = Store::new()?;
    store.load_from_reader(
        RdfParser::from_format(RdfFormat::Turtle),
        std::fs::read(data)?.as_slice(),
    )?;
    let query = std::fs::read_to_string(query)?;
    let QueryResults::Solutions(solutions) = SparqlEvaluator::new()
        .parse_query(&query)?
        .on_store(&store)
        .execute()?
    else {
        return Err("not a SELECT query".into());
    };
    let mut text = String::new();
    let mut rows = 0usize;
    for solution in solutions {
        let solution = solution?;
        let values: Vec<String> = solution
            .iter()
            .map(|(_, term)| match term {
                Term::Literal(l) => l.value().to_string(),
                other => other.to_string(),
            })
            .collect();
        text.push_str(&values.join("\t"));
        text.push('\n');
        rows += 1;
    }
    std::fs::File::create(out)?.write_all(text.as_bytes())?;
    println!("{rows} rows");
    Ok(())
}
