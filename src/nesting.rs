//! How deeply a text nests its brackets: a cheap scan, run before a parser
//! that recurses on nesting (Turtle's `[ … ]` and `( … )`, SPARQL's groups
//! and expressions) and on a parsed query's S-expression, so that absurd
//! nesting is an error instead of a stack overflow.
//!
//! Strings (`"…"`, `'…'`, and their long `"""…"""` forms), IRIs (`<…>`
//! without spaces) and `#` comments are skipped, as the Turtle and SPARQL
//! lexers skip them.

/// The byte offset of the first opening bracket that nests deeper than
/// `limit`, if any.
pub fn too_deep(text: &str, limit: u64) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth: u64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            quote @ (b'"' | b'\'') => {
                i = skip_string(bytes, i, quote);
                continue;
            }
            b'<' => {
                let end = bytes[i + 1..]
                    .iter()
                    .position(|&b| b == b'>' || b.is_ascii_whitespace() || b == b'<');
                if let Some(end) = end.filter(|&e| bytes[i + 1 + e] == b'>') {
                    i += end + 2;
                    continue;
                }
            }
            b'#' => {
                let end = bytes[i..].iter().position(|&b| b == b'\n');
                i = end.map_or(bytes.len(), |e| i + e);
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The offset just past the string starting at `start`.
fn skip_string(bytes: &[u8], start: usize, quote: u8) -> usize {
    let long = bytes.get(start + 1) == Some(&quote) && bytes.get(start + 2) == Some(&quote);
    let mut i = start + if long { 3 } else { 1 };
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'\n' if !long => return i,
            b if b == quote => {
                if !long {
                    return i + 1;
                }
                if bytes.get(i + 1) == Some(&quote) && bytes.get(i + 2) == Some(&quote) {
                    return i + 3;
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::too_deep;

    #[test]
    fn brackets_nest_and_strings_iris_comments_do_not() {
        assert_eq!(too_deep("(( ))", 2), None);
        assert_eq!(too_deep("(( ( )))", 2), Some(3));
        assert_eq!(too_deep("[ ( { } ) ]", 2), Some(4));
        assert_eq!(
            too_deep(r#"( "((((" '((' """(( " ((""" <http://x/((((> ) "#, 1),
            None
        );
        assert_eq!(too_deep("( # ((((\n )", 1), None);
        assert_eq!(too_deep(r#"( "a\"((" )"#, 1), None);
        // `<` as an operator is not an IRI.
        assert_eq!(too_deep("(?a < (?b) > 1)", 1), Some(6));
    }

    #[test]
    fn ten_thousand_levels_are_found_without_recursion() {
        let deep = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(too_deep(&deep, 1_000), Some(1_000));
        assert_eq!(too_deep(&deep, 10_000), None);
    }
}
