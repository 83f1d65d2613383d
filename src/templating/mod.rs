//! Tera as ggen uses it: an instance with ggen's filters and no
//! autoescaping, its errors turned into ggen errors at the template's file,
//! line and column, and validation messages as small templates.

use std::collections::HashMap;

use tera::{Context, ErrorKind as TeraErrorKind, Kwargs, State, Tera};

use crate::error::{Error, ErrorKind, Location, Result};
use crate::inputs::Text;
use crate::names;
use crate::sparql::Row;

mod reports;

use reports::{NAMED_BY_PATH, cycle, read_reports, whole};

/// A Tera instance holding ggen's filters and no autoescaping.
pub fn new_tera() -> Tera {
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    for &(name, convert) in names::CONVERSIONS {
        tera.register_filter(name, move |s: &str, _: Kwargs, _: &State| convert(s));
    }
    tera
}

/// Which rendering failed: the generation rule, and its row in row mode.
#[derive(Debug, Clone, Copy)]
pub struct Site<'a> {
    /// The rule's name.
    pub rule: &'a str,
    /// The row (0-based) in row mode.
    pub row: Option<usize>,
}

/// A Tera error as a ggen error at the template's file, line and column;
/// `texts` maps template names to their texts, `site` is the rendering
/// that failed (none while parsing).
pub fn tera_error(texts: &HashMap<String, Text>, e: &tera::Error, site: Option<Site<'_>>) -> Error {
    let prefix = match site {
        None => "template error".to_string(),
        Some(Site { rule, row: None }) => format!("template error in rule `{rule}`"),
        Some(Site { rule, row: Some(k) }) => {
            format!("template error in rule `{rule}`, row {}", k + 1)
        }
    };
    match e.kind() {
        TeraErrorKind::SyntaxError(report) | TeraErrorKind::RenderingError(report) => {
            let span = report.span();
            let tera_message = report.message().trim_end_matches('.');
            let Some(text) = texts.get(report.filename()) else {
                return Error::at(
                    ErrorKind::Template,
                    Location::file(report.filename()),
                    format!("{prefix}: {tera_message}"),
                );
            };
            let mut width = if span.end_line == span.start_line {
                span.end_col.saturating_sub(span.start_col).max(1)
            } else {
                1
            };
            let mut message = format!("{prefix}: {tera_message}");
            let mut help = None;
            if tera_message.contains("undefined")
                && let Some(undefined) = Undefined::at(&text.body, &span.range)
            {
                if span.end_line == span.start_line {
                    width = width.max(undefined.expression.chars().count());
                }
                message = format!("{prefix}: {}", undefined.describe(tera_message));
                help = Some(undefined.help());
            }
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
            match help {
                Some(help) => err.with_help(help),
                None => err,
            }
        }
        TeraErrorKind::CircularInclude { tpl, include_chain } => {
            cycle(texts, &prefix, tpl, include_chain, "includes")
        }
        TeraErrorKind::CircularExtend {
            tpl,
            inheritance_chain,
        } => cycle(texts, &prefix, tpl, inheritance_chain, "extends"),
        TeraErrorKind::MissingParent { current, parent } => Error::at(
            ErrorKind::Template,
            whole(texts, current),
            format!("{prefix}: `{current}` extends `{parent}`, which is no template ggen loaded"),
        )
        .with_help(NAMED_BY_PATH),
        TeraErrorKind::Msg(rendered) if rendered.starts_with("error: ") => {
            read_reports(texts, &prefix, rendered)
        }
        _ => {
            let mut message = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                message = format!("{message}: {s}");
                source = s.source();
            }
            Error::new(ErrorKind::Template, format!("{prefix}: {message}"))
        }
    }
}

/// The expression behind one of tera's errors about an undefined value
/// ("expected `&str` but got `undefined`", "Cannot compare `undefined`
/// with `i64`"), which name neither the variable nor the field. Tera's span
/// starts at the expression but, for a path like `row.nope`, covers only
/// its first name: the path is read on from the template's text.
struct Undefined<'t> {
    /// The template text of the expression.
    expression: &'t str,
    /// Whether the expression is a path (a variable and its fields) that is
    /// itself the undefined value.
    is_path: bool,
}

impl<'t> Undefined<'t> {
    fn at(body: &'t str, range: &std::ops::Range<usize>) -> Option<Self> {
        let rest = body.get(range.start..)?;
        let path = path_len(rest);
        let covered = range.end.saturating_sub(range.start);
        let end = path.max(covered);
        let expression = rest.get(..end)?.trim();
        (!expression.is_empty()).then_some(Undefined {
            expression,
            is_path: path > 0 && path >= covered,
        })
    }

    fn describe(&self, tera_message: &str) -> String {
        if self.is_path {
            format!("`{}` is undefined ({tera_message})", self.expression)
        } else {
            format!(
                "a value in `{}` is undefined ({tera_message})",
                self.expression
            )
        }
    }

    fn help(&self) -> String {
        let example = if self.is_path {
            self.expression
        } else {
            "value"
        };
        format!(
            "a field no row has, or a variable never set, is undefined: check the name against the query's columns, or give an optional value a default: `{example} | default(value=\"\")`"
        )
    }
}

/// The length of the path (`name`, `name.field`, `name[0]`, `name["key"]`…)
/// that `text` starts with; 0 when it starts with no name.
fn path_len(text: &str) -> usize {
    let name = |s: &str| {
        s.char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_alphanumeric()) || (i == 0 && c.is_numeric()))
            .map_or(s.len(), |(i, _)| i)
    };
    let mut end = name(text);
    if end == 0 {
        return 0;
    }
    loop {
        let rest = &text[end..];
        if let Some(after) = rest.strip_prefix('.') {
            let n = after
                .char_indices()
                .find(|&(_, c)| !(c == '_' || c.is_alphanumeric()))
                .map_or(after.len(), |(i, _)| i);
            if n == 0 {
                return end;
            }
            end += 1 + n;
        } else if rest.starts_with('[') {
            let mut depth = 0;
            let mut quote: Option<char> = None;
            let mut close = None;
            for (i, c) in rest.char_indices() {
                match (quote, c) {
                    (Some(q), c) if c == q => quote = None,
                    (Some(_), _) => {}
                    (None, '"' | '\'' | '`') => quote = Some(c),
                    (None, '[') => depth += 1,
                    (None, ']') => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match close {
                Some(i) => end += i + 1,
                None => return end,
            }
        } else {
            return end;
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

    #[test]
    fn paths_are_read_to_their_end() {
        assert_eq!(path_len("r.nope | snake_case }}"), 6);
        assert_eq!(path_len("rows[0].name }}"), 12);
        assert_eq!(path_len("r['a]b'].c }}"), 10);
        assert_eq!(path_len("p.name}}"), 6);
        assert_eq!(path_len("p. x"), 1);
        assert_eq!(path_len("1 < r.nope"), 0);
        assert_eq!(path_len("'text'"), 0);
    }

    fn render_error(template: &str) -> Error {
        let mut tera = new_tera();
        tera.add_raw_template("t.tera", template).unwrap();
        let mut context = Context::new();
        context.insert("rows", &[std::collections::BTreeMap::from([("name", "a")])]);
        let e = tera.render("t.tera", &context).unwrap_err();
        let texts = HashMap::from([("t.tera".to_string(), Text::new("t.tera", template))]);
        let site = Site {
            rule: "r1",
            row: Some(1),
        };
        tera_error(&texts, &e, Some(site))
    }

    #[test]
    fn tera_s_rendered_reports_are_read_back_into_diagnostics() {
        let mut tera = new_tera();
        let body = "x\n{% include \"gone.tera\" %}";
        let e = tera.add_raw_templates([("t.tera", body)]).unwrap_err();
        let texts = HashMap::from([("t.tera".to_string(), Text::new("t.tera", body))]);
        let e = tera_error(&texts, &e, None);
        let d = &e.diagnostics[0];
        assert_eq!(
            d.message,
            "template error: no template is named `gone.tera`"
        );
        let location = d.location.as_ref().unwrap();
        assert_eq!(location.to_string(), "t.tera:2:12");
        assert_eq!(location.width, "\"gone.tera\"".len());
    }

    #[test]
    fn an_undefined_value_is_named_with_its_rule() {
        let e = render_error("{% for r in rows %}\n{{ r.nope | snake_case }}\n{% endfor %}");
        let d = &e.diagnostics[0];
        assert!(
            d.message
                .starts_with("template error in rule `r1`, row 2: `r.nope` is undefined ("),
            "{}",
            d.message
        );
        let location = d.location.as_ref().unwrap();
        assert_eq!(location.to_string(), "t.tera:2:4");
        assert_eq!(location.width, 6);
        assert!(d.help.as_ref().unwrap().contains("`r.nope | default("));
    }

    #[test]
    fn an_undefined_value_inside_an_expression_shows_the_expression() {
        let e = render_error("{% for r in rows %}{% if r.nope > 1 %}x{% endif %}{% endfor %}");
        let d = &e.diagnostics[0];
        assert!(
            d.message
                .contains(": a value in `r.nope > 1` is undefined (Cannot compare"),
            "{}",
            d.message
        );
    }
}
