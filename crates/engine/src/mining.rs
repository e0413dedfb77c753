//! Unit economics of a mining fleet at a given hashprice and power price.
//!
//! For a group of machines with effective hashrate `H` (PH/s, nameplate × uptime) drawing
//! `E` MWh a day at the meter (nameplate power × uptime × PUE × 24 h):
//!
//! * revenue (BTC/day) = hashvalue × H × (1 − pool fee); in USD at the BTC price;
//! * power cost (USD/day) = E × power price;
//! * hashcost (USD per PH/s per day) = power cost / H = 0.024 · J/TH · PUE · USD/MWh;
//! * breakeven power price (USD/MWh) = net revenue / E: the price at which margin is zero;
//! * shutdown hashprice (USD per PH/s per day) = hashcost / (1 − pool fee): below it a
//!   machine earns less than its power and an operator curtails it;
//! * energy cost per BTC = power cost / BTC mined;
//! * margin after the halving: revenue scaled by the reward after / before the next halving
//!   (same difficulty, price and fees), less the same power cost;
//! * payback (days): machine price repaid by the daily margin until the next halving and by
//!   the margin after it from then on; none if it is never repaid. Difficulty, price, fees and
//!   power price stay at today's values: a simple payback, not a forecast.
//!
//! The fleet line applies the same formulas to the fleet's totals with every machine running.
//! A machine runs only while it earns more than its power (DESIGN §7), so where some group
//! loses money a second line, the fleet *with curtailment*, counts only the groups that earn
//! their power (before and after the halving), while still carrying every machine's price.

use bitwatt_model::{Fleet, MachineGroup};
use serde::Serialize;

/// Hours per day.
const HOURS_PER_DAY: f64 = 24.0;

/// The market a fleet is valued at.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct MiningMarket {
    /// Gross hashprice before the pool fee (USD per PH/s per day).
    pub hashprice_usd_per_ph_day: f64,
    /// BTC price (USD).
    pub btc_price_usd: f64,
    /// Power price (USD/MWh).
    pub power_price_usd_per_mwh: f64,
    /// The next halving, if payback should see it.
    pub halving: Option<HalvingStep>,
}

/// The next halving as the mining revenue sees it.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct HalvingStep {
    /// Days from now to the halving.
    pub days_until: f64,
    /// Block reward after the halving over the reward now, subsidy plus the same fees (< 1).
    pub revenue_factor: f64,
}

impl MiningMarket {
    /// Gross hashvalue (BTC per PH/s per day): hashprice over price.
    pub fn hashvalue_btc_per_ph_day(&self) -> f64 {
        self.hashprice_usd_per_ph_day / self.btc_price_usd
    }
}

/// Unit economics of one machine group or of the whole fleet.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnitEconomics {
    /// Model name, or the fleet's name for the total.
    pub name: String,
    /// Number of machines.
    pub machines: u64,
    /// Effective hashrate, nameplate × uptime (PH/s).
    pub hashrate_phs: f64,
    /// Energy per unit of work at the machine, before PUE (J/TH).
    pub efficiency_j_per_th: f64,
    /// Facility load while all machines run, including PUE (MW).
    pub load_mw: f64,
    /// Energy drawn per day, including uptime and PUE (MWh).
    pub energy_mwh_per_day: f64,
    /// BTC earned per day after the pool fee.
    pub revenue_btc_per_day: f64,
    /// USD earned per day after the pool fee.
    pub revenue_usd_per_day: f64,
    /// Power bill per day (USD).
    pub power_cost_usd_per_day: f64,
    /// Revenue less power (USD per day).
    pub margin_usd_per_day: f64,
    /// Margin over revenue (%); `None` when revenue is zero.
    pub margin_percent: Option<f64>,
    /// Power cost per PH/s per day (USD).
    pub hashcost_usd_per_ph_day: f64,
    /// Power price at which the margin is zero (USD/MWh).
    pub breakeven_power_price_usd_per_mwh: f64,
    /// Gross hashprice below which power costs more than the machines earn.
    pub shutdown_hashprice_usd_per_ph_day: f64,
    /// Power cost per BTC mined (USD); `None` when nothing is mined.
    pub energy_cost_usd_per_btc: Option<f64>,
    /// Price of the machines (USD), where every price is known.
    pub machine_price_usd: Option<f64>,
    /// Whether any machine price is an assumption rather than a quote.
    pub machine_price_is_assumption: bool,
    /// Margin once the next halving has cut the reward (USD per day); `None` without one.
    pub margin_after_halving_usd_per_day: Option<f64>,
    /// Days until the margin, cut at the halving, repays the machine price; `None` if never.
    pub payback_days: Option<f64>,
}

impl UnitEconomics {
    /// Whether the machines earn more than their power and so keep running.
    pub fn earns_its_power(&self) -> bool {
        self.margin_usd_per_day > 0.0
    }
}

/// Days for a margin of `margin` a day, cut to `after.1` a day from day `after.0` on, to repay
/// `price`; `None` if it never does.
fn payback_days(price: f64, margin: f64, after: Option<(f64, f64)>) -> Option<f64> {
    let before_halving = (margin > 0.0).then(|| price / margin);
    match after {
        None => before_halving,
        Some((days_until, _)) if before_halving.is_some_and(|d| d <= days_until) => before_halving,
        Some((days_until, margin_after)) => {
            let repaid = margin.max(0.0) * days_until;
            (margin_after > 0.0).then(|| days_until + (price - repaid) / margin_after)
        }
    }
}

/// Physical totals a line of the table is computed from.
#[derive(Clone)]
struct Totals {
    machines: u64,
    hashrate_phs: f64,
    nameplate_ths: f64,
    nameplate_w: f64,
    load_mw: f64,
    energy_mwh_per_day: f64,
    machine_price_usd: Option<f64>,
    machine_price_is_assumption: bool,
}

impl Totals {
    fn of_group(group: &MachineGroup, pue: f64) -> Totals {
        let count = f64::from(group.count);
        let nameplate_ths = count * group.model.hashrate_ths;
        let nameplate_w = count * group.model.power_w;
        Totals {
            machines: u64::from(group.count),
            hashrate_phs: nameplate_ths * group.uptime_fraction / 1_000.0,
            nameplate_ths,
            nameplate_w,
            load_mw: nameplate_w * pue / 1e6,
            energy_mwh_per_day: nameplate_w * group.uptime_fraction * pue * HOURS_PER_DAY / 1e6,
            machine_price_usd: group.model.machine_price_usd().map(|p| p * count),
            machine_price_is_assumption: group.model.price_is_assumption,
        }
    }

    fn add(self, other: Totals) -> Totals {
        Totals {
            machines: self.machines + other.machines,
            hashrate_phs: self.hashrate_phs + other.hashrate_phs,
            nameplate_ths: self.nameplate_ths + other.nameplate_ths,
            nameplate_w: self.nameplate_w + other.nameplate_w,
            load_mw: self.load_mw + other.load_mw,
            energy_mwh_per_day: self.energy_mwh_per_day + other.energy_mwh_per_day,
            machine_price_usd: self
                .machine_price_usd
                .zip(other.machine_price_usd)
                .map(|(a, b)| a + b),
            machine_price_is_assumption: self.machine_price_is_assumption
                || other.machine_price_is_assumption,
        }
    }

    fn economics(
        &self,
        name: &str,
        pool_fee_fraction: f64,
        market: &MiningMarket,
    ) -> UnitEconomics {
        let net_share = 1.0 - pool_fee_fraction;
        let revenue_btc_per_day = market.hashvalue_btc_per_ph_day() * self.hashrate_phs * net_share;
        let revenue_usd_per_day = revenue_btc_per_day * market.btc_price_usd;
        let power_cost_usd_per_day = self.energy_mwh_per_day * market.power_price_usd_per_mwh;
        let margin_usd_per_day = revenue_usd_per_day - power_cost_usd_per_day;
        let hashcost_usd_per_ph_day = power_cost_usd_per_day / self.hashrate_phs;
        UnitEconomics {
            name: name.to_string(),
            machines: self.machines,
            hashrate_phs: self.hashrate_phs,
            efficiency_j_per_th: self.nameplate_w / self.nameplate_ths,
            load_mw: self.load_mw,
            energy_mwh_per_day: self.energy_mwh_per_day,
            revenue_btc_per_day,
            revenue_usd_per_day,
            power_cost_usd_per_day,
            margin_usd_per_day,
            margin_percent: (revenue_usd_per_day > 0.0)
                .then(|| 100.0 * margin_usd_per_day / revenue_usd_per_day),
            hashcost_usd_per_ph_day,
            breakeven_power_price_usd_per_mwh: revenue_usd_per_day / self.energy_mwh_per_day,
            shutdown_hashprice_usd_per_ph_day: hashcost_usd_per_ph_day / net_share,
            energy_cost_usd_per_btc: (revenue_btc_per_day > 0.0)
                .then(|| power_cost_usd_per_day / revenue_btc_per_day),
            machine_price_usd: self.machine_price_usd,
            machine_price_is_assumption: self.machine_price_is_assumption,
            margin_after_halving_usd_per_day: market
                .halving
                .map(|h| revenue_usd_per_day * h.revenue_factor - power_cost_usd_per_day),
            payback_days: None,
        }
        .with_payback(market)
    }
}

impl UnitEconomics {
    /// Sets the payback from the machine price and the margins before and after the halving.
    fn with_payback(mut self, market: &MiningMarket) -> UnitEconomics {
        let after = market
            .halving
            .zip(self.margin_after_halving_usd_per_day)
            .map(|(h, margin)| (h.days_until, margin));
        self.payback_days = self
            .machine_price_usd
            .and_then(|price| payback_days(price, self.margin_usd_per_day, after));
        self
    }
}

/// The economics of every machine group and of the fleet.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FleetEconomics {
    /// The market the fleet is valued at.
    pub market: MiningMarket,
    /// Pool fee (%).
    pub pool_fee_percent: f64,
    /// Power usage effectiveness.
    pub pue: f64,
    /// One line per machine group, in file order.
    pub groups: Vec<UnitEconomics>,
    /// The fleet's total with every machine running.
    pub fleet: UnitEconomics,
    /// The fleet with the groups that lose money switched off (now, and after the halving),
    /// carrying every machine's price; `None` when every group earns its power throughout.
    pub fleet_curtailed: Option<UnitEconomics>,
}

/// Values a fleet at a market. The fleet is validated (positive hashrate and power, pool fee
/// below 100 %), so every ratio is finite.
pub fn fleet_economics(fleet: &Fleet, market: &MiningMarket) -> FleetEconomics {
    let totals: Vec<Totals> = fleet
        .groups
        .iter()
        .map(|g| Totals::of_group(g, fleet.pue))
        .collect();
    let groups: Vec<UnitEconomics> = totals
        .iter()
        .zip(&fleet.groups)
        .map(|(t, group)| t.economics(&group.model.name, fleet.pool_fee_fraction, market))
        .collect();
    let all = totals
        .iter()
        .cloned()
        .reduce(Totals::add)
        .expect("a validated fleet has at least one group");
    let fleet_curtailed = curtailed_fleet(&fleet.name, &totals, &groups, &all, fleet, market);
    FleetEconomics {
        market: *market,
        pool_fee_percent: fleet.pool_fee_fraction * 100.0,
        pue: fleet.pue,
        fleet: all.economics(&fleet.name, fleet.pool_fee_fraction, market),
        fleet_curtailed,
        groups,
    }
}

/// The fleet line counting only the groups that earn their power, now and after the halving;
/// `None` when all of them do throughout (the line would repeat the fleet's) or none does now
/// (nothing runs).
fn curtailed_fleet(
    name: &str,
    totals: &[Totals],
    groups: &[UnitEconomics],
    all: &Totals,
    fleet: &Fleet,
    market: &MiningMarket,
) -> Option<UnitEconomics> {
    let running = groups.iter().filter(|g| g.earns_its_power()).count();
    let loses_after_halving =
        |g: &UnitEconomics| g.margin_after_halving_usd_per_day.is_some_and(|m| m <= 0.0);
    let all_earn_throughout = groups
        .iter()
        .all(|g| g.earns_its_power() && !loses_after_halving(g));
    if all_earn_throughout || running == 0 {
        return None;
    }
    let production = totals
        .iter()
        .zip(groups)
        .filter(|(_, g)| g.earns_its_power())
        .map(|(t, _)| t.clone())
        .reduce(Totals::add)?;
    let with_all_prices = Totals {
        machine_price_usd: all.machine_price_usd,
        machine_price_is_assumption: all.machine_price_is_assumption,
        ..production
    };
    let mut line = with_all_prices.economics(
        &format!("{name} (curtailed)"),
        fleet.pool_fee_fraction,
        market,
    );
    // After the halving each group again runs only if it still earns its power.
    line.margin_after_halving_usd_per_day = market.halving.map(|_| {
        groups
            .iter()
            .filter_map(|g| g.margin_after_halving_usd_per_day)
            .map(|m| m.max(0.0))
            .sum()
    });
    Some(line.with_payback(market))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitwatt_model::sample_fleet;

    fn one_group(model: &str, count: u32, pue: f64, fee_percent: f64, uptime: f64) -> Fleet {
        Fleet::from_toml(&format!(
            "schema_version = 1\nname = \"t\"\npower_price_usd_per_mwh = 50\npue = {pue}\n\
             pool_fee_percent = {fee_percent}\nuptime_percent = {uptime}\n\
             [[machines]]\nmodel = \"{model}\"\ncount = {count}\n"
        ))
        .unwrap()
    }

    const MARKET: MiningMarket = MiningMarket {
        hashprice_usd_per_ph_day: 40.0,
        btc_price_usd: 80_000.0,
        power_price_usd_per_mwh: 50.0,
        halving: None,
    };

    #[test]
    fn single_s21_xp_by_hand() {
        // 1 000 × 270 TH/s at 100 % uptime, PUE 1, no fee: 270 PH/s, 3.645 MW.
        let e = fleet_economics(
            &one_group("Antminer S21 XP", 1000, 1.0, 0.0, 100.0),
            &MARKET,
        );
        let g = &e.groups[0];
        assert!((g.hashrate_phs - 270.0).abs() < 1e-9);
        assert!((g.energy_mwh_per_day - 3.645 * 24.0).abs() < 1e-9);
        assert!((g.revenue_usd_per_day - 40.0 * 270.0).abs() < 1e-9);
        assert!((g.revenue_btc_per_day - 40.0 * 270.0 / 80_000.0).abs() < 1e-12);
        assert!((g.power_cost_usd_per_day - 3.645 * 24.0 * 50.0).abs() < 1e-9);
        // Hashcost = 0.024 · J/TH · USD/MWh = 0.024 · 13.5 · 50 = 16.2.
        assert!((g.hashcost_usd_per_ph_day - 16.2).abs() < 1e-9);
        // Breakeven power price = hashprice / (0.024 · J/TH) = 40 / 0.324.
        assert!((g.breakeven_power_price_usd_per_mwh - 40.0 / 0.324).abs() < 1e-9);
        assert!((g.shutdown_hashprice_usd_per_ph_day - 16.2).abs() < 1e-9);
        // $25.70/TH × 270 TH × 1 000 machines over the daily margin.
        let margin = 40.0 * 270.0 - 3.645 * 24.0 * 50.0;
        assert!((g.payback_days.unwrap() - 25.70 * 270.0 * 1000.0 / margin).abs() < 1e-6);
        assert_eq!(e.fleet.hashrate_phs, g.hashrate_phs);
    }

    #[test]
    fn fee_pue_and_uptime_scale_as_expected() {
        let e = fleet_economics(&one_group("Antminer S21", 100, 1.1, 2.0, 95.0), &MARKET);
        let g = &e.groups[0];
        assert!((g.hashrate_phs - 100.0 * 200.0 * 0.95 / 1000.0).abs() < 1e-9);
        assert!((g.revenue_usd_per_day - 40.0 * g.hashrate_phs * 0.98).abs() < 1e-9);
        // Uptime cancels in hashcost; PUE does not.
        assert!((g.hashcost_usd_per_ph_day - 0.024 * 17.5 * 1.1 * 50.0).abs() < 1e-9);
        assert!(
            (g.shutdown_hashprice_usd_per_ph_day - g.hashcost_usd_per_ph_day / 0.98).abs() < 1e-9
        );
        // At the breakeven power price the margin is zero.
        let at_breakeven = MiningMarket {
            power_price_usd_per_mwh: g.breakeven_power_price_usd_per_mwh,
            ..MARKET
        };
        let zero = fleet_economics(
            &one_group("Antminer S21", 100, 1.1, 2.0, 95.0),
            &at_breakeven,
        );
        assert!(zero.fleet.margin_usd_per_day.abs() < 1e-6);
        // At the shutdown hashprice the margin is zero too.
        let at_shutdown = MiningMarket {
            hashprice_usd_per_ph_day: g.shutdown_hashprice_usd_per_ph_day,
            ..MARKET
        };
        let zero = fleet_economics(
            &one_group("Antminer S21", 100, 1.1, 2.0, 95.0),
            &at_shutdown,
        );
        assert!(zero.fleet.margin_usd_per_day.abs() < 1e-6);
        // Below it the margin is negative and the machines never pay back.
        let below = MiningMarket {
            hashprice_usd_per_ph_day: 0.9 * g.shutdown_hashprice_usd_per_ph_day,
            ..MARKET
        };
        let loss = fleet_economics(&one_group("Antminer S21", 100, 1.1, 2.0, 95.0), &below);
        assert!(loss.fleet.margin_usd_per_day < 0.0);
        assert_eq!(loss.fleet.payback_days, None);
    }

    #[test]
    fn fleet_total_is_the_sum_of_its_groups() {
        let e = fleet_economics(&sample_fleet(), &MARKET);
        let sum = |f: fn(&UnitEconomics) -> f64| e.groups.iter().map(f).sum::<f64>();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
        assert!(close(e.fleet.hashrate_phs, sum(|g| g.hashrate_phs)));
        assert!(close(
            e.fleet.revenue_usd_per_day,
            sum(|g| g.revenue_usd_per_day)
        ));
        assert!(close(
            e.fleet.power_cost_usd_per_day,
            sum(|g| g.power_cost_usd_per_day)
        ));
        assert!(close(
            e.fleet.margin_usd_per_day,
            sum(|g| g.margin_usd_per_day)
        ));
        assert!(close(
            e.fleet.machine_price_usd.unwrap(),
            sum(|g| g.machine_price_usd.unwrap())
        ));
        assert_eq!(
            e.fleet.machines,
            e.groups.iter().map(|g| g.machines).sum::<u64>()
        );
        // The fleet's hashcost is the hashrate-weighted mean of its groups'.
        let weighted = sum(|g| g.hashcost_usd_per_ph_day * g.hashrate_phs) / e.fleet.hashrate_phs;
        assert!(close(e.fleet.hashcost_usd_per_ph_day, weighted));
    }

    #[test]
    fn payback_sees_the_halving() {
        // S21 XP ×1000 at 100 % uptime, PUE 1, no fee: margin 40·270 − 3.645·24·50 = 6 426 a
        // day; after a halving that halves revenue, 20·270 − 4 374 = 1 026 a day.
        let fleet = one_group("Antminer S21 XP", 1000, 1.0, 0.0, 100.0);
        let price = 25.70 * 270.0 * 1000.0;
        let halving = |days_until: f64| MiningMarket {
            halving: Some(HalvingStep {
                days_until,
                revenue_factor: 0.5,
            }),
            ..MARKET
        };
        // Repaid before the halving: the halving changes nothing.
        let early = fleet_economics(&fleet, &halving(2_000.0)).groups[0].clone();
        assert!((early.payback_days.unwrap() - price / 6_426.0).abs() < 1e-9);
        assert!((early.margin_after_halving_usd_per_day.unwrap() - 1_026.0).abs() < 1e-9);
        // Halving after 500 days: 500 · 6 426 repaid, the rest at 1 026 a day.
        let late = fleet_economics(&fleet, &halving(500.0)).groups[0].clone();
        let expected = 500.0 + (price - 500.0 * 6_426.0) / 1_026.0;
        assert!((late.payback_days.unwrap() - expected).abs() < 1e-9);
        // A halving that leaves no margin: never repaid.
        let deep = MiningMarket {
            halving: Some(HalvingStep {
                days_until: 500.0,
                revenue_factor: 0.3,
            }),
            ..MARKET
        };
        assert_eq!(fleet_economics(&fleet, &deep).groups[0].payback_days, None);
    }

    #[test]
    fn loss_making_groups_are_switched_off_in_the_curtailed_line() {
        let fleet = Fleet::from_toml(
            "schema_version = 1\nname = \"t\"\npower_price_usd_per_mwh = 50\npue = 1\n\
             pool_fee_percent = 0\nuptime_percent = 100\n\
             [[machines]]\nmodel = \"Antminer S19j Pro\"\ncount = 100\n\
             [[machines]]\nmodel = \"Antminer S21 XP\"\ncount = 100\n",
        )
        .unwrap();
        // Hashcost of the S19j Pro at $50/MWh: 0.024 · 29.5 · 50 = 35.4 > 30: it loses money.
        let market = MiningMarket {
            hashprice_usd_per_ph_day: 30.0,
            ..MARKET
        };
        let e = fleet_economics(&fleet, &market);
        assert!(!e.groups[0].earns_its_power() && e.groups[1].earns_its_power());
        let curtailed = e.fleet_curtailed.unwrap();
        assert!((curtailed.margin_usd_per_day - e.groups[1].margin_usd_per_day).abs() < 1e-9);
        assert!(curtailed.margin_usd_per_day > e.fleet.margin_usd_per_day);
        assert_eq!(curtailed.machine_price_usd, e.fleet.machine_price_usd);
        assert_eq!(curtailed.hashrate_phs, e.groups[1].hashrate_phs);
        // When every group earns its power there is no second line.
        assert!(fleet_economics(&fleet, &MARKET).fleet_curtailed.is_none());
        // A group that loses money only after the halving is switched off from then on.
        let with_halving = MiningMarket {
            halving: Some(HalvingStep {
                days_until: 100.0,
                revenue_factor: 0.5,
            }),
            ..MARKET
        };
        let e = fleet_economics(&fleet, &with_halving);
        assert!(e.groups.iter().all(UnitEconomics::earns_its_power));
        let s19_after = e.groups[0].margin_after_halving_usd_per_day.unwrap();
        let s21_after = e.groups[1].margin_after_halving_usd_per_day.unwrap();
        assert!(s19_after < 0.0 && s21_after > 0.0);
        let curtailed = e.fleet_curtailed.unwrap();
        assert_eq!(curtailed.margin_usd_per_day, e.fleet.margin_usd_per_day);
        assert!((curtailed.margin_after_halving_usd_per_day.unwrap() - s21_after).abs() < 1e-9);
    }
}
