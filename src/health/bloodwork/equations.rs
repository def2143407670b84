//! The published equations behind the derived values, as plain functions over typed
//! quantities in conventional units: CKD-EPI 2021 eGFR, the KDIGO G category, LDL by
//! Friedewald and by Sampson (NIH equation 2), non-HDL cholesterol, the anion gap and
//! albumin-corrected calcium.
//!
//! Each equation is written once, here, with its citation; this file must not know about
//! units other than the ones in its types, nor about the reference table.

use super::Sex;

/// A mass concentration in mg/dL.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct MgPerDl(pub f64);

/// A mass concentration in g/dL.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct GPerDl(pub f64);

/// A substance concentration in mmol/L.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct MmolPerL(pub f64);

/// Age in whole or fractional years.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Years(pub f64);

/// eGFR in mL/min/1.73 m².
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Egfr(pub f64);

/// CKD-EPI 2021 creatinine equation without race (Inker LA et al., N Engl J Med
/// 2021;385:1737–1749): 142 × min(Scr/κ, 1)^α × max(Scr/κ, 1)^−1.200 × 0.9938^age
/// × 1.012 [if female]; κ 0.7 (female) or 0.9 (male); α −0.241 (female) or −0.302 (male).
pub fn ckd_epi_2021(creatinine: MgPerDl, age: Years, sex: Sex) -> Egfr {
    let (kappa, alpha, sex_factor) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
    };
    let ratio = creatinine.0 / kappa;
    Egfr(
        142.0
            * ratio.min(1.0).powf(alpha)
            * ratio.max(1.0).powf(-1.200)
            * 0.9938_f64.powf(age.0)
            * sex_factor,
    )
}

/// The KDIGO 2012 GFR category (Kidney Int Suppl 2013;3:1–150, Table 5) and its wording.
pub fn kdigo_gfr_category(egfr: Egfr) -> (&'static str, &'static str) {
    match egfr.0 {
        g if g >= 90.0 => ("G1", "normal or high"),
        g if g >= 60.0 => ("G2", "mildly decreased"),
        g if g >= 45.0 => ("G3a", "mildly to moderately decreased"),
        g if g >= 30.0 => ("G3b", "moderately to severely decreased"),
        g if g >= 15.0 => ("G4", "severely decreased"),
        _ => ("G5", "kidney failure range"),
    }
}

/// Friedewald triglycerides limit: the equation is not valid at 400 mg/dL or above.
pub const FRIEDEWALD_MAX_TG: MgPerDl = MgPerDl(400.0);

/// Sampson's equation was validated up to this triglyceride level (JAMA Cardiol 2020).
pub const SAMPSON_MAX_TG: MgPerDl = MgPerDl(800.0);

/// Friedewald (Clin Chem 1972;18:499–502): LDL = TC − HDL − TG/5, in mg/dL; `None` when
/// triglycerides are 400 mg/dL or more.
pub fn ldl_friedewald(total: MgPerDl, hdl: MgPerDl, tg: MgPerDl) -> Option<MgPerDl> {
    (tg < FRIEDEWALD_MAX_TG).then(|| MgPerDl(total.0 - hdl.0 - tg.0 / 5.0))
}

/// Sampson / NIH equation 2 (JAMA Cardiol 2020;5:540–548), in mg/dL:
/// LDL = TC/0.948 − HDL/0.971 − (TG/8.56 + TG × non-HDL/2140 − TG²/16100) − 9.44.
pub fn ldl_sampson(total: MgPerDl, hdl: MgPerDl, tg: MgPerDl) -> MgPerDl {
    let non_hdl = total.0 - hdl.0;
    let tg = tg.0;
    MgPerDl(
        total.0 / 0.948
            - hdl.0 / 0.971
            - (tg / 8.56 + tg * non_hdl / 2140.0 - tg * tg / 16100.0)
            - 9.44,
    )
}

/// Non-HDL cholesterol = total − HDL (NCEP ATP III 2002).
pub fn non_hdl(total: MgPerDl, hdl: MgPerDl) -> MgPerDl {
    MgPerDl(total.0 - hdl.0)
}

/// Anion gap = Na − (Cl + HCO3), without potassium (Kraut & Madias, CJASN 2007).
pub fn anion_gap(sodium: MmolPerL, chloride: MmolPerL, bicarbonate: MmolPerL) -> MmolPerL {
    MmolPerL(sodium.0 - (chloride.0 + bicarbonate.0))
}

/// Albumin-corrected calcium (Payne RB et al., BMJ 1973;4:643–646), in mg/dL:
/// Ca + 0.8 × (4.0 − albumin in g/dL).
pub fn corrected_calcium(calcium: MgPerDl, albumin: GPerDl) -> MgPerDl {
    MgPerDl(calcium.0 + 0.8 * (4.0 - albumin.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "{actual} is not within {tolerance} of {expected}"
        );
    }

    #[test]
    fn ckd_epi_2021_matches_a_hand_computation_for_a_woman_of_50_with_creatinine_0_8() {
        // Inker 2021 gives no worked example; by hand from its published coefficients:
        // κ = 0.7, Scr/κ = 0.8/0.7 = 1.142857; min(…,1)^−0.241 = 1;
        // max(…,1)^−1.200 = exp(−1.2 × ln 1.142857) = exp(−1.2 × 0.133531) = 0.851941;
        // 0.9938^50 = exp(50 × ln 0.9938) = exp(50 × −0.0062193) = 0.732740;
        // 142 × 0.851941 × 0.732740 × 1.012 = 89.71 mL/min/1.73 m².
        let egfr = ckd_epi_2021(MgPerDl(0.8), Years(50.0), Sex::Female);
        close(egfr.0, 89.71, 0.01);
        assert_eq!(kdigo_gfr_category(egfr).0, "G2");
    }

    #[test]
    fn ckd_epi_2021_matches_a_hand_computation_for_a_man_of_60_with_creatinine_1_0() {
        // κ = 0.9, Scr/κ = 1.111111; max(…,1)^−1.200 = exp(−1.2 × 0.105361) = 0.881234;
        // 0.9938^60 = exp(−0.373158) = 0.688557; 142 × 0.881234 × 0.688557 = 86.16.
        close(
            ckd_epi_2021(MgPerDl(1.0), Years(60.0), Sex::Male).0,
            86.16,
            0.01,
        );
    }

    #[test]
    fn ckd_epi_2021_below_kappa_uses_alpha() {
        // Man of 40, Scr 0.7: Scr/κ = 0.777778; 0.777778^−0.302 = exp(0.302 × 0.251314)
        // = 1.078851; 0.9938^40 = exp(−0.248772) = 0.779758;
        // 142 × 1.078851 × 0.779758 = 119.46.
        close(
            ckd_epi_2021(MgPerDl(0.7), Years(40.0), Sex::Male).0,
            119.46,
            0.01,
        );
    }

    #[test]
    fn egfr_falls_as_creatinine_or_age_rises() {
        for sex in [Sex::Female, Sex::Male] {
            let mut previous = f64::INFINITY;
            for step in 1..=200 {
                let egfr = ckd_epi_2021(MgPerDl(f64::from(step) * 0.05), Years(50.0), sex).0;
                assert!(egfr < previous, "creatinine step {step}");
                previous = egfr;
            }
            let mut previous = f64::INFINITY;
            for age in 18..=120 {
                let egfr = ckd_epi_2021(MgPerDl(1.0), Years(f64::from(age)), sex).0;
                assert!(egfr < previous, "age {age}");
                previous = egfr;
            }
        }
    }

    #[test]
    fn kdigo_categories_start_at_their_published_lower_bounds() {
        // KDIGO 2012: G1 ≥90, G2 60–89, G3a 45–59, G3b 30–44, G4 15–29, G5 <15.
        let stage = |g: f64| kdigo_gfr_category(Egfr(g)).0;
        assert_eq!(stage(90.0), "G1");
        assert_eq!(stage(89.9), "G2");
        assert_eq!(stage(60.0), "G2");
        assert_eq!(stage(59.9), "G3a");
        assert_eq!(stage(45.0), "G3a");
        assert_eq!(stage(44.9), "G3b");
        assert_eq!(stage(30.0), "G3b");
        assert_eq!(stage(29.9), "G4");
        assert_eq!(stage(15.0), "G4");
        assert_eq!(stage(14.9), "G5");
    }

    #[test]
    fn friedewald_subtracts_a_fifth_of_triglycerides_and_refuses_400_or_more() {
        // By hand: 200 − 50 − 150/5 = 120 mg/dL.
        let ldl = ldl_friedewald(MgPerDl(200.0), MgPerDl(50.0), MgPerDl(150.0));
        assert_eq!(ldl, Some(MgPerDl(120.0)));
        assert!(ldl_friedewald(MgPerDl(200.0), MgPerDl(50.0), MgPerDl(400.0)).is_none());
        assert!(ldl_friedewald(MgPerDl(200.0), MgPerDl(50.0), MgPerDl(399.9)).is_some());
    }

    #[test]
    fn sampson_matches_a_hand_computation_from_the_published_equation() {
        // TC 200, HDL 50, TG 150 mg/dL, non-HDL 150:
        // 200/0.948 = 210.9705; 50/0.971 = 51.4933;
        // 150/8.56 = 17.5234; 150 × 150/2140 = 10.5140; 150²/16100 = 1.3975;
        // 210.9705 − 51.4933 − (17.5234 + 10.5140 − 1.3975) − 9.44 = 123.40 mg/dL.
        close(
            ldl_sampson(MgPerDl(200.0), MgPerDl(50.0), MgPerDl(150.0)).0,
            123.40,
            0.01,
        );
        // A hypertriglyceridaemic case, TC 250, HDL 35, TG 500 (non-HDL 215):
        // 263.7131 − 36.0453 − (58.4112 + 50.2336 − 15.5280) − 9.44 = 125.11 mg/dL.
        close(
            ldl_sampson(MgPerDl(250.0), MgPerDl(35.0), MgPerDl(500.0)).0,
            125.11,
            0.01,
        );
    }

    #[test]
    fn anion_gap_non_hdl_and_corrected_calcium_follow_their_formulas() {
        // 140 − (104 + 24) = 12 mmol/L.
        let gap = anion_gap(MmolPerL(140.0), MmolPerL(104.0), MmolPerL(24.0));
        assert_eq!(gap, MmolPerL(12.0));
        assert_eq!(non_hdl(MgPerDl(200.0), MgPerDl(50.0)), MgPerDl(150.0));
        // Payne: 8.0 + 0.8 × (4.0 − 2.5) = 9.2 mg/dL.
        close(corrected_calcium(MgPerDl(8.0), GPerDl(2.5)).0, 9.2, 1e-9);
        // Albumin above 4.0 corrects downwards: 10.0 + 0.8 × (4.0 − 4.5) = 9.6.
        close(corrected_calcium(MgPerDl(10.0), GPerDl(4.5)).0, 9.6, 1e-9);
    }
}
