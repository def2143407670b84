//! What defines tools and prompts as data: the declarative tool specs under `tools/` and the
//! prompt templates under `prompts/`. Both folders are compiled into the binary, so it runs
//! alone; an operator may name override folders whose files replace or add to them.
//!
//! This module parses and validates files; it must not run tools or render anything the
//! MCP surface does not ask for.

mod files;
mod prompt_templates;
mod tool_specs;

use std::path::{Path, PathBuf};

pub use files::CatalogFile;
pub use prompt_templates::{PromptArgumentSpec, PromptRole, PromptTemplate, RenderError};
pub use tool_specs::{ToolAnnotationsSpec, ToolSpec};

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
}

/// Everything loaded from `tools/` and `prompts/`.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub tool_specs: Vec<ToolSpec>,
    pub prompts: Vec<PromptTemplate>,
    /// Every data file under `tools/`, for capabilities that ship reference tables or rule packs.
    pub tool_files: Vec<CatalogFile>,
    /// The judge's rubric per domain, from `prompts/judges/{domain}.md`.
    pub judge_rubrics: std::collections::BTreeMap<String, String>,
}

impl Catalog {
    /// The built-in catalog, with the files of the override folders laid over it.
    pub fn load(
        tools_dir: Option<&Path>,
        prompts_dir: Option<&Path>,
    ) -> Result<Self, CatalogError> {
        let tool_files = files::merged(&files::BUILTIN_TOOLS, tools_dir)?;
        let prompt_files = files::merged(&files::BUILTIN_PROMPTS, prompts_dir)?;
        let tool_specs = tool_specs::parse_all(&tool_files)?;
        let prompts = prompt_templates::parse_all(&prompt_files)?;
        let judge_rubrics = prompt_files
            .iter()
            .filter_map(|f| {
                let name = f
                    .relative_path
                    .strip_prefix(prompt_templates::JUDGES_FOLDER)?;
                let domain = name.strip_suffix(".md")?;
                Some((domain.to_string(), f.text.clone()))
            })
            .collect();
        Ok(Self {
            tool_specs,
            prompts,
            tool_files,
            judge_rubrics,
        })
    }

    pub fn tool_spec(&self, name: &str) -> Option<&ToolSpec> {
        self.tool_specs.iter().find(|spec| spec.name == name)
    }

    /// The data files under a folder of `tools/` (e.g. `domains/`), as (path, text).
    pub fn tool_files_under<'a>(
        &'a self,
        folder: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.tool_files
            .iter()
            .filter(move |f| f.relative_path.starts_with(folder))
            .map(|f| (f.relative_path.as_str(), f.text.as_str()))
    }

    /// A data file under `tools/` by its path relative to that folder, e.g. `domains/legal.toml`.
    pub fn tool_file(&self, relative: &str) -> Option<&CatalogFile> {
        self.tool_files.iter().find(|f| f.relative_path == relative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalog_loads_and_names_are_unique() {
        let catalog = Catalog::load(None, None).unwrap();
        assert!(!catalog.tool_specs.is_empty());
        assert!(!catalog.prompts.is_empty());
        let mut names: Vec<_> = catalog.tool_specs.iter().map(|s| &s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), catalog.tool_specs.len());
    }

    #[test]
    fn an_override_folder_replaces_a_builtin_prompt_and_adds_a_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let builtin = Catalog::load(None, None).unwrap();
        let first = &builtin.prompts[0];
        std::fs::write(
            dir.path().join(&first.file),
            format!(
                "+++\nname = \"{}\"\ndescription = \"Replaced by the operator\"\n+++\nHello.\n",
                first.name
            ),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("ward-round.md"),
            "+++\nname = \"ward-round\"\ndescription = \"Operator prompt\"\n+++\nPresent the patient.\n",
        )
        .unwrap();
        let catalog = Catalog::load(None, Some(dir.path())).unwrap();
        let replaced = catalog
            .prompts
            .iter()
            .find(|p| p.name == first.name)
            .unwrap();
        assert_eq!(replaced.description, "Replaced by the operator");
        assert!(catalog.prompts.iter().any(|p| p.name == "ward-round"));
        assert_eq!(catalog.prompts.len(), builtin.prompts.len() + 1);
    }

    #[test]
    fn a_missing_override_folder_is_an_error_not_a_silent_fallback() {
        let err = Catalog::load(Some(Path::new("/nonexistent/consilium-tools")), None).unwrap_err();
        assert!(err.to_string().contains("consilium-tools"));
    }
}
