//! Settings of the consensus panel: who sits on it by default, the judge and chair, the
//! threshold, the deadlines and how long a certificate stays valid. Read and validated
//! only; the panel itself runs in `crate::consensus`.

use serde::{Deserialize, Serialize};

use super::ConfigError;

/// A model on a given provider, as named in the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelChoice {
    /// `openai`, `anthropic` or `gemini`.
    pub provider: String,
    pub model: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsensusConfig {
    /// The default panel. Empty: chosen from the keys that serve `consensus`, spreading
    /// over as many providers as there are.
    pub panel: Vec<ModelChoice>,
    /// How many members a panel chosen from the keys gets.
    pub panel_size: usize,
    /// The most members a caller may ask for.
    pub max_panel_size: usize,
    /// Agreement (share of the largest cluster) at or above which consensus is reached.
    pub threshold: f64,
    /// How long each member may take before it is counted as timed out.
    pub member_deadline_secs: u64,
    /// The entailment judge; unset: any key serving the `judge` feature.
    pub judge: Option<ModelChoice>,
    /// How long the judge may take for one pair.
    pub judge_deadline_secs: u64,
    /// A chair model that writes one answer from the agreeing ones; unset: the consensus
    /// answer is a member's own answer.
    pub chair: Option<ModelChoice>,
    /// How long a trust certificate stays valid.
    pub certificate_validity_days: u32,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        Self {
            panel: Vec::new(),
            panel_size: 3,
            max_panel_size: 7,
            threshold: 0.6,
            member_deadline_secs: 60,
            judge: None,
            judge_deadline_secs: 30,
            chair: None,
            certificate_validity_days: 365,
        }
    }
}

impl ConsensusConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field, message: &str| {
            Err(ConfigError::Invalid {
                field,
                message: message.into(),
            })
        };
        if !(2..=16).contains(&self.max_panel_size) {
            return invalid("consensus.max_panel_size", "must be between 2 and 16");
        }
        if !(2..=self.max_panel_size).contains(&self.panel_size) {
            return invalid(
                "consensus.panel_size",
                "must be at least 2 and at most consensus.max_panel_size",
            );
        }
        if self.panel.len() > self.max_panel_size {
            return invalid(
                "consensus.panel",
                "has more members than consensus.max_panel_size",
            );
        }
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return invalid("consensus.threshold", "must be above 0 and at most 1");
        }
        if self.member_deadline_secs == 0 || self.judge_deadline_secs == 0 {
            return invalid(
                "consensus.member_deadline_secs",
                "deadlines must be at least 1 second",
            );
        }
        if self.certificate_validity_days == 0 {
            return invalid("consensus.certificate_validity_days", "must be at least 1");
        }
        let choices = self
            .panel
            .iter()
            .chain(self.judge.iter())
            .chain(self.chair.iter());
        for choice in choices {
            if choice.provider.parse::<crate::llm::ProviderKind>().is_err() {
                return invalid(
                    "consensus.panel",
                    "a provider must be openai, anthropic or gemini",
                );
            }
            if !crate::llm::providers::valid_model_id(&choice.model) {
                return invalid("consensus.panel", "a model id is not valid");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_hold_and_nonsense_is_refused() {
        assert!(ConsensusConfig::default().validate().is_ok());
        let mut config = ConsensusConfig {
            threshold: 1.5,
            ..ConsensusConfig::default()
        };
        assert!(config.validate().is_err());
        config.threshold = 0.6;
        config.panel = vec![ModelChoice {
            provider: "acme".into(),
            model: "m".into(),
        }];
        assert!(config.validate().is_err());
        config.panel[0].provider = "openai".into();
        assert!(config.validate().is_ok());
    }
}
