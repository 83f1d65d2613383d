//! Name conversions shared by the Tera filters (μ₃) and the SPARQL functions
//! under `http://ggen.dev/fn#` (μ₁, μ₂): case conversions, IRI local names,
//! Erlang atoms and Rust identifiers.

use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// A name conversion.
pub type Conversion = fn(&str) -> String;

/// The conversions, by the name templates and queries use for them.
pub const CONVERSIONS: &[(&str, Conversion)] = &[
    ("snake_case", snake_case),
    ("pascal_case", pascal_case),
    ("camel_case", camel_case),
    ("kebab_case", kebab_case),
    ("shouty_snake_case", shouty_snake_case),
    ("local_name", local_name),
    ("erlang_atom", erlang_atom),
    ("rust_ident", rust_ident),
];

/// `emailPool` → `email_pool`.
pub fn snake_case(s: &str) -> String {
    s.to_snake_case()
}

/// `email_pool` → `EmailPool`.
pub fn pascal_case(s: &str) -> String {
    s.to_upper_camel_case()
}

/// `email_pool` → `emailPool`.
pub fn camel_case(s: &str) -> String {
    s.to_lower_camel_case()
}

/// `emailPool` → `email-pool`.
pub fn kebab_case(s: &str) -> String {
    s.to_kebab_case()
}

/// `emailPool` → `EMAIL_POOL`.
pub fn shouty_snake_case(s: &str) -> String {
    s.to_shouty_snake_case()
}

/// The part of an IRI after its last `#`, else its last `/`, else its last `:`.
/// `http://ex.org/app#emailPool` → `emailPool`.
pub fn local_name(iri: &str) -> String {
    let cut = iri
        .rfind('#')
        .or_else(|| iri.rfind('/'))
        .or_else(|| iri.rfind(':'));
    match cut {
        Some(i) => iri[i + 1..].to_string(),
        None => iri.to_string(),
    }
}

const ERLANG_RESERVED: &[&str] = &[
    "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case",
    "catch", "cond", "div", "else", "end", "fun", "if", "let", "maybe", "not", "of", "or",
    "orelse", "receive", "rem", "try", "when", "xor",
];

/// The string as Erlang atom syntax: bare when it can be (`normal`), quoted
/// otherwise (`'high-prio'`, `'Email'`, `'end'`).
pub fn erlang_atom(s: &str) -> String {
    let mut chars = s.chars();
    let bare = matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '@')
        && !ERLANG_RESERVED.contains(&s);
    if bare {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where",
    "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Crates every Rust program can name, which a crate must not be called.
const RUST_BUILTIN_CRATES: &[&str] = &[
    "core",
    "std",
    "alloc",
    "test",
    "proc_macro",
    "self",
    "super",
    "crate",
];

/// Whether `name` is an Erlang reserved word, a Rust keyword or a built-in
/// crate name: unusable as an application and crate name.
pub fn is_reserved(name: &str) -> bool {
    ERLANG_RESERVED.contains(&name)
        || RUST_KEYWORDS.contains(&name)
        || RUST_BUILTIN_CRATES.contains(&name)
}

/// The string as a Rust identifier: snake_case, `r#` before keywords, `_`
/// before a leading digit (`type` → `r#type`, `self` → `self_`).
pub fn rust_ident(s: &str) -> String {
    let snake = s.to_snake_case();
    let snake = if snake.is_empty() {
        "_".to_string()
    } else {
        snake
    };
    if ["self", "super", "crate"].contains(&snake.as_str()) {
        format!("{snake}_")
    } else if RUST_KEYWORDS.contains(&snake.as_str()) {
        format!("r#{snake}")
    } else if snake.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{snake}")
    } else {
        snake
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(snake_case("emailPool"), "email_pool");
        assert_eq!(snake_case("jobWorkerPool"), "job_worker_pool");
        assert_eq!(pascal_case("email_pool"), "EmailPool");
        assert_eq!(camel_case("email_pool"), "emailPool");
        assert_eq!(kebab_case("emailPool"), "email-pool");
        assert_eq!(shouty_snake_case("emailPool"), "EMAIL_POOL");
    }

    #[test]
    fn local_names() {
        assert_eq!(local_name("http://ex.org/app#emailPool"), "emailPool");
        assert_eq!(local_name("http://ex.org/app/emailPool"), "emailPool");
        assert_eq!(local_name("urn:x:emailPool"), "emailPool");
        assert_eq!(local_name("plain"), "plain");
    }

    #[test]
    fn erlang_atoms() {
        assert_eq!(erlang_atom("normal"), "normal");
        assert_eq!(erlang_atom("high_prio@2"), "high_prio@2");
        assert_eq!(erlang_atom("high-prio"), "'high-prio'");
        assert_eq!(erlang_atom("Email"), "'Email'");
        assert_eq!(erlang_atom("end"), "'end'");
        assert_eq!(erlang_atom("it's"), "'it\\'s'");
        assert_eq!(erlang_atom(""), "''");
    }

    #[test]
    fn rust_idents() {
        assert_eq!(rust_ident("emailPool"), "email_pool");
        assert_eq!(rust_ident("type"), "r#type");
        assert_eq!(rust_ident("self"), "self_");
        assert_eq!(rust_ident("2fast"), "_2fast");
    }
}
