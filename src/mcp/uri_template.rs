//! Matching URIs against resource templates: the `{name}` expressions of RFC 6570 level 1,
//! each standing for one non-empty path segment. Enough for `consilium://decks/{id}`; a
//! template that needs more is refused at registration rather than matched loosely.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Literal(String),
    Variable(String),
}

/// Variable values are identifiers and names, never documents.
const MAX_VALUE_CHARS: usize = 512;

impl UriTemplate {
    pub fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_string()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or("an expression `{` is never closed")?
                + open;
            let name = &rest[open + 1..close];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "expression {{{name}}} is not a plain variable name"
                ));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err("two expressions must be separated by literal text".into());
            }
            parts.push(Part::Variable(name.to_string()));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self { parts })
    }

    pub fn matches(&self, uri: &str) -> Option<HashMap<String, String>> {
        let mut vars = HashMap::new();
        let mut rest = uri;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(text) => rest = rest.strip_prefix(text.as_str())?,
                Part::Variable(name) => {
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty()
                        || value.contains('/')
                        || value.chars().count() > MAX_VALUE_CHARS
                    {
                        return None;
                    }
                    vars.insert(name.clone(), percent_decode(value)?);
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(vars)
    }
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_one_segment_per_variable() {
        let t = UriTemplate::parse("consilium://decks/{id}").unwrap();
        assert_eq!(t.matches("consilium://decks/42").unwrap()["id"], "42");
        assert!(t.matches("consilium://decks/").is_none());
        assert!(t.matches("consilium://decks/4/2").is_none());
        assert!(t.matches("consilium://other/42").is_none());
    }

    #[test]
    fn decodes_percent_escapes_and_refuses_broken_ones() {
        let t = UriTemplate::parse("test://template/{id}/data").unwrap();
        assert_eq!(
            t.matches("test://template/a%20b/data").unwrap()["id"],
            "a b"
        );
        assert!(t.matches("test://template/a%2/data").is_none());
    }

    #[test]
    fn refuses_operators_it_does_not_implement() {
        assert!(UriTemplate::parse("x://{+path}").is_err());
        assert!(UriTemplate::parse("x://{a}{b}").is_err());
    }
}
