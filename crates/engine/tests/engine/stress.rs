//! The stress library: each stress moves the factors it names by the amounts DESIGN §10
//! gives, over its window, composes in order, and leaves the network to respond; the
//! intramonth low of the BTC price follows the Brownian bridge.

use bitwatt_engine::{
    MarketPath, Stress, StressError, StressKind, base_market_path, bridge_crossing_probability,
    brownian_bridge_low_usd, stressed_market_path,
};
use bitwatt_model::{PIVOT_MINER_TOML, Scenario};
use proptest::prelude::*;

use crate::common::{assert_close, month};

fn pivot() -> Scenario {
    Scenario::from_toml(PIVOT_MINER_TOML).expect("the example is valid")
}

fn stressed(scenario: &Scenario, names: &[&str]) -> MarketPath {
    let stresses: Vec<Stress> = names.iter().map(|n| n.parse().unwrap()).collect();
    stressed_market_path(scenario, &stresses)
}

#[test]
fn names_parse_with_an_optional_start_month() {
    for kind in StressKind::ALL {
        let stress: Stress = kind.name().parse().unwrap();
        assert_eq!(
            stress,
            Stress {
                kind,
                start_month: None
            }
        );
        assert_eq!(stress.to_string(), kind.name());
        assert!(!kind.description().is_empty());
    }
    let stress: Stress = "grid-event@2027-01".parse().unwrap();
    assert_eq!(stress.start_month, Some(month("2027-01")));
    assert_eq!(stress.to_string(), "grid-event@2027-01");
    let unknown = "btc-moon".parse::<Stress>().unwrap_err();
    assert!(matches!(unknown, StressError::UnknownName(_)));
    assert!(
        unknown
            .to_string()
            .contains("\"hashprice-collapse\", \"ai-capex-pullback\"")
    );
    assert!(matches!(
        "grid-event@2027-13".parse::<Stress>(),
        Err(StressError::BadMonth(_))
    ));
    let late: Stress = "grid-event@2040-01".parse().unwrap();
    assert_eq!(
        late.check(month("2025-11"), 160).unwrap_err().to_string(),
        "--stress grid-event@2040-01: expected a month from 2025-11 to 2039-02, the projected months"
    );
    assert!(late.check(month("2025-11"), 240).is_ok());
}

#[test]
fn hashprice_collapse_halves_btc_in_two_months_and_the_network_follows() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let path = stressed(&scenario, &["hashprice-collapse@2026-03"]);
    let s = 4; // 2026-03 is month 4 from 2025-11
    for t in 0..s {
        assert_eq!(path.btc_price_usd[t], base.btc_price_usd[t]);
        assert_eq!(path.network_hashrate_hs[t], base.network_hashrate_hs[t]);
    }
    assert_close(
        path.btc_price_usd[s],
        base.btc_price_usd[s] * 0.5f64.sqrt(),
        "stressed factor",
    );
    for t in s + 1..path.months() {
        assert_close(
            path.btc_price_usd[t],
            base.btc_price_usd[t] * 0.5,
            "stressed factor",
        );
    }
    for t in s..s + 12 {
        assert!(path.fees_btc_per_block[t] <= 0.01);
    }
    assert_eq!(
        path.fees_btc_per_block[s + 12],
        base.fees_btc_per_block[s + 12]
    );
    // Miners switch off as hashprice halves: hashrate and difficulty end lower.
    let later = s + 12;
    assert!(path.network_hashrate_hs[later] < 0.9 * base.network_hashrate_hs[later]);
    assert!(path.difficulty[later] < base.difficulty[later]);
    // Realised hashprice falls by less than the price: the least efficient miners switch
    // off at once, so the rest share the reward.
    let ratio = path.hashprice_usd_per_ph_day(s + 1) / base.hashprice_usd_per_ph_day(s + 1);
    assert!(ratio > 0.5 && ratio < 0.7, "hashprice ratio {ratio}");
}

#[test]
fn ai_capex_pullback_cuts_rents_over_six_months_and_triples_hazards() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let path = stressed(&scenario, &["ai-capex-pullback"]);
    for t in 0..path.months() {
        let ramp = ((t + 1) as f64 / 6.0).min(1.0);
        let ratio =
            path.gpu_rent_index_usd_per_gpu_hour[t] / base.gpu_rent_index_usd_per_gpu_hour[t];
        assert_close(ratio, 1.0 - 0.3 * ramp, "stressed factor");
        assert_close(
            path.ai_utilisation[t],
            base.ai_utilisation[t] * (1.0 - 0.15 * ramp),
            "stressed factor",
        );
        assert_eq!(path.tenant_hazard_factor[t], if t < 24 { 3.0 } else { 1.0 });
    }
    assert_eq!(path.btc_price_usd, base.btc_price_usd);
}

#[test]
fn generation_leap_cuts_the_rent_of_generations_on_the_market() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let path = stressed(&scenario, &["generation-leap@2027-01"]);
    let (months, s) = (path.months(), 14);
    let start = month("2027-01");
    for (g, generation) in scenario.market.gpu.generations.iter().enumerate() {
        for t in [0, s - 1, s, s + 30] {
            let i = g * months + t;
            let expected = if t >= s && generation.launch_month <= start {
                base.generation_rent_factor[i] * 0.6
            } else {
                base.generation_rent_factor[i]
            };
            assert_close(path.generation_rent_factor[i], expected, "stressed factor");
        }
    }
    assert_eq!(path.gpu_resale_factor[s - 1], 1.0);
    assert_eq!(path.gpu_resale_factor[s], 0.5);
    assert_eq!(path.gpu_resale_factor[months - 1], 0.5);
}

#[test]
fn correlation_convergence_forces_a_year_of_stress_and_thin_markets() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let path = stressed(&scenario, &["correlation-convergence"]);
    for t in 0..path.months() {
        assert_eq!(path.stress[t], t < 12);
        assert_eq!(
            path.liquidation_depth_factor[t],
            if t < 12 { 0.3 } else { 1.0 }
        );
    }
    assert_close(
        path.btc_price_usd[11],
        base.btc_price_usd[11] * 0.5,
        "stressed factor",
    );
    let ratio = path.gpu_rent_index_usd_per_gpu_hour[40] / base.gpu_rent_index_usd_per_gpu_hour[40];
    assert_close(ratio, 0.65, "stressed factor");
}

#[test]
fn grid_event_darkens_one_month_and_inference_deflation_takes_40_percent_a_year() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let path = stressed(&scenario, &["grid-event@2026-07"]);
    for t in 0..path.months() {
        let (days, power) = if t == 8 { (10.0, 5.0) } else { (0.0, 1.0) };
        assert_eq!(path.extra_outage_days[t], days);
        assert_close(
            path.power_price_usd_per_mwh[t],
            base.power_price_usd_per_mwh[t] * power,
            "stressed factor",
        );
    }
    let path = stressed(&scenario, &["inference-deflation"]);
    let index = &path.gpu_rent_index_usd_per_gpu_hour;
    for t in [0, 30, 100] {
        assert_close(index[t + 12] / index[t], 0.6, "stressed factor");
    }
}

#[test]
fn stresses_compose_in_order() {
    let scenario = pivot();
    let base = base_market_path(&scenario);
    let twice = stressed(&scenario, &["hashprice-collapse", "hashprice-collapse"]);
    assert_close(
        twice.btc_price_usd[5],
        base.btc_price_usd[5] * 0.25,
        "stressed factor",
    );
    // Regime thinning (50 %) and the convergence stress's own (30 %) do not multiply.
    let both = stressed(&scenario, &["correlation-convergence", "ai-capex-pullback"]);
    assert_eq!(both.liquidation_depth_factor[3], 0.3);
    assert_close(
        both.gpu_rent_index_usd_per_gpu_hour[20] / base.gpu_rent_index_usd_per_gpu_hour[20],
        0.65 * 0.7,
        "stressed factor",
    );
}

#[test]
fn base_path_uses_the_median_intramonth_low() {
    let scenario = pivot();
    let path = base_market_path(&scenario);
    let sigma = scenario.market.btc_volatility_percent_per_year / 100.0;
    for t in 1..path.months() {
        let (open, close) = (path.btc_price_usd[t - 1], path.btc_price_usd[t]);
        assert!(path.btc_low_usd[t] < open.min(close));
        let p = bridge_crossing_probability(open, close, sigma, path.btc_low_usd[t]);
        assert_close(p, 0.5, "crossing probability");
    }
}

proptest! {
    /// The low at quantile u is the barrier crossed with probability u, below both ends.
    #[test]
    fn bridge_low_inverts_the_crossing_probability(
        open in 1e3f64..1e6,
        close_ratio in 0.3f64..3.0,
        sigma in 0.05f64..2.0,
        u in 1e-6f64..0.999,
    ) {
        let close = open * close_ratio;
        let low = brownian_bridge_low_usd(open, close, sigma, u);
        prop_assert!(low <= open.min(close) * (1.0 + 1e-12));
        let p = bridge_crossing_probability(open, close, sigma, low);
        prop_assert!((p - u).abs() < 1e-9 * u.max(1e-3), "p {} u {}", p, u);
    }
}

/// Revenue of the first `months` months (USD): mining, leases, GPUs, power credits.
fn revenue_usd(projection: &bitwatt_engine::Projection, months: usize) -> f64 {
    projection
        .months
        .iter()
        .take(months)
        .map(|r| {
            r.mining_revenue_usd + r.lease_revenue_usd + r.gpu_revenue_usd + r.power_credit_usd
        })
        .sum()
}

/// Every stress takes revenue away over its window: on the built-in examples without power
/// credits (which pay more when power is dear), cumulative revenue over the first year under
/// each stress is no higher than in the base case.
#[test]
fn stresses_never_raise_revenue_over_their_window() {
    for (name, text) in bitwatt_model::BUILT_IN_EXAMPLES {
        let text = text.replace("power_credit_sales = true", "power_credit_sales = false");
        let scenario = Scenario::from_toml(&text).unwrap();
        let base = bitwatt_engine::project(&scenario, &[]).unwrap();
        let base_revenue = revenue_usd(&base, 12);
        assert!(base_revenue > 0.0);
        for kind in StressKind::ALL {
            let stress = Stress {
                kind,
                start_month: None,
            };
            let stressed = bitwatt_engine::project(&scenario, &[stress]).unwrap();
            let revenue = revenue_usd(&stressed, 12);
            assert!(
                revenue <= base_revenue * (1.0 + 1e-12),
                "{name} under {kind}: {revenue} > {base_revenue}"
            );
        }
    }
}

/// LGD rises as the liquidation markets thin, all else equal, and unlimited depth sells at
/// market value: the pivot miner's converts default at maturity after a hashprice collapse.
#[test]
fn lgd_rises_as_liquidation_markets_thin() {
    use bitwatt_engine::{ClassMarkets, LiquidationMarket, LiquidationPrices, recover};
    let scenario = pivot();
    let stress: Stress = "hashprice-collapse".parse().unwrap();
    let projection = bitwatt_engine::project(&scenario, &[stress]).unwrap();
    let summary = &projection.summary;
    assert!(summary.default.is_some(), "the fixture defaults");
    let loss_at =
        |scale: f64| {
            let markets = ClassMarkets(projection.borrower.liquidation_markets.0.map(|m| {
                LiquidationMarket {
                    monthly_volume_usd: m.monthly_volume_usd * scale,
                    ..m
                }
            }));
            let prices = LiquidationPrices::for_estate(
                &summary.estate,
                &markets,
                &projection.market.liquidation_depth_factor,
            );
            recover(summary, &prices)
        };
    let unlimited = loss_at(f64::INFINITY);
    for proceeds in &unlimited.liquidation {
        assert_eq!(proceeds.impacted_value_usd, proceeds.undisturbed_value_usd);
    }
    let mut previous_loss = -1.0;
    for scale in [f64::INFINITY, 1.0, 0.1, 0.01, 0.001] {
        let recoveries = loss_at(scale);
        let loss: f64 = recoveries.claims().iter().map(|c| c.loss_usd).sum();
        assert!(
            loss >= previous_loss,
            "depth × {scale}: loss {loss} < {previous_loss}"
        );
        previous_loss = loss;
    }
    assert!(previous_loss > 0.0, "a thin enough market loses money");
}
