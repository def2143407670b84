//! Prompt templates (`prompts/*.md`): TOML front matter between `+++` lines naming the
//! prompt and its arguments, then a Markdown body with `{{argument}}` placeholders. A line
//! `@@ user` or `@@ assistant` starts a new message with that role; without one the body is a
//! single user message.
//!
//! Placeholders are checked against the declared arguments when the file loads, so a typo
//! fails at start-up, not in front of a user.

use std::collections::HashMap;

use serde::Deserialize;

use super::{CatalogError, CatalogFile};

/// Longest value accepted for one prompt argument: prompts are instructions, not documents.
pub const MAX_ARGUMENT_CHARS: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct PromptTemplate {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub arguments: Vec<PromptArgumentSpec>,
    /// File name relative to the prompts folder.
    pub file: String,
    messages: Vec<(PromptRole, Vec<Segment>)>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptArgumentSpec {
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    pub description: String,
    #[serde(default)]
    pub required: bool,
    /// Values offered by `completion/complete`, matched by prefix.
    #[serde(default)]
    pub suggestions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptRole {
    User,
    Assistant,
}

#[derive(Debug, Clone)]
enum Segment {
    Text(String),
    Argument(String),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RenderError {
    #[error("missing required argument {0:?}")]
    MissingArgument(String),
    #[error("unknown argument {0:?}")]
    UnknownArgument(String),
    #[error("argument {name:?} is longer than {max} characters")]
    TooLong { name: String, max: usize },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    #[serde(default)]
    title: Option<String>,
    description: String,
    #[serde(default)]
    arguments: Vec<PromptArgumentSpec>,
}

impl PromptTemplate {
    /// The messages with the arguments filled in.
    pub fn render(
        &self,
        args: &HashMap<String, String>,
    ) -> Result<Vec<(PromptRole, String)>, RenderError> {
        for name in args.keys() {
            if !self.arguments.iter().any(|a| &a.name == name) {
                return Err(RenderError::UnknownArgument(name.clone()));
            }
        }
        for arg in &self.arguments {
            match args.get(&arg.name) {
                Some(value) if value.chars().count() > MAX_ARGUMENT_CHARS => {
                    return Err(RenderError::TooLong {
                        name: arg.name.clone(),
                        max: MAX_ARGUMENT_CHARS,
                    });
                }
                Some(value) if !value.trim().is_empty() => {}
                _ if arg.required => return Err(RenderError::MissingArgument(arg.name.clone())),
                _ => {}
            }
        }
        Ok(self
            .messages
            .iter()
            .map(|(role, segments)| {
                let text: String = segments
                    .iter()
                    .map(|s| match s {
                        Segment::Text(t) => t.as_str(),
                        Segment::Argument(name) => args.get(name).map(|v| v.trim()).unwrap_or(""),
                    })
                    .collect();
                (*role, text.trim().to_string())
            })
            .collect())
    }

    pub fn argument(&self, name: &str) -> Option<&PromptArgumentSpec> {
        self.arguments.iter().find(|a| a.name == name)
    }
}

/// Rubrics of the trace-evaluation judge, one per domain: read by `crate::evaluation`, not
/// served as MCP prompts.
pub const JUDGES_FOLDER: &str = "judges/";

pub fn parse_all(files: &[CatalogFile]) -> Result<Vec<PromptTemplate>, CatalogError> {
    let mut prompts: Vec<PromptTemplate> = Vec::new();
    for file in files {
        if !file.relative_path.ends_with(".md")
            || file.relative_path.eq_ignore_ascii_case("README.md")
            || file.relative_path.starts_with(JUDGES_FOLDER)
        {
            continue;
        }
        let origin = format!("{} prompts/{}", file.origin, file.relative_path);
        let invalid = |message: String| CatalogError::Invalid {
            origin: origin.clone(),
            message,
        };
        let prompt = parse(&file.relative_path, &file.text).map_err(invalid)?;
        if prompts.iter().any(|p| p.name == prompt.name) {
            return Err(invalid(format!(
                "prompt {:?} is defined twice",
                prompt.name
            )));
        }
        prompts.push(prompt);
    }
    Ok(prompts)
}

fn parse(file: &str, text: &str) -> Result<PromptTemplate, String> {
    let text = text.replace("\r\n", "\n");
    let rest = text
        .strip_prefix("+++\n")
        .ok_or("must start with a `+++` line opening the TOML front matter")?;
    let (front, body) = rest
        .split_once("\n+++\n")
        .ok_or("the front matter has no closing `+++` line")?;
    let front: FrontMatter = toml::from_str(front).map_err(|e| e.to_string())?;
    if front.name.is_empty()
        || !front
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
    {
        return Err(format!(
            "prompt name {:?} must be letters, digits, '_' or '-'",
            front.name
        ));
    }
    let mut messages = Vec::new();
    let mut role = PromptRole::User;
    let mut current = String::new();
    for line in body.lines() {
        let marker = match line.trim() {
            "@@ user" => Some(PromptRole::User),
            "@@ assistant" => Some(PromptRole::Assistant),
            _ => None,
        };
        match marker {
            Some(next) => {
                if !current.trim().is_empty() {
                    messages.push((role, segments(&current, &front.arguments)?));
                }
                current.clear();
                role = next;
            }
            None => {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    if !current.trim().is_empty() {
        messages.push((role, segments(&current, &front.arguments)?));
    }
    if messages.is_empty() {
        return Err("the prompt body is empty".into());
    }
    Ok(PromptTemplate {
        name: front.name,
        title: front.title,
        description: front.description,
        arguments: front.arguments,
        file: file.to_string(),
        messages,
    })
}

fn segments(text: &str, declared: &[PromptArgumentSpec]) -> Result<Vec<Segment>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push(Segment::Text(rest[..start].to_string()));
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or("a `{{` placeholder is never closed")?;
        let name = after[..end].trim();
        if !declared.iter().any(|a| a.name == name) {
            return Err(format!(
                "placeholder {{{{{name}}}}} names no declared argument"
            ));
        }
        out.push(Segment::Argument(name.to_string()));
        rest = &after[end + 2..];
    }
    out.push(Segment::Text(rest.to_string()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "+++\nname = \"explain\"\ndescription = \"Explain a topic\"\n[[arguments]]\nname = \"topic\"\ndescription = \"what\"\nrequired = true\n[[arguments]]\nname = \"level\"\ndescription = \"how deep\"\n+++\nExplain {{topic}} at {{ level }} level.\n@@ assistant\nI will explain {{topic}}.\n";

    fn args(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn renders_placeholders_and_roles() {
        let prompt = parse("explain.md", TEMPLATE).unwrap();
        let messages = prompt
            .render(&args(&[("topic", "sepsis"), ("level", "final-year")]))
            .unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(
            messages[0],
            (
                PromptRole::User,
                "Explain sepsis at final-year level.".into()
            )
        );
        assert_eq!(messages[1].0, PromptRole::Assistant);
    }

    #[test]
    fn a_missing_required_argument_is_named() {
        let prompt = parse("explain.md", TEMPLATE).unwrap();
        assert_eq!(
            prompt.render(&args(&[("level", "x")])),
            Err(RenderError::MissingArgument("topic".into()))
        );
    }

    #[test]
    fn an_unknown_argument_is_refused() {
        let prompt = parse("explain.md", TEMPLATE).unwrap();
        assert_eq!(
            prompt.render(&args(&[("topic", "a"), ("colour", "b")])),
            Err(RenderError::UnknownArgument("colour".into()))
        );
    }

    #[test]
    fn a_placeholder_without_an_argument_fails_at_load() {
        let bad = TEMPLATE.replace("{{topic}} at", "{{topik}} at");
        assert!(parse("explain.md", &bad).unwrap_err().contains("topik"));
    }
}
