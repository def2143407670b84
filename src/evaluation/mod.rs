//! Trace evaluation: AI applications submit traces of their LLM calls (the `submit_trace`
//! tool, or OTLP spans at `POST /v1/traces`); each is screened by its domain's rule pack
//! and the PHI detector (tier 1, microseconds), by any cheap classifiers (tier 2), and when
//! the pack asks, by an LLM judge with the domain's rubric (tier 3, in the background
//! unless the caller waits). Traces are stored per tenant, sealed, with PHI replaced unless
//! the tenant opted in; evaluations hold findings, never trace text. Subscribers of
//! `consilium://traces/recent` and `consilium://evaluations/{id}` hear when an evaluation
//! completes.
//!
//! `trace` shapes and checks input, `otlp` reads OpenTelemetry spans, `packs` compiles the
//! rule packs, `phi` finds and redacts identifiers, `pipeline` runs tiers 1–2, `judge`
//! tier 3, `store` keeps traces, `ingest` puts them together and `tools` is the MCP
//! surface. Nothing here logs trace text or sends
//! unredacted PHI to a judge unless the tenant opted in.

pub mod ingest;
pub mod judge;
pub mod otlp;
pub mod packs;
pub mod phi;
pub mod pipeline;
#[cfg(test)]
mod rule_tests;
pub mod store;
mod tools;
pub mod trace;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use ingest::{IngestError, Ingested};
pub use tools::register;
pub(crate) use tools::{announce, judge_in_background};

/// The metered feature trace ingestion counts under, whichever way traces arrive.
pub const TRACE_FEATURE: &str = "trace";

use crate::catalog::{Catalog, CatalogError};
use crate::identity::Clock;
use crate::secrets::MasterKey;
use crate::store::Store;

/// The word lists the PHI detector reads, under `tools/`.
pub const GIVEN_NAMES_PATH: &str = "phi/given_names.txt";
pub const FAMILY_NAMES_PATH: &str = "phi/family_names.txt";
pub const PLACES_PATH: &str = "phi/places.txt";
pub const EVERYDAY_WORDS_PATH: &str = "phi/everyday_words.txt";

/// The PHI detector over the word lists of `catalog`.
pub fn phi_detector(catalog: &Catalog) -> Result<phi::PhiDetector, CatalogError> {
    let text = |path: &str| {
        catalog
            .tool_file(path)
            .map(|f| f.text.as_str())
            .ok_or_else(|| CatalogError::Invalid {
                origin: format!("tools/{path}"),
                message: "the file is missing".into(),
            })
    };
    let names = phi::NameLists::parse(text(GIVEN_NAMES_PATH)?, text(FAMILY_NAMES_PATH)?)
        .map_err(|message| CatalogError::Invalid {
            origin: "tools/phi".into(),
            message,
        })?
        .with_places(text(PLACES_PATH)?)
        .with_everyday_words(text(EVERYDAY_WORDS_PATH)?);
    Ok(phi::PhiDetector::new(names))
}

/// The evaluation service: the compiled packs and detector, the rubrics and the store.
#[derive(Clone)]
pub struct Evaluation {
    pub pipeline: pipeline::Pipeline,
    pub traces: store::Traces,
    rubrics: Arc<BTreeMap<String, String>>,
}

impl Evaluation {
    /// Compiles the rule packs and name lists of `catalog`; a broken pack stops the start
    /// with its file named.
    pub fn load(
        catalog: &Catalog,
        store: Store,
        master: Arc<MasterKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CatalogError> {
        let invalid = |origin: &str, message: String| CatalogError::Invalid {
            origin: origin.to_string(),
            message,
        };
        let packs = packs::load_all(catalog.tool_files_under(packs::PACKS_FOLDER))
            .map_err(|e| invalid("rule packs", e))?;
        Ok(Self {
            pipeline: pipeline::Pipeline::new(packs, phi_detector(catalog)?),
            traces: store::Traces::new(store, master, clock),
            rubrics: Arc::new(catalog.judge_rubrics.clone()),
        })
    }

    /// The judge's rubric for `domain`: its file under `prompts/judges/`, or the pack's
    /// own rule messages when there is none.
    pub fn rubric(&self, pack: &packs::Pack) -> String {
        match self.rubrics.get(&pack.id) {
            Some(rubric) => rubric.clone(),
            None => {
                let mut text = format!("{}\n", pack.description);
                for rule in &pack.rules {
                    text.push_str(&format!("\n- {}: {}", rule.id, rule.message));
                }
                text
            }
        }
    }
}
