//! The properties written on one line of Turtle, each with its values, as
//! byte ranges of the line: so that a violation on a line holding several
//! statements (`ex:p a jobs:WorkerPool ; jobs:poolSize 0 .`) can underline
//! its own property and value. A line is read alone: one that starts or
//! ends inside a string, an IRI or a bracket gives nothing, and the caller
//! keeps the whole line. Which written property is which triple's is for
//! the parser to say (origins.rs), not this reader.

use std::ops::Range;

/// A property and its values as written on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The property (`jobs:poolSize`, `a`, `<http://…>`).
    pub property: Range<usize>,
    /// Its values on this line (`0`; `"high", "low"`).
    pub values: Vec<Range<usize>>,
    /// Nothing else is written on the line: no subject, no other property.
    pub alone: bool,
}

/// One token of a line outside comments.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A subject, property or value: a name, IRI, literal, or a bracketed
    /// blank node or collection.
    Term(Range<usize>),
    /// `;`
    Semicolon,
    /// `,`
    Comma,
    /// The `.` that ends a statement.
    Dot,
}

/// The properties written on `line` with their values: a clause of three
/// terms is subject, property, value; of two, property and value; a term
/// after a comma is one more value of the property before it.
pub fn written(line: &str) -> Vec<Written> {
    let Some(tokens) = tokens(line.as_bytes()) else {
        return Vec::new();
    };
    let terms = tokens
        .iter()
        .filter(|t| matches!(t, Token::Term(_)))
        .count();
    let mut found = Vec::new();
    let mut clause: Vec<Range<usize>> = Vec::new();
    let mut more: Vec<Range<usize>> = Vec::new();
    let mut after_comma = false;
    let mut close = |clause: &mut Vec<Range<usize>>, more: &mut Vec<Range<usize>>| {
        let (property, value, subject) = match clause.as_slice() {
            [_, p, v] => (p.clone(), v.clone(), true),
            [p, v] => (p.clone(), v.clone(), false),
            _ => {
                clause.clear();
                more.clear();
                return;
            }
        };
        let mut values = vec![value];
        values.append(more);
        let alone = !subject && terms == 1 + values.len();
        found.push(Written {
            property,
            values,
            alone,
        });
        clause.clear();
    };
    for token in tokens {
        match token {
            Token::Term(range) if after_comma => more.push(range),
            Token::Term(range) => clause.push(range),
            Token::Comma => after_comma = true,
            Token::Semicolon | Token::Dot => {
                close(&mut clause, &mut more);
                after_comma = false;
            }
        }
    }
    close(&mut clause, &mut more);
    found
}

/// The line's tokens, or `None` when the line cannot be read alone.
fn tokens(b: &[u8]) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'#' => break,
            b';' => {
                out.push(Token::Semicolon);
                i += 1;
            }
            b',' => {
                out.push(Token::Comma);
                i += 1;
            }
            b'.' if ends_statement(b, i) => {
                out.push(Token::Dot);
                i += 1;
            }
            _ => {
                let end = term_end(b, i)?;
                out.push(Token::Term(i..end));
                i = end;
            }
        }
    }
    Some(out)
}

/// Whether the `.` at `i` ends a statement (rather than being inside a
/// name or a number).
fn ends_statement(b: &[u8], i: usize) -> bool {
    b.get(i + 1)
        .is_none_or(|c| c.is_ascii_whitespace() || *c == b'#')
}

/// The end of the term that starts at `i`.
fn term_end(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'<' => b[i..].iter().position(|&c| c == b'>').map(|n| i + n + 1),
        b'"' | b'\'' => string_end(b, i).map(|end| suffix_end(b, end)),
        b'[' | b'(' => group_end(b, i),
        _ => {
            let end = bare_end(b, i);
            (end > i).then_some(end)
        }
    }
}

/// The end of the string literal (short or long) that starts at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let q = b[i];
    let triple = [q, q, q];
    let long = b.get(i..i + 3) == Some(&triple[..]);
    let mut j = if long { i + 3 } else { i + 1 };
    while j < b.len() {
        if b[j] == b'\\' {
            j += 2;
        } else if long && b.get(j..j + 3) == Some(&triple[..]) {
            return Some(j + 3);
        } else if !long && b[j] == q {
            return Some(j + 1);
        } else {
            j += 1;
        }
    }
    None
}

/// The end of a literal's language tag or datatype, if any, from `j`.
fn suffix_end(b: &[u8], j: usize) -> usize {
    if b.get(j) == Some(&b'@') {
        let n = b[j + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
            .count();
        j + 1 + n
    } else if b.get(j..j + 2) == Some(b"^^") && j + 2 < b.len() {
        term_end(b, j + 2).unwrap_or(j)
    } else {
        j
    }
}

/// The end of the `[…]` or `(…)` that starts at `i`.
fn group_end(b: &[u8], i: usize) -> Option<usize> {
    let close = if b[i] == b'[' { b']' } else { b')' };
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            c if c == close => return Some(j + 1),
            c if c.is_ascii_whitespace() => j += 1,
            b';' | b',' => j += 1,
            b'#' | b']' | b')' => return None,
            b'.' if ends_statement(b, j) => return None,
            _ => j = term_end(b, j)?,
        }
    }
    None
}

/// The end of a name, number, `a`, boolean or blank node label at `i`.
fn bare_end(b: &[u8], i: usize) -> usize {
    let mut j = i;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c.is_ascii_whitespace() => break,
            b';' | b',' | b'<' | b'"' | b'\'' | b'#' | b'(' | b')' | b'[' | b']' => break,
            b'.' if ends_statement(b, j) || matches!(b.get(j + 1), Some(b';' | b',')) => break,
            _ => j += 1,
        }
    }
    j.min(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<(String, Vec<String>, bool)> {
        written(line)
            .into_iter()
            .map(|w| {
                (
                    line[w.property].to_string(),
                    w.values.into_iter().map(|v| line[v].to_string()).collect(),
                    w.alone,
                )
            })
            .collect()
    }

    fn one(p: &str, values: &[&str], alone: bool) -> (String, Vec<String>, bool) {
        let values = values.iter().map(|v| v.to_string()).collect();
        (p.to_string(), values, alone)
    }

    #[test]
    fn a_statement_on_one_line() {
        assert_eq!(
            texts("ex:p a jobs:WorkerPool ; jobs:poolSize 0 ."),
            vec![
                one("a", &["jobs:WorkerPool"], false),
                one("jobs:poolSize", &["0"], false),
            ]
        );
    }

    #[test]
    fn a_property_alone_on_its_line() {
        assert_eq!(
            texts("    jobs:poolSize 0 ;"),
            vec![one("jobs:poolSize", &["0"], true)]
        );
        assert_eq!(
            texts("    jobs:strategy \"random\" .  # the bad one"),
            vec![one("jobs:strategy", &["\"random\""], true)]
        );
    }

    #[test]
    fn literals_iris_lists_and_brackets() {
        assert_eq!(
            texts(
                r#"ex:l jobs:priority "a;b", 'c' ; <http://x/p#q> "d"@en-GB , "1"^^xsd:integer ; ex:n [ ex:m 1 ; ex:o 2 ] ; ex:c ( 1 2.5 ) ; ex:x 1.5e3 ."#
            ),
            vec![
                one("jobs:priority", &[r#""a;b""#, "'c'"], false),
                one(
                    "<http://x/p#q>",
                    &[r#""d"@en-GB"#, r#""1"^^xsd:integer"#],
                    false
                ),
                one("ex:n", &["[ ex:m 1 ; ex:o 2 ]"], false),
                one("ex:c", &["( 1 2.5 )"], false),
                one("ex:x", &["1.5e3"], false),
            ]
        );
    }

    #[test]
    fn names_with_dots_and_a_final_dot() {
        assert_eq!(
            texts("ex:a.b ex:p.q ex:v.w."),
            vec![one("ex:p.q", &["ex:v.w"], false)]
        );
    }

    #[test]
    fn lines_that_cannot_be_read_alone_give_nothing() {
        assert!(written(r#"    jobs:doc """starts here"#).is_empty());
        assert!(written("    ex:m 1 ] ;").is_empty());
        assert!(written("ex:s ex:p [").is_empty());
        assert!(written("ex:s").is_empty());
    }
}
