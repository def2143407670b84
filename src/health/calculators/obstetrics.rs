//! Pregnancy dating from the last menstrual period. Dates come in as inputs (today's date
//! included), so nothing here reads the clock.

use chrono::{Days, NaiveDate};

use super::inputs::{InputSpec, Values};
use super::{Calculator, Computed, OutputSpec};
use crate::health::InputError;

pub const ALL: &[Calculator] = &[
    ESTIMATED_DUE_DATE,
    ESTIMATED_CONCEPTION_DATE,
    GESTATIONAL_AGE,
];

const NAEGELE: (&str, &str) = (
    "acog-700",
    "American College of Obstetricians and Gynecologists. Committee Opinion No. 700: Methods for estimating the due date. Obstet Gynecol 2017;129(5):e150-e154 (due date = first day of the last menstrual period + 280 days, Naegele's rule, for a 28-day cycle).",
);

const CYCLE: InputSpec = InputSpec {
    optional: true,
    ..InputSpec::quantity(
        "cycle_length",
        "Usual cycle length",
        "days",
        &[],
        20.0,
        45.0,
    )
};

/// Days a cycle longer or shorter than 28 days moves ovulation, and so the dates.
fn cycle_shift(values: &Values) -> Result<i64, InputError> {
    let cycle = values.optional_number("cycle_length").unwrap_or(28.0);
    if cycle.fract() != 0.0 {
        return Err(InputError::new(
            "inputs.cycle_length",
            "must be a whole number of days",
            "20–45 days",
        ));
    }
    Ok(cycle as i64 - 28)
}

fn shifted(date: NaiveDate, days: i64, field: &str) -> Result<NaiveDate, InputError> {
    let moved = if days >= 0 {
        date.checked_add_days(Days::new(days.unsigned_abs()))
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
    };
    moved.ok_or_else(|| InputError::new(field, "gives a date out of range", "a date in 1900–2200"))
}

const ESTIMATED_DUE_DATE: Calculator = Calculator {
    id: "estimated_due_date",
    name: "Estimated due date (Naegele's rule)",
    category: "obstetrics",
    inputs: &[
        InputSpec::date(
            "last_menstrual_period",
            "First day of the last menstrual period",
        ),
        CYCLE,
    ],
    output: OutputSpec {
        name: "estimated due date",
        unit: "days after the last menstrual period",
        decimals: 0,
    },
    references: &[NAEGELE],
    compute: estimated_due_date,
};

fn estimated_due_date(values: &Values) -> Result<Computed, InputError> {
    let lmp = values.date("last_menstrual_period")?;
    let days = 280 + cycle_shift(values)?;
    let due = shifted(lmp, days, "inputs.last_menstrual_period")?;
    Ok(Computed::new(days as f64, format!("{lmp} + 280 days{}", adjustment(days - 280)))
        .text(due.format("%Y-%m-%d").to_string())
        .warn("An early ultrasound dating, when available, takes precedence over the menstrual dates (ACOG 2017)."))
}

const ESTIMATED_CONCEPTION_DATE: Calculator = Calculator {
    id: "estimated_conception_date",
    name: "Estimated conception date",
    category: "obstetrics",
    inputs: &[
        InputSpec::date(
            "last_menstrual_period",
            "First day of the last menstrual period",
        ),
        CYCLE,
    ],
    output: OutputSpec {
        name: "estimated conception date",
        unit: "days after the last menstrual period",
        decimals: 0,
    },
    references: &[NAEGELE],
    compute: estimated_conception_date,
};

/// Ovulation, and so conception, about 14 days before the next period: day 14 of a
/// 28-day cycle.
fn estimated_conception_date(values: &Values) -> Result<Computed, InputError> {
    let lmp = values.date("last_menstrual_period")?;
    let days = 14 + cycle_shift(values)?;
    let conception = shifted(lmp, days, "inputs.last_menstrual_period")?;
    Ok(Computed::new(
        days as f64,
        format!("{lmp} + 14 days{}", adjustment(days - 14)),
    )
    .text(conception.format("%Y-%m-%d").to_string()))
}

const GESTATIONAL_AGE: Calculator = Calculator {
    id: "gestational_age",
    name: "Gestational age from the last menstrual period",
    category: "obstetrics",
    inputs: &[
        InputSpec::date(
            "last_menstrual_period",
            "First day of the last menstrual period",
        ),
        InputSpec::date("current_date", "The date to compute it for (today)"),
    ],
    output: OutputSpec {
        name: "gestational age",
        unit: "days",
        decimals: 0,
    },
    references: &[NAEGELE],
    compute: gestational_age,
};

fn gestational_age(values: &Values) -> Result<Computed, InputError> {
    let lmp = values.date("last_menstrual_period")?;
    let today = values.date("current_date")?;
    let days = (today - lmp).num_days();
    if !(0..=44 * 7).contains(&days) {
        return Err(InputError::new(
            "inputs.current_date",
            format!("is {days} days after the last menstrual period"),
            "0–308 days (44 weeks) after it",
        ));
    }
    Ok(
        Computed::new(days as f64, format!("{today} − {lmp} = {days} days")).text(format!(
            "{} weeks {} days",
            days / 7,
            days % 7
        )),
    )
}

fn adjustment(days: i64) -> String {
    match days {
        0 => String::new(),
        d if d > 0 => format!(" + {d} days for the longer cycle"),
        d => format!(" − {} days for the shorter cycle", -d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(calculator: &Calculator, inputs: serde_json::Value) -> Result<Computed, InputError> {
        let values = Values::parse(calculator.inputs, inputs.as_object().unwrap())?;
        (calculator.compute)(&values)
    }

    #[test]
    fn a_period_on_1_january_2026_gives_a_due_date_of_8_october_2026() {
        // 2026-01-01 + 280 days = 2026-10-08.
        let due = run(
            &ESTIMATED_DUE_DATE,
            json!({"last_menstrual_period": "2026-01-01"}),
        )
        .unwrap();
        assert_eq!(due.text.as_deref(), Some("2026-10-08"));
        // A 32-day cycle moves it 4 days later.
        let long = run(
            &ESTIMATED_DUE_DATE,
            json!({"last_menstrual_period": "2026-01-01", "cycle_length": 32}),
        )
        .unwrap();
        assert_eq!(long.text.as_deref(), Some("2026-10-12"));
        let conception = run(
            &ESTIMATED_CONCEPTION_DATE,
            json!({"last_menstrual_period": "2026-01-01"}),
        )
        .unwrap();
        assert_eq!(conception.text.as_deref(), Some("2026-01-15"));
    }

    #[test]
    fn gestational_age_counts_whole_weeks_and_days_and_refuses_absurd_dates() {
        let age = run(
            &GESTATIONAL_AGE,
            json!({"last_menstrual_period": "2026-01-01", "current_date": "2026-03-01"}),
        )
        .unwrap();
        // 59 days: 8 weeks 3 days.
        assert_eq!(age.value, 59.0);
        assert_eq!(age.text.as_deref(), Some("8 weeks 3 days"));
        let before = run(
            &GESTATIONAL_AGE,
            json!({"last_menstrual_period": "2026-03-01", "current_date": "2026-01-01"}),
        )
        .unwrap_err();
        assert_eq!(before.field, "inputs.current_date");
        let bad = run(
            &ESTIMATED_DUE_DATE,
            json!({"last_menstrual_period": "2026-02-30"}),
        )
        .unwrap_err();
        assert_eq!(bad.field, "inputs.last_menstrual_period");
    }
}
