//! Hand-computed cases of the instruments beyond term loans and project finance, on flat
//! paths (BTC at $50 000, SOFR 4 %, power free): an asset-backed loan's borrowing base and
//! its prepayment, margin calls met and unmet, refinancing arranged and refused, hedge
//! payoffs, at-the-market equity refused in stress, a high-yield call and a revolver.
//!
//! Income comes from a 1 MW colocation lease at $100 per kW-month (USD 100 000 a month, no
//! opex), built before the start, so it does not depend on the market.

use bitwatt_engine::{DefaultCause, MarketPath};

use crate::common::{Run, assert_close, assert_some_close, flat_path_for, scenario};
use crate::finance::{header, lease};

/// A 12-month file with `opening_cash_usd`, the 1 MW lease and `extra`.
fn file(opening_cash_usd: f64, extra: &str) -> String {
    format!(
        "{}{}{extra}",
        header(12, opening_cash_usd),
        lease("Lease", 1.0, 100.0, 0.0, "2025-01", 0.0)
    )
}

/// Runs `text` on the flat path after `change` edits it.
fn run(text: &str, change: impl FnOnce(&mut MarketPath)) -> Run {
    let scenario = scenario(text);
    let mut path = flat_path_for(&scenario);
    change(&mut path);
    Run::new(&scenario, &path)
}

/// An asset-backed loan against 1 000 treasury BTC at 50 % ($25 M of borrowing base at
/// $50 000): $30 M scheduled over three months, fixed 12 %, bullet.
const ABL: &str = r#"
[treasury]
btc_held = 1000

[[debt]]
name = "ABL"
kind = "abl"
commitment_usd = 30e6
draw_month = "2026-01"
draw_end_month = "2026-03"
advance_rate_percent = 50
fixed_rate_percent = 12
schedule = "bullet"
maturity_month = "2027-12"
collateral = ["treasury"]
"#;

#[test]
fn abl_draws_within_its_borrowing_base_and_prepays_a_shortfall() {
    // $10 M a month is scheduled; in month 2 only 25 − 20 = $5 M of base is left, and the
    // $5 M not drawn lapses with the window. From month 5 BTC is at $40 000: the base falls
    // to 0.5 · 1 000 · 40 000 = $20 M against a $25 M balance, and $5 M is prepaid.
    let run = run(&file(100e6, ABL), |path| {
        for price in &mut path.btc_price_usd[5..] {
            *price = 40_000.0;
        }
    });
    let draws: Vec<f64> = (0..6).map(|t| run.debt(t, 0).draw_usd).collect();
    assert_eq!(draws, [10e6, 10e6, 5e6, 0.0, 0.0, 0.0]);
    assert_some_close(run.debt(4, 0).borrowing_base_usd, 25e6, "base at $50 000");
    assert_some_close(run.debt(5, 0).borrowing_base_usd, 20e6, "base at $40 000");
    assert_close(run.debt(4, 0).principal_due_usd, 0.0, "bullet: nothing due");
    assert_close(run.debt(5, 0).principal_due_usd, 5e6, "shortfall due");
    assert_close(run.debt(5, 0).principal_paid_usd, 5e6, "shortfall paid");
    assert_close(run.debt(5, 0).closing_balance_usd, 20e6, "back to the base");
    // The prepayment is outside the scheduled debt service: interest 1 % of $25 M.
    assert_close(run.debt(5, 0).debt_service_usd, 250_000.0, "service");
    assert!(run.summary.default.is_none());
}

#[test]
fn abl_shortfall_unpaid_is_a_payment_default() {
    // No treasury, and every dollar paid out as it comes in: the lease secures the loan, and
    // when SOFR jumps the lease's value (discounted at SOFR + 3 %) falls below what was drawn;
    // the prepayment cannot be paid from one month's rent.
    let text = file(
        0.0,
        r#"
[distributions]
excess_cash_percent = 100

[[debt]]
name = "ABL"
kind = "abl"
commitment_usd = 30e6
draw_month = "2026-01"
advance_rate_percent = 50
fixed_rate_percent = 0
schedule = "bullet"
maturity_month = "2027-12"
collateral = ["Lease"]
"#,
    );
    let run = run(&text, |path| {
        for sofr in &mut path.sofr[3..] {
            *sofr = 0.20;
        }
    });
    let drawn = run.debt(0, 0).draw_usd;
    let base_0 = run.debt(0, 0).borrowing_base_usd.unwrap();
    assert_close(drawn, base_0, "drawn up to the base");
    // As the lease runs off its value falls a little each month, and the rent prepays the
    // small shortfalls; the jump in month 3 is more than a month's rent.
    let opening_3 = run.debt(3, 0).opening_balance_usd;
    let base_3 = run.debt(3, 0).borrowing_base_usd.unwrap();
    assert!(
        base_3 < opening_3 - 300_000.0,
        "base {base_3} against {opening_3}"
    );
    assert_close(
        run.debt(3, 0).principal_due_usd,
        opening_3 - base_3,
        "shortfall due",
    );
    let event = run.summary.default.expect("defaults");
    assert_eq!((event.month_index, event.cause), (3, DefaultCause::Payment));
}

/// A BTC-backed loan of $30 M against 800 BTC (LTV 75 % at $50 000), 0 %, bullet: margin
/// call at 80 % (at 30e6 / (800 · 0.8) = $46 875), liquidation at 90 % ($41 666.67), top-up
/// to 70 %.
fn btc_loan(treasury_btc: f64) -> String {
    format!(
        r#"
[treasury]
btc_held = {treasury_btc}

[[debt]]
name = "BTC loan"
kind = "btc_backed"
principal_usd = 30e6
draw_month = "2025-12"
fixed_rate_percent = 0
schedule = "bullet"
maturity_month = "2027-12"
btc_pledged = 800
margin_call_ltv_percent = 80
liquidation_ltv_percent = 90
top_up_ltv_percent = 70
"#
    )
}

/// The flat path with the month-2 low at `low`.
fn dip(low: f64) -> impl FnOnce(&mut MarketPath) {
    move |path| path.btc_low_usd[2] = low
}

#[test]
fn margin_call_met_with_free_btc() {
    // To 70 % at $46 875: 30e6 / (0.7 · 46 875) = 914.2857 BTC pledged, 114.2857 more from
    // the 200 free; 85.7143 stay free.
    let run = run(&file(10e6, &btc_loan(1_000.0)), dip(45_000.0));
    assert_eq!(run.summary.debts[0].margin_calls, 1);
    assert_close(run.row(1).btc_held, 200.0, "free before");
    assert_close(
        run.row(2).btc_held,
        1_000.0 - 30e6 / (0.7 * 46_875.0),
        "free after",
    );
    assert_close(run.debt(2, 0).closing_balance_usd, 30e6, "no repayment");
    assert!(run.summary.default.is_none());
}

#[test]
fn margin_call_met_with_cash() {
    // No free BTC: repay to 70 % of 800 BTC at $46 875, 30e6 − 0.7 · 800 · 46 875 = $3.75 M.
    let run = run(&file(10e6, &btc_loan(800.0)), dip(45_000.0));
    assert_close(run.debt(2, 0).principal_paid_usd, 3.75e6, "prepaid");
    assert_close(run.debt(2, 0).closing_balance_usd, 26.25e6, "balance");
    assert!(run.summary.default.is_none());
}

#[test]
fn margin_call_unmet_the_lender_sells_the_pledge() {
    // No free BTC and $300 000 of cash: the lender sells 30e6 / 46 875 = 640 BTC at the call
    // price; the loan is repaid and the other 160 BTC come back to the treasury.
    let run = run(&file(0.0, &btc_loan(800.0)), dip(45_000.0));
    assert_close(run.row(2).treasury_sales_usd, 30e6, "pledge sold");
    assert_close(run.debt(2, 0).closing_balance_usd, 0.0, "repaid");
    assert_close(run.row(2).btc_held, 160.0, "pledge returned");
    assert!(run.summary.default.is_none());
}

#[test]
fn margin_call_gapping_through_liquidation_defaults_on_the_rest() {
    // The low ($35 000) gaps through the liquidation price: all 800 BTC go at $35 000 for
    // $28 M, and the $2 M left is due at once; $300 000 of cash pays part of it.
    let run = run(&file(0.0, &btc_loan(800.0)), dip(35_000.0));
    assert_close(run.row(2).treasury_sales_usd, 28e6, "pledge sold");
    let outcome = &run.summary.debts[0];
    let event = outcome.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.cause),
        (2, DefaultCause::MarginCall)
    );
    assert_close(outcome.exposure_at_default_usd, 1.7e6, "exposure");
}

/// A $10 M bullet at `rate` due 2026-07 (month 6), refinanceable within three months of
/// maturity at a `min_dscr` pro forma DSCR into SOFR + 500 bp for a year.
fn maturing_loan(rate: f64, min_dscr: f64) -> String {
    format!(
        r#"
[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 10e6
draw_month = "2025-12"
fixed_rate_percent = {rate}
schedule = "bullet"
maturity_month = "2026-07"
[debt.refinancing]
window_months = 3
min_dscr = {min_dscr}
margin_bps = 500
tenor_months = 12
"#
    )
}

#[test]
fn refinancing_in_an_open_market_replaces_the_balloon() {
    // The lender's pro forma DSCR in month 3: three months of rent, $300 000, over three
    // months of interest at the new 4 % + 5 % = 9 % on $10 M, $225 000 (the old loan's own
    // service is replaced): 1.33 ≥ 1.25. At maturity the $10 M rolls into that loan: $75 000
    // of interest a month, due 2027-07. The same holds with the old loan at 12 %.
    for rate in [0.0, 12.0] {
        let run = run(&file(0.0, &maturing_loan(rate, 1.25)), |_| {});
        assert!(run.summary.default.is_none(), "at {rate} %");
        assert_eq!(run.summary.debts[0].refinancings, 1);
    }
    let run = run(&file(0.0, &maturing_loan(0.0, 1.25)), |_| {});
    assert!(run.summary.default.is_none());
    assert_eq!(run.summary.debts[0].refinancings, 1);
    assert_close(run.debt(6, 0).principal_due_usd, 0.0, "nothing due");
    assert_close(run.debt(6, 0).interest_paid_usd, 75_000.0, "new rate");
    assert_close(run.debt(11, 0).closing_balance_usd, 10e6, "still owed");
}

#[test]
fn refinancing_fails_when_the_market_is_shut_or_the_dscr_is_short() {
    // Stress from month 3: no lender in the window, and $700 000 of cash cannot repay $10 M.
    let shut = run(&file(0.0, &maturing_loan(0.0, 1.25)), |path| {
        for stressed in &mut path.stress[3..] {
            *stressed = true;
        }
    });
    let event = shut.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.cause),
        (6, DefaultCause::Maturity)
    );
    // A lender that wants 1.5×: the pro forma 1.33 falls short.
    let short = run(&file(0.0, &maturing_loan(0.0, 1.5)), |_| {});
    let event = short.summary.default.expect("defaults");
    assert_eq!(
        (event.month_index, event.cause),
        (6, DefaultCause::Maturity)
    );
    assert_eq!(short.summary.debts[0].refinancings, 0);
}

#[test]
fn hedges_pay_off_monthly() {
    // A put on 10 BTC at $60 000 less $5 000 of premium: 10 · 10 000 − 5 000 = $95 000. A
    // collar on 10 BTC, put $60 000, call $45 000 sold: 100 000 − 10 · 5 000 = $50 000. A
    // swap paying 3 % on $12 M against SOFR 4 %: 12e6 · 1 % / 12 = $10 000. A cap at 5 %
    // with SOFR at 4 %: nothing, less its $1 000 premium.
    let text = file(
        0.0,
        r#"
[[debt]]
name = "Floating"
kind = "term_loan"
principal_usd = 12e6
draw_month = "2025-12"
margin_bps = 0
schedule = "bullet"
maturity_month = "2028-12"

[[hedge]]
name = "Put"
kind = "btc_put"
start_month = "2026-01"
end_month = "2026-06"
btc_per_month = 10
put_strike_usd = 60000
premium_usd_per_month = 5000

[[hedge]]
name = "Collar"
kind = "btc_collar"
start_month = "2026-01"
end_month = "2026-06"
btc_per_month = 10
put_strike_usd = 60000
call_strike_usd = 45000.5
"#,
    )
    .replace("call_strike_usd = 45000.5", "call_strike_usd = 65000");
    let run_puts = run(&text, |path| {
        for price in &mut path.btc_price_usd[3..] {
            *price = 70_000.0;
        }
    });
    // Months 0–2 at $50 000: put 95 000, collar 100 000. Months 3–5 at $70 000: put −5 000
    // (premium), collar −10 · 5 000 = −50 000. Month 6 on: nothing.
    assert_close(
        run_puts.row(0).hedge_receipts_usd,
        195_000.0,
        "receipts at 50 000",
    );
    assert_close(
        run_puts.row(3).hedge_payments_usd,
        55_000.0,
        "payments at 70 000",
    );
    assert_close(
        run_puts.row(6).hedge_receipts_usd + run_puts.row(6).hedge_payments_usd,
        0.0,
        "ended",
    );
    // EBITDA = rent + hedges.
    assert_close(run_puts.row(0).ebitda_usd, 100_000.0 + 195_000.0, "EBITDA");

    let rates = file(
        0.0,
        r#"
[[debt]]
name = "Floating"
kind = "term_loan"
principal_usd = 12e6
draw_month = "2025-12"
margin_bps = 0
schedule = "bullet"
maturity_month = "2028-12"

[[hedge]]
name = "Swap"
kind = "interest_rate_swap"
start_month = "2026-01"
end_month = "2026-12"
debt = "Floating"
fixed_rate_percent = 3

[[hedge]]
name = "Cap"
kind = "interest_rate_cap"
start_month = "2026-01"
end_month = "2026-12"
debt = "Floating"
cap_strike_percent = 5
premium_usd_per_month = 1000
"#,
    );
    let run_rates = run(&rates, |path| path.sofr[4] = 0.07);
    assert_close(run_rates.row(0).hedge_receipts_usd, 10_000.0, "swap at 4 %");
    assert_close(run_rates.row(0).hedge_payments_usd, 1_000.0, "cap premium");
    // SOFR 7 %: swap 12e6 · 4 % / 12 = 40 000, cap 12e6 · 2 % / 12 − 1 000 = 19 000.
    assert_close(run_rates.row(4).hedge_receipts_usd, 59_000.0, "both pay");
}

#[test]
fn at_the_market_equity_only_while_calm() {
    // Interest of 1 % a month on $20 M is $200 000 against $100 000 of rent: $100 000 short
    // each month. Calm: shares sold for 100 000 / 0.95 gross, $100 000 net. In stress the
    // market is shut and the borrower defaults at once.
    let text = file(
        0.0,
        r#"
[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 20e6
draw_month = "2025-12"
fixed_rate_percent = 12
schedule = "bullet"
maturity_month = "2028-12"

[equity_issuance]
max_usd_per_month = 1e6
discount_percent = 5
"#,
    );
    let calm = run(&text, |_| {});
    assert!(calm.summary.default.is_none());
    assert_close(calm.row(0).equity_raised_usd, 100_000.0, "raised");
    assert_close(
        calm.summary.market_equity_usd,
        12.0 * 100_000.0,
        "a year of it",
    );
    let stressed = run(&text, |path| path.stress.fill(true));
    let event = stressed.summary.default.expect("defaults");
    assert_eq!((event.month_index, event.cause), (0, DefaultCause::Payment));
    assert_eq!(stressed.summary.market_equity_usd, 0.0);
}

#[test]
fn high_yield_bond_called_when_cash_covers_the_call_price() {
    // Callable at 102 % from 2026-04 (month 3); $50 M of cash pays 10.2 M: principal 10 M and
    // a premium of $200 000 among the fees.
    let text = file(
        50e6,
        r#"
[[debt]]
name = "Notes"
kind = "high_yield"
principal_usd = 10e6
draw_month = "2025-12"
fixed_rate_percent = 8
schedule = "bullet"
maturity_month = "2030-12"
seniority = "senior_unsecured"
call_schedule = [{ from_month = "2026-04", price_percent = 102 }]
"#,
    );
    let run = run(&text, |_| {});
    assert_eq!(run.summary.debts[0].called_month, Some(3));
    assert_close(run.debt(2, 0).closing_balance_usd, 10e6, "not callable yet");
    assert_close(run.debt(3, 0).principal_paid_usd, 10e6, "called");
    assert_close(run.row(3).fees_usd, 200_000.0, "premium");
    assert_close(run.debt(4, 0).interest_paid_usd, 0.0, "gone");
}

#[test]
fn revolver_covers_a_shortfall_and_is_repaid_from_excess_cash() {
    // Month 0: interest $200 000 on $20 M at 12 %, the revolver's fee 1 % / 12 on $5 M
    // undrawn ($4 166.67), rent $100 000: the revolver draws $104 166.67. From month 3 a
    // second lease adds $300 000 of rent and the revolver is repaid from the cash left after
    // interest, over two months.
    let text = format!(
        "{}{}",
        file(
            0.0,
            r#"
[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 20e6
draw_month = "2025-12"
fixed_rate_percent = 12
schedule = "bullet"
maturity_month = "2028-12"

[[debt]]
name = "RCF"
kind = "revolver"
commitment_usd = 5e6
commitment_fee_bps = 100
fixed_rate_percent = 6
schedule = "bullet"
maturity_month = "2028-12"
"#
        ),
        lease("Second lease", 3.0, 100.0, 0.0, "2026-04", 0.0)
    );
    let run = run(&text, |_| {});
    assert!(run.summary.default.is_none());
    let fee_0 = 5e6 * 0.01 / 12.0;
    assert_close(run.debt(0, 1).draw_usd, 100_000.0 + fee_0, "first draw");
    assert!(run.debt(2, 1).closing_balance_usd > 300_000.0);
    assert!(run.debt(3, 1).principal_paid_usd > 150_000.0);
    assert_close(run.debt(4, 1).closing_balance_usd, 0.0, "repaid");
    assert_close(run.debt(5, 1).draw_usd, 0.0, "no more draws");
}

/// A 1 MW lease at $100 per kW-month ($100 000 a month) whose tenant fails in 2026-03
/// (month 2), backstopped up to $250 000, let again after three months at 80 % of the rent
/// (AI demand 1); a $1 M loan secured on the lease shows its value through the LTV.
fn failed_tenant(guarantor_default: &str) -> String {
    format!(
        r#"{}
[[colocation_lease]]
name = "Lease"
site = "S"
critical_it_mw = 1
rent_usd_per_kw_month = 100
opex_usd_per_kw_month = 0
start_month = "2025-01"
tenor_months = 240
re_lease_downtime_months = 3
re_lease_rent_percent = 80
[colocation_lease.tenant]
name = "Tenant"
default_probability_percent_per_year = 5
default_month = "2026-03"
[colocation_lease.backstop]
cap_usd = 250000
[colocation_lease.backstop.guarantor]
name = "Guarantor"
default_probability_percent_per_year = 0.1
{guarantor_default}

[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 1e6
draw_month = "2025-12"
fixed_rate_percent = 0
schedule = "bullet"
maturity_month = "2030-12"
collateral = ["Lease"]
"#,
        header(12, 0.0)
    )
}

/// Runs `text` on the flat path with the scenario's assumed counterparty defaults.
fn run_with_defaults(text: &str) -> Run {
    let scenario = scenario(text);
    let mut path = flat_path_for(&scenario);
    path.counterparty_defaults = bitwatt_engine::base_market_path(&scenario).counterparty_defaults;
    Run::new(&scenario, &path)
}

#[test]
fn a_failed_tenant_is_backstopped_up_to_the_cap_then_let_again() {
    // Months 0–1: rent 100 000. From month 2 the backstop pays 100 000, 100 000, then the
    // 50 000 left of its cap; from month 5 the hall is let again at 80 000.
    let run = run_with_defaults(&failed_tenant(""));
    let income: Vec<f64> = (0..7).map(|t| run.row(t).lease_revenue_usd).collect();
    for (t, expected) in [100e3, 100e3, 100e3, 100e3, 50e3, 80e3, 80e3]
        .iter()
        .enumerate()
    {
        assert_close(income[t], *expected, &format!("income in month {t}"));
    }
    // Its value once let again: 80 000 a month over the 222 months left of the term (it ends
    // at month 228) at SOFR + 3 % = 7 %.
    let r: f64 = 0.07 / 12.0;
    let value = 80_000.0 * (1.0 - (1.0 + r).powi(-222)) / r;
    assert_some_close(run.debt(5, 0).ltv, 1e6 / value, "LTV on the re-let lease");
}

#[test]
fn a_failed_guarantor_pays_nothing() {
    // The guarantor fails in month 3: the backstop paid month 2 only.
    let run = run_with_defaults(&failed_tenant("default_month = \"2026-04\""));
    let income: Vec<f64> = (0..6).map(|t| run.row(t).lease_revenue_usd).collect();
    for (t, expected) in [100e3, 100e3, 100e3, 0.0, 0.0, 80e3].iter().enumerate() {
        assert_close(income[t], *expected, &format!("income in month {t}"));
    }
}

#[test]
fn a_failed_offtaker_sends_its_gpus_to_the_market() {
    // 1 000 GPUs, 70 % contracted at $2 an hour, the rest at the index ($1, utilisation 1):
    // 730.5 hours · 1 000 · (0.7 · 2 + 0.3 · 1) a month; after the offtaker fails in month 3,
    // 730.5 · 1 000 · 1.
    let text = format!(
        r#"{}
[[gpu_cloud]]
name = "Cloud"
site = "S"
generation = "H100"
gpu_count = 1000
capex_usd_per_gpu = 30000
power_kw_per_gpu = 1
start_month = "2025-06"
contracted_percent = 70
contract_rate_usd_per_gpu_hour = 2
contract_tenor_months = 48
opex_usd_per_gpu_hour = 0
[gpu_cloud.offtaker]
name = "Lab"
default_probability_percent_per_year = 3
default_month = "2026-04"
"#,
        header(6, 0.0)
    );
    let run = run_with_defaults(&text);
    let hours = 730.5 * 1_000.0;
    assert_close(run.row(2).gpu_revenue_usd, hours * 1.7, "contracted");
    assert_close(run.row(3).gpu_revenue_usd, hours * 1.0, "at the market");
}
