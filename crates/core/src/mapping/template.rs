//! Templates that build one target value from several columns, e.g.
//! `"{first_name} {last_name}"` or `"{tel_area_code}-{tel}"`.
//!
//! The legacy integrations this replaces wrote these as `CONCAT_WS` and
//! `CASE WHEN` in SQL; the behaviour operators expect from them is that a
//! missing part takes its separator with it: area code `03` and no number
//! gives `03`, not `03-`. So the text between two placeholders is a
//! separator, written only between two parts that both have a value (the one
//! that follows the earlier part). Text before the first placeholder and
//! after the last is written whenever any part has a value. Parts are
//! trimmed; NULL, empty and blank parts count as missing. When every part is
//! missing the result is NULL (so a column `default` applies).
//!
//! `{{` and `}}` write literal braces.

use std::str::FromStr;

use serde_json::Value;

use super::conversion::scalar_text;
use crate::event::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Column(String),
}

/// A parsed template: literal text and `{column}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    /// Text before the first placeholder.
    prefix: String,
    /// Each placeholder with the text that follows it (up to the next one);
    /// the last one's is the suffix.
    columns: Vec<(String, String)>,
}

impl Template {
    /// The template as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The source columns the template reads, in order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|(c, _)| c.as_str())
    }

    /// Renders the template over a row image. `Err(column)` names a
    /// placeholder whose column is not in the row.
    pub fn render(&self, row: &Row) -> Result<Value, String> {
        let mut present: Vec<(usize, String)> = Vec::new();
        for (i, (column, _)) in self.columns.iter().enumerate() {
            let value = row.get(column).ok_or_else(|| column.clone())?;
            let text = scalar_text(value).or_else(|| match value {
                Value::Null => None,
                other => Some(other.to_string()),
            });
            if let Some(text) = text {
                let text = text.trim();
                if !text.is_empty() {
                    present.push((i, text.to_string()));
                }
            }
        }
        if present.is_empty() {
            return Ok(Value::Null);
        }
        let mut out = self.prefix.clone();
        for (n, (i, text)) in present.iter().enumerate() {
            out.push_str(text);
            if n + 1 < present.len() {
                out.push_str(&self.columns[*i].1);
            }
        }
        let last = self.columns.len() - 1;
        out.push_str(&self.columns[last].1);
        Ok(Value::String(out))
    }
}

fn parse_parts(text: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut name = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => {
                            return Err(format!(
                                "template `{text}` has an unclosed `{{` (write `{{{{` for a literal brace)"
                            ))
                        }
                        Some(c) => name.push(c),
                    }
                }
                let name = name.trim();
                if name.is_empty() {
                    return Err(format!("template `{text}` has an empty placeholder `{{}}`"));
                }
                parts.push(Part::Literal(std::mem::take(&mut literal)));
                parts.push(Part::Column(name.to_string()));
            }
            '}' => {
                return Err(format!(
                    "template `{text}` has a `}}` without `{{` (write `}}}}` for a literal brace)"
                ))
            }
            c => literal.push(c),
        }
    }
    parts.push(Part::Literal(literal));
    Ok(parts)
}

impl FromStr for Template {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut parts = parse_parts(text)?.into_iter();
        // parse_parts alternates Literal, Column, Literal, …, Literal.
        let prefix = match parts.next() {
            Some(Part::Literal(l)) => l,
            _ => String::new(),
        };
        let mut columns = Vec::new();
        while let (Some(Part::Column(c)), Some(Part::Literal(l))) = (parts.next(), parts.next()) {
            columns.push((c, l));
        }
        if columns.is_empty() {
            return Err(format!(
                "template `{text}` references no column (write columns as `{{name}}`)"
            ));
        }
        Ok(Self {
            text: text.to_string(),
            prefix,
            columns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    fn render(t: &str, r: Value) -> Value {
        t.parse::<Template>().unwrap().render(&row(r)).unwrap()
    }

    #[test]
    fn joins_present_parts() {
        let r = json!({"tel_area_code": "03", "tel": "5550 1234"});
        assert_eq!(render("{tel_area_code}-{tel}", r), json!("03-5550 1234"));
        let r = json!({"first_name": "Zoë", "last_name": "李"});
        assert_eq!(render("{first_name} {last_name}", r), json!("Zoë 李"));
        assert_eq!(render("{a}{b}", json!({"a": 1, "b": 2})), json!("12"));
    }

    #[test]
    fn missing_parts_take_their_separator_with_them() {
        let t = "{tel_area_code}-{tel}";
        assert_eq!(
            render(t, json!({"tel_area_code": "03", "tel": null})),
            json!("03")
        );
        assert_eq!(
            render(t, json!({"tel_area_code": "", "tel": "555"})),
            json!("555")
        );
        assert_eq!(
            render(t, json!({"tel_area_code": "  ", "tel": null})),
            Value::Null
        );
        assert_eq!(
            render(t, json!({"tel_area_code": null, "tel": null})),
            Value::Null
        );
        let t = "{city}, {state} {zip}";
        assert_eq!(
            render(
                t,
                json!({"city": "Springfield", "state": null, "zip": "12345"})
            ),
            json!("Springfield, 12345")
        );
        assert_eq!(
            render(t, json!({"city": null, "state": "IL", "zip": "12345"})),
            json!("IL 12345")
        );
    }

    #[test]
    fn prefix_suffix_and_escaped_braces() {
        let t = "+{cc} {{x}} {n}!";
        assert_eq!(render(t, json!({"cc": 61, "n": "4"})), json!("+61 {x} 4!"));
        assert_eq!(render(t, json!({"cc": null, "n": "4"})), json!("+4!"));
        assert_eq!(render(t, json!({"cc": null, "n": null})), Value::Null);
    }

    #[test]
    fn a_placeholder_without_column_in_the_row_is_reported() {
        let t: Template = "{a}-{b}".parse().unwrap();
        assert_eq!(t.render(&row(json!({"a": 1}))), Err("b".to_string()));
        assert_eq!(t.columns().collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in ["no placeholders", "{a", "{}", "a}", "{a{b}}", "{{a}}"] {
            assert!(bad.parse::<Template>().is_err(), "{bad}");
        }
    }
}
