//! Hand-computed finance cases on flat, hand-made market paths: DSCR and its covenant window,
//! LTV, each repayment schedule, sculpting, the debt service reserve, lock-up, covenant
//! breaches and cures, payment and maturity defaults.
//!
//! Most cases use a colocation lease for income because its rent does not depend on the
//! market: `critical_it_mw · 1 000 · rent_usd_per_kw_month` a month, less the landlord's opex.
//! A lease with no conversion feeding it was built before the start and sits in the parent;
//! a lease fed by a conversion funded by `ring_fenced` debt sits in a project company. A loan
//! drawn before the start month is on the books at the start, with its amortisation starting
//! in month 0. Rates are 12 % fixed, 1 % a month, unless said otherwise.

use bitwatt_engine::DefaultCause;

use crate::common::{Run, assert_close, assert_some_close, flat_path_for, scenario};

/// The file's header and one 100 MW site "S" (AI PUE 1.0: a conversion's load equals its
/// critical IT; no spot exposure and no tariff: power costs nothing).
pub fn header(horizon: u32, opening_cash_usd: f64) -> String {
    format!(
        r#"
schema_version = 1
name = "Hand case"
start_month = "2026-01"
horizon_months = {horizon}
opening_cash_usd = {opening_cash_usd}

[[site]]
name = "S"
grid_capacity_mw = 100
ai_pue = 1.0
market_exposure_percent = 0
"#
    )
}

/// A colocation lease at site S.
pub fn lease(name: &str, mw: f64, rent: f64, opex: f64, start: &str, escalator: f64) -> String {
    format!(
        r#"
[[colocation_lease]]
name = "{name}"
site = "S"
critical_it_mw = {mw}
rent_usd_per_kw_month = {rent}
opex_usd_per_kw_month = {opex}
escalator_percent_per_year = {escalator}
start_month = "{start}"
tenor_months = 240
[colocation_lease.tenant]
name = "Tenant"
default_probability_percent_per_year = 1
"#
    )
}

/// A conversion finished before the start (no capex in the horizon) feeding `feeds`, so that
/// ring-fenced debt funding it puts `feeds` in a project company.
fn finished_conversion(feeds: &str) -> String {
    format!(
        r#"
[[conversion]]
name = "C"
site = "S"
critical_it_mw = 10
start_month = "2025-01"
duration_months = 3
capex_usd_per_mw = 1000
feeds = "{feeds}"
"#
    )
}

/// A 12 % fixed term loan drawn in 2025-12 (on the books at the start).
fn term_loan(principal: f64, schedule: &str, maturity: &str, extra: &str) -> String {
    format!(
        r#"
[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = {principal}
fixed_rate_percent = 12
schedule = "{schedule}"
draw_month = "2025-12"
maturity_month = "{maturity}"
{extra}
"#
    )
}

/// DSCR of a month is CFADS over that month's scheduled debt service, n/a without debt
/// service; the covenant DSCR sums both over the trailing window (shortened to the months
/// since amortisation began), at calendar quarter ends only.
#[test]
fn dscr_of_a_month_and_of_the_covenant_window() {
    // Lease: 20 MW at $100 rent and $20 opex per kW-month: rent $2 M, opex $0.4 M,
    // CFADS $1.6 M a month (no tax, no overhead).
    // Loan: $24 M linear from month 0 (drawn 2025-12) to 2027-12 (t = 23): 24 repayments of
    // $1 M; interest 1 % of the opening balance (24 − t) $M: DS_t = 1 240 000 − 10 000 t.
    let text = header(36, 0.0)
        + &lease("L", 20.0, 100.0, 20.0, "2025-01", 0.0)
        + &term_loan(
            24_000_000.0,
            "linear",
            "2027-12",
            "[debt.covenants]\ndscr_window_months = 12\ndefault_dscr = 1.0",
        );
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    let service = |t: usize| 1_240_000.0 - 10_000.0 * t as f64;
    for t in 0..24 {
        assert_close(run.row(t).cfads_usd, 1_600_000.0, "CFADS");
        assert_close(run.row(t).debt_service_usd, service(t), "debt service");
        assert_some_close(run.row(t).dscr, 1_600_000.0 / service(t), "monthly DSCR");
    }
    // t = 5: 1.6 M / 1.19 M.
    assert_some_close(run.row(5).dscr, 1.6 / 1.19, "DSCR of month 5");
    // No debt service after maturity: n/a, never infinite.
    for t in 24..36 {
        assert_eq!(run.row(t).debt_service_usd, 0.0);
        assert_eq!(run.row(t).dscr, None, "month {t}");
    }
    // Tests at the quarter ends t = 2, 5, 8, … (amortisation starts 2026-01, a quarter start).
    for t in 0..36 {
        let tested = run.debt(t, 0).tested_dscr;
        if t < 2 || (t - 2) % 3 != 0 {
            assert_eq!(tested, None, "no test in month {t}");
        }
    }
    // t = 2: window shortened to the 3 months since amortisation began:
    // CFADS 4.8 M, DS 3 · 1 240 000 − 10 000 · (0 + 1 + 2) = 3 690 000.
    assert_some_close(
        run.debt(2, 0).tested_dscr,
        4.8e6 / 3.69e6,
        "DSCR tested at t = 2",
    );
    // t = 11: 12 months 0..=11: DS 14 880 000 − 10 000 · 66 = 14 220 000.
    assert_some_close(run.debt(11, 0).tested_dscr, 19.2e6 / 14.22e6, "t = 11");
    // t = 14: months 3..=14: DS 14 880 000 − 10 000 · 102 = 13 860 000.
    assert_some_close(run.debt(14, 0).tested_dscr, 19.2e6 / 13.86e6, "t = 14");
    // t = 23: the last month outstanding, months 12..=23: DS 14 880 000 − 10 000 · 210
    // = 12 780 000.
    assert_some_close(run.debt(23, 0).tested_dscr, 19.2e6 / 12.78e6, "t = 23");
    // Once repaid the loan's covenant lapses: t = 26 and later are not tested.
    assert_eq!(run.debt(26, 0).tested_dscr, None);
    assert_eq!(run.debt(35, 0).tested_dscr, None);
    // The lowest tested DSCR is the first.
    let (min, at) = run.summary.min_dscr.expect("tested");
    assert_close(min, 4.8e6 / 3.69e6, "min DSCR");
    assert_eq!(at, 2);
    assert_eq!(run.summary.covenant_breaches, 0);
}

/// LTV = secured balance / collateral value; with the treasury as the only collateral the
/// value is BTC held × price.
#[test]
fn ltv_of_a_loan_secured_on_treasury_btc() {
    // 100 BTC, a $1 M bullet loan secured on the treasury. Prices 50 k, 20 k, 10 k, 40 k:
    // collateral 5 M, 2 M, 1 M, 4 M; LTV 0.2, 0.5, 1.0, 0.25. The lease pays the interest
    // ($10 000 a month), so no BTC is sold.
    let text = header(4, 0.0)
        + &lease("L", 1.0, 100.0, 0.0, "2025-01", 0.0)
        + &term_loan(
            1_000_000.0,
            "bullet",
            "2030-12",
            "collateral = [\"treasury\"]",
        )
        + "\n[treasury]\nbtc_held = 100\n";
    let scenario = scenario(&text);
    let mut market = flat_path_for(&scenario);
    market.btc_price_usd = vec![50_000.0, 20_000.0, 10_000.0, 40_000.0];
    let run = Run::new(&scenario, &market);
    assert_eq!(run.summary.default, None);
    for (t, (collateral, ltv)) in [(5e6, 0.2), (2e6, 0.5), (1e6, 1.0), (4e6, 0.25)]
        .into_iter()
        .enumerate()
    {
        assert_close(run.row(t).btc_held, 100.0, "BTC held");
        assert_close(run.row(t).collateral_value_usd, collateral, "collateral");
        assert_some_close(run.row(t).ltv, ltv, "borrower LTV");
        assert_some_close(run.debt(t, 0).ltv, ltv, "loan LTV");
    }
    let (max, at) = run.summary.max_ltv.expect("secured debt");
    assert_close(max, 1.0, "max LTV");
    assert_eq!(at, 2);
}

/// The LTV covenant case: a $1 M loan against 100 treasury BTC, maximum LTV 80 %, with
/// `extra` appended.
fn ltv_case(extra: &str) -> String {
    header(4, 0.0)
        + &lease("L", 1.0, 100.0, 0.0, "2025-01", 0.0)
        + &term_loan(
            1_000_000.0,
            "bullet",
            "2030-12",
            "collateral = [\"treasury\"]\n[debt.covenants]\nmax_ltv_percent = 80\nequity_cures = 3",
        )
        + "\n[treasury]\nbtc_held = 100\n"
        + extra
}

/// An LTV covenant above its maximum at a test month is cured by prepaying the loan back to
/// the maximum where cash allows.
#[test]
fn ltv_covenant_breach_is_cured_by_prepayment() {
    // The first test (t = 2) finds 1.0: 1 M − 0.8 · 1 M = $200 000 prepaid out of the
    // $270 000 of cash (three months of rent less interest of $10 000).
    let scenario = scenario(&ltv_case(""));
    let mut market = flat_path_for(&scenario);
    market.btc_price_usd = vec![50_000.0, 20_000.0, 10_000.0, 40_000.0];
    let run = Run::new(&scenario, &market);
    assert!(run.summary.default.is_none());
    assert_eq!(run.summary.covenant_breaches, 1);
    assert_close(run.debt(2, 0).principal_paid_usd, 200_000.0, "prepaid");
    assert_some_close(run.debt(2, 0).ltv, 0.8, "back to the maximum");
}

/// An LTV breach that cash cannot cure is a default at the test month (no equity cure for
/// LTV).
#[test]
fn ltv_covenant_breach_is_a_default_at_the_test_month() {
    // As above, but every month's free cash is paid out: $90 000 at the test cannot prepay
    // $200 000.
    let text = ltv_case("\n[distributions]\nexcess_cash_percent = 100\n");
    let scenario = scenario(&text);
    let mut market = flat_path_for(&scenario);
    market.btc_price_usd = vec![50_000.0, 20_000.0, 10_000.0, 40_000.0];
    let run = Run::new(&scenario, &market);
    let event = run.summary.default.expect("defaults");
    assert_eq!(event.month_index, 2);
    assert_eq!(event.entity, 0);
    assert_eq!(event.cause, DefaultCause::LtvCovenant);
    assert_eq!(run.summary.months_run, 3);
    assert_eq!(run.summary.covenant_breaches, 1);
    assert_eq!(run.summary.cures_used, 0);
    assert_some_close(run.debt(2, 0).ltv, 1.0, "loan LTV at the default");
    let outcome = run.summary.debt_outcomes()[0];
    assert_eq!(outcome.default, Some(event));
    assert_close(outcome.exposure_at_default_usd, 1_000_000.0, "EAD");
    assert_close(outcome.collateral_at_default_usd, 1_000_000.0, "collateral");
}

/// Bullet: interest only, then the whole balance at maturity — due, but outside the debt
/// service a DSCR covers.
#[test]
fn bullet_schedule_repays_everything_at_maturity() {
    // $12 M at 1 % a month, maturity 2026-06 (t = 5): interest 120 000 in months 0..=5,
    // principal 0 then 12 M. Cash: 10 M opening + 6 · (1.6 M − 0.12 M) − 12 M = 6.88 M.
    let text = header(8, 10_000_000.0)
        + &lease("L", 20.0, 100.0, 20.0, "2025-01", 0.0)
        + &term_loan(12_000_000.0, "bullet", "2026-06", "");
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    for t in 0..5 {
        let m = run.debt(t, 0);
        assert_eq!(m.principal_due_usd, 0.0, "month {t}");
        assert_close(m.interest_paid_usd, 120_000.0, "interest");
        assert_close(m.closing_balance_usd, 12e6, "balance");
    }
    let m = run.debt(5, 0);
    assert_close(m.principal_due_usd, 12e6, "principal at maturity");
    assert_close(m.principal_paid_usd, 12e6, "paid at maturity");
    assert_close(
        m.debt_service_usd,
        120_000.0,
        "debt service at maturity: interest",
    );
    assert_eq!(m.closing_balance_usd, 0.0);
    for t in 6..8 {
        assert_eq!(run.debt(t, 0).debt_service_usd, 0.0);
        assert_eq!(run.row(t).dscr, None);
    }
    assert_close(run.row(5).cash_usd, 6.88e6, "cash after maturity");
}

/// Linear: equal principal each month from the month after the draw to maturity inclusive;
/// the draw pays the upfront fee.
#[test]
fn linear_schedule_repays_equal_principal_to_maturity() {
    // $11 M drawn in month 0 with a 100 bp fee ($110 000); amortisation from t = 1 to the
    // maturity 2026-12 (t = 11): 11 payments of $1 M. Interest: none in month 0 (drawn during
    // it), then 1 % of (12 − t) $M.
    let text = header(13, 0.0)
        + &lease("L", 20.0, 100.0, 20.0, "2025-01", 0.0)
        + r#"
[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 11_000_000
fixed_rate_percent = 12
schedule = "linear"
draw_month = "2026-01"
maturity_month = "2026-12"
upfront_fee_bps = 100
"#;
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    let m0 = run.debt(0, 0);
    assert_close(m0.draw_usd, 11e6, "draw");
    assert_eq!(m0.interest_paid_usd, 0.0);
    assert_eq!(m0.principal_due_usd, 0.0);
    assert_close(run.row(0).debt_draws_usd, 11e6, "draws");
    assert_close(run.row(0).fees_usd, 110_000.0, "upfront fee");
    for t in 1..=11 {
        let m = run.debt(t, 0);
        assert_close(m.principal_due_usd, 1e6, "principal");
        assert_close(m.principal_paid_usd, 1e6, "principal paid");
        assert_close(m.interest_paid_usd, (12 - t) as f64 * 10_000.0, "interest");
        assert_close(m.closing_balance_usd, (11 - t) as f64 * 1e6, "balance");
    }
    assert_eq!(run.debt(12, 0).debt_service_usd, 0.0);
    assert_close(
        run.summary.debt_outcomes()[0].principal_paid_usd,
        11e6,
        "repaid",
    );
}

/// Custom: the given percentages of the principal from the first amortisation month, the
/// rest at maturity.
#[test]
fn custom_schedule_repays_the_given_percentages_then_the_rest() {
    // $10 M, amortisation from 2026-02 (t = 1): 10 %, 20 %, 30 % → 1 M, 2 M, 3 M in t = 1..=3,
    // nothing in t = 4, the remaining 4 M at the maturity 2026-06 (t = 5). Interest 1 % of the
    // opening balance: 100 k, 100 k, 90 k, 70 k, 40 k, 40 k.
    let text = header(7, 10_000_000.0)
        + &lease("L", 20.0, 100.0, 20.0, "2025-01", 0.0)
        + &term_loan(
            10_000_000.0,
            "custom",
            "2026-06",
            "custom_repayment_percent = [10, 20, 30]\namortisation_start_month = \"2026-02\"",
        );
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    let principal = [0.0, 1e6, 2e6, 3e6, 0.0, 4e6, 0.0];
    let interest = [
        100_000.0, 100_000.0, 90_000.0, 70_000.0, 40_000.0, 40_000.0, 0.0,
    ];
    for t in 0..7 {
        let m = run.debt(t, 0);
        assert_close(m.principal_due_usd, principal[t], "principal");
        assert_close(m.principal_paid_usd, principal[t], "principal paid");
        assert_close(m.interest_paid_usd, interest[t], "interest");
    }
    assert_eq!(run.debt(5, 0).closing_balance_usd, 0.0);
}

/// A sculpted project loan in a project company: 10 MW converted in 2026-01..=03 at
/// $20 M/MW ($200 M, $66.7 M a month), the lease from 2026-04 at $150 rent and $30 opex per
/// kW-month (CFADS $1.2 M a month), target DSCR 1.25 (debt service $960 000 a month),
/// 12 % fixed, maturity 2030-03 (t = 50): 48 amortisation months t = 3..=50.
fn sculpted_project(loan_to_cost_percent: f64) -> String {
    header(60, 250_000_000.0)
        + &lease("L", 10.0, 150.0, 30.0, "2026-04", 0.0)
        + &format!(
            r#"
[[conversion]]
name = "C"
site = "S"
critical_it_mw = 10
start_month = "2026-01"
duration_months = 3
capex_usd_per_mw = 20_000_000
feeds = "L"

[[debt]]
name = "Project loan"
kind = "project_finance"
funds = "C"
loan_to_cost_percent = {loan_to_cost_percent}
target_dscr = 1.25
fixed_rate_percent = 12
schedule = "sculpted"
maturity_month = "2030-03"
ring_fenced = true
[debt.covenants]
dscr_window_months = 12
lock_up_dscr = 1.10
default_dscr = 1.0
"#
        )
}

/// Balance at completion per dollar committed: the three equal draws with interest
/// capitalised at 1 % a month, (1.01² + 1.01 + 1) / 3.
const BALANCE_PER_COMMITMENT: f64 = (1.0201 + 1.01 + 1.0) / 3.0;

/// PV at completion of $960 000 a month for 48 months at 1 % a month (first payment one month
/// after): the debt the sculpted service can carry.
fn sculpted_capacity_usd() -> f64 {
    960_000.0 * (1.0 - 1.01_f64.powi(-48)) / 0.01
}

/// Sculpted with the DSCR capacity binding (100 % loan-to-cost is more than the CFADS can
/// carry): debt service = CFADS / target DSCR in every amortisation month, the balance is
/// gone at maturity, and every covenant test finds exactly the target.
#[test]
fn sculpted_loan_hits_its_target_dscr_when_capacity_binds() {
    let scenario = scenario(&sculpted_project(100.0));
    let market = flat_path_for(&scenario);
    let run = Run::new(&scenario, &market);
    assert_eq!(run.summary.default, None);
    assert_eq!(
        run.borrower.entities, 2,
        "the project company holds the loan"
    );
    let capacity = sculpted_capacity_usd(); // ≈ 36.45 M, far below 200 M
    let commitment = capacity / BALANCE_PER_COMMITMENT;
    assert_close(
        run.borrower.debts[0].commitment_usd,
        commitment,
        "commitment",
    );
    // Construction: draws of a third of the commitment, interest capitalised.
    assert_close(run.debt(0, 0).draw_usd, commitment / 3.0, "draw 0");
    assert_eq!(run.debt(0, 0).interest_capitalised_usd, 0.0);
    assert_close(
        run.debt(1, 0).interest_capitalised_usd,
        commitment / 3.0 * 0.01,
        "capitalised interest",
    );
    assert_close(
        run.debt(2, 0).closing_balance_usd,
        capacity,
        "balance at completion",
    );
    // Equity funds the rest of the capex: 200 M in all, less the draws.
    let equity: f64 = (0..3).map(|t| run.row(t).equity_raised_usd).sum();
    assert_close(
        equity,
        0.0,
        "no new shares: the parent's cash funds the project",
    );
    assert_close(
        250e6 - run.row(2).cash_usd,
        200e6 - commitment,
        "the parent's cash paid the rest",
    );
    // Amortisation: debt service = 1.2 M / 1.25 every month, interest 1 % of the balance.
    let mut balance = capacity;
    for t in 3..=50 {
        let m = run.debt(t, 0);
        assert_close(m.debt_service_usd, 960_000.0, "sculpted debt service");
        assert_close(m.interest_paid_usd, balance * 0.01, "interest");
        balance -= 960_000.0 - balance * 0.01;
        assert!((m.closing_balance_usd - balance).abs() <= 1e-6 * capacity);
    }
    assert!(run.debt(50, 0).closing_balance_usd == 0.0);
    // Tests from the first full quarter after completion (2026-06, t = 5), each exactly 1.25.
    for t in (5..=50).step_by(3) {
        assert_some_close(run.debt(t, 0).tested_dscr, 1.25, "tested DSCR");
    }
    // Once repaid (t = 50) the covenant lapses: no test at t = 53 or later.
    assert_eq!(run.debt(53, 0).tested_dscr, None);
    assert_eq!(run.debt(59, 0).tested_dscr, None);
    let (min, _) = run.summary.min_dscr.expect("tested");
    assert_close(min, 1.25, "min DSCR");
    assert_eq!(run.summary.lock_up_months, 0);
}

/// Sculpted with loan-to-cost binding (10 % of cost, less than the DSCR capacity): the
/// service keeps the CFADS shape scaled down, so the DSCR is the target over the scale.
#[test]
fn sculpted_loan_capped_by_cost_keeps_the_shape_with_a_higher_dscr() {
    let scenario = scenario(&sculpted_project(10.0));
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    let commitment = 20e6; // 10 % of 200 M
    let balance = commitment * BALANCE_PER_COMMITMENT;
    let scale = balance / sculpted_capacity_usd();
    assert_close(
        run.borrower.debts[0].commitment_usd,
        commitment,
        "commitment",
    );
    assert_close(
        run.debt(2, 0).closing_balance_usd,
        balance,
        "balance at completion",
    );
    for t in 3..=50 {
        assert_close(
            run.debt(t, 0).debt_service_usd,
            960_000.0 * scale,
            "service",
        );
    }
    for t in (5..=50).step_by(3) {
        assert_some_close(run.debt(t, 0).tested_dscr, 1.25 / scale, "tested DSCR");
    }
}

/// The parent funds its project company's equity as it funds its own growth capex: from cash
/// beyond its debt service and minimum cash, then with new sponsor equity, never by
/// defaulting.
#[test]
fn project_equity_comes_from_parent_cash_then_new_equity() {
    // The sculpted project at 10 % loan-to-cost: $20 M committed, drawn $6.67 M a month
    // with the $66.67 M capex of t = 0..=2, so the parent owes the project $60 M a month.
    // With $100 M of cash: t = 0 from cash (40 M left), t = 1 40 M from cash and 20 M of
    // new equity, t = 2 60 M of new equity.
    let text = sculpted_project(10.0).replace(
        "opening_cash_usd = 250000000",
        "opening_cash_usd = 100000000",
    );
    let scenario = scenario(&text);
    assert_eq!(scenario.opening_cash_usd, 100e6);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    for (t, (draws, equity, cash)) in [
        (20e6 / 3.0, 0.0, 40e6),
        (20e6 / 3.0, 20e6, 0.0),
        (20e6 / 3.0, 60e6, 0.0),
    ]
    .into_iter()
    .enumerate()
    {
        assert_close(run.row(t).growth_capex_usd, 200e6 / 3.0, "capex");
        assert_close(run.row(t).debt_draws_usd, draws, "draws");
        assert_close(
            run.row(t).equity_raised_usd,
            equity,
            &format!("equity at t = {t}"),
        );
        assert_close(run.row(t).cash_usd, cash, &format!("cash at t = {t}"));
    }
}

/// A project company draws its reserve when its CFADS falls short and refills it from later
/// cash; the reserve target is the next `dsra_months` of scheduled debt service.
#[test]
fn dsra_is_drawn_in_a_shortfall_and_refilled_afterwards() {
    // A GPU cloud in a project company (its conversion finished in 2025): 1 000 GPUs, no
    // power cost (no spot exposure, no tariff), no opex, all merchant at the index $1 × the
    // utilisation: $730 500 a month (730.5 hours), nothing in t = 5 and 6 (utilisation 0).
    // A ring-fenced $12 M linear loan from t = 0 to 2027-12 (t = 23): principal $500 000,
    // interest 120 000 − 5 000 t, DS_t = 620 000 − 5 000 t. DSRA of 2 months.
    let text = header(24, 2_000_000.0)
        + r#"
[[conversion]]
name = "C"
site = "S"
critical_it_mw = 1
start_month = "2025-10"
duration_months = 2
capex_usd_per_mw = 1000
feeds = "G"

[[gpu_cloud]]
name = "G"
site = "S"
generation = "H100"
gpu_count = 1000
capex_usd_per_gpu = 30000
power_kw_per_gpu = 1.0
start_month = "2025-12"
opex_usd_per_gpu_hour = 0

[[debt]]
name = "Project loan"
kind = "term_loan"
principal_usd = 12_000_000
fixed_rate_percent = 12
schedule = "linear"
draw_month = "2025-12"
maturity_month = "2027-12"
funds = "C"
ring_fenced = true
dsra_months = 2
"#;
    let scenario = scenario(&text);
    let mut market = flat_path_for(&scenario);
    market.ai_utilisation[5] = 0.0;
    market.ai_utilisation[6] = 0.0;
    let run = Run::new(&scenario, &market);
    assert_eq!(run.summary.default, None);
    assert_eq!(run.borrower.entities, 2);
    for t in [0, 4, 7] {
        assert_close(run.row(t).gpu_revenue_usd, 730_500.0, "GPU revenue");
    }
    assert_eq!(run.row(5).gpu_revenue_usd, 0.0);
    // t = 0: the reserve is filled at the start of amortisation with the next two months'
    // service, t = 1 and 2: 615 000 + 610 000 = 1 225 000, net of what is released the same
    // month (the fill is sized on the balance before this month's payment, 620 000 + 615 000,
    // and the 10 000 above the target comes back after the payment).
    assert_close(
        run.row(0).dsra_funding_usd - run.row(0).dsra_release_usd,
        1_225_000.0,
        "initial fill",
    );
    // The target falls by 10 000 a month: 1 225 000 − 10 000 t while both months amortise.
    let expected_dsra = [
        1_225_000.0, // t = 0
        1_215_000.0,
        1_205_000.0,
        1_195_000.0,
        1_185_000.0, // t = 4
        590_000.0,   // t = 5: no revenue, service 595 000 drawn from the reserve
        0.0,         // t = 6: service 590 000 drawn: the reserve is empty
        145_500.0,   // t = 7: 730 500 − 585 000 left after service, all into the reserve
        296_000.0,   // t = 8: + 150 500
        451_500.0,   // t = 9: + 155 500
        612_000.0,   // t = 10: + 160 500
        777_500.0,   // t = 11: + 165 500
        948_000.0,   // t = 12: + 170 500
        1_095_000.0, // t = 13: full again: the target 1 225 000 − 130 000
        1_085_000.0, // t = 14: target again
    ];
    for (t, &dsra) in expected_dsra.iter().enumerate() {
        assert_close(
            run.debt(t, 0).dsra_usd,
            dsra,
            &format!("reserve at t = {t}"),
        );
        assert_close(run.row(t).dsra_usd, dsra, "consolidated reserve");
    }
    assert_close(run.row(5).dsra_release_usd, 595_000.0, "draw at t = 5");
    assert_eq!(run.row(5).dsra_funding_usd, 0.0);
    assert_close(run.row(6).dsra_release_usd, 590_000.0, "draw at t = 6");
    assert_close(run.row(7).dsra_funding_usd, 145_500.0, "refill at t = 7");
    assert_close(run.row(13).dsra_funding_usd, 147_000.0, "last refill");
    assert_close(run.row(14).dsra_release_usd, 10_000.0, "release at target");
    // Service was paid in full through the shortfall.
    for t in 5..=6 {
        assert_close(
            run.debt(t, 0).principal_paid_usd,
            500_000.0,
            "principal paid",
        );
    }
    // Near maturity: at t = 22 only t = 23 is left (505 000); after it nothing.
    assert_close(run.debt(22, 0).dsra_usd, 505_000.0, "reserve at t = 22");
    assert_eq!(run.debt(23, 0).dsra_usd, 0.0);
}

/// A project company whose DSCR is between the default and lock-up levels distributes
/// nothing: its cash stays trapped until a test passes again.
#[test]
fn lock_up_traps_project_cash_until_a_test_passes() {
    // Project company: a lease of 10 MW at $120 per kW-month (no opex) that started
    // 2025-04 with a 50 % escalator: $1.2 M a month until 2026-03, $1.8 M from 2026-04
    // (t = 3). A ring-fenced $100 M bullet: interest $1 M a month. Lock-up below 1.3,
    // default below 1.0, 3-month window. The parent pays out all its cash.
    // t = 0, 1: not yet tested: 0.2 M a month goes up to the parent and out.
    // t = 2: DSCR 3.6 / 3 = 1.2 → locked up; 0.2 M trapped.
    // t = 3, 4: still locked: 0.8 M a month trapped (1.8 M by t = 4).
    // t = 5: DSCR 5.4 / 3 = 1.8 → released: 1.8 M + 0.8 M = 2.6 M paid out.
    let text = header(9, 0.0)
        + &lease("L", 10.0, 120.0, 0.0, "2025-04", 50.0)
        + &finished_conversion("L")
        + &term_loan(
            100_000_000.0,
            "bullet",
            "2030-12",
            "funds = \"C\"\nring_fenced = true\n[debt.covenants]\ndscr_window_months = 3\n\
             lock_up_dscr = 1.3\ndefault_dscr = 1.0",
        )
        + "\n[distributions]\nexcess_cash_percent = 100\n";
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    assert_some_close(run.debt(2, 0).tested_dscr, 1.2, "DSCR at t = 2");
    assert_some_close(run.debt(5, 0).tested_dscr, 1.8, "DSCR at t = 5");
    assert_some_close(run.debt(8, 0).tested_dscr, 1.8, "DSCR at t = 8");
    let distributions = [0.2e6, 0.2e6, 0.0, 0.0, 0.0, 2.6e6, 0.8e6, 0.8e6, 0.8e6];
    let cash = [0.0, 0.0, 0.2e6, 1.0e6, 1.8e6, 0.0, 0.0, 0.0, 0.0];
    for t in 0..9 {
        assert_close(
            run.row(t).distributions_usd,
            distributions[t],
            &format!("distributions at t = {t}"),
        );
        assert_close(run.row(t).cash_usd, cash[t], &format!("cash at t = {t}"));
    }
    assert_eq!(run.summary.lock_up_months, 3);
    assert_eq!(run.summary.covenant_breaches, 0);
}

/// The parent's loan: a lease of 10 MW at $90 per kW-month ($0.9 M a month) against a $100 M
/// bullet at 12 % ($1 M interest), DSCR 0.9 below the 1.0 default level; $10 M opening cash
/// pays the difference.
fn breaching_parent(horizon: u32, cures: u32) -> String {
    header(horizon, 10_000_000.0)
        + &lease("L", 10.0, 90.0, 0.0, "2025-04", 0.0)
        + &term_loan(
            100_000_000.0,
            "bullet",
            "2030-12",
            &format!(
                "[debt.covenants]\ndscr_window_months = 3\ndefault_dscr = 1.0\nequity_cures = {cures}"
            ),
        )
}

/// A DSCR breach with a cure left is cured with equity: (default level × debt service −
/// CFADS) over the window; no default.
#[test]
fn dscr_breach_is_cured_with_equity() {
    // t = 2: DSCR 2.7 / 3.0 = 0.9 < 1.0; cure = 1.0 · 3 M − 2.7 M = 0.3 M of new equity.
    // Cash 10 M − 3 · 0.1 M + 0.3 M = 10 M.
    let scenario = scenario(&breaching_parent(5, 1));
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    assert_eq!(run.summary.default, None);
    assert_some_close(run.debt(2, 0).tested_dscr, 0.9, "tested DSCR");
    assert_eq!(run.summary.covenant_breaches, 1);
    assert_eq!(run.summary.cures_used, 1);
    assert_eq!(run.summary.debt_outcomes()[0].cures_used, 1);
    assert_close(run.row(2).equity_raised_usd, 300_000.0, "cure");
    assert_close(run.row(2).cash_usd, 10e6, "cash after the cure");
    assert_close(run.row(4).cash_usd, 9.8e6, "cash at the end");
}

/// A breach with no cure left is a DSCR covenant default at that test month.
#[test]
fn dscr_breach_without_cures_is_a_covenant_default() {
    // No cures: default at the first test, t = 2.
    let scenario_0 = scenario(&breaching_parent(12, 0));
    let run = Run::new(&scenario_0, &flat_path_for(&scenario_0));
    let event = run.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.entity, event.cause),
        (2, 0, DefaultCause::DscrCovenant)
    );
    assert_eq!(run.summary.months_run, 3);
    assert_eq!(run.summary.cures_used, 0);
    assert_eq!(run.summary.covenant_breaches, 1);
    assert_close(
        run.summary.debt_outcomes()[0].exposure_at_default_usd,
        100e6,
        "EAD: interest was paid",
    );
    // One cure: cured at t = 2, default at the next test, t = 5.
    let scenario_1 = scenario(&breaching_parent(12, 1));
    let run = Run::new(&scenario_1, &flat_path_for(&scenario_1));
    let event = run.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.entity, event.cause),
        (5, 0, DefaultCause::DscrCovenant)
    );
    assert_eq!(run.summary.covenant_breaches, 2);
    assert_eq!(run.summary.cures_used, 1);
    assert_eq!(run.summary.months_run, 6);
}

/// A ring-fenced project company breaching its DSCR covenant defaults on its own: its loan is
/// in default, the borrower is not; with a cure left, the parent's cash cures it.
#[test]
fn project_company_covenant_default_is_ring_fenced() {
    // Project lease $0.9 M a month, ring-fenced $100 M bullet ($1 M interest), a reserve of
    // 12 months of interest (12 M, filled at t = 0 with the parent's cash) pays the
    // shortfall. Tests at t = 2 and 5: 0.9.
    let project = |horizon: u32, cures: u32| {
        header(horizon, 20_000_000.0)
            + &lease("L", 10.0, 90.0, 0.0, "2025-04", 0.0)
            + &finished_conversion("L")
            + &term_loan(
                100_000_000.0,
                "bullet",
                "2030-12",
                &format!(
                    "funds = \"C\"\nring_fenced = true\ndsra_months = 12\n[debt.covenants]\n\
                     dscr_window_months = 3\ndefault_dscr = 1.0\nequity_cures = {cures}"
                ),
            )
    };
    let scenario_0 = scenario(&project(6, 0));
    let run = Run::new(&scenario_0, &flat_path_for(&scenario_0));
    assert_eq!(run.summary.default, None, "the borrower does not default");
    assert_eq!(run.summary.months_run, 6);
    let outcome = run.summary.debt_outcomes()[0];
    let event = outcome.default.expect("the project loan defaults");
    assert_eq!(
        (event.month_index, event.entity, event.cause),
        (2, 1, DefaultCause::DscrCovenant)
    );
    assert_close(
        run.debt(0, 0).dsra_usd,
        11.9e6,
        "reserve after the first draw",
    );
    // The reserve goes to the lenders with the estate.
    assert_close(
        outcome.dsra_at_default_usd,
        11.7e6,
        "reserve at the default",
    );
    assert_eq!(run.debt(2, 0).dsra_usd, 0.0);
    // After the default the project's lease no longer counts and its loan is not serviced.
    assert_eq!(run.row(3).lease_revenue_usd, 0.0);
    assert_eq!(run.row(3).interest_paid_usd, 0.0);
    assert_eq!(run.row(3).debt_usd, 0.0);

    // One cure, and no second test before the horizon.
    let scenario_1 = scenario(&project(5, 1));
    let run = Run::new(&scenario_1, &flat_path_for(&scenario_1));
    assert_eq!(run.summary.default, None);
    assert_eq!(run.summary.debt_outcomes()[0].default, None);
    assert_eq!(run.summary.cures_used, 1);
    assert_eq!(run.summary.covenant_breaches, 1);
    // The cure moves cash from the parent to the project company: nothing new comes in.
    assert_eq!(run.row(2).equity_raised_usd, 0.0);
}

/// When cash and then treasury BTC run out, the unpaid debt service is a payment default.
#[test]
fn payment_default_after_cash_and_treasury_run_out() {
    // Lease $0.5 M a month, $100 M bullet: $1 M interest; $1.2 M opening cash, 10 BTC at
    // $30 000. Cash after service: t = 0: 0.7 M, t = 1: 0.2 M; t = 2: 0.7 M against 1 M:
    // all 10 BTC sold for 0.3 M; t = 3: 0.5 M against 1 M and nothing left to sell: default,
    // with 0.5 M of interest unpaid.
    let text = header(12, 1_200_000.0)
        + &lease("L", 10.0, 50.0, 0.0, "2025-04", 0.0)
        + &term_loan(100_000_000.0, "bullet", "2030-12", "")
        + "\n[treasury]\nbtc_held = 10\n";
    let scenario = scenario(&text);
    let mut market = flat_path_for(&scenario);
    market.btc_price_usd = vec![30_000.0; 12];
    let run = Run::new(&scenario, &market);
    let event = run.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.entity, event.cause),
        (3, 0, DefaultCause::Payment)
    );
    assert_eq!(run.summary.months_run, 4);
    assert_close(run.row(1).cash_usd, 200_000.0, "cash at t = 1");
    assert_eq!(run.row(1).treasury_sales_usd, 0.0);
    assert_close(
        run.row(2).treasury_sales_usd,
        300_000.0,
        "BTC sold at t = 2",
    );
    assert_eq!(run.row(2).btc_held, 0.0);
    assert_close(run.row(2).cash_usd, 0.0, "cash at t = 2");
    assert_close(
        run.debt(3, 0).interest_paid_usd,
        500_000.0,
        "interest paid at t = 3",
    );
    let outcome = run.summary.debt_outcomes()[0];
    assert_eq!(outcome.default, Some(event));
    assert_close(outcome.exposure_at_default_usd, 100.5e6, "EAD");
}

/// A bullet the borrower cannot repay at maturity is a maturity default; the cash there is
/// paid to the lender first.
#[test]
fn unpaid_bullet_at_maturity_is_a_maturity_default() {
    // Lease $0.5 M a month, $10 M bullet at 12 % ($0.1 M interest) due 2026-06 (t = 5), no
    // opening cash: 0.4 M a month builds 2.0 M by t = 4; at t = 5 the 2.5 M pays the interest
    // and 2.4 M of principal; 7.6 M is left unpaid.
    let text = header(12, 0.0)
        + &lease("L", 10.0, 50.0, 0.0, "2025-04", 0.0)
        + &term_loan(10_000_000.0, "bullet", "2026-06", "");
    let scenario = scenario(&text);
    let run = Run::new(&scenario, &flat_path_for(&scenario));
    let event = run.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.entity, event.cause),
        (5, 0, DefaultCause::Maturity)
    );
    assert_close(run.row(4).cash_usd, 2e6, "cash before maturity");
    assert_close(run.debt(5, 0).principal_paid_usd, 2.4e6, "principal paid");
    assert_close(run.debt(5, 0).interest_paid_usd, 100_000.0, "interest paid");
    let outcome = run.summary.debt_outcomes()[0];
    assert_close(outcome.exposure_at_default_usd, 7.6e6, "EAD");
    assert_close(outcome.final_balance_usd, 7.6e6, "balance");
}
