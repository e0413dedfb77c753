//! `run_path`: a borrower's months on one market path — operations, tax, the cash waterfall
//! of every legal entity, debt service, reserves, covenants and default.
//!
//! Order of the waterfall each month, per entity (project companies first, then the parent):
//! operating receipts and payments, tax (parent, on consolidated income: US project LLCs are
//! disregarded for tax), sustaining capex, growth capex (funded by debt draws, then by cash
//! beyond this month's debt service and the minimum cash, then by sponsor equity), interest
//! and scheduled principal (a project company may draw its DSRA; the parent may sell treasury
//! BTC; what cannot be paid is a payment default), DSRA top-up or release, covenant tests at
//! quarter ends (equity cure from the parent where allowed), distributions (a project company
//! pays its free cash to the parent unless locked up; the parent pays shareholders by its
//! policy). The month's lines are consolidated; intercompany flows cancel.

use bitwatt_model::{DAYS_PER_MONTH, HOURS_PER_MONTH, MAX_DEBT_INSTRUMENTS, Renewal};
use serde::Serialize;

use crate::borrower::{AssetRef, Borrower};
use crate::market::MarketPath;

/// A payment short by less than this is paid (rounding in the sums above it).
const PAYMENT_TOLERANCE_USD: f64 = 0.01;
/// Failure rate of run-down machines past their life (share of machines a month).
const RUN_DOWN_FAILURE_PER_MONTH: f64 = 0.02;
/// Discount rate for the remaining-life value of ASICs (fraction a year): high, because
/// hashprice falls as the network grows.
const ASIC_DISCOUNT_RATE: f64 = 0.30;
/// Discount rate for GPU rents over their remaining life (fraction a year, before deflation).
const GPU_DISCOUNT_RATE: f64 = 0.15;
/// Spread over SOFR at which contracted lease rents are discounted (fraction a year).
const LEASE_DISCOUNT_SPREAD: f64 = 0.03;
/// Months of value an ASIC keeps at least, even past its nominal life.
const ASIC_MIN_REMAINING_MONTHS: i32 = 12;

/// One month of the consolidated borrower (USD unless named otherwise).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct MonthRow {
    /// Month index from the start.
    pub month_index: usize,
    /// BTC price (USD).
    pub btc_price_usd: f64,
    /// Realised hashprice (USD per PH/s per day).
    pub hashprice_usd_per_ph_day: f64,
    /// Network hashrate (EH/s).
    pub network_hashrate_ehs: f64,
    /// Difficulty (blocks-weighted mean in the month).
    pub difficulty: f64,
    /// Network blocks in the month.
    pub network_blocks: f64,
    /// Spot power price (USD/MWh).
    pub spot_power_usd_per_mwh: f64,
    /// Borrower hashrate running, after curtailment and outages (PH/s).
    pub hashrate_phs: f64,
    /// BTC mined, net of pool fees.
    pub btc_mined: f64,
    /// Value of BTC mined at the month's price.
    pub mining_revenue_usd: f64,
    /// Power sold back from curtailed machines.
    pub power_credit_usd: f64,
    /// Colocation rent.
    pub lease_revenue_usd: f64,
    /// GPU rent (contracted and merchant).
    pub gpu_revenue_usd: f64,
    /// Power drawn (MWh).
    pub power_mwh: f64,
    /// Power bought.
    pub power_cost_usd: f64,
    /// Operating costs: leases, GPUs, sites and overhead.
    pub opex_usd: f64,
    /// EBITDA (mining revenue at market value).
    pub ebitda_usd: f64,
    /// Tax paid.
    pub tax_usd: f64,
    /// Sustaining capex: fleet renewal and maintenance (reduces CFADS).
    pub sustaining_capex_usd: f64,
    /// Growth capex: conversions and GPU purchases (funded by draws and equity).
    pub growth_capex_usd: f64,
    /// CFADS = EBITDA − tax − sustaining capex.
    pub cfads_usd: f64,
    /// Mined BTC sold.
    pub btc_sales_usd: f64,
    /// Treasury BTC sold to meet payments.
    pub treasury_sales_usd: f64,
    /// Debt drawn.
    pub debt_draws_usd: f64,
    /// Sponsor equity raised.
    pub equity_raised_usd: f64,
    /// Cash released from debt service reserves.
    pub dsra_release_usd: f64,
    /// Cash taken from the opening balance.
    pub cash_drawdown_usd: f64,
    /// Interest paid in cash.
    pub interest_paid_usd: f64,
    /// Interest capitalised during construction (no cash).
    pub interest_capitalised_usd: f64,
    /// Principal paid.
    pub principal_paid_usd: f64,
    /// Upfront fees paid.
    pub fees_usd: f64,
    /// Cash put into debt service reserves.
    pub dsra_funding_usd: f64,
    /// Distributions to shareholders.
    pub distributions_usd: f64,
    /// Cash added to the balance.
    pub cash_build_usd: f64,
    /// Scheduled debt service: interest due in cash plus scheduled principal.
    pub debt_service_usd: f64,
    /// Cash at the end of the month, all entities.
    pub cash_usd: f64,
    /// Reserves at the end of the month.
    pub dsra_usd: f64,
    /// BTC held at the end of the month.
    pub btc_held: f64,
    /// Debt outstanding at the end of the month.
    pub debt_usd: f64,
    /// Market value of the collateral securing the secured debt.
    pub collateral_value_usd: f64,
    /// CFADS over scheduled debt service this month; `None` (n/a) with no debt service.
    pub dscr: Option<f64>,
    /// Secured debt over collateral value; `None` without secured debt.
    pub ltv: Option<f64>,
    /// Net debt over trailing-twelve-month EBITDA; `None` when that EBITDA is not positive.
    pub net_leverage: Option<f64>,
}

impl MonthRow {
    /// Every cash source of the month.
    pub fn sources_usd(&self) -> f64 {
        self.btc_sales_usd
            + self.treasury_sales_usd
            + self.power_credit_usd
            + self.lease_revenue_usd
            + self.gpu_revenue_usd
            + self.debt_draws_usd
            + self.equity_raised_usd
            + self.dsra_release_usd
            + self.cash_drawdown_usd
    }

    /// Every cash use of the month.
    pub fn uses_usd(&self) -> f64 {
        self.power_cost_usd
            + self.opex_usd
            + self.tax_usd
            + self.sustaining_capex_usd
            + self.growth_capex_usd
            + self.interest_paid_usd
            + self.principal_paid_usd
            + self.fees_usd
            + self.dsra_funding_usd
            + self.distributions_usd
            + self.cash_build_usd
    }
}

/// One instrument in one month (USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DebtMonth {
    /// Balance at the start of the month.
    pub opening_balance_usd: f64,
    /// Drawn.
    pub draw_usd: f64,
    /// Interest paid in cash.
    pub interest_paid_usd: f64,
    /// Interest capitalised.
    pub interest_capitalised_usd: f64,
    /// Scheduled principal.
    pub principal_due_usd: f64,
    /// Principal paid.
    pub principal_paid_usd: f64,
    /// Scheduled debt service (cash interest plus scheduled principal).
    pub debt_service_usd: f64,
    /// Balance at the end.
    pub closing_balance_usd: f64,
    /// Reserve balance at the end.
    pub dsra_usd: f64,
    /// Covenant DSCR where tested this month.
    pub tested_dscr: Option<f64>,
    /// Loan-to-value at the end of the month, where the debt has collateral.
    pub ltv: Option<f64>,
}

/// Why a borrower or instrument defaulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DefaultCause {
    /// Debt service or bills could not be paid after cash, reserves and treasury BTC.
    Payment,
    /// The DSCR covenant broke and was not cured.
    DscrCovenant,
    /// The LTV covenant broke and was not cured.
    LtvCovenant,
    /// The balance at maturity could not be repaid.
    Maturity,
    /// Another instrument of the same entity defaulted.
    CrossDefault,
}

/// A default: when, where and why.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DefaultEvent {
    /// Month index.
    pub month_index: usize,
    /// Entity (0 = the borrower itself, k = the k-th project company).
    pub entity: usize,
    /// The cause.
    pub cause: DefaultCause,
}

/// What one instrument did on the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DebtOutcome {
    /// The default, if it defaulted.
    pub default: Option<DefaultEvent>,
    /// Exposure at default: principal plus the month's unpaid interest (USD).
    pub exposure_at_default_usd: f64,
    /// Collateral value at default (USD).
    pub collateral_at_default_usd: f64,
    /// Balance at the end of the path (USD).
    pub final_balance_usd: f64,
    /// Interest paid over the path (USD).
    pub interest_paid_usd: f64,
    /// Principal repaid over the path (USD).
    pub principal_paid_usd: f64,
    /// Largest drawn balance (USD).
    pub peak_balance_usd: f64,
    /// Lowest tested DSCR.
    pub min_tested_dscr: Option<f64>,
    /// Covenant tests failed (before cures).
    pub covenant_breaches: u32,
    /// Equity cures used.
    pub cures_used: u32,
}

/// Market value of the collateral by class at a month (USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct CollateralValues {
    /// Mining machines.
    pub asics_usd: f64,
    /// GPUs.
    pub gpus_usd: f64,
    /// Sites with contracted leases (PV of the rent).
    pub leased_sites_usd: f64,
    /// Bare powered sites.
    pub powered_sites_usd: f64,
    /// Treasury BTC.
    pub btc_usd: f64,
}

impl CollateralValues {
    /// Sum over classes.
    pub fn total_usd(&self) -> f64 {
        self.asics_usd
            + self.gpus_usd
            + self.leased_sites_usd
            + self.powered_sites_usd
            + self.btc_usd
    }
}

/// Everything a path leaves behind for aggregation and recovery; the monthly detail stays
/// in the [`PathBuffers`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PathSummary {
    /// Months run (the horizon, or up to and including the default month).
    pub months_run: usize,
    /// The borrower's default, if any.
    pub default: Option<DefaultEvent>,
    /// Lowest covenant DSCR tested and its month index.
    pub min_dscr: Option<(f64, usize)>,
    /// Highest LTV and its month index.
    pub max_ltv: Option<(f64, usize)>,
    /// Covenant tests failed (before cures), all instruments.
    pub covenant_breaches: u32,
    /// Equity cures used.
    pub cures_used: u32,
    /// Months a lock-up trapped cash.
    pub lock_up_months: u32,
    /// Collateral to be sold at the default (or held at the end).
    pub collateral: CollateralValues,
    /// Cash at the end (USD).
    pub final_cash_usd: f64,
    /// Number of instruments in `debts`.
    pub debt_count: usize,
    /// Per instrument, in the scenario's order.
    pub debts: [DebtOutcome; MAX_DEBT_INSTRUMENTS],
}

impl PathSummary {
    /// The outcomes of the borrower's instruments.
    pub fn debt_outcomes(&self) -> &[DebtOutcome] {
        &self.debts[..self.debt_count]
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct FleetState {
    count: f64,
    hashrate_ths_per_machine: f64,
    age_months: u32,
}

#[derive(Clone, Copy, Debug, Default)]
struct DebtState {
    balance: f64,
    amortisation_base: f64,
    dsra: f64,
    cures_left: u32,
    defaulted: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct EntityMonth {
    receipts: f64,
    payments: f64,
    ebitda: f64,
    sustaining_capex: f64,
    growth_capex: f64,
    draws: f64,
    fees: f64,
    interest_due: f64,
    principal_due: f64,
}

#[derive(Clone, Copy, Debug, Default)]
struct EntityState {
    cash: f64,
    locked_up: bool,
    defaulted: bool,
}

/// Reusable memory for [`run_path`]: allocate once per borrower, reuse for every path.
#[derive(Clone, Debug, Default)]
pub struct PathBuffers {
    /// Consolidated monthly rows of the last path.
    pub rows: Vec<MonthRow>,
    /// Per instrument per month of the last path, `[month · instruments + instrument]`.
    pub debt_rows: Vec<DebtMonth>,
    fleets: Vec<FleetState>,
    debts: Vec<DebtState>,
    entities: Vec<EntityState>,
    entity_month: Vec<EntityMonth>,
    /// CFADS by entity and month, `[month · entities + entity]`.
    entity_cfads: Vec<f64>,
    /// Scheduled debt service by entity and month.
    entity_service: Vec<f64>,
    site_demand_mw: Vec<f64>,
    capex_history: Vec<f64>,
    equity_flows: Vec<f64>,
    /// Market value of each collateral asset this month, by `Borrower::collateral_assets`.
    asset_values: Vec<f64>,
}

impl PathBuffers {
    /// Annualised equity IRR of the last path: opening net asset value in, distributions less
    /// equity raised each month, closing net asset value out (none after a default); `None`
    /// where undefined (no sign change).
    pub fn equity_irr(&self) -> Option<f64> {
        annual_irr(&self.equity_flows)
    }
}

impl PathBuffers {
    /// Buffers sized for `borrower`.
    pub fn new(borrower: &Borrower) -> PathBuffers {
        let months = borrower.horizon_months;
        let debts = borrower.debts.len();
        let entities = borrower.entities;
        PathBuffers {
            rows: Vec::with_capacity(months),
            debt_rows: Vec::with_capacity(months * debts),
            fleets: Vec::with_capacity(borrower.fleets.len()),
            debts: Vec::with_capacity(debts),
            entities: Vec::with_capacity(entities),
            entity_month: Vec::with_capacity(entities),
            entity_cfads: Vec::with_capacity(months * entities),
            entity_service: Vec::with_capacity(months * entities),
            site_demand_mw: Vec::with_capacity(borrower.sites.len()),
            capex_history: Vec::with_capacity(months),
            equity_flows: Vec::with_capacity(months + 1),
            asset_values: Vec::with_capacity(borrower.collateral_assets.len()),
        }
    }
}

/// Runs `borrower` on `market` until the horizon or the borrower's default.
pub fn run_path(
    borrower: &Borrower,
    market: &MarketPath,
    buffers: &mut PathBuffers,
) -> PathSummary {
    let months = borrower.horizon_months.min(market.months());
    let debt_count = borrower.debts.len();
    let entity_count = borrower.entities;
    let b = buffers;
    b.rows.clear();
    b.debt_rows.clear();
    b.entity_cfads.clear();
    b.entity_service.clear();
    b.capex_history.clear();
    b.equity_flows.clear();
    b.fleets.clear();
    b.fleets.extend(borrower.fleets.iter().map(|f| FleetState {
        count: f.count,
        hashrate_ths_per_machine: f.hashrate_ths_per_machine,
        age_months: f.age_months,
    }));
    b.debts.clear();
    b.debts.extend(borrower.debts.iter().map(|d| DebtState {
        balance: d.opening_balance_usd,
        amortisation_base: d.opening_balance_usd,
        dsra: 0.0,
        cures_left: d.equity_cures,
        defaulted: false,
    }));
    b.entities.clear();
    b.entities.resize(entity_count, EntityState::default());
    b.entities[0].cash = borrower.opening_cash_usd;
    b.site_demand_mw.clear();
    b.site_demand_mw.resize(borrower.sites.len(), 0.0);

    let mut summary = PathSummary {
        months_run: 0,
        default: None,
        min_dscr: None,
        max_ltv: None,
        covenant_breaches: 0,
        cures_used: 0,
        lock_up_months: 0,
        collateral: CollateralValues::default(),
        final_cash_usd: 0.0,
        debt_count,
        debts: [DebtOutcome::default(); MAX_DEBT_INSTRUMENTS],
    };
    let mut btc_held = borrower.opening_btc;
    let mut tax_losses = 0.0_f64;
    let mut depreciation_window = 0.0;
    let opening_nav = if months > 0 {
        net_asset_value(borrower, market, 0, b, btc_held)
    } else {
        0.0
    };
    b.equity_flows.push(-opening_nav);

    for t in 0..months {
        let price = market.btc_price_usd[t];
        let spot = market.power_price_usd_per_mwh[t];
        let sofr = market.sofr[t];
        let network_hs = market.network_hashrate_hs[t];
        let reward_btc = market.network_reward_btc(t);
        let mut row = MonthRow {
            month_index: t,
            btc_price_usd: price,
            hashprice_usd_per_ph_day: market.hashprice_usd_per_ph_day(t),
            network_hashrate_ehs: network_hs / 1e18,
            difficulty: market.difficulty[t],
            network_blocks: market.blocks[t],
            spot_power_usd_per_mwh: spot,
            ..MonthRow::default()
        };
        b.entity_month.clear();
        b.entity_month.resize(entity_count, EntityMonth::default());
        let cash_start: f64 = b.entities.iter().map(|e| e.cash).sum();
        b.entity_cfads.resize((t + 1) * entity_count, 0.0);
        b.entity_service.resize((t + 1) * entity_count, 0.0);

        // Mining: fleets share their site's power budget after conversions.
        for demand in &mut b.site_demand_mw {
            *demand = 0.0;
        }
        for (plan, state) in borrower.fleets.iter().zip(&b.fleets) {
            b.site_demand_mw[plan.site] +=
                state.count * plan.power_w_per_machine * borrower.sites[plan.site].pue / 1e6;
        }
        let mut btc_mined = 0.0;
        for (plan, state) in borrower.fleets.iter().zip(b.fleets.iter_mut()) {
            let site = &borrower.sites[plan.site];
            let demand = b.site_demand_mw[plan.site];
            let budget_share = if demand > 0.0 {
                (site.mining_budget_mw[t] / demand).min(1.0)
            } else {
                0.0
            };
            let running = state.count * budget_share * plan.uptime * site.availability;
            let hashrate_ths = running * state.hashrate_ths_per_machine;
            let btc = hashrate_ths * 1e12 / network_hs * reward_btc * (1.0 - plan.pool_fee);
            let mwh = running * plan.power_w_per_machine * site.pue * HOURS_PER_MONTH / 1e6;
            let (cash_price, ppa_price, ppa_share) = site.power_price_usd_per_mwh(t, spot);
            let run_margin = btc * price - mwh * cash_price;
            let (curtailed_credit, curtailed_cost) = if plan.power_credit_sales {
                (mwh * ppa_share * spot, mwh * ppa_share * ppa_price)
            } else {
                (0.0, 0.0)
            };
            let entity = &mut b.entity_month[0];
            if plan.economic_curtailment && run_margin < curtailed_credit - curtailed_cost {
                row.power_credit_usd += curtailed_credit;
                row.power_cost_usd += curtailed_cost;
                entity.receipts += curtailed_credit;
                entity.payments += curtailed_cost;
                entity.ebitda += curtailed_credit - curtailed_cost;
            } else {
                btc_mined += btc;
                row.hashrate_phs += hashrate_ths / 1_000.0;
                row.power_mwh += mwh;
                row.power_cost_usd += mwh * cash_price;
                entity.payments += mwh * cash_price;
                entity.ebitda += btc * price - mwh * cash_price;
            }
            // Ageing and renewal at the end of the month.
            state.age_months += 1;
            if state.age_months >= plan.life_months {
                match plan.renewal {
                    Renewal::ReplaceWithFrontier => {
                        let frontier = market.frontier_efficiency_j_per_th[t];
                        let new_ths = plan.power_w_per_machine / frontier;
                        // The price per TH falls with efficiency: the price per watt holds.
                        let price_per_th = plan.renewal_price_usd_per_th * frontier
                            / market.frontier_efficiency_j_per_th[0];
                        b.entity_month[0].sustaining_capex += state.count * new_ths * price_per_th;
                        state.hashrate_ths_per_machine = new_ths;
                        state.age_months = 0;
                    }
                    Renewal::RunDown => state.count *= 1.0 - RUN_DOWN_FAILURE_PER_MONTH,
                }
            }
        }
        let btc_sold = btc_mined * borrower.sell_mined_fraction;
        btc_held += btc_mined - btc_sold;
        row.btc_mined = btc_mined;
        row.mining_revenue_usd = btc_mined * price;
        row.btc_sales_usd = btc_sold * price;
        b.entity_month[0].receipts += btc_sold * price;

        // AI capacity.
        for lease in &borrower.leases {
            if b.entities[lease.entity].defaulted {
                continue;
            }
            let entity = &mut b.entity_month[lease.entity];
            entity.receipts += lease.rent_usd[t];
            entity.payments += lease.opex_usd[t];
            entity.ebitda += lease.rent_usd[t] - lease.opex_usd[t];
            row.lease_revenue_usd += lease.rent_usd[t];
            row.opex_usd += lease.opex_usd[t];
        }
        for cloud in &borrower.gpu_clouds {
            if b.entities[cloud.entity].defaulted {
                continue;
            }
            if let Some((capex_t, capex)) = cloud.capex
                && capex_t == t
            {
                b.entity_month[cloud.entity].growth_capex += capex;
            }
            let tt = t as i64;
            if tt < cloud.start_t || tt >= cloud.end_t {
                continue;
            }
            let revenue = gpu_revenue_usd(cloud, market, t);
            let site = &borrower.sites[cloud.site];
            let power = cloud.power_mw * HOURS_PER_MONTH * site.power_price_usd_per_mwh(t, spot).0;
            let opex = cloud.gpu_count * HOURS_PER_MONTH * cloud.opex_usd_per_gpu_hour;
            let entity = &mut b.entity_month[cloud.entity];
            entity.receipts += revenue;
            entity.payments += power + opex;
            entity.ebitda += revenue - power - opex;
            row.gpu_revenue_usd += revenue;
            row.power_cost_usd += power;
            row.power_mwh += cloud.power_mw * HOURS_PER_MONTH;
            row.opex_usd += opex;
        }
        for conversion in &borrower.conversions {
            if !b.entities[conversion.entity].defaulted {
                b.entity_month[conversion.entity].growth_capex += conversion.capex_usd[t];
            }
        }
        {
            let parent = &mut b.entity_month[0];
            parent.payments += borrower.overhead_usd[t];
            parent.ebitda -= borrower.overhead_usd[t];
            parent.sustaining_capex += borrower.maintenance_capex_usd[t];
            row.opex_usd += borrower.overhead_usd[t];
        }

        value_collateral(borrower, market, t, b, btc_held);
        let defaulted_before = b.entities.iter().filter(|e| e.defaulted).count();

        // Debt: interest, draws, schedules.
        let row_start = b.debt_rows.len();
        for (d, plan) in borrower.debts.iter().enumerate() {
            let state = &mut b.debts[d];
            let mut month = DebtMonth {
                opening_balance_usd: state.balance,
                ..DebtMonth::default()
            };
            if state.defaulted || b.entities[plan.entity].defaulted {
                month.closing_balance_usd = state.balance;
                b.debt_rows.push(month);
                continue;
            }
            let tt = t as i64;
            let interest = state.balance * plan.rate.annual(sofr) / 12.0;
            if tt < plan.capitalise_until_t {
                state.balance += interest;
                month.interest_capitalised_usd = interest;
            } else {
                month.interest_paid_usd = interest;
            }
            let draw = plan.draws_usd[t];
            state.balance += draw;
            month.draw_usd = draw;
            let entity = &mut b.entity_month[plan.entity];
            entity.draws += draw;
            entity.fees += draw * plan.upfront_fee_fraction;
            if tt == plan.amortisation_start_t.max(0) && plan.amortisation_start_t >= 0 {
                state.amortisation_base = state.balance;
            }
            let principal = if tt >= plan.maturity_t {
                state.balance
            } else {
                (plan.repayment_fraction[t] * state.amortisation_base).min(state.balance)
            };
            month.principal_due_usd = principal;
            month.debt_service_usd = month.interest_paid_usd + principal;
            entity.interest_due += month.interest_paid_usd;
            entity.principal_due += principal;
            b.debt_rows.push(month);
        }

        // Tax on consolidated income (parent).
        let ebitda: f64 = b.entity_month.iter().map(|e| e.ebitda).sum();
        let interest_due: f64 = b.entity_month.iter().map(|e| e.interest_due).sum();
        let capex: f64 = b
            .entity_month
            .iter()
            .map(|e| e.growth_capex + e.sustaining_capex)
            .sum();
        b.capex_history.push(capex);
        depreciation_window += capex / borrower.depreciation_months as f64;
        if t >= borrower.depreciation_months {
            depreciation_window -= b.capex_history[t - borrower.depreciation_months]
                / borrower.depreciation_months as f64;
        }
        let opening_depreciation = if t < borrower.depreciation_months {
            borrower.opening_depreciation_usd
        } else {
            0.0
        };
        let mut taxable = ebitda - interest_due - depreciation_window - opening_depreciation;
        if taxable > 0.0 {
            let used = tax_losses.min(taxable);
            tax_losses -= used;
            taxable -= used;
        } else {
            tax_losses -= taxable;
            taxable = 0.0;
        }
        let tax = borrower.tax_rate * taxable;
        b.entity_month[0].payments += tax;
        row.tax_usd = tax;

        // The waterfall, project companies first.
        let mut to_projects = 0.0;
        let mut from_projects = 0.0;
        let mut equity_raised = 0.0;
        let mut treasury_sold_usd = 0.0;
        let mut dsra_release = 0.0;
        let mut dsra_funding = 0.0;
        let mut interest_paid = 0.0;
        let mut principal_paid = 0.0;
        let mut distributions = 0.0;
        let mut default: Option<DefaultEvent> = None;
        for e in (0..entity_count).rev() {
            if b.entities[e].defaulted {
                continue;
            }
            let flows = b.entity_month[e];
            let parent = e == 0;
            let mut cash =
                b.entities[e].cash + flows.receipts - flows.payments - flows.sustaining_capex
                    + flows.draws
                    - flows.fees;
            if parent {
                cash += from_projects;
            }
            // Growth capex: draws, then cash beyond this month's service and minimum cash,
            // then sponsor equity (from the parent for a project company).
            // A reserve is filled at completion as a project cost, like growth capex.
            let mut initial_reserves = 0.0;
            for (d, plan) in borrower.debts.iter().enumerate() {
                if plan.entity == e
                    && plan.dsra_months > 0
                    && plan.amortisation_start_t >= 0
                    && t as i64 == plan.amortisation_start_t
                    && !b.debts[d].defaulted
                {
                    let fill = (reserve_target_usd(plan, &b.debts[d], market, t) - b.debts[d].dsra)
                        .max(0.0);
                    b.debts[d].dsra += fill;
                    initial_reserves += fill;
                }
            }
            dsra_funding += initial_reserves;
            let service_due = flows.interest_due + flows.principal_due;
            let keep = service_due
                + if parent {
                    borrower.minimum_cash_usd
                } else {
                    0.0
                };
            // The parent funds its project companies' equity like its own growth capex.
            let need =
                flows.growth_capex + initial_reserves + if parent { to_projects } else { 0.0 };
            let from_cash = need.min((cash - keep).max(0.0));
            let equity = need - from_cash;
            cash -= need;
            cash += equity;
            if parent {
                equity_raised += equity;
            } else {
                to_projects += equity;
            }

            // Debt service, with reserves (project) or treasury BTC (parent) behind it.
            let mut shortfall = (service_due - cash).max(0.0);
            if shortfall > 0.0 {
                for (d, plan) in borrower.debts.iter().enumerate() {
                    if plan.entity == e && shortfall > 0.0 {
                        let draw = b.debts[d].dsra.min(shortfall);
                        b.debts[d].dsra -= draw;
                        dsra_release += draw;
                        cash += draw;
                        shortfall -= draw;
                    }
                }
            }
            if parent && shortfall > 0.0 && btc_held > 0.0 {
                let btc = (shortfall / price).min(btc_held);
                btc_held -= btc;
                treasury_sold_usd += btc * price;
                cash += btc * price;
                shortfall = (service_due - cash).max(0.0);
            }
            let mut paid_all = true;
            // Pay in order of seniority, interest before principal.
            for pass in 0..2 {
                for seniority in [
                    bitwatt_model::Seniority::SeniorSecured,
                    bitwatt_model::Seniority::SeniorUnsecured,
                    bitwatt_model::Seniority::Subordinated,
                ] {
                    for (d, plan) in borrower.debts.iter().enumerate() {
                        if plan.entity != e || plan.seniority != seniority || b.debts[d].defaulted {
                            continue;
                        }
                        let month = &mut b.debt_rows[row_start + d];
                        let due = if pass == 0 {
                            month.interest_paid_usd
                        } else {
                            month.principal_due_usd
                        };
                        let paid = due.min(cash.max(0.0));
                        cash -= paid;
                        if paid < due - PAYMENT_TOLERANCE_USD {
                            paid_all = false;
                        }
                        if pass == 0 {
                            month.interest_paid_usd = paid;
                            interest_paid += paid;
                        } else {
                            month.principal_paid_usd = paid;
                            b.debts[d].balance -= paid;
                            principal_paid += paid;
                        }
                    }
                }
            }
            if !paid_all || cash < -PAYMENT_TOLERANCE_USD {
                let at_maturity = borrower.debts.iter().enumerate().any(|(d, p)| {
                    p.entity == e
                        && t as i64 >= p.maturity_t
                        && b.debt_rows[row_start + d].principal_due_usd > 0.0
                });
                let cause = if at_maturity {
                    DefaultCause::Maturity
                } else {
                    DefaultCause::Payment
                };
                b.entities[e].defaulted = true;
                b.entities[e].cash = cash;
                let event = DefaultEvent {
                    month_index: t,
                    entity: e,
                    cause,
                };
                default = default.or((e == 0).then_some(event));
                mark_entity_default(borrower, market, b, &mut summary, event, None, row_start);
                continue;
            }

            // Reserves: release above target, top up below it.
            for (d, plan) in borrower.debts.iter().enumerate() {
                if plan.entity != e || plan.dsra_months == 0 || b.debts[d].defaulted {
                    continue;
                }
                let target = reserve_target_usd(plan, &b.debts[d], market, t);
                let state = &mut b.debts[d];
                if state.dsra > target {
                    let release = state.dsra - target;
                    state.dsra = target;
                    cash += release;
                    dsra_release += release;
                } else {
                    let top_up = (target - state.dsra).min(cash.max(0.0));
                    state.dsra += top_up;
                    cash -= top_up;
                    dsra_funding += top_up;
                }
            }

            // Covenants at quarter ends.
            let cfads = flows.ebitda - flows.sustaining_capex - if parent { tax } else { 0.0 };
            b.entity_cfads[t * entity_count + e] = cfads;
            b.entity_service[t * entity_count + e] = service_due;
            let mut covenant_default = None;
            let mut locked = b.entities[e].locked_up;
            for (d, plan) in borrower.debts.iter().enumerate() {
                let tt = t as i64;
                if plan.entity != e
                    || b.debts[d].defaulted
                    || tt < plan.first_test_t
                    || (tt - plan.first_test_t) % 3 != 0
                {
                    continue;
                }
                let tested = plan.lock_up_dscr.is_some() || plan.default_dscr.is_some();
                if tested {
                    let window = plan
                        .dscr_window_months
                        .min((tt - plan.amortisation_start_t.max(0) + 1) as usize)
                        .max(1);
                    let (cfads_window, service_window) =
                        trailing_sums(b, entity_count, e, t, window);
                    if service_window > 0.0 {
                        let dscr = cfads_window / service_window;
                        b.debt_rows[row_start + d].tested_dscr = Some(dscr);
                        let outcome = &mut summary.debts[d];
                        outcome.min_tested_dscr =
                            Some(outcome.min_tested_dscr.map_or(dscr, |m: f64| m.min(dscr)));
                        if summary.min_dscr.is_none_or(|(m, _)| dscr < m) {
                            summary.min_dscr = Some((dscr, t));
                        }
                        if let Some(lock_up) = plan.lock_up_dscr {
                            locked = dscr < lock_up;
                        }
                        if let Some(minimum) = plan.default_dscr
                            && dscr < minimum
                        {
                            {
                                outcome.covenant_breaches += 1;
                                summary.covenant_breaches += 1;
                                let cure = minimum * service_window - cfads_window;
                                if b.debts[d].cures_left > 0 && b.entities[0].cash >= cure && e != 0
                                {
                                    b.debts[d].cures_left -= 1;
                                    outcome.cures_used += 1;
                                    summary.cures_used += 1;
                                    b.entities[0].cash -= cure;
                                    cash += cure;
                                } else if b.debts[d].cures_left > 0 && e == 0 {
                                    b.debts[d].cures_left -= 1;
                                    outcome.cures_used += 1;
                                    summary.cures_used += 1;
                                    equity_raised += cure;
                                    cash += cure;
                                } else {
                                    covenant_default = Some((DefaultCause::DscrCovenant, d));
                                }
                            }
                        }
                    }
                }
                if let Some(max_ltv) = plan.max_ltv {
                    let value = slots_value_usd(&b.asset_values, &plan.collateral_slots);
                    let balance = b.debts[d].balance;
                    if value > 0.0 && balance / value > max_ltv {
                        summary.debts[d].covenant_breaches += 1;
                        summary.covenant_breaches += 1;
                        covenant_default = Some((DefaultCause::LtvCovenant, d));
                    }
                }
            }
            if let Some((cause, trigger)) = covenant_default {
                b.entities[e].defaulted = true;
                b.entities[e].cash = cash;
                let event = DefaultEvent {
                    month_index: t,
                    entity: e,
                    cause,
                };
                default = default.or((e == 0).then_some(event));
                mark_entity_default(
                    borrower,
                    market,
                    b,
                    &mut summary,
                    event,
                    Some(trigger),
                    row_start,
                );
                continue;
            }
            b.entities[e].locked_up = locked;
            if locked {
                summary.lock_up_months += 1;
            }

            // Distributions.
            if parent {
                if borrower.distribution_fraction > 0.0 && !locked {
                    let paid = ((cash - borrower.minimum_cash_usd).max(0.0))
                        * borrower.distribution_fraction;
                    cash -= paid;
                    distributions += paid;
                }
            } else if !locked {
                from_projects += cash.max(0.0);
                cash -= cash.max(0.0);
            }
            b.entities[e].cash = cash;
        }

        // Consolidated lines.
        let debt_rows = &b.debt_rows[row_start..row_start + debt_count];
        row.debt_draws_usd = debt_rows.iter().map(|m| m.draw_usd).sum();
        row.interest_capitalised_usd = debt_rows.iter().map(|m| m.interest_capitalised_usd).sum();
        row.debt_service_usd = debt_rows.iter().map(|m| m.debt_service_usd).sum();
        row.interest_paid_usd = interest_paid;
        row.principal_paid_usd = principal_paid;
        row.fees_usd = b.entity_month.iter().map(|e| e.fees).sum();
        row.growth_capex_usd = b.entity_month.iter().map(|e| e.growth_capex).sum();
        row.sustaining_capex_usd = b.entity_month.iter().map(|e| e.sustaining_capex).sum();
        row.ebitda_usd = ebitda;
        row.cfads_usd = ebitda - tax - row.sustaining_capex_usd;
        row.equity_raised_usd = equity_raised;
        row.treasury_sales_usd = treasury_sold_usd;
        row.dsra_release_usd = dsra_release;
        row.dsra_funding_usd = dsra_funding;
        row.distributions_usd = distributions;
        row.btc_held = btc_held;
        row.cash_usd = b.entities.iter().map(|e| e.cash).sum();
        row.dsra_usd = b.debts.iter().map(|d| d.dsra).sum();
        let change = row.cash_usd - cash_start;
        row.cash_build_usd = change.max(0.0);
        row.cash_drawdown_usd = (-change).max(0.0);
        let mut secured_debt = 0.0;
        // Month-end values: a default this month takes its project's assets away; treasury
        // sales change the BTC held.
        if b.entities.iter().filter(|e| e.defaulted).count() != defaulted_before {
            value_collateral(borrower, market, t, b, btc_held);
        } else {
            for (slot, asset) in borrower.collateral_assets.iter().enumerate() {
                if *asset == AssetRef::Treasury {
                    b.asset_values[slot] = btc_held * price;
                }
            }
        }
        for (d, plan) in borrower.debts.iter().enumerate() {
            let balance = b.debts[d].balance;
            b.debt_rows[row_start + d].closing_balance_usd = balance;
            b.debt_rows[row_start + d].dsra_usd = b.debts[d].dsra;
            let outcome = &mut summary.debts[d];
            outcome.interest_paid_usd += b.debt_rows[row_start + d].interest_paid_usd;
            outcome.principal_paid_usd += b.debt_rows[row_start + d].principal_paid_usd;
            outcome.peak_balance_usd = outcome.peak_balance_usd.max(balance);
            outcome.final_balance_usd = balance;
            if !plan.collateral.is_empty() && balance > 0.0 {
                let value = slots_value_usd(&b.asset_values, &plan.collateral_slots);
                b.debt_rows[row_start + d].ltv = (value > 0.0).then(|| balance / value);
                if plan.seniority == bitwatt_model::Seniority::SeniorSecured
                    && !b.debts[d].defaulted
                {
                    secured_debt += balance;
                }
            }
        }
        row.debt_usd = b
            .debts
            .iter()
            .filter(|d| !d.defaulted)
            .map(|d| d.balance)
            .sum();
        row.collateral_value_usd = slots_value_usd(&b.asset_values, &borrower.secured_slots);
        row.ltv = (secured_debt > 0.0 && row.collateral_value_usd > 0.0)
            .then(|| secured_debt / row.collateral_value_usd);
        if let Some(ltv) = row.ltv
            && summary.max_ltv.is_none_or(|(m, _)| ltv > m)
        {
            summary.max_ltv = Some((ltv, t));
        }
        row.dscr = (row.debt_service_usd > 0.0).then(|| row.cfads_usd / row.debt_service_usd);
        let first = t.saturating_sub(11);
        let ltm_ebitda: f64 =
            b.rows[first..t].iter().map(|r| r.ebitda_usd).sum::<f64>() + row.ebitda_usd;
        let ltm_ebitda = ltm_ebitda * 12.0 / (t - first + 1) as f64;
        row.net_leverage =
            (ltm_ebitda > 0.0).then(|| (row.debt_usd - row.cash_usd - row.dsra_usd) / ltm_ebitda);
        b.equity_flows.push(distributions - equity_raised);
        b.rows.push(row);
        summary.months_run = t + 1;
        if let Some(event) = default {
            summary.default = Some(event);
            break;
        }
    }

    let last = summary.months_run.saturating_sub(1);
    summary.final_cash_usd = b
        .rows
        .last()
        .map_or(borrower.opening_cash_usd, |r| r.cash_usd);
    summary.collateral = if months > 0 {
        collateral_by_class(borrower, market, last, b, btc_held)
    } else {
        CollateralValues::default()
    };
    if summary.default.is_none() && months > 0 {
        let closing_nav = net_asset_value(borrower, market, last, b, btc_held);
        if let Some(flow) = b.equity_flows.last_mut() {
            *flow += closing_nav;
        }
    }
    summary
}

/// Base-case EBITDA of an entity's assets by month (no debt), for sculpting: the leases and
/// GPU clouds it owns (a project company holds no fleets and pays no tax).
pub(crate) fn project_ebitda_usd(
    borrower: &Borrower,
    market: &MarketPath,
    entity: usize,
) -> Vec<f64> {
    (0..borrower.horizon_months)
        .map(|t| {
            let leases: f64 = borrower
                .leases
                .iter()
                .filter(|l| l.entity == entity)
                .map(|l| l.rent_usd[t] - l.opex_usd[t])
                .sum();
            let clouds: f64 = borrower
                .gpu_clouds
                .iter()
                .filter(|c| c.entity == entity && (c.start_t..c.end_t).contains(&(t as i64)))
                .map(|c| {
                    let site = &borrower.sites[c.site];
                    let power = c.power_mw
                        * HOURS_PER_MONTH
                        * site
                            .power_price_usd_per_mwh(t, market.power_price_usd_per_mwh[t])
                            .0;
                    gpu_revenue_usd(c, market, t)
                        - power
                        - c.gpu_count * HOURS_PER_MONTH * c.opex_usd_per_gpu_hour
                })
                .sum();
            leases + clouds
        })
        .collect()
}

fn gpu_revenue_usd(cloud: &crate::borrower::GpuPlan, market: &MarketPath, t: usize) -> f64 {
    let hours = cloud.gpu_count * HOURS_PER_MONTH;
    let contracted = if (t as i64) < cloud.contract_end_t {
        cloud.contracted
    } else {
        0.0
    };
    let merchant_rent =
        market.generation_rent_usd_per_gpu_hour(cloud.generation, t) * market.ai_utilisation[t];
    hours * (contracted * cloud.contract_rate_usd_per_gpu_hour + (1.0 - contracted) * merchant_rent)
}

/// Reserve target: the next `dsra_months` of scheduled debt service at this month's rate.
fn reserve_target_usd(
    plan: &crate::borrower::DebtPlan,
    state: &DebtState,
    market: &MarketPath,
    t: usize,
) -> f64 {
    let monthly_rate = plan.rate.annual(market.sofr[t]) / 12.0;
    let mut balance = state.balance;
    let mut target = 0.0;
    for k in 1..=plan.dsra_months {
        let month = t + k;
        if balance <= 0.0 {
            break;
        }
        let principal = if month as i64 >= plan.maturity_t {
            balance
        } else if month < plan.repayment_fraction.len() {
            (plan.repayment_fraction[month] * state.amortisation_base).min(balance)
        } else {
            0.0
        };
        target += balance * monthly_rate + principal;
        balance -= principal;
    }
    target
}

/// CFADS and scheduled debt service of `entity` over the `window` months ending at `t`.
fn trailing_sums(
    b: &PathBuffers,
    entity_count: usize,
    entity: usize,
    t: usize,
    window: usize,
) -> (f64, f64) {
    let first = (t + 1).saturating_sub(window);
    (first..=t).fold((0.0, 0.0), |(cfads, service), month| {
        let index = month * entity_count + entity;
        (
            cfads + b.entity_cfads[index],
            service + b.entity_service[index],
        )
    })
}

/// Marks every instrument of the event's entity as defaulted: `trigger` with the event's
/// cause, the others by cross-default (all of them with the cause for a payment default).
#[allow(clippy::too_many_arguments)]
fn mark_entity_default(
    borrower: &Borrower,
    market: &MarketPath,
    b: &mut PathBuffers,
    summary: &mut PathSummary,
    event: DefaultEvent,
    trigger: Option<usize>,
    row_start: usize,
) {
    let t = event.month_index;
    for (d, plan) in borrower.debts.iter().enumerate() {
        if plan.entity != event.entity || b.debts[d].defaulted {
            continue;
        }
        let month = b.debt_rows[row_start + d];
        let unpaid_interest = (month.opening_balance_usd * plan.rate.annual(market.sofr[t]) / 12.0
            - month.interest_paid_usd
            - month.interest_capitalised_usd)
            .max(0.0);
        let collateral = slots_value_usd(&b.asset_values, &plan.collateral_slots);
        b.debts[d].defaulted = true;
        let cause = match trigger {
            Some(trigger) if trigger != d => DefaultCause::CrossDefault,
            _ => event.cause,
        };
        let outcome = &mut summary.debts[d];
        outcome.default = Some(DefaultEvent { cause, ..event });
        outcome.exposure_at_default_usd = b.debts[d].balance + unpaid_interest;
        outcome.collateral_at_default_usd = collateral;
    }
}

/// Value of one asset at the end of month `t` (USD) and its class.
fn asset_value_usd(
    borrower: &Borrower,
    market: &MarketPath,
    t: usize,
    fleets: &[FleetState],
    entities: &[EntityState],
    btc_held: f64,
    asset: AssetRef,
) -> (AssetClass, f64) {
    let spot = market.power_price_usd_per_mwh[t];
    match asset {
        AssetRef::Fleet(i) => {
            let plan = &borrower.fleets[i];
            let state = &fleets[i];
            let site = &borrower.sites[plan.site];
            let revenue_per_machine = state.hashrate_ths_per_machine / 1_000.0
                * market.hashprice_usd_per_ph_day(t)
                * DAYS_PER_MONTH
                * (1.0 - plan.pool_fee);
            let power_per_machine = plan.power_w_per_machine * site.pue * HOURS_PER_MONTH / 1e6
                * site.power_price_usd_per_mwh(t, spot).0;
            let remaining =
                (plan.life_months as i32 - state.age_months as i32).max(ASIC_MIN_REMAINING_MONTHS);
            let margin = (revenue_per_machine - power_per_machine).max(0.0) * plan.uptime;
            (
                AssetClass::Asics,
                state.count * margin * annuity_factor(remaining, ASIC_DISCOUNT_RATE),
            )
        }
        AssetRef::Lease(i) => {
            let lease = &borrower.leases[i];
            if entities[lease.entity].defaulted {
                return (AssetClass::LeasedSites, 0.0);
            }
            let next = t as i64 + 1;
            let first = lease
                .rent_usd
                .iter()
                .position(|&r| r > 0.0)
                .map_or(next, |s| (s as i64).max(next));
            let remaining = lease.end_t - first;
            if remaining <= 0 || lease.rent_usd.is_empty() {
                return (AssetClass::LeasedSites, 0.0);
            }
            // Past the horizon the rent holds at its last projected level.
            let known = (first as usize).min(lease.rent_usd.len() - 1);
            let net = lease.rent_usd[known] - lease.opex_usd[known];
            let rate = market.sofr[t] + LEASE_DISCOUNT_SPREAD;
            let delay = (1.0 + rate / 12.0).powi(-((first - next) as i32));
            (
                AssetClass::LeasedSites,
                net.max(0.0) * annuity_factor(remaining as i32, rate) * delay,
            )
        }
        AssetRef::GpuCloud(i) => {
            let cloud = &borrower.gpu_clouds[i];
            if entities[cloud.entity].defaulted {
                return (AssetClass::Gpus, 0.0);
            }
            let next = t as i64 + 1;
            let first = cloud.start_t.max(next);
            let remaining = cloud.end_t - first;
            if remaining <= 0 {
                return (AssetClass::Gpus, 0.0);
            }
            let site = &borrower.sites[cloud.site];
            let net = gpu_revenue_usd(cloud, market, t)
                - cloud.power_mw * HOURS_PER_MONTH * site.power_price_usd_per_mwh(t, spot).0
                - cloud.gpu_count * HOURS_PER_MONTH * cloud.opex_usd_per_gpu_hour;
            let delay = (1.0 + GPU_DISCOUNT_RATE / 12.0).powi(-((first - next) as i32));
            (
                AssetClass::Gpus,
                net.max(0.0) * annuity_factor(remaining as i32, GPU_DISCOUNT_RATE) * delay,
            )
        }
        AssetRef::Site(i) => {
            // Bare powered land, plus the land under each running lease, which comes back
            // when the lease ends (discounted to then at the lease rate).
            let site = &borrower.sites[i];
            let rate = market.sofr[t] / 12.0 + LEASE_DISCOUNT_SPREAD / 12.0;
            let mut value_mw = site.grid_capacity_mw;
            for lease in borrower
                .leases
                .iter()
                .filter(|l| l.site == i && (t as i64) < l.end_t)
            {
                let leased_mw = lease.critical_it_mw * site.ai_pue;
                let months_left = (lease.end_t - t as i64) as i32;
                value_mw += leased_mw * ((1.0 + rate).powi(-months_left) - 1.0);
            }
            (
                AssetClass::PoweredSites,
                site.powered_site_value_usd_per_mw * value_mw.max(0.0),
            )
        }
        AssetRef::Treasury => (AssetClass::Btc, btc_held * market.btc_price_usd[t]),
    }
}

#[derive(Clone, Copy)]
enum AssetClass {
    Asics,
    Gpus,
    LeasedSites,
    PoweredSites,
    Btc,
}

/// Present value of 1 a month for `months` whole months at `annual_rate` (monthly
/// compounding).
fn annuity_factor(months: i32, annual_rate: f64) -> f64 {
    let r = annual_rate / 12.0;
    if r.abs() < 1e-12 {
        f64::from(months)
    } else {
        (1.0 - (1.0 + r).powi(-months)) / r
    }
}

/// Values every collateral asset at the current state into `b.asset_values`.
fn value_collateral(
    borrower: &Borrower,
    market: &MarketPath,
    t: usize,
    b: &mut PathBuffers,
    btc_held: f64,
) {
    let PathBuffers {
        asset_values,
        fleets,
        entities,
        ..
    } = b;
    asset_values.clear();
    asset_values.extend(
        borrower.collateral_assets.iter().map(|&asset| {
            asset_value_usd(borrower, market, t, fleets, entities, btc_held, asset).1
        }),
    );
}

/// Value of the collateral at `slots` of `Borrower::collateral_assets` (USD).
fn slots_value_usd(asset_values: &[f64], slots: &[usize]) -> f64 {
    slots.iter().map(|&slot| asset_values[slot]).sum()
}

fn collateral_by_class(
    borrower: &Borrower,
    market: &MarketPath,
    t: usize,
    b: &PathBuffers,
    btc_held: f64,
) -> CollateralValues {
    let mut values = CollateralValues::default();
    for &asset in &borrower.all_assets {
        let (class, value) =
            asset_value_usd(borrower, market, t, &b.fleets, &b.entities, btc_held, asset);
        match class {
            AssetClass::Asics => values.asics_usd += value,
            AssetClass::Gpus => values.gpus_usd += value,
            AssetClass::LeasedSites => values.leased_sites_usd += value,
            AssetClass::PoweredSites => values.powered_sites_usd += value,
            AssetClass::Btc => values.btc_usd += value,
        }
    }
    values
}

/// Cash, reserves and every asset at market value, less debt (USD).
fn net_asset_value(
    borrower: &Borrower,
    market: &MarketPath,
    t: usize,
    b: &PathBuffers,
    btc_held: f64,
) -> f64 {
    let cash: f64 = if b.rows.is_empty() {
        borrower.opening_cash_usd
    } else {
        b.entities.iter().map(|e| e.cash).sum()
    };
    let reserves: f64 = b.debts.iter().map(|d| d.dsra).sum();
    let debt: f64 = b.debts.iter().map(|d| d.balance).sum();
    cash + reserves + collateral_by_class(borrower, market, t, b, btc_held).total_usd() - debt
}

/// Annualised internal rate of return of monthly cash flows (first flow at month 0), by
/// bisection on the monthly rate; `None` without a sign change.
pub fn annual_irr(flows: &[f64]) -> Option<f64> {
    let npv = |monthly: f64| {
        let mut discount = 1.0;
        let mut total = 0.0;
        for flow in flows {
            total += flow * discount;
            discount /= 1.0 + monthly;
        }
        total
    };
    let (mut low, mut high) = (-0.9, 1.0);
    let (npv_low, npv_high) = (npv(low), npv(high));
    if !(npv_low.is_finite() && npv_high.is_finite()) || npv_low.signum() == npv_high.signum() {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if npv(mid).signum() == npv_low.signum() {
            low = mid;
        } else {
            high = mid;
        }
    }
    Some((1.0 + 0.5 * (low + high)).powi(12) - 1.0)
}
