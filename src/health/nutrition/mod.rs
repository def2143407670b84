//! `nutrition_analysis`: a meal's energy, macronutrients, sodium and key micronutrients from
//! USDA Standard Reference data, with the FDA 2016 daily values.
//!
//! The built-in table (`tools/health/foods.toml`, common foods, each row citing its NDB
//! number) works out of the box; `consilium data import-usda DIR` adds all of SR28 to the
//! store ([`usda`]). Foods are matched to text with a score and ambiguity is reported
//! ([`matching`]); household amounts go through each food's own USDA measures
//! ([`amounts`]). Nothing here asks a model; only [`usda`] touches the store.

pub mod amounts;
pub mod analysis;
pub mod matching;
pub mod table;
pub mod usda;

pub use analysis::{NutritionArguments, NutritionResult, analyse};
pub use table::{FOODS_FILE, FoodTable};
pub use usda::ImportedFoods;

use crate::mcp::tool::codes;
use crate::mcp::{RegistryBuilder, ToolContext, ToolError};
use crate::narrative::{WithNarrative, narrated};

pub fn register(builder: &mut RegistryBuilder<'_>) {
    let parse = |text: &str| FoodTable::parse(text).map_err(|e| e.message);
    let Some(table) = builder.data_table("health/foods.toml", parse) else {
        return;
    };
    builder.tool(
        "nutrition_analysis",
        move |ctx: ToolContext, arguments: WithNarrative<NutritionArguments>| {
            let table = table.clone();
            async move {
                narrated(ctx, "nutrition_analysis", arguments, |ctx, arguments| {
                    analyse_off_thread(ctx, arguments, table)
                })
                .await
            }
        },
    );
}

async fn analyse_off_thread(
    ctx: ToolContext,
    arguments: NutritionArguments,
    table: std::sync::Arc<FoodTable>,
) -> Result<NutritionResult, ToolError> {
    let imported = ctx.app.imported_foods.current().await.map_err(|error| {
        tracing::warn!(%error, "the imported foods could not be read");
        ToolError::new(
            codes::UNAVAILABLE,
            "the food store is unavailable; try again shortly",
        )
    })?;
    // Matching scans every food (about 8,800 after the SR28 import): off the async threads.
    tokio::task::spawn_blocking(move || analyse(&arguments, &table, &imported))
        .await
        .map_err(|_| ToolError::internal("the analysis stopped unexpectedly"))?
        .map_err(ToolError::from)
}
