//! Which limits apply to a call: the plan a user is held to (an unknown plan
//! is held to `free`), the capped features and their limit fields, and the
//! operator's feature switches.
//!
//! Read-only views over [`PlansConfig`] and [`FeaturesConfig`]; this file
//! must not count anything or decide whether a call fits.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::config::{FALLBACK_PLAN, FeaturesConfig, PlanLimits, PlansConfig};

use super::errors::LimitCode;
use super::gcra::RateLimit;

/// A feature with a daily cap of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CappedFeature {
    Mcq,
    Flashcard,
    PdfUpload,
    Image,
}

impl CappedFeature {
    pub const ALL: [CappedFeature; 4] = [
        CappedFeature::Mcq,
        CappedFeature::Flashcard,
        CappedFeature::PdfUpload,
        CappedFeature::Image,
    ];

    /// The capped feature a tool's feature name stands for; other names
    /// have no cap of their own.
    pub fn from_name(name: &str) -> Option<CappedFeature> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The feature name tools declare and counters are kept under.
    pub fn name(self) -> &'static str {
        match self {
            CappedFeature::Mcq => "mcq",
            CappedFeature::Flashcard => "flashcard",
            CappedFeature::PdfUpload => "pdf_upload",
            CappedFeature::Image => "image",
        }
    }

    /// The plan field that caps it, as named in the configuration.
    pub fn limit_name(self) -> &'static str {
        match self {
            CappedFeature::Mcq => "mcqs_per_day",
            CappedFeature::Flashcard => "flashcards_per_day",
            CappedFeature::PdfUpload => "pdf_uploads",
            CappedFeature::Image => "images_per_day",
        }
    }

    /// What a person calls the units, plural ("MCQs").
    pub fn units(self) -> &'static str {
        match self {
            CappedFeature::Mcq => "MCQs",
            CappedFeature::Flashcard => "flashcards",
            CappedFeature::PdfUpload => "PDF uploads",
            CappedFeature::Image => "images",
        }
    }

    /// The units in the singular ("MCQ").
    pub fn unit(self) -> &'static str {
        match self {
            CappedFeature::Mcq => "MCQ",
            CappedFeature::Flashcard => "flashcard",
            CappedFeature::PdfUpload => "PDF upload",
            CappedFeature::Image => "image",
        }
    }

    pub fn code(self) -> LimitCode {
        match self {
            CappedFeature::Mcq => LimitCode::McqLimitExceeded,
            CappedFeature::Flashcard => LimitCode::FlashcardLimitExceeded,
            CappedFeature::PdfUpload => LimitCode::PdfUploadLimitExceeded,
            CappedFeature::Image => LimitCode::ImageLimitExceeded,
        }
    }

    pub fn cap(self, limits: &PlanLimits) -> Option<u64> {
        match self {
            CappedFeature::Mcq => limits.mcqs_per_day,
            CappedFeature::Flashcard => limits.flashcards_per_day,
            CappedFeature::PdfUpload => limits.pdf_uploads,
            CappedFeature::Image => limits.images_per_day,
        }
    }
}

/// The limits a user is held to, under the name of the plan they come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedPlan {
    /// The configured plan whose limits apply: the user's own, or `free`.
    pub name: String,
    pub limits: PlanLimits,
    pub rate: Option<RateLimit>,
}

/// The plan table and feature switches, looked up per call.
#[derive(Debug, Clone)]
pub struct PlanBook {
    plans: PlansConfig,
    disabled: FeatureSwitches,
}

/// The features switched off for everyone: from the configuration at start, then changed
/// at run time by admins (`crate::maintenance` persists those changes). Shared by every
/// clone, so a switch takes effect on the next call.
#[derive(Debug, Clone, Default)]
pub struct FeatureSwitches(Arc<RwLock<HashSet<String>>>);

impl FeatureSwitches {
    pub fn is_disabled(&self, feature: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains(feature)
    }

    /// Switches `feature` on or off; says whether that changed anything.
    pub fn set(&self, feature: &str, enabled: bool) -> bool {
        let mut disabled = self.0.write().unwrap_or_else(|p| p.into_inner());
        if enabled {
            disabled.remove(feature)
        } else {
            disabled.insert(feature.to_owned())
        }
    }

    pub fn disabled(&self) -> Vec<String> {
        let mut list: Vec<String> = self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        list.sort();
        list
    }
}

impl PlanBook {
    pub fn new(plans: PlansConfig, features: &FeaturesConfig) -> Self {
        Self {
            plans,
            disabled: FeatureSwitches(Arc::new(RwLock::new(
                features.disabled.iter().cloned().collect(),
            ))),
        }
    }

    /// The limits for a user on `plan`.
    pub fn applied(&self, plan: &str) -> AppliedPlan {
        let name = if self.plans.0.contains_key(plan) {
            plan
        } else {
            FALLBACK_PLAN
        };
        let limits = self.plans.limits(plan);
        let rate = limits.requests_per_minute.and_then(RateLimit::per_minute);
        AppliedPlan {
            name: name.to_owned(),
            limits,
            rate,
        }
    }

    /// Whether the operator switched `feature` off, for everyone.
    pub fn is_disabled(&self, feature: &str) -> bool {
        self.disabled.is_disabled(feature)
    }

    pub fn switches(&self) -> &FeatureSwitches {
        &self.disabled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_plan_is_held_to_the_free_plan_under_the_free_name() {
        let book = PlanBook::new(PlansConfig::default(), &FeaturesConfig::default());
        let applied = book.applied("platinum");
        assert_eq!(applied.name, "free");
        assert_eq!(applied.limits.daily_requests, Some(20));
        assert_eq!(applied.rate.map(RateLimit::calls_per_minute), Some(30));
        let unlimited = book.applied("unlimited");
        assert_eq!(unlimited.name, "unlimited");
        assert_eq!(unlimited.rate, None);
    }

    #[test]
    fn each_capped_feature_reads_its_own_plan_field() {
        let limits = PlansConfig::default().limits("student");
        let caps: Vec<_> = CappedFeature::ALL.map(|f| f.cap(&limits)).into();
        assert_eq!(caps, [Some(50), Some(100), Some(5), Some(10)]);
        for feature in CappedFeature::ALL {
            assert_eq!(CappedFeature::from_name(feature.name()), Some(feature));
        }
        assert_eq!(CappedFeature::from_name("chat"), None);
    }

    #[test]
    fn switched_off_features_are_listed_by_name() {
        let features = FeaturesConfig {
            disabled: vec!["image".to_owned()],
        };
        let book = PlanBook::new(PlansConfig::default(), &features);
        assert!(book.is_disabled("image"));
        assert!(!book.is_disabled("mcq"));
    }
}
