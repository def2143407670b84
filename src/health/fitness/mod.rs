//! `fitness_analysis`: energy from MET values of the 2011 Compendium of Physical Activities,
//! MET-minutes, and the week against the WHO 2020 physical activity guidelines.
//!
//! The table is data (`tools/health/compendium.toml`, each row citing its Compendium code);
//! free text is matched with a score and a close call is reported, never guessed
//! ([`matching`]). Nothing here asks a model or does I/O.

pub mod analysis;
pub mod matching;
pub mod table;

pub use analysis::{FitnessArguments, FitnessResult, analyse};
pub use table::{ActivityTable, COMPENDIUM_FILE};

use crate::mcp::{RegistryBuilder, ToolContext, ToolError};
use crate::narrative::{WithNarrative, narrated};

pub fn register(builder: &mut RegistryBuilder<'_>) {
    let parse = |text: &str| ActivityTable::parse(text).map_err(|e| e.message);
    let Some(table) = builder.data_table("health/compendium.toml", parse) else {
        return;
    };
    builder.tool(
        "fitness_analysis",
        move |ctx: ToolContext, arguments: WithNarrative<FitnessArguments>| {
            let table = table.clone();
            async move {
                narrated(ctx, "fitness_analysis", arguments, |_, arguments| async move {
                    analyse(&arguments, &table).map_err(ToolError::from)
                })
                .await
            }
        },
    );
}
