use super::*;
use crate::scenario::{DebtKind, MachineModel, Schedule};

/// One site, one mining fleet, one term loan.
pub(super) const MINIMAL: &str = r#"schema_version = 1
name = "Minimal miner"
start_month = "2026-01"
horizon_months = 60

[[site]]
name = "Texas"
grid_capacity_mw = 50

[[mining_fleet]]
name = "S21 XP"
site = "Texas"
model = "Antminer S21 XP"
count = 5000

[[debt]]
name = "Term loan"
kind = "term_loan"
principal_usd = 20_000_000
fixed_rate_percent = 12
schedule = "linear"
maturity_month = "2029-12"
"#;

/// A miner converting part of a site to AI: every section, every kind of reference.
const PIVOT: &str = r#"schema_version = 1
name = "Pivot miner"
start_month = "2026-01"
opening_cash_usd = 5e7

[market]
btc_price_usd = 90000
btc_price_series_usd = [90000, 91000.5]
sofr_percent = 4.1

[market.network]
height = 925344
difficulty = 149.3e12
epoch_start_time_unix_s = 1764206208
time_unix_s = 1764206208

[market.world_fleet]
bands = [
  { efficiency_j_per_th = 15, hashrate_share_percent = 60 },
  { efficiency_j_per_th = 25, hashrate_share_percent = 40 },
]

[market.gpu]
utilisation_percent = 80

[[market.gpu.generations]]
name = "H100"
launch_month = "2022-10"
rent_factor = 1
step_down_factor = 0.85

[[market.gpu.generations]]
name = "B200"
launch_month = "2025-03"
rent_factor = 1.8
step_down_factor = 0.9

[[site]]
name = "Abilene"
grid_capacity_mw = 200
ppa = { price_usd_per_mwh = 35, share_percent = 80, end_month = "2030-12" }

[[site]]
name = "Ohio"
grid_capacity_mw = 30

[[mining_fleet]]
name = "Hydro"
site = "Abilene"
model = { name = "Custom Hydro", hashrate_ths = 500, power_w = 6000, release_year = 2025 }
count = 10000
renewal = "replace_with_frontier"

[[colocation_lease]]
name = "Hyperscaler lease"
site = "Abilene"
critical_it_mw = 100
rent_usd_per_kw_month = 130
start_month = "2027-07"
tenor_months = 180
tenant = { name = "Hyperscaler", default_probability_percent_per_year = 0.5 }
backstop = { guarantor = { name = "Parent", default_probability_percent_per_year = 0.2 }, cap_usd = 1e9 }

[[gpu_cloud]]
name = "Ohio cloud"
site = "Ohio"
generation = "B200"
gpu_count = 2000
capex_usd_per_gpu = 45000
power_kw_per_gpu = 1.4
start_month = "2026-06"
contracted_percent = 70
contract_rate_usd_per_gpu_hour = 3.1
contract_tenor_months = 36
offtaker = { name = "AI lab", default_probability_percent_per_year = 3 }

[[conversion]]
name = "Abilene phase 1"
site = "Abilene"
critical_it_mw = 100
start_month = "2026-03"
duration_months = 16
capex_usd_per_mw = 1.1e7
feeds = "Hyperscaler lease"

[treasury]
btc_held = 1500
sell_mined_percent = 50

[opex]
fixed_usd_per_month = 2e6

[tax]
rate_percent = 21

[distributions]
excess_cash_percent = 50
minimum_cash_usd = 1e7

[[debt]]
name = "Project loan"
kind = "project_finance"
funds = "Abilene phase 1"
loan_to_cost_percent = 70
target_dscr = 1.3
margin_bps = 275
schedule = "sculpted"
maturity_month = "2040-12"
ring_fenced = true
collateral = ["Hyperscaler lease", "Abilene"]
covenants = { lock_up_dscr = 1.2, default_dscr = 1.05 }

[[debt]]
name = "Corporate loan"
kind = "term_loan"
principal_usd = 1e8
fixed_rate_percent = 11
schedule = "custom"
custom_repayment_percent = [10, 10, 20]
maturity_month = "2030-01"
collateral = ["treasury", "Hydro"]
"#;

fn errors_of(text: &str) -> Vec<FieldError> {
    match Scenario::from_toml(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(errors) => errors.0,
    }
}

/// The error at `path`, which must be the only one there.
fn error_at<'e>(errors: &'e [FieldError], path: &str) -> &'e FieldError {
    let found: Vec<&FieldError> = errors.iter().filter(|e| e.path == path).collect();
    assert_eq!(found.len(), 1, "{path} in {errors:#?}");
    found[0]
}

/// 1-based line of the first line of `text` that contains `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap() + 1
}

#[test]
fn minimal_scenario_parses_as_serde_reads_it() {
    let scenario = Scenario::from_toml(MINIMAL).unwrap();
    assert_eq!(scenario, toml::from_str::<Scenario>(MINIMAL).unwrap());
    assert_eq!(scenario.name, "Minimal miner");
    assert_eq!(scenario.first_month().to_string(), "2026-01");
    assert_eq!(scenario.debt[0].kind, DebtKind::TermLoan);
}

#[test]
fn full_scenario_parses() {
    let scenario = Scenario::from_toml(PIVOT).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scenario, toml::from_str::<Scenario>(PIVOT).unwrap());
    assert!(matches!(
        scenario.mining_fleet[0].model,
        MachineModel::Inline(_)
    ));
    assert_eq!(scenario.debt[1].schedule, Schedule::Custom);
}

#[test]
fn defaults_apply() {
    let text = MINIMAL.replace("start_month = \"2026-01\"\nhorizon_months = 60\n", "");
    let scenario = Scenario::from_toml(&text).unwrap();
    assert_eq!(scenario.horizon_months, 120);
    assert_eq!(scenario.start_month, None);
    assert_eq!(scenario.first_month().to_string(), "2025-11");
    assert_eq!(scenario.site[0].pue, 1.05);
    assert_eq!(scenario.site[0].ai_pue, 1.3);
    assert_eq!(scenario.mining_fleet[0].uptime_percent, 97.0);
    assert_eq!(scenario.market.sofr_percent, 3.9);
    assert_eq!(scenario.market.gpu, crate::scenario::GpuMarket::default());
    assert_eq!(scenario.treasury.sell_mined_percent, 100.0);
    assert_eq!(scenario.debt[0].covenants.dscr_window_months, 12);
}

#[test]
fn reports_every_problem_with_its_line() {
    let text = MINIMAL
        .replace("horizon_months = 60", "horizon_months = 500")
        .replace("grid_capacity_mw = 50", "grid_capacity_mw = 50\npue = nan")
        .replace("site = \"Texas\"", "site = \"Texsa\"")
        .replace("count = 5000", "count = 0")
        .replace(
            "fixed_rate_percent = 12",
            "fixed_rate_percent = 12\nmargin_bps = -50",
        );
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    let horizon = error_at(&errors, "horizon_months");
    assert_eq!(horizon.value, "500");
    assert_eq!(horizon.line, Some(4));
    assert!(horizon.expected.contains("1 to 240 months"), "{horizon}");
    let pue = error_at(&errors, "site[0].pue");
    assert_eq!(
        (pue.value.as_str(), pue.line),
        ("NaN", Some(line_of(&text, "pue")))
    );
    assert!(pue.expected.contains("from 1 to 3"), "{pue}");
    let site = error_at(&errors, "mining_fleet[0].site");
    assert_eq!(site.value, "\"Texsa\"");
    assert!(site.expected.contains("\"Texas\""), "{site}");
    assert_eq!(site.line, Some(line_of(&text, "Texsa")));
    assert_eq!(
        error_at(&errors, "mining_fleet[0].count").line,
        Some(line_of(&text, "count = 0"))
    );
    let rates = error_at(&errors, "debt[0]");
    assert!(
        rates
            .expected
            .contains("exactly one of fixed_rate_percent and margin_bps"),
        "{rates}"
    );
    assert_eq!(rates.line, Some(line_of(&text, "[[debt]]")));
    let lines: Vec<usize> = errors.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.is_sorted(), "{lines:?}");
    let shown = ScenarioErrors(errors).to_string();
    assert_eq!(shown.lines().count(), 5);
    assert!(
        shown
            .contains("line 4: horizon_months = 500: expected a whole number from 1 to 240 months"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_at_every_depth() {
    let text = MINIMAL
        .replace("horizon_months = 60", "horizon_months = 60\nhorizon = 5")
        .replace("fixed_rate_percent", "fixed_rate_pct")
        .replace(
            "[[site]]",
            "[market.gpu]\nutilisation = 90\n[market.gpu.extra]\nx = 1\n\n[[site]]",
        );
    let errors = errors_of(&text);
    let expected = [
        ("horizon", "5", "horizon = 5"),
        ("market.gpu.utilisation", "90", "utilisation = 90"),
        ("market.gpu.extra", "{...}", "[market.gpu.extra]"),
        ("debt[0].fixed_rate_pct", "12", "fixed_rate_pct"),
    ];
    for (path, value, line) in expected {
        let error = error_at(&errors, path);
        assert_eq!(error.value, value, "{error}");
        assert_eq!(error.line, Some(line_of(&text, line)), "{error}");
        assert!(error.expected.starts_with("a known key"), "{error}");
    }
    assert!(
        error_at(&errors, "market.gpu.utilisation")
            .expected
            .contains("did you mean utilisation_percent?")
    );
    // The debt is still checked without its unknown key: it now has neither rate.
    assert!(error_at(&errors, "debt[0]").expected.contains("neither"));
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn type_errors_in_several_elements_are_all_reported() {
    let text = format!(
        "{MINIMAL}\n[[site]]\nname = 7\ngrid_capacity_mw = \"big\"\n\n[[site]]\nname = \"Ohio\"\ngrid_capacity_mw = 10\npue = true\n\n[[site]]\nname = \"Utah\"\ngrid_capacity_mw = -1\n"
    );
    let errors = errors_of(&text);
    let name = error_at(&errors, "site[1].name");
    assert_eq!(
        (name.value.as_str(), name.expected.as_str()),
        ("7", "a string")
    );
    let capacity = error_at(&errors, "site[1].grid_capacity_mw");
    assert_eq!(capacity.value, "\"big\"");
    assert_eq!(capacity.line, Some(line_of(&text, "\"big\"")));
    let pue = error_at(&errors, "site[2].pue");
    assert_eq!(
        (pue.value.as_str(), pue.expected.as_str()),
        ("true", "a number")
    );
    // A site that reads is still range-checked.
    assert_eq!(error_at(&errors, "site[3].grid_capacity_mw").value, "-1");
    assert_eq!(errors.len(), 4, "{errors:#?}");
}

#[test]
fn missing_fields_name_the_table() {
    let text = MINIMAL.replace("maturity_month = \"2029-12\"\n", "");
    let errors = errors_of(&text);
    let missing = error_at(&errors, "debt[0].maturity_month");
    assert_eq!(missing.value, "");
    assert!(missing.expected.contains("(required)"), "{missing}");
    assert_eq!(missing.line, Some(line_of(&text, "[[debt]]")));
    let errors = errors_of("schema_version = 1\n");
    assert_eq!(error_at(&errors, "name").line, None);
    assert!(errors.iter().any(|e| e.path == "site"), "{errors:#?}");
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let errors = errors_of("schema_version = 1\nname = = \"x\"\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, Some(2));
    assert!(
        errors[0]
            .to_string()
            .starts_with("line 2: expected valid TOML (column 8")
    );
}

#[test]
fn enum_and_month_values() {
    let text = MINIMAL
        .replace("\"term_loan\"", "\"bond\"")
        .replace("\"2029-12\"", "\"2029-13\"")
        .replace("start_month = \"2026-01\"", "start_month = 2026-01-01");
    let errors = errors_of(&text);
    assert_eq!(
        error_at(&errors, "debt[0].kind").expected,
        "one of \"term_loan\", \"project_finance\", \"abl\", \"convertible\", \"high_yield\", \"btc_backed\", \"revolver\""
    );
    assert_eq!(
        error_at(&errors, "debt[0].maturity_month").value,
        "\"2029-13\""
    );
    assert_eq!(error_at(&errors, "start_month").value, "2026-01-01");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn references_between_sections() {
    let text = PIVOT
        .replace("generation = \"B200\"", "generation = \"B300\"")
        .replace("start_month = \"2027-07\"", "start_month = \"2027-01\"")
        .replace("funds = \"Abilene phase 1\"", "funds = \"Phase 2\"")
        .replace("\"treasury\", \"Hydro\"", "\"treasury\", \"Hydra\"")
        .replace(
            "model = { name",
            "model = \"Antminer S9\"\nold_model = { name",
        )
        .replace(
            "critical_it_mw = 100\nstart_month",
            "critical_it_mw = 180\nstart_month",
        );
    let errors = errors_of(&text);
    let generation = error_at(&errors, "gpu_cloud[0].generation");
    assert!(
        generation.expected.contains("\"H100\", \"B200\""),
        "{generation}"
    );
    let ready = error_at(&errors, "colocation_lease[0].start_month");
    assert_eq!(ready.value, "2027-01");
    assert!(ready.expected.starts_with("2027-07 or later"), "{ready}");
    assert!(
        error_at(&errors, "debt[0].funds")
            .expected
            .contains("\"Abilene phase 1\"")
    );
    assert!(
        error_at(&errors, "debt[1].collateral[1]")
            .expected
            .contains("\"treasury\"")
    );
    assert!(
        error_at(&errors, "mining_fleet[0].model")
            .expected
            .contains("Antminer S21 XP")
    );
    error_at(&errors, "mining_fleet[0].old_model");
    let conversion = error_at(&errors, "conversion[0].critical_it_mw");
    assert!(
        conversion.expected.contains("AI PUE of 1.3"),
        "{conversion}"
    );
    assert_eq!(errors.len(), 7, "{errors:#?}");
}

#[test]
fn debt_rules() {
    let text = PIVOT
        .replace("target_dscr = 1.3\n", "")
        .replace(
            "ring_fenced = true",
            "ring_fenced = true\nfixed_rate_percent = 5",
        )
        .replace("[10, 10, 20]", "[60, 50]")
        .replace("default_dscr = 1.05", "default_dscr = 1.5")
        .replace(
            "maturity_month = \"2030-01\"",
            "maturity_month = \"2025-06\"",
        );
    let errors = errors_of(&text);
    assert!(
        error_at(&errors, "debt[0].target_dscr")
            .expected
            .contains("required")
    );
    assert!(error_at(&errors, "debt[0]").expected.contains("not both"));
    let repayments = error_at(&errors, "debt[1].custom_repayment_percent");
    assert_eq!(repayments.value, "[60, 50]");
    assert!(repayments.expected.contains("sum to 110 %"), "{repayments}");
    assert!(
        error_at(&errors, "debt[0].covenants.default_dscr")
            .expected
            .contains("1.2")
    );
    let maturity = error_at(&errors, "debt[1].maturity_month");
    assert!(maturity.expected.contains("2026-01"), "{maturity}");
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn names_are_unique() {
    let text = PIVOT.replace("name = \"Ohio cloud\"", "name = \"hyperscaler LEASE\"");
    let errors = errors_of(&text);
    let duplicate = error_at(&errors, "gpu_cloud[0].name");
    assert!(
        duplicate.expected.contains("colocation_lease[0]"),
        "{duplicate}"
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
}

#[test]
fn numbers_out_of_range_of_their_type() {
    let text = MINIMAL
        .replace("count = 5000", "count = 4294967296")
        .replace("grid_capacity_mw = 50", "grid_capacity_mw = 1e400");
    let errors = errors_of(&text);
    assert!(
        error_at(&errors, "mining_fleet[0].count")
            .expected
            .contains("4294967295")
    );
    assert_eq!(error_at(&errors, "site[0].grid_capacity_mw").value, "1e400");
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

/// A capital structure with every kind of instrument and hedge.
const CAPITAL: &str = r#"
[treasury]
btc_held = 1000

[[debt]]
name = "DDTL"
kind = "abl"
commitment_usd = 5e7
draw_month = "2026-02"
draw_end_month = "2026-06"
advance_rate_percent = 70
advance_rate_step_down_percent_per_year = 10
commitment_fee_bps = 50
margin_bps = 600
schedule = "linear"
maturity_month = "2030-12"
collateral = ["S21 XP"]

[[debt]]
name = "Converts"
kind = "convertible"
principal_usd = 1e8
fixed_rate_percent = 0
schedule = "bullet"
maturity_month = "2031-01"
seniority = "senior_unsecured"

[[debt]]
name = "Notes"
kind = "high_yield"
principal_usd = 1e8
fixed_rate_percent = 7.75
schedule = "bullet"
maturity_month = "2030-05"
seniority = "senior_unsecured"
call_schedule = [
  { from_month = "2027-05", price_percent = 103.875 },
  { from_month = "2028-05", price_percent = 101.9375 },
]
covenants = { incurrence_max_net_leverage = 4.5 }

[[debt]]
name = "BTC loan"
kind = "btc_backed"
principal_usd = 3e7
margin_bps = 450
schedule = "bullet"
maturity_month = "2027-12"
btc_pledged = 700
margin_call_ltv_percent = 70
liquidation_ltv_percent = 85
refinancing = { window_months = 6, min_dscr = 1.3 }

[[debt]]
name = "RCF"
kind = "revolver"
commitment_usd = 2e7
commitment_fee_bps = 35
margin_bps = 350
schedule = "bullet"
maturity_month = "2029-01"

[[hedge]]
name = "Puts"
kind = "btc_put"
start_month = "2026-01"
end_month = "2026-12"
btc_per_month = 50
put_strike_usd = 70000
premium_usd_per_month = 150000

[[hedge]]
name = "Swap"
kind = "interest_rate_swap"
start_month = "2026-02"
end_month = "2030-12"
debt = "DDTL"
fixed_rate_percent = 3.6

[equity_issuance]
max_usd_per_month = 2e7

[recovery]
workout_months = 18
"#;

/// MINIMAL without its term loan, plus `extra`.
fn with_capital(extra: &str) -> String {
    let base = &MINIMAL[..MINIMAL.find("[[debt]]").unwrap()];
    format!("{base}{extra}")
}

#[test]
fn every_instrument_kind_and_hedge_parses() {
    let scenario = Scenario::from_toml(&with_capital(CAPITAL)).unwrap();
    let kinds: Vec<DebtKind> = scenario.debt.iter().map(|d| d.kind).collect();
    assert_eq!(
        kinds,
        [
            DebtKind::Abl,
            DebtKind::Convertible,
            DebtKind::HighYield,
            DebtKind::BtcBacked,
            DebtKind::Revolver
        ]
    );
    assert_eq!(scenario.hedge.len(), 2);
    assert_eq!(scenario.recovery.workout_months, 18);
    assert_eq!(scenario.recovery.workout_cost_percent, 5.0);
    assert_eq!(scenario.equity_issuance.unwrap().discount_percent, 3.0);
    assert_eq!(
        scenario.debt[3].refinancing.as_ref().unwrap().tenor_months,
        36
    );
}

#[test]
fn instrument_fields_belong_to_their_kinds() {
    let text = with_capital(CAPITAL)
        .replace("commitment_usd = 5e7\n", "")
        .replace(
            "seniority = \"senior_unsecured\"\n\n[[debt]]\nname = \"Notes\"",
            "seniority = \"senior_unsecured\"\ncovenants = { default_dscr = 1.1 }\n\n[[debt]]\nname = \"Notes\"",
        )
        .replace("liquidation_ltv_percent = 85", "liquidation_ltv_percent = 65")
        .replace("btc_pledged = 700", "btc_pledged = 1700")
        .replace("put_strike_usd = 70000\n", "put_strike_usd = 70000\ndebt = \"RCF\"\n")
        .replace("fixed_rate_percent = 3.6", "fixed_rate_percent = 3.6\nbtc_per_month = 2");
    let errors = errors_of(&text);
    assert_eq!(
        error_at(&errors, "debt[0].commitment_usd").expected,
        "a commitment above 0 USD (required for an asset-backed loan)"
    );
    assert!(
        error_at(&errors, "debt[1].covenants.default_dscr")
            .expected
            .starts_with("no maintenance covenant for convertible notes")
    );
    assert_eq!(
        error_at(&errors, "debt[3].liquidation_ltv_percent").expected,
        "an LTV above margin_call_ltv_percent (70)"
    );
    assert!(
        error_at(&errors, "debt[3].btc_pledged")
            .expected
            .contains("at most the treasury's btc_held (1000)")
    );
    assert_eq!(
        error_at(&errors, "hedge[0].debt").expected,
        "no debt for a BTC put (interest-rate hedges only)"
    );
    assert_eq!(
        error_at(&errors, "hedge[1].btc_per_month").expected,
        "no value for an interest-rate swap"
    );
    assert_eq!(errors.len(), 6, "{errors:#?}");
}

#[test]
fn hedges_reference_floating_debt() {
    let text = with_capital(CAPITAL).replace("debt = \"DDTL\"", "debt = \"Notes\"");
    let errors = errors_of(&text);
    assert_eq!(
        error_at(&errors, "hedge[1].debt").expected,
        "a floating-rate debt (one with margin_bps)"
    );
}

#[test]
fn built_in_examples_are_valid() {
    for (name, text) in crate::BUILT_IN_EXAMPLES {
        let scenario = Scenario::from_toml(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!scenario.name.is_empty());
        assert_eq!(crate::built_in_example(name), Some(text));
    }
    assert_eq!(crate::built_in_example("nothing"), None);
}

#[test]
fn market_model_correlation_must_be_a_correlation_matrix() {
    let model = |rows: &str| {
        MINIMAL.replace(
            "[[site]]",
            &format!("[market.model]\ncorrelation_convergence = 0.7\ncalm_correlation = {rows}\n\n[[site]]"),
        )
    };
    let good = "[[1,0.2,0.2,0,0.1,0],[0.2,1,0.5,0,0,0],[0.2,0.5,1,0,0,0],[0,0,0,1,0,0],[0.1,0,0,0,1,0],[0,0,0,0,0,1]]";
    let scenario = Scenario::from_toml(&model(good)).unwrap();
    assert_eq!(scenario.market.model.correlation_convergence, 0.7);
    let indefinite = "[[1,0.9,-0.9,0,0,0],[0.9,1,0.9,0,0,0],[-0.9,0.9,1,0,0,0],[0,0,0,1,0,0],[0,0,0,0,1,0],[0,0,0,0,0,1]]";
    let errors = errors_of(&model(indefinite));
    assert!(
        error_at(&errors, "market.model.calm_correlation")
            .expected
            .starts_with("a positive semi-definite correlation matrix")
    );
    let asymmetric =
        "[[1,0.3,0,0,0,0],[0.2,1,0,0,0,0],[0,0,1,0,0,0],[0,0,0,1,0,0],[0,0,0,0,1,0],[0,0,0,0,0,1]]";
    let errors = errors_of(&model(asymmetric));
    assert!(
        error_at(&errors, "market.model.calm_correlation[0][1]")
            .expected
            .contains("symmetric")
    );
    let errors = errors_of(&model("[[1,0],[0,1]]"));
    assert!(
        error_at(&errors, "market.model.calm_correlation")
            .expected
            .starts_with("6 rows of 6 correlations, in the order btc, gpu_rent")
    );
}

#[test]
fn market_model_noise_and_events_must_be_in_range() {
    let model =
        |body: &str| MINIMAL.replace("[[site]]", &format!("[market.model]\n{body}\n\n[[site]]"));
    let scenario = Scenario::from_toml(&model(
        "hashrate_noise_percent_per_year = 0\ngpu_launch_jitter_months = 0\n\
         grid_events_per_year = 2\npower_spike_peak_months = [12]",
    ))
    .unwrap();
    assert_eq!(scenario.market.model.grid_events_per_year, 2.0);
    assert_eq!(scenario.market.model.power_spike_peak_months, [12]);
    let errors = errors_of(&model(
        "hashrate_noise_percent_per_year = -5\ngpu_launch_jitter_months = nan\n\
         grid_event_outage_days = -1\npower_spike_multiple = 0.5\n\
         power_spike_peak_months = [7, 13]",
    ));
    let noise = error_at(&errors, "market.model.hashrate_noise_percent_per_year");
    assert_eq!(noise.value, "-5");
    assert_eq!(noise.expected, "a number from 0 to 200 % a year");
    let jitter = error_at(&errors, "market.model.gpu_launch_jitter_months");
    assert_eq!(jitter.value, "NaN");
    assert_eq!(jitter.expected, "a number from 0 to 60 months");
    assert_eq!(
        error_at(&errors, "market.model.grid_event_outage_days").expected,
        "a number from 0 to 31 days an event"
    );
    assert_eq!(
        error_at(&errors, "market.model.power_spike_multiple").expected,
        "a number from 1 to 100 × the month's power price"
    );
    assert_eq!(
        error_at(&errors, "market.model.power_spike_peak_months[1]").expected,
        "a whole number from 1 to 12 (a calendar month, 1 = January)"
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn asset_correlations_are_correlations() {
    let text = PIVOT.replace(
        "tenant = { name = \"Hyperscaler\", default_probability_percent_per_year = 0.5 }",
        "tenant = { name = \"Hyperscaler\", default_probability_percent_per_year = 0.5, \
         asset_correlation = 1.5 }",
    );
    let errors = errors_of(&text);
    let error = error_at(&errors, "colocation_lease[0].tenant.asset_correlation");
    assert_eq!(error.value, "1.5");
    assert!(
        error.expected.contains("0") && error.expected.contains("1"),
        "{error}"
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let valid = PIVOT.replace(
        "offtaker = { name = \"AI lab\", default_probability_percent_per_year = 3 }",
        "offtaker = { name = \"AI lab\", default_probability_percent_per_year = 3, \
         asset_correlation = 0.24 }",
    );
    let scenario = Scenario::from_toml(&valid).expect("valid");
    let offtaker = scenario.gpu_cloud[0]
        .offtaker
        .as_ref()
        .expect("an offtaker");
    assert_eq!(offtaker.asset_correlation, 0.24);
}

#[test]
fn generation_and_band_liquidation_markets_are_checked() {
    let text = format!(
        "{MINIMAL}\n[market.liquidation]\n\
         gpu_generation = [{{ generation = \"H100\", monthly_volume_usd = 5e8, impact_percent = 10 }}, \
         {{ generation = \"Z9000\", monthly_volume_usd = 5e8, impact_percent = 10 }}, \
         {{ generation = \"H100\", monthly_volume_usd = -1, impact_percent = 10 }}]\n\
         asic_band = [{{ efficiency_j_per_th = 15, monthly_volume_usd = 1e8, impact_percent = 10 }}, \
         {{ efficiency_j_per_th = 16.5, monthly_volume_usd = 1e8, impact_percent = 100 }}]\n"
    );
    let errors = errors_of(&text);
    let unknown = error_at(&errors, "market.liquidation.gpu_generation[1].generation");
    assert!(unknown.expected.contains("GPU generation"), "{unknown}");
    error_at(&errors, "market.liquidation.gpu_generation[2].generation");
    error_at(
        &errors,
        "market.liquidation.gpu_generation[2].monthly_volume_usd",
    );
    let band = error_at(
        &errors,
        "market.liquidation.asic_band[1].efficiency_j_per_th",
    );
    assert!(band.expected.contains("each band at most once"), "{band}");
    error_at(&errors, "market.liquidation.asic_band[1].impact_percent");
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

#[test]
fn idiosyncratic_risks_default_to_none() {
    let scenario = Scenario::from_toml(MINIMAL).unwrap();
    let risk = &scenario.idiosyncratic;
    assert_eq!(risk.site_outage_events_per_year, 0.0);
    assert_eq!(risk.site_outage_event_days, 7.0);
    assert_eq!(risk.conversion_delay_probability_percent, 0.0);
    assert_eq!(risk.conversion_delay_mean_months, 6.0);
    assert!(!risk.is_active());
    let text = format!("{MINIMAL}\n[idiosyncratic]\nsite_outage_events_per_year = 0.5\n");
    let scenario = Scenario::from_toml(&text).unwrap();
    assert_eq!(scenario.idiosyncratic.site_outage_events_per_year, 0.5);
    assert_eq!(scenario.idiosyncratic.site_outage_event_days, 7.0);
    assert!(scenario.idiosyncratic.is_active());
}

#[test]
fn idiosyncratic_risks_are_checked_with_their_lines() {
    let text = format!(
        "{MINIMAL}\n[idiosyncratic]\nsite_outage_events_per_year = -1\n\
         site_outage_event_days = 40\nconversion_delay_probability_percent = 120\n\
         conversion_delay_mean_months = 0\n"
    );
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let rate = error_at(&errors, "idiosyncratic.site_outage_events_per_year");
    assert_eq!(rate.value, "-1");
    assert_eq!(
        rate.expected,
        "a number from 0 to 365 events a year per site"
    );
    assert_eq!(rate.line, Some(line_of(&text, "= -1")));
    let days = error_at(&errors, "idiosyncratic.site_outage_event_days");
    assert_eq!(days.value, "40");
    assert_eq!(days.expected, "a number from 0 to 31 days per event");
    assert_eq!(days.line, Some(line_of(&text, "= 40")));
    let probability = error_at(
        &errors,
        "idiosyncratic.conversion_delay_probability_percent",
    );
    assert_eq!(probability.value, "120");
    assert_eq!(probability.expected, "a number from 0 to 100 %");
    assert_eq!(probability.line, Some(line_of(&text, "= 120")));
    let mean = error_at(&errors, "idiosyncratic.conversion_delay_mean_months");
    assert_eq!(mean.value, "0");
    assert_eq!(mean.expected, "a number above 0 and at most 36 months");
    assert_eq!(mean.line, Some(line_of(&text, "mean_months = 0")));
    assert_eq!(
        mean.to_string(),
        format!(
            "line {}: idiosyncratic.conversion_delay_mean_months = 0: expected a number above 0 \
             and at most 36 months",
            line_of(&text, "mean_months = 0")
        )
    );
    // Not finite.
    let text = format!("{MINIMAL}\n[idiosyncratic]\nsite_outage_events_per_year = inf\n");
    let errors = errors_of(&text);
    let rate = error_at(&errors, "idiosyncratic.site_outage_events_per_year");
    assert_eq!(rate.value, "inf");
    // Unknown keys and types, as in every table.
    let text = format!("{MINIMAL}\n[idiosyncratic]\nsite_outages_per_year = 1\n");
    let errors = errors_of(&text);
    let unknown = error_at(&errors, "idiosyncratic.site_outages_per_year");
    assert!(unknown.expected.contains("a known key"), "{unknown}");
}
