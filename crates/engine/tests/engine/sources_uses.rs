//! Sources equal uses every month, on thousands of random valid scenarios and on a shocked
//! path for each, defaults included; no NaN or infinity anywhere in the monthly detail.
//!
//! The generator writes scenario TOML from random parameters (1–2 sites with optional PPAs,
//! 0–3 catalog fleets, 0–2 AI assets — colocation leases or GPU clouds — each optionally
//! built by a conversion financed with ring-fenced, sculpted or linear project finance, 0–3
//! instruments of every other kind — term loans, asset-backed loans with borrowing bases,
//! convertibles, callable high-yield bonds, BTC-backed loans with margin calls, revolvers —
//! with every schedule, fixed or floating, refinancing, reserves, covenants with cures,
//! collateral, 0–2 hedges, at-the-market equity, distributions, tax, treasury, opex, horizons
//! of 12–120 months and BTC prices on a drift or an explicit series with crashes) and insists
//! that `Scenario::from_toml` accepts it, so only valid scenarios run. The shocked path also
//! dips within its months (margin calls) and darkens the sites for a few days.

use std::cell::Cell;
use std::fmt::Write as _;
use std::time::Instant;

use bitwatt_engine::{Borrower, MarketPath, PathBuffers, base_market_path, run_path};
use bitwatt_model::{Scenario, YearMonth};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Clone, Debug)]
struct SiteParams {
    grid_mw: f64,
    pue: f64,
    ai_pue: f64,
    /// Price, share, end month (offset from the start).
    ppa: Option<(f64, f64, i32)>,
    exposure_percent: f64,
    tariff: f64,
    delivery: f64,
    outage_days: f64,
    site_value_per_mw: f64,
}

fn site() -> impl Strategy<Value = SiteParams> {
    (
        20.0..400.0_f64,
        1.0..1.3_f64,
        1.05..1.5_f64,
        option::of((10.0..90.0_f64, 0.0..=100.0_f64, -12..130_i32)),
        prop_oneof![Just(100.0), Just(0.0), 0.0..100.0_f64],
        0.0..120.0_f64,
        0.0..10.0_f64,
        0.0..20.0_f64,
        0.0..2e6_f64,
    )
        .prop_map(
            |(
                grid_mw,
                pue,
                ai_pue,
                ppa,
                exposure_percent,
                tariff,
                delivery,
                outage_days,
                site_value_per_mw,
            )| SiteParams {
                grid_mw,
                pue,
                ai_pue,
                ppa,
                exposure_percent,
                tariff,
                delivery,
                outage_days,
                site_value_per_mw,
            },
        )
}

#[derive(Clone, Debug)]
struct FleetParams {
    site: usize,
    model: usize,
    count: u32,
    age_months: u32,
    uptime: f64,
    pool_fee: f64,
    curtail: bool,
    credit_sales: bool,
    renew: bool,
    life_months: u32,
    renewal_price: f64,
}

fn fleet() -> impl Strategy<Value = FleetParams> {
    (
        0..2_usize,
        0..10_usize,
        1..30_000_u32,
        0..100_u32,
        60.0..=100.0_f64,
        0.0..4.0_f64,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        12..90_u32,
        5.0..40.0_f64,
    )
        .prop_map(
            |(
                site,
                model,
                count,
                age_months,
                uptime,
                pool_fee,
                curtail,
                credit_sales,
                renew,
                life_months,
                renewal_price,
            )| FleetParams {
                site,
                model,
                count,
                age_months,
                uptime,
                pool_fee,
                curtail,
                credit_sales,
                renew,
                life_months,
                renewal_price,
            },
        )
}

#[derive(Clone, Debug)]
struct CovenantParams {
    window: u32,
    lock_up: Option<f64>,
    /// Default level as a share of the lock-up level (or absolute without one).
    default: Option<f64>,
    max_ltv_percent: Option<f64>,
    cures: u32,
}

fn covenants() -> impl Strategy<Value = CovenantParams> {
    (
        1..=24_u32,
        option::of(1.0..2.0_f64),
        option::of(0.5..1.0_f64),
        option::of(30.0..200.0_f64),
        0..=3_u32,
    )
        .prop_map(
            |(window, lock_up, default, max_ltv_percent, cures)| CovenantParams {
                window,
                lock_up,
                default: default.map(|d| lock_up.map_or(d * 1.3, |l| l * d)),
                max_ltv_percent,
                cures,
            },
        )
}

#[derive(Clone, Debug)]
enum Rate {
    Fixed(f64),
    Floating(f64),
}

fn rate() -> impl Strategy<Value = Rate> {
    prop_oneof![
        (0.0..15.0_f64).prop_map(Rate::Fixed),
        (-100.0..900.0_f64).prop_map(Rate::Floating),
    ]
}

#[derive(Clone, Debug)]
struct ProjectFinanceParams {
    sculpted: bool,
    loan_to_cost: f64,
    target_dscr: f64,
    maturity_after_ready: i32,
    rate: Rate,
    dsra_months: u32,
    covenants: CovenantParams,
    cap: Option<f64>,
    fee_bps: f64,
    ring_fenced: bool,
    secured_on_asset: bool,
}

fn project_finance() -> impl Strategy<Value = ProjectFinanceParams> {
    (
        any::<bool>(),
        1.0..=100.0_f64,
        1.01..2.5_f64,
        1..180_i32,
        rate(),
        0..=12_u32,
        covenants(),
        option::of(1e6..1e9_f64),
        0.0..300.0_f64,
        prop_oneof![4 => Just(true), 1 => Just(false)],
        any::<bool>(),
    )
        .prop_map(
            |(
                sculpted,
                loan_to_cost,
                target_dscr,
                maturity_after_ready,
                rate,
                dsra_months,
                covenants,
                cap,
                fee_bps,
                ring_fenced,
                secured_on_asset,
            )| ProjectFinanceParams {
                sculpted,
                loan_to_cost,
                target_dscr,
                maturity_after_ready,
                rate,
                dsra_months,
                covenants,
                cap,
                fee_bps,
                ring_fenced,
                secured_on_asset,
            },
        )
}

#[derive(Clone, Debug)]
struct ConversionParams {
    start_offset: i32,
    duration: u32,
    capex_per_mw: f64,
    /// Months between the conversion's completion and the asset's first month.
    delay: i32,
    finance: Option<ProjectFinanceParams>,
}

fn conversion() -> impl Strategy<Value = ConversionParams> {
    (
        -6..24_i32,
        1..18_u32,
        prop_oneof![1 => Just(0.0), 4 => 1e6..2e7_f64],
        0..4_i32,
        option::weighted(0.8, project_finance()),
    )
        .prop_map(
            |(start_offset, duration, capex_per_mw, delay, finance)| ConversionParams {
                start_offset,
                duration,
                capex_per_mw,
                delay,
                finance,
            },
        )
}

#[derive(Clone, Debug)]
struct AiParams {
    lease: bool,
    site: usize,
    size_share: f64,
    start_offset: i32,
    rent: f64,
    escalator: f64,
    tenor: u32,
    lease_opex: f64,
    gpu_count: u32,
    gpu_capex: f64,
    kw_per_gpu: f64,
    gpu_life: u32,
    /// Contracted share, rate and tenor.
    contract: Option<(f64, f64, u32)>,
    gpu_opex: f64,
    generation: usize,
    conversion: Option<ConversionParams>,
    failure: Option<FailureParams>,
}

/// The tenant's or offtaker's default (month offset), the backstop's cap, its guarantor's
/// default, the re-letting downtime and rent.
type FailureParams = (i32, Option<f64>, Option<i32>, u32, f64);

fn ai_asset() -> impl Strategy<Value = AiParams> {
    (
        (
            any::<bool>(),
            0..2_usize,
            0.02..0.6_f64,
            -24..24_i32,
            50.0..200.0_f64,
            -5.0..10.0_f64,
            6..180_u32,
            0.0..40.0_f64,
        ),
        (
            100..20_000_u32,
            1_000.0..40_000.0_f64,
            0.5..1.5_f64,
            12..72_u32,
            option::of((1.0..100.0_f64, 0.5..5.0_f64, 1..60_u32)),
            0.0..0.5_f64,
            0..8_usize,
        ),
        option::weighted(0.7, conversion()),
        option::weighted(
            0.3,
            (
                0..60_i32,
                option::of(1e5..1e9_f64),
                option::of(0..60_i32),
                0..12_u32,
                0.0..150.0_f64,
            ),
        ),
    )
        .prop_map(
            |(
                (lease, site, size_share, start_offset, rent, escalator, tenor, lease_opex),
                (gpu_count, gpu_capex, kw_per_gpu, gpu_life, contract, gpu_opex, generation),
                conversion,
                failure,
            )| AiParams {
                lease,
                site,
                size_share,
                start_offset,
                rent,
                escalator,
                tenor,
                lease_opex,
                gpu_count,
                gpu_capex,
                kw_per_gpu,
                gpu_life,
                contract,
                gpu_opex,
                generation,
                conversion,
                failure,
            },
        )
}

#[derive(Clone, Debug)]
struct TermLoanParams {
    schedule: usize,
    principal: f64,
    rate: Rate,
    draw_offset: i32,
    maturity_after_draw: i32,
    /// Amortisation start as a share of the way from the draw to maturity.
    amortisation: Option<f64>,
    custom: Vec<f64>,
    dsra_months: u32,
    covenants: CovenantParams,
    collateral_mask: u8,
    seniority: usize,
    fee_bps: f64,
    /// Ring-fence into the project company of the AI asset with this index, if it has one.
    ring_fence: Option<usize>,
    /// The instrument's kind and the terms its kind needs.
    kind: KindParams,
    /// Refinancing window, minimum DSCR and tenor.
    refinancing: Option<(u32, f64, u32)>,
}

/// The kind of a generated instrument and the terms that go with it.
#[derive(Clone, Debug)]
enum KindParams {
    TermLoan,
    /// Draw window (months), advance rate, step-down, commitment fee.
    Abl(i32, f64, f64, f64),
    Convertible,
    /// First call month after the draw, call price.
    HighYield(i32, f64),
    /// Share of the treasury pledged, call LTV, liquidation gap, top-up LTV below the call.
    BtcBacked(f64, f64, f64, Option<f64>),
    /// Share drawn at the start, commitment fee, advance rate on the collateral.
    Revolver(f64, f64, Option<f64>),
}

fn kind_params() -> impl Strategy<Value = KindParams> {
    prop_oneof![
        3 => Just(KindParams::TermLoan),
        1 => (0..8_i32, 20.0..95.0_f64, 0.0..20.0_f64, 0.0..100.0_f64)
            .prop_map(|(w, a, s, f)| KindParams::Abl(w, a, s, f)),
        1 => Just(KindParams::Convertible),
        1 => (1..36_i32, 100.0..106.0_f64).prop_map(|(m, p)| KindParams::HighYield(m, p)),
        1 => (0.05..0.5_f64, 40.0..90.0_f64, 1.0..10.0_f64, option::of(10.0..35.0_f64))
            .prop_map(|(p, c, g, t)| KindParams::BtcBacked(p, c, g, t)),
        1 => (0.0..=1.0_f64, 0.0..100.0_f64, option::of(20.0..90.0_f64))
            .prop_map(|(d, f, a)| KindParams::Revolver(d, f, a)),
    ]
}

fn term_loan() -> impl Strategy<Value = TermLoanParams> {
    (
        (
            0..3_usize,
            1e6..2e8_f64,
            rate(),
            -24..12_i32,
            1..120_i32,
            option::of(0.0..=1.0_f64),
            vec(0.0..40.0_f64, 1..8),
        ),
        (
            0..=6_u32,
            covenants(),
            any::<u8>(),
            0..3_usize,
            0.0..300.0_f64,
            option::weighted(0.2, 0..2_usize),
        ),
        (
            kind_params(),
            option::of((1..24_u32, 0.5..2.0_f64, 1..60_u32)),
        ),
    )
        .prop_map(
            |(
                (schedule, principal, rate, draw_offset, maturity_after_draw, amortisation, custom),
                (dsra_months, covenants, collateral_mask, seniority, fee_bps, ring_fence),
                (kind, refinancing),
            )| {
                // At most 100 % in all.
                let total: f64 = custom.iter().sum();
                let custom = if total > 100.0 {
                    custom.iter().map(|p| p * 100.0 / total * 0.999).collect()
                } else {
                    custom
                };
                TermLoanParams {
                    schedule,
                    principal,
                    rate,
                    draw_offset,
                    maturity_after_draw,
                    amortisation,
                    custom,
                    dsra_months,
                    covenants,
                    collateral_mask,
                    seniority,
                    fee_bps,
                    ring_fence,
                    kind,
                    refinancing,
                }
            },
        )
}

/// A hedge: kind (put, collar, swap, cap), start offset, months, BTC a month, put strike
/// share of the price, call strike above the put, rate, premium, the loan hedged.
#[derive(Clone, Debug)]
struct HedgeParams {
    kind: usize,
    start_offset: i32,
    months: i32,
    btc_per_month: f64,
    put_share: f64,
    call_above: f64,
    rate_percent: f64,
    premium: f64,
    loan: usize,
    notional: Option<f64>,
}

fn hedge() -> impl Strategy<Value = HedgeParams> {
    (
        (0..4_usize, -6..24_i32, 0..60_i32, 0.1..200.0_f64),
        (0.3..1.5_f64, 1.01..2.0_f64, 0.0..8.0_f64, 0.0..5e5_f64),
        (0..2_usize, option::of(1e6..1e8_f64)),
    )
        .prop_map(
            |(
                (kind, start_offset, months, btc_per_month),
                (put_share, call_above, rate_percent, premium),
                (loan, notional),
            )| HedgeParams {
                kind,
                start_offset,
                months,
                btc_per_month,
                put_share,
                call_above,
                rate_percent,
                premium,
                loan,
                notional,
            },
        )
}

#[derive(Clone, Debug)]
struct MarketParams {
    price: f64,
    drift: Option<f64>,
    /// Monthly price factors of an explicit series (crashes included).
    series: Option<Vec<f64>>,
    fees: Option<f64>,
    power: f64,
    power_escalation: f64,
    sofr: f64,
    /// World fleet growth at full margin, deployment lag, retirement.
    world_fleet: Option<(f64, u32, f64)>,
    rent_deflation: f64,
    utilisation: f64,
}

fn market() -> impl Strategy<Value = MarketParams> {
    (
        10_000.0..200_000.0_f64,
        option::of(-80.0..80.0_f64),
        option::of(vec(
            prop_oneof![3 => 0.85..1.2_f64, 1 => 0.2..0.7_f64, 1 => 1.2..2.0_f64],
            1..48,
        )),
        option::of(0.0..0.5_f64),
        -20.0..150.0_f64,
        -5.0..10.0_f64,
        0.0..8.0_f64,
        option::of((0.0..300.0_f64, 0..12_u32, 0.0..20.0_f64)),
        -10.0..50.0_f64,
        0.0..=100.0_f64,
    )
        .prop_map(
            |(
                price,
                drift,
                series,
                fees,
                power,
                power_escalation,
                sofr,
                world_fleet,
                rent_deflation,
                utilisation,
            )| MarketParams {
                price,
                drift,
                series,
                fees,
                power,
                power_escalation,
                sofr,
                world_fleet,
                rent_deflation,
                utilisation,
            },
        )
}

#[derive(Clone, Debug)]
struct BorrowerParams {
    start_offset: i32,
    horizon: u32,
    opening_cash: f64,
    treasury: Option<(f64, f64)>,
    /// Fixed, per MW, maintenance per MW, escalation.
    opex: Option<(f64, f64, f64, f64)>,
    /// Rate, depreciation months, opening basis.
    tax: Option<(f64, u32, f64)>,
    /// Excess cash share, minimum cash.
    distributions: Option<(f64, f64)>,
}

fn borrower() -> impl Strategy<Value = BorrowerParams> {
    (
        0..48_i32,
        12..=120_u32,
        prop_oneof![1 => Just(0.0), 4 => 1e7..2e9_f64],
        option::of((0.0..5_000.0_f64, 0.0..=100.0_f64)),
        option::of((
            0.0..5e6_f64,
            0.0..20_000.0_f64,
            0.0..5_000.0_f64,
            -5.0..10.0_f64,
        )),
        option::of((0.0..40.0_f64, 12..120_u32, 0.0..1e9_f64)),
        option::of((0.0..=100.0_f64, 0.0..1e8_f64)),
    )
        .prop_map(
            |(start_offset, horizon, opening_cash, treasury, opex, tax, distributions)| {
                BorrowerParams {
                    start_offset,
                    horizon,
                    opening_cash,
                    treasury,
                    opex,
                    tax,
                    distributions,
                }
            },
        )
}

/// A shock applied to the base path from some month on: the run must balance there too.
#[derive(Clone, Debug)]
struct ShockParams {
    from_share: f64,
    btc: f64,
    utilisation: f64,
    gpu_rent: f64,
    power: f64,
    sofr_add: f64,
    /// The month's low as a share of the shocked price (margin calls).
    low: f64,
}

fn shock() -> impl Strategy<Value = ShockParams> {
    (
        0.0..1.0_f64,
        0.02..1.5_f64,
        0.0..=1.0_f64,
        0.0..1.5_f64,
        0.2..6.0_f64,
        -0.02..0.15_f64,
        0.3..1.0_f64,
    )
        .prop_map(
            |(from_share, btc, utilisation, gpu_rent, power, sofr_add, low)| ShockParams {
                from_share,
                btc,
                utilisation,
                gpu_rent,
                power,
                sofr_add,
                low,
            },
        )
}

#[derive(Clone, Debug)]
struct Case {
    borrower: BorrowerParams,
    market: MarketParams,
    sites: Vec<SiteParams>,
    fleets: Vec<FleetParams>,
    ai: Vec<AiParams>,
    loans: Vec<TermLoanParams>,
    hedges: Vec<HedgeParams>,
    /// At-the-market equity: most a month, discount.
    equity_issuance: Option<(f64, f64)>,
    shock: ShockParams,
}

fn case() -> impl Strategy<Value = Case> {
    (
        borrower(),
        market(),
        vec(site(), 1..=2),
        vec(fleet(), 0..=3),
        vec(ai_asset(), 0..=2),
        vec(term_loan(), 0..=3),
        vec(hedge(), 0..=2),
        option::of((1e5..1e8_f64, 0.0..20.0_f64)),
        shock(),
    )
        .prop_map(
            |(borrower, market, sites, fleets, ai, loans, hedges, equity_issuance, shock)| Case {
                borrower,
                market,
                sites,
                fleets,
                ai,
                loans,
                hedges,
                equity_issuance,
                shock,
            },
        )
}

const GENERATIONS: [&str; 8] = [
    "A100",
    "H100",
    "H200",
    "B200",
    "GB300",
    "Rubin",
    "Rubin Ultra",
    "Feynman",
];

fn rate_line(rate: &Rate) -> String {
    match rate {
        Rate::Fixed(percent) => format!("fixed_rate_percent = {percent:?}\n"),
        Rate::Floating(bps) => format!("margin_bps = {bps:?}\n"),
    }
}

fn covenant_lines(covenants: &CovenantParams) -> String {
    let mut text = format!(
        "[debt.covenants]\ndscr_window_months = {}\nequity_cures = {}\n",
        covenants.window, covenants.cures
    );
    if let Some(lock_up) = covenants.lock_up {
        writeln!(text, "lock_up_dscr = {lock_up:?}").unwrap();
    }
    if let Some(default) = covenants.default {
        writeln!(text, "default_dscr = {default:?}").unwrap();
    }
    if let Some(ltv) = covenants.max_ltv_percent {
        writeln!(text, "max_ltv_percent = {ltv:?}").unwrap();
    }
    text
}

/// The scenario file of a case.
fn scenario_text(case: &Case) -> String {
    let b = &case.borrower;
    let start = YearMonth::new(2025, 6).unwrap().plus_months(b.start_offset);
    let at = |offset: i32| start.plus_months(offset);
    let mut text = format!(
        "schema_version = 1\nname = \"Random\"\nstart_month = \"{start}\"\nhorizon_months = {}\n\
         opening_cash_usd = {:?}\n",
        b.horizon, b.opening_cash
    );

    let m = &case.market;
    text += "\n[market]\n";
    writeln!(text, "btc_price_usd = {:?}", m.price).unwrap();
    if let Some(drift) = m.drift {
        writeln!(text, "btc_drift_percent_per_year = {drift:?}").unwrap();
    }
    if let Some(series) = &m.series {
        let mut price = m.price;
        let prices: Vec<String> = series
            .iter()
            .map(|factor| {
                price = (price * factor).max(1.0);
                format!("{price:?}")
            })
            .collect();
        writeln!(text, "btc_price_series_usd = [{}]", prices.join(", ")).unwrap();
    }
    if let Some(fees) = m.fees {
        writeln!(text, "fees_btc_per_block = {fees:?}").unwrap();
    }
    writeln!(text, "power_price_usd_per_mwh = {:?}", m.power).unwrap();
    writeln!(
        text,
        "power_price_escalation_percent_per_year = {:?}",
        m.power_escalation
    )
    .unwrap();
    writeln!(text, "sofr_percent = {:?}", m.sofr).unwrap();
    if let Some((growth, lag, retirement)) = m.world_fleet {
        write!(
            text,
            "[market.world_fleet]\ngrowth_percent_per_year_at_full_margin = {growth:?}\n\
             deployment_lag_months = {lag}\nretirement_percent_per_year = {retirement:?}\n"
        )
        .unwrap();
    }
    write!(
        text,
        "[market.gpu]\nrent_deflation_percent_per_year = {:?}\nutilisation_percent = {:?}\n",
        m.rent_deflation, m.utilisation
    )
    .unwrap();

    for (i, site) in case.sites.iter().enumerate() {
        write!(
            text,
            "\n[[site]]\nname = \"Site {i}\"\ngrid_capacity_mw = {:?}\npue = {:?}\nai_pue = {:?}\n\
             market_exposure_percent = {:?}\ntariff_usd_per_mwh = {:?}\n\
             delivery_usd_per_mwh = {:?}\noutage_days_per_year = {:?}\n\
             powered_site_value_usd_per_mw = {:?}\n",
            site.grid_mw,
            site.pue,
            site.ai_pue,
            site.exposure_percent,
            site.tariff,
            site.delivery,
            site.outage_days,
            site.site_value_per_mw
        )
        .unwrap();
        if let Some((price, share, end)) = site.ppa {
            write!(
                text,
                "[site.ppa]\nprice_usd_per_mwh = {price:?}\nshare_percent = {share:?}\n\
                 end_month = \"{}\"\n",
                at(end)
            )
            .unwrap();
        }
    }
    let site_of = |index: usize| index % case.sites.len();

    let models: Vec<String> = bitwatt_model::asic_catalog()
        .into_iter()
        .map(|m| m.name)
        .collect();
    // Without any AI asset the borrower needs a fleet to be a business.
    let mut fleets = case.fleets.clone();
    if fleets.is_empty() && case.ai.is_empty() {
        fleets.push(FleetParams {
            site: 0,
            model: 4,
            count: 1_000,
            age_months: 0,
            uptime: 97.0,
            pool_fee: 2.0,
            curtail: true,
            credit_sales: false,
            renew: false,
            life_months: 60,
            renewal_price: 25.7,
        });
    }
    let mut assets = Vec::new();
    for (i, fleet) in fleets.iter().enumerate() {
        assets.push(format!("Fleet {i}"));
        write!(
            text,
            "\n[[mining_fleet]]\nname = \"Fleet {i}\"\nsite = \"Site {}\"\nmodel = \"{}\"\n\
             count = {}\nage_months = {}\nuptime_percent = {:?}\npool_fee_percent = {:?}\n\
             economic_curtailment = {}\npower_credit_sales = {}\nrenewal = \"{}\"\n\
             life_months = {}\nrenewal_price_usd_per_th = {:?}\n",
            site_of(fleet.site),
            models[fleet.model % models.len()],
            fleet.count,
            fleet.age_months,
            fleet.uptime,
            fleet.pool_fee,
            fleet.curtail,
            fleet.credit_sales,
            if fleet.renew {
                "replace_with_frontier"
            } else {
                "run_down"
            },
            fleet.life_months,
            fleet.renewal_price
        )
        .unwrap();
    }

    let mut debts = String::new();
    // The conversion of each AI asset, if any, by index.
    let mut conversions: Vec<Option<String>> = Vec::new();
    for (i, ai) in case.ai.iter().enumerate() {
        let site = &case.sites[site_of(ai.site)];
        let site_name = format!("Site {}", site_of(ai.site));
        let critical_it = ai.size_share * site.grid_mw / site.ai_pue;
        let name = format!("AI {i}");
        assets.push(name.clone());
        let mut start_offset = ai.start_offset;
        if let Some(conversion) = &ai.conversion {
            let ready = conversion.start_offset + conversion.duration as i32;
            start_offset = ready + conversion.delay;
            let conversion_name = format!("Conversion {i}");
            write!(
                text,
                "\n[[conversion]]\nname = \"{conversion_name}\"\nsite = \"{site_name}\"\n\
                 critical_it_mw = {critical_it:?}\nstart_month = \"{}\"\nduration_months = {}\n\
                 capex_usd_per_mw = {:?}\nfeeds = \"{name}\"\n",
                at(conversion.start_offset),
                conversion.duration,
                conversion.capex_per_mw
            )
            .unwrap();
            conversions.push(Some(conversion_name.clone()));
            if let Some(pf) = &conversion.finance {
                write!(
                    debts,
                    "\n[[debt]]\nname = \"Project loan {i}\"\nkind = \"project_finance\"\n\
                     funds = \"{conversion_name}\"\nloan_to_cost_percent = {:?}\n\
                     schedule = \"{}\"\nmaturity_month = \"{}\"\nring_fenced = {}\n\
                     dsra_months = {}\nupfront_fee_bps = {:?}\n{}",
                    pf.loan_to_cost,
                    if pf.sculpted { "sculpted" } else { "linear" },
                    at(ready + pf.maturity_after_ready),
                    pf.ring_fenced,
                    pf.dsra_months,
                    pf.fee_bps,
                    rate_line(&pf.rate)
                )
                .unwrap();
                if pf.sculpted {
                    writeln!(debts, "target_dscr = {:?}", pf.target_dscr).unwrap();
                }
                if let Some(cap) = pf.cap {
                    writeln!(debts, "principal_usd = {cap:?}").unwrap();
                }
                if pf.secured_on_asset {
                    writeln!(debts, "collateral = [\"{name}\"]").unwrap();
                }
                debts += &covenant_lines(&pf.covenants);
            }
        } else {
            conversions.push(None);
        }
        if ai.lease {
            let relet = ai
                .failure
                .map_or(String::new(), |(_, _, _, downtime, relet)| {
                    format!(
                        "re_lease_downtime_months = {downtime}\nre_lease_rent_percent = {relet:?}\n"
                    )
                });
            write!(
                text,
                "\n[[colocation_lease]]\nname = \"{name}\"\nsite = \"{site_name}\"\n\
                 critical_it_mw = {critical_it:?}\nrent_usd_per_kw_month = {:?}\n\
                 escalator_percent_per_year = {:?}\nstart_month = \"{}\"\ntenor_months = {}\n\
                 opex_usd_per_kw_month = {:?}\n{relet}[colocation_lease.tenant]\nname = \"Tenant {i}\"\n\
                 default_probability_percent_per_year = 3\n",
                ai.rent,
                ai.escalator,
                at(start_offset),
                ai.tenor,
                ai.lease_opex
            )
            .unwrap();
            if let Some((failed, cap, guarantor_failed, ..)) = ai.failure {
                writeln!(text, "default_month = \"{}\"", start.plus_months(failed)).unwrap();
                if let Some(cap) = cap {
                    write!(
                        text,
                        "[colocation_lease.backstop]\ncap_usd = {cap:?}\n\
                         [colocation_lease.backstop.guarantor]\nname = \"Guarantor\"\n\
                         default_probability_percent_per_year = 0.1\n"
                    )
                    .unwrap();
                    if let Some(g) = guarantor_failed {
                        writeln!(text, "default_month = \"{}\"", start.plus_months(g)).unwrap();
                    }
                }
            }
        } else {
            write!(
                text,
                "\n[[gpu_cloud]]\nname = \"{name}\"\nsite = \"{site_name}\"\ngeneration = \"{}\"\n\
                 gpu_count = {}\ncapex_usd_per_gpu = {:?}\npower_kw_per_gpu = {:?}\n\
                 start_month = \"{}\"\nlife_months = {}\nopex_usd_per_gpu_hour = {:?}\n",
                GENERATIONS[ai.generation],
                ai.gpu_count,
                ai.gpu_capex,
                ai.kw_per_gpu,
                at(start_offset),
                ai.gpu_life,
                ai.gpu_opex
            )
            .unwrap();
            if let Some((share, rate, tenor)) = ai.contract {
                write!(
                    text,
                    "contracted_percent = {share:?}\ncontract_rate_usd_per_gpu_hour = {rate:?}\n\
                     contract_tenor_months = {tenor}\n[gpu_cloud.offtaker]\n\
                     name = \"Offtaker {i}\"\ndefault_probability_percent_per_year = 2\n"
                )
                .unwrap();
                if let Some((failed, ..)) = ai.failure {
                    writeln!(text, "default_month = \"{}\"", start.plus_months(failed)).unwrap();
                }
            }
        }
    }

    let treasury_btc = b.treasury.map_or(0.0, |(btc, _)| btc);
    for (i, loan) in case.loans.iter().enumerate() {
        let draw = loan.draw_offset;
        let kind = match loan.kind {
            KindParams::BtcBacked(..) if treasury_btc <= 0.0 => &KindParams::TermLoan,
            ref kind => kind,
        };
        let window = match kind {
            KindParams::Abl(window, ..) => *window,
            _ => 0,
        };
        let maturity = draw + window + loan.maturity_after_draw;
        let bullet_only = matches!(
            kind,
            KindParams::Convertible | KindParams::HighYield(..) | KindParams::Revolver(..)
        );
        let schedule = if bullet_only {
            "bullet"
        } else {
            ["bullet", "linear", "custom"][loan.schedule]
        };
        let kind_name = match kind {
            KindParams::TermLoan => "term_loan",
            KindParams::Abl(..) => "abl",
            KindParams::Convertible => "convertible",
            KindParams::HighYield(..) => "high_yield",
            KindParams::BtcBacked(..) => "btc_backed",
            KindParams::Revolver(..) => "revolver",
        };
        write!(
            debts,
            "\n[[debt]]\nname = \"Loan {i}\"\nkind = \"{kind_name}\"\n\
             schedule = \"{schedule}\"\ndraw_month = \"{}\"\nmaturity_month = \"{}\"\n\
             dsra_months = {}\nseniority = \"{}\"\nupfront_fee_bps = {:?}\n{}",
            at(draw),
            at(maturity),
            loan.dsra_months,
            ["senior_secured", "senior_unsecured", "subordinated"][loan.seniority],
            loan.fee_bps,
            rate_line(&loan.rate)
        )
        .unwrap();
        let mut needs_collateral = false;
        match kind {
            KindParams::TermLoan | KindParams::Convertible => {
                writeln!(debts, "principal_usd = {:?}", loan.principal).unwrap();
            }
            KindParams::Abl(window, advance, step_down, fee) => {
                writeln!(
                    debts,
                    "commitment_usd = {:?}\ndraw_end_month = \"{}\"\nadvance_rate_percent = {advance:?}\n\
                     advance_rate_step_down_percent_per_year = {step_down:?}\ncommitment_fee_bps = {fee:?}",
                    loan.principal,
                    at(draw + window)
                )
                .unwrap();
                needs_collateral = true;
            }
            KindParams::HighYield(first_call, price) => {
                writeln!(
                    debts,
                    "principal_usd = {:?}\ncall_schedule = [{{ from_month = \"{}\", price_percent = {price:?} }}]",
                    loan.principal,
                    at(draw + first_call)
                )
                .unwrap();
            }
            KindParams::BtcBacked(share, call, gap, top_up) => {
                writeln!(
                    debts,
                    "principal_usd = {:?}\nbtc_pledged = {:?}\nmargin_call_ltv_percent = {call:?}\n\
                     liquidation_ltv_percent = {:?}",
                    loan.principal,
                    share * treasury_btc / 3.0,
                    (call + gap).min(100.0)
                )
                .unwrap();
                if let Some(below) = top_up {
                    writeln!(debts, "top_up_ltv_percent = {:?}", call - below).unwrap();
                }
            }
            KindParams::Revolver(drawn, fee, advance) => {
                writeln!(
                    debts,
                    "commitment_usd = {:?}\nprincipal_usd = {:?}\ncommitment_fee_bps = {fee:?}",
                    loan.principal,
                    loan.principal * drawn
                )
                .unwrap();
                if let Some(advance) = advance {
                    writeln!(debts, "advance_rate_percent = {advance:?}").unwrap();
                    needs_collateral = true;
                }
            }
        }
        if let Some((window, min_dscr, tenor)) = loan.refinancing {
            writeln!(
                debts,
                "refinancing = {{ window_months = {window}, min_dscr = {min_dscr:?}, tenor_months = {tenor} }}"
            )
            .unwrap();
        }
        if let Some(share) = loan.amortisation {
            let offset =
                draw + window + (share * f64::from(loan.maturity_after_draw)).round() as i32;
            writeln!(debts, "amortisation_start_month = \"{}\"", at(offset)).unwrap();
        }
        if schedule == "custom" {
            let percents: Vec<String> = loan.custom.iter().map(|p| format!("{p:?}")).collect();
            writeln!(
                debts,
                "custom_repayment_percent = [{}]",
                percents.join(", ")
            )
            .unwrap();
        }
        if !matches!(kind, KindParams::BtcBacked(..)) {
            let pledgeable: Vec<String> = assets
                .iter()
                .cloned()
                .chain(std::iter::once("treasury".to_string()))
                .chain((0..case.sites.len()).map(|s| format!("Site {s}")))
                .collect();
            let mut collateral: Vec<String> = pledgeable
                .iter()
                .enumerate()
                .filter(|(k, _)| loan.collateral_mask & (1 << (k % 8)) != 0)
                .map(|(_, name)| format!("\"{name}\""))
                .collect();
            if needs_collateral && collateral.is_empty() {
                collateral.push("\"treasury\"".to_string());
            }
            writeln!(debts, "collateral = [{}]", collateral.join(", ")).unwrap();
            if let Some(Some(conversion)) = loan.ring_fence.and_then(|k| conversions.get(k)) {
                writeln!(debts, "funds = \"{conversion}\"\nring_fenced = true").unwrap();
            }
        }
        if matches!(kind, KindParams::Convertible | KindParams::HighYield(..)) {
            write!(
                debts,
                "[debt.covenants]\nincurrence_max_net_leverage = {:?}\n",
                loan.covenants.lock_up.unwrap_or(1.5) * 3.0
            )
            .unwrap();
        } else {
            debts += &covenant_lines(&loan.covenants);
        }
    }
    for (i, hedge) in case.hedges.iter().enumerate() {
        let floating = case
            .loans
            .iter()
            .enumerate()
            .filter(|(_, loan)| matches!(loan.rate, Rate::Floating(_)))
            .map(|(k, _)| k)
            .nth(hedge.loan % case.loans.len().max(1));
        let kind = match (hedge.kind, floating) {
            (2 | 3, None) => 0,
            (kind, _) => kind,
        };
        write!(
            text,
            "\n[[hedge]]\nname = \"Hedge {i}\"\nkind = \"{}\"\nstart_month = \"{}\"\n\
             end_month = \"{}\"\npremium_usd_per_month = {:?}\n",
            [
                "btc_put",
                "btc_collar",
                "interest_rate_swap",
                "interest_rate_cap"
            ][kind],
            at(hedge.start_offset),
            at(hedge.start_offset + hedge.months),
            hedge.premium
        )
        .unwrap();
        let put = hedge.put_share * m.price;
        match kind {
            0 | 1 => {
                writeln!(
                    text,
                    "btc_per_month = {:?}\nput_strike_usd = {put:?}",
                    hedge.btc_per_month
                )
                .unwrap();
                if kind == 1 {
                    writeln!(text, "call_strike_usd = {:?}", put * hedge.call_above).unwrap();
                }
            }
            _ => {
                let field = if kind == 2 {
                    "fixed_rate_percent"
                } else {
                    "cap_strike_percent"
                };
                writeln!(
                    text,
                    "debt = \"Loan {}\"\n{field} = {:?}",
                    floating.unwrap_or(0),
                    hedge.rate_percent
                )
                .unwrap();
                if let Some(notional) = hedge.notional {
                    writeln!(text, "notional_usd = {notional:?}").unwrap();
                }
            }
        }
    }
    if let Some((most, discount)) = case.equity_issuance {
        write!(
            text,
            "\n[equity_issuance]\nmax_usd_per_month = {most:?}\ndiscount_percent = {discount:?}\n"
        )
        .unwrap();
    }

    if let Some((btc, sell)) = b.treasury {
        write!(
            text,
            "\n[treasury]\nbtc_held = {btc:?}\nsell_mined_percent = {sell:?}\n"
        )
        .unwrap();
    }
    if let Some((fixed, per_mw, maintenance, escalation)) = b.opex {
        write!(
            text,
            "\n[opex]\nfixed_usd_per_month = {fixed:?}\nsite_usd_per_mw_month = {per_mw:?}\n\
             maintenance_capex_usd_per_mw_month = {maintenance:?}\n\
             escalation_percent_per_year = {escalation:?}\n"
        )
        .unwrap();
    }
    if let Some((rate, months, basis)) = b.tax {
        write!(
            text,
            "\n[tax]\nrate_percent = {rate:?}\ndepreciation_months = {months}\n\
             opening_tax_basis_usd = {basis:?}\n"
        )
        .unwrap();
    }
    if let Some((share, minimum)) = b.distributions {
        write!(
            text,
            "\n[distributions]\nexcess_cash_percent = {share:?}\nminimum_cash_usd = {minimum:?}\n"
        )
        .unwrap();
    }
    text + &debts
}

/// The base path with the case's shock from some month on.
fn shocked(base: &MarketPath, shock: &ShockParams) -> MarketPath {
    let mut path = base.clone();
    let months = path.months();
    let from = (shock.from_share * months as f64) as usize;
    for t in from..months {
        path.btc_price_usd[t] *= shock.btc;
        path.ai_utilisation[t] = shock.utilisation;
        path.gpu_rent_index_usd_per_gpu_hour[t] *= shock.gpu_rent;
        path.power_price_usd_per_mwh[t] *= shock.power;
        path.sofr[t] += shock.sofr_add;
        path.stress[t] = true;
        path.btc_low_usd[t] = path.btc_price_usd[t] * shock.low;
        path.extra_outage_days[t] = 3.0 * shock.low;
    }
    path
}

/// Whether a `Debug` rendering holds a NaN or an infinity.
fn has_non_finite(debug: &str) -> bool {
    debug
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_'))
        .any(|token| matches!(token, "NaN" | "inf" | "-inf"))
}

/// Runs `borrower` on `market` and checks every month.
fn check_path(
    borrower: &Borrower,
    market: &MarketPath,
    buffers: &mut PathBuffers,
    what: &str,
) -> Result<Coverage, TestCaseError> {
    let summary = run_path(borrower, market, buffers);
    prop_assert_eq!(buffers.rows.len(), summary.months_run);
    let mut opening_cash = borrower.opening_cash_usd;
    for row in &buffers.rows {
        let sources = row.sources_usd();
        let uses = row.uses_usd();
        // The cash build (or drawdown) is the difference of the closing and opening balances,
        // so it carries their rounding: a tiny month against a large balance (1.27 USD paid
        // out of 29.6 M) would otherwise fail on the last bits of the balance. Relative to the
        // month's sources and its cash balances, 1e-9.
        let scale = sources
            .abs()
            .max(opening_cash.abs())
            .max(row.cash_usd.abs())
            .max(1.0);
        opening_cash = row.cash_usd;
        prop_assert!(
            (sources - uses).abs() <= 1e-9 * scale,
            "{}: month {}: sources {} ≠ uses {} (difference {})\n{:?}",
            what,
            row.month_index,
            sources,
            uses,
            sources - uses,
            row
        );
        let debug = format!("{row:?}");
        prop_assert!(
            !has_non_finite(&debug),
            "{}: non-finite value: {}",
            what,
            debug
        );
    }
    for (i, debt) in buffers.debt_rows.iter().enumerate() {
        let debug = format!("{debt:?}");
        prop_assert!(
            !has_non_finite(&debug),
            "{}: debt row {}: {}",
            what,
            i,
            debug
        );
    }
    let debug = format!("{summary:?}");
    prop_assert!(!has_non_finite(&debug), "{}: summary: {}", what, debug);
    let rows = &buffers.rows;
    Ok(Coverage {
        paths: 1,
        borrower_defaults: u32::from(summary.default.is_some()),
        project_defaults: u32::from(
            summary
                .debt_outcomes()
                .iter()
                .any(|d| d.default.is_some_and(|e| e.entity > 0)),
        ),
        lock_ups: u32::from(summary.lock_up_months > 0),
        cures: u32::from(summary.cures_used > 0),
        reserve_draws: u32::from(
            buffers
                .debt_rows
                .iter()
                .zip(buffers.debt_rows.iter().skip(borrower.debts.len()))
                .any(|(before, after)| after.dsra_usd < before.dsra_usd),
        ),
        treasury_sales: u32::from(rows.iter().any(|r| r.treasury_sales_usd > 0.0)),
        equity: u32::from(rows.iter().any(|r| r.equity_raised_usd > 0.0)),
        distributions: u32::from(rows.iter().any(|r| r.distributions_usd > 0.0)),
        margin_calls: u32::from(summary.debt_outcomes().iter().any(|d| d.margin_calls > 0)),
        refinancings: u32::from(summary.debt_outcomes().iter().any(|d| d.refinancings > 0)),
        calls: u32::from(
            summary
                .debt_outcomes()
                .iter()
                .any(|d| d.called_month.is_some()),
        ),
        market_equity: u32::from(summary.market_equity_usd > 0.0),
        tenant_failures: u32::from(rows.iter().enumerate().any(|(t, _)| {
            market
                .counterparty_defaults
                .iter()
                .any(|&(_, failed)| failed == t)
        })),
        hedges: u32::from(
            rows.iter()
                .any(|r| r.hedge_receipts_usd > 0.0 || r.hedge_payments_usd > 0.0),
        ),
        prepayments: u32::from(buffers.debt_rows.iter().any(|d| {
            d.borrowing_base_usd
                .is_some_and(|base| d.principal_due_usd > 0.0 && d.opening_balance_usd > base)
        })),
    })
}

/// How many paths reached each feature: the property says little about a feature no path
/// reaches.
#[derive(Clone, Copy, Debug, Default)]
struct Coverage {
    paths: u32,
    borrower_defaults: u32,
    project_defaults: u32,
    lock_ups: u32,
    cures: u32,
    reserve_draws: u32,
    treasury_sales: u32,
    equity: u32,
    distributions: u32,
    margin_calls: u32,
    refinancings: u32,
    calls: u32,
    market_equity: u32,
    hedges: u32,
    prepayments: u32,
    tenant_failures: u32,
}

impl std::ops::Add for Coverage {
    type Output = Coverage;
    fn add(self, other: Coverage) -> Coverage {
        Coverage {
            paths: self.paths + other.paths,
            borrower_defaults: self.borrower_defaults + other.borrower_defaults,
            project_defaults: self.project_defaults + other.project_defaults,
            lock_ups: self.lock_ups + other.lock_ups,
            cures: self.cures + other.cures,
            reserve_draws: self.reserve_draws + other.reserve_draws,
            treasury_sales: self.treasury_sales + other.treasury_sales,
            equity: self.equity + other.equity,
            distributions: self.distributions + other.distributions,
            margin_calls: self.margin_calls + other.margin_calls,
            refinancings: self.refinancings + other.refinancings,
            calls: self.calls + other.calls,
            market_equity: self.market_equity + other.market_equity,
            hedges: self.hedges + other.hedges,
            prepayments: self.prepayments + other.prepayments,
            tenant_failures: self.tenant_failures + other.tenant_failures,
        }
    }
}

#[test]
fn has_non_finite_finds_nan_and_infinity() {
    assert!(has_non_finite(&format!("{:?}", Some(f64::NAN))));
    assert!(has_non_finite(&format!("{:?}", (1.0, f64::NEG_INFINITY))));
    assert!(!has_non_finite(
        "MonthRow { interest_paid_usd: 1.0, dscr: None }"
    ));
}

/// Sources equal uses to 1e-9 (relative) every month of every random scenario, on its base
/// path and on a shocked path; nothing is NaN or infinite.
#[test]
fn sources_equal_uses_on_random_scenarios() {
    let cases = std::env::var("BITWATT_SOURCES_USES_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let began = Instant::now();
    let coverage = Cell::new(Coverage::default());
    let result = runner.run(&case(), |case| {
        let text = scenario_text(&case);
        let scenario = Scenario::from_toml(&text).unwrap_or_else(|errors| {
            panic!("the generator wrote an invalid file:\n{errors}\n{text}")
        });
        let base = base_market_path(&scenario);
        let borrower = Borrower::with_base_path(&scenario, &base).expect("compiles");
        let mut buffers = PathBuffers::new(&borrower);
        let with_text = |what: &str| format!("{what}\n--- scenario ---\n{text}");
        let on_base = check_path(&borrower, &base, &mut buffers, &with_text("base path"))?;
        let on_shocked = check_path(
            &borrower,
            &shocked(&base, &case.shock),
            &mut buffers,
            &with_text("shocked path"),
        )?;
        coverage.set(coverage.get() + on_base + on_shocked);
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let coverage = coverage.get();
    eprintln!(
        "sources = uses: {} paths of {cases} scenarios in {:.1} s; {coverage:?}",
        coverage.paths,
        began.elapsed().as_secs_f64()
    );
    // The generator must reach every feature, defaults on a good share of the paths.
    if cases >= 1_000 {
        let share = |count: u32| f64::from(count) / f64::from(coverage.paths);
        assert!(share(coverage.borrower_defaults) > 0.1, "{coverage:?}");
        assert!(share(coverage.borrower_defaults) < 0.9, "{coverage:?}");
        for count in [
            coverage.project_defaults,
            coverage.lock_ups,
            coverage.cures,
            coverage.reserve_draws,
            coverage.treasury_sales,
            coverage.equity,
            coverage.distributions,
            coverage.margin_calls,
            coverage.refinancings,
            coverage.calls,
            coverage.market_equity,
            coverage.hedges,
            coverage.prepayments,
            coverage.tenant_failures,
        ] {
            assert!(share(count) > 0.005, "{coverage:?}");
        }
    }
}
