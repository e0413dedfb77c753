//! Rating grades: the table's own rates map to their grades, a higher PD never gets a better
//! grade, the edges (PD 0 and 1) and the reading between and beyond the table's horizons.

use bitwatt_engine::{Grade, MAX_RATING_HORIZON_YEARS, rating_grade};

/// Horizons between, at and beyond the table's, in years.
const HORIZONS_YEARS: [f64; 9] = [0.25, 1.0, 2.5, 3.0, 5.0, 10.0, 15.0, 17.5, 20.0];

#[test]
fn rating_table_rates_map_to_their_own_grade() {
    for year in 1..=15 {
        let horizon = f64::from(year);
        for grade in Grade::ALL {
            let rate = grade.cumulative_default_rate(horizon);
            let rated = rating_grade(rate, horizon);
            // AAA's published rates are above AA's from 3 to 10 years: they read as AA or A.
            if grade == Grade::Aaa && (3..=10).contains(&year) {
                assert!(
                    [Grade::Aa, Grade::A].contains(&rated.grade),
                    "AAA at {year} years: {:?}",
                    rated.grade
                );
            } else {
                assert_eq!(rated.grade, grade, "{grade:?} at {year} years ({rate})");
            }
            assert_eq!(
                rated.grade_cumulative_default_rate,
                rated.grade.cumulative_default_rate(horizon)
            );
            assert!(rated.pd_from <= rate && rate < rated.pd_to.max(1.0));
        }
    }
    // Spot checks against the printed table (%).
    assert_eq!(Grade::Bbb.cumulative_default_rate(5.0), 1.36 / 100.0);
    assert_eq!(Grade::B.cumulative_default_rate(5.0), 15.60 / 100.0);
    assert_eq!(Grade::CccC.cumulative_default_rate(15.0), 52.30 / 100.0);
    assert_eq!(rating_grade(0.0136, 5.0).grade, Grade::Bbb);
}

#[test]
fn rating_grade_never_improves_as_the_pd_rises() {
    for horizon in HORIZONS_YEARS {
        let mut previous = Grade::Aaa;
        let mut pd_to = 0.0;
        for step in 0..=700 {
            // 1e-7 to 1 on a log grid.
            let pd = 10f64.powf(-7.0 + f64::from(step) / 100.0);
            let rated = rating_grade(pd, horizon);
            assert!(rated.grade >= previous, "PD {pd} at {horizon} years");
            assert!(rated.pd_from <= pd && (pd < rated.pd_to || rated.grade == Grade::CccC));
            assert!(rated.pd_from >= pd_to || rated.grade == previous);
            previous = rated.grade;
            pd_to = rated.pd_to;
        }
    }
}

#[test]
fn rating_edges_are_the_best_and_the_worst_grade() {
    for horizon in HORIZONS_YEARS {
        let best = rating_grade(0.0, horizon);
        assert_eq!(best.grade, Grade::Aaa, "{horizon}");
        assert_eq!(best.pd_from, 0.0);
        assert!(best.investment_grade);
        let worst = rating_grade(1.0, horizon);
        assert_eq!(worst.grade, Grade::CccC, "{horizon}");
        assert_eq!(worst.pd_to, 1.0);
        assert!(!worst.investment_grade);
    }
    assert_eq!(
        rating_grade(0.5, 40.0).horizon_years,
        MAX_RATING_HORIZON_YEARS
    );
}

#[test]
fn rating_reads_between_and_beyond_the_table() {
    // Linear between whole years, from 0 at 0 years.
    let halfway = Grade::Bbb.cumulative_default_rate(1.5);
    assert!((halfway - (0.14 + 0.38) / 2.0 / 100.0).abs() < 1e-15);
    assert!((Grade::Bb.cumulative_default_rate(0.5) - 0.56 / 2.0 / 100.0).abs() < 1e-15);
    // Beyond 15 years the last year's hazard goes on.
    for grade in Grade::ALL {
        let s14 = 1.0 - grade.cumulative_default_rate(14.0);
        let s15 = 1.0 - grade.cumulative_default_rate(15.0);
        let s17 = 1.0 - grade.cumulative_default_rate(17.0);
        assert!((s17 - s15 * (s15 / s14).powi(2)).abs() < 1e-12, "{grade:?}");
        let at_20 = grade.cumulative_default_rate(MAX_RATING_HORIZON_YEARS);
        assert!(at_20 > grade.cumulative_default_rate(15.0) && at_20 < 1.0);
        assert_eq!(grade.cumulative_default_rate(30.0), at_20);
    }
}

#[test]
fn rating_grade_serialises_its_label() {
    let json = serde_json::to_value(rating_grade(0.2, 3.0)).expect("serialises");
    assert_eq!(json["grade"], "B");
    assert_eq!(
        serde_json::to_value(rating_grade(0.9, 3.0)).expect("serialises")["grade"],
        "CCC/C"
    );
    for grade in Grade::ALL {
        assert_eq!(
            serde_json::to_value(grade).expect("serialises"),
            grade.label()
        );
    }
}
