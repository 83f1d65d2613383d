//! μ₅ The receipt: an in-toto Statement v1 carrying SLSA Provenance v1 that
//! names every output (subject) and every input (resolved dependency) by
//! SHA-256, and the graph by its RDFC-1.0 digest. Byte-deterministic: no
//! timestamps, no absolute paths, sorted names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::inputs::InputDigest;

/// The versions recorded in `runDetails.builder.version`.
pub const GGEN_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The oxigraph version ggen is built with (checked against Cargo.lock by a test).
pub const OXIGRAPH_VERSION: &str = "0.5.13";
/// The tera version ggen is built with (checked against Cargo.lock by a test).
pub const TERA_VERSION: &str = "2.4.0";

/// `.ggen/receipt.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// Always `https://in-toto.io/Statement/v1`.
    #[serde(rename = "_type")]
    pub type_: String,
    /// Every output, sorted by name.
    pub subject: Vec<Subject>,
    /// Always `https://slsa.dev/provenance/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance.
    pub predicate: Predicate,
}

/// An output file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    /// Path relative to the manifest folder.
    pub name: String,
    /// `{"sha256": …}`.
    pub digest: Digest,
    /// `{"rule": …}`: the generation rule that produced it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Annotations>,
}

/// A digest set with the one algorithm ggen uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Subject annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotations {
    /// The rule that produced the subject.
    pub rule: String,
}

/// SLSA Provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Predicate {
    /// What was built from what.
    pub build_definition: BuildDefinition,
    /// Who built it.
    pub run_details: RunDetails,
}

/// SLSA `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// Always `https://ggen.dev/sync/v1`.
    pub build_type: String,
    /// The manifest and the rules.
    pub external_parameters: ExternalParameters,
    /// The normalized graph.
    pub internal_parameters: InternalParameters,
    /// Every input, sorted by name.
    pub resolved_dependencies: Vec<Dependency>,
}

/// `externalParameters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalParameters {
    /// The manifest's file name.
    pub manifest: String,
    /// The generation rules, in manifest order.
    pub rules: Vec<String>,
}

/// `internalParameters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InternalParameters {
    /// The graph after μ₁.
    pub graph: GraphDigest,
}

/// The graph's canonical digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GraphDigest {
    /// Always `RDFC-1.0`.
    pub canonicalization: String,
    /// SHA-256 of the canonical N-Quads.
    pub digest: Digest,
    /// Number of quads.
    pub quads: usize,
}

/// An input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// Path relative to the manifest folder; for a file of a built-in
    /// target, `ggen:<target>/<path>`.
    pub name: String,
    /// Its digest.
    pub digest: Digest,
    /// For a file of a built-in target: the target and its version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<TargetAnnotations>,
}

/// Which built-in target a dependency belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetAnnotations {
    /// The target's name.
    pub target: String,
    /// Its version: the version of the ggen that carries it.
    pub version: String,
}

/// SLSA `runDetails`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunDetails {
    /// The builder.
    pub builder: Builder,
}

/// SLSA `builder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Builder {
    /// Always `https://ggen.dev/cli`.
    pub id: String,
    /// Tool versions.
    pub version: BTreeMap<String, String>,
}

impl Statement {
    /// A statement for the given outputs (path → (sha256, rule)) and inputs (path → sha256).
    pub fn new(
        manifest: String,
        rules: Vec<String>,
        graph_digest: String,
        quads: usize,
        outputs: &BTreeMap<String, (String, String)>,
        inputs: &BTreeMap<String, InputDigest>,
    ) -> Self {
        let subject = outputs
            .iter()
            .map(|(name, (sha256, rule))| Subject {
                name: name.clone(),
                digest: Digest {
                    sha256: sha256.clone(),
                },
                annotations: Some(Annotations { rule: rule.clone() }),
            })
            .collect();
        let resolved_dependencies = inputs
            .iter()
            .map(|(name, input)| Dependency {
                name: name.clone(),
                digest: Digest {
                    sha256: input.sha256.clone(),
                },
                annotations: input.target.as_ref().map(|target| TargetAnnotations {
                    target: target.clone(),
                    version: GGEN_VERSION.to_string(),
                }),
            })
            .collect();
        let version = [
            ("ggen", GGEN_VERSION),
            ("oxigraph", OXIGRAPH_VERSION),
            ("tera", TERA_VERSION),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        Statement {
            type_: "https://in-toto.io/Statement/v1".into(),
            subject,
            predicate_type: "https://slsa.dev/provenance/v1".into(),
            predicate: Predicate {
                build_definition: BuildDefinition {
                    build_type: "https://ggen.dev/sync/v1".into(),
                    external_parameters: ExternalParameters { manifest, rules },
                    internal_parameters: InternalParameters {
                        graph: GraphDigest {
                            canonicalization: "RDFC-1.0".into(),
                            digest: Digest {
                                sha256: graph_digest,
                            },
                            quads,
                        },
                    },
                    resolved_dependencies,
                },
                run_details: RunDetails {
                    builder: Builder {
                        id: "https://ggen.dev/cli".into(),
                        version,
                    },
                },
            },
        }
    }

    /// The receipt file's bytes: pretty JSON, two-space indent, final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a receipt always serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Parses receipt bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Output path → (sha256, rule).
    pub fn outputs(&self) -> BTreeMap<String, (String, Option<String>)> {
        self.subject
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    (
                        s.digest.sha256.clone(),
                        s.annotations.as_ref().map(|a| a.rule.clone()),
                    ),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_match_cargo_lock() {
        let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
            .expect("Cargo.lock is committed");
        for (name, version) in [("oxigraph", OXIGRAPH_VERSION), ("tera", TERA_VERSION)] {
            let entry = format!("name = \"{name}\"\nversion = \"{version}\"");
            assert!(lock.contains(&entry), "Cargo.lock has no {name} {version}");
        }
    }

    #[test]
    fn round_trips_and_is_sorted() {
        let mut outputs = BTreeMap::new();
        outputs.insert("src/b.erl".to_string(), ("bb".to_string(), "r".to_string()));
        outputs.insert("src/a.erl".to_string(), ("aa".to_string(), "r".to_string()));
        let mut inputs = BTreeMap::new();
        inputs.insert(
            "ggen.toml".to_string(),
            InputDigest {
                sha256: "00".to_string(),
                target: None,
            },
        );
        let s = Statement::new(
            "ggen.toml".into(),
            vec!["r".into()],
            "ff".into(),
            3,
            &outputs,
            &inputs,
        );
        assert_eq!(s.subject[0].name, "src/a.erl");
        let bytes = s.to_bytes();
        assert_eq!(Statement::parse(&bytes).unwrap(), s);
        assert!(bytes.ends_with(b"}\n"));
    }
}
