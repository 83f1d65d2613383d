//! The digest: blank nodes relabelled by RDFC-1.0 (under a time limit: the
//! algorithm is exponential on hostile graphs) and the SHA-256 of the
//! canonical N-Quads.

use std::sync::mpsc;
use std::time::Duration;

use oxigraph::model::dataset::{CanonicalizationAlgorithm, CanonicalizationHashAlgorithm};
use oxigraph::model::{Dataset, GraphNameRef, QuadRef, TermRef};
use oxigraph::store::Store;
use sha2::{Digest as _, Sha256};

use super::{Graph, store_error};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Limits;

/// Canonicalizes blank node labels (RDFC-1.0) and digests the canonical N-Quads.
///
/// RDFC-1.0 labels a blank node from the quads that mention blank nodes
/// only (its first-degree quads, then the blank nodes they relate it to):
/// so only those quads go through the algorithm, and the rest, canonical
/// as they are, stay in the store. A shapes graph's few lists cost
/// microseconds rather than a copy of the whole graph.
pub fn canonicalize(store: Store, limits: &Limits) -> Result<Graph> {
    let mut lines = Vec::new();
    let mut blank = Dataset::new();
    for quad in store.iter() {
        let quad = quad.map_err(store_error)?;
        if quad.subject.is_blank_node()
            || quad.object.is_blank_node()
            || quad.graph_name.is_blank_node()
        {
            blank.insert(&quad);
        } else {
            lines.push(canonical_nquad(quad.as_ref()));
        }
    }
    // The store gets the canonical labels too, so that query results never
    // show parse-time random labels.
    if !blank.is_empty() {
        let parsed: Vec<_> = blank.iter().map(QuadRef::into_owned).collect();
        let canonical = canonicalize_with_limit(blank, limits)?;
        for quad in &parsed {
            store.remove(quad).map_err(store_error)?;
        }
        store
            .extend(canonical.iter().map(QuadRef::into_owned))
            .map_err(store_error)?;
        lines.extend(canonical.iter().map(canonical_nquad));
    }
    lines.sort_unstable();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    Ok(Graph {
        store,
        digest: hex::encode(hasher.finalize()),
        quads: lines.len(),
    })
}

/// The stack of the canonicalization thread (an address-space
/// reservation; only the pages a deep recursion touches use memory).
const CANONICALIZATION_STACK: usize = 1 << 30;

/// RDFC-1.0 on `dataset` within `[limits] rdfc_seconds` and `memory_mb`
/// (the algorithm is exponential in the worst case, on graphs whose blank
/// nodes are very symmetric).
fn canonicalize_with_limit(mut dataset: Dataset, limits: &Limits) -> Result<Dataset> {
    let (tx, rx) = mpsc::channel();
    // RDFC-1.0 recurses along chains of blank nodes: its thread gets the
    // stack the command's thread has, and the watchdog bounds its memory.
    let _guard = crate::watchdog::watch(
        ErrorKind::Ontology,
        "canonicalizing the blank nodes (RDFC-1.0)".into(),
        limits.memory_mb.get(),
        None,
    );
    std::thread::Builder::new()
        .name("ggen-rdfc".into())
        .stack_size(CANONICALIZATION_STACK)
        .spawn(move || {
            dataset.canonicalize(CanonicalizationAlgorithm::Rdfc10 {
                hash_algorithm: CanonicalizationHashAlgorithm::Sha256,
            });
            let _ = tx.send(dataset);
        })
        .map_err(store_error)?;
    let seconds = limits.rdfc_seconds.get();
    rx.recv_timeout(Duration::from_secs(seconds)).map_err(|_| {
        Error::new(
            ErrorKind::Ontology,
            format!("RDFC-1.0 canonicalization did not finish within {seconds} s (`rdfc_seconds` under `[limits]`)"),
        )
        .with_help("the graph has many indistinguishable blank nodes (a long chain, or nodes all alike); give them IRIs")
    })
}

/// One quad in canonical N-Quads form (RDFC-1.0 §4.4 / RDF 1.1 canonical N-Triples).
pub fn canonical_nquad(quad: QuadRef<'_>) -> String {
    let mut out = String::new();
    push_term(&mut out, quad.subject.into());
    out.push(' ');
    push_term(&mut out, quad.predicate.into());
    out.push(' ');
    push_term(&mut out, quad.object);
    if let GraphNameRef::NamedNode(n) = quad.graph_name {
        out.push(' ');
        push_term(&mut out, n.into());
    } else if let GraphNameRef::BlankNode(b) = quad.graph_name {
        out.push(' ');
        push_term(&mut out, b.into());
    }
    out.push_str(" .");
    out
}

fn push_term(out: &mut String, term: TermRef<'_>) {
    match term {
        TermRef::NamedNode(n) => {
            out.push('<');
            out.push_str(n.as_str());
            out.push('>');
        }
        TermRef::BlankNode(b) => {
            out.push_str("_:");
            out.push_str(b.as_str());
        }
        TermRef::Literal(l) => {
            out.push('"');
            for c in l.value().chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{7F}' => {
                        out.push_str(&format!("\\u{:04X}", u32::from(c)));
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            if let Some(lang) = l.language() {
                out.push('@');
                out.push_str(lang);
            } else if l.datatype().as_str() != "http://www.w3.org/2001/XMLSchema#string" {
                out.push_str("^^<");
                out.push_str(l.datatype().as_str());
                out.push('>');
            }
        }
        #[allow(unreachable_patterns)]
        _ => out.push_str(&term.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{BlankNode, Literal, NamedNode, Quad};

    #[test]
    fn canonical_literals_escape_only_what_rdfc_says() {
        let s = NamedNode::new_unchecked("http://e/s");
        let p = NamedNode::new_unchecked("http://e/p");
        let o = Literal::new_simple_literal("a\"b\\c\nd\te\u{1}");
        let q = Quad::new(s, p, o, GraphNameRef::DefaultGraph);
        assert_eq!(
            canonical_nquad(q.as_ref()),
            "<http://e/s> <http://e/p> \"a\\\"b\\\\c\\nd\te\\u0001\" ."
        );
    }

    #[test]
    fn digest_ignores_blank_node_labels() {
        let digest = |label: &str| {
            let store = Store::new().unwrap();
            let b = BlankNode::new_unchecked(label);
            let p = NamedNode::new_unchecked("http://e/p");
            store
                .insert(QuadRef::new(
                    &b,
                    &p,
                    &Literal::from(1),
                    GraphNameRef::DefaultGraph,
                ))
                .unwrap();
            canonicalize(store, &Limits::default()).unwrap().digest
        };
        assert_eq!(digest("x1"), digest("other"));
    }

    /// Canonicalizing only the quads that mention blank nodes labels them
    /// as RDFC-1.0 over the whole graph does, so the digest is the one of
    /// the whole graph canonicalized.
    #[test]
    fn only_blank_node_quads_need_relabelling() {
        let text = "
            @prefix e: <http://e/> .
            e:s e:p e:o ; e:list ( 1 2 ) , ( 1 2 ) .
            e:t e:q [ e:r e:s ; e:u [ e:v 3 ] ] .
            _:a e:w _:b . _:b e:w _:a . e:x e:y \"z\" .
        ";
        let store = Store::new().unwrap();
        store
            .load_from_reader(oxigraph::io::RdfFormat::Turtle, text.as_bytes())
            .unwrap();
        let mut whole = Dataset::new();
        for quad in store.iter() {
            whole.insert(&quad.unwrap());
        }
        whole.canonicalize(CanonicalizationAlgorithm::Rdfc10 {
            hash_algorithm: CanonicalizationHashAlgorithm::Sha256,
        });
        let mut lines: Vec<String> = whole.iter().map(canonical_nquad).collect();
        lines.sort_unstable();
        let mut hasher = Sha256::new();
        for line in &lines {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
        let graph = canonicalize(store, &Limits::default()).unwrap();
        assert_eq!(graph.digest, hex::encode(hasher.finalize()));
        assert_eq!(graph.quads, lines.len());
        let mut stored: Vec<String> = graph
            .store
            .iter()
            .map(|q| canonical_nquad(q.unwrap().as_ref()))
            .collect();
        stored.sort_unstable();
        assert_eq!(stored, lines, "the store holds the canonical labels");
    }
}
