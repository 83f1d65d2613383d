//! The receipt's fixed fields, read from its JSON before it is parsed as a
//! [`Statement`](crate::receipt::Statement): the statement and predicate
//! types, the build type, the builder, the graph's canonicalization and
//! every digest's algorithm. A receipt whose digests were renamed to
//! another algorithm does not parse; reading the JSON first lets `verify`
//! name what is wrong instead of failing on the first field serde misses.

use serde_json::Value;

/// The fields every ggen receipt holds with these exact values, by JSON
/// pointer.
const FIXED: [(&str, &str); 5] = [
    ("/_type", "https://in-toto.io/Statement/v1"),
    ("/predicateType", "https://slsa.dev/provenance/v1"),
    (
        "/predicate/buildDefinition/buildType",
        "https://ggen.dev/sync/v1",
    ),
    ("/predicate/runDetails/builder/id", "https://ggen.dev/cli"),
    (
        "/predicate/buildDefinition/internalParameters/graph/canonicalization",
        "RDFC-1.0",
    ),
];

/// Every way the receipt's fixed fields differ from what ggen writes, one
/// sentence each, in a fixed order.
pub fn problems(receipt: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (pointer, expected) in FIXED {
        match receipt.pointer(pointer) {
            Some(Value::String(s)) if s == expected => {}
            Some(found) => problems.push(format!("{pointer} is {found}, not \"{expected}\"")),
            None => problems.push(format!("{pointer} is missing (ggen writes \"{expected}\")")),
        }
    }
    let lists = [
        "/subject",
        "/predicate/buildDefinition/resolvedDependencies",
    ];
    let mut digests = vec![(
        "/predicate/buildDefinition/internalParameters/graph/digest".to_string(),
        receipt.pointer("/predicate/buildDefinition/internalParameters/graph/digest"),
    )];
    for list in lists {
        match receipt.pointer(list) {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    digests.push((format!("{list}/{i}/digest"), item.get("digest")));
                }
            }
            Some(other) => problems.push(format!("{list} is {}, not a list", kind(other))),
            None => problems.push(format!("{list} is missing")),
        }
    }
    for (pointer, digest) in digests {
        if let Some(problem) = digest_problem(digest) {
            problems.push(format!("{pointer} {problem}"));
        }
    }
    problems
}

/// Why `digest` is not `{"sha256": "<64 lowercase hex digits>"}`.
fn digest_problem(digest: Option<&Value>) -> Option<String> {
    let Some(digest) = digest else {
        return Some("is missing".into());
    };
    let Value::Object(map) = digest else {
        return Some(format!("is {}, not a digest set", kind(digest)));
    };
    let other: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "sha256")
        .collect();
    if !other.is_empty() {
        return Some(format!(
            "names the algorithm {}: ggen records sha256 only",
            other.join(", ")
        ));
    }
    match map.get("sha256") {
        None => Some("has no sha256".into()),
        Some(Value::String(hex))
            if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
        {
            None
        }
        Some(other) => Some(format!("has sha256 {other}, not 64 lowercase hex digits")),
    }
}

/// A JSON value's kind, for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn receipt() -> Value {
        let digest = json!({ "sha256": "a".repeat(64) });
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{ "name": "out/a.txt", "digest": digest }],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://ggen.dev/sync/v1",
                    "internalParameters": { "graph": { "canonicalization": "RDFC-1.0", "digest": digest } },
                    "resolvedDependencies": [{ "name": "ggen.toml", "digest": digest }],
                },
                "runDetails": { "builder": { "id": "https://ggen.dev/cli" } },
            },
        })
    }

    #[test]
    fn a_receipt_as_ggen_writes_it_has_no_problem() {
        assert_eq!(problems(&receipt()), Vec::<String>::new());
    }

    #[test]
    fn each_changed_field_is_named() {
        let mut r = receipt();
        r["_type"] = json!("https://in-toto.io/Statement/v0.1");
        r["subject"][0]["digest"] = json!({ "sha512": "a".repeat(64) });
        r["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["sha256"] =
            json!("ABC");
        assert_eq!(
            problems(&r),
            [
                "/_type is \"https://in-toto.io/Statement/v0.1\", not \"https://in-toto.io/Statement/v1\"",
                "/subject/0/digest names the algorithm sha512: ggen records sha256 only",
                "/predicate/buildDefinition/resolvedDependencies/0/digest has sha256 \"ABC\", not 64 lowercase hex digits",
            ]
        );
    }
}
