//! The value checks: ranges with units and the references between sections, run on every unit
//! of the file that the structural check let through.

use std::collections::HashMap;
use std::fmt::Display;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::structure::quoted_list;
use super::{Report, read, snapshot_month};
use crate::error::ModelError;
use crate::fleet::{
    POWER_PRICE_RANGE_USD_PER_MWH, check_half_open, check_name, check_range, check_uptime,
    format_bound,
};
use crate::scenario::{
    ASIC_BAND_EDGES_J_PER_TH, ColocationLease, Conversion, Counterparty, Debt, FACTOR_COUNT,
    GpuCloud, GpuMarket, Hedge, LiquidationMarkets, MAX_HORIZON_MONTHS, MODEL_FACTORS, Market,
    MarketModel, MiningFleet, NetworkStart, SCENARIO_SCHEMA_VERSION, Scenario, Site, Treasury,
    WorldFleet, YearMonth, asic_band, correlation_cholesky,
};

/// Largest amount of money a field accepts (USD): beyond it a figure is a typo.
pub(super) const MAX_AMOUNT_USD: f64 = 1e13;

/// Longest explicit BTC price path (months): ten times the longest projection.
const MAX_BTC_PRICE_SERIES_MONTHS: usize = 2_400;

/// Timestamp of the genesis block (Unix seconds), the earliest time of a block.
const GENESIS_TIME_UNIX_S: i64 = 1_231_006_505;

/// 2100-01-01 (Unix seconds), the latest time of a block accepted.
const MAX_BLOCK_TIME_UNIX_S: i64 = 4_102_444_800;

/// The keys of the top level whose values are read as units of their own.
const SECTIONS: [&str; 15] = [
    "market",
    "site",
    "mining_fleet",
    "colocation_lease",
    "gpu_cloud",
    "conversion",
    "debt",
    "hedge",
    "treasury",
    "opex",
    "tax",
    "distributions",
    "equity_issuance",
    "recovery",
    "idiosyncratic",
];

/// The tables of `[market]` read as units of their own.
const MARKET_TABLES: [&str; 5] = ["network", "world_fleet", "gpu", "liquidation", "model"];

/// Checks the values of every readable unit of `document` (the structural check has run).
pub(super) fn check(document: &Spanned<DeValue<'_>>, report: &mut Report) {
    let DeValue::Table(root) = document.get_ref() else {
        unreachable!("a TOML document is a table")
    };
    let except: Vec<String> = SECTIONS.iter().map(|s| s.to_string()).collect();
    let header = without_keys(root, &SECTIONS);
    if let Some(scenario) =
        read::<Scenario>(&Spanned::new(document.span(), header), "", &except, report)
    {
        check_header(&scenario, report);
    }
    check_presence(root, report);
    let generations = check_market(root, report);
    let context = Context::read(root, generations, report);
    super::assets::check(root, &context, report);
    super::debt::check(&context, report);
    super::capital::check(root, &context, report);
}

/// The units the checks of one section need from the others.
pub(super) struct Context {
    /// The first projected month, unless the file's is unreadable.
    pub start: Option<YearMonth>,
    // The elements of the arrays of tables, `None` where one has a structural problem.
    pub sites: Vec<Option<Site>>,
    pub fleets: Vec<Option<MiningFleet>>,
    pub leases: Vec<Option<ColocationLease>>,
    pub clouds: Vec<Option<GpuCloud>>,
    pub conversions: Vec<Option<Conversion>>,
    pub debts: Vec<Option<Debt>>,
    pub hedges: Vec<Option<Hedge>>,
    /// The treasury, unless unreadable.
    pub treasury: Option<Treasury>,
    // The names of the elements, as written, and of the GPU generations.
    pub site_names: Names,
    pub fleet_names: Names,
    pub lease_names: Names,
    pub cloud_names: Names,
    pub conversion_names: Names,
    pub debt_names: Names,
    pub hedge_names: Names,
    pub generation_names: Names,
}

impl Context {
    fn read(root: &DeTable<'_>, generation_names: Names, report: &mut Report) -> Context {
        let start = match root.get("start_month") {
            None => Some(snapshot_month()),
            Some(value) => read(value, "start_month", &[], report),
        };
        Context {
            start,
            sites: read_elements(root, "site", report),
            fleets: read_elements(root, "mining_fleet", report),
            leases: read_elements(root, "colocation_lease", report),
            clouds: read_elements(root, "gpu_cloud", report),
            conversions: read_elements(root, "conversion", report),
            debts: read_elements(root, "debt", report),
            hedges: read_elements(root, "hedge", report),
            treasury: match root.get("treasury") {
                None => Some(Treasury::default()),
                Some(value) => read(value, "treasury", &[], report),
            },
            site_names: Names::of(root.get("site")),
            fleet_names: Names::of(root.get("mining_fleet")),
            lease_names: Names::of(root.get("colocation_lease")),
            cloud_names: Names::of(root.get("gpu_cloud")),
            conversion_names: Names::of(root.get("conversion")),
            debt_names: Names::of(root.get("debt")),
            hedge_names: Names::of(root.get("hedge")),
            generation_names,
        }
    }

    /// The first readable site named `name`.
    pub fn site(&self, name: &str) -> Option<&Site> {
        self.sites.iter().flatten().find(|site| site.name == name)
    }

    /// The first readable conversion named `name`.
    pub fn conversion(&self, name: &str) -> Option<&Conversion> {
        self.conversions.iter().flatten().find(|c| c.name == name)
    }
}

/// Reads every element of the array of tables `key` on its own.
pub(super) fn read_elements<T: DeserializeOwned>(
    root: &DeTable<'_>,
    key: &str,
    report: &mut Report,
) -> Vec<Option<T>> {
    match root.get(key).map(Spanned::get_ref) {
        Some(DeValue::Array(array)) => array
            .iter()
            .enumerate()
            .map(|(i, element)| read(element, &format!("{key}[{i}]"), &[], report))
            .collect(),
        _ => Vec::new(),
    }
}

/// A copy of `table` without `keys`.
fn without_keys<'i>(table: &DeTable<'i>, keys: &[&str]) -> DeValue<'i> {
    let kept = table
        .iter()
        .filter(|(key, _)| !keys.contains(&key.get_ref().as_ref()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    DeValue::Table(kept)
}

/// The names given to the elements of an array of tables.
pub(super) struct Names {
    /// Each element's name; `None` where it is missing or not a string.
    names: Vec<Option<String>>,
    /// Whether every name is known, so that a name not among them is surely unknown.
    complete: bool,
}

impl Names {
    /// The names in an array of tables as written (an absent array has none).
    fn of(array: Option<&Spanned<DeValue<'_>>>) -> Names {
        match array.map(Spanned::get_ref) {
            None => Names::new(Vec::new()),
            Some(DeValue::Array(elements)) => {
                let names: Vec<Option<String>> = elements
                    .iter()
                    .map(|element| {
                        let name = element.get_ref().as_table()?.get("name")?;
                        name.get_ref().as_str().map(str::to_string)
                    })
                    .collect();
                Names::partial(names)
            }
            Some(_) => Names::unknown(),
        }
    }

    /// Names where some may be missing (`None`): references go unchecked unless all are known.
    pub fn partial(names: Vec<Option<String>>) -> Names {
        Names {
            complete: names.iter().all(Option::is_some),
            names,
        }
    }

    fn new(names: Vec<String>) -> Names {
        Names {
            names: names.into_iter().map(Some).collect(),
            complete: true,
        }
    }

    /// Names that cannot be known (the section is unreadable): references to it go unchecked.
    fn unknown() -> Names {
        Names {
            names: Vec::new(),
            complete: false,
        }
    }

    /// The names of several sections, where all are known.
    pub fn all<'a>(sections: &[&'a Names]) -> Option<Vec<&'a str>> {
        let mut all = Vec::new();
        for section in sections {
            if !section.complete {
                return None;
            }
            all.extend(section.names.iter().flatten().map(String::as_str));
        }
        Some(all)
    }
}

/// Reports every element whose name an earlier element of `sections` (array key, names) has,
/// ignoring case.
pub(super) fn check_unique(report: &mut Report, sections: &[(&str, &Names)], what: &str) {
    let mut first_with: HashMap<String, String> = HashMap::new();
    for (key, names) in sections {
        for (i, name) in names.names.iter().enumerate() {
            let Some(name) = name else { continue };
            let path = format!("{key}[{i}]");
            match first_with.get(&name.to_lowercase()) {
                Some(first) => report.push(
                    format!("{path}.name"),
                    format!("{name:?}"),
                    format!("a name no other {what} has ({first} has it too)"),
                ),
                None => {
                    first_with.insert(name.to_lowercase(), path);
                }
            }
        }
    }
}

/// Checks on the fields of one table, whose path is `prefix`.
pub(super) struct Fields<'r> {
    report: &'r mut Report,
    prefix: String,
}

impl<'r> Fields<'r> {
    pub fn new(report: &'r mut Report, prefix: impl Into<String>) -> Fields<'r> {
        Fields {
            report,
            prefix: prefix.into(),
        }
    }

    /// The path of `field` (a key, or dotted keys) of the table; `""` is the table itself.
    pub fn path(&self, field: &str) -> String {
        match (self.prefix.is_empty(), field.is_empty()) {
            (_, true) => self.prefix.clone(),
            (true, false) => field.to_string(),
            (false, false) => format!("{}.{field}", self.prefix),
        }
    }

    pub fn push(&mut self, field: &str, value: impl Display, expected: impl Into<String>) {
        let path = self.path(field);
        self.report.push(path, value, expected);
    }

    /// Reports the error of one of the fleet file's checks.
    pub fn model(&mut self, result: Result<(), ModelError>) {
        if let Err(error) = result {
            self.report.push_model_error(error);
        }
    }

    /// A finite number from `min` to `max`.
    pub fn range(&mut self, field: &str, value: f64, min: f64, max: f64, unit: &str) {
        let result = check_range(&self.path(field), value, min, max, unit);
        self.model(result);
    }

    /// A finite number from `min` up to, not including, `max`.
    pub fn half_open(&mut self, field: &str, value: f64, min: f64, max: f64, unit: &str) {
        let result = check_half_open(&self.path(field), value, min, max, unit);
        self.model(result);
    }

    /// A number above 0 and at most `max`.
    pub fn positive(&mut self, field: &str, value: f64, max: f64, unit: &str) {
        if !(value > 0.0 && value <= max) {
            let expected = format!("a number above 0 and at most {} {unit}", format_bound(max));
            self.push(field, value, expected);
        }
    }

    /// A whole number from `min` to `max`.
    pub fn whole(&mut self, field: &str, value: impl Into<i64>, min: i64, max: i64, unit: &str) {
        let value = value.into();
        if !(min..=max).contains(&value) {
            self.push(
                field,
                value,
                format!("a whole number from {min} to {max} {unit}"),
            );
        }
    }

    /// A power price (USD/MWh) in the range a fleet file accepts.
    pub fn power_price(&mut self, field: &str, value: f64) {
        let (min, max) = POWER_PRICE_RANGE_USD_PER_MWH;
        self.range(field, value, min, max, "USD/MWh");
    }

    /// An uptime (%), as in a fleet file.
    pub fn uptime(&mut self, field: &str, value: f64) {
        let result = check_uptime(&self.path(field), value);
        self.model(result);
    }

    /// A name shown in tables, as in a fleet file.
    pub fn name(&mut self, field: &str, name: &str) {
        let result = check_name(&self.path(field), name);
        self.model(result);
    }

    /// A counterparty: its name, default probability, sensitivity to AI demand and asset
    /// correlation.
    pub fn counterparty(&mut self, field: &str, counterparty: &Counterparty) {
        self.name(&format!("{field}.name"), &counterparty.name);
        self.range(
            &format!("{field}.default_probability_percent_per_year"),
            counterparty.default_probability_percent_per_year,
            0.0,
            100.0,
            "% a year",
        );
        self.range(
            &format!("{field}.ai_demand_sensitivity"),
            counterparty.ai_demand_sensitivity,
            0.0,
            100.0,
            "(hazard multiple per unit of demand drop)",
        );
        self.range(
            &format!("{field}.asset_correlation"),
            counterparty.asset_correlation,
            0.0,
            1.0,
            "(a correlation)",
        );
    }

    /// A reference by name to `what`, one of `known` (unchecked where those are not known).
    pub fn reference(&mut self, field: &str, name: &str, what: &str, known: Option<Vec<&str>>) {
        let Some(known) = known else { return };
        if !known.contains(&name) {
            let expected = if known.is_empty() {
                format!("the name of {what}, but the file defines none")
            } else {
                format!("the name of {what}: {}", quoted_list(&known))
            };
            self.push(field, format!("{name:?}"), expected);
        }
    }
}

/// Numbers as a short list: `[60, 50]`, or the first few and a count.
pub(super) fn render_numbers(numbers: &[f64]) -> String {
    const SHOWN: usize = 6;
    let shown: Vec<String> = numbers.iter().take(SHOWN).map(f64::to_string).collect();
    if numbers.len() > SHOWN {
        format!("[{}, ... ({} entries)]", shown.join(", "), numbers.len())
    } else {
        format!("[{}]", shown.join(", "))
    }
}

fn check_header(scenario: &Scenario, report: &mut Report) {
    let mut fields = Fields::new(report, "");
    if scenario.schema_version != SCENARIO_SCHEMA_VERSION {
        fields.push(
            "schema_version",
            scenario.schema_version,
            format!("{SCENARIO_SCHEMA_VERSION} (the version this build reads)"),
        );
    }
    fields.name("name", &scenario.name);
    fields.whole(
        "horizon_months",
        scenario.horizon_months,
        1,
        MAX_HORIZON_MONTHS.into(),
        "months",
    );
    fields.half_open(
        "opening_cash_usd",
        scenario.opening_cash_usd,
        0.0,
        MAX_AMOUNT_USD,
        "USD",
    );
}

/// A scenario needs a site and a business on it.
fn check_presence(root: &DeTable<'_>, report: &mut Report) {
    // `None` where the key holds something other than an array (reported as a type error).
    let count = |key: &str| match root.get(key).map(Spanned::get_ref) {
        None => Some(0),
        Some(DeValue::Array(array)) => Some(array.len()),
        Some(_) => None,
    };
    if count("site") == Some(0) {
        report.push("site".to_string(), "", "at least one [[site]]");
    }
    let businesses = ["mining_fleet", "colocation_lease", "gpu_cloud"].map(count);
    if businesses.iter().all(|&count| count == Some(0)) {
        report.push(
            "mining_fleet".to_string(),
            "",
            "at least one [[mining_fleet]], [[colocation_lease]] or [[gpu_cloud]]",
        );
    }
}

/// Checks `[market]` and its tables; returns the names of the GPU generations.
fn check_market(root: &DeTable<'_>, report: &mut Report) -> Names {
    let default_generations = || {
        let generations = GpuMarket::default().generations;
        Names::new(generations.into_iter().map(|g| g.name).collect())
    };
    let Some(market) = root.get("market") else {
        return default_generations();
    };
    let DeValue::Table(table) = market.get_ref() else {
        return Names::unknown();
    };
    let except: Vec<String> = MARKET_TABLES
        .iter()
        .map(|t| format!("market.{t}"))
        .collect();
    let scalars = Spanned::new(market.span(), without_keys(table, &MARKET_TABLES));
    if let Some(market) = read::<Market>(&scalars, "market", &except, report) {
        check_market_scalars(&market, report);
    }
    if let Some(network) = table.get("network")
        && let Some(network) = read::<NetworkStart>(network, "market.network", &[], report)
    {
        check_network(&network, report);
    }
    if let Some(world_fleet) = table.get("world_fleet")
        && let Some(world_fleet) = read(world_fleet, "market.world_fleet", &[], report)
    {
        check_world_fleet(&world_fleet, report);
    }
    let liquidation = table.get("liquidation").and_then(|liquidation| {
        read::<LiquidationMarkets>(liquidation, "market.liquidation", &[], report)
    });
    if let Some(liquidation) = &liquidation {
        check_liquidation(liquidation, report);
    }
    if let Some(model) = table.get("model")
        && let Some(model) = read(model, "market.model", &[], report)
    {
        check_model(&model, report);
    }
    let generations = match table.get("gpu") {
        None => default_generations(),
        Some(gpu) => match read::<GpuMarket>(gpu, "market.gpu", &[], report) {
            Some(gpu) => {
                check_gpu(&gpu, report);
                Names::new(gpu.generations.into_iter().map(|g| g.name).collect())
            }
            None => Names::unknown(),
        },
    };
    if let Some(liquidation) = &liquidation {
        for (i, depth) in liquidation.gpu_generation.iter().enumerate() {
            let mut fields = Fields::new(report, format!("market.liquidation.gpu_generation[{i}]"));
            fields.reference(
                "generation",
                &depth.generation,
                "a GPU generation of market.gpu.generations",
                Names::all(&[&generations]),
            );
        }
    }
    generations
}

fn check_market_scalars(market: &Market, report: &mut Report) {
    let mut fields = Fields::new(report, "market");
    if let Some(price) = market.btc_price_usd {
        fields.range("btc_price_usd", price, 1e-6, 1e9, "USD");
    }
    if let Some(drift) = market.btc_drift_percent_per_year {
        fields.range(
            "btc_drift_percent_per_year",
            drift,
            -100.0,
            200.0,
            "% a year",
        );
    }
    let series = &market.btc_price_series_usd;
    if series.len() > MAX_BTC_PRICE_SERIES_MONTHS {
        fields.push(
            "btc_price_series_usd",
            format!("{} prices", series.len()),
            format!("at most {MAX_BTC_PRICE_SERIES_MONTHS} monthly prices"),
        );
    }
    for (i, &price) in series.iter().enumerate() {
        fields.range(
            &format!("btc_price_series_usd[{i}]"),
            price,
            1e-6,
            1e9,
            "USD",
        );
    }
    if let Some(fees) = market.fees_btc_per_block {
        fields.range("fees_btc_per_block", fees, 0.0, 100.0, "BTC");
    }
    fields.power_price("power_price_usd_per_mwh", market.power_price_usd_per_mwh);
    fields.range(
        "power_price_escalation_percent_per_year",
        market.power_price_escalation_percent_per_year,
        -50.0,
        50.0,
        "% a year",
    );
    fields.range("sofr_percent", market.sofr_percent, -5.0, 50.0, "% a year");
    fields.positive(
        "btc_volatility_percent_per_year",
        market.btc_volatility_percent_per_year,
        500.0,
        "% a year",
    );
}

fn check_model(model: &MarketModel, report: &mut Report) {
    let mut fields = Fields::new(report, "market.model");
    for (field, value) in [
        (
            "stress_entry_percent_per_month",
            model.stress_entry_percent_per_month,
        ),
        (
            "stress_exit_percent_per_month",
            model.stress_exit_percent_per_month,
        ),
        (
            "crash_percent_per_month_in_stress",
            model.crash_percent_per_month_in_stress,
        ),
        (
            "fee_spike_percent_per_month",
            model.fee_spike_percent_per_month,
        ),
        (
            "power_spike_percent_per_month",
            model.power_spike_percent_per_month,
        ),
        (
            "power_spike_percent_per_peak_month",
            model.power_spike_percent_per_peak_month,
        ),
    ] {
        fields.range(field, value, 0.0, 100.0, "% a month");
    }
    for (i, &month) in model.power_spike_peak_months.iter().enumerate() {
        fields.whole(
            &format!("power_spike_peak_months[{i}]"),
            month,
            1,
            12,
            "(a calendar month, 1 = January)",
        );
    }
    fields.range(
        "power_spike_multiple",
        model.power_spike_multiple,
        1.0,
        100.0,
        "× the month's power price",
    );
    fields.range(
        "grid_events_per_year",
        model.grid_events_per_year,
        0.0,
        52.0,
        "events a year",
    );
    fields.range(
        "grid_event_outage_days",
        model.grid_event_outage_days,
        0.0,
        31.0,
        "days an event",
    );
    fields.range(
        "hashrate_noise_percent_per_year",
        model.hashrate_noise_percent_per_year,
        0.0,
        200.0,
        "% a year",
    );
    fields.range(
        "gpu_launch_jitter_months",
        model.gpu_launch_jitter_months,
        0.0,
        60.0,
        "months",
    );
    if let Some(volatility) = model.btc_calm_volatility_percent_per_year {
        fields.range(
            "btc_calm_volatility_percent_per_year",
            volatility,
            0.0,
            500.0,
            "% a year",
        );
    }
    for (field, value) in [
        (
            "btc_stress_volatility_percent_per_year",
            model.btc_stress_volatility_percent_per_year,
        ),
        (
            "fees_volatility_percent_per_year",
            model.fees_volatility_percent_per_year,
        ),
        (
            "gpu_rent_volatility_percent_per_year",
            model.gpu_rent_volatility_percent_per_year,
        ),
        (
            "ai_demand_volatility_percent_per_year",
            model.ai_demand_volatility_percent_per_year,
        ),
        (
            "power_volatility_percent_per_year",
            model.power_volatility_percent_per_year,
        ),
    ] {
        fields.range(field, value, 0.0, 500.0, "% a year");
    }
    fields.range(
        "btc_stress_drift_percent_per_year",
        model.btc_stress_drift_percent_per_year,
        -500.0,
        200.0,
        "% a year",
    );
    for (field, value) in [
        ("btc_jumps_per_year_calm", model.btc_jumps_per_year_calm),
        ("btc_jumps_per_year_stress", model.btc_jumps_per_year_stress),
    ] {
        // At most one a day: the bound of the daily fit `calibrate` makes.
        fields.range(field, value, 0.0, 365.0, "jumps a year");
    }
    fields.range(
        "btc_jump_mean_percent",
        model.btc_jump_mean_percent,
        -100.0,
        100.0,
        "%",
    );
    fields.range(
        "btc_jump_volatility_percent",
        model.btc_jump_volatility_percent,
        0.0,
        200.0,
        "%",
    );
    fields.half_open(
        "crash_size_percent",
        model.crash_size_percent,
        0.0,
        100.0,
        "%",
    );
    fields.range(
        "fee_spike_multiple",
        model.fee_spike_multiple,
        1.0,
        100.0,
        "× the month's fees",
    );
    for (field, value) in [
        ("fees_reversion_per_year", model.fees_reversion_per_year),
        (
            "ai_demand_reversion_per_year",
            model.ai_demand_reversion_per_year,
        ),
        ("power_reversion_per_year", model.power_reversion_per_year),
        ("sofr_reversion_per_year", model.sofr_reversion_per_year),
    ] {
        fields.range(field, value, 0.0, 100.0, "a year");
    }
    fields.range(
        "sofr_volatility_points_per_year",
        model.sofr_volatility_points_per_year,
        0.0,
        20.0,
        "percentage points a year",
    );
    fields.range(
        "correlation_convergence",
        model.correlation_convergence,
        0.0,
        1.0,
        "(0: stress keeps the calm correlations, 1: every factor moves with the crash)",
    );
    check_correlation(&model.calm_correlation, &mut fields);
}

/// The calm correlation: 6 × 6, unit diagonal, symmetric, entries in [−1, 1], positive
/// semi-definite.
// Symmetry compares rows[i][j] with rows[j][i]: indices say it best.
#[allow(clippy::needless_range_loop)]
fn check_correlation(rows: &[Vec<f64>], fields: &mut Fields<'_>) {
    let field = "calm_correlation";
    let size = FACTOR_COUNT;
    if rows.len() != size || rows.iter().any(|row| row.len() != size) {
        fields.push(
            field,
            format!("{} rows", rows.len()),
            format!(
                "{size} rows of {size} correlations, in the order {}",
                MODEL_FACTORS.join(", ")
            ),
        );
        return;
    }
    let mut sound = true;
    for i in 0..size {
        for j in 0..size {
            let value = rows[i][j];
            let path = format!("{field}[{i}][{j}]");
            if i == j && value != 1.0 {
                fields.push(
                    &path,
                    value,
                    format!("1 (the correlation of {} with itself)", MODEL_FACTORS[i]),
                );
                sound = false;
            } else if !(-1.0..=1.0).contains(&value) {
                fields.push(&path, value, "a correlation from -1 to 1");
                sound = false;
            } else if j > i && value != rows[j][i] {
                fields.push(
                    &path,
                    value,
                    format!(
                        "the same as {field}[{j}][{i}] ({}): the matrix is symmetric",
                        rows[j][i]
                    ),
                );
                sound = false;
            }
        }
    }
    if sound {
        let model = MarketModel {
            calm_correlation: rows.to_vec(),
            ..MarketModel::default()
        };
        if let Err(row) = correlation_cholesky(&model.calm_correlation_matrix()) {
            let value = format!(
                "a matrix whose factorisation fails at row {row} ({})",
                MODEL_FACTORS[row]
            );
            if fields.report.repair_correlation {
                let path = fields.path(field);
                fields.report.push_warning(
                    path,
                    value,
                    "a positive semi-definite correlation matrix: replaced by the nearest one",
                );
            } else {
                fields.push(
                    field,
                    value,
                    "a positive semi-definite correlation matrix (these correlations cannot hold \
                     together; --repair-correlation replaces it by the nearest one)",
                );
            }
        }
    }
}

fn check_liquidation(liquidation: &LiquidationMarkets, report: &mut Report) {
    let mut fields = Fields::new(report, "market.liquidation");
    for (class, depth) in [
        ("asic", &liquidation.asic),
        ("gpu", &liquidation.gpu),
        ("btc", &liquidation.btc),
        ("site", &liquidation.site),
    ] {
        fields.positive(
            &format!("{class}.monthly_volume_usd"),
            depth.monthly_volume_usd,
            MAX_AMOUNT_USD,
            "USD a month",
        );
        fields.half_open(
            &format!("{class}.impact_percent"),
            depth.impact_percent,
            0.0,
            100.0,
            "% price fall from selling a tenth of the monthly volume",
        );
    }
    fields.positive(
        "stress_depth_percent",
        liquidation.stress_depth_percent,
        100.0,
        "% of the calm depth",
    );
    let overrides = liquidation
        .gpu_generation
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                format!("gpu_generation[{i}]"),
                d.monthly_volume_usd,
                d.impact_percent,
            )
        })
        .chain(liquidation.asic_band.iter().enumerate().map(|(i, d)| {
            (
                format!("asic_band[{i}]"),
                d.monthly_volume_usd,
                d.impact_percent,
            )
        }));
    for (class, volume, impact) in overrides {
        fields.positive(
            &format!("{class}.monthly_volume_usd"),
            volume,
            MAX_AMOUNT_USD,
            "USD a month",
        );
        fields.half_open(
            &format!("{class}.impact_percent"),
            impact,
            0.0,
            100.0,
            "% price fall from selling a tenth of the monthly volume",
        );
    }
    for (i, band) in liquidation.asic_band.iter().enumerate() {
        fields.range(
            &format!("asic_band[{i}].efficiency_j_per_th"),
            band.efficiency_j_per_th,
            1.0,
            1_000.0,
            "J/TH",
        );
    }
    let mut seen = Vec::new();
    for (i, depth) in liquidation.gpu_generation.iter().enumerate() {
        if seen.contains(&&depth.generation) {
            fields.push(
                &format!("gpu_generation[{i}].generation"),
                format!("{:?}", depth.generation),
                "each generation at most once".to_string(),
            );
        }
        seen.push(&depth.generation);
    }
    let mut bands = Vec::new();
    for (i, band) in liquidation.asic_band.iter().enumerate() {
        let index = asic_band(band.efficiency_j_per_th);
        if bands.contains(&index) {
            fields.push(
                &format!("asic_band[{i}].efficiency_j_per_th"),
                band.efficiency_j_per_th.to_string(),
                format!("each band at most once (edges {ASIC_BAND_EDGES_J_PER_TH:?} J/TH)"),
            );
        }
        bands.push(index);
    }
}

fn check_network(network: &NetworkStart, report: &mut Report) {
    let mut fields = Fields::new(report, "market.network");
    fields.whole("height", network.height, 0, 10_000_000, "blocks");
    fields.range(
        "difficulty",
        network.difficulty,
        1.0,
        1e30,
        "(as Core's getdifficulty)",
    );
    let times = "Unix seconds (2009-01-03 to 2100-01-01)";
    let (epoch_start, time) = (network.epoch_start_time_unix_s, network.time_unix_s);
    fields.whole(
        "epoch_start_time_unix_s",
        epoch_start,
        GENESIS_TIME_UNIX_S,
        MAX_BLOCK_TIME_UNIX_S,
        times,
    );
    fields.whole(
        "time_unix_s",
        time,
        GENESIS_TIME_UNIX_S,
        MAX_BLOCK_TIME_UNIX_S,
        times,
    );
    if epoch_start > time {
        fields.push(
            "epoch_start_time_unix_s",
            epoch_start,
            format!("a time no later than time_unix_s ({time})"),
        );
    }
    if let Some(hashrate) = network.hashrate_ehs {
        fields.positive("hashrate_ehs", hashrate, 1e6, "EH/s");
    }
}

fn check_world_fleet(world_fleet: &WorldFleet, report: &mut Report) {
    let mut fields = Fields::new(report, "market.world_fleet");
    if world_fleet.bands.is_empty() {
        fields.push("bands", "[]", "at least one efficiency band");
    }
    for (i, band) in world_fleet.bands.iter().enumerate() {
        fields.range(
            &format!("bands[{i}].efficiency_j_per_th"),
            band.efficiency_j_per_th,
            1.0,
            200.0,
            "J/TH",
        );
        fields.range(
            &format!("bands[{i}].hashrate_share_percent"),
            band.hashrate_share_percent,
            0.0,
            100.0,
            "%",
        );
    }
    let shares: Vec<f64> = world_fleet
        .bands
        .iter()
        .map(|band| band.hashrate_share_percent)
        .collect();
    let total: f64 = shares.iter().sum();
    if !shares.is_empty() && total.is_finite() && (total - 100.0).abs() > 1e-6 {
        fields.push(
            "bands",
            "",
            format!("hashrate shares summing to 100 % (they sum to {total} %)"),
        );
    }
    fields.power_price(
        "power_price_median_usd_per_mwh",
        world_fleet.power_price_median_usd_per_mwh,
    );
    fields.positive(
        "power_price_spread_usd_per_mwh",
        world_fleet.power_price_spread_usd_per_mwh,
        POWER_PRICE_RANGE_USD_PER_MWH.1,
        "USD/MWh",
    );
    fields.range(
        "frontier_efficiency_j_per_th",
        world_fleet.frontier_efficiency_j_per_th,
        1.0,
        200.0,
        "J/TH",
    );
    fields.positive(
        "frontier_price_usd_per_th",
        world_fleet.frontier_price_usd_per_th,
        1e4,
        "USD per TH/s",
    );
    fields.whole(
        "frontier_amortisation_months",
        world_fleet.frontier_amortisation_months,
        1,
        240,
        "months",
    );
    fields.range(
        "frontier_improvement_percent_per_year",
        world_fleet.frontier_improvement_percent_per_year,
        0.0,
        90.0,
        "% a year",
    );
    fields.range(
        "growth_percent_per_year_at_full_margin",
        world_fleet.growth_percent_per_year_at_full_margin,
        0.0,
        1000.0,
        "% a year",
    );
    fields.whole(
        "deployment_lag_months",
        world_fleet.deployment_lag_months,
        0,
        60,
        "months",
    );
    fields.range(
        "retirement_percent_per_year",
        world_fleet.retirement_percent_per_year,
        0.0,
        100.0,
        "% a year",
    );
}

fn check_gpu(gpu: &GpuMarket, report: &mut Report) {
    let mut fields = Fields::new(report, "market.gpu");
    fields.positive(
        "reference_rent_usd_per_gpu_hour",
        gpu.reference_rent_usd_per_gpu_hour,
        1000.0,
        "USD per GPU-hour",
    );
    fields.range(
        "rent_deflation_percent_per_year",
        gpu.rent_deflation_percent_per_year,
        -100.0,
        100.0,
        "% a year",
    );
    fields.range(
        "utilisation_percent",
        gpu.utilisation_percent,
        0.0,
        100.0,
        "%",
    );
    if gpu.generations.is_empty() {
        fields.push("generations", "[]", "at least one GPU generation");
    }
    for (i, generation) in gpu.generations.iter().enumerate() {
        let at = format!("generations[{i}]");
        fields.name(&format!("{at}.name"), &generation.name);
        let earlier = gpu.generations[..i]
            .iter()
            .position(|g| g.name.eq_ignore_ascii_case(&generation.name));
        if let Some(earlier) = earlier {
            fields.push(
                &format!("{at}.name"),
                format!("{:?}", generation.name),
                format!("a name no other generation has (generations[{earlier}] has it too)"),
            );
        }
        fields.positive(
            &format!("{at}.rent_factor"),
            generation.rent_factor,
            100.0,
            "(rent over the reference index)",
        );
        fields.positive(
            &format!("{at}.step_down_factor"),
            generation.step_down_factor,
            1.0,
            "(older generations' rent after the launch over before)",
        );
    }
}
