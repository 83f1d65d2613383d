//! Violation messages: the generic text of each component, and `sh:message`
//! templates with their `{$this}`, `{$path}`, `{$value}` and `{?var}`
//! placeholders.

use oxigraph::model::{NamedNode, Term};

use crate::names::local_name;

/// A term as messages show it: IRIs in full, blank nodes as `_:label`,
/// literals by their lexical form.
pub fn text(term: &Term) -> String {
    match term {
        Term::NamedNode(n) => n.as_str().to_string(),
        Term::BlankNode(b) => format!("_:{}", b.as_str()),
        Term::Literal(l) => l.value().to_string(),
        // Reachable only with oxigraph's rdf-12 feature (quoted triples).
        #[allow(unreachable_patterns)]
        other => other.to_string(),
    }
}

/// What a generic message starts with: `focus: pathLocalName`, or the
/// focus alone for a node shape.
pub fn subject(focus: &Term, path: Option<&NamedNode>) -> String {
    match path {
        Some(p) => format!("{}: {}", text(focus), local_name(p.as_str())),
        None => text(focus),
    }
}

/// Fills a `sh:message` template. `{$this}` is the focus node, `{$path}`
/// the local name of the result path, `{$value}` the value; any other
/// `{$name}` or `{?name}` is the SPARQL row's variable of that name. A
/// placeholder with nothing to fill it stays as written, so that a typo
/// shows in the message.
pub fn render(
    template: &str,
    focus: &Term,
    path: Option<&NamedNode>,
    value: Option<&Term>,
    row: &[(String, Term)],
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let filled = placeholder(after).and_then(|(sigil, name, len)| {
            let special = sigil == '$';
            let value = match name {
                "this" if special => Some(text(focus)),
                "path" if special => path.map(|p| local_name(p.as_str())),
                "value" if special => value.map(text),
                _ => row.iter().find(|(v, _)| v == name).map(|(_, t)| text(t)),
            };
            value.map(|v| (v, len))
        });
        match filled {
            Some((value, len)) => {
                out.push_str(&value);
                rest = &after[len..];
            }
            None => {
                out.push('{');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `{$name}` or `{?name}` at the start of `s`: (sigil, name, length).
fn placeholder(s: &str) -> Option<(char, &str, usize)> {
    let mut chars = s.char_indices().skip(1);
    let (_, sigil) = chars.next()?;
    if sigil != '$' && sigil != '?' {
        return None;
    }
    let close = s.find('}')?;
    let name = &s[2..close];
    let valid = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    valid.then_some((sigil, name, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{BlankNode, Literal};

    #[test]
    fn placeholders() {
        let focus = Term::from(NamedNode::new_unchecked("http://example.org/app#emailPool"));
        let path = NamedNode::new_unchecked("http://ggen.dev/ontology/jobs#poolSize");
        let value = Term::from(Literal::from(0));
        let row = vec![(
            "name".to_string(),
            Term::from(Literal::new_simple_literal("email_pool")),
        )];
        assert_eq!(
            render(
                "{$this}: {$path} is {$value}; {?name} {$name} {?nope} {x} {",
                &focus,
                Some(&path),
                Some(&value),
                &row
            ),
            "http://example.org/app#emailPool: poolSize is 0; email_pool email_pool {?nope} {x} {"
        );
        let blank = Term::from(BlankNode::new_unchecked("b0"));
        assert_eq!(
            render("{$this} {$path}", &blank, None, None, &[]),
            "_:b0 {$path}"
        );
    }
}
