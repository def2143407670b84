//! Flagging one value, already in its canonical unit, against its reference interval and
//! critical limits.
//!
//! A flag says where a number sits relative to published limits; it must not say what the
//! number means for the person (see `patterns`).

use schemars::JsonSchema;
use serde::Serialize;

use super::table::{CriticalLimits, Interval};

/// Where a value sits: critical limits win over the reference interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// At or below the critical-low limit: needs urgent clinical attention.
    CriticalLow,
    /// Below the lower reference limit.
    Low,
    /// Within the reference interval.
    Normal,
    /// Above the upper reference limit (or at/above a guideline cut-point).
    High,
    /// At or above the critical-high limit: needs urgent clinical attention.
    CriticalHigh,
}

impl Flag {
    pub fn is_critical(self) -> bool {
        matches!(self, Flag::CriticalLow | Flag::CriticalHigh)
    }

    pub fn label(self) -> &'static str {
        match self {
            Flag::CriticalLow => "critical-low",
            Flag::Low => "low",
            Flag::Normal => "normal",
            Flag::High => "high",
            Flag::CriticalHigh => "critical-high",
        }
    }
}

/// Flags `value` against `interval` and, when given, `critical`.
pub fn flag(value: f64, interval: &Interval, critical: Option<&CriticalLimits>) -> Flag {
    if let Some(critical) = critical {
        if critical.low.is_some_and(|limit| value <= limit) {
            return Flag::CriticalLow;
        }
        if critical.high.is_some_and(|limit| value >= limit) {
            return Flag::CriticalHigh;
        }
    }
    if interval.low.is_some_and(|low| value < low) {
        Flag::Low
    } else if interval.high.is_some_and(|high| value > high)
        || interval.high_from.is_some_and(|cut| value >= cut)
    {
        Flag::High
    } else {
        Flag::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::bloodwork::table::IntervalSex;

    fn sodium() -> (Interval, CriticalLimits) {
        // Sodium 135–145 mmol/L (Kratz 2004); critical 120 and 158 mmol/L (Kost 1990).
        (
            Interval {
                sex: IntervalSex::Any,
                low: Some(135.0),
                high: Some(145.0),
                high_from: None,
                source: "kratz-2004".into(),
            },
            CriticalLimits {
                low: Some(120.0),
                high: Some(158.0),
                source: "kost-1990".into(),
            },
        )
    }

    #[test]
    fn the_reference_limits_themselves_are_normal_and_just_beyond_them_is_not() {
        let (interval, critical) = sodium();
        assert_eq!(flag(135.0, &interval, Some(&critical)), Flag::Normal);
        assert_eq!(flag(145.0, &interval, Some(&critical)), Flag::Normal);
        assert_eq!(flag(134.9, &interval, Some(&critical)), Flag::Low);
        assert_eq!(flag(145.1, &interval, Some(&critical)), Flag::High);
    }

    #[test]
    fn critical_limits_are_inclusive_and_win_over_the_interval() {
        let (interval, critical) = sodium();
        assert_eq!(flag(120.0, &interval, Some(&critical)), Flag::CriticalLow);
        assert_eq!(flag(120.1, &interval, Some(&critical)), Flag::Low);
        assert_eq!(flag(158.0, &interval, Some(&critical)), Flag::CriticalHigh);
        assert_eq!(flag(157.9, &interval, Some(&critical)), Flag::High);
        assert_eq!(flag(157.9, &interval, None), Flag::High);
    }

    #[test]
    fn a_guideline_cut_point_is_high_from_the_cut_point_itself() {
        // ADA 2024: fasting glucose 100 mg/dL and above is the prediabetes range.
        let interval = Interval {
            sex: IntervalSex::Any,
            low: Some(70.0),
            high: None,
            high_from: Some(100.0),
            source: "ada-2024-dx".into(),
        };
        assert_eq!(flag(99.9, &interval, None), Flag::Normal);
        assert_eq!(flag(100.0, &interval, None), Flag::High);
        assert_eq!(flag(69.9, &interval, None), Flag::Low);
    }

    #[test]
    fn rising_values_never_move_the_flag_back_down() {
        let (interval, critical) = sodium();
        let rank = |f: Flag| f as u8;
        let mut previous = rank(Flag::CriticalLow);
        for step in 0..=800 {
            let value = 100.0 + f64::from(step) * 0.1;
            let current = rank(flag(value, &interval, Some(&critical)));
            assert!(current >= previous, "at {value}");
            previous = current;
        }
    }
}
