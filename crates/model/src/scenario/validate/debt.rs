//! Value checks of the debt instruments (`[[debt]]`).

use super::Report;
use super::assets::ready_month;
use super::rules::{Context, Fields, Names, check_unique, render_numbers};
use crate::scenario::{Debt, DebtKind, MAX_DEBT_INSTRUMENTS, Refinancing, Schedule};

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
        DebtKind::ProjectFinance => check_project_finance(debt, context, fields),
        kind => check_corporate_debt(kind, debt, context, fields),
    }
    check_kind_fields(debt, fields);
    if let Some(refinancing) = &debt.refinancing {
        check_refinancing(refinancing, fields);
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

/// Every kind but project finance: drawn on a date (or over a window), not sized.
fn check_corporate_debt(kind: DebtKind, debt: &Debt, context: &Context, fields: &mut Fields<'_>) {
    let label = kind_label(kind);
    let principal = "a number above 0 and at most 1e12 USD";
    match (kind, debt.principal_usd) {
        (DebtKind::Abl, Some(amount)) => fields.push(
            "principal_usd",
            amount,
            "no principal for an asset-backed loan (give commitment_usd; it is drawn from draw_month to draw_end_month)",
        ),
        (DebtKind::Abl, None) => {}
        (DebtKind::Revolver, Some(amount)) => {
            fields.range("principal_usd", amount, 0.0, MAX_PRINCIPAL_USD, "USD drawn at the start");
            if let Some(commitment) = debt.commitment_usd
                && amount > commitment
            {
                fields.push(
                    "principal_usd",
                    amount,
                    format!("at most the commitment ({commitment} USD)"),
                );
            }
        }
        (DebtKind::Revolver, None) => {}
        (_, None) => fields.push(
            "principal_usd",
            "",
            format!("{principal} (required for {label})"),
        ),
        (_, Some(amount)) => fields.positive("principal_usd", amount, MAX_PRINCIPAL_USD, "USD"),
    }
    let schedules: &[Schedule] = match kind {
        DebtKind::Convertible | DebtKind::HighYield | DebtKind::Revolver => &[Schedule::Bullet],
        _ => &[Schedule::Bullet, Schedule::Linear, Schedule::Custom],
    };
    if !schedules.contains(&debt.schedule) {
        let names: Vec<String> = schedules
            .iter()
            .map(|s| format!("\"{}\"", schedule_name(*s)))
            .collect();
        fields.push(
            "schedule",
            format!("\"{}\"", schedule_name(debt.schedule)),
            format!("{} for {label}", one_of(&names)),
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
                format!("no value for {label} (project finance only)"),
            );
        }
    }
    if let Some(draw) = debt.draw_month.or(context.start) {
        let last_draw = debt
            .draw_end_month
            .filter(|_| kind == DebtKind::Abl)
            .unwrap_or(draw);
        if debt.maturity_month <= last_draw {
            fields.push(
                "maturity_month",
                debt.maturity_month,
                format!("a month after the last draw ({last_draw})"),
            );
        }
        if let Some(end) = debt.draw_end_month
            && end < draw
        {
            fields.push(
                "draw_end_month",
                end,
                format!("a month no earlier than draw_month ({draw})"),
            );
        }
    }
    if kind == DebtKind::BtcBacked {
        check_btc_backed(debt, context, fields);
    }
}

/// The fields that belong to some kinds only: present where they must be, absent elsewhere.
fn check_kind_fields(debt: &Debt, fields: &mut Fields<'_>) {
    use DebtKind::{Abl, BtcBacked, HighYield, Revolver};
    let kind = debt.kind;
    let label = kind_label(kind);
    let only = |fields: &mut Fields<'_>,
                field: &str,
                given: Option<String>,
                kinds: &[DebtKind],
                required: &[DebtKind],
                what: &str| {
        match given {
            Some(value) if !kinds.contains(&kind) => {
                let owners: Vec<String> =
                    kinds.iter().map(|k| kind_label(*k).to_string()).collect();
                fields.push(
                    field,
                    value,
                    format!("no value for {label} ({} only)", owners.join(" or ")),
                );
            }
            None if required.contains(&kind) => {
                fields.push(field, "", format!("{what} (required for {label})"));
            }
            _ => {}
        }
    };
    let show = |value: Option<f64>| value.map(|v| v.to_string());
    only(
        fields,
        "commitment_usd",
        show(debt.commitment_usd),
        &[Abl, Revolver],
        &[Abl, Revolver],
        "a commitment above 0 USD",
    );
    only(
        fields,
        "draw_end_month",
        debt.draw_end_month.map(|m| m.to_string()),
        &[Abl],
        &[],
        "",
    );
    only(
        fields,
        "advance_rate_percent",
        show(debt.advance_rate_percent),
        &[Abl, Revolver],
        &[Abl],
        "an advance rate above 0 and at most 100 % of the collateral value",
    );
    let step_down = (debt.advance_rate_step_down_percent_per_year != 0.0)
        .then(|| debt.advance_rate_step_down_percent_per_year.to_string());
    only(
        fields,
        "advance_rate_step_down_percent_per_year",
        step_down,
        &[Abl],
        &[],
        "",
    );
    let fee = (debt.commitment_fee_bps != 0.0).then(|| debt.commitment_fee_bps.to_string());
    only(fields, "commitment_fee_bps", fee, &[Abl, Revolver], &[], "");
    let calls = (!debt.call_schedule.is_empty())
        .then(|| format!("{} call prices", debt.call_schedule.len()));
    only(fields, "call_schedule", calls, &[HighYield], &[], "");
    only(
        fields,
        "btc_pledged",
        show(debt.btc_pledged),
        &[BtcBacked],
        &[BtcBacked],
        "BTC above 0 pledged from the treasury",
    );
    only(
        fields,
        "margin_call_ltv_percent",
        show(debt.margin_call_ltv_percent),
        &[BtcBacked],
        &[BtcBacked],
        "a loan-to-value above 0 and at most 100 %",
    );
    only(
        fields,
        "liquidation_ltv_percent",
        show(debt.liquidation_ltv_percent),
        &[BtcBacked],
        &[BtcBacked],
        "a loan-to-value above 0 and at most 100 %",
    );
    only(
        fields,
        "top_up_ltv_percent",
        show(debt.top_up_ltv_percent),
        &[BtcBacked],
        &[],
        "",
    );

    if let Some(commitment) = debt.commitment_usd {
        fields.positive("commitment_usd", commitment, MAX_PRINCIPAL_USD, "USD");
    }
    if let Some(rate) = debt.advance_rate_percent {
        fields.positive(
            "advance_rate_percent",
            rate,
            100.0,
            "% of the collateral value",
        );
    }
    fields.range(
        "advance_rate_step_down_percent_per_year",
        debt.advance_rate_step_down_percent_per_year,
        0.0,
        100.0,
        "percentage points a year",
    );
    fields.range(
        "commitment_fee_bps",
        debt.commitment_fee_bps,
        0.0,
        2000.0,
        "bp a year",
    );
    if matches!(kind, Abl | Revolver)
        && debt.advance_rate_percent.is_some()
        && debt.collateral.is_empty()
    {
        fields.push(
            "collateral",
            "[]",
            "the assets whose value sets the borrowing base (an advance rate needs collateral)",
        );
    }
    let mut previous = None;
    for (k, call) in debt.call_schedule.iter().enumerate() {
        fields.range(
            &format!("call_schedule[{k}].price_percent"),
            call.price_percent,
            50.0,
            200.0,
            "% of the principal",
        );
        if let Some(previous) = previous
            && call.from_month <= previous
        {
            fields.push(
                &format!("call_schedule[{k}].from_month"),
                call.from_month,
                format!("a month after the previous entry's ({previous})"),
            );
        }
        previous = Some(call.from_month);
    }
    if debt.kind.incurrence_only() {
        let covenants = &debt.covenants;
        for (field, value) in [
            ("covenants.lock_up_dscr", covenants.lock_up_dscr),
            ("covenants.default_dscr", covenants.default_dscr),
            ("covenants.max_ltv_percent", covenants.max_ltv_percent),
        ] {
            if let Some(value) = value {
                fields.push(
                    field,
                    value,
                    format!("no maintenance covenant for {label} (incurrence covenants only: covenants.incurrence_max_net_leverage)"),
                );
            }
        }
    }
}

fn check_btc_backed(debt: &Debt, context: &Context, fields: &mut Fields<'_>) {
    if let Some(pledged) = debt.btc_pledged {
        fields.positive("btc_pledged", pledged, 21e6, "BTC");
        let pledged_total: f64 = context
            .debts
            .iter()
            .flatten()
            .filter_map(|d| d.btc_pledged)
            .sum();
        if let Some(treasury) = &context.treasury
            && pledged_total > treasury.btc_held
        {
            fields.push(
                "btc_pledged",
                pledged,
                format!(
                    "BTC pledged by all loans ({pledged_total}) at most the treasury's btc_held ({})",
                    treasury.btc_held
                ),
            );
        }
    }
    let ltv = "% of the pledged BTC's value";
    for (field, value) in [
        ("margin_call_ltv_percent", debt.margin_call_ltv_percent),
        ("liquidation_ltv_percent", debt.liquidation_ltv_percent),
        ("top_up_ltv_percent", debt.top_up_ltv_percent),
    ] {
        if let Some(value) = value {
            fields.positive(field, value, 100.0, ltv);
        }
    }
    if let (Some(call), Some(liquidation)) =
        (debt.margin_call_ltv_percent, debt.liquidation_ltv_percent)
        && liquidation <= call
    {
        fields.push(
            "liquidation_ltv_percent",
            liquidation,
            format!("an LTV above margin_call_ltv_percent ({call})"),
        );
    }
    if let (Some(call), Some(top_up)) = (debt.margin_call_ltv_percent, debt.top_up_ltv_percent)
        && top_up >= call
    {
        fields.push(
            "top_up_ltv_percent",
            top_up,
            format!("an LTV below margin_call_ltv_percent ({call})"),
        );
    }
    if !debt.collateral.is_empty() {
        fields.push(
            "collateral",
            format!("{} assets", debt.collateral.len()),
            "no collateral list for a BTC-backed loan (the pledged BTC secures it)",
        );
    }
}

fn check_refinancing(refinancing: &Refinancing, fields: &mut Fields<'_>) {
    fields.whole(
        "refinancing.window_months",
        refinancing.window_months,
        1,
        60,
        "months",
    );
    fields.positive(
        "refinancing.min_dscr",
        refinancing.min_dscr,
        10.0,
        "(CFADS over debt service)",
    );
    if let Some(margin) = refinancing.margin_bps {
        fields.range(
            "refinancing.margin_bps",
            margin,
            -500.0,
            5000.0,
            "bp over SOFR",
        );
    }
    fields.whole(
        "refinancing.tenor_months",
        refinancing.tenor_months,
        1,
        360,
        "months",
    );
}

/// How the kind is named in messages.
fn kind_label(kind: DebtKind) -> &'static str {
    match kind {
        DebtKind::TermLoan => "a term loan",
        DebtKind::ProjectFinance => "project finance",
        DebtKind::Abl => "an asset-backed loan",
        DebtKind::Convertible => "convertible notes",
        DebtKind::HighYield => "a high-yield bond",
        DebtKind::BtcBacked => "a BTC-backed loan",
        DebtKind::Revolver => "a revolver",
    }
}

fn schedule_name(schedule: Schedule) -> &'static str {
    match schedule {
        Schedule::Bullet => "bullet",
        Schedule::Linear => "linear",
        Schedule::Custom => "custom",
        Schedule::Sculpted => "sculpted",
    }
}

/// "a", "one of a, b" as a message wants it.
fn one_of(names: &[String]) -> String {
    match names {
        [only] => only.clone(),
        _ => format!("one of {}", names.join(", ")),
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
