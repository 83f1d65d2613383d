//! Tera as ggen uses it: an instance with ggen's filters and no
//! autoescaping, its errors turned into ggen errors at the template's file,
//! line and column, and validation messages as small templates.

use std::collections::HashMap;

use tera::{Context, ErrorKind as TeraErrorKind, Kwargs, State, Tera};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::inputs::Text;
use crate::names;
use crate::sparql::Row;

/// A Tera instance holding ggen's filters and no autoescaping.
pub fn new_tera() -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    for &(name, convert) in names::CONVERSIONS {
        tera.register_filter(name, move |s: &str, _: Kwargs, _: &State| convert(s));
    }
    tera
}

/// A Tera error as a ggen error at the template's file, line and column;
/// `texts` maps template names to their texts.
pub fn tera_error(texts: &HashMap<String, Text>, e: &tera::Error, row: Option<usize>) -> Error {
    let row_note = row.map(|k| format!(" (row {})", k + 1)).unwrap_or_default();
    match e.kind() {
        TeraErrorKind::SyntaxError(report) | TeraErrorKind::RenderingError(report) => {
            let message = format!(
                "template error: {}{row_note}",
                report.message().trim_end_matches('.')
            );
            let span = report.span();
            match texts.get(report.filename()) {
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

/// A validation rule's message: a Tera template rendered with each violation's row.
pub struct MessageTemplate {
    tera: Tera,
    text: Text,
}

impl MessageTemplate {
    /// Parses the message of the validation rule `name`, written as `text`.
    pub fn new(name: &str, text: Text) -> Result<Self> {
        let mut tera = new_tera();
        tera.add_raw_template("message", &text.body).map_err(|e| {
            text.error_at(
                ErrorKind::Template,
                1,
                1,
                format!(
                    "the message of validation rule `{}` is not a valid template: {}",
                    name,
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
