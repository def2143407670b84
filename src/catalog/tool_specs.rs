//! Declarative tool specs (`tools/specs/*.toml`): the name, title, description, scope and
//! behaviour hints a client sees. The Rust code of a capability supplies only the handler and
//! the argument and result types; what a tool is called and how it is described lives here.

use serde::Deserialize;

use super::{CatalogError, CatalogFile};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    pub name: String,
    pub title: String,
    pub description: String,
    /// The capability the tool belongs to (`health`, `study`, `admin`, `account`…).
    pub capability: String,
    /// The credential scope a caller needs (`health`, `study`, `consensus`, `eval`, `chat`,
    /// `admin`). Left out: the capability's name when that is a scope, otherwise none, so
    /// any signed-in caller may use the tool.
    #[serde(default)]
    pub scope: Option<String>,
    /// The metered feature a call consumes (`mcq`, `flashcard`, `chat`…): switched off as
    /// one and, for some, capped per day by the caller's plan.
    #[serde(default)]
    pub feature: Option<String>,
    /// Tokens a call is expected to use, reserved against the plan before it runs.
    #[serde(default)]
    pub token_estimate: u64,
    /// The argument that says how many units of the capped feature a call asks for (the
    /// number of cards or questions to write), reserved against the plan before it runs so
    /// a call cannot overshoot the day's cap. Left out: one unit.
    #[serde(default)]
    pub units_argument: Option<String>,
    /// Whether a successful result is saved for its caller, who gets a link to
    /// `consilium://analyses/{id}` with it.
    #[serde(default)]
    pub saves_analysis: bool,
    #[serde(default)]
    pub annotations: ToolAnnotationsSpec,
    /// Whether the tool may run long enough to send progress notifications.
    #[serde(default)]
    pub long_running: bool,
    #[serde(skip)]
    pub origin: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolAnnotationsSpec {
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    #[serde(default)]
    tool: Vec<ToolSpec>,
}

pub fn parse_all(files: &[CatalogFile]) -> Result<Vec<ToolSpec>, CatalogError> {
    let mut specs: Vec<ToolSpec> = Vec::new();
    for file in files {
        if !(file.relative_path.starts_with("specs/") && file.relative_path.ends_with(".toml")) {
            continue;
        }
        let origin = format!("{} tools/{}", file.origin, file.relative_path);
        let parsed: SpecFile = toml::from_str(&file.text).map_err(|e| CatalogError::Invalid {
            origin: origin.clone(),
            message: e.to_string(),
        })?;
        for mut spec in parsed.tool {
            validate(&spec).map_err(|message| CatalogError::Invalid {
                origin: origin.clone(),
                message,
            })?;
            if let Some(other) = specs.iter().find(|s| s.name == spec.name) {
                return Err(CatalogError::Invalid {
                    origin,
                    message: format!("tool {:?} is also defined in {}", spec.name, other.origin),
                });
            }
            spec.origin = origin.clone();
            specs.push(spec);
        }
    }
    Ok(specs)
}

/// MCP tool names: 1–64 characters of ASCII letters, digits, `_`, `-` and `.`.
fn validate(spec: &ToolSpec) -> Result<(), String> {
    let name_ok = !spec.name.is_empty()
        && spec.name.len() <= 64
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !name_ok {
        return Err(format!(
            "tool name {:?} must be 1-64 characters of letters, digits, '_', '-' or '.'",
            spec.name
        ));
    }
    if spec.description.trim().is_empty() {
        return Err(format!("tool {:?} needs a description", spec.name));
    }
    if spec.capability.trim().is_empty() {
        return Err(format!("tool {:?} needs a capability", spec.name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> CatalogFile {
        CatalogFile {
            relative_path: "specs/test.toml".into(),
            origin: "test".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_tool_name_with_spaces_is_refused_with_the_file_named() {
        let err = parse_all(&[file(
            "[[tool]]\nname = \"bad name\"\ntitle = \"t\"\ndescription = \"d\"\ncapability = \"status\"\n",
        )])
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("specs/test.toml") && text.contains("bad name"),
            "{text}"
        );
    }

    #[test]
    fn duplicate_tool_names_are_refused() {
        let spec =
            "[[tool]]\nname = \"a\"\ntitle = \"t\"\ndescription = \"d\"\ncapability = \"c\"\n";
        let err = parse_all(&[file(&format!("{spec}{spec}"))]).unwrap_err();
        assert!(err.to_string().contains("also defined"));
    }

    #[test]
    fn files_outside_specs_are_left_to_their_capabilities() {
        let other = CatalogFile {
            relative_path: "domains/legal.toml".into(),
            origin: "test".into(),
            text: "not a spec = [".into(),
        };
        assert!(parse_all(&[other]).unwrap().is_empty());
    }
}
