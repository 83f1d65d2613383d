//! μ₃ Render: Tera 2 with ggen's filters turns each rule's rows into
//! (path, text) pairs. Nothing is written here.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tera::{Context, Tera, Value as TeraValue};

use crate::error::{Error, ErrorKind, Result};
use crate::extract::RuleRows;
use crate::inputs::{Inputs, Text, inline_text};
use crate::manifest::{ForEach, Manifest, Source};
use crate::sparql::Row;
use crate::templating::{Site, new_tera, tera_error};

/// One rendered output, before canonicalization.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Index of the rule in the manifest.
    pub rule: usize,
    /// The output path as the `output_file` template rendered it.
    pub path: String,
    /// The rendered text.
    pub text: String,
    /// Which row produced it (row mode), for error messages.
    pub row: Option<usize>,
}

/// The templates of a sync, parsed and ready to render.
pub struct Templates {
    tera: Tera,
    /// Template name → its text, to locate errors.
    texts: HashMap<String, Text>,
    /// Per rule index: (template name, output_file template name).
    names: BTreeMap<usize, (String, String)>,
    /// `[limits] output_bytes`.
    output_bytes: u64,
}

impl Templates {
    /// Reads and parses the templates of the `selected` rules and every
    /// `*.tera` file under `templates_dir` (for `include` and `extends`).
    pub fn load(manifest: &Manifest, inputs: &mut Inputs, selected: &[usize]) -> Result<Self> {
        let mut texts: HashMap<String, Text> = HashMap::new();
        let mut sources: Vec<(String, String)> = Vec::new();
        if let Some(dir) = &manifest.generation.templates_dir {
            for path in template_files(manifest, &dir.path, &dir.span)? {
                let file = crate::manifest::FileRef {
                    path: path.clone(),
                    span: dir.span.clone(),
                };
                let text = inputs.file(manifest, &file, ErrorKind::Template)?;
                sources.push((path.clone(), text.body.clone()));
                texts.insert(path, text);
            }
        }
        let mut names = BTreeMap::new();
        for &i in selected {
            let rule = &manifest.generation.rules[i];
            let name = match &rule.template {
                Source::File(file) => file.path.clone(),
                Source::Builtin(builtin) => builtin.name(),
                Source::Text { shown, .. } => shown.clone(),
                Source::Inline { .. } => {
                    format!("{} (rule `{}` template)", manifest.file_name(), rule.name)
                }
            };
            if !texts.contains_key(&name) {
                let text = inputs.source(manifest, &rule.template, ErrorKind::Template)?;
                // A copied file is not a template: Tera never parses it.
                if !rule.copy {
                    sources.push((name.clone(), text.body.clone()));
                }
                texts.insert(name.clone(), text);
            }
            let path_name = format!(
                "{} (rule `{}` output_file)",
                manifest.file_name(),
                rule.name
            );
            let path_text = inline_text(manifest, &rule.output_file, &rule.output_file_span);
            sources.push((path_name.clone(), rule.output_file.clone()));
            texts.insert(path_name.clone(), path_text);
            names.insert(i, (name, path_name));
        }
        let mut tera = new_tera();
        let templates = Templates {
            tera: Tera::new(),
            texts,
            names,
            output_bytes: manifest.limits.output_bytes.get(),
        };
        tera.add_raw_templates(sources)
            .map_err(|e| tera_error(&templates.texts, &e, None))?;
        Ok(Templates { tera, ..templates })
    }

    /// Renders the selected rules with their rows.
    pub fn render(
        &self,
        manifest: &Manifest,
        selected: &[usize],
        rows: &[RuleRows],
    ) -> Result<Vec<Rendered>> {
        let project = TeraValue::from_serializable(&manifest.project);
        let mut values: HashMap<*const Vec<Row>, TeraValue> = HashMap::new();
        let mut value_of = |rows: &Arc<Vec<Row>>| {
            values
                .entry(Arc::as_ptr(rows))
                .or_insert_with(|| TeraValue::from_serializable(&**rows))
                .clone()
        };
        let limits = &manifest.limits;
        let mut out: Vec<Rendered> = Vec::new();
        let mut total: u64 = 0;
        for (&i, data) in selected.iter().zip(rows) {
            let rule = &manifest.generation.rules[i];
            let _guard = crate::watchdog::watch(
                ErrorKind::Template,
                format!("rendering rule `{}`", rule.name),
                limits.memory_mb.get(),
                Some(crate::watchdog::Deadline {
                    after: Duration::from_secs(limits.render_seconds.get()),
                    key: "render_seconds",
                    help: "look for nested loops that never end or grow without end",
                }),
            );
            let before = out.len();
            let (template, path_template) = &self.names[&i];
            let mut base = Context::new();
            for (name, rows) in &data.named {
                base.insert_value(name.clone(), value_of(rows));
            }
            base.insert_value("project", project.clone());
            base.insert_value("rows", value_of(&data.rows));
            match rule.for_each {
                ForEach::Query => {
                    if rule.skip_empty && data.rows.is_empty() {
                        continue;
                    }
                    out.push(self.render_one(
                        (i, rule.copy, &rule.name),
                        template,
                        path_template,
                        &base,
                        None,
                    )?);
                }
                ForEach::Row => {
                    let row_values = value_of(&data.rows);
                    let row_values = row_values.as_array().unwrap_or_default();
                    for (k, (row, value)) in data.rows.iter().zip(row_values).enumerate() {
                        let mut context = Context::new();
                        for (column, v) in row {
                            context.insert(column.clone(), v);
                        }
                        context.extend(base.clone());
                        context.insert_value("row", value.clone());
                        out.push(self.render_one(
                            (i, rule.copy, &rule.name),
                            template,
                            path_template,
                            &context,
                            Some(k),
                        )?);
                    }
                }
            }
            total += out[before..]
                .iter()
                .map(|r| r.text.len() as u64)
                .sum::<u64>();
            if total > limits.total_bytes.get() {
                return Err(Error::new(
                    ErrorKind::Template,
                    format!(
                        "the outputs of the sync, up to rule `{}`, hold more than {} bytes (`total_bytes` under `[limits]`)",
                        rule.name,
                        limits.total_bytes.get()
                    ),
                )
                .with_help("if the outputs are meant to be this large, raise `total_bytes` under `[limits]` in the manifest"));
            }
        }
        Ok(out)
    }

    fn render_one(
        &self,
        (rule, copy, name): (usize, bool, &str),
        template: &str,
        path_template: &str,
        context: &Context,
        row: Option<usize>,
    ) -> Result<Rendered> {
        let site = Some(Site { rule: name, row });
        let text = match self.texts.get(template) {
            Some(text) if copy => text.body.clone(),
            _ => {
                let mut capped = Capped {
                    text: Vec::new(),
                    limit: self.output_bytes,
                    over: false,
                };
                match self.tera.render_to(template, context, &mut capped) {
                    Ok(()) => String::from_utf8(capped.text).map_err(|e| {
                        Error::new(
                            ErrorKind::Template,
                            format!("rule `{name}` rendered invalid UTF-8: {e}"),
                        )
                    })?,
                    Err(_) if capped.over => {
                        let row = row.map_or(String::new(), |k| format!(" (row {})", k + 1));
                        return Err(Error::new(
                            ErrorKind::Template,
                            format!(
                                "an output of rule `{name}`{row} grows past {} bytes (`output_bytes` under `[limits]`)",
                                capped.limit
                            ),
                        )
                        .with_help("look for loops that never end or grow without end; if the output is meant to be this large, raise `output_bytes` under `[limits]` in the manifest"));
                    }
                    Err(e) => return Err(tera_error(&self.texts, &e, site)),
                }
            }
        };
        let path = self
            .tera
            .render(path_template, context)
            .map_err(|e| tera_error(&self.texts, &e, site))?;
        Ok(Rendered {
            rule,
            path: path.trim().to_string(),
            text,
            row,
        })
    }
}

/// A rendered text that refuses to grow past `limit` bytes.
struct Capped {
    text: Vec<u8>,
    limit: u64,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if (self.text.len() + bytes.len()) as u64 > self.limit {
            self.over = true;
            return Err(std::io::Error::other("output too large"));
        }
        self.text.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every `*.tera` file under `dir`, manifest-relative, sorted.
pub(crate) fn template_files(
    manifest: &Manifest,
    dir: &str,
    span: &Range<usize>,
) -> Result<Vec<String>> {
    let root = manifest.resolve(dir);
    if !root.is_dir() {
        return Err(Error::at(
            ErrorKind::Manifest,
            manifest.location(span),
            format!("templates_dir `{}` is not a folder", manifest.shown(dir)),
        ));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            Error::new(
                ErrorKind::Template,
                format!("cannot list {}: {e}", manifest.shown(dir)),
            )
        })?;
        if entry.file_type().is_file() && entry.file_name().to_string_lossy().ends_with(".tera") {
            let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
            let rel = rel.to_string_lossy().replace('\\', "/");
            files.push(crate::paths::join(dir, &rel));
        }
    }
    Ok(files)
}
