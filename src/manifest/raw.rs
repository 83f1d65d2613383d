//! The manifest exactly as TOML says it: serde structs that reject unknown
//! keys, with spans kept for error positions.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use toml::Spanned;

use super::ForEach;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub(super) project: RawProject,
    pub(super) ontology: RawOntology,
    #[serde(default)]
    pub(super) inference: Option<RawInference>,
    #[serde(default)]
    pub(super) validation: Option<RawValidation>,
    #[serde(default)]
    pub(super) generation: Option<RawGeneration>,
    #[serde(default)]
    pub(super) targets: Vec<RawTarget>,
    #[serde(default)]
    pub(super) receipt: Option<RawReceipt>,
    #[serde(default)]
    pub(super) entities: Vec<RawEntity>,
    #[serde(default)]
    pub(super) limits: super::Limits,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReceipt {
    pub(super) sign_key: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntity {
    pub(super) kind: Spanned<String>,
    pub(super) query: Spanned<RawSource>,
    pub(super) key: String,
    pub(super) removed: Option<String>,
    #[serde(default)]
    pub(super) api: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) references: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub(super) name: Spanned<String>,
    pub(super) output_dir: Option<Spanned<String>>,
    pub(super) path: Option<Spanned<String>>,
    #[serde(default = "yes")]
    pub(super) header: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProject {
    pub(super) name: Spanned<String>,
    pub(super) version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOntology {
    pub(super) source: Spanned<OneOrMany>,
    #[serde(default)]
    pub(super) imports: Vec<Spanned<String>>,
    pub(super) base_iri: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) prefixes: BTreeMap<String, Spanned<String>>,
}

/// `source = "a.ttl"` or `source = ["a.ttl", "b.ttl"]`.
pub(super) struct OneOrMany(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a path or a list of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut paths = Vec::new();
                while let Some(p) = seq.next_element::<String>()? {
                    paths.push(p);
                }
                Ok(OneOrMany(paths))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInference {
    #[serde(default)]
    pub(super) rules: Vec<RawInferenceRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInferenceRule {
    pub(super) name: Spanned<String>,
    pub(super) construct: Spanned<RawSource>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawValidation {
    #[serde(default)]
    pub(super) rules: Vec<RawValidationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawValidationRule {
    pub(super) name: Spanned<String>,
    pub(super) query: Spanned<RawSource>,
    pub(super) message: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGeneration {
    pub(super) output_dir: Option<Spanned<String>>,
    pub(super) templates_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) rules: Vec<RawGenerationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGenerationRule {
    pub(super) name: Spanned<String>,
    pub(super) query: Spanned<RawSource>,
    #[serde(default)]
    pub(super) queries: BTreeMap<String, Spanned<RawSource>>,
    pub(super) template: Spanned<RawSource>,
    pub(super) output_file: Spanned<String>,
    #[serde(default = "default_for_each")]
    pub(super) for_each: ForEach,
    #[serde(default)]
    pub(super) skip_empty: bool,
    #[serde(default = "yes")]
    pub(super) header: bool,
}

fn yes() -> bool {
    true
}

fn default_for_each() -> ForEach {
    ForEach::Query
}

/// A string (inline text), `{ file = "…" }` or `{ inline = "…" }`.
pub(super) enum RawSource {
    Inline(String),
    File(Spanned<String>),
}

impl<'de> Deserialize<'de> for RawSource {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SourceVisitor;
        impl<'de> Visitor<'de> for SourceVisitor {
            type Value = RawSource;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, { file = \"…\" } or { inline = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSource, E> {
                Ok(RawSource::Inline(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSource, A::Error> {
                const KEYS: &[&str] = &["file", "inline"];
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value = match key.as_str() {
                        "file" => RawSource::File(map.next_value()?),
                        "inline" => RawSource::Inline(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, KEYS)),
                    };
                    if found.replace(value).is_some() {
                        return Err(de::Error::custom(
                            "give either `file` or `inline`, not both",
                        ));
                    }
                }
                found
                    .ok_or_else(|| de::Error::custom("expected `file = \"…\"` or `inline = \"…\"`"))
            }
        }
        deserializer.deserialize_any(SourceVisitor)
    }
}
