//! Value checks of the debt instruments (`[[debt]]`).

use super::Report;
use super::assets::ready_month;
use super::rules::{Context, Fields, Names, check_unique, render_numbers};
use crate::scenario::{Debt, DebtKind, MAX_DEBT_INSTRUMENTS, Schedule};

/// Largest principal (USD).
const MAX_PRINCIPAL_USD: f64 = 1e12;

/// Checks every readable debt instrument, and that their names are unique.
pub(super) fn check(context: &Context, report: &mut Report) {
    for (i, debt) in context.debts.iter().enumerate() {
        if let Some(debt) = debt {
            let mut fields = Fields::new(report, format!("debt[{i}]"));
            check_debt(debt, context, &mut fields);
        }
    }
    check_unique(report, &[("debt", &context.debt_names)], "debt");
    if context.debts.len() > MAX_DEBT_INSTRUMENTS {
        Fields::new(report, String::new()).push(
            "debt",
            format!("{} instruments", context.debts.len()),
            format!("at most {MAX_DEBT_INSTRUMENTS} instruments"),
        );
    }
}

fn check_debt(debt: &Debt, context: &Context, fields: &mut Fields<'_>) {
    fields.name("name", &debt.name);
    match debt.kind {
        DebtKind::TermLoan => check_term_loan(debt, context, fields),
        DebtKind::ProjectFinance => check_project_finance(debt, context, fields),
    }
    if let Some(funds) = &debt.funds {
        fields.reference(
            "funds",
            funds,
            "a [[conversion]]",
            Names::all(&[&context.conversion_names]),
        );
    }
    if debt.ring_fenced && debt.funds.is_none() {
        fields.push(
            "ring_fenced",
            true,
            "false unless `funds` names the conversion whose project company holds the debt",
        );
    }
    match (debt.fixed_rate_percent, debt.margin_bps) {
        (Some(rate), None) => fields.range("fixed_rate_percent", rate, -5.0, 100.0, "% a year"),
        (None, Some(margin)) => fields.range("margin_bps", margin, -500.0, 5000.0, "bp over SOFR"),
        (Some(_), Some(_)) => fields.push(
            "",
            "",
            "exactly one of fixed_rate_percent and margin_bps, not both",
        ),
        (None, None) => fields.push(
            "",
            "",
            "exactly one of fixed_rate_percent and margin_bps (neither is given)",
        ),
    }
    check_repayments(debt, fields);
    if let Some(first) = debt.amortisation_start_month
        && first > debt.maturity_month
    {
        fields.push(
            "amortisation_start_month",
            first,
            format!(
                "a month no later than maturity_month ({})",
                debt.maturity_month
            ),
        );
    }
    let mut assets = Names::all(&[
        &context.site_names,
        &context.fleet_names,
        &context.lease_names,
        &context.cloud_names,
    ]);
    if let Some(assets) = &mut assets {
        assets.push("treasury");
    }
    for (k, name) in debt.collateral.iter().enumerate() {
        fields.reference(
            &format!("collateral[{k}]"),
            name,
            "a site, mining fleet, colocation lease or GPU cloud, or \"treasury\"",
            assets.clone(),
        );
    }
    fields.whole("dsra_months", debt.dsra_months, 0, 24, "months");
    check_covenants(debt, fields);
    fields.range(
        "upfront_fee_bps",
        debt.upfront_fee_bps,
        0.0,
        2000.0,
        "bp of the principal",
    );
    if let Some(spread) = debt.market_spread_bps {
        fields.range("market_spread_bps", spread, -500.0, 5000.0, "bp");
    }
}

fn check_term_loan(debt: &Debt, context: &Context, fields: &mut Fields<'_>) {
    let principal = "a number above 0 and at most 1e12 USD";
    match debt.principal_usd {
        None => fields.push(
            "principal_usd",
            "",
            format!("{principal} (required for a term loan)"),
        ),
        Some(amount) => fields.positive("principal_usd", amount, MAX_PRINCIPAL_USD, "USD"),
    }
    if debt.schedule == Schedule::Sculpted {
        fields.push(
            "schedule",
            "\"sculpted\"",
            "one of \"bullet\", \"linear\", \"custom\" (a sculpted schedule is for project finance)",
        );
    }
    for (field, value) in [
        ("loan_to_cost_percent", debt.loan_to_cost_percent),
        ("target_dscr", debt.target_dscr),
    ] {
        if let Some(value) = value {
            fields.push(
                field,
                value,
                "no value for a term loan (project finance only)",
            );
        }
    }
    if let Some(draw) = debt.draw_month.or(context.start)
        && debt.maturity_month <= draw
    {
        fields.push(
            "maturity_month",
            debt.maturity_month,
            format!("a month after the draw month ({draw})"),
        );
    }
}

fn check_project_finance(debt: &Debt, context: &Context, fields: &mut Fields<'_>) {
    if debt.funds.is_none() {
        fields.push(
            "funds",
            "",
            "the name of the [[conversion]] the loan finances (required for project finance)",
        );
    }
    match debt.loan_to_cost_percent {
        None => fields.push(
            "loan_to_cost_percent",
            "",
            "a number above 0 and at most 100 % (required for project finance)",
        ),
        Some(share) => fields.positive("loan_to_cost_percent", share, 100.0, "% of the capex"),
    }
    if let Some(amount) = debt.principal_usd {
        fields.positive("principal_usd", amount, MAX_PRINCIPAL_USD, "USD");
    }
    let dscr = "a DSCR above 1 and at most 5";
    match (debt.schedule, debt.target_dscr) {
        (Schedule::Sculpted, None) => fields.push(
            "target_dscr",
            "",
            format!("{dscr} (required for a sculpted schedule)"),
        ),
        (Schedule::Sculpted, Some(target)) if !(target > 1.0 && target <= 5.0) => {
            fields.push("target_dscr", target, dscr);
        }
        (Schedule::Sculpted, Some(_)) => {}
        (_, Some(target)) => fields.push(
            "target_dscr",
            target,
            "no target unless schedule = \"sculpted\"",
        ),
        (_, None) => {}
    }
    let conversion = debt
        .funds
        .as_deref()
        .and_then(|name| context.conversion(name));
    if let Some(conversion) = conversion.filter(|c| (1..=120).contains(&c.duration_months)) {
        let ready = ready_month(conversion);
        if debt.maturity_month <= ready {
            fields.push(
                "maturity_month",
                debt.maturity_month,
                format!(
                    "a month after {ready}, when conversion {:?} is ready",
                    conversion.name
                ),
            );
        }
    }
}

/// The custom repayment percentages go with a custom schedule, and only with it.
fn check_repayments(debt: &Debt, fields: &mut Fields<'_>) {
    let repayments = &debt.custom_repayment_percent;
    match (debt.schedule, repayments.is_empty()) {
        (Schedule::Custom, true) => fields.push(
            "custom_repayment_percent",
            "",
            "at least one monthly repayment (% of the principal) for a custom schedule",
        ),
        (Schedule::Custom, false) => {
            for (k, &repayment) in repayments.iter().enumerate() {
                fields.range(
                    &format!("custom_repayment_percent[{k}]"),
                    repayment,
                    0.0,
                    100.0,
                    "% of the principal",
                );
            }
            let total: f64 = repayments.iter().sum();
            if total.is_finite() && total > 100.0 + 1e-9 {
                fields.push(
                    "custom_repayment_percent",
                    render_numbers(repayments),
                    format!("repayments summing to at most 100 % of the principal (they sum to {total} %)"),
                );
            }
        }
        (_, false) => fields.push(
            "custom_repayment_percent",
            render_numbers(repayments),
            "no repayments unless schedule = \"custom\"",
        ),
        (_, true) => {}
    }
}

fn check_covenants(debt: &Debt, fields: &mut Fields<'_>) {
    let covenants = &debt.covenants;
    fields.whole(
        "covenants.dscr_window_months",
        covenants.dscr_window_months,
        1,
        24,
        "months",
    );
    let dscr = "(CFADS over debt service)";
    if let Some(lock_up) = covenants.lock_up_dscr {
        fields.positive("covenants.lock_up_dscr", lock_up, 10.0, dscr);
    }
    if let Some(default) = covenants.default_dscr {
        fields.positive("covenants.default_dscr", default, 10.0, dscr);
    }
    if let (Some(lock_up), Some(default)) = (covenants.lock_up_dscr, covenants.default_dscr)
        && default > lock_up
    {
        fields.push(
            "covenants.default_dscr",
            default,
            format!("a DSCR no higher than lock_up_dscr ({lock_up})"),
        );
    }
    if let Some(ltv) = covenants.max_ltv_percent {
        fields.range("covenants.max_ltv_percent", ltv, 0.0, 1000.0, "%");
    }
    fields.whole(
        "covenants.equity_cures",
        covenants.equity_cures,
        0,
        100,
        "cures",
    );
}
