//! Mutations: a hand-written xorshift generator (five lines; `rand` is not a
//! dependency and nothing here needs a cryptographic or statistically
//! strong source) and byte-level mutations of corpus files: bit flips,
//! interesting bytes, deletions, duplications, truncations, splices from
//! another corpus file of the same kind and insertions of the kind's tokens.

/// xorshift64*: deterministic from its seed, never zero.
pub struct Rng(u64);

impl Rng {
    /// A generator for input `index` of `kind` under `seed`: each input's
    /// mutations depend only on these three, so an input can be replayed.
    pub fn for_input(seed: u64, kind: &str, index: u64) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in kind.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        let mixed = seed ^ h ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut rng = Rng(mixed | 1);
        for _ in 0..4 {
            rng.next();
        }
        rng
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Tokens worth inserting into inputs of `kind`: the syntax's delimiters and
/// keywords, where nesting, quoting and repetition bugs live.
pub fn tokens(kind: &str) -> &'static [&'static str] {
    match kind {
        "turtle" => &[
            "[",
            "]",
            "(",
            ")",
            "<",
            ">",
            "\"",
            "\"\"\"",
            "'''",
            ";",
            ",",
            ".",
            "_:b0",
            "_:b1 ",
            "^^xsd:integer",
            "@en",
            "@prefix p: <http://x/> .",
            "@base <x:/> .",
            "a",
            "p:",
            "#",
            "\\u0000",
            "\\U0010FFFF",
            "1e999999",
            "-0.0",
            "<<",
            ">>",
            "\n",
            "{",
            "}",
        ],
        "manifest" => &[
            "[",
            "]",
            "{",
            "}",
            "=",
            "\"",
            "'''",
            "\"\"\"",
            ",",
            "\n",
            "#",
            "[[generation.rules]]",
            "[[targets]]",
            "[ontology]",
            "[inference]",
            "[[inference.rules]]",
            "[[validation.rules]]",
            "name = \"x\"",
            "inline = \"\"",
            "file = \"../x\"",
            "output_file = \"{{ name }}\"",
            "for_each = \"row\"",
            "query = ",
            "template = ",
            "1e400",
            "-1",
            "true",
            "\\u0000",
        ],
        "query" => &[
            "{",
            "}",
            "(",
            ")",
            "[",
            "]",
            "?x",
            "?x ",
            "*",
            " UNION ",
            " OPTIONAL ",
            " FILTER",
            " MINUS ",
            " BIND(",
            " VALUES ?x { 1 }",
            " SERVICE <x:s> ",
            " GRAPH ?g ",
            "SELECT",
            "CONSTRUCT",
            "ASK",
            "DESCRIBE",
            " ORDER BY ",
            " GROUP BY ",
            "COUNT(",
            "/",
            "|",
            "^",
            "+",
            "!",
            "\"",
            "'",
            "<<",
            ">>",
            ".",
            ";",
            ",",
            "ggen:snake_case(",
            "1e999",
        ],
        _ => &[
            "{{",
            "}}",
            "{%",
            "%}",
            "{#",
            "#}",
            "{%-",
            "-%}",
            "{% for x in y %}",
            "{% endfor %}",
            "{% if x %}",
            "{% endif %}",
            "{% else %}",
            "{% set x = 1 %}",
            "{% macro m() %}",
            "{% endmacro %}",
            "{% include \"t\" %}",
            "{% block b %}",
            "{% endblock %}",
            "|",
            "| snake_case",
            "| upper",
            "(",
            ")",
            "[",
            "]",
            "\"",
            "~",
            "loop.index",
            "name",
            "range(end=3)",
            " is defined",
            "{% raw %}",
            "{% endraw %}",
        ],
    }
}

/// Brackets of `kind` that nest.
fn nesting(kind: &str) -> &'static [(&'static str, &'static str)] {
    match kind {
        "turtle" => &[("[ <x:p> ", " ]"), ("( ", " )"), ("<< ", " >>")],
        "manifest" => &[("[", "]"), ("{ a = ", " }")],
        "query" => &[
            ("(", ")"),
            ("{ ", " }"),
            ("{ ", " } UNION { }"),
            ("!(", ")"),
        ],
        _ => &[
            ("{% if x %}", "{% endif %}"),
            ("(", ")"),
            ("{% for a in b %}", "{% endfor %}"),
        ],
    }
}

/// Mutates `base` (a corpus file) with one to three stacked mutations (one
/// input in four: up to eight; more mutations mostly make inputs every
/// front end rejects at its first byte);
/// `others` are the kind's corpus files, for splices.
pub fn mutate(rng: &mut Rng, kind: &str, base: &[u8], others: &[Vec<u8>]) -> Vec<u8> {
    let mut data = base.to_vec();
    let rounds = 1 + if rng.below(4) == 0 {
        rng.below(8)
    } else {
        rng.below(3)
    };
    for _ in 0..rounds {
        let len = data.len();
        match rng.below(9) {
            0 if len > 0 => {
                let at = rng.below(len);
                data[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                const INTERESTING: &[u8] = b"\0\n\r\t \"'\\{}[]()<>#;.,:@_?$%\x7f\xff\xc3\xe2";
                let at = rng.below(len);
                data[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                data.drain(at..at + n);
            }
            3 if len > 0 => {
                // Duplicate a chunk, sometimes many times (nesting, repetition).
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(256));
                let chunk = data[at..at + n].to_vec();
                let times = if rng.below(4) == 0 {
                    1 + rng.below(64)
                } else {
                    1
                };
                let to = rng.below(len + 1);
                let copies: Vec<u8> = chunk.iter().copied().cycle().take(n * times).collect();
                data.splice(to..to, copies);
            }
            4 if len > 0 => {
                data.truncate(rng.below(len));
            }
            5 if !others.is_empty() => {
                let other = &others[rng.below(others.len())];
                if !other.is_empty() {
                    let from = rng.below(other.len());
                    let n = 1 + rng.below((other.len() - from).min(512));
                    let to = rng.below(len + 1);
                    let end = (to + rng.below(64)).min(len);
                    data.splice(to..end, other[from..from + n].iter().copied());
                }
            }
            6 => {
                // Nest: openers at one place, as many closers later on,
                // mostly a few, one time in sixteen thousands.
                let pairs = nesting(kind);
                let (open, close) = pairs[rng.below(pairs.len())];
                let depth = if rng.below(16) == 0 {
                    1 + rng.below(20_000)
                } else {
                    1 + rng.below(16)
                };
                let from = rng.below(len + 1);
                let to = from + rng.below(len - from + 1);
                data.splice(to..to, close.repeat(depth).into_bytes());
                data.splice(from..from, open.repeat(depth).into_bytes());
            }
            _ => {
                let list = tokens(kind);
                let token = list[rng.below(list.len())].as_bytes();
                let times = if rng.below(8) == 0 {
                    1 + rng.below(200)
                } else {
                    1
                };
                let to = rng.below(len + 1);
                let copies: Vec<u8> = token
                    .iter()
                    .copied()
                    .cycle()
                    .take(token.len() * times)
                    .collect();
                data.splice(to..to, copies);
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_input() {
        let others = vec![b"@prefix a: <x:> .".to_vec()];
        let base = b"<x:a> <x:b> \"c\" .";
        let one = mutate(&mut Rng::for_input(7, "turtle", 3), "turtle", base, &others);
        let two = mutate(&mut Rng::for_input(7, "turtle", 3), "turtle", base, &others);
        assert_eq!(one, two);
        let differ = (0..20)
            .map(|i| mutate(&mut Rng::for_input(7, "turtle", i), "turtle", base, &others))
            .filter(|m| m.as_slice() != base)
            .count();
        assert!(
            differ > 10,
            "only {differ} of 20 inputs differ from their base"
        );
    }
}
