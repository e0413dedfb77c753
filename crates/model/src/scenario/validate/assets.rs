//! Value checks of the borrower's assets and policies: sites, mining fleets, colocation leases,
//! GPU clouds, conversions, treasury, opex, tax and distributions.

use toml::de::DeTable;

use super::rules::{Context, Fields, MAX_AMOUNT_USD, Names, check_unique};
use super::structure::quoted_list;
use super::{Report, read};
use crate::catalog::{asic_catalog, find_catalog_model};
use crate::fleet::{MAX_MACHINES_PER_GROUP, POWER_PRICE_RANGE_USD_PER_MWH};
use crate::scenario::{
    ColocationLease, Conversion, Distributions, GpuCloud, IdiosyncraticRisk, MachineModel,
    MiningFleet, Opex, Site, Tax, Treasury, YearMonth,
};

/// Longest economic life of a machine or a GPU (months).
const MAX_LIFE_MONTHS: i64 = 240;

/// Longest lease or contract term (months).
const MAX_TENOR_MONTHS: i64 = 600;

/// Most unplanned outages a site may have a year: beyond it a figure is a typo (rates must be
/// finite).
const MAX_OUTAGE_EVENTS_PER_YEAR: f64 = 365.0;

/// Largest grid connection of one site (MW).
const MAX_GRID_CAPACITY_MW: f64 = 10_000.0;

/// Checks the assets and policies of the borrower.
pub(super) fn check(root: &DeTable<'_>, context: &Context, report: &mut Report) {
    for (i, site) in context.sites.iter().enumerate() {
        if let Some(site) = site {
            check_site(site, &mut Fields::new(report, format!("site[{i}]")));
        }
    }
    for (i, fleet) in context.fleets.iter().enumerate() {
        if let Some(fleet) = fleet {
            let mut fields = Fields::new(report, format!("mining_fleet[{i}]"));
            check_fleet(fleet, context, &mut fields);
        }
    }
    for (i, lease) in context.leases.iter().enumerate() {
        if let Some(lease) = lease {
            let mut fields = Fields::new(report, format!("colocation_lease[{i}]"));
            check_lease(lease, context, &mut fields);
        }
    }
    for (i, cloud) in context.clouds.iter().enumerate() {
        if let Some(cloud) = cloud {
            let mut fields = Fields::new(report, format!("gpu_cloud[{i}]"));
            check_cloud(cloud, context, &mut fields);
        }
    }
    for (i, conversion) in context.conversions.iter().enumerate() {
        if let Some(conversion) = conversion {
            check_conversion(i, conversion, context, report);
        }
    }
    check_unique(report, &[("site", &context.site_names)], "site");
    check_unique(
        report,
        &[("mining_fleet", &context.fleet_names)],
        "mining fleet",
    );
    check_unique(
        report,
        &[
            ("colocation_lease", &context.lease_names),
            ("gpu_cloud", &context.cloud_names),
        ],
        "colocation lease or GPU cloud",
    );
    check_unique(
        report,
        &[("conversion", &context.conversion_names)],
        "conversion",
    );
    check_policies(root, report);
}

fn check_site(site: &Site, fields: &mut Fields<'_>) {
    fields.name("name", &site.name);
    fields.positive(
        "grid_capacity_mw",
        site.grid_capacity_mw,
        MAX_GRID_CAPACITY_MW,
        "MW",
    );
    fields.range("pue", site.pue, 1.0, 3.0, "(facility over machine power)");
    fields.range(
        "ai_pue",
        site.ai_pue,
        1.0,
        3.0,
        "(facility over critical IT power)",
    );
    if let Some(ppa) = &site.ppa {
        fields.power_price("ppa.price_usd_per_mwh", ppa.price_usd_per_mwh);
        fields.range(
            "ppa.share_percent",
            ppa.share_percent,
            0.0,
            100.0,
            "% of the site's load",
        );
    }
    fields.range(
        "market_exposure_percent",
        site.market_exposure_percent,
        0.0,
        100.0,
        "%",
    );
    fields.power_price("tariff_usd_per_mwh", site.tariff_usd_per_mwh);
    fields.range(
        "delivery_usd_per_mwh",
        site.delivery_usd_per_mwh,
        0.0,
        POWER_PRICE_RANGE_USD_PER_MWH.1,
        "USD/MWh",
    );
    fields.range(
        "outage_days_per_year",
        site.outage_days_per_year,
        0.0,
        365.0,
        "days a year",
    );
    fields.range(
        "powered_site_value_usd_per_mw",
        site.powered_site_value_usd_per_mw,
        0.0,
        1e9,
        "USD per MW",
    );
}

fn check_fleet(fleet: &MiningFleet, context: &Context, fields: &mut Fields<'_>) {
    fields.name("name", &fleet.name);
    check_site_reference(&fleet.site, context, fields);
    match &fleet.model {
        MachineModel::Catalog(name) => {
            if find_catalog_model(name).is_none() {
                let catalog: Vec<String> = asic_catalog().into_iter().map(|m| m.name).collect();
                let catalog: Vec<&str> = catalog.iter().map(String::as_str).collect();
                fields.push(
                    "model",
                    format!("{name:?}"),
                    format!(
                        "a model of the built-in catalog ({}) or an inline model table",
                        quoted_list(&catalog)
                    ),
                );
            }
        }
        MachineModel::Inline(model) => {
            let result = model.validate(&fields.path("model"));
            fields.model(result);
        }
    }
    fields.whole(
        "count",
        fleet.count,
        1,
        MAX_MACHINES_PER_GROUP.into(),
        "machines",
    );
    fields.whole("age_months", fleet.age_months, 0, MAX_LIFE_MONTHS, "months");
    fields.uptime("uptime_percent", fleet.uptime_percent);
    fields.half_open("pool_fee_percent", fleet.pool_fee_percent, 0.0, 100.0, "%");
    fields.whole(
        "life_months",
        fleet.life_months,
        1,
        MAX_LIFE_MONTHS,
        "months",
    );
    fields.range(
        "renewal_price_usd_per_th",
        fleet.renewal_price_usd_per_th,
        0.0,
        1e4,
        "USD per TH/s",
    );
}

fn check_lease(lease: &ColocationLease, context: &Context, fields: &mut Fields<'_>) {
    fields.name("name", &lease.name);
    check_site_reference(&lease.site, context, fields);
    check_critical_it(
        lease.critical_it_mw,
        context.site(&lease.site),
        false,
        fields,
    );
    fields.positive(
        "rent_usd_per_kw_month",
        lease.rent_usd_per_kw_month,
        10_000.0,
        "USD per kW-month",
    );
    fields.range(
        "escalator_percent_per_year",
        lease.escalator_percent_per_year,
        -20.0,
        50.0,
        "% a year",
    );
    fields.whole(
        "tenor_months",
        lease.tenor_months,
        1,
        MAX_TENOR_MONTHS,
        "months",
    );
    fields.range(
        "opex_usd_per_kw_month",
        lease.opex_usd_per_kw_month,
        0.0,
        10_000.0,
        "USD per kW-month",
    );
    fields.counterparty("tenant", &lease.tenant);
    fields.whole(
        "re_lease_downtime_months",
        lease.re_lease_downtime_months,
        0,
        MAX_TENOR_MONTHS,
        "months",
    );
    fields.range(
        "re_lease_rent_percent",
        lease.re_lease_rent_percent,
        0.0,
        200.0,
        "% of the contracted rent",
    );
    if let Some(backstop) = &lease.backstop {
        fields.counterparty("backstop.guarantor", &backstop.guarantor);
        fields.range(
            "backstop.cap_usd",
            backstop.cap_usd,
            0.0,
            MAX_AMOUNT_USD,
            "USD",
        );
    }
}

fn check_cloud(cloud: &GpuCloud, context: &Context, fields: &mut Fields<'_>) {
    fields.name("name", &cloud.name);
    check_site_reference(&cloud.site, context, fields);
    fields.reference(
        "generation",
        &cloud.generation,
        "a GPU generation of market.gpu.generations",
        Names::all(&[&context.generation_names]),
    );
    fields.whole("gpu_count", cloud.gpu_count, 1, 10_000_000, "GPUs");
    fields.positive(
        "capex_usd_per_gpu",
        cloud.capex_usd_per_gpu,
        1e7,
        "USD per GPU",
    );
    fields.positive("power_kw_per_gpu", cloud.power_kw_per_gpu, 200.0, "kW");
    fields.whole(
        "life_months",
        cloud.life_months,
        1,
        MAX_LIFE_MONTHS,
        "months",
    );
    fields.range(
        "contracted_percent",
        cloud.contracted_percent,
        0.0,
        100.0,
        "% of the GPUs",
    );
    fields.range(
        "contract_rate_usd_per_gpu_hour",
        cloud.contract_rate_usd_per_gpu_hour,
        0.0,
        1000.0,
        "USD per GPU-hour",
    );
    fields.whole(
        "contract_tenor_months",
        cloud.contract_tenor_months,
        0,
        MAX_TENOR_MONTHS,
        "months",
    );
    fields.range(
        "opex_usd_per_gpu_hour",
        cloud.opex_usd_per_gpu_hour,
        0.0,
        1000.0,
        "USD per GPU-hour",
    );
    if cloud.contracted_percent > 0.0 {
        let when = "when contracted_percent is above 0";
        if cloud.contract_rate_usd_per_gpu_hour == 0.0 {
            fields.push(
                "contract_rate_usd_per_gpu_hour",
                0,
                format!("a rate above 0 USD per GPU-hour {when}"),
            );
        }
        if cloud.contract_tenor_months == 0 {
            fields.push(
                "contract_tenor_months",
                0,
                format!("at least 1 month {when}"),
            );
        }
        if cloud.offtaker.is_none() {
            fields.push("offtaker", "", format!("an offtaker table {when}"));
        }
    }
    if let Some(offtaker) = &cloud.offtaker {
        fields.counterparty("offtaker", offtaker);
    }
}

fn check_conversion(i: usize, conversion: &Conversion, context: &Context, report: &mut Report) {
    let mut fields = Fields::new(report, format!("conversion[{i}]"));
    fields.name("name", &conversion.name);
    check_site_reference(&conversion.site, context, &mut fields);
    check_critical_it(
        conversion.critical_it_mw,
        context.site(&conversion.site),
        true,
        &mut fields,
    );
    fields.whole(
        "duration_months",
        conversion.duration_months,
        1,
        120,
        "months",
    );
    fields.range(
        "capex_usd_per_mw",
        conversion.capex_usd_per_mw,
        0.0,
        1e9,
        "USD per MW of critical IT",
    );
    fields.reference(
        "feeds",
        &conversion.feeds,
        "a [[colocation_lease]] or [[gpu_cloud]]",
        Names::all(&[&context.lease_names, &context.cloud_names]),
    );
    let Some((fed, fed_site, fed_start)) = fed_capacity(&conversion.feeds, context) else {
        return;
    };
    if fed_site != conversion.site {
        fields.push(
            "feeds",
            format!("{:?}", conversion.feeds),
            format!(
                "a colocation lease or GPU cloud at site {:?} ({fed} is at site {fed_site:?})",
                conversion.site
            ),
        );
    }
    if (1..=120).contains(&conversion.duration_months) {
        let ready = ready_month(conversion);
        if fed_start < ready {
            report.push(
                format!("{fed}.start_month"),
                fed_start,
                format!(
                    "{ready} or later: conversion {:?}, which feeds it, is ready then",
                    conversion.name
                ),
            );
        }
    }
}

/// The first month the capacity a conversion builds can be used.
pub(super) fn ready_month(conversion: &Conversion) -> YearMonth {
    let duration = i32::try_from(conversion.duration_months).unwrap_or(i32::MAX);
    conversion.start_month.plus_months(duration)
}

/// The path, site and first month of the readable lease or GPU cloud named `name`.
fn fed_capacity<'c>(name: &str, context: &'c Context) -> Option<(String, &'c str, YearMonth)> {
    let lease = context.leases.iter().enumerate().find_map(|(i, lease)| {
        let lease = lease.as_ref().filter(|lease| lease.name == name)?;
        Some((
            format!("colocation_lease[{i}]"),
            lease.site.as_str(),
            lease.start_month,
        ))
    });
    lease.or_else(|| {
        context.clouds.iter().enumerate().find_map(|(i, cloud)| {
            let cloud = cloud.as_ref().filter(|cloud| cloud.name == name)?;
            Some((
                format!("gpu_cloud[{i}]"),
                cloud.site.as_str(),
                cloud.start_month,
            ))
        })
    })
}

fn check_site_reference(name: &str, context: &Context, fields: &mut Fields<'_>) {
    fields.reference(
        "site",
        name,
        "a [[site]]",
        Names::all(&[&context.site_names]),
    );
}

/// Critical IT capacity (MW): above 0, and its load within the site's grid connection where
/// the site is known (an AI load counts at the site's AI PUE).
fn check_critical_it(
    critical_it_mw: f64,
    site: Option<&Site>,
    ai_load: bool,
    fields: &mut Fields<'_>,
) {
    let valid_site = site.filter(|site| {
        site.grid_capacity_mw > 0.0
            && site.grid_capacity_mw <= MAX_GRID_CAPACITY_MW
            && (1.0..=3.0).contains(&site.ai_pue)
    });
    let pue = match valid_site {
        Some(site) if ai_load => site.ai_pue,
        _ => 1.0,
    };
    let capacity_mw = valid_site.map_or(MAX_GRID_CAPACITY_MW, |site| site.grid_capacity_mw);
    if critical_it_mw > 0.0 && critical_it_mw * pue <= capacity_mw {
        return;
    }
    let expected = match valid_site {
        Some(site) if ai_load => format!(
            "a number above 0 whose load at the AI PUE of {pue} fits the {capacity_mw} MW grid \
             connection of site {:?}",
            site.name
        ),
        Some(site) => format!(
            "a number above 0 and at most {capacity_mw} MW (the grid connection of site {:?})",
            site.name
        ),
        None => format!("a number above 0 and at most {capacity_mw} MW"),
    };
    fields.push("critical_it_mw", critical_it_mw, expected);
}

/// `[treasury]`, `[opex]`, `[tax]` and `[distributions]`.
fn check_policies(root: &DeTable<'_>, report: &mut Report) {
    if let Some(treasury) = root.get("treasury")
        && let Some(treasury) = read::<Treasury>(treasury, "treasury", &[], report)
    {
        let mut fields = Fields::new(report, "treasury");
        fields.range("btc_held", treasury.btc_held, 0.0, 21e6, "BTC");
        fields.range(
            "sell_mined_percent",
            treasury.sell_mined_percent,
            0.0,
            100.0,
            "%",
        );
    }
    if let Some(opex) = root.get("opex")
        && let Some(opex) = read::<Opex>(opex, "opex", &[], report)
    {
        let mut fields = Fields::new(report, "opex");
        fields.range(
            "fixed_usd_per_month",
            opex.fixed_usd_per_month,
            0.0,
            MAX_AMOUNT_USD,
            "USD a month",
        );
        for (field, value) in [
            ("site_usd_per_mw_month", opex.site_usd_per_mw_month),
            (
                "maintenance_capex_usd_per_mw_month",
                opex.maintenance_capex_usd_per_mw_month,
            ),
        ] {
            fields.range(field, value, 0.0, 1e9, "USD per MW-month");
        }
        fields.range(
            "escalation_percent_per_year",
            opex.escalation_percent_per_year,
            -50.0,
            50.0,
            "% a year",
        );
    }
    if let Some(tax) = root.get("tax")
        && let Some(tax) = read::<Tax>(tax, "tax", &[], report)
    {
        let mut fields = Fields::new(report, "tax");
        fields.range("rate_percent", tax.rate_percent, 0.0, 100.0, "%");
        fields.whole(
            "depreciation_months",
            tax.depreciation_months,
            1,
            MAX_TENOR_MONTHS,
            "months",
        );
        fields.range(
            "opening_tax_basis_usd",
            tax.opening_tax_basis_usd,
            0.0,
            MAX_AMOUNT_USD,
            "USD",
        );
    }
    if let Some(risk) = root.get("idiosyncratic")
        && let Some(risk) = read::<IdiosyncraticRisk>(risk, "idiosyncratic", &[], report)
    {
        check_idiosyncratic(&risk, &mut Fields::new(report, "idiosyncratic"));
    }
    if let Some(distributions) = root.get("distributions")
        && let Some(distributions) =
            read::<Distributions>(distributions, "distributions", &[], report)
    {
        let mut fields = Fields::new(report, "distributions");
        fields.range(
            "excess_cash_percent",
            distributions.excess_cash_percent,
            0.0,
            100.0,
            "%",
        );
        fields.range(
            "minimum_cash_usd",
            distributions.minimum_cash_usd,
            0.0,
            MAX_AMOUNT_USD,
            "USD",
        );
    }
}

/// The borrower's random risks (`[idiosyncratic]`, or a book's `[borrower.idiosyncratic]`).
pub(super) fn check_idiosyncratic(risk: &IdiosyncraticRisk, fields: &mut Fields<'_>) {
    fields.range(
        "site_outage_events_per_year",
        risk.site_outage_events_per_year,
        0.0,
        MAX_OUTAGE_EVENTS_PER_YEAR,
        "events a year per site",
    );
    fields.range(
        "site_outage_event_days",
        risk.site_outage_event_days,
        0.0,
        31.0,
        "days per event",
    );
    fields.range(
        "conversion_delay_probability_percent",
        risk.conversion_delay_probability_percent,
        0.0,
        100.0,
        "%",
    );
    fields.positive(
        "conversion_delay_mean_months",
        risk.conversion_delay_mean_months,
        f64::from(IdiosyncraticRisk::MAX_CONVERSION_DELAY_MONTHS),
        "months",
    );
}
