//! ggen turns an RDF ontology into working source code in five stages:
//!
//! manifest → μ₁ [`normalize`] (graph) → μ₂ [`extract`] (rows) →
//! μ₃ [`render`] (texts) → μ₄ [`canonical`] (outputs) → μ₅ [`receipt`]
//!
//! [`plan`] runs them into a [`plan::Plan`] without touching the disk;
//! [`write`] applies a plan, [`check`] compares one with the disk, [`diff`]
//! compares two versions of a project, and [`commands`] puts a command line
//! around them.

pub mod canonical;
pub mod check;
pub mod commands;
pub mod diff;
pub mod dsse;
pub mod error;
pub mod extract;
pub mod ggen_dir;
pub mod header;
pub mod init;
pub mod inputs;
pub mod keys;
pub mod manifest;
pub mod names;
pub mod nesting;
pub mod normalize;
pub mod paths;
pub mod plan;
pub mod receipt;
pub mod render;
pub mod shacl;
pub mod sparql;
pub mod targets;
pub mod templating;
pub mod watch;
pub mod watchdog;
pub mod write;

#[cfg(test)]
mod layering;
