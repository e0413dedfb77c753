//! A cumulative probability of default over a horizon mapped to a rating grade, on S&P Global
//! Ratings' average cumulative default rates of rated corporates.
//!
//! The table: S&P Global Ratings, "Default, Transition, and Recovery: 2024 Annual Global
//! Corporate Default And Rating Transition Study" (27 March 2025), Table 24, "Global corporate
//! average cumulative default rates, 1981-2024" (%): issuer-weighted averages of the static
//! pools formed each year since 1981, by rating category (AAA, AA, A, BBB, BB, B, CCC/C; no
//! modifiers) after 1 to 15 years. Only the seven category rows are kept (not the
//! investment-grade, speculative-grade and all-rated rows). The figures below are the table's
//! as printed, in percent, as given by two independent transcriptions of it that agree digit
//! for digit.
//!
//! The mapping, at a horizon of `h` years:
//!
//! 1. Each grade's rate at `h`: linear between integer horizons (from 0 at 0 years); beyond
//!    15 years each grade's survival keeps falling at its rate from year 14 to year 15 (a
//!    constant hazard), S(h) = S(15) · (S(15) / S(14))^(h − 15). Horizons are read within
//!    [0, [`MAX_RATING_HORIZON_YEARS`]].
//! 2. Rates are made to rise from grade to grade: a grade's rate is capped at the next worse
//!    grade's (the table's AAA row is above its AA row from 3 to 10 years — 0.13 % against
//!    0.11 % at 3 years — from a handful of AAA defaults), and a printed 0.00 counts as
//!    0.005 %, half its last digit, so that logs stay finite.
//! 3. The grade is the nearest on log PD: the boundary between two adjacent grades is the
//!    geometric mean of their rates, and a PD at or above a boundary takes the worse grade.
//!    A PD of 0 is AAA; a PD above the B / CCC/C boundary (a PD of 1 included) is CCC/C.
//!
//! A published rate at a whole number of years maps to its own grade, except where step 2
//! capped it (AAA's rates at 3 to 10 years, above AA's, map to AA or A).

use serde::Serialize;

/// Longest horizon read (years); longer horizons are read at it.
pub const MAX_RATING_HORIZON_YEARS: f64 = 20.0;

/// Horizons of the table (years 1 to 15).
const TABLE_YEARS: usize = 15;

/// Table 24's average cumulative default rates (%) by grade, from AAA to CCC/C, after 1 to
/// 15 years.
const CUMULATIVE_DEFAULT_PERCENT: [[f64; TABLE_YEARS]; Grade::ALL.len()] = [
    // AAA
    [
        0.00, 0.03, 0.13, 0.23, 0.34, 0.44, 0.49, 0.57, 0.62, 0.67, 0.70, 0.73, 0.75, 0.81, 0.86,
    ],
    // AA
    [
        0.02, 0.05, 0.11, 0.19, 0.28, 0.37, 0.45, 0.52, 0.59, 0.65, 0.71, 0.76, 0.81, 0.86, 0.90,
    ],
    // A
    [
        0.05, 0.11, 0.19, 0.29, 0.39, 0.51, 0.65, 0.78, 0.90, 1.03, 1.14, 1.25, 1.35, 1.45, 1.56,
    ],
    // BBB
    [
        0.14, 0.38, 0.67, 1.01, 1.36, 1.71, 2.00, 2.30, 2.58, 2.86, 3.13, 3.35, 3.56, 3.78, 4.01,
    ],
    // BB
    [
        0.56, 1.76, 3.12, 4.48, 5.75, 6.93, 7.94, 8.86, 9.68, 10.44, 11.06, 11.65, 12.17, 12.60,
        13.05,
    ],
    // B
    [
        2.93, 6.93, 10.46, 13.31, 15.60, 17.45, 18.90, 20.06, 21.08, 22.02, 22.82, 23.43, 24.02,
        24.57, 25.11,
    ],
    // CCC/C
    [
        26.12, 35.92, 41.32, 44.35, 46.53, 47.57, 48.61, 49.29, 49.89, 50.43, 50.85, 51.32, 51.86,
        52.26, 52.30,
    ],
];

/// The rate a printed 0.00 % stands for (fraction): half its last digit.
const ZERO_PRINTED_RATE: f64 = 0.005 / 100.0;

/// A rating category of the table, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Grade {
    /// AAA.
    #[serde(rename = "AAA")]
    Aaa,
    /// AA.
    #[serde(rename = "AA")]
    Aa,
    /// A.
    #[serde(rename = "A")]
    A,
    /// BBB.
    #[serde(rename = "BBB")]
    Bbb,
    /// BB.
    #[serde(rename = "BB")]
    Bb,
    /// B.
    #[serde(rename = "B")]
    B,
    /// CCC to C.
    #[serde(rename = "CCC/C")]
    CccC,
}

impl Grade {
    /// Every grade, best first.
    pub const ALL: [Grade; 7] = [
        Grade::Aaa,
        Grade::Aa,
        Grade::A,
        Grade::Bbb,
        Grade::Bb,
        Grade::B,
        Grade::CccC,
    ];

    /// The grade as S&P writes it.
    pub fn label(self) -> &'static str {
        match self {
            Grade::Aaa => "AAA",
            Grade::Aa => "AA",
            Grade::A => "A",
            Grade::Bbb => "BBB",
            Grade::Bb => "BB",
            Grade::B => "B",
            Grade::CccC => "CCC/C",
        }
    }

    /// Whether the grade is investment grade (BBB or better).
    pub fn investment_grade(self) -> bool {
        self <= Grade::Bbb
    }

    /// The table's average cumulative default rate of the grade after `horizon_years`
    /// (fraction; interpolated and extrapolated as the module's documentation says, not
    /// made to rise from grade to grade).
    pub fn cumulative_default_rate(self, horizon_years: f64) -> f64 {
        let rates = &CUMULATIVE_DEFAULT_PERCENT[self as usize];
        let rate_after = |year: usize| {
            if year == 0 {
                0.0
            } else {
                rates[year - 1] / 100.0
            }
        };
        let h = horizon_years.clamp(0.0, MAX_RATING_HORIZON_YEARS);
        if h <= TABLE_YEARS as f64 {
            let below = (h.floor() as usize).min(TABLE_YEARS - 1);
            let fraction = h - below as f64;
            (1.0 - fraction) * rate_after(below) + fraction * rate_after(below + 1)
        } else {
            let survival_last = 1.0 - rate_after(TABLE_YEARS);
            let survival_before = 1.0 - rate_after(TABLE_YEARS - 1);
            let yearly_survival = survival_last / survival_before;
            1.0 - survival_last * yearly_survival.powf(h - TABLE_YEARS as f64)
        }
    }
}

/// A cumulative PD mapped to its grade.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RatingGrade {
    /// The grade.
    pub grade: Grade,
    /// Whether it is investment grade.
    pub investment_grade: bool,
    /// The horizon read (years, within [0, [`MAX_RATING_HORIZON_YEARS`]]).
    pub horizon_years: f64,
    /// The table's cumulative default rate of the grade at the horizon (fraction).
    pub grade_cumulative_default_rate: f64,
    /// The PDs mapped to the grade at this horizon: from this (inclusive; 0 for AAA)...
    pub pd_from: f64,
    /// ... to this (exclusive; 1, inclusive, for CCC/C).
    pub pd_to: f64,
}

/// The grade of a cumulative probability of default `cumulative_pd` (fraction) over
/// `horizon_years` (see the module's documentation).
pub fn rating_grade(cumulative_pd: f64, horizon_years: f64) -> RatingGrade {
    let horizon_years = horizon_years.clamp(0.0, MAX_RATING_HORIZON_YEARS);
    // Rates rising from grade to grade, worst first, then the boundaries between neighbours.
    let mut rates = Grade::ALL.map(|grade| {
        grade
            .cumulative_default_rate(horizon_years)
            .max(ZERO_PRINTED_RATE)
    });
    for g in (0..rates.len() - 1).rev() {
        rates[g] = rates[g].min(rates[g + 1]);
    }
    let boundary = |g: usize| (rates[g] * rates[g + 1]).sqrt();
    let g = (0..rates.len() - 1)
        .find(|&g| cumulative_pd < boundary(g))
        .unwrap_or(rates.len() - 1);
    let grade = Grade::ALL[g];
    RatingGrade {
        grade,
        investment_grade: grade.investment_grade(),
        horizon_years,
        grade_cumulative_default_rate: grade.cumulative_default_rate(horizon_years),
        pd_from: if g == 0 { 0.0 } else { boundary(g - 1) },
        pd_to: if g + 1 < rates.len() {
            boundary(g)
        } else {
            1.0
        },
    }
}
