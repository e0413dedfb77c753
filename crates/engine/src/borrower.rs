//! A scenario's borrower compiled for the hot loop: names resolved to indices, schedules that
//! do not depend on the market laid out month by month, project-finance debt sized once.

use bitwatt_model::{
    Debt, DebtKind, HOURS_PER_MONTH, HedgeKind, MAX_DEBT_INSTRUMENTS, MachineModel, Market,
    Renewal, Scenario, Schedule, Seniority, YearMonth, asic_band, find_catalog_model,
};

use crate::idiosyncratic::IdiosyncraticPlan;
use crate::market::{MarketPath, base_market_path};
use crate::recovery::{
    ClassMarkets, LiquidationClass, LiquidationMarket, MAX_ESTATE_ASSETS, RecoveryTerms,
};
use crate::waterfall::{opening_net_asset_value, project_ebitda_usd};

/// The borrower of a scenario, ready for [`crate::run_path`].
#[derive(Clone, Debug)]
pub struct Borrower {
    /// Name shown in reports.
    pub name: String,
    /// First month.
    pub start_month: YearMonth,
    /// Months projected.
    pub horizon_months: usize,
    /// Cash at the start (USD).
    pub opening_cash_usd: f64,
    /// Number of legal entities: the parent (0) and one project company per ring-fenced loan.
    pub entities: usize,
    /// Sites.
    pub sites: Vec<SitePlan>,
    /// Mining fleets.
    pub fleets: Vec<FleetPlan>,
    /// Colocation leases.
    pub leases: Vec<LeasePlan>,
    /// GPU clouds.
    pub gpu_clouds: Vec<GpuPlan>,
    /// Conversions.
    pub conversions: Vec<ConversionPlan>,
    /// Debt instruments.
    pub debts: Vec<DebtPlan>,
    /// BTC held at the start.
    pub opening_btc: f64,
    /// Share of mined BTC sold in the month it is mined.
    pub sell_mined_fraction: f64,
    /// Corporate overhead and site operations by month (USD), parent company.
    pub overhead_usd: Vec<f64>,
    /// Maintenance capex by month (USD), parent company.
    pub maintenance_capex_usd: Vec<f64>,
    /// Tax rate on taxable income.
    pub tax_rate: f64,
    /// Straight-line tax life of capex (months).
    pub depreciation_months: usize,
    /// Tax depreciation of the opening basis each month (USD) for `depreciation_months`.
    pub opening_depreciation_usd: f64,
    /// Every asset of the borrower.
    pub all_assets: Vec<AssetRef>,
    /// Every asset securing some instrument (union over instruments), valued each month.
    pub collateral_assets: Vec<AssetRef>,
    /// Slots in `collateral_assets` of the assets securing senior secured debt.
    pub secured_slots: Vec<usize>,
    /// Share of parent cash above `minimum_cash_usd` paid out each month.
    pub distribution_fraction: f64,
    /// Parent cash kept before distributions (USD).
    pub minimum_cash_usd: f64,
    /// Hedges settled monthly.
    pub hedges: Vec<HedgePlan>,
    /// At-the-market equity: the most raised a month (USD, gross) and the share kept after
    /// the discount and fees.
    pub equity_issuance: Option<EquityIssuancePlan>,
    /// Workout terms after a default.
    pub recovery_terms: RecoveryTerms,
    /// The calm liquidation markets by kind (ASICs, GPUs, BTC, sites).
    pub liquidation_markets: ClassMarkets,
    /// Net asset value at the start, valued on the base case: the shareholders' stake that
    /// every path's equity IRR starts from (USD).
    pub opening_nav_usd: f64,
    /// The borrower's own random risks (site outages, conversion delays), drawn per path into
    /// [`crate::PathBuffers::idiosyncratic`].
    pub idiosyncratic: IdiosyncraticPlan,
}

/// A site.
#[derive(Clone, Debug)]
pub struct SitePlan {
    /// Name.
    pub name: String,
    /// Grid connection (MW).
    pub grid_capacity_mw: f64,
    /// PUE of mining load.
    pub pue: f64,
    /// PUE of AI load.
    pub ai_pue: f64,
    /// PPA: price (USD/MWh), share of load, last month index (inclusive; negative: ended).
    pub ppa: Option<(f64, f64, i32)>,
    /// Share of non-PPA load at spot.
    pub market_exposure: f64,
    /// Fixed tariff for the rest (USD/MWh).
    pub tariff_usd_per_mwh: f64,
    /// Delivery charges on every MWh (USD/MWh).
    pub delivery_usd_per_mwh: f64,
    /// Share of time the site is up.
    pub availability: f64,
    /// Bare powered-site value (USD per MW of grid).
    pub powered_site_value_usd_per_mw: f64,
    /// Grid power left for mining each month after conversions (MW at the meter).
    pub mining_budget_mw: Vec<f64>,
}

impl SitePlan {
    /// Cash price of a MWh drawn in month `t` at spot price `spot` (USD/MWh), and the
    /// PPA's price and share where one runs.
    pub fn power_price_usd_per_mwh(&self, t: usize, spot: f64) -> (f64, f64, f64) {
        let (ppa_price, ppa_share) = match self.ppa {
            Some((price, share, end)) if (t as i32) <= end => (price, share),
            _ => (0.0, 0.0),
        };
        let rest =
            self.market_exposure * spot + (1.0 - self.market_exposure) * self.tariff_usd_per_mwh;
        (
            ppa_share * ppa_price + (1.0 - ppa_share) * rest + self.delivery_usd_per_mwh,
            ppa_price,
            ppa_share,
        )
    }
}

/// A mining fleet.
#[derive(Clone, Debug)]
pub struct FleetPlan {
    /// Name.
    pub name: String,
    /// Site index.
    pub site: usize,
    /// Machines at the start.
    pub count: f64,
    /// TH/s per machine at the start.
    pub hashrate_ths_per_machine: f64,
    /// Wall power per machine (W).
    pub power_w_per_machine: f64,
    /// Age at the start (months).
    pub age_months: u32,
    /// Share of time hashing.
    pub uptime: f64,
    /// Pool fee share.
    pub pool_fee: f64,
    /// Economic curtailment on.
    pub economic_curtailment: bool,
    /// Sell curtailed PPA power at spot.
    pub power_credit_sales: bool,
    /// Renewal policy.
    pub renewal: Renewal,
    /// Life (months).
    pub life_months: u32,
    /// Frontier price at the start (USD per TH/s); it falls with efficiency.
    pub renewal_price_usd_per_th: f64,
}

/// A colocation lease.
#[derive(Clone, Debug)]
pub struct LeasePlan {
    /// Name.
    pub name: String,
    /// Site index.
    pub site: usize,
    /// Entity that owns it.
    pub entity: usize,
    /// Critical IT MW.
    pub critical_it_mw: f64,
    /// Rent by month (USD), zero outside the term.
    pub rent_usd: Vec<f64>,
    /// Landlord opex by month (USD).
    pub opex_usd: Vec<f64>,
    /// Last month index of the term (exclusive).
    pub end_t: i64,
    /// Tenant name.
    pub tenant: String,
    /// Tenant's base annual default probability.
    pub tenant_default_probability: f64,
    /// Backstop guarantor and cap (USD).
    pub backstop: Option<(String, f64)>,
    /// After the tenant's default: months empty before the capacity is let again.
    pub re_lease_downtime_months: i64,
    /// After the tenant's default: the new rent as a share of the contracted rent (scaled by
    /// AI demand).
    pub re_lease_rent_fraction: f64,
}

/// A GPU cloud.
#[derive(Clone, Debug)]
pub struct GpuPlan {
    /// Name.
    pub name: String,
    /// Site index.
    pub site: usize,
    /// Entity that owns it.
    pub entity: usize,
    /// Generation index in `market.gpu.generations`.
    pub generation: usize,
    /// GPUs.
    pub gpu_count: f64,
    /// Capex (USD) and the month index it is paid (none if before the start).
    pub capex: Option<(usize, f64)>,
    /// First month index of service (may be negative: already running).
    pub start_t: i64,
    /// End of service (exclusive).
    pub end_t: i64,
    /// Contracted share.
    pub contracted: f64,
    /// Contract rate (USD per GPU-hour).
    pub contract_rate_usd_per_gpu_hour: f64,
    /// End of the contract (exclusive month index).
    pub contract_end_t: i64,
    /// Facility power (MW at the meter, with the AI PUE).
    pub power_mw: f64,
    /// Opex per GPU-hour (USD).
    pub opex_usd_per_gpu_hour: f64,
    /// The offtaker of the contracted share, if named: when it defaults, the contracted
    /// share is rented at the market.
    pub offtaker: Option<String>,
}

/// A conversion of mining MW to AI.
#[derive(Clone, Debug)]
pub struct ConversionPlan {
    /// Name.
    pub name: String,
    /// Entity that owns it.
    pub entity: usize,
    /// Construction capex by month (USD).
    pub capex_usd: Vec<f64>,
    /// Total capex (USD).
    pub total_capex_usd: f64,
    /// Month index construction completes (the first month the capacity serves).
    pub completion_t: i64,
}

/// A hedge with its terms in month indices.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HedgePlan {
    /// The kind of hedge.
    pub kind: HedgeKind,
    /// Entity that holds it: the hedged debt's for an interest-rate hedge, else the parent.
    pub entity: usize,
    /// First month settled.
    pub start_t: i64,
    /// Last month settled.
    pub end_t: i64,
    /// BTC covered a month (BTC hedges).
    pub btc_per_month: f64,
    /// Put strike (USD).
    pub put_strike_usd: f64,
    /// Call strike sold (USD; infinite without one).
    pub call_strike_usd: f64,
    /// Hedged debt (interest-rate hedges).
    pub debt: Option<usize>,
    /// Fixed notional (USD); `None`: the hedged debt's balance.
    pub notional_usd: Option<f64>,
    /// Swap fixed rate or cap strike (fraction a year).
    pub strike_rate: f64,
    /// Premium a month (USD).
    pub premium_usd_per_month: f64,
}

impl HedgePlan {
    /// Net settlement to the holder in month `t` (USD, negative when it pays): the payoff at
    /// the month's average BTC price `price` or SOFR `sofr`, less the premium.
    pub fn settlement_usd(&self, t: usize, price: f64, sofr: f64, debt_balance: f64) -> f64 {
        let tt = t as i64;
        if tt < self.start_t || tt > self.end_t {
            return 0.0;
        }
        let payoff = match self.kind {
            HedgeKind::BtcPut => self.btc_per_month * (self.put_strike_usd - price).max(0.0),
            HedgeKind::BtcCollar => {
                self.btc_per_month
                    * ((self.put_strike_usd - price).max(0.0)
                        - (price - self.call_strike_usd).max(0.0))
            }
            HedgeKind::InterestRateSwap => {
                self.notional_usd.unwrap_or(debt_balance) * (sofr - self.strike_rate) / 12.0
            }
            HedgeKind::InterestRateCap => {
                self.notional_usd.unwrap_or(debt_balance) * (sofr - self.strike_rate).max(0.0)
                    / 12.0
            }
        };
        payoff - self.premium_usd_per_month
    }
}

/// At-the-market equity issuance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EquityIssuancePlan {
    /// Most sold a month (USD, gross).
    pub max_gross_usd_per_month: f64,
    /// Share of the gross amount the borrower receives.
    pub net_fraction: f64,
}

/// How a debt's rate is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// A fixed rate (fraction a year).
    Fixed(f64),
    /// SOFR plus a margin (fraction a year).
    Floating(f64),
}

impl Rate {
    /// Annual rate at SOFR `sofr` (fractions).
    pub fn annual(self, sofr: f64) -> f64 {
        match self {
            Rate::Fixed(rate) => rate,
            Rate::Floating(margin) => sofr + margin,
        }
    }
}

/// A debt instrument with its schedules laid out by month.
#[derive(Clone, Debug)]
pub struct DebtPlan {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: DebtKind,
    /// Entity that owes it.
    pub entity: usize,
    /// Rate.
    pub rate: Rate,
    /// Balance at the start (USD): drawn before the start, less repayments to date.
    pub opening_balance_usd: f64,
    /// Draws by month (USD).
    pub draws_usd: Vec<f64>,
    /// Whether interest is capitalised in month `t` (construction).
    pub capitalise_until_t: i64,
    /// Scheduled principal by month as a fraction of the balance when amortisation starts.
    pub repayment_fraction: Vec<f64>,
    /// First month of amortisation.
    pub amortisation_start_t: i64,
    /// Month index the balance is due (may be past the horizon).
    pub maturity_t: i64,
    /// Months of debt service kept in the reserve.
    pub dsra_months: usize,
    /// Trailing DSCR window (months).
    pub dscr_window_months: usize,
    /// First covenant test month (a calendar quarter end).
    pub first_test_t: i64,
    /// Lock-up DSCR.
    pub lock_up_dscr: Option<f64>,
    /// Default DSCR.
    pub default_dscr: Option<f64>,
    /// Maximum LTV (fraction).
    pub max_ltv: Option<f64>,
    /// Equity cures allowed.
    pub equity_cures: u32,
    /// Upfront fee as a fraction of each draw.
    pub upfront_fee_fraction: f64,
    /// Seniority.
    pub seniority: Seniority,
    /// Collateral: the assets securing it.
    pub collateral: Vec<AssetRef>,
    /// The collateral's slots in `Borrower::collateral_assets`.
    pub collateral_slots: Vec<usize>,
    /// Committed amount (USD), after sizing.
    pub commitment_usd: f64,
    /// The debt's market spread (fraction a year), if given.
    pub market_spread: Option<f64>,
    /// Borrowing base: the advance rate on the collateral's value by month (fraction);
    /// empty when the debt has no borrowing base.
    pub advance_rate: Vec<f64>,
    /// Fee on the undrawn commitment (fraction a month).
    pub commitment_fee_per_month: f64,
    /// High-yield call price by month (fraction of the principal; 0: not callable); empty
    /// when the bond has no call schedule.
    pub call_price: Vec<f64>,
    /// BTC pledged from the treasury (BTC-backed loans).
    pub btc_pledged: f64,
    /// LTV at which the lender calls for collateral (fraction).
    pub margin_call_ltv: f64,
    /// LTV at which the lender sells the pledged BTC (fraction).
    pub liquidation_ltv: f64,
    /// LTV a margin call restores (fraction): the scenario's, or the LTV at the draw on the
    /// base case.
    pub top_up_ltv: Option<f64>,
    /// How the balance at maturity may be refinanced.
    pub refinancing: Option<RefinancingPlan>,
    /// Incurrence covenant: most net debt over LTM EBITDA at which new debt or distributions
    /// are allowed.
    pub incurrence_max_net_leverage: Option<f64>,
    /// One past the last month of the draw window.
    pub draw_window_end_t: i64,
}

/// The terms on which a maturing balance is refinanced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefinancingPlan {
    /// Months before maturity in which the refinancing can be arranged.
    pub window_months: i64,
    /// Trailing twelve-month DSCR the new lender requires.
    pub min_dscr: f64,
    /// Rate of the new loan.
    pub rate: Rate,
    /// Months to the new maturity.
    pub tenor_months: i64,
}

/// An asset that can secure debt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssetRef {
    /// A site's bare powered land.
    Site(usize),
    /// A mining fleet.
    Fleet(usize),
    /// A colocation lease (the contracted site).
    Lease(usize),
    /// A GPU cloud.
    GpuCloud(usize),
    /// The BTC treasury (the BTC not pledged).
    Treasury,
    /// The BTC pledged to a BTC-backed loan (its index).
    Pledge(usize),
}

/// Why a scenario cannot be compiled (names are checked by validation; this is what remains).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CompileError {
    /// A reference to a name that does not exist.
    #[error("{field}: no {kind} named {name:?}")]
    Unknown {
        /// Field path.
        field: String,
        /// What kind of thing was looked for.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// Too many debt instruments.
    #[error("debt: {0} instruments; at most {MAX_DEBT_INSTRUMENTS} are supported")]
    TooManyDebts(usize),
    /// Too many assets for a default's estate.
    #[error(
        "{0} assets (sites, fleets, leases, GPU clouds, the treasury and each BTC pledge); at most {MAX_ESTATE_ASSETS} are supported"
    )]
    TooManyAssets(usize),
}

impl Borrower {
    /// Compiles a validated scenario; sizes sculpted project-finance debt on the base case.
    pub fn new(scenario: &Scenario) -> Result<Borrower, CompileError> {
        Borrower::with_base_path(scenario, &base_market_path(scenario))
    }

    /// Compiles a validated scenario, sizing sculpted debt on `base` (the base market path).
    pub fn with_base_path(
        scenario: &Scenario,
        base: &MarketPath,
    ) -> Result<Borrower, CompileError> {
        if scenario.debt.len() > MAX_DEBT_INSTRUMENTS {
            return Err(CompileError::TooManyDebts(scenario.debt.len()));
        }
        let start = scenario.first_month();
        let months = scenario.horizon_months as usize;
        let t_of = |month: YearMonth| i64::from(month.months_since(start));
        let site_index = |field: String, name: &str| {
            scenario
                .site
                .iter()
                .position(|s| s.name == name)
                .ok_or(CompileError::Unknown {
                    field,
                    kind: "site",
                    name: name.to_string(),
                })
        };

        // Entities: one project company per ring-fenced loan, holding the conversion it funds
        // and the lease or GPU cloud that conversion feeds.
        let mut conversion_entity = vec![0; scenario.conversion.len()];
        let mut entities = 1;
        let mut debt_entity = vec![0; scenario.debt.len()];
        for (i, debt) in scenario.debt.iter().enumerate() {
            if let (true, Some(funds)) = (debt.ring_fenced, &debt.funds) {
                let c = conversion_index(scenario, i, funds)?;
                if conversion_entity[c] == 0 {
                    conversion_entity[c] = entities;
                    entities += 1;
                }
                debt_entity[i] = conversion_entity[c];
            }
        }
        let fed_entity = |name: &str| {
            scenario
                .conversion
                .iter()
                .zip(&conversion_entity)
                .find(|(c, _)| c.feeds == name)
                .map_or(0, |(_, &e)| e)
        };

        let mut sites = Vec::with_capacity(scenario.site.len());
        for site in &scenario.site {
            let mut budget = vec![site.grid_capacity_mw; months];
            for conversion in scenario.conversion.iter().filter(|c| c.site == site.name) {
                let from = t_of(conversion.start_month).max(0) as usize;
                for mw in budget.iter_mut().skip(from) {
                    *mw -= conversion.critical_it_mw * site.ai_pue;
                }
            }
            for lease in scenario.colocation_lease.iter().filter(|l| {
                l.site == site.name && !scenario.conversion.iter().any(|c| c.feeds == l.name)
            }) {
                // Capacity leased without a conversion in the file was built before the start.
                for mw in &mut budget {
                    *mw -= lease.critical_it_mw * site.ai_pue;
                }
            }
            for mw in &mut budget {
                *mw = mw.max(0.0);
            }
            sites.push(SitePlan {
                name: site.name.clone(),
                grid_capacity_mw: site.grid_capacity_mw,
                pue: site.pue,
                ai_pue: site.ai_pue,
                ppa: site.ppa.as_ref().map(|p| {
                    (
                        p.price_usd_per_mwh,
                        p.share_percent / 100.0,
                        t_of(p.end_month).clamp(-1, months as i64) as i32,
                    )
                }),
                market_exposure: site.market_exposure_percent / 100.0,
                tariff_usd_per_mwh: site.tariff_usd_per_mwh,
                delivery_usd_per_mwh: site.delivery_usd_per_mwh,
                availability: 1.0 - site.outage_days_per_year / 365.25,
                powered_site_value_usd_per_mw: site.powered_site_value_usd_per_mw,
                mining_budget_mw: budget,
            });
        }

        let mut fleets = Vec::with_capacity(scenario.mining_fleet.len());
        for (i, fleet) in scenario.mining_fleet.iter().enumerate() {
            let model = match &fleet.model {
                MachineModel::Catalog(name) => {
                    find_catalog_model(name).ok_or_else(|| CompileError::Unknown {
                        field: format!("mining_fleet[{i}].model"),
                        kind: "catalog model",
                        name: name.clone(),
                    })?
                }
                MachineModel::Inline(model) => model.clone(),
            };
            fleets.push(FleetPlan {
                name: fleet.name.clone(),
                site: site_index(format!("mining_fleet[{i}].site"), &fleet.site)?,
                count: f64::from(fleet.count),
                hashrate_ths_per_machine: model.hashrate_ths,
                power_w_per_machine: model.power_w,
                age_months: fleet.age_months,
                uptime: fleet.uptime_percent / 100.0,
                pool_fee: fleet.pool_fee_percent / 100.0,
                economic_curtailment: fleet.economic_curtailment,
                power_credit_sales: fleet.power_credit_sales,
                renewal: fleet.renewal,
                life_months: fleet.life_months,
                renewal_price_usd_per_th: fleet.renewal_price_usd_per_th,
            });
        }

        let escalation_per_year = 1.0 + scenario.opex.escalation_percent_per_year / 100.0;
        let escalation = |t: usize| escalation_per_year.powf(t as f64 / 12.0);
        let mut leases = Vec::with_capacity(scenario.colocation_lease.len());
        for (i, lease) in scenario.colocation_lease.iter().enumerate() {
            let start_t = t_of(lease.start_month);
            let end_t = start_t + i64::from(lease.tenor_months);
            let kw = lease.critical_it_mw * 1_000.0;
            let in_term = |t: usize| (start_t..end_t).contains(&(t as i64));
            leases.push(LeasePlan {
                name: lease.name.clone(),
                site: site_index(format!("colocation_lease[{i}].site"), &lease.site)?,
                entity: fed_entity(&lease.name),
                critical_it_mw: lease.critical_it_mw,
                rent_usd: (0..months)
                    .map(|t| {
                        if !in_term(t) {
                            return 0.0;
                        }
                        let lease_years = (t as i64 - start_t) / 12;
                        kw * lease.rent_usd_per_kw_month
                            * (1.0 + lease.escalator_percent_per_year / 100.0)
                                .powi(lease_years as i32)
                    })
                    .collect(),
                opex_usd: (0..months)
                    .map(|t| {
                        if in_term(t) {
                            kw * lease.opex_usd_per_kw_month * escalation(t)
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                end_t,
                tenant: lease.tenant.name.clone(),
                tenant_default_probability: lease.tenant.default_probability_percent_per_year
                    / 100.0,
                backstop: lease
                    .backstop
                    .as_ref()
                    .map(|b| (b.guarantor.name.clone(), b.cap_usd)),
                re_lease_downtime_months: i64::from(lease.re_lease_downtime_months),
                re_lease_rent_fraction: lease.re_lease_rent_percent / 100.0,
            });
        }

        let mut gpu_clouds = Vec::with_capacity(scenario.gpu_cloud.len());
        for (i, cloud) in scenario.gpu_cloud.iter().enumerate() {
            let site = site_index(format!("gpu_cloud[{i}].site"), &cloud.site)?;
            let generation = scenario
                .market
                .gpu
                .generations
                .iter()
                .position(|g| g.name == cloud.generation)
                .ok_or_else(|| CompileError::Unknown {
                    field: format!("gpu_cloud[{i}].generation"),
                    kind: "GPU generation",
                    name: cloud.generation.clone(),
                })?;
            let start_t = t_of(cloud.start_month);
            let count = f64::from(cloud.gpu_count);
            gpu_clouds.push(GpuPlan {
                name: cloud.name.clone(),
                site,
                entity: fed_entity(&cloud.name),
                generation,
                gpu_count: count,
                capex: (start_t >= 0 && start_t < months as i64)
                    .then_some((start_t as usize, count * cloud.capex_usd_per_gpu)),
                start_t,
                end_t: start_t + i64::from(cloud.life_months),
                contracted: cloud.contracted_percent / 100.0,
                contract_rate_usd_per_gpu_hour: cloud.contract_rate_usd_per_gpu_hour,
                contract_end_t: start_t + i64::from(cloud.contract_tenor_months),
                power_mw: count * cloud.power_kw_per_gpu / 1_000.0 * scenario.site[site].ai_pue,
                opex_usd_per_gpu_hour: cloud.opex_usd_per_gpu_hour,
                offtaker: cloud.offtaker.as_ref().map(|o| o.name.clone()),
            });
        }

        let conversions: Vec<ConversionPlan> = scenario
            .conversion
            .iter()
            .zip(&conversion_entity)
            .map(|(c, &entity)| {
                let start_t = t_of(c.start_month);
                let end_t = start_t + i64::from(c.duration_months);
                let total = c.capex_usd_per_mw * c.critical_it_mw;
                let per_month = total / f64::from(c.duration_months);
                ConversionPlan {
                    name: c.name.clone(),
                    entity,
                    capex_usd: (0..months as i64)
                        .map(|t| {
                            if (start_t..end_t).contains(&t) {
                                per_month
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                    total_capex_usd: total,
                    completion_t: end_t,
                }
            })
            .collect();

        // Site operations and maintenance scale with the MW left to mining; the AI load's
        // costs sit in its lease or GPU opex.
        let mining_mw: Vec<f64> = (0..months)
            .map(|t| sites.iter().map(|s| s.mining_budget_mw[t]).sum())
            .collect();
        let opex = &scenario.opex;
        let mut borrower = Borrower {
            name: scenario.name.clone(),
            start_month: start,
            horizon_months: months,
            opening_cash_usd: scenario.opening_cash_usd,
            entities,
            sites,
            fleets,
            leases,
            gpu_clouds,
            conversions,
            debts: Vec::with_capacity(scenario.debt.len()),
            opening_btc: scenario.treasury.btc_held,
            sell_mined_fraction: scenario.treasury.sell_mined_percent / 100.0,
            overhead_usd: (0..months)
                .map(|t| {
                    (opex.fixed_usd_per_month + opex.site_usd_per_mw_month * mining_mw[t])
                        * escalation(t)
                })
                .collect(),
            maintenance_capex_usd: (0..months)
                .map(|t| opex.maintenance_capex_usd_per_mw_month * mining_mw[t] * escalation(t))
                .collect(),
            tax_rate: scenario.tax.rate_percent / 100.0,
            depreciation_months: scenario.tax.depreciation_months as usize,
            opening_depreciation_usd: scenario.tax.opening_tax_basis_usd
                / f64::from(scenario.tax.depreciation_months),
            all_assets: (0..scenario.site.len())
                .map(AssetRef::Site)
                .chain((0..scenario.mining_fleet.len()).map(AssetRef::Fleet))
                .chain((0..scenario.colocation_lease.len()).map(AssetRef::Lease))
                .chain((0..scenario.gpu_cloud.len()).map(AssetRef::GpuCloud))
                .chain(std::iter::once(AssetRef::Treasury))
                .collect(),
            collateral_assets: Vec::new(),
            secured_slots: Vec::new(),
            distribution_fraction: scenario.distributions.excess_cash_percent / 100.0,
            minimum_cash_usd: scenario.distributions.minimum_cash_usd,
            hedges: Vec::with_capacity(scenario.hedge.len()),
            equity_issuance: scenario
                .equity_issuance
                .as_ref()
                .map(|atm| EquityIssuancePlan {
                    max_gross_usd_per_month: atm.max_usd_per_month,
                    net_fraction: 1.0 - atm.discount_percent / 100.0,
                }),
            recovery_terms: RecoveryTerms {
                workout_months: scenario.recovery.workout_months,
                workout_cost_fraction: scenario.recovery.workout_cost_percent / 100.0,
            },
            liquidation_markets: liquidation_markets(&scenario.market),
            opening_nav_usd: 0.0,
            idiosyncratic: IdiosyncraticPlan::new(scenario, t_of),
        };
        for (i, debt) in scenario.debt.iter().enumerate() {
            let plan = debt_plan(scenario, &borrower, base, i, debt, debt_entity[i])?;
            borrower.debts.push(plan);
        }
        for (i, hedge) in scenario.hedge.iter().enumerate() {
            let debt = match &hedge.debt {
                None => None,
                Some(name) => Some(
                    scenario
                        .debt
                        .iter()
                        .position(|d| &d.name == name)
                        .ok_or_else(|| CompileError::Unknown {
                            field: format!("hedge[{i}].debt"),
                            kind: "debt",
                            name: name.clone(),
                        })?,
                ),
            };
            borrower.hedges.push(HedgePlan {
                kind: hedge.kind,
                entity: debt.map_or(0, |d| debt_entity[d]),
                start_t: t_of(hedge.start_month),
                end_t: t_of(hedge.end_month),
                btc_per_month: hedge.btc_per_month.unwrap_or(0.0),
                put_strike_usd: hedge.put_strike_usd.unwrap_or(0.0),
                call_strike_usd: hedge.call_strike_usd.unwrap_or(f64::INFINITY),
                debt,
                notional_usd: hedge.notional_usd,
                strike_rate: hedge
                    .fixed_rate_percent
                    .or(hedge.cap_strike_percent)
                    .unwrap_or(0.0)
                    / 100.0,
                premium_usd_per_month: hedge.premium_usd_per_month,
            });
        }
        borrower.all_assets.extend(
            (0..borrower.debts.len())
                .filter(|&d| borrower.debts[d].kind == DebtKind::BtcBacked)
                .map(AssetRef::Pledge),
        );
        if borrower.all_assets.len() > MAX_ESTATE_ASSETS {
            return Err(CompileError::TooManyAssets(borrower.all_assets.len()));
        }
        for d in 0..borrower.debts.len() {
            if borrower.debts[d].kind == DebtKind::BtcBacked {
                borrower.debts[d].collateral = vec![AssetRef::Pledge(d)];
            }
            let mut slots = Vec::with_capacity(borrower.debts[d].collateral.len());
            for &asset in &borrower.debts[d].collateral {
                let slot = match borrower.collateral_assets.iter().position(|&a| a == asset) {
                    Some(slot) => slot,
                    None => {
                        borrower.collateral_assets.push(asset);
                        borrower.collateral_assets.len() - 1
                    }
                };
                slots.push(slot);
                if borrower.debts[d].seniority == Seniority::SeniorSecured
                    && !borrower.secured_slots.contains(&slot)
                {
                    borrower.secured_slots.push(slot);
                }
            }
            borrower.debts[d].collateral_slots = slots;
        }
        borrower.opening_nav_usd = opening_net_asset_value(&borrower, base);
        Ok(borrower)
    }

    /// Hours of GPU time in a month.
    pub fn gpu_hours_per_month() -> f64 {
        HOURS_PER_MONTH
    }
}

fn conversion_index(scenario: &Scenario, debt: usize, name: &str) -> Result<usize, CompileError> {
    scenario
        .conversion
        .iter()
        .position(|c| c.name == name)
        .ok_or(CompileError::Unknown {
            field: format!("debt[{debt}].funds"),
            kind: "conversion",
            name: name.to_string(),
        })
}

/// The first calendar-quarter end at least three months after `from` (so the first tested
/// quarter is a full quarter after `from`).
fn first_full_quarter_end(start: YearMonth, from_t: i64) -> i64 {
    let month_of_year = |t: i64| (i64::from(start.month()) - 1 + t).rem_euclid(12);
    // First month of the next quarter at or after `from_t`.
    let mut quarter_start = from_t;
    while month_of_year(quarter_start) % 3 != 0 {
        quarter_start += 1;
    }
    quarter_start + 2
}

fn debt_plan(
    scenario: &Scenario,
    borrower: &Borrower,
    base: &MarketPath,
    index: usize,
    debt: &Debt,
    entity: usize,
) -> Result<DebtPlan, CompileError> {
    let start = borrower.start_month;
    let months = borrower.horizon_months;
    let t_of = |month: YearMonth| i64::from(month.months_since(start));
    let rate = match (debt.fixed_rate_percent, debt.margin_bps) {
        (Some(fixed), _) => Rate::Fixed(fixed / 100.0),
        (None, margin) => Rate::Floating(margin.unwrap_or(0.0) / 10_000.0),
    };
    let maturity_t = t_of(debt.maturity_month);
    let funded = debt
        .funds
        .as_ref()
        .map(|name| conversion_index(scenario, index, name))
        .transpose()?;
    let mut draws_usd = vec![0.0; months];
    let mut opening_balance_usd = 0.0;
    let (draw_end_t, commitment_usd) = match (debt.kind, funded) {
        (DebtKind::ProjectFinance, Some(c)) => {
            let conversion = &borrower.conversions[c];
            let loan_to_cost = debt.loan_to_cost_percent.unwrap_or(100.0) / 100.0;
            let by_cost = loan_to_cost * conversion.total_capex_usd;
            let cap = debt.principal_usd.unwrap_or(f64::INFINITY);
            (conversion.completion_t, by_cost.min(cap))
        }
        (DebtKind::Abl, _) => {
            // The commitment in equal monthly parts over the draw window; parts before the
            // start were drawn already.
            let commitment = debt.commitment_usd.unwrap_or(0.0);
            let first = debt.draw_month.map_or(0, t_of);
            let last = debt.draw_end_month.map_or(first, t_of).max(first);
            let part = commitment / (last - first + 1) as f64;
            for t in first..=last {
                if t < 0 {
                    opening_balance_usd += part;
                } else if (t as usize) < months {
                    draws_usd[t as usize] = part;
                }
            }
            (last + 1, commitment)
        }
        _ => {
            let draw_t = debt.draw_month.map_or(0, t_of);
            let principal = debt.principal_usd.unwrap_or(0.0);
            if draw_t < 0 {
                opening_balance_usd = principal;
            } else if (draw_t as usize) < months {
                draws_usd[draw_t as usize] = principal;
            }
            let commitment = match debt.kind {
                DebtKind::Revolver => debt.commitment_usd.unwrap_or(principal),
                _ => principal,
            };
            (draw_t + 1, commitment)
        }
    };
    let amortisation_start_t = debt.amortisation_start_month.map_or(draw_end_t, t_of);
    let base_rate = rate.annual(base.sofr.first().copied().unwrap_or(0.0));

    // Construction draws follow the conversion's capex; interest is capitalised until
    // completion. The balance at completion per dollar committed tells how much can be
    // committed when the sculpted capacity binds.
    let (capitalise_until_t, balance_per_commitment) = match (debt.kind, funded) {
        (DebtKind::ProjectFinance, Some(c)) => {
            let conversion = &borrower.conversions[c];
            let mut balance = 0.0;
            for (t, capex) in conversion.capex_usd.iter().enumerate() {
                // A conversion that costs nothing draws nothing (and must not divide by 0).
                if (t as i64) < conversion.completion_t && conversion.total_capex_usd > 0.0 {
                    balance *= 1.0 + base_rate / 12.0;
                    balance += capex / conversion.total_capex_usd;
                }
            }
            (conversion.completion_t, balance.max(1e-12))
        }
        _ => (0, 1.0),
    };

    let amortising = |t: usize| (t as i64) >= amortisation_start_t && (t as i64) <= maturity_t;
    let mut repayment_fraction = vec![0.0; months];
    let mut commitment = commitment_usd;
    match debt.schedule {
        Schedule::Bullet => {}
        Schedule::Linear => {
            let n = (maturity_t - amortisation_start_t.max(0) + 1).max(1) as f64;
            for (t, r) in repayment_fraction.iter_mut().enumerate() {
                if amortising(t) {
                    *r = 1.0 / n;
                }
            }
        }
        Schedule::Custom => {
            for (k, percent) in debt.custom_repayment_percent.iter().enumerate() {
                let t = amortisation_start_t + k as i64;
                if (0..months as i64).contains(&t) {
                    repayment_fraction[t as usize] = percent / 100.0;
                }
            }
        }
        Schedule::Sculpted => {
            // Debt service = base-case CFADS / target DSCR; the debt is the PV of that service
            // at the loan rate at completion, and never more than the cost-based commitment.
            let target = debt.target_dscr.unwrap_or(1.3);
            let cfads = project_ebitda_usd(borrower, base, entity);
            let monthly_rate = base_rate / 12.0;
            let mut capacity_at_completion = 0.0;
            let mut discount = 1.0;
            let last = (maturity_t.min(months as i64 - 1)).max(amortisation_start_t - 1);
            for t in amortisation_start_t.max(0)..=last {
                discount /= 1.0 + monthly_rate;
                capacity_at_completion += cfads[t as usize].max(0.0) / target * discount;
            }
            commitment = commitment.min(capacity_at_completion / balance_per_commitment);
            let balance_at_start = commitment * balance_per_commitment;
            if balance_at_start > 0.0 {
                let scale = balance_at_start / capacity_at_completion.max(1e-9);
                let mut balance = balance_at_start;
                for t in amortisation_start_t.max(0)..=last {
                    let service = cfads[t as usize].max(0.0) / target * scale;
                    let principal = (service - balance * monthly_rate).clamp(0.0, balance);
                    repayment_fraction[t as usize] = principal / balance_at_start;
                    balance -= principal;
                }
            }
        }
    }
    if let (DebtKind::ProjectFinance, Some(c)) = (debt.kind, funded) {
        let conversion = &borrower.conversions[c];
        if conversion.total_capex_usd > 0.0 {
            for (t, capex) in conversion.capex_usd.iter().enumerate() {
                draws_usd[t] = capex / conversion.total_capex_usd * commitment;
            }
        }
    }

    let collateral = debt
        .collateral
        .iter()
        .map(|name| asset_ref(scenario, name))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| CompileError::Unknown {
            field: format!("debt[{index}].collateral"),
            kind: "asset",
            name: debt.collateral.join(", "),
        })?;
    let tested_from = amortisation_start_t.max(0);
    // Without its own target a margin call restores the LTV at the draw, on the base case.
    let top_up_ltv = match (debt.kind, debt.top_up_ltv_percent) {
        (_, Some(percent)) => Some(percent / 100.0),
        (DebtKind::BtcBacked, None) => {
            let draw_t = draws_usd.iter().position(|&d| d > 0.0).unwrap_or(0);
            let price = base.btc_price_usd[draw_t.min(base.months().saturating_sub(1))];
            let pledged = debt.btc_pledged.unwrap_or(0.0);
            (pledged > 0.0 && price > 0.0).then(|| commitment / (pledged * price))
        }
        (_, None) => None,
    };
    Ok(DebtPlan {
        name: debt.name.clone(),
        kind: debt.kind,
        entity,
        rate,
        opening_balance_usd,
        draws_usd,
        capitalise_until_t,
        repayment_fraction,
        amortisation_start_t,
        maturity_t,
        dsra_months: debt.dsra_months as usize,
        dscr_window_months: debt.covenants.dscr_window_months as usize,
        first_test_t: first_full_quarter_end(start, tested_from),
        lock_up_dscr: debt.covenants.lock_up_dscr,
        default_dscr: debt.covenants.default_dscr,
        max_ltv: debt.covenants.max_ltv_percent.map(|p| p / 100.0),
        equity_cures: debt.covenants.equity_cures,
        upfront_fee_fraction: debt.upfront_fee_bps / 10_000.0,
        seniority: debt.seniority,
        collateral,
        collateral_slots: Vec::new(),
        commitment_usd: commitment,
        market_spread: debt.market_spread_bps.map(|bp| bp / 10_000.0),
        advance_rate: advance_rates(debt, start, months),
        commitment_fee_per_month: debt.commitment_fee_bps / 10_000.0 / 12.0,
        call_price: call_prices(debt, start, months),
        btc_pledged: debt.btc_pledged.unwrap_or(0.0),
        margin_call_ltv: debt.margin_call_ltv_percent.unwrap_or(100.0) / 100.0,
        liquidation_ltv: debt.liquidation_ltv_percent.unwrap_or(100.0) / 100.0,
        top_up_ltv,
        refinancing: debt.refinancing.as_ref().map(|r| RefinancingPlan {
            window_months: i64::from(r.window_months),
            min_dscr: r.min_dscr,
            rate: r
                .margin_bps
                .map_or(rate, |margin| Rate::Floating(margin / 10_000.0)),
            tenor_months: i64::from(r.tenor_months),
        }),
        incurrence_max_net_leverage: debt.covenants.incurrence_max_net_leverage,
        draw_window_end_t: draw_end_t,
    })
}

/// The borrowing base's advance rate by month: the scenario's, less its annual step-down from
/// the first draw, never below 0 (empty without an advance rate).
fn advance_rates(debt: &Debt, start: YearMonth, months: usize) -> Vec<f64> {
    let Some(percent) = debt.advance_rate_percent else {
        return Vec::new();
    };
    let first_draw_t = i64::from(debt.draw_month.unwrap_or(start).months_since(start));
    let step_per_month = debt.advance_rate_step_down_percent_per_year / 100.0 / 12.0;
    (0..months as i64)
        .map(|t| (percent / 100.0 - step_per_month * (t - first_draw_t).max(0) as f64).max(0.0))
        .collect()
}

/// The call price in force each month (0 before the first call date; empty without a call
/// schedule).
fn call_prices(debt: &Debt, start: YearMonth, months: usize) -> Vec<f64> {
    if debt.call_schedule.is_empty() {
        return Vec::new();
    }
    (0..months)
        .map(|t| {
            let month = start.plus_months(t as i32);
            debt.call_schedule
                .iter()
                .rev()
                .find(|call| call.from_month <= month)
                .map_or(0.0, |call| call.price_percent / 100.0)
        })
        .collect()
}

fn asset_ref(scenario: &Scenario, name: &str) -> Option<AssetRef> {
    if name == "treasury" {
        return Some(AssetRef::Treasury);
    }
    let position = |mut names: std::slice::Iter<'_, String>| names.position(|n| n == name);
    let sites: Vec<String> = scenario.site.iter().map(|s| s.name.clone()).collect();
    let fleets: Vec<String> = scenario
        .mining_fleet
        .iter()
        .map(|f| f.name.clone())
        .collect();
    let leases: Vec<String> = scenario
        .colocation_lease
        .iter()
        .map(|l| l.name.clone())
        .collect();
    let clouds: Vec<String> = scenario.gpu_cloud.iter().map(|g| g.name.clone()).collect();
    position(sites.iter())
        .map(AssetRef::Site)
        .or_else(|| position(fleets.iter()).map(AssetRef::Fleet))
        .or_else(|| position(leases.iter()).map(AssetRef::Lease))
        .or_else(|| position(clouds.iter()).map(AssetRef::GpuCloud))
}

/// The calm liquidation markets of the scenario's market: each class its kind's depth (ASICs,
/// GPUs, BTC, sites), then the generations and efficiency bands given their own.
fn liquidation_markets(market: &Market) -> ClassMarkets {
    let depths = &market.liquidation;
    let of = |monthly_volume_usd: f64, impact_percent: f64| {
        LiquidationMarket::from_impact(monthly_volume_usd, impact_percent / 100.0)
    };
    let mut markets = ClassMarkets::per_kind(
        &[&depths.asic, &depths.gpu, &depths.btc, &depths.site]
            .map(|depth| of(depth.monthly_volume_usd, depth.impact_percent)),
    );
    for depth in &depths.gpu_generation {
        // Validation names only known generations; an unknown one has no sellers anyway.
        if let Some(generation) = market
            .gpu
            .generations
            .iter()
            .position(|g| g.name == depth.generation)
        {
            markets.set(
                LiquidationClass::Gpu {
                    generation: generation.min(u8::MAX as usize) as u8,
                },
                of(depth.monthly_volume_usd, depth.impact_percent),
            );
        }
    }
    for depth in &depths.asic_band {
        markets.set(
            LiquidationClass::Asic {
                band: asic_band(depth.efficiency_j_per_th),
            },
            of(depth.monthly_volume_usd, depth.impact_percent),
        );
    }
    markets
}
