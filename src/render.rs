//! μ₃ Render: Tera 2 with ggen's filters turns each rule's rows into
//! (path, text) pairs. Nothing is written here.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use tera::{Context, ErrorKind as TeraErrorKind, Kwargs, State, Tera, Value as TeraValue};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::extract::{Row, RuleRows};
use crate::inputs::{Inputs, Text};
use crate::manifest::{ForEach, Manifest, Source, ValidationRule};
use crate::names;

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

/// A Tera instance holding ggen's filters and no autoescaping.
pub fn new_tera() -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    for &(name, convert) in names::CONVERSIONS {
        tera.register_filter(name, move |s: &str, _: Kwargs, _: &State| convert(s));
    }
    tera
}

/// The templates of a sync, parsed and ready to render.
pub struct Templates {
    tera: Tera,
    /// Template name → its text, to locate errors.
    texts: HashMap<String, Text>,
    /// Per rule index: (template name, output_file template name).
    names: BTreeMap<usize, (String, String)>,
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
                Source::Inline { .. } => {
                    format!("{} (rule `{}` template)", manifest.file_name(), rule.name)
                }
            };
            if !texts.contains_key(&name) {
                let text = inputs.source(manifest, &rule.template, ErrorKind::Template)?;
                sources.push((name.clone(), text.body.clone()));
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
        };
        tera.add_raw_templates(sources)
            .map_err(|e| templates.tera_error(&e, None))?;
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
        let mut out = Vec::new();
        for (&i, data) in selected.iter().zip(rows) {
            let rule = &manifest.generation.rules[i];
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
                    out.push(self.render_one(i, template, path_template, &base, None)?);
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
                        out.push(self.render_one(i, template, path_template, &context, Some(k))?);
                    }
                }
            }
        }
        Ok(out)
    }

    fn render_one(
        &self,
        rule: usize,
        template: &str,
        path_template: &str,
        context: &Context,
        row: Option<usize>,
    ) -> Result<Rendered> {
        let text = self
            .tera
            .render(template, context)
            .map_err(|e| self.tera_error(&e, row))?;
        let path = self
            .tera
            .render(path_template, context)
            .map_err(|e| self.tera_error(&e, row))?;
        Ok(Rendered {
            rule,
            path: path.trim().to_string(),
            text,
            row,
        })
    }

    /// A Tera error as a ggen error at the template's file, line and column.
    fn tera_error(&self, e: &tera::Error, row: Option<usize>) -> Error {
        let row_note = row.map(|k| format!(" (row {})", k + 1)).unwrap_or_default();
        match e.kind() {
            TeraErrorKind::SyntaxError(report) | TeraErrorKind::RenderingError(report) => {
                let message = format!(
                    "template error: {}{row_note}",
                    report.message().trim_end_matches('.')
                );
                let span = report.span();
                match self.texts.get(report.filename()) {
                    Some(text) => {
                        let width = if span.end_line == span.start_line {
                            span.end_col.saturating_sub(span.start_col).max(1)
                        } else {
                            1
                        };
                        let mut err = text.error_at(
                            ErrorKind::Template,
                            span.start_line,
                            span.start_col + 1,
                            message,
                        );
                        if let Some(loc) = err.diagnostics[0].location.take() {
                            let loc = if text.is_inline() {
                                loc
                            } else {
                                loc.with_width(width.min(60))
                            };
                            err = err.with_location(loc);
                        }
                        err
                    }
                    None => Error::at(
                        ErrorKind::Template,
                        Location::file(report.filename()),
                        message,
                    ),
                }
            }
            _ => {
                let mut message = e.to_string();
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    message = format!("{message}: {s}");
                    source = s.source();
                }
                Error::new(
                    ErrorKind::Template,
                    format!("template error: {message}{row_note}"),
                )
            }
        }
    }
}

fn inline_text(manifest: &Manifest, body: &str, span: &Range<usize>) -> Text {
    let mut text = Text::new(manifest.shown_file(), body);
    text.set_inline(manifest.location(span));
    text
}

/// Every `*.tera` file under `dir`, manifest-relative, sorted.
fn template_files(manifest: &Manifest, dir: &str, span: &Range<usize>) -> Result<Vec<String>> {
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

/// A validation rule's message: a Tera template rendered with each violation's row.
pub struct MessageTemplate {
    tera: Tera,
    text: Text,
}

impl MessageTemplate {
    /// Parses the message of `rule`.
    pub fn new(manifest: &Manifest, rule: &ValidationRule) -> Result<Self> {
        let text = inline_text(manifest, &rule.message, &rule.message_span);
        let mut tera = new_tera();
        tera.add_raw_template("message", &rule.message)
            .map_err(|e| {
                text.error_at(
                    ErrorKind::Template,
                    1,
                    1,
                    format!(
                        "the message of validation rule `{}` is not a valid template: {}",
                        rule.name,
                        first_line(&e)
                    ),
                )
            })?;
        Ok(MessageTemplate { tera, text })
    }

    /// The message for one violation.
    pub fn render(&self, row: &Row) -> Result<String> {
        let context = Context::from_serialize(row).unwrap_or_default();
        self.tera.render("message", &context).map_err(|e| {
            Error::at(
                ErrorKind::Template,
                self.text.whole(),
                format!("a validation message failed to render: {}", first_line(&e)),
            )
        })
    }
}

fn first_line(e: &tera::Error) -> String {
    match e.kind() {
        TeraErrorKind::SyntaxError(r) | TeraErrorKind::RenderingError(r) => r.message().to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_registered() {
        let tera = new_tera();
        let mut context = Context::new();
        context.insert("p", "http://e.org/x#emailPool");
        context.insert("lane", "high-prio");
        let out = tera
            .render_str(
                "{{ p | local_name | snake_case }} {{ lane | erlang_atom }} {{ 'type' | rust_ident }}",
                &context,
                false,
            )
            .unwrap();
        assert_eq!(out, "email_pool 'high-prio' r#type");
    }
}
