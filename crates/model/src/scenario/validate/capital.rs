//! Value checks of hedges (`[[hedge]]`), at-the-market equity (`[equity_issuance]`) and the
//! workout terms (`[recovery]`).

use toml::de::DeTable;

use super::rules::{Context, Fields, MAX_AMOUNT_USD, Names, check_unique};
use super::{Report, read};
use crate::scenario::{EquityIssuance, Hedge, HedgeKind, Recovery};

/// Checks every readable hedge, the equity issuance and the recovery terms.
pub(super) fn check(root: &DeTable<'_>, context: &Context, report: &mut Report) {
    for (i, hedge) in context.hedges.iter().enumerate() {
        if let Some(hedge) = hedge {
            check_hedge(
                hedge,
                context,
                &mut Fields::new(report, format!("hedge[{i}]")),
            );
        }
    }
    check_unique(report, &[("hedge", &context.hedge_names)], "hedge");
    if let Some(issuance) = root.get("equity_issuance")
        && let Some(issuance) = read::<EquityIssuance>(issuance, "equity_issuance", &[], report)
    {
        let mut fields = Fields::new(report, "equity_issuance");
        fields.positive(
            "max_usd_per_month",
            issuance.max_usd_per_month,
            MAX_AMOUNT_USD,
            "USD a month",
        );
        fields.half_open(
            "discount_percent",
            issuance.discount_percent,
            0.0,
            100.0,
            "% of the amount sold",
        );
    }
    if let Some(recovery) = root.get("recovery")
        && let Some(recovery) = read::<Recovery>(recovery, "recovery", &[], report)
    {
        let mut fields = Fields::new(report, "recovery");
        fields.whole("workout_months", recovery.workout_months, 0, 120, "months");
        fields.half_open(
            "workout_cost_percent",
            recovery.workout_cost_percent,
            0.0,
            100.0,
            "% of gross proceeds",
        );
    }
}

fn check_hedge(hedge: &Hedge, context: &Context, fields: &mut Fields<'_>) {
    fields.name("name", &hedge.name);
    if hedge.end_month < hedge.start_month {
        fields.push(
            "end_month",
            hedge.end_month,
            format!(
                "a month no earlier than start_month ({})",
                hedge.start_month
            ),
        );
    }
    fields.range(
        "premium_usd_per_month",
        hedge.premium_usd_per_month,
        0.0,
        MAX_AMOUNT_USD,
        "USD a month",
    );
    let is_btc = matches!(hedge.kind, HedgeKind::BtcPut | HedgeKind::BtcCollar);
    let label = match hedge.kind {
        HedgeKind::BtcPut => "a BTC put",
        HedgeKind::BtcCollar => "a BTC collar",
        HedgeKind::InterestRateSwap => "an interest-rate swap",
        HedgeKind::InterestRateCap => "an interest-rate cap",
    };
    // (field, given, belongs to this kind, required by this kind)
    let expectations = [
        ("btc_per_month", hedge.btc_per_month, is_btc, is_btc),
        ("put_strike_usd", hedge.put_strike_usd, is_btc, is_btc),
        (
            "call_strike_usd",
            hedge.call_strike_usd,
            hedge.kind == HedgeKind::BtcCollar,
            hedge.kind == HedgeKind::BtcCollar,
        ),
        ("notional_usd", hedge.notional_usd, !is_btc, false),
        (
            "fixed_rate_percent",
            hedge.fixed_rate_percent,
            hedge.kind == HedgeKind::InterestRateSwap,
            hedge.kind == HedgeKind::InterestRateSwap,
        ),
        (
            "cap_strike_percent",
            hedge.cap_strike_percent,
            hedge.kind == HedgeKind::InterestRateCap,
            hedge.kind == HedgeKind::InterestRateCap,
        ),
    ];
    for (field, given, belongs, required) in expectations {
        match given {
            Some(value) if !belongs => {
                fields.push(field, value, format!("no value for {label}"));
            }
            None if required => fields.push(field, "", format!("a value (required for {label})")),
            _ => {}
        }
    }
    if let Some(btc) = hedge.btc_per_month {
        fields.positive("btc_per_month", btc, 1e6, "BTC a month");
    }
    for (field, strike) in [
        ("put_strike_usd", hedge.put_strike_usd),
        ("call_strike_usd", hedge.call_strike_usd),
    ] {
        if let Some(strike) = strike {
            fields.positive(field, strike, 1e9, "USD");
        }
    }
    if let (Some(put), Some(call)) = (hedge.put_strike_usd, hedge.call_strike_usd)
        && call <= put
    {
        fields.push(
            "call_strike_usd",
            call,
            format!("a strike above put_strike_usd ({put})"),
        );
    }
    if let Some(notional) = hedge.notional_usd {
        fields.positive("notional_usd", notional, MAX_AMOUNT_USD, "USD");
    }
    for (field, rate) in [
        ("fixed_rate_percent", hedge.fixed_rate_percent),
        ("cap_strike_percent", hedge.cap_strike_percent),
    ] {
        if let Some(rate) = rate {
            fields.range(field, rate, -5.0, 50.0, "% a year");
        }
    }
    match (&hedge.debt, is_btc) {
        (Some(debt), true) => fields.push(
            "debt",
            format!("{debt:?}"),
            format!("no debt for {label} (interest-rate hedges only)"),
        ),
        (None, false) => fields.push(
            "debt",
            "",
            format!("the name of the floating-rate [[debt]] hedged (required for {label})"),
        ),
        (Some(name), false) => {
            fields.reference(
                "debt",
                name,
                "a [[debt]]",
                Names::all(&[&context.debt_names]),
            );
            let hedged = context.debts.iter().flatten().find(|d| &d.name == name);
            if let Some(hedged) = hedged
                && hedged.margin_bps.is_none()
            {
                fields.push(
                    "debt",
                    format!("{name:?}"),
                    "a floating-rate debt (one with margin_bps)",
                );
            }
        }
        (None, true) => {}
    }
}
