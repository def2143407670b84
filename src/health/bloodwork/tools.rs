//! The `bloodwork_analysis` MCP tool: parses the reference table once at registration and
//! answers each call with [`analyse`].
//!
//! A thin adapter: it must not hold analysis logic, and a table that fails to parse or
//! validate is reported through the registry instead of registering a tool on bad data.

use super::analysis::{BloodworkArguments, analyse};
use super::table::{ReferenceTable, TABLE_PATH};
use crate::mcp::{RegistryBuilder, ToolError};
use crate::narrative::{WithNarrative, narrated};

pub const TOOL_NAME: &str = "bloodwork_analysis";

pub fn register(builder: &mut RegistryBuilder<'_>) {
    let Some(table) = builder.data_table(TABLE_PATH, ReferenceTable::parse) else {
        return;
    };
    builder.tool(
        TOOL_NAME,
        move |ctx, arguments: WithNarrative<BloodworkArguments>| {
            let table = table.clone();
            async move {
                narrated(ctx, TOOL_NAME, arguments, |_, arguments| async move {
                    analyse(&table, &arguments).map_err(ToolError::from)
                })
                .await
            }
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn the_tool_registers_from_the_builtin_catalog_with_its_spec() {
        let catalog = Catalog::load(None, None).unwrap();
        let mut builder = RegistryBuilder::new(&catalog);
        register(&mut builder);
        let registry = builder.build().map_err(|e| format!("{e:?}")).unwrap();
        let tool = registry.tool(TOOL_NAME).unwrap();
        assert_eq!(tool.capability, "health");
        let annotations = tool.definition.annotations.as_ref().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true));
        assert_eq!(annotations.destructive_hint, Some(false));
    }

    #[test]
    fn a_broken_override_table_is_a_data_error_not_a_tool() {
        let mut catalog = Catalog::load(None, None).unwrap();
        for file in &mut catalog.tool_files {
            if file.relative_path == TABLE_PATH {
                file.text = "[[analyte]]\nid = 3\n".into();
            }
        }
        let mut builder = RegistryBuilder::new(&catalog);
        register(&mut builder);
        let errors = builder.build().err().unwrap();
        assert!(errors[0].to_string().contains("reference_ranges.toml"));
    }
}
