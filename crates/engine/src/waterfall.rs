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
//!
//! [`run_path`] drives a private `PathRun`, one method per step of the month: `operate`
//! (`mine`, `run_ai_capacity`, conversions and overhead), `value_collateral`, `accrue_debt`,
//! `pay_tax`, `run_entity_waterfall` per entity (`fill_reserves_at_completion`,
//! `cover_shortfall`, `pay_debt_service`, `settle_reserves`, `test_covenants`) and
//! `consolidate`. The hot loop allocates nothing: [`PathBuffers`] holds every vector, and
//! what depends on no market number (discount factors at the fixed ASIC and GPU rates, a
//! fleet's power demand and running point, each entity's instruments in payment order) is
//! computed once and reused, always by the very expression it replaces, so a path's numbers
//! are the same to the last bit.

use bitwatt_model::{
    DAYS_PER_MONTH, DebtKind, HOURS_PER_MONTH, MAX_DEBT_INSTRUMENTS, Renewal, asic_band,
};
use serde::Serialize;

use crate::borrower::{
    AssetRef, Borrower, DebtPlan, FleetPlan, GpuPlan, LeasePlan, Rate, SitePlan,
};
use crate::idiosyncratic::{FedCapacity, IdiosyncraticDraws};
use crate::instruments::{MarginCall, abl_draw_usd, borrowing_base_shortfall_usd};
use crate::market::{MarketPath, hashprice_of};
use crate::recovery::{
    Claim, Estate, EstateAsset, LiquidationClass, LiquidationPrices, Recoveries, RecoveryTerms,
    recover_estate,
};

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
    /// Hedge settlements received (net of premiums, hedge by hedge).
    pub hedge_receipts_usd: f64,
    /// Hedge settlements and premiums paid (net, hedge by hedge).
    pub hedge_payments_usd: f64,
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
    /// Treasury BTC sold: to meet payments, or by a lender selling its pledge after an
    /// unmet margin call.
    pub treasury_sales_usd: f64,
    /// Debt drawn.
    pub debt_draws_usd: f64,
    /// Equity raised: from the sponsor, for cures, and at the market.
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
    /// Fees paid: upfront and commitment fees, and call premiums.
    pub fees_usd: f64,
    /// Cash put into debt service reserves.
    pub dsra_funding_usd: f64,
    /// Distributions to shareholders.
    pub distributions_usd: f64,
    /// Cash of project companies that defaulted this month, handed to their lenders' estate
    /// and out of the group (negative where they left a shortfall unpaid).
    pub deconsolidated_cash_usd: f64,
    /// Cash added to the balance.
    pub cash_build_usd: f64,
    /// Scheduled debt service: interest due in cash plus scheduled amortisation (not the
    /// balance left at maturity nor prepayments).
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
            + self.hedge_receipts_usd
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
            + self.hedge_payments_usd
            + self.opex_usd
            + self.tax_usd
            + self.sustaining_capex_usd
            + self.growth_capex_usd
            + self.interest_paid_usd
            + self.principal_paid_usd
            + self.fees_usd
            + self.dsra_funding_usd
            + self.distributions_usd
            + self.deconsolidated_cash_usd
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
    /// Scheduled debt service (cash interest plus scheduled amortisation; not the balance left
    /// at maturity nor prepayments).
    pub debt_service_usd: f64,
    /// Balance at the end.
    pub closing_balance_usd: f64,
    /// Reserve balance at the end.
    pub dsra_usd: f64,
    /// Covenant DSCR where tested this month.
    pub tested_dscr: Option<f64>,
    /// Loan-to-value at the end of the month, where the debt has collateral.
    pub ltv: Option<f64>,
    /// Borrowing base this month (advance rate × collateral value), where there is one.
    pub borrowing_base_usd: Option<f64>,
    /// Covenants found broken when tested this month, before any cure.
    #[serde(skip)]
    pub covenant_breaches: CovenantBreaches,
}

/// A maintenance covenant of an instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Covenant {
    /// DSCR below the lock-up level: distributions stop.
    DscrLockUp,
    /// DSCR below the default level: an event of default unless cured.
    DscrDefault,
    /// LTV above the maximum: an event of default unless the loan is prepaid back to it.
    MaxLtv,
}

impl Covenant {
    /// Every covenant, in the order reported.
    pub const ALL: [Covenant; 3] = [
        Covenant::DscrLockUp,
        Covenant::DscrDefault,
        Covenant::MaxLtv,
    ];

    /// Whether `plan` carries this covenant.
    pub fn applies_to(self, plan: &DebtPlan) -> bool {
        match self {
            Covenant::DscrLockUp => plan.lock_up_dscr.is_some(),
            Covenant::DscrDefault => plan.default_dscr.is_some(),
            Covenant::MaxLtv => plan.max_ltv.is_some(),
        }
    }
}

/// The set of covenants an instrument broke in a month.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CovenantBreaches(u8);

impl CovenantBreaches {
    /// Whether `covenant` broke.
    pub fn contains(self, covenant: Covenant) -> bool {
        self.0 & (1 << covenant as u8) != 0
    }

    /// Records that `covenant` broke.
    fn insert(&mut self, covenant: Covenant) {
        self.0 |= 1 << covenant as u8;
    }
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
    /// The balance at maturity could not be repaid nor refinanced.
    Maturity,
    /// A margin call went unmet and the sale of the pledged BTC left a balance unpaid.
    MarginCall,
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
    /// Margin calls (met or not).
    pub margin_calls: u32,
    /// Times the balance at maturity was refinanced.
    pub refinancings: u32,
    /// Month the bond was called, if it was.
    pub called_month: Option<usize>,
    /// Debt service reserve held for the lender at default (USD), applied to its claim.
    pub dsra_at_default_usd: f64,
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
    /// Equity raised at the market to cover shortfalls (USD, net).
    pub market_equity_usd: f64,
    /// Number of instruments in `debts`.
    pub debt_count: usize,
    /// Per instrument, in the scenario's order.
    pub debts: [DebtOutcome; MAX_DEBT_INSTRUMENTS],
    /// What the defaulted entities leave to their lenders: assets at market value at their
    /// default, cash, and the claims (one per instrument, in the scenario's order).
    pub estate: Estate,
    /// Workout terms for [`recover`].
    pub recovery_terms: RecoveryTerms,
}

impl PathSummary {
    /// The outcomes of the borrower's instruments.
    pub fn debt_outcomes(&self) -> &[DebtOutcome] {
        &self.debts[..self.debt_count]
    }
}

/// Whole months the fixed-rate discount tables cover at most; longer terms are computed on
/// the fly.
const DISCOUNT_TABLE_MONTHS: usize = 1_200;

/// A fleet on the path: its machines, their hashrate and age, and what follows from them
/// alone, kept until they change (each the expression it replaces, so bit for bit the same).
#[derive(Clone, Copy, Debug, Default)]
struct FleetState {
    count: f64,
    hashrate_ths_per_machine: f64,
    age_months: u32,
    /// Power the fleet asks of its site: count × W × PUE / 1e6 (MW).
    demand_mw: f64,
    /// Hashrate per machine / 1 000 (PH/s), for valuation.
    phs_per_machine: f64,
    /// Wall power per machine × PUE × hours / 1e6 (MWh a month), for valuation.
    mwh_per_machine: f64,
    /// The running point below was computed at this share of the site's budget.
    share: f64,
    /// Whether the running point is stale (the count or hashrate changed).
    stale: bool,
    /// Machines running: count × share × uptime × availability.
    running: f64,
    /// Hashrate running (TH/s).
    hashrate_ths: f64,
    /// Hashrate running × 1e12 (H/s).
    hashrate_hs: f64,
    /// Hashrate running / 1 000 (PH/s).
    hashrate_phs: f64,
    /// Power drawn running (MWh a month).
    mwh: f64,
}

impl FleetState {
    /// The fleet at the start of a path.
    fn new(plan: &FleetPlan, site: &SitePlan) -> FleetState {
        let mut state = FleetState {
            count: plan.count,
            hashrate_ths_per_machine: plan.hashrate_ths_per_machine,
            age_months: plan.age_months,
            mwh_per_machine: plan.power_w_per_machine * site.pue * HOURS_PER_MONTH / 1e6,
            ..FleetState::default()
        };
        state.machines_changed(plan, site);
        state
    }

    /// Recomputes what depends on the count and the hashrate per machine.
    fn machines_changed(&mut self, plan: &FleetPlan, site: &SitePlan) {
        self.demand_mw = self.count * plan.power_w_per_machine * site.pue / 1e6;
        self.phs_per_machine = self.hashrate_ths_per_machine / 1_000.0;
        self.stale = true;
    }

    /// Sets the running point at `share` of the site's budget (kept while nothing changes).
    fn run_at(&mut self, share: f64, plan: &FleetPlan, site: &SitePlan) {
        if !self.stale && self.share.to_bits() == share.to_bits() {
            return;
        }
        self.share = share;
        self.stale = false;
        self.running = self.count * share * plan.uptime * site.availability;
        self.hashrate_ths = self.running * self.hashrate_ths_per_machine;
        self.hashrate_hs = self.hashrate_ths * 1e12;
        self.hashrate_phs = self.hashrate_ths / 1_000.0;
        self.mwh = self.running * plan.power_w_per_machine * site.pue * HOURS_PER_MONTH / 1e6;
    }
}

/// A site in the month being run: its fleets' demand, the share of the mining budget they
/// get, and the power price.
#[derive(Clone, Copy, Debug, Default)]
struct SiteMonth {
    /// Power the fleets ask (MW).
    demand_mw: f64,
    /// Whether `share` was computed at this path's budget and demand.
    known: bool,
    /// Budget and demand the share was computed at, and the share.
    budget_mw: f64,
    share_demand_mw: f64,
    share: f64,
    /// Cash price, PPA price and PPA share (see `SitePlan::power_price_usd_per_mwh`).
    price: (f64, f64, f64),
}

impl SiteMonth {
    /// The share of `budget_mw` the fleets get (kept while budget and demand hold).
    fn share_of(&mut self, budget_mw: f64) -> f64 {
        if !self.known
            || budget_mw.to_bits() != self.budget_mw.to_bits()
            || self.demand_mw.to_bits() != self.share_demand_mw.to_bits()
        {
            self.known = true;
            self.budget_mw = budget_mw;
            self.share_demand_mw = self.demand_mw;
            self.share = if self.demand_mw > 0.0 {
                (budget_mw / self.demand_mw).min(1.0)
            } else {
                0.0
            };
        }
        self.share
    }
}

/// A lease's counterparties on the path.
#[derive(Clone, Copy, Debug, Default)]
struct LeaseState {
    /// Month the tenant defaults, if it does on this path.
    tenant_default_t: Option<usize>,
    /// Month the backstop's guarantor defaults, if it does.
    guarantor_default_t: Option<usize>,
    /// What the backstop may still pay (USD).
    backstop_left_usd: f64,
}

impl LeaseState {
    /// Whether the tenant has failed by month `t`, and since when.
    fn failed_by(&self, t: usize) -> Option<usize> {
        self.tenant_default_t.filter(|&failed| failed <= t)
    }

    /// Whether the backstop's guarantor still stands in month `t`.
    fn guarantor_stands(&self, t: usize) -> bool {
        self.guarantor_default_t.is_none_or(|failed| failed > t)
    }
}

/// An instrument on the path.
#[derive(Clone, Copy, Debug)]
struct DebtState {
    balance: f64,
    amortisation_base: f64,
    dsra: f64,
    cures_left: u32,
    defaulted: bool,
    /// Maturity and rate, which a refinancing changes.
    maturity_t: i64,
    rate: Rate,
    /// Asset-backed loan: draws scheduled to date and drawn to date (USD).
    scheduled_draws: f64,
    drawn: f64,
    /// BTC pledged (BTC-backed loan).
    pledged_btc: f64,
    /// LTV a margin call restores.
    target_ltv: f64,
    /// Whether a refinancing was arranged in the window before maturity.
    refinancing_arranged: bool,
}

/// An entity's lines in the month being run.
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
    /// Principal due beyond the amortisation schedule: balances at maturity and
    /// borrowing-base shortfalls (outside the DSCR's debt service).
    prepayment_due: f64,
}

/// An entity on the path.
#[derive(Clone, Copy, Debug, Default)]
struct EntityState {
    cash: f64,
    locked_up: bool,
    defaulted: bool,
}

/// An entity's instruments, derived from the borrower at the start of every path.
#[derive(Clone, Copy, Debug, Default)]
struct EntityDebts {
    /// Every instrument the entity owes, as a set of bits over the scenario's debt indices
    /// (at most `MAX_DEBT_INSTRUMENTS`, so a `u32` holds them); [`debt_indices`] walks it in
    /// the scenario's order.
    all: u32,
    /// Those with a debt service reserve.
    reserved: u32,
    /// Those with a covenant (DSCR lock-up or default level, or maximum LTV).
    covenanted: u32,
    /// Revolvers.
    revolvers: u32,
    /// Bonds with a call schedule.
    callable: u32,
    /// BTC-backed loans.
    pledged: u32,
    /// The first `count` entries: the instruments in payment order (senior secured, senior
    /// unsecured, subordinated; the scenario's order within a seniority).
    payment_order: [u8; MAX_DEBT_INSTRUMENTS],
    count: usize,
}

/// Discount factors at the fixed ASIC and GPU rates by whole months. They depend on no path
/// and no borrower, so they are filled once per [`PathBuffers`] (grown when a borrower needs
/// longer terms); each entry is the very expression computed on the fly before, so values are
/// bit for bit the same.
#[derive(Clone, Debug, Default)]
struct DiscountTables {
    /// `annuity_factor(m, ASIC_DISCOUNT_RATE)` at index `m`.
    asic_annuity: Vec<f64>,
    /// `annuity_factor(m, GPU_DISCOUNT_RATE)` at index `m`.
    gpu_annuity: Vec<f64>,
    /// `(1 + GPU_DISCOUNT_RATE / 12)^-k` at index `k`.
    gpu_delay: Vec<f64>,
}

impl DiscountTables {
    /// Grows the tables to cover every term `borrower` can ask for (up to
    /// [`DISCOUNT_TABLE_MONTHS`]).
    fn cover(&mut self, borrower: &Borrower) {
        let asic = borrower
            .fleets
            .iter()
            .map(|f| (f.life_months as i32).max(ASIC_MIN_REMAINING_MONTHS).max(0) as usize)
            .max()
            .unwrap_or(0);
        let gpu_life = borrower
            .gpu_clouds
            .iter()
            .map(|c| (c.end_t - c.start_t).max(0) as usize)
            .max()
            .unwrap_or(0);
        let gpu_delay = borrower
            .gpu_clouds
            .iter()
            .map(|c| (c.start_t - 1).max(0) as usize)
            .max()
            .unwrap_or(0);
        let grow = |table: &mut Vec<f64>, last: usize, entry: &dyn Fn(i32) -> f64| {
            let len = (last + 1).min(DISCOUNT_TABLE_MONTHS);
            while table.len() < len {
                table.push(entry(table.len() as i32));
            }
        };
        grow(&mut self.asic_annuity, asic, &|m| {
            annuity_factor(m, ASIC_DISCOUNT_RATE)
        });
        grow(&mut self.gpu_annuity, gpu_life, &|m| {
            annuity_factor(m, GPU_DISCOUNT_RATE)
        });
        grow(&mut self.gpu_delay, gpu_delay, &|k| {
            (1.0 + GPU_DISCOUNT_RATE / 12.0).powi(-k)
        });
    }
}

/// `table[index]`, or `compute()` where the table does not reach.
fn tabulated(table: &[f64], index: i64, compute: impl FnOnce() -> f64) -> f64 {
    match usize::try_from(index).ok().and_then(|i| table.get(i)) {
        Some(&value) => value,
        None => compute(),
    }
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
    /// Each entity's instruments, derived from the borrower at the start of every path.
    entity_debts: Vec<EntityDebts>,
    /// CFADS by entity and month, `[month · entities + entity]`.
    entity_cfads: Vec<f64>,
    /// Scheduled debt service by entity and month.
    entity_service: Vec<f64>,
    sites: Vec<SiteMonth>,
    /// Each month's capex over the depreciation months (its monthly depreciation).
    depreciation_history: Vec<f64>,
    equity_flows: Vec<f64>,
    /// Market value of each collateral asset this month, by `Borrower::collateral_assets`.
    asset_values: Vec<f64>,
    /// Slot of the BTC treasury in `Borrower::collateral_assets`, if it secures anything.
    treasury_slot: Option<usize>,
    /// First month of positive rent of each lease (derived at the start of every path).
    lease_first_rent: Vec<Option<usize>>,
    /// Each lease's counterparties on the path.
    leases: Vec<LeaseState>,
    /// Month each GPU cloud's offtaker defaults on the path, if it does.
    offtaker_default_t: Vec<Option<usize>>,
    /// First month each lease's rent and opex may run on the path (`i64::MIN` unless a late
    /// conversion holds it back).
    lease_service_from: Vec<i64>,
    /// First month of service of each GPU cloud on the path: its start, or later where a late
    /// conversion holds it back.
    cloud_start_t: Vec<i64>,
    discounts: DiscountTables,
    /// The borrower's own random risks on the next path (site outages, conversion delays):
    /// empty unless drawn ([`crate::draw_idiosyncratic`], [`IdiosyncraticDraws::draw`]) or set
    /// by hand, and then kept for every later path until drawn again or cleared. Empty draws
    /// change nothing.
    pub idiosyncratic: IdiosyncraticDraws,
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
        let mut buffers = PathBuffers {
            rows: Vec::with_capacity(months),
            debt_rows: Vec::with_capacity(months * debts),
            fleets: Vec::with_capacity(borrower.fleets.len()),
            debts: Vec::with_capacity(debts),
            entities: Vec::with_capacity(entities),
            entity_month: Vec::with_capacity(entities),
            entity_debts: Vec::with_capacity(entities),
            entity_cfads: Vec::with_capacity(months * entities),
            entity_service: Vec::with_capacity(months * entities),
            sites: Vec::with_capacity(borrower.sites.len()),
            depreciation_history: Vec::with_capacity(months),
            equity_flows: Vec::with_capacity(months + 1),
            asset_values: Vec::with_capacity(borrower.collateral_assets.len()),
            treasury_slot: None,
            lease_first_rent: Vec::with_capacity(borrower.leases.len()),
            leases: Vec::with_capacity(borrower.leases.len()),
            offtaker_default_t: Vec::with_capacity(borrower.gpu_clouds.len()),
            lease_service_from: Vec::with_capacity(borrower.leases.len()),
            cloud_start_t: Vec::with_capacity(borrower.gpu_clouds.len()),
            discounts: DiscountTables::default(),
            idiosyncratic: IdiosyncraticDraws::new(borrower),
        };
        buffers.discounts.cover(borrower);
        buffers
    }

    /// Sets the buffers to the borrower's opening state for a new path.
    fn start(&mut self, borrower: &Borrower, market: &MarketPath, months: usize) {
        let entity_count = borrower.entities;
        self.rows.clear();
        self.debt_rows.clear();
        self.depreciation_history.clear();
        self.equity_flows.clear();
        self.fleets.clear();
        self.fleets.extend(
            borrower
                .fleets
                .iter()
                .map(|f| FleetState::new(f, &borrower.sites[f.site])),
        );
        self.debts.clear();
        self.debts.extend(borrower.debts.iter().map(|d| DebtState {
            balance: d.opening_balance_usd,
            amortisation_base: d.opening_balance_usd,
            dsra: 0.0,
            cures_left: d.equity_cures,
            defaulted: false,
            maturity_t: d.maturity_t,
            rate: d.rate,
            scheduled_draws: d.opening_balance_usd,
            drawn: d.opening_balance_usd,
            pledged_btc: d.btc_pledged,
            target_ltv: d.top_up_ltv.unwrap_or(0.0),
            refinancing_arranged: false,
        }));
        self.entities.clear();
        self.entities.resize(entity_count, EntityState::default());
        self.entities[0].cash = borrower.opening_cash_usd;
        self.entity_month.clear();
        self.entity_month
            .resize(entity_count, EntityMonth::default());
        self.entity_debts.clear();
        self.entity_debts
            .resize(entity_count, EntityDebts::default());
        for rank in 0..3 {
            for (d, plan) in borrower.debts.iter().enumerate() {
                if seniority_rank(plan.seniority) == rank {
                    let debts = &mut self.entity_debts[plan.entity];
                    debts.all |= 1 << d;
                    if plan.dsra_months > 0 {
                        debts.reserved |= 1 << d;
                    }
                    if plan.lock_up_dscr.is_some()
                        || plan.default_dscr.is_some()
                        || plan.max_ltv.is_some()
                    {
                        debts.covenanted |= 1 << d;
                    }
                    match plan.kind {
                        DebtKind::Revolver => debts.revolvers |= 1 << d,
                        DebtKind::BtcBacked => debts.pledged |= 1 << d,
                        _ => {}
                    }
                    if !plan.call_price.is_empty() {
                        debts.callable |= 1 << d;
                    }
                    debts.payment_order[debts.count] = d as u8;
                    debts.count += 1;
                }
            }
        }
        // Months a path does not reach (after a default) are never read.
        self.entity_cfads.clear();
        self.entity_cfads.resize(months * entity_count, 0.0);
        self.entity_service.clear();
        self.entity_service.resize(months * entity_count, 0.0);
        self.sites.clear();
        self.sites
            .resize(borrower.sites.len(), SiteMonth::default());
        self.asset_values.clear();
        self.asset_values
            .resize(borrower.collateral_assets.len(), 0.0);
        self.treasury_slot = borrower
            .collateral_assets
            .iter()
            .position(|&asset| asset == AssetRef::Treasury);
        self.lease_first_rent.clear();
        self.lease_first_rent.extend(
            borrower
                .leases
                .iter()
                .map(|l| l.rent_usd.iter().position(|&r| r > 0.0)),
        );
        self.leases.clear();
        self.leases.extend(borrower.leases.iter().map(|lease| {
            LeaseState {
                tenant_default_t: market.counterparty_default_month(&lease.tenant),
                guarantor_default_t: lease
                    .backstop
                    .as_ref()
                    .and_then(|(guarantor, _)| market.counterparty_default_month(guarantor)),
                backstop_left_usd: lease.backstop.as_ref().map_or(0.0, |&(_, cap)| cap),
            }
        }));
        self.offtaker_default_t.clear();
        self.offtaker_default_t
            .extend(borrower.gpu_clouds.iter().map(|cloud| {
                cloud
                    .offtaker
                    .as_deref()
                    .and_then(|name| market.counterparty_default_month(name))
            }));
        self.lease_service_from.clear();
        self.lease_service_from
            .resize(borrower.leases.len(), i64::MIN);
        self.cloud_start_t.clear();
        self.cloud_start_t
            .extend(borrower.gpu_clouds.iter().map(|c| c.start_t));
        if self.idiosyncratic.has_delays() {
            self.delay_conversions(borrower);
        }
        self.discounts.cover(borrower);
    }

    /// Holds back the leases and GPU clouds fed by the late conversions of the path's draws:
    /// a conversion `d` months late is ready `d` months after its scheduled completion, and
    /// the capacity it feeds serves from the later of its own start and then.
    fn delay_conversions(&mut self, borrower: &Borrower) {
        for (c, risk) in borrower.idiosyncratic.conversions.iter().enumerate() {
            let delay = self.idiosyncratic.conversion_delay_months(c);
            // A conversion complete before the first month cannot be late.
            if delay == 0 || risk.completion_t <= 0 {
                continue;
            }
            let ready = risk.completion_t + i64::from(delay);
            match risk.feeds {
                FedCapacity::Lease(i) if i < borrower.leases.len() => {
                    let from = &mut self.lease_service_from[i];
                    *from = (*from).max(ready);
                    if let Some(first) = &mut self.lease_first_rent[i] {
                        *first = (*first).max(ready as usize);
                    }
                }
                FedCapacity::GpuCloud(i) if i < borrower.gpu_clouds.len() => {
                    let start = &mut self.cloud_start_t[i];
                    *start = (*start).max(ready);
                }
                _ => {}
            }
        }
    }
}

/// Position of a seniority in the payment order.
fn seniority_rank(seniority: bitwatt_model::Seniority) -> usize {
    match seniority {
        bitwatt_model::Seniority::SeniorSecured => 0,
        bitwatt_model::Seniority::SeniorUnsecured => 1,
        bitwatt_model::Seniority::Subordinated => 2,
    }
}

/// The instrument indices in `set`, lowest (first in the scenario) first.
fn debt_indices(set: u32) -> impl Iterator<Item = usize> {
    let mut rest = set;
    std::iter::from_fn(move || {
        (rest != 0).then(|| {
            let d = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            d
        })
    })
}

/// Runs `borrower` on `market` until the horizon or the borrower's default.
pub fn run_path(
    borrower: &Borrower,
    market: &MarketPath,
    buffers: &mut PathBuffers,
) -> PathSummary {
    let months = borrower.horizon_months.min(market.months());
    let mut run = PathRun::new(borrower, market, buffers, months);
    for t in 0..months {
        if run.run_month(t) {
            break;
        }
    }
    run.finish(months)
}

/// The market in the month being run.
#[derive(Clone, Copy, Debug)]
struct MonthMarket {
    t: usize,
    /// BTC price (USD).
    price: f64,
    /// Spot power (USD/MWh).
    spot: f64,
    /// SOFR (fraction a year).
    sofr: f64,
    /// Network hashrate (H/s).
    network_hs: f64,
    /// Network reward: subsidy and fees (BTC).
    reward_btc: f64,
    /// Realised hashprice (USD per PH/s per day).
    hashprice: f64,
    /// Share of the month the sites have power (1 unless a grid event darkens them).
    availability: f64,
}

/// The month's consolidated waterfall lines, added up entity by entity.
#[derive(Clone, Copy, Debug, Default)]
struct WaterfallTotals {
    /// Equity the parent owes its project companies this month.
    to_projects: f64,
    /// Cash the project companies paid up to the parent.
    from_projects: f64,
    equity_raised: f64,
    treasury_sold_usd: f64,
    dsra_release: f64,
    dsra_funding: f64,
    interest_paid: f64,
    principal_paid: f64,
    /// Revolver draws (the month's other draws are in the row already).
    revolver_draws: f64,
    /// Premiums paid on called bonds.
    call_premiums: f64,
    /// Shares sold at the market this month (USD, gross).
    market_equity_gross: f64,
    /// Cash of the project companies that defaulted this month.
    deconsolidated_cash: f64,
    distributions: f64,
    /// The borrower's (parent's) default.
    default: Option<DefaultEvent>,
    /// Whether any entity defaulted this month.
    any_default: bool,
}

/// What the covenant tests of an entity found.
enum CovenantResult {
    /// No default; whether cash is locked up.
    Passed { locked: bool },
    /// An uncured breach: its cause and instrument.
    Default(DefaultCause, usize),
}

/// One path being run: the borrower, the market, the buffers and the state carried from
/// month to month. The buffers are held as slices (and the growing ones as vectors), so the
/// addresses and lengths stay in registers while the month writes its numbers.
struct PathRun<'a> {
    borrower: &'a Borrower,
    market: &'a MarketPath,
    site_plans: &'a [SitePlan],
    fleet_plans: &'a [FleetPlan],
    debt_plans: &'a [DebtPlan],
    rows: &'a mut Vec<MonthRow>,
    debt_rows: &'a mut Vec<DebtMonth>,
    equity_flows: &'a mut Vec<f64>,
    depreciation_history: &'a mut Vec<f64>,
    fleets: &'a mut [FleetState],
    debts: &'a mut [DebtState],
    entities: &'a mut [EntityState],
    entity_month: &'a mut [EntityMonth],
    entity_debts: &'a [EntityDebts],
    entity_cfads: &'a mut [f64],
    entity_service: &'a mut [f64],
    sites: &'a mut [SiteMonth],
    asset_values: &'a mut [f64],
    treasury_slot: Option<usize>,
    lease_first_rent: &'a [Option<usize>],
    leases: &'a mut [LeaseState],
    offtaker_default_t: &'a [Option<usize>],
    lease_service_from: &'a [i64],
    cloud_start_t: &'a [i64],
    discounts: &'a DiscountTables,
    idiosyncratic: &'a IdiosyncraticDraws,
    summary: PathSummary,
    /// BTC held in treasury.
    btc_held: f64,
    /// Cash of all entities at the end of the last month run (at the start: the opening
    /// cash), summed over the entities like `Iterator::sum`.
    cash_usd: f64,
    /// Tax losses carried forward (USD).
    tax_losses: f64,
    /// Monthly tax depreciation of the capex of the last `depreciation_months` (USD).
    depreciation_window: f64,
    /// The tightest incurrence covenant (net debt over LTM EBITDA), if any.
    incurrence_limit: Option<f64>,
    /// Whether the incurrence covenant blocks new debt and distributions this month.
    incurrence_blocked: bool,
    /// Instruments whose unmet margin call left a balance due this month.
    margin_call_due: u32,
    /// The BTC-backed loans, as a set of bits over the debt indices.
    pledged_debts: u32,
}

impl<'a> PathRun<'a> {
    /// The opening state; the opening net asset value goes into the equity flows.
    fn new(
        borrower: &'a Borrower,
        market: &'a MarketPath,
        b: &'a mut PathBuffers,
        months: usize,
    ) -> PathRun<'a> {
        b.start(borrower, market, months);
        let PathBuffers {
            rows,
            debt_rows,
            fleets,
            debts,
            entities,
            entity_month,
            entity_debts,
            entity_cfads,
            entity_service,
            sites,
            depreciation_history,
            equity_flows,
            asset_values,
            treasury_slot,
            lease_first_rent,
            leases,
            offtaker_default_t,
            lease_service_from,
            cloud_start_t,
            discounts,
            idiosyncratic,
        } = b;
        let mut run = PathRun {
            borrower,
            market,
            site_plans: &borrower.sites,
            fleet_plans: &borrower.fleets,
            debt_plans: &borrower.debts,
            rows,
            debt_rows,
            equity_flows,
            depreciation_history,
            fleets,
            debts,
            entities,
            entity_month,
            entity_debts,
            entity_cfads,
            entity_service,
            sites,
            asset_values,
            treasury_slot: *treasury_slot,
            lease_first_rent,
            leases,
            offtaker_default_t,
            lease_service_from,
            cloud_start_t,
            discounts,
            idiosyncratic,
            summary: PathSummary {
                months_run: 0,
                default: None,
                min_dscr: None,
                max_ltv: None,
                covenant_breaches: 0,
                cures_used: 0,
                lock_up_months: 0,
                collateral: CollateralValues::default(),
                final_cash_usd: 0.0,
                market_equity_usd: 0.0,
                debt_count: borrower.debts.len(),
                debts: [DebtOutcome::default(); MAX_DEBT_INSTRUMENTS],
                estate: Estate::default(),
                recovery_terms: borrower.recovery_terms,
            },
            btc_held: borrower.opening_btc,
            cash_usd: 0.0,
            tax_losses: 0.0,
            depreciation_window: 0.0,
            incurrence_limit: borrower
                .debts
                .iter()
                .filter_map(|d| d.incurrence_max_net_leverage)
                .reduce(f64::min),
            incurrence_blocked: false,
            margin_call_due: 0,
            pledged_debts: 0,
        };
        run.pledged_debts = run.entity_debts.iter().fold(0, |set, e| set | e.pledged);
        run.cash_usd = run.entities.iter().map(|e| e.cash).sum();
        run.open_estate();
        // BTC pledged to loans is not the treasury's to sell.
        for state in run.debts.iter() {
            run.btc_held -= state.pledged_btc;
        }
        run.btc_held = run.btc_held.max(0.0);
        // The shareholders' stake at the start, valued on the base case: the same on every
        // path, whatever its first month does.
        run.equity_flows.push(-borrower.opening_nav_usd);
        run
    }

    /// Runs month `t` and records it; true when the borrower defaulted in it.
    fn run_month(&mut self, t: usize) -> bool {
        let market = self.market;
        let price = market.btc_price_usd[t];
        let network_hs = market.network_hashrate_hs[t];
        let reward_btc = market.network_reward_btc(t);
        let month = MonthMarket {
            t,
            price,
            spot: market.power_price_usd_per_mwh[t],
            sofr: market.sofr[t],
            network_hs,
            reward_btc,
            // `MarketPath::hashprice_usd_per_ph_day` without computing the reward again.
            hashprice: hashprice_of(reward_btc, price, network_hs),
            availability: (1.0 - market.extra_outage_days[t] / DAYS_PER_MONTH).clamp(0.0, 1.0),
        };
        self.incurrence_blocked = self.incurrence_limit.is_some_and(|limit| {
            self.rows
                .last()
                .is_some_and(|last| match last.net_leverage {
                    Some(leverage) => leverage > limit,
                    None => last.debt_usd > last.cash_usd + last.dsra_usd,
                })
        });
        self.margin_call_due = 0;
        let mut row = MonthRow {
            month_index: t,
            btc_price_usd: month.price,
            hashprice_usd_per_ph_day: month.hashprice,
            network_hashrate_ehs: month.network_hs / 1e18,
            difficulty: market.difficulty[t],
            network_blocks: market.blocks[t],
            spot_power_usd_per_mwh: month.spot,
            ..MonthRow::default()
        };
        self.entity_month.fill(EntityMonth::default());
        let cash_start = self.cash_usd;

        self.operate(&month, &mut row);
        self.value_collateral(&month);
        let row_start = self.accrue_debt(&month, &mut row);
        let (ebitda, tax) = self.pay_tax(t, &mut row);

        // The waterfall, project companies first.
        let mut totals = WaterfallTotals::default();
        for e in (0..self.entities.len()).rev() {
            if !self.entities[e].defaulted {
                self.run_entity_waterfall(e, &month, row_start, tax, &mut totals);
            }
        }

        self.consolidate(
            &month, row_start, ebitda, tax, cash_start, &totals, &mut row,
        );
        self.equity_flows
            .push(totals.distributions - totals.equity_raised);
        self.rows.push(row);
        self.summary.months_run = t + 1;
        match totals.default {
            Some(event) => {
                self.summary.default = Some(event);
                true
            }
            None => false,
        }
    }

    /// The summary's end-of-path lines: final cash, collateral by class and, without a
    /// default, the closing net asset value in the equity flows.
    fn finish(mut self, months: usize) -> PathSummary {
        let last = self.summary.months_run.saturating_sub(1);
        self.summary.final_cash_usd = self
            .rows
            .last()
            .map_or(self.borrower.opening_cash_usd, |r| r.cash_usd);
        self.summary.collateral = if months > 0 {
            self.valuation(last).by_class()
        } else {
            CollateralValues::default()
        };
        if self.summary.default.is_none() && months > 0 {
            let closing_nav = self.net_asset_value(last);
            if let Some(flow) = self.equity_flows.last_mut() {
                *flow += closing_nav;
            }
        }
        self.summary
    }

    /// What asset valuation reads at the end of month `t` (outside the month being run).
    fn valuation(&self, t: usize) -> Valuation<'_> {
        Valuation {
            borrower: self.borrower,
            market: self.market,
            t,
            hashprice: self.market.hashprice_usd_per_ph_day(t),
            fleets: self.fleets,
            entities: self.entities,
            sites: None,
            lease_first_rent: self.lease_first_rent,
            cloud_start_t: self.cloud_start_t,
            discounts: self.discounts,
            btc_held: self.btc_held,
            debts: self.debts,
            leases: self.leases,
            offtaker_default_t: self.offtaker_default_t,
        }
    }

    /// Cash, reserves and every asset at market value at the end of month `t`, less debt
    /// (USD).
    fn net_asset_value(&self, t: usize) -> f64 {
        let cash: f64 = if self.rows.is_empty() {
            self.borrower.opening_cash_usd
        } else {
            self.entities.iter().map(|e| e.cash).sum()
        };
        let reserves: f64 = self.debts.iter().map(|d| d.dsra).sum();
        // Defaulted non-recourse debt is its lenders' problem, not the sponsor's.
        let debt: f64 = self
            .debts
            .iter()
            .filter(|d| !d.defaulted)
            .map(|d| d.balance)
            .sum();
        cash + reserves + self.valuation(t).by_class().total_usd() - debt
    }

    /// Values every collateral asset at the current state into `asset_values`.
    fn value_collateral(&mut self, month: &MonthMarket) {
        let valuation = Valuation {
            borrower: self.borrower,
            market: self.market,
            t: month.t,
            hashprice: month.hashprice,
            fleets: self.fleets,
            entities: self.entities,
            sites: Some(self.sites),
            lease_first_rent: self.lease_first_rent,
            cloud_start_t: self.cloud_start_t,
            discounts: self.discounts,
            btc_held: self.btc_held,
            debts: self.debts,
            leases: self.leases,
            offtaker_default_t: self.offtaker_default_t,
        };
        for (value, &asset) in self
            .asset_values
            .iter_mut()
            .zip(&self.borrower.collateral_assets)
        {
            *value = valuation.value(asset).1;
        }
    }

    /// Operations: mining, AI capacity, conversions and overhead, into the entities' lines
    /// and the row.
    fn operate(&mut self, month: &MonthMarket, row: &mut MonthRow) {
        self.mine(month, row);
        self.run_ai_capacity(month, row);
        let borrower = self.borrower;
        let t = month.t;
        for conversion in &borrower.conversions {
            if !self.entities[conversion.entity].defaulted {
                self.entity_month[conversion.entity].growth_capex += conversion.capex_usd[t];
            }
        }
        let parent = &mut self.entity_month[0];
        parent.payments += borrower.overhead_usd[t];
        parent.ebitda -= borrower.overhead_usd[t];
        parent.sustaining_capex += borrower.maintenance_capex_usd[t];
        row.opex_usd += borrower.overhead_usd[t];
        self.settle_hedges(month, row);
    }

    /// Hedges of the entities still standing, settled on the month's average BTC price or
    /// SOFR; settlements count in EBITDA (and so in CFADS).
    fn settle_hedges(&mut self, month: &MonthMarket, row: &mut MonthRow) {
        for hedge in &self.borrower.hedges {
            if self.entities[hedge.entity].defaulted {
                continue;
            }
            let balance = hedge.debt.map_or(0.0, |d| self.debts[d].balance);
            let settlement = hedge.settlement_usd(month.t, month.price, month.sofr, balance);
            let entity = &mut self.entity_month[hedge.entity];
            if settlement >= 0.0 {
                entity.receipts += settlement;
                row.hedge_receipts_usd += settlement;
            } else {
                entity.payments -= settlement;
                row.hedge_payments_usd -= settlement;
            }
            entity.ebitda += settlement;
        }
    }

    /// Mining at the parent: fleets share their site's power budget after conversions,
    /// curtail where selling the PPA power pays more, age and renew; mined BTC is sold or held.
    fn mine(&mut self, month: &MonthMarket, row: &mut MonthRow) {
        let market = self.market;
        let MonthMarket {
            t,
            price,
            spot,
            network_hs,
            reward_btc,
            availability,
            ..
        } = *month;
        let site_plans = self.site_plans;
        let sites = &mut *self.sites;
        for (site, plan) in sites.iter_mut().zip(site_plans) {
            site.demand_mw = 0.0;
            site.price = plan.power_price_usd_per_mwh(t, spot);
        }
        for (plan, state) in self.fleet_plans.iter().zip(&*self.fleets) {
            sites[plan.site].demand_mw += state.demand_mw;
        }
        let parent = &mut self.entity_month[0];
        let outages = self.idiosyncratic.has_outages();
        let mut btc_mined = 0.0;
        for (plan, state) in self.fleet_plans.iter().zip(self.fleets.iter_mut()) {
            let site = &site_plans[plan.site];
            let site_month = &mut sites[plan.site];
            state.run_at(site_month.share_of(site.mining_budget_mw[t]), plan, site);
            let availability = if outages {
                self.idiosyncratic
                    .site_availability(plan.site, t, availability)
            } else {
                availability
            };
            let btc =
                state.hashrate_hs / network_hs * reward_btc * (1.0 - plan.pool_fee) * availability;
            let mwh = state.mwh * availability;
            let (cash_price, ppa_price, ppa_share) = site_month.price;
            let run_margin = btc * price - mwh * cash_price;
            let (curtailed_credit, curtailed_cost) = if plan.power_credit_sales {
                (mwh * ppa_share * spot, mwh * ppa_share * ppa_price)
            } else {
                (0.0, 0.0)
            };
            if plan.economic_curtailment && run_margin < curtailed_credit - curtailed_cost {
                row.power_credit_usd += curtailed_credit;
                row.power_cost_usd += curtailed_cost;
                parent.receipts += curtailed_credit;
                parent.payments += curtailed_cost;
                parent.ebitda += curtailed_credit - curtailed_cost;
            } else {
                btc_mined += btc;
                row.hashrate_phs += state.hashrate_phs;
                row.power_mwh += mwh;
                row.power_cost_usd += mwh * cash_price;
                parent.payments += mwh * cash_price;
                parent.ebitda += btc * price - mwh * cash_price;
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
                        parent.sustaining_capex += state.count * new_ths * price_per_th;
                        state.hashrate_ths_per_machine = new_ths;
                        state.age_months = 0;
                    }
                    Renewal::RunDown => state.count *= 1.0 - RUN_DOWN_FAILURE_PER_MONTH,
                }
                state.machines_changed(plan, site);
            }
        }
        let btc_sold = btc_mined * self.borrower.sell_mined_fraction;
        self.btc_held += btc_mined - btc_sold;
        row.btc_mined = btc_mined;
        row.mining_revenue_usd = btc_mined * price;
        row.btc_sales_usd = btc_sold * price;
        parent.receipts += btc_sold * price;
    }

    /// Colocation leases and GPU clouds of the entities still standing (GPU purchases are
    /// growth capex).
    fn run_ai_capacity(&mut self, month: &MonthMarket, row: &mut MonthRow) {
        let borrower = self.borrower;
        let t = month.t;
        let availability = month.availability;
        for ((lease, state), &from) in borrower
            .leases
            .iter()
            .zip(self.leases.iter_mut())
            .zip(self.lease_service_from)
        {
            // A lease held back by a late conversion neither earns nor costs until served.
            if self.entities[lease.entity].defaulted || (t as i64) < from {
                continue;
            }
            let rent = lease_income_usd(lease, state, self.market, t);
            let entity = &mut self.entity_month[lease.entity];
            entity.receipts += rent;
            entity.payments += lease.opex_usd[t];
            entity.ebitda += rent - lease.opex_usd[t];
            row.lease_revenue_usd += rent;
            row.opex_usd += lease.opex_usd[t];
        }
        for (c, cloud) in borrower.gpu_clouds.iter().enumerate() {
            if self.entities[cloud.entity].defaulted {
                continue;
            }
            if let Some((capex_t, capex)) = cloud.capex
                && capex_t == t
            {
                self.entity_month[cloud.entity].growth_capex += capex;
            }
            let tt = t as i64;
            if tt < self.cloud_start_t[c] || tt >= cloud.end_t {
                continue;
            }
            let availability = if self.idiosyncratic.has_outages() {
                self.idiosyncratic
                    .site_availability(cloud.site, t, availability)
            } else {
                availability
            };
            let revenue =
                gpu_revenue_usd(cloud, self.market, t, self.offtaker_default_t[c]) * availability;
            let power =
                cloud.power_mw * HOURS_PER_MONTH * self.sites[cloud.site].price.0 * availability;
            let opex = cloud.gpu_count * HOURS_PER_MONTH * cloud.opex_usd_per_gpu_hour;
            let entity = &mut self.entity_month[cloud.entity];
            entity.receipts += revenue;
            entity.payments += power + opex;
            entity.ebitda += revenue - power - opex;
            row.gpu_revenue_usd += revenue;
            row.power_cost_usd += power;
            row.power_mwh += cloud.power_mw * HOURS_PER_MONTH;
            row.opex_usd += opex;
        }
    }

    /// Debt: interest (paid or capitalised), draws and fees, the amortisation base and the
    /// principal due, into a new row per instrument and the month's row; returns where the
    /// month's instrument rows start.
    fn accrue_debt(&mut self, month: &MonthMarket, row: &mut MonthRow) -> usize {
        let t = month.t;
        let tt = t as i64;
        let row_start = self.debt_rows.len();
        // The row's draws, capitalised interest and debt service, summed like
        // `Iterator::sum` (from -0.0) over every instrument.
        let mut draws = -0.0;
        let mut capitalised = -0.0;
        let mut service = -0.0;
        for d in 0..self.debt_plans.len() {
            let plan = &self.debt_plans[d];
            let state = self.debts[d];
            let mut debt_month = DebtMonth {
                opening_balance_usd: state.balance,
                ..DebtMonth::default()
            };
            if state.defaulted || self.entities[plan.entity].defaulted {
                debt_month.closing_balance_usd = state.balance;
                draws += 0.0;
                capitalised += 0.0;
                service += 0.0;
                self.debt_rows.push(debt_month);
                continue;
            }
            self.arrange_refinancing(d, month);
            let borrowing_base = plan.advance_rate.get(t).map(|advance| {
                advance * slots_value_usd(self.asset_values, &plan.collateral_slots)
            });
            debt_month.borrowing_base_usd = borrowing_base;
            let state = &mut self.debts[d];
            let interest = state.balance * state.rate.annual(month.sofr) / 12.0;
            if tt < plan.capitalise_until_t {
                state.balance += interest;
                debt_month.interest_capitalised_usd = interest;
            } else {
                debt_month.interest_paid_usd = interest;
            }
            let draw = if plan.kind == DebtKind::Abl {
                state.scheduled_draws += plan.draws_usd[t];
                let room = borrowing_base.unwrap_or(f64::INFINITY);
                // The commitment left undrawn when the window closes lapses.
                let draw = if self.incurrence_blocked || tt >= plan.draw_window_end_t {
                    0.0
                } else {
                    abl_draw_usd(state.scheduled_draws, state.drawn, room, state.balance)
                };
                state.drawn += draw;
                draw
            } else {
                plan.draws_usd[t]
            };
            state.balance += draw;
            debt_month.draw_usd = draw;
            let undrawn = match plan.kind {
                DebtKind::Abl if tt < plan.draw_window_end_t => plan.commitment_usd - state.drawn,
                DebtKind::Revolver if tt < state.maturity_t => plan.commitment_usd - state.balance,
                _ => 0.0,
            };
            let entity = &mut self.entity_month[plan.entity];
            entity.draws += draw;
            entity.fees +=
                draw * plan.upfront_fee_fraction + undrawn.max(0.0) * plan.commitment_fee_per_month;
            if tt == plan.amortisation_start_t.max(0) && plan.amortisation_start_t >= 0 {
                state.amortisation_base = state.balance;
            }
            let amortisation =
                (plan.repayment_fraction[t] * state.amortisation_base).min(state.balance);
            // The balance left at maturity is due, but it is not debt service a DSCR covers.
            let balloon = if tt >= state.maturity_t {
                state.balance - amortisation
            } else {
                0.0
            };
            // A balance above the borrowing base is prepaid: due now, outside the DSCR.
            let prepayment = borrowing_base.map_or(0.0, |base| {
                borrowing_base_shortfall_usd(state.balance - amortisation - balloon, base)
            });
            debt_month.principal_due_usd = amortisation + balloon + prepayment;
            debt_month.debt_service_usd = debt_month.interest_paid_usd + amortisation;
            entity.interest_due += debt_month.interest_paid_usd;
            entity.principal_due += amortisation;
            entity.prepayment_due += balloon + prepayment;
            draws += debt_month.draw_usd;
            capitalised += debt_month.interest_capitalised_usd;
            service += debt_month.debt_service_usd;
            self.debt_rows.push(debt_month);
        }
        row.debt_draws_usd = draws;
        row.interest_capitalised_usd = capitalised;
        row.debt_service_usd = service;
        row_start
    }

    /// Refinancing of instrument `d`: in the window before maturity, a lender is found when
    /// the credit market is open (calm regime) and the entity's pro forma DSCR — trailing
    /// twelve-month CFADS over its debt service with this loan's replaced by a year of
    /// interest at the new rate — clears the lender's minimum; at maturity an arranged
    /// refinancing replaces the balance due with a loan on the new terms, repaid at its own
    /// maturity.
    fn arrange_refinancing(&mut self, d: usize, month: &MonthMarket) {
        let plan = &self.debt_plans[d];
        let Some(terms) = plan.refinancing else {
            return;
        };
        let t = month.t;
        let tt = t as i64;
        let state = self.debts[d];
        if state.balance <= 0.0 || tt < state.maturity_t - terms.window_months {
            return;
        }
        if !state.refinancing_arranged && !self.market.stress[t] && t > 0 {
            // Pro forma: the entity's trailing twelve-month CFADS over its debt service plus
            // a year of interest on the balance at the new loan's rate.
            let (cfads, service) = self.trailing_sums(plan.entity, t - 1, 12);
            // The maturing loan's own service is replaced by the new loan's interest.
            let debts = self.debt_plans.len();
            let own_service: f64 = (t.saturating_sub(12)..t)
                .map(|m| self.debt_rows[m * debts + d].debt_service_usd)
                .sum();
            let new_interest = state.balance * terms.rate.annual(month.sofr);
            let months = t.min(12) as f64;
            let pro_forma_service = service - own_service + new_interest * months / 12.0;
            self.debts[d].refinancing_arranged =
                pro_forma_service > 0.0 && cfads / pro_forma_service >= terms.min_dscr;
        }
        let state = &mut self.debts[d];
        if tt >= state.maturity_t && state.refinancing_arranged {
            state.maturity_t = tt + terms.tenor_months;
            state.rate = terms.rate;
            state.refinancing_arranged = false;
            self.summary.debts[d].refinancings += 1;
        }
    }

    /// Tax on consolidated income at the parent: EBITDA less interest due and depreciation
    /// (straight line over `depreciation_months`, plus the opening basis), after losses
    /// carried forward. Fills the row's fees and capex; returns the month's consolidated
    /// EBITDA and the tax.
    fn pay_tax(&mut self, t: usize, row: &mut MonthRow) -> (f64, f64) {
        let borrower = self.borrower;
        // Consolidated lines, summed entity by entity like `Iterator::sum` (from -0.0).
        let mut ebitda = -0.0;
        let mut interest_due = -0.0;
        let mut capex = -0.0;
        let mut fees = -0.0;
        let mut growth_capex = -0.0;
        let mut sustaining_capex = -0.0;
        for entity in &*self.entity_month {
            ebitda += entity.ebitda;
            interest_due += entity.interest_due;
            capex += entity.growth_capex + entity.sustaining_capex;
            fees += entity.fees;
            growth_capex += entity.growth_capex;
            sustaining_capex += entity.sustaining_capex;
        }
        row.fees_usd = fees;
        row.growth_capex_usd = growth_capex;
        row.sustaining_capex_usd = sustaining_capex;
        let depreciation_months = borrower.depreciation_months;
        let depreciation = capex / depreciation_months as f64;
        self.depreciation_history.push(depreciation);
        self.depreciation_window += depreciation;
        if t >= depreciation_months {
            self.depreciation_window -= self.depreciation_history[t - depreciation_months];
        }
        let opening_depreciation = if t < depreciation_months {
            borrower.opening_depreciation_usd
        } else {
            0.0
        };
        let mut taxable = ebitda - interest_due - self.depreciation_window - opening_depreciation;
        if taxable > 0.0 {
            let used = self.tax_losses.min(taxable);
            self.tax_losses -= used;
            taxable -= used;
        } else {
            self.tax_losses -= taxable;
            taxable = 0.0;
        }
        let tax = borrower.tax_rate * taxable;
        self.entity_month[0].payments += tax;
        row.tax_usd = tax;
        (ebitda, tax)
    }

    /// Entity `e`'s waterfall for the month: growth capex funding, debt service with reserves
    /// or treasury BTC behind it, reserves, covenant tests, distributions. A default ends it.
    // Inlined into the month's loop: the call alone cost about 3 % of a month.
    #[inline(always)]
    fn run_entity_waterfall(
        &mut self,
        e: usize,
        month: &MonthMarket,
        row_start: usize,
        tax: f64,
        totals: &mut WaterfallTotals,
    ) {
        let borrower = self.borrower;
        let t = month.t;
        let flows = self.entity_month[e];
        let parent = e == 0;
        let mut cash =
            self.entities[e].cash + flows.receipts - flows.payments - flows.sustaining_capex
                + flows.draws
                - flows.fees;
        if parent {
            cash += totals.from_projects;
        }
        // Growth capex: draws, then cash beyond this month's service and minimum cash, then
        // sponsor equity (from the parent for a project company). A reserve is filled at
        // completion as a project cost, like growth capex.
        let initial_reserves = self.fill_reserves_at_completion(e, month);
        totals.dsra_funding += initial_reserves;
        let service_due = flows.interest_due + flows.principal_due;
        let keep = service_due
            + flows.prepayment_due
            + if parent {
                borrower.minimum_cash_usd
            } else {
                0.0
            };
        // The parent funds its project companies' equity like its own growth capex.
        let need =
            flows.growth_capex + initial_reserves + if parent { totals.to_projects } else { 0.0 };
        let from_cash = need.min((cash - keep).max(0.0));
        let equity = need - from_cash;
        cash -= need;
        cash += equity;
        if parent {
            totals.equity_raised += equity;
        } else {
            totals.to_projects += equity;
        }

        let called_due = self.meet_margin_calls(e, month, row_start, &mut cash, totals);
        let due = service_due + flows.prepayment_due + called_due;
        cash = self.cover_shortfall(e, due, cash, month, row_start, totals);
        let paid_all = self.pay_debt_service(e, row_start, &mut cash, totals);
        if !paid_all || cash < -PAYMENT_TOLERANCE_USD {
            let cause = if self.margin_call_due & self.entity_debts[e].all != 0 {
                DefaultCause::MarginCall
            } else if self.principal_due_at_maturity(e, t, row_start) {
                DefaultCause::Maturity
            } else {
                DefaultCause::Payment
            };
            self.default_entity(e, cash, cause, None, month, row_start, totals);
            return;
        }
        cash = self.settle_reserves(e, month, cash, totals);

        let cfads = flows.ebitda - flows.sustaining_capex - if parent { tax } else { 0.0 };
        let index = t * self.entities.len() + e;
        self.entity_cfads[index] = cfads;
        self.entity_service[index] = service_due;
        let locked = match self.test_covenants(e, t, row_start, &mut cash, totals) {
            CovenantResult::Passed { locked } => locked,
            CovenantResult::Default(cause, trigger) => {
                self.default_entity(e, cash, cause, Some(trigger), month, row_start, totals);
                return;
            }
        };
        self.entities[e].locked_up = locked;
        if locked {
            self.summary.lock_up_months += 1;
        }
        cash = self.repay_from_excess_cash(e, month, row_start, cash, totals);

        // Distributions.
        if parent {
            if borrower.distribution_fraction > 0.0 && !locked && !self.incurrence_blocked {
                let paid =
                    ((cash - borrower.minimum_cash_usd).max(0.0)) * borrower.distribution_fraction;
                cash -= paid;
                totals.distributions += paid;
            }
        } else if !locked {
            totals.from_projects += cash.max(0.0);
            cash -= cash.max(0.0);
        }
        self.entities[e].cash = cash;
    }

    /// Fills the reserve of each of `e`'s instruments whose amortisation starts this month
    /// (at completion); returns the cash put in.
    fn fill_reserves_at_completion(&mut self, e: usize, month: &MonthMarket) -> f64 {
        let mut initial_reserves = 0.0;
        for d in debt_indices(self.entity_debts[e].reserved) {
            let plan = &self.debt_plans[d];
            if plan.amortisation_start_t >= 0
                && month.t as i64 == plan.amortisation_start_t
                && !self.debts[d].defaulted
            {
                let state = &mut self.debts[d];
                let fill = (reserve_target_usd(plan, state, month) - state.dsra).max(0.0);
                state.dsra += fill;
                initial_reserves += fill;
            }
        }
        initial_reserves
    }

    /// Margin calls on `e`'s BTC-backed loans whose call price the month's low reached: met
    /// (at the call price, or the month's price where it gapped lower) by pledging free BTC,
    /// else by repaying principal from cash, else the lender sells the
    /// pledge (at the month's low where it gapped through the liquidation price, at the call
    /// price otherwise) and what the sale leaves unpaid falls due now. Returns the principal
    /// that fell due (paid with the month's debt service).
    fn meet_margin_calls(
        &mut self,
        e: usize,
        month: &MonthMarket,
        row_start: usize,
        cash: &mut f64,
        totals: &mut WaterfallTotals,
    ) -> f64 {
        let mut due = 0.0;
        let low = self.market.btc_low_usd[month.t];
        for d in debt_indices(self.entity_debts[e].pledged) {
            let plan = &self.debt_plans[d];
            let state = self.debts[d];
            let Some(call) = MarginCall::test(
                state.balance,
                state.pledged_btc,
                low,
                month.price,
                plan.margin_call_ltv,
                plan.liquidation_ltv,
                state.target_ltv,
            ) else {
                continue;
            };
            self.summary.debts[d].margin_calls += 1;
            // Past the liquidation level the lender sells at once; below it the borrower may
            // meet the call: free BTC first, then cash (raised as for any shortfall).
            if !call.liquidation_reached {
                let top_up = call.top_up_btc(state.balance, state.pledged_btc);
                let pledged_now = top_up.min(self.btc_held);
                self.btc_held -= pledged_now;
                self.debts[d].pledged_btc += pledged_now;
                let prepayment = call.prepayment_usd(state.balance, self.debts[d].pledged_btc);
                if prepayment <= 0.0 {
                    continue;
                }
                if *cash < prepayment {
                    *cash = self.cover_shortfall(e, prepayment, *cash, month, row_start, totals);
                }
                if *cash >= prepayment {
                    *cash -= prepayment;
                    self.debts[d].balance -= prepayment;
                    self.debt_rows[row_start + d].principal_paid_usd += prepayment;
                    totals.principal_paid += prepayment;
                    continue;
                }
            }
            // Unmet or past liquidation: the lender sells the pledge to repay the loan.
            let state = &mut self.debts[d];
            let debt_month = &mut self.debt_rows[row_start + d];
            let price = call.forced_sale_price_usd(low);
            let sold_btc = state.pledged_btc.min(state.balance / price);
            let proceeds = sold_btc * price;
            state.pledged_btc -= sold_btc;
            state.balance -= proceeds;
            debt_month.principal_paid_usd += proceeds;
            totals.principal_paid += proceeds;
            totals.treasury_sold_usd += proceeds;
            if state.balance > 0.0 {
                // The pledge is gone and the rest is due now.
                due += state.balance - debt_month.principal_due_usd;
                debt_month.principal_due_usd = state.balance;
                self.margin_call_due |= 1 << d;
            }
        }
        due
    }

    /// Meets a shortfall against `due` from `e`'s reserves, then its revolvers (unless the
    /// incurrence covenant blocks new debt), then (parent) by selling treasury BTC, then by
    /// at-the-market equity while the market is calm; returns the cash after.
    fn cover_shortfall(
        &mut self,
        e: usize,
        due: f64,
        mut cash: f64,
        month: &MonthMarket,
        row_start: usize,
        totals: &mut WaterfallTotals,
    ) -> f64 {
        let t = month.t;
        let mut shortfall = (due - cash).max(0.0);
        if shortfall > 0.0 {
            for d in debt_indices(self.entity_debts[e].reserved) {
                if shortfall > 0.0 {
                    // A reserve serves its own instrument's interest and principal only.
                    let debt_month = &self.debt_rows[row_start + d];
                    let own_due = debt_month.interest_paid_usd + debt_month.principal_due_usd;
                    let state = &mut self.debts[d];
                    let draw = state.dsra.min(shortfall).min(own_due);
                    state.dsra -= draw;
                    totals.dsra_release += draw;
                    cash += draw;
                    shortfall -= draw;
                }
            }
        }
        if shortfall > 0.0 && !self.incurrence_blocked {
            for d in debt_indices(self.entity_debts[e].revolvers) {
                let plan = &self.debt_plans[d];
                let state = &mut self.debts[d];
                if state.defaulted || t as i64 >= state.maturity_t || shortfall <= 0.0 {
                    continue;
                }
                let limit = match plan.advance_rate.get(t) {
                    Some(advance) => plan
                        .commitment_usd
                        .min(advance * slots_value_usd(self.asset_values, &plan.collateral_slots)),
                    None => plan.commitment_usd,
                };
                let draw = (limit - state.balance).max(0.0).min(shortfall);
                state.balance += draw;
                self.debt_rows[row_start + d].draw_usd += draw;
                totals.revolver_draws += draw;
                cash += draw;
                shortfall -= draw;
            }
        }
        if e == 0 && shortfall > 0.0 && self.btc_held > 0.0 {
            let btc = (shortfall / month.price).min(self.btc_held);
            self.btc_held -= btc;
            totals.treasury_sold_usd += btc * month.price;
            cash += btc * month.price;
            shortfall -= btc * month.price;
        }
        if e == 0
            && shortfall > 0.0
            && !self.market.stress[t]
            && let Some(issuance) = self.borrower.equity_issuance
        {
            let room = issuance.max_gross_usd_per_month - totals.market_equity_gross;
            let gross = (shortfall / issuance.net_fraction).min(room.max(0.0));
            let raised = gross * issuance.net_fraction;
            totals.market_equity_gross += gross;
            cash += raised;
            totals.equity_raised += raised;
            self.summary.market_equity_usd += raised;
        }
        cash
    }

    /// After the month's tests: revolvers repaid from cash above the minimum, then bonds
    /// called where their call price is in force and the cash above the minimum pays it in
    /// full; returns the cash after.
    fn repay_from_excess_cash(
        &mut self,
        e: usize,
        month: &MonthMarket,
        row_start: usize,
        mut cash: f64,
        totals: &mut WaterfallTotals,
    ) -> f64 {
        let t = month.t;
        let keep = if e == 0 {
            self.borrower.minimum_cash_usd
        } else {
            0.0
        };
        for d in debt_indices(self.entity_debts[e].revolvers) {
            let state = &mut self.debts[d];
            let repaid = state.balance.min((cash - keep).max(0.0));
            if repaid > 0.0 {
                state.balance -= repaid;
                cash -= repaid;
                self.debt_rows[row_start + d].principal_paid_usd += repaid;
                totals.principal_paid += repaid;
            }
        }
        for d in debt_indices(self.entity_debts[e].callable) {
            let price = self.debt_plans[d].call_price[t];
            let state = &mut self.debts[d];
            let cost = state.balance * price;
            if price > 0.0 && state.balance > 0.0 && !state.defaulted && cash - keep >= cost {
                cash -= cost;
                totals.principal_paid += state.balance;
                totals.call_premiums += cost - state.balance;
                self.debt_rows[row_start + d].principal_paid_usd += state.balance;
                state.balance = 0.0;
                self.summary.debts[d].called_month = Some(t);
            }
        }
        cash
    }

    /// Pays `e`'s interest, then its principal, each in order of seniority, out of `cash`;
    /// false when something due went unpaid.
    fn pay_debt_service(
        &mut self,
        e: usize,
        row_start: usize,
        cash: &mut f64,
        totals: &mut WaterfallTotals,
    ) -> bool {
        let debts = &self.entity_debts[e];
        let order = &debts.payment_order[..debts.count];
        let month_rows = &mut self.debt_rows[row_start..];
        let mut paid_all = true;
        let mut pay = |due: f64| {
            let paid = due.min(cash.max(0.0));
            *cash -= paid;
            if paid < due - PAYMENT_TOLERANCE_USD {
                paid_all = false;
            }
            paid
        };
        for &d in order {
            let d = usize::from(d);
            if !self.debts[d].defaulted {
                let debt_month = &mut month_rows[d];
                let paid = pay(debt_month.interest_paid_usd);
                debt_month.interest_paid_usd = paid;
                totals.interest_paid += paid;
            }
        }
        for &d in order {
            let d = usize::from(d);
            let state = &mut self.debts[d];
            if !state.defaulted {
                let debt_month = &mut month_rows[d];
                // A margin call may have repaid part of the balance already.
                let paid = pay(debt_month.principal_due_usd.min(state.balance));
                debt_month.principal_paid_usd += paid;
                state.balance -= paid;
                totals.principal_paid += paid;
            }
        }
        paid_all
    }

    /// Whether one of `e`'s instruments is at or past maturity with principal due.
    fn principal_due_at_maturity(&self, e: usize, t: usize, row_start: usize) -> bool {
        debt_indices(self.entity_debts[e].all).any(|d| {
            t as i64 >= self.debts[d].maturity_t
                && self.debt_rows[row_start + d].principal_due_usd > 0.0
        })
    }

    /// Reserves of `e`'s instruments: released above target, topped up below it from cash;
    /// returns the cash after.
    fn settle_reserves(
        &mut self,
        e: usize,
        month: &MonthMarket,
        mut cash: f64,
        totals: &mut WaterfallTotals,
    ) -> f64 {
        for d in debt_indices(self.entity_debts[e].reserved) {
            let plan = &self.debt_plans[d];
            let state = &mut self.debts[d];
            if state.defaulted {
                continue;
            }
            let target = reserve_target_usd(plan, state, month);
            if state.dsra > target {
                let release = state.dsra - target;
                state.dsra = target;
                cash += release;
                totals.dsra_release += release;
            } else {
                let top_up = (target - state.dsra).min(cash.max(0.0));
                state.dsra += top_up;
                cash -= top_up;
                totals.dsra_funding += top_up;
            }
        }
        cash
    }

    /// Covenant tests of `e`'s instruments at their quarter ends: trailing DSCR (lock-up;
    /// default unless cured with equity) and LTV.
    fn test_covenants(
        &mut self,
        e: usize,
        t: usize,
        row_start: usize,
        cash: &mut f64,
        totals: &mut WaterfallTotals,
    ) -> CovenantResult {
        let tt = t as i64;
        let mut covenant_default = None;
        // Locked while any instrument tested this quarter is below its lock-up level.
        let (mut lock_tested, mut lock_failed) = (false, false);
        // Equity put in this month to cure one instrument's DSCR counts for the others.
        let mut cure_paid = 0.0;
        for d in debt_indices(self.entity_debts[e].covenanted) {
            let plan = &self.debt_plans[d];
            // An instrument outstanding during the month is tested; one repaid before it is
            // not.
            if self.debts[d].defaulted
                || self.debt_rows[row_start + d].opening_balance_usd <= 0.0
                || tt < plan.first_test_t
                || (tt - plan.first_test_t) % 3 != 0
            {
                continue;
            }
            if plan.lock_up_dscr.is_some() || plan.default_dscr.is_some() {
                let window = plan
                    .dscr_window_months
                    .min((tt - plan.amortisation_start_t.max(0) + 1) as usize)
                    .max(1);
                let (cfads_window, service_window) = self.trailing_sums(e, t, window);
                if service_window > 0.0 {
                    let dscr = cfads_window / service_window;
                    self.debt_rows[row_start + d].tested_dscr = Some(dscr);
                    let outcome = &mut self.summary.debts[d];
                    outcome.min_tested_dscr =
                        Some(outcome.min_tested_dscr.map_or(dscr, |m: f64| m.min(dscr)));
                    if self.summary.min_dscr.is_none_or(|(m, _)| dscr < m) {
                        self.summary.min_dscr = Some((dscr, t));
                    }
                    if let Some(lock_up) = plan.lock_up_dscr {
                        lock_tested = true;
                        lock_failed |= dscr < lock_up;
                        if dscr < lock_up {
                            self.debt_rows[row_start + d]
                                .covenant_breaches
                                .insert(Covenant::DscrLockUp);
                        }
                    }
                    if let Some(minimum) = plan.default_dscr
                        && dscr < minimum
                    {
                        self.debt_rows[row_start + d]
                            .covenant_breaches
                            .insert(Covenant::DscrDefault);
                        let cure = minimum * service_window - cfads_window;
                        if cure <= cure_paid {
                            // Cured by the equity already put in this month.
                        } else if self.breach_cured(e, d, cure - cure_paid, totals) {
                            *cash += cure - cure_paid;
                            cure_paid = cure;
                        } else {
                            covenant_default = Some((DefaultCause::DscrCovenant, d));
                        }
                    }
                }
            }
            if let Some(max_ltv) = plan.max_ltv {
                let value = slots_value_usd(self.asset_values, &plan.collateral_slots);
                let balance = self.debts[d].balance;
                // Collateral worth nothing against a balance is a breach too.
                if balance > 0.0 && (value <= 0.0 || balance / value > max_ltv) {
                    self.debt_rows[row_start + d]
                        .covenant_breaches
                        .insert(Covenant::MaxLtv);
                    self.summary.debts[d].covenant_breaches += 1;
                    self.summary.covenant_breaches += 1;
                    // Cured by prepaying the loan back to the maximum LTV, where cash allows.
                    let excess = balance - max_ltv * value;
                    if *cash >= excess {
                        *cash -= excess;
                        self.debts[d].balance -= excess;
                        self.debt_rows[row_start + d].principal_paid_usd += excess;
                        totals.principal_paid += excess;
                    } else {
                        covenant_default = Some((DefaultCause::LtvCovenant, d));
                    }
                }
            }
        }
        let locked = if lock_tested {
            lock_failed
        } else {
            self.entities[e].locked_up
        };
        match covenant_default {
            Some((cause, trigger)) => CovenantResult::Default(cause, trigger),
            None => CovenantResult::Passed { locked },
        }
    }

    /// Counts a DSCR breach of instrument `d` of entity `e` and cures it with `cure` of equity
    /// where a cure is left: from the parent's cash for a project company (if it has the
    /// cash), raised from shareholders for the parent. True when cured.
    fn breach_cured(
        &mut self,
        e: usize,
        d: usize,
        cure: f64,
        totals: &mut WaterfallTotals,
    ) -> bool {
        let outcome = &mut self.summary.debts[d];
        outcome.covenant_breaches += 1;
        self.summary.covenant_breaches += 1;
        let cures_left = self.debts[d].cures_left;
        let cured = if e != 0 {
            cures_left > 0 && self.entities[0].cash >= cure
        } else {
            cures_left > 0
        };
        if cured {
            self.debts[d].cures_left -= 1;
            outcome.cures_used += 1;
            self.summary.cures_used += 1;
            if e != 0 {
                self.entities[0].cash -= cure;
            } else {
                totals.equity_raised += cure;
            }
        }
        cured
    }

    /// CFADS and scheduled debt service of entity `e` over the `window` months ending at `t`.
    fn trailing_sums(&self, e: usize, t: usize, window: usize) -> (f64, f64) {
        let entity_count = self.entities.len();
        let first = (t + 1).saturating_sub(window);
        (first..=t).fold((0.0, 0.0), |(cfads, service), month| {
            let index = month * entity_count + e;
            (
                cfads + self.entity_cfads[index],
                service + self.entity_service[index],
            )
        })
    }

    /// Entity `e` defaults this month with `cash` left: it and its instruments stop.
    #[allow(clippy::too_many_arguments)]
    fn default_entity(
        &mut self,
        e: usize,
        cash: f64,
        cause: DefaultCause,
        trigger: Option<usize>,
        month: &MonthMarket,
        row_start: usize,
        totals: &mut WaterfallTotals,
    ) {
        self.fill_estate(e, cash, month);
        self.entities[e].defaulted = true;
        let event = DefaultEvent {
            month_index: month.t,
            entity: e,
            cause,
        };
        totals.default = totals.default.or((e == 0).then_some(event));
        totals.any_default = true;
        self.mark_entity_default(event, trigger, month.sofr, row_start);
        if e == 0 {
            // The borrower's default ends the path: its last row shows what it left.
            self.entities[e].cash = cash;
        } else {
            // A project company's cash and reserves go to its lenders' estate.
            totals.deconsolidated_cash += cash;
            self.entities[e].cash = 0.0;
            for d in debt_indices(self.entity_debts[e].all) {
                self.debts[d].dsra = 0.0;
            }
        }
    }

    /// The estate's slots, empty: one claim per instrument and one asset per asset of the
    /// borrower (with the instruments it secures), filled in when their entity defaults.
    fn open_estate(&mut self) {
        let borrower = self.borrower;
        let estate = &mut self.summary.estate;
        for plan in &borrower.debts {
            // Fewer instruments than claim slots (compilation checks it).
            let _ = estate.push_claim(Claim {
                entity: plan.entity as u8,
                seniority: plan.seniority,
                ..Claim::EMPTY
            });
        }
        for &asset in &borrower.all_assets {
            let secures = borrower
                .debts
                .iter()
                .enumerate()
                .filter(|(_, plan)| plan.collateral.contains(&asset))
                .fold(0, |set, (d, _)| set | 1 << d);
            // Fewer assets than asset slots (compilation checks it).
            let _ = estate.push_asset(EstateAsset {
                entity: asset_entity(borrower, asset) as u8,
                secures,
                ..EstateAsset::EMPTY
            });
        }
    }

    /// Entity `e`'s part of the estate as it defaults in `month` with `cash`: its assets at
    /// market value and liquidation class, and its instruments' claims (principal, accrued
    /// interest, rate; a debt service reserve is applied to its lender's principal).
    fn fill_estate(&mut self, e: usize, cash: f64, month: &MonthMarket) {
        let valuation = Valuation {
            borrower: self.borrower,
            market: self.market,
            t: month.t,
            hashprice: month.hashprice,
            fleets: self.fleets,
            entities: self.entities,
            sites: Some(self.sites),
            lease_first_rent: self.lease_first_rent,
            cloud_start_t: self.cloud_start_t,
            discounts: self.discounts,
            btc_held: self.btc_held,
            debts: self.debts,
            leases: self.leases,
            offtaker_default_t: self.offtaker_default_t,
        };
        let estate = &mut self.summary.estate;
        estate.set_default(e, month.t, cash.max(0.0));
        for (slot, &asset) in estate.assets.iter_mut().zip(&self.borrower.all_assets) {
            if usize::from(slot.entity) != e {
                continue;
            }
            slot.value_usd = valuation.value(asset).1;
            slot.class = match asset {
                AssetRef::Fleet(i) => {
                    let plan = &self.borrower.fleets[i];
                    let j_per_th =
                        plan.power_w_per_machine / self.fleets[i].hashrate_ths_per_machine;
                    LiquidationClass::Asic {
                        band: asic_band(j_per_th),
                    }
                }
                AssetRef::GpuCloud(i) => LiquidationClass::Gpu {
                    generation: self.borrower.gpu_clouds[i].generation as u8,
                },
                AssetRef::Lease(_) | AssetRef::Site(_) => LiquidationClass::Site,
                AssetRef::Treasury | AssetRef::Pledge(_) => LiquidationClass::Btc,
            };
        }
        for d in debt_indices(self.entity_debts[e].all) {
            let state = &self.debts[d];
            if state.defaulted || state.balance <= 0.0 {
                continue;
            }
            let rate = state.rate.annual(month.sofr);
            let claim = &mut estate.claims[d];
            claim.default_month = Some(month.t);
            let reserve = state.dsra.min(state.balance);
            claim.principal_usd = state.balance - reserve;
            claim.annual_rate = rate;
            self.summary.debts[d].dsra_at_default_usd = reserve;
        }
    }

    /// Marks every instrument of the event's entity as defaulted: `trigger` with the event's
    /// cause, the others by cross-default (all of them with the cause for a payment default).
    fn mark_entity_default(
        &mut self,
        event: DefaultEvent,
        trigger: Option<usize>,
        sofr: f64,
        row_start: usize,
    ) {
        for d in debt_indices(self.entity_debts[event.entity].all) {
            let plan = &self.debt_plans[d];
            // A repaid instrument has nothing left to default on.
            if self.debts[d].defaulted || (self.debts[d].balance <= 0.0 && trigger != Some(d)) {
                continue;
            }
            let month = self.debt_rows[row_start + d];
            let unpaid_interest = (month.opening_balance_usd * self.debts[d].rate.annual(sofr)
                / 12.0
                - month.interest_paid_usd
                - month.interest_capitalised_usd)
                .max(0.0);
            let collateral = slots_value_usd(self.asset_values, &plan.collateral_slots);
            self.debts[d].defaulted = true;
            let cause = match trigger {
                Some(trigger) if trigger != d => DefaultCause::CrossDefault,
                _ => event.cause,
            };
            let outcome = &mut self.summary.debts[d];
            outcome.default = Some(DefaultEvent { cause, ..event });
            outcome.exposure_at_default_usd = self.debts[d].balance + unpaid_interest;
            self.summary.estate.claims[d].accrued_interest_usd = unpaid_interest;
            outcome.collateral_at_default_usd = collateral;
        }
    }

    /// The month's consolidated lines (intercompany flows cancel), month-end collateral, the
    /// instruments' closing rows and outcomes, LTV, DSCR and net leverage.
    #[allow(clippy::too_many_arguments)]
    fn consolidate(
        &mut self,
        month: &MonthMarket,
        row_start: usize,
        ebitda: f64,
        tax: f64,
        cash_start: f64,
        totals: &WaterfallTotals,
        row: &mut MonthRow,
    ) {
        let t = month.t;
        // A repaid BTC-backed loan hands its pledge back to the treasury.
        for d in debt_indices(self.pledged_debts) {
            let state = &mut self.debts[d];
            if state.balance <= 0.0 && !state.defaulted {
                self.btc_held += state.pledged_btc;
                state.pledged_btc = 0.0;
            }
        }
        row.cash_usd = self.entities.iter().map(|e| e.cash).sum();
        self.cash_usd = row.cash_usd;
        row.debt_draws_usd += totals.revolver_draws;
        row.fees_usd += totals.call_premiums;
        row.interest_paid_usd = totals.interest_paid;
        row.principal_paid_usd = totals.principal_paid;
        row.ebitda_usd = ebitda;
        row.cfads_usd = ebitda - tax - row.sustaining_capex_usd;
        row.equity_raised_usd = totals.equity_raised;
        row.treasury_sales_usd = totals.treasury_sold_usd;
        row.dsra_release_usd = totals.dsra_release;
        row.dsra_funding_usd = totals.dsra_funding;
        row.distributions_usd = totals.distributions;
        row.deconsolidated_cash_usd = totals.deconsolidated_cash;
        row.btc_held = self.btc_held;
        let change = row.cash_usd - cash_start;
        row.cash_build_usd = change.max(0.0);
        row.cash_drawdown_usd = (-change).max(0.0);

        // Month-end values: a default this month takes its project's assets away; treasury
        // sales change the BTC held.
        if totals.any_default {
            self.value_collateral(month);
        } else {
            if let Some(slot) = self.treasury_slot {
                self.asset_values[slot] = self.btc_held * month.price;
            }
            for d in debt_indices(self.pledged_debts) {
                let slot = self.debt_plans[d].collateral_slots[0];
                self.asset_values[slot] = self.debts[d].pledged_btc * month.price;
            }
        }
        let mut secured_debt = 0.0;
        // Summed like `Iterator::sum` (from -0.0), in the scenario's order.
        let mut dsra = -0.0;
        let mut debt = -0.0;
        let month_rows = &mut self.debt_rows[row_start..];
        for (d, (plan, state)) in self.debt_plans.iter().zip(&*self.debts).enumerate() {
            let balance = state.balance;
            dsra += state.dsra;
            if !state.defaulted {
                debt += balance;
            }
            let debt_month = &mut month_rows[d];
            debt_month.closing_balance_usd = balance;
            debt_month.dsra_usd = state.dsra;
            let outcome = &mut self.summary.debts[d];
            outcome.interest_paid_usd += debt_month.interest_paid_usd;
            outcome.principal_paid_usd += debt_month.principal_paid_usd;
            outcome.peak_balance_usd = outcome.peak_balance_usd.max(balance);
            outcome.final_balance_usd = balance;
            if !plan.collateral.is_empty() && balance > 0.0 {
                let value = slots_value_usd(self.asset_values, &plan.collateral_slots);
                debt_month.ltv = (value > 0.0).then(|| balance / value);
                if plan.seniority == bitwatt_model::Seniority::SeniorSecured && !state.defaulted {
                    secured_debt += balance;
                }
            }
        }
        row.dsra_usd = dsra;
        row.debt_usd = debt;
        row.collateral_value_usd = slots_value_usd(self.asset_values, &self.borrower.secured_slots);
        row.ltv = (secured_debt > 0.0 && row.collateral_value_usd > 0.0)
            .then(|| secured_debt / row.collateral_value_usd);
        if let Some(ltv) = row.ltv
            && self.summary.max_ltv.is_none_or(|(m, _)| ltv > m)
        {
            self.summary.max_ltv = Some((ltv, t));
        }
        row.dscr = (row.debt_service_usd > 0.0).then(|| row.cfads_usd / row.debt_service_usd);
        let first = t.saturating_sub(11);
        let ltm_ebitda: f64 = self.rows[first..t]
            .iter()
            .map(|r| r.ebitda_usd)
            .sum::<f64>()
            + row.ebitda_usd;
        let ltm_ebitda = ltm_ebitda * 12.0 / (t - first + 1) as f64;
        row.net_leverage =
            (ltm_ebitda > 0.0).then(|| (row.debt_usd - row.cash_usd - row.dsra_usd) / ltm_ebitda);
    }
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
                    gpu_revenue_usd(c, market, t, None)
                        - power
                        - c.gpu_count * HOURS_PER_MONTH * c.opex_usd_per_gpu_hour
                })
                .sum();
            leases + clouds
        })
        .collect()
}

/// GPU rent of a cloud in month `t`: the contracted share at the contract rate while the
/// contract runs and its offtaker stands (`offtaker_default_t`), the rest at the generation's
/// market rent times utilisation (USD).
fn gpu_revenue_usd(
    cloud: &GpuPlan,
    market: &MarketPath,
    t: usize,
    offtaker_default_t: Option<usize>,
) -> f64 {
    let hours = cloud.gpu_count * HOURS_PER_MONTH;
    let offtaker_stands = offtaker_default_t.is_none_or(|failed| failed > t);
    let contracted = if (t as i64) < cloud.contract_end_t && offtaker_stands {
        cloud.contracted
    } else {
        0.0
    };
    let merchant_rent =
        market.generation_rent_usd_per_gpu_hour(cloud.generation, t) * market.ai_utilisation[t];
    hours * (contracted * cloud.contract_rate_usd_per_gpu_hour + (1.0 - contracted) * merchant_rent)
}

/// Reserve target: the next `dsra_months` of scheduled debt service at this month's rate.
fn reserve_target_usd(plan: &DebtPlan, state: &DebtState, month: &MonthMarket) -> f64 {
    let monthly_rate = state.rate.annual(month.sofr) / 12.0;
    let mut balance = state.balance;
    let mut target = 0.0;
    let first = month.t + 1;
    let last = month.t + plan.dsra_months;
    // Months on the schedule before maturity, then the general case.
    let scheduled_end = (last + 1)
        .min(plan.repayment_fraction.len())
        .min(state.maturity_t.max(0) as usize);
    for &fraction in &plan.repayment_fraction[first.min(scheduled_end)..scheduled_end] {
        if balance <= 0.0 {
            return target;
        }
        let principal = (fraction * state.amortisation_base).min(balance);
        target += balance * monthly_rate + principal;
        balance -= principal;
    }
    for month in first.max(scheduled_end)..=last {
        if balance <= 0.0 {
            break;
        }
        let principal = if month as i64 >= state.maturity_t {
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

/// What asset valuation reads: the market at the end of month `t` and the path's state.
struct Valuation<'v> {
    borrower: &'v Borrower,
    market: &'v MarketPath,
    t: usize,
    /// The month's realised hashprice (USD per PH/s per day).
    hashprice: f64,
    fleets: &'v [FleetState],
    entities: &'v [EntityState],
    /// The sites' power prices this month, where already computed.
    sites: Option<&'v [SiteMonth]>,
    lease_first_rent: &'v [Option<usize>],
    /// First month of service of each GPU cloud on the path.
    cloud_start_t: &'v [i64],
    discounts: &'v DiscountTables,
    btc_held: f64,
    debts: &'v [DebtState],
    leases: &'v [LeaseState],
    offtaker_default_t: &'v [Option<usize>],
}

impl Valuation<'_> {
    /// Cash price of power at site `i` this month (USD/MWh).
    fn power_price(&self, i: usize) -> f64 {
        match self.sites {
            Some(sites) => sites[i].price.0,
            None => {
                self.borrower.sites[i]
                    .power_price_usd_per_mwh(self.t, self.market.power_price_usd_per_mwh[self.t])
                    .0
            }
        }
    }

    /// Value of one asset (USD) and its class.
    // Inlined into the collateral loop, which calls it for every slot every month.
    #[inline(always)]
    fn value(&self, asset: AssetRef) -> (AssetClass, f64) {
        let (borrower, market, t) = (self.borrower, self.market, self.t);
        match asset {
            AssetRef::Fleet(i) => {
                let plan = &borrower.fleets[i];
                let state = &self.fleets[i];
                let revenue_per_machine =
                    state.phs_per_machine * self.hashprice * DAYS_PER_MONTH * (1.0 - plan.pool_fee);
                let power_per_machine = state.mwh_per_machine * self.power_price(plan.site);
                let remaining = (plan.life_months as i32 - state.age_months as i32)
                    .max(ASIC_MIN_REMAINING_MONTHS);
                let margin = (revenue_per_machine - power_per_machine).max(0.0) * plan.uptime;
                let annuity = tabulated(&self.discounts.asic_annuity, i64::from(remaining), || {
                    annuity_factor(remaining, ASIC_DISCOUNT_RATE)
                });
                (AssetClass::Asics, state.count * margin * annuity)
            }
            AssetRef::Lease(i) => {
                let lease = &borrower.leases[i];
                if self.entities[lease.entity].defaulted {
                    return (AssetClass::LeasedSites, 0.0);
                }
                let next = t as i64 + 1;
                let first = self.lease_first_rent[i].map_or(next, |s| (s as i64).max(next));
                let remaining = lease.end_t - first;
                if remaining <= 0 || lease.rent_usd.is_empty() {
                    return (AssetClass::LeasedSites, 0.0);
                }
                // Past the horizon the rent holds at its last projected level.
                let known = (first as usize).min(lease.rent_usd.len() - 1);
                let rate = market.sofr[t] + LEASE_DISCOUNT_SPREAD;
                if let Some(failed) = self.leases[i].failed_by(t) {
                    let value = failed_lease_value_usd(
                        lease,
                        &self.leases[i],
                        failed,
                        known,
                        next,
                        rate,
                        market.ai_demand[t],
                        self.leases[i].guarantor_stands(t),
                    );
                    return (AssetClass::LeasedSites, value);
                }
                let net = lease.rent_usd[known] - lease.opex_usd[known];
                let value = net.max(0.0) * annuity_factor(remaining as i32, rate);
                // Once the rent runs there is nothing to wait for (a factor of exactly 1).
                let value = if first == next {
                    value
                } else {
                    value * (1.0 + rate / 12.0).powi(-((first - next) as i32))
                };
                (AssetClass::LeasedSites, value)
            }
            AssetRef::GpuCloud(i) => {
                let cloud = &borrower.gpu_clouds[i];
                if self.entities[cloud.entity].defaulted {
                    return (AssetClass::Gpus, 0.0);
                }
                let next = t as i64 + 1;
                let first = self.cloud_start_t[i].max(next);
                let remaining = cloud.end_t - first;
                if remaining <= 0 {
                    return (AssetClass::Gpus, 0.0);
                }
                let net = gpu_revenue_usd(cloud, market, t, self.offtaker_default_t[i])
                    - cloud.power_mw * HOURS_PER_MONTH * self.power_price(cloud.site)
                    - cloud.gpu_count * HOURS_PER_MONTH * cloud.opex_usd_per_gpu_hour;
                let delay = tabulated(&self.discounts.gpu_delay, first - next, || {
                    (1.0 + GPU_DISCOUNT_RATE / 12.0).powi(-((first - next) as i32))
                });
                let annuity = tabulated(&self.discounts.gpu_annuity, remaining, || {
                    annuity_factor(remaining as i32, GPU_DISCOUNT_RATE)
                });
                (
                    AssetClass::Gpus,
                    net.max(0.0) * annuity * delay * market.gpu_resale_factor[t],
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
            AssetRef::Treasury => (AssetClass::Btc, self.btc_held * market.btc_price_usd[t]),
            AssetRef::Pledge(d) => (
                AssetClass::Btc,
                self.debts[d].pledged_btc * market.btc_price_usd[t],
            ),
        }
    }

    /// Every asset of the borrower at market value, by class.
    fn by_class(&self) -> CollateralValues {
        let mut values = CollateralValues::default();
        for &asset in &self.borrower.all_assets {
            let (class, value) = self.value(asset);
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
}

/// The class of an asset in [`CollateralValues`].
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

/// Value of the collateral at `slots` of `Borrower::collateral_assets` (USD).
fn slots_value_usd(asset_values: &[f64], slots: &[usize]) -> f64 {
    slots.iter().map(|&slot| asset_values[slot]).sum()
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

/// The entity that owns an asset: leases and GPU clouds belong to the entity they feed;
/// sites, fleets and BTC to the parent.
fn asset_entity(borrower: &Borrower, asset: AssetRef) -> usize {
    match asset {
        AssetRef::Lease(i) => borrower.leases[i].entity,
        AssetRef::GpuCloud(i) => borrower.gpu_clouds[i].entity,
        AssetRef::Pledge(d) => borrower.debts[d].entity,
        AssetRef::Site(_) | AssetRef::Fleet(_) | AssetRef::Treasury => 0,
    }
}

/// What a path's defaults cost each instrument's lenders: the estate's assets sold into
/// liquidation markets at `prices` (shared by every borrower defaulting on the same market
/// path), workout costs and time, proceeds by security then seniority, deficiency claims with
/// the unsecured debt. A debt service reserve counts as recovered by its lender.
pub fn recover(summary: &PathSummary, prices: &LiquidationPrices) -> Recoveries {
    let mut recoveries = recover_estate(&summary.estate, prices, &summary.recovery_terms);
    for (claim, outcome) in recoveries.per_claim.iter_mut().zip(summary.debt_outcomes()) {
        let reserve = outcome.dsra_at_default_usd;
        if outcome.default.is_some() && reserve > 0.0 {
            claim.ead_usd += reserve;
            claim.recovered_usd += reserve;
            claim.secured_recovery_usd += reserve;
            claim.lgd =
                (claim.ead_usd > 0.0).then(|| (claim.loss_usd / claim.ead_usd).clamp(0.0, 1.0));
            recoveries.total_ead_usd += reserve;
            recoveries.total_recovered_usd += reserve;
        }
    }
    recoveries
}

/// A lease's income in month `t` (USD): the contracted rent while the tenant stands; after
/// its default, the rent of a new lease once the downtime has passed (the contracted rent ×
/// the re-letting share × AI demand), and the backstop's payment of the rest of the
/// contracted rent while its guarantor stands and its cap is not used up.
fn lease_income_usd(
    lease: &LeasePlan,
    state: &mut LeaseState,
    market: &MarketPath,
    t: usize,
) -> f64 {
    let contract = lease.rent_usd[t];
    let Some(failed) = state.failed_by(t) else {
        return contract;
    };
    let relet = if t as i64 >= failed as i64 + lease.re_lease_downtime_months {
        contract * lease.re_lease_rent_fraction * market.ai_demand[t]
    } else {
        0.0
    };
    let backstop = if state.guarantor_stands(t) {
        (contract - relet).max(0.0).min(state.backstop_left_usd)
    } else {
        0.0
    };
    state.backstop_left_usd -= backstop;
    relet + backstop
}

/// Value of a lease whose tenant failed in month `failed`, at the end of the month before
/// `next` (USD): the re-let rent from the end of the downtime to the end of the term, plus
/// what the backstop can still pay of the contracted rent (while its guarantor stands), less
/// the landlord's opex, all at the lease discount rate; rent and opex at their level of month
/// `known`.
#[allow(clippy::too_many_arguments)]
fn failed_lease_value_usd(
    lease: &LeasePlan,
    state: &LeaseState,
    failed: usize,
    known: usize,
    next: i64,
    annual_rate: f64,
    ai_demand: f64,
    guarantor_stands: bool,
) -> f64 {
    let remaining = (lease.end_t - next).max(0) as i32;
    let contract = lease.rent_usd[known];
    let relet_start = (failed as i64 + lease.re_lease_downtime_months).max(next);
    let wait = (relet_start - next).min(i64::from(remaining)) as i32;
    let relet = contract * lease.re_lease_rent_fraction * ai_demand;
    let relet_value = relet
        * annuity_factor(remaining - wait, annual_rate)
        * (1.0 + annual_rate / 12.0).powi(-wait);
    let contract_value = contract * annuity_factor(remaining, annual_rate);
    let backstop_value = if guarantor_stands {
        (contract_value - relet_value)
            .max(0.0)
            .min(state.backstop_left_usd)
    } else {
        0.0
    };
    let opex_value = lease.opex_usd[known] * annuity_factor(remaining, annual_rate);
    (relet_value + backstop_value - opex_value).max(0.0)
}

/// The borrower's net asset value at the end of the first month of `base` (USD): what the
/// shareholders' stake is worth at the start, for the equity IRR of every path.
pub(crate) fn opening_net_asset_value(borrower: &Borrower, base: &MarketPath) -> f64 {
    let months = borrower.horizon_months.min(base.months());
    if months == 0 {
        return 0.0;
    }
    let mut buffers = PathBuffers::new(borrower);
    let run = PathRun::new(borrower, base, &mut buffers, months);
    run.net_asset_value(0)
}
