//! Recovery: a defaulted borrower's estate turned into losses per debt instrument, with an
//! exponential fire sale of the collateral.
//!
//! # Input
//!
//! At default the waterfall fills an [`Estate`]: plain data, fixed-size arrays. Entity 0 is
//! the borrower (the parent), entities k ≥ 1 are ring-fenced project companies. Each entity
//! that defaulted has a default month and its cash; each [`EstateAsset`] belongs to one entity,
//! has a [`LiquidationClass`] (ASIC efficiency band, GPU generation, BTC or site), an
//! undisturbed market value at its entity's default month and a bit set of the debt
//! instruments it secures; each [`Claim`] is one debt instrument with its entity, seniority,
//! default month (`None`: not in default), principal, accrued interest and rate.
//!
//! # Fire sale
//!
//! Every class (each ASIC band, each GPU generation, BTC, sites) is its own market, with the
//! depth parameters of its [`LiquidationKind`]: a clearing volume `Q` (USD a month at
//! undisturbed prices) and an impact coefficient `β` (selling `q` moves the price to
//! `p₀·exp(−β·q/Q)`; [`LiquidationMarket::from_impact`] sets `β = −10·ln(1 − impact)` so that
//! selling 10 % of `Q` moves the price by `impact`). In month `m`:
//!
//! * the supply is `S_m` = overhang carried from `m − 1` + new volume entering in `m` (all
//!   sellers' volumes, recorded in a [`SalesLedger`], so that borrowers defaulting together
//!   sell into the same market);
//! * the depth is `Q_m = Q × depth_factor[m]` (thinner in stress);
//! * the market clears `C_m = min(S_m, Q_m)`; every unit of supply clears pro rata
//!   `c_m = C_m / S_m`; the rest carries to `m + 1`;
//! * the month's trades get the average price over the whole supply (unsold supply weighs on
//!   the price): `f_m = (1 − e^{−x})/x` with `x = β·S_m/Q_m`, computed as `−expm1(−x)/x`
//!   (`f = 1` when `x = 0` or the depth is unlimited).
//!
//! A seller whose volume `v` enters in month `m` receives `v·Π_{m≤j<k}(1 − c_j)·c_k·f_k` in
//! each month `k ≥ m`, discounted to month `m` at the loan's rate, `(1 + r)^(−(k−m)/12)`.
//! Workout costs ([`RecoveryTerms::workout_cost_fraction`], a share of the gross proceeds) are
//! then taken and everything is discounted a further [`RecoveryTerms::workout_months`]: the
//! estate distributes its proceeds when the workout ends. Unlimited depth means no impact and
//! every asset sold in the default month.
//!
//! Bounds: sales enter at months at most [`MAX_SALE_START_MONTH`] (a later default month is
//! treated as that month), and the overhang is carried at most [`MAX_OVERHANG_MONTHS`] months
//! after the last month in which new volume enters; what is still unsold then is written off
//! (it recovers nothing: ten years of overhang is a market that does not exist).
//!
//! # Allocation
//!
//! [`recover_estate`] works on present values at the selling entity's default month (with
//! cross-default every entity defaults in the same month):
//!
//! 1. Each asset of a defaulted entity is sold as above. Its net proceeds go first to the
//!    defaulted claims it secures, in seniority order (senior secured, then senior unsecured —
//!    a second lien — then subordinated if such a claim is nonetheless given collateral), pro
//!    rata by the amount each claim is still owed within a rank. Assets are taken in
//!    marshalling order: those securing fewer claims first, so that a lender with two assets
//!    does not crowd out a lender with only one.
//! 2. What is left of each asset, the unpledged assets and the entity's cash form the
//!    entity's unsecured pool. Cash is paid out when the workout ends (discounted, no workout
//!    cost) and is unpledged: a reserve pledged to one lender, such as a DSRA, is swept by
//!    that lender and belongs netted against its principal. The unpaid part of the secured
//!    claims (the deficiency) ranks pari passu with the senior unsecured claims, pro rata by
//!    what each is owed; subordinated claims (including a subordinated claim's deficiency)
//!    are paid only after those.
//! 3. A defaulted project company's surplus goes to the unsecured pool of its parent
//!    ([`Estate::parent_of_project_surplus`], entity 0 by default) when the parent also
//!    defaulted; otherwise it goes to equity, not to lenders. Project companies are settled
//!    before their parents.
//!
//! Discount rates: an asset's proceeds are discounted at the rate of the highest-ranking
//! defaulted claim it secures (the EAD-weighted rate when several claims share that rank);
//! unpledged proceeds, cash and a project's surplus at the EAD-weighted rate of the entity's
//! defaulted claims (of all the estate's defaulted claims when the entity has none; 0 when
//! there are none at all).
//!
//! Only defaulted claims (`default_month` is `Some`) receive anything; a claim never receives
//! more than its EAD (principal + accrued interest; drawn commitments are part of the
//! principal) and its LGD is `1 − recovered/EAD` clamped to [0, 1].
//!
//! Robustness: no input panics. Non-finite or negative amounts, rates, depth factors and
//! impacts are taken as 0 (a `NaN` depth or clearing volume is a shut market, which recovers
//! nothing); only [`LiquidationMarket::monthly_volume_usd`] (unlimited depth) and
//! [`LiquidationMarket::beta`] (a market with no bid) may be `+∞`. Out-of-range indices are
//! ignored: an asset of an entity ≥ [`MAX_ENTITIES`] is not sold, a claim on such an entity
//! recovers only from its collateral, bits of `secures` beyond
//! the estate's claims are ignored, and an ASIC band or GPU generation beyond the tables is
//! priced in the last band's or generation's market. `recover_estate` does not allocate.

use bitwatt_model::{MAX_DEBT_INSTRUMENTS, MAX_HORIZON_MONTHS, Seniority};
use serde::Serialize;

/// Most assets an [`Estate`] holds.
pub const MAX_ESTATE_ASSETS: usize = 32;
/// Most legal entities in an [`Estate`]: entity 0 is the borrower, k ≥ 1 project companies.
pub const MAX_ENTITIES: usize = 1 + MAX_DEBT_INSTRUMENTS;
/// ASIC efficiency bands, each its own liquidation market.
pub const ASIC_BANDS: usize = 8;
/// GPU generations, each its own liquidation market.
pub const GPU_GENERATIONS: usize = 16;
/// Liquidation markets: ASIC bands, GPU generations, BTC and sites (see
/// [`LiquidationClass::index`]).
pub const LIQUIDATION_CLASSES: usize = ASIC_BANDS + GPU_GENERATIONS + 1 + 1;
/// Kinds of liquidation market, each with its own depth parameters.
pub const LIQUIDATION_KINDS: usize = 4;
/// Latest month (from month 0 of the path) in which sales enter a market; later default
/// months are treated as this one.
pub const MAX_SALE_START_MONTH: usize = MAX_HORIZON_MONTHS as usize;
/// Months the overhang is carried after the last month with new volume; what is still unsold
/// then is written off.
pub const MAX_OVERHANG_MONTHS: usize = 120;

/// Kind of liquidation market: the depth parameters are set per kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationKind {
    /// Mining machines.
    Asic,
    /// AI accelerators.
    Gpu,
    /// Bitcoin.
    Btc,
    /// Powered land and data centres, with their leases.
    Site,
}

impl LiquidationKind {
    /// Every kind, in [`LiquidationKind::index`] order.
    pub const ALL: [Self; LIQUIDATION_KINDS] = [Self::Asic, Self::Gpu, Self::Btc, Self::Site];

    /// Index in per-kind tables (0..[`LIQUIDATION_KINDS`]).
    pub const fn index(self) -> usize {
        match self {
            Self::Asic => 0,
            Self::Gpu => 1,
            Self::Btc => 2,
            Self::Site => 3,
        }
    }
}

/// The market an asset is sold in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiquidationClass {
    /// ASICs of one efficiency band (index below [`ASIC_BANDS`]).
    Asic {
        /// Efficiency band index.
        band: u8,
    },
    /// GPUs of one generation (index below [`GPU_GENERATIONS`]).
    Gpu {
        /// Generation index.
        generation: u8,
    },
    /// Bitcoin.
    Btc,
    /// Powered land or a data centre, with its leases.
    Site,
}

impl LiquidationClass {
    /// The kind whose depth parameters this class's market uses.
    pub const fn kind(self) -> LiquidationKind {
        match self {
            Self::Asic { .. } => LiquidationKind::Asic,
            Self::Gpu { .. } => LiquidationKind::Gpu,
            Self::Btc => LiquidationKind::Btc,
            Self::Site => LiquidationKind::Site,
        }
    }

    /// Flat index in per-class tables (0..[`LIQUIDATION_CLASSES`]): ASIC bands, then GPU
    /// generations, then BTC, then sites. A band or generation beyond the table is clamped to
    /// the last one.
    pub const fn index(self) -> usize {
        match self {
            Self::Asic { band } => min_usize(band as usize, ASIC_BANDS - 1),
            Self::Gpu { generation } => {
                ASIC_BANDS + min_usize(generation as usize, GPU_GENERATIONS - 1)
            }
            Self::Btc => ASIC_BANDS + GPU_GENERATIONS,
            Self::Site => ASIC_BANDS + GPU_GENERATIONS + 1,
        }
    }

    /// The class at a flat index; `None` beyond [`LIQUIDATION_CLASSES`].
    pub const fn from_index(index: usize) -> Option<Self> {
        if index < ASIC_BANDS {
            Some(Self::Asic { band: index as u8 })
        } else if index < ASIC_BANDS + GPU_GENERATIONS {
            Some(Self::Gpu {
                generation: (index - ASIC_BANDS) as u8,
            })
        } else if index == ASIC_BANDS + GPU_GENERATIONS {
            Some(Self::Btc)
        } else if index == ASIC_BANDS + GPU_GENERATIONS + 1 {
            Some(Self::Site)
        } else {
            None
        }
    }
}

/// One asset of an entity, to be sold if the entity defaulted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EstateAsset {
    /// Owning entity (0 = the borrower).
    pub entity: u8,
    /// Market it is sold in.
    pub class: LiquidationClass,
    /// Undisturbed market value at the entity's default month (USD).
    pub value_usd: f64,
    /// Bit `i` set: the asset secures debt instrument (claim) `i`.
    pub secures: u32,
}

impl EstateAsset {
    /// An empty slot: no value, secures nothing.
    pub const EMPTY: Self = Self {
        entity: 0,
        class: LiquidationClass::Site,
        value_usd: 0.0,
        secures: 0,
    };
}

impl Default for EstateAsset {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// One debt instrument's claim on the estate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Claim {
    /// Obligor entity (0 = the borrower).
    pub entity: u8,
    /// Rank in the default.
    pub seniority: Seniority,
    /// Month of default from month 0 of the path; `None`: not in default (receives nothing).
    pub default_month: Option<usize>,
    /// Principal outstanding at default, drawn commitments included (USD).
    pub principal_usd: f64,
    /// Interest accrued and unpaid at default (USD).
    pub accrued_interest_usd: f64,
    /// The loan's rate at default (fraction a year), for discounting recoveries.
    pub annual_rate: f64,
}

impl Claim {
    /// An empty slot: no exposure, not in default.
    pub const EMPTY: Self = Self {
        entity: 0,
        seniority: Seniority::SeniorSecured,
        default_month: None,
        principal_usd: 0.0,
        accrued_interest_usd: 0.0,
        annual_rate: 0.0,
    };

    /// Exposure at default: principal + accrued interest (USD; non-finite or negative parts
    /// count as 0), whether or not the claim defaulted.
    pub fn ead_usd(&self) -> f64 {
        amount(self.principal_usd) + amount(self.accrued_interest_usd)
    }
}

impl Default for Claim {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// The estate is full: the asset or claim was not added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EstateFull {
    /// Already [`MAX_ESTATE_ASSETS`] assets.
    #[error("the estate already holds {MAX_ESTATE_ASSETS} assets")]
    Assets,
    /// Already [`MAX_DEBT_INSTRUMENTS`] claims.
    #[error("the estate already holds {MAX_DEBT_INSTRUMENTS} claims")]
    Claims,
}

/// What a borrower leaves at default: entities, their cash, assets and claims.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estate {
    /// Default month of each entity (from month 0 of the path); `None`: not in default, its
    /// assets are not sold and its cash is not distributed.
    pub entity_default_month: [Option<usize>; MAX_ENTITIES],
    /// Cash of each entity at default (USD), unpledged: it joins the entity's unsecured pool.
    pub entity_cash_usd: [f64; MAX_ENTITIES],
    /// Entity whose unsecured pool receives each entity's surplus after its own claims, if
    /// that entity defaulted too (otherwise the surplus goes to equity). Only a parent with a
    /// lower index than the entity counts; `None` or anything else sends the surplus to
    /// equity. Default: entity 0 for every project company.
    pub parent_of_project_surplus: [Option<u8>; MAX_ENTITIES],
    /// Number of assets in use in `assets`.
    pub asset_count: usize,
    /// Assets (the first `asset_count`).
    pub assets: [EstateAsset; MAX_ESTATE_ASSETS],
    /// Number of claims in use in `claims`.
    pub claim_count: usize,
    /// Claims, indexed as debt instruments (the first `claim_count`).
    pub claims: [Claim; MAX_DEBT_INSTRUMENTS],
}

const DEFAULT_PARENTS: [Option<u8>; MAX_ENTITIES] = {
    let mut parents = [Some(0); MAX_ENTITIES];
    parents[0] = None;
    parents
};

impl Estate {
    /// No entity in default, no assets, no claims; project companies owned by entity 0.
    pub const EMPTY: Self = Self {
        entity_default_month: [None; MAX_ENTITIES],
        entity_cash_usd: [0.0; MAX_ENTITIES],
        parent_of_project_surplus: DEFAULT_PARENTS,
        asset_count: 0,
        assets: [EstateAsset::EMPTY; MAX_ESTATE_ASSETS],
        claim_count: 0,
        claims: [Claim::EMPTY; MAX_DEBT_INSTRUMENTS],
    };

    /// Adds an asset; returns its index.
    pub fn push_asset(&mut self, asset: EstateAsset) -> Result<usize, EstateFull> {
        let index = self.asset_count;
        let slot = self.assets.get_mut(index).ok_or(EstateFull::Assets)?;
        *slot = asset;
        self.asset_count = index + 1;
        Ok(index)
    }

    /// Adds a claim; returns its index (its bit in [`EstateAsset::secures`]).
    pub fn push_claim(&mut self, claim: Claim) -> Result<usize, EstateFull> {
        let index = self.claim_count;
        let slot = self.claims.get_mut(index).ok_or(EstateFull::Claims)?;
        *slot = claim;
        self.claim_count = index + 1;
        Ok(index)
    }

    /// Marks an entity as defaulted in `month` with `cash_usd` of cash; ignored for an entity
    /// beyond [`MAX_ENTITIES`].
    pub fn set_default(&mut self, entity: usize, month: usize, cash_usd: f64) {
        if entity < MAX_ENTITIES {
            self.entity_default_month[entity] = Some(month);
            self.entity_cash_usd[entity] = cash_usd;
        }
    }

    /// The assets in use.
    pub fn assets(&self) -> &[EstateAsset] {
        &self.assets[..self.asset_count.min(MAX_ESTATE_ASSETS)]
    }

    /// The claims in use.
    pub fn claims(&self) -> &[Claim] {
        &self.claims[..self.claim_count.min(MAX_DEBT_INSTRUMENTS)]
    }

    /// The month an entity's assets enter their markets: its default month (at most
    /// [`MAX_SALE_START_MONTH`]); `None` if it did not default or is out of range.
    fn sale_month(&self, entity: usize) -> Option<usize> {
        self.entity_default_month
            .get(entity)
            .copied()
            .flatten()
            .map(|month| month.min(MAX_SALE_START_MONTH))
    }
}

impl Default for Estate {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Depth of one kind of liquidation market.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LiquidationMarket {
    /// Clearing volume `Q` a month at undisturbed prices (USD); `f64::INFINITY` = unlimited
    /// depth (no impact, everything sells at once); non-finite otherwise or negative = 0, a
    /// shut market.
    pub monthly_volume_usd: f64,
    /// Impact coefficient `β`: selling `q` moves the price to `p₀·exp(−β·q/Q)`; `+∞` = no bid
    /// at all; `NaN` or negative = 0 (no impact).
    pub beta: f64,
}

impl LiquidationMarket {
    /// Unlimited depth: no impact, everything sells in the default month.
    pub const UNLIMITED: Self = Self {
        monthly_volume_usd: f64::INFINITY,
        beta: 0.0,
    };

    /// A market where selling 10 % of `monthly_volume_usd` moves the price by
    /// `impact_at_tenth_of_volume` (a fraction): `β = −10·ln(1 − impact)`. An impact that is
    /// `NaN` or ≤ 0 gives `β = 0`; one ≥ 1 gives `β = +∞`.
    pub fn from_impact(monthly_volume_usd: f64, impact_at_tenth_of_volume: f64) -> Self {
        let impact = impact_at_tenth_of_volume;
        let beta = if impact.is_nan() || impact <= 0.0 {
            0.0
        } else if impact >= 1.0 {
            f64::INFINITY
        } else {
            -10.0 * (-impact).ln_1p()
        };
        Self {
            monthly_volume_usd,
            beta,
        }
    }

    /// `Q`, sanitised: `+∞` kept, any other non-finite or negative value is 0.
    fn volume_usd(&self) -> f64 {
        let q = self.monthly_volume_usd;
        if q == f64::INFINITY { q } else { amount(q) }
    }

    /// `β`, sanitised: `+∞` kept, `NaN` or negative is 0.
    fn beta(&self) -> f64 {
        if self.beta.is_nan() || self.beta < 0.0 {
            0.0
        } else {
            self.beta
        }
    }
}

/// The depth of every class's market, [`LiquidationClass::index`] order.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ClassMarkets(pub [LiquidationMarket; LIQUIDATION_CLASSES]);

impl ClassMarkets {
    /// Every class with its kind's market (`per_kind` in [`LiquidationKind::index`] order).
    pub fn per_kind(per_kind: &[LiquidationMarket; LIQUIDATION_KINDS]) -> Self {
        Self(std::array::from_fn(|class| {
            let kind =
                LiquidationClass::from_index(class).map_or(LiquidationKind::Site, |c| c.kind());
            per_kind[kind.index()]
        }))
    }

    /// The market of `class`.
    pub fn get(&self, class: LiquidationClass) -> LiquidationMarket {
        self.0[class.index()]
    }

    /// Replaces the market of `class`.
    pub fn set(&mut self, class: LiquidationClass, market: LiquidationMarket) {
        self.0[class.index()] = market;
    }
}

/// Volume (USD at undisturbed value) entering each class's market in each month, from every
/// seller: the input of [`LiquidationPrices::from_sales`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SalesLedger {
    /// Per month from month 0 of the path (at most [`MAX_SALE_START_MONTH`] + 1 rows), per
    /// class index.
    volume_usd: Vec<[f64; LIQUIDATION_CLASSES]>,
}

impl SalesLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value_usd` entering `class`'s market in `month` (a later month than
    /// [`MAX_SALE_START_MONTH`] counts as that one; non-finite or negative values as 0).
    pub fn add(&mut self, class: LiquidationClass, month: usize, value_usd: f64) {
        let value = amount(value_usd);
        if value <= 0.0 {
            return;
        }
        let month = month.min(MAX_SALE_START_MONTH);
        if self.volume_usd.len() <= month {
            self.volume_usd
                .resize(month + 1, [0.0; LIQUIDATION_CLASSES]);
        }
        self.volume_usd[month][class.index()] += value;
    }

    /// Records every asset of the estate's defaulted entities, entering in its entity's
    /// default month.
    pub fn add_estate(&mut self, estate: &Estate) {
        for asset in estate.assets() {
            if let Some(month) = estate.sale_month(usize::from(asset.entity)) {
                self.add(asset.class, month, asset.value_usd);
            }
        }
    }

    /// Volume entering `class`'s market in `month` (USD at undisturbed value).
    pub fn volume_usd(&self, class: LiquidationClass, month: usize) -> f64 {
        self.volume_usd
            .get(month)
            .map_or(0.0, |row| row[class.index()])
    }

    /// No volume recorded.
    pub fn is_empty(&self) -> bool {
        self.volume_usd
            .iter()
            .flatten()
            .all(|&volume| volume <= 0.0)
    }
}

/// What one unit (USD at undisturbed value) entering a market in a month fetches.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SaleFactors {
    /// Proceeds, undiscounted: `Σ_k Π(1 − c_j)·c_k·f_k`.
    pub impacted_fraction: f64,
    /// Proceeds discounted to the entry month at the given rate (before workout costs and
    /// the workout delay).
    pub discounted_fraction: f64,
    /// Share still unsold when the overhang is written off.
    pub unsold_fraction: f64,
}

/// Fire-sale prices: per class and month, the average impacted price factor `f` and the
/// share `c` of the month's supply that clears, computed once from every seller's volume.
///
/// A month outside the table (before the first month with volume, or after the overhang
/// horizon) holds no ledger supply: a seller there is a price taker at undisturbed prices
/// (`f = c = 1`). Prices from a ledger that lacks a seller's own volume understate its
/// impact: add every seller to the ledger.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LiquidationPrices {
    /// Month (from month 0 of the path) of the first row.
    start_month: usize,
    /// `c`: share of the month's supply that clears, per row and class.
    clearing_share: Vec<[f64; LIQUIDATION_CLASSES]>,
    /// `f`: average impacted price factor of the month's trades, per row and class.
    price_factor: Vec<[f64; LIQUIDATION_CLASSES]>,
}

impl LiquidationPrices {
    /// Runs every class's market from the first month with volume to
    /// [`MAX_OVERHANG_MONTHS`] after the last one, or until every sale has cleared. `markets`
    /// are per class; `depth_factor` multiplies `Q` per month from month 0 of the
    /// path (its last value beyond its end, 1 when empty; non-finite or negative = 0).
    pub fn from_sales(markets: &ClassMarkets, depth_factor: &[f64], sales: &SalesLedger) -> Self {
        let has_volume = |row: &[f64; LIQUIDATION_CLASSES]| row.iter().any(|&v| v > 0.0);
        let (Some(first), Some(last)) = (
            sales.volume_usd.iter().position(has_volume),
            sales.volume_usd.iter().rposition(has_volume),
        ) else {
            return Self::default();
        };
        let rows = last - first + 1 + MAX_OVERHANG_MONTHS;
        let mut clearing_share = Vec::with_capacity(rows);
        let mut price_factor = Vec::with_capacity(rows);
        let mut overhang = [0.0; LIQUIDATION_CLASSES];
        for row in 0..rows {
            let month = first + row;
            let depth = depth_at(depth_factor, month);
            let entering = sales.volume_usd.get(month);
            let mut c_row = [0.0; LIQUIDATION_CLASSES];
            let mut f_row = [0.0; LIQUIDATION_CLASSES];
            for class in 0..LIQUIDATION_CLASSES {
                let market = markets.0[class];
                let volume = market.volume_usd();
                let q = if volume == 0.0 || depth == 0.0 {
                    0.0
                } else {
                    volume * depth
                };
                let supply = overhang[class] + entering.map_or(0.0, |r| r[class]);
                let (c, f) = clear(supply, q, market.beta());
                c_row[class] = c;
                f_row[class] = f;
                overhang[class] = supply * (1.0 - c);
            }
            clearing_share.push(c_row);
            price_factor.push(f_row);
            // Once every sale has cleared, every seller's last unit has sold (a seller's
            // class had supply and clears fully no later than this row): later rows would
            // never be read.
            if month >= last && overhang.iter().all(|&o| o == 0.0) {
                break;
            }
        }
        Self {
            start_month: first,
            clearing_share,
            price_factor,
        }
    }

    /// Prices for a single borrower: its estate's sales alone.
    pub fn for_estate(estate: &Estate, markets: &ClassMarkets, depth_factor: &[f64]) -> Self {
        let mut sales = SalesLedger::new();
        sales.add_estate(estate);
        Self::from_sales(markets, depth_factor, &sales)
    }

    /// Month (from month 0 of the path) of the first row of the table.
    pub fn start_month(&self) -> usize {
        self.start_month
    }

    /// Month after the last row of the table: where the overhang is written off, or the month
    /// after every sale has cleared.
    pub fn end_month(&self) -> usize {
        self.start_month + self.clearing_share.len()
    }

    /// Share `c` of `class`'s supply that clears in `month` (1 outside the table).
    pub fn clearing_share(&self, class: LiquidationClass, month: usize) -> f64 {
        self.row(month)
            .map_or(1.0, |row| self.clearing_share[row][class.index()])
    }

    /// Average impacted price factor `f` of `class`'s trades in `month` (1 outside the
    /// table).
    pub fn price_factor(&self, class: LiquidationClass, month: usize) -> f64 {
        self.row(month)
            .map_or(1.0, |row| self.price_factor[row][class.index()])
    }

    /// What one unit entering `class`'s market in `entry_month` fetches, discounted at
    /// `annual_rate` (non-finite or negative = 0). Does not allocate.
    pub fn sale_factors(
        &self,
        class: LiquidationClass,
        entry_month: usize,
        annual_rate: f64,
    ) -> SaleFactors {
        let Some(first_row) = self.row(entry_month) else {
            return SaleFactors {
                impacted_fraction: 1.0,
                discounted_fraction: 1.0,
                unsold_fraction: 0.0,
            };
        };
        let class = class.index();
        let monthly_discount = discount_factor(rate(annual_rate), 1.0);
        let mut unsold = 1.0;
        let mut discount = 1.0;
        let mut impacted = 0.0;
        let mut discounted = 0.0;
        for row in first_row..self.clearing_share.len() {
            let c = self.clearing_share[row][class];
            let sold = unsold * c * self.price_factor[row][class];
            impacted += sold;
            discounted += sold * discount;
            unsold *= 1.0 - c;
            discount *= monthly_discount;
            if unsold <= 0.0 {
                break;
            }
        }
        let impacted = unit(impacted);
        SaleFactors {
            impacted_fraction: impacted,
            discounted_fraction: unit(discounted).min(impacted),
            unsold_fraction: unit(unsold),
        }
    }

    fn row(&self, month: usize) -> Option<usize> {
        month
            .checked_sub(self.start_month)
            .filter(|&row| row < self.clearing_share.len())
    }
}

/// Workout of a defaulted estate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct RecoveryTerms {
    /// Months from default until the estate distributes its proceeds.
    pub workout_months: u32,
    /// Legal and administrative costs as a share of gross liquidation proceeds (clamped to
    /// [0, 1]; non-finite = 0).
    pub workout_cost_fraction: f64,
}

/// One debt instrument's recovery (present values at the default month, USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct ClaimRecovery {
    /// Exposure at default: principal + accrued interest; 0 when the claim did not default.
    pub ead_usd: f64,
    /// Recovered from the collateral that secures the claim.
    pub secured_recovery_usd: f64,
    /// Recovered from the unsecured pool (the deficiency, for a secured claim).
    pub unsecured_recovery_usd: f64,
    /// Total recovered (present value), at most the EAD.
    pub recovered_usd: f64,
    /// EAD − recovered.
    pub loss_usd: f64,
    /// Loss given default, 1 − recovered/EAD in [0, 1]; `None` when the EAD is 0 or the
    /// claim did not default.
    pub lgd: Option<f64>,
}

/// The liquidation of one kind of asset (USD).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct KindProceeds {
    /// Undisturbed market value of the assets sold.
    pub undisturbed_value_usd: f64,
    /// Gross fire-sale proceeds, undiscounted, before workout costs.
    pub impacted_value_usd: f64,
    /// Undisturbed value still unsold when the overhang was written off.
    pub unsold_value_usd: f64,
    /// Net proceeds: after workout costs, discounted to the default month.
    pub net_proceeds_pv_usd: f64,
}

/// Losses per debt instrument from a defaulted estate.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Recoveries {
    /// Number of claims in use in `per_claim` (the estate's claims, same indices).
    pub claim_count: usize,
    /// Recovery of each claim.
    pub per_claim: [ClaimRecovery; MAX_DEBT_INSTRUMENTS],
    /// EAD of the defaulted claims (USD).
    pub total_ead_usd: f64,
    /// Recovered by the defaulted claims (present value, USD).
    pub total_recovered_usd: f64,
    /// Liquidation per kind, by [`LiquidationKind::index`].
    pub liquidation: [KindProceeds; LIQUIDATION_KINDS],
    /// Defaulted entities' cash, discounted over the workout (USD).
    pub cash_pv_usd: f64,
    /// What was left after every defaulted claim was paid, to equity (present value, USD).
    pub to_equity_usd: f64,
}

impl Recoveries {
    /// Nothing recovered, no claims.
    pub const EMPTY: Self = Self {
        claim_count: 0,
        per_claim: [ClaimRecovery {
            ead_usd: 0.0,
            secured_recovery_usd: 0.0,
            unsecured_recovery_usd: 0.0,
            recovered_usd: 0.0,
            loss_usd: 0.0,
            lgd: None,
        }; MAX_DEBT_INSTRUMENTS],
        total_ead_usd: 0.0,
        total_recovered_usd: 0.0,
        liquidation: [KindProceeds {
            undisturbed_value_usd: 0.0,
            impacted_value_usd: 0.0,
            unsold_value_usd: 0.0,
            net_proceeds_pv_usd: 0.0,
        }; LIQUIDATION_KINDS],
        cash_pv_usd: 0.0,
        to_equity_usd: 0.0,
    };

    /// The claims in use.
    pub fn claims(&self) -> &[ClaimRecovery] {
        &self.per_claim[..self.claim_count.min(MAX_DEBT_INSTRUMENTS)]
    }
}

impl Default for Recoveries {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// Ranks in a default, in payment order.
const RANKS: [Seniority; 3] = [
    Seniority::SeniorSecured,
    Seniority::SeniorUnsecured,
    Seniority::Subordinated,
];

/// Turns a defaulted estate into recoveries and losses per claim (see the module doc for the
/// model). `prices` should come from a ledger holding this estate's sales
/// ([`LiquidationPrices::for_estate`], or a portfolio's shared ledger). Does not allocate.
pub fn recover_estate(
    estate: &Estate,
    prices: &LiquidationPrices,
    terms: &RecoveryTerms,
) -> Recoveries {
    let claims = estate.claims();
    let assets = estate.assets();
    let cost = unit(terms.workout_cost_fraction);
    let workout = f64::from(terms.workout_months);
    let mut out = Recoveries {
        claim_count: claims.len(),
        ..Recoveries::EMPTY
    };

    // Defaulted claims: what each is owed, its rate.
    let mut ead = [0.0; MAX_DEBT_INSTRUMENTS];
    let mut rates = [0.0; MAX_DEBT_INSTRUMENTS];
    let mut defaulted: u32 = 0;
    for (i, claim) in claims.iter().enumerate() {
        if claim.default_month.is_some() {
            defaulted |= 1 << i;
            ead[i] = claim.ead_usd();
            rates[i] = rate(claim.annual_rate);
            out.per_claim[i].ead_usd = ead[i];
            out.total_ead_usd += ead[i];
        }
    }
    // What each claim is still owed, as proceeds are paid out.
    let mut owed = ead;
    let in_entity = |entity: usize| {
        claims.iter().enumerate().fold(0u32, |mask, (i, claim)| {
            if usize::from(claim.entity) == entity {
                mask | 1 << i
            } else {
                mask
            }
        })
    };
    let estate_rate = weighted_rate(defaulted, &ead, &rates).unwrap_or(0.0);
    let mut pool_rate = [estate_rate; MAX_ENTITIES];
    for (entity, pool_rate) in pool_rate.iter_mut().enumerate() {
        if let Some(r) = weighted_rate(defaulted & in_entity(entity), &ead, &rates) {
            *pool_rate = r;
        }
    }
    let rank_mask = |rank: Seniority| {
        claims.iter().enumerate().fold(0u32, |mask, (i, claim)| {
            if claim.seniority == rank {
                mask | 1 << i
            } else {
                mask
            }
        })
    };
    let by_rank = RANKS.map(rank_mask);

    // Unsecured pools start with the defaulted entities' cash.
    let mut pool = [0.0; MAX_ENTITIES];
    for (entity, pool) in pool.iter_mut().enumerate() {
        if estate.sale_month(entity).is_some() {
            let cash = amount(estate.entity_cash_usd[entity])
                * discount_factor(pool_rate[entity], workout);
            *pool += cash;
            out.cash_pv_usd += cash;
        }
    }

    // Assets of defaulted entities, in marshalling order: fewer secured claims first.
    let secured_mask = |asset: &EstateAsset| asset.secures & defaulted;
    let mut order = [0usize; MAX_ESTATE_ASSETS];
    let mut sold = 0;
    for (index, asset) in assets.iter().enumerate() {
        if estate.sale_month(usize::from(asset.entity)).is_some() {
            order[sold] = index;
            sold += 1;
        }
    }
    let order = &mut order[..sold];
    order.sort_unstable_by_key(|&index| (secured_mask(&assets[index]).count_ones(), index));

    let mut secured_paid = [0.0; MAX_DEBT_INSTRUMENTS];
    for &index in order.iter() {
        let asset = &assets[index];
        let entity = usize::from(asset.entity);
        let Some(month) = estate.sale_month(entity) else {
            continue;
        };
        let secured = secured_mask(asset);
        let top_rank = by_rank.iter().map(|&rank| rank & secured).find(|&m| m != 0);
        let r = top_rank
            .and_then(|mask| weighted_rate(mask, &ead, &rates))
            .unwrap_or(pool_rate[entity]);
        let sale = prices.sale_factors(asset.class, month, r);
        let value = amount(asset.value_usd);
        let proceeds =
            value * sale.discounted_fraction * (1.0 - cost) * discount_factor(r, workout);
        let kind = &mut out.liquidation[asset.class.kind().index()];
        kind.undisturbed_value_usd += value;
        kind.impacted_value_usd += value * sale.impacted_fraction;
        kind.unsold_value_usd += value * sale.unsold_fraction;
        kind.net_proceeds_pv_usd += proceeds;

        let mut left = proceeds;
        for &rank in &by_rank {
            left = pay_pro_rata(left, rank & secured, &mut owed, &mut secured_paid);
        }
        pool[entity] += left;
    }

    // Unsecured pools, project companies before their parents: senior claims (deficiencies
    // included) pari passu, then subordinated claims, then the parent or equity.
    let senior = by_rank[0] | by_rank[1];
    let subordinated = by_rank[2];
    let mut unsecured_paid = [0.0; MAX_DEBT_INSTRUMENTS];
    for entity in (0..MAX_ENTITIES).rev() {
        let Some(month) = estate.sale_month(entity) else {
            continue;
        };
        let members = defaulted & in_entity(entity);
        let mut left = pool[entity];
        left = pay_pro_rata(left, members & senior, &mut owed, &mut unsecured_paid);
        left = pay_pro_rata(left, members & subordinated, &mut owed, &mut unsecured_paid);
        if left <= 0.0 {
            continue;
        }
        let parent = estate.parent_of_project_surplus[entity]
            .map(usize::from)
            .filter(|&parent| parent < entity);
        match parent.and_then(|p| estate.sale_month(p).map(|m| (p, m))) {
            Some((parent, parent_month)) => {
                // The surplus is worth its value at the project's default month; bring it
                // back to the parent's if the project defaulted later.
                let later = month.saturating_sub(parent_month) as f64;
                pool[parent] += left * discount_factor(pool_rate[parent], later);
            }
            None => out.to_equity_usd += left,
        }
    }

    for (i, recovery) in out.per_claim[..claims.len()].iter_mut().enumerate() {
        if defaulted & (1 << i) == 0 {
            continue;
        }
        let exposure = ead[i];
        let secured = secured_paid[i].min(exposure);
        let recovered = (secured + unsecured_paid[i]).min(exposure);
        let unsecured = recovered - secured;
        recovery.secured_recovery_usd = secured;
        recovery.unsecured_recovery_usd = unsecured;
        recovery.recovered_usd = recovered;
        recovery.loss_usd = exposure - recovered;
        recovery.lgd = (exposure > 0.0).then(|| (1.0 - recovered / exposure).clamp(0.0, 1.0));
        out.total_recovered_usd += recovered;
    }
    out
}

/// Pays `available` to the claims in `mask` pro rata by what each is still owed, at most
/// that; returns what is left.
fn pay_pro_rata(
    available: f64,
    mask: u32,
    owed: &mut [f64; MAX_DEBT_INSTRUMENTS],
    paid: &mut [f64; MAX_DEBT_INSTRUMENTS],
) -> f64 {
    if available <= 0.0 || mask == 0 {
        return available;
    }
    let total: f64 = (0..MAX_DEBT_INSTRUMENTS)
        .filter(|&i| mask & (1 << i) != 0)
        .map(|i| owed[i])
        .sum();
    if total <= 0.0 {
        return available;
    }
    let share = (available / total).min(1.0);
    for i in (0..MAX_DEBT_INSTRUMENTS).filter(|&i| mask & (1 << i) != 0) {
        let payment = owed[i] * share;
        paid[i] += payment;
        owed[i] -= payment;
    }
    if share < 1.0 { 0.0 } else { available - total }
}

/// EAD-weighted rate of the claims in `mask`; `None` when their EAD is 0.
fn weighted_rate(
    mask: u32,
    ead: &[f64; MAX_DEBT_INSTRUMENTS],
    rates: &[f64; MAX_DEBT_INSTRUMENTS],
) -> Option<f64> {
    let (weight, sum) = (0..MAX_DEBT_INSTRUMENTS)
        .filter(|&i| mask & (1 << i) != 0)
        .fold((0.0, 0.0), |(w, s), i| (w + ead[i], s + ead[i] * rates[i]));
    (weight > 0.0).then(|| rate(sum / weight))
}

/// One class's market in a month: `(c, f)` for supply `s` and depth `q`.
fn clear(supply: f64, q: f64, beta: f64) -> (f64, f64) {
    if supply.is_nan() || supply <= 0.0 {
        // No supply: a marginal seller would sell at undisturbed prices if the market is open.
        return (if q > 0.0 { 1.0 } else { 0.0 }, 1.0);
    }
    if q == f64::INFINITY {
        return (1.0, 1.0);
    }
    if q <= 0.0 {
        return (0.0, 0.0);
    }
    let c = (q / supply).min(1.0);
    let x = if beta == 0.0 {
        0.0
    } else {
        beta * (supply / q)
    };
    let f = if x.is_nan() {
        0.0
    } else if x <= 0.0 {
        1.0
    } else if x == f64::INFINITY {
        0.0
    } else {
        -(-x).exp_m1() / x
    };
    (c, f)
}

/// The depth factor of `month`: the last value beyond the end, 1 when empty; non-finite or
/// negative = 0.
fn depth_at(depth_factor: &[f64], month: usize) -> f64 {
    amount(
        depth_factor
            .get(month)
            .or(depth_factor.last())
            .copied()
            .unwrap_or(1.0),
    )
}

/// `(1 + r)^(−months/12)`.
fn discount_factor(annual_rate: f64, months: f64) -> f64 {
    (1.0 + annual_rate).powf(-months / 12.0)
}

/// An amount: non-finite or negative is 0.
fn amount(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

/// A rate: non-finite or negative is 0.
fn rate(value: f64) -> f64 {
    amount(value)
}

/// A fraction clamped to [0, 1]; `NaN` is 0.
fn unit(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(0.0, 1.0)
    }
}

const fn min_usize(a: usize, b: usize) -> usize {
    if a < b { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const UNLIMITED_KINDS: [LiquidationMarket; LIQUIDATION_KINDS] =
        [LiquidationMarket::UNLIMITED; LIQUIDATION_KINDS];
    const UNLIMITED: ClassMarkets =
        ClassMarkets([LiquidationMarket::UNLIMITED; LIQUIDATION_CLASSES]);
    const NO_WORKOUT: RecoveryTerms = RecoveryTerms {
        workout_months: 0,
        workout_cost_fraction: 0.0,
    };
    const GPU: LiquidationClass = LiquidationClass::Gpu { generation: 3 };
    const ASIC: LiquidationClass = LiquidationClass::Asic { band: 2 };

    fn claim(entity: u8, seniority: Seniority, ead_usd: f64, annual_rate: f64) -> Claim {
        Claim {
            entity,
            seniority,
            default_month: Some(0),
            principal_usd: ead_usd,
            accrued_interest_usd: 0.0,
            annual_rate,
        }
    }

    fn asset(entity: u8, class: LiquidationClass, value_usd: f64, secures: u32) -> EstateAsset {
        EstateAsset {
            entity,
            class,
            value_usd,
            secures,
        }
    }

    /// Markets where only `kind` has finite depth.
    fn markets_with(kind: LiquidationKind, market: LiquidationMarket) -> ClassMarkets {
        let mut markets = UNLIMITED_KINDS;
        markets[kind.index()] = market;
        ClassMarkets::per_kind(&markets)
    }

    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-9 * (1.0 + expected.abs()),
            "{actual} != {expected}"
        );
    }

    fn recover_alone(
        estate: &Estate,
        markets: &ClassMarkets,
        depth_factor: &[f64],
        terms: &RecoveryTerms,
    ) -> Recoveries {
        let prices = LiquidationPrices::for_estate(estate, markets, depth_factor);
        recover_estate(estate, &prices, terms)
    }

    #[test]
    fn unlimited_depth_has_no_impact() {
        let mut estate = Estate::default();
        estate.set_default(0, 10, 0.0);
        let loan = estate
            .push_claim(Claim {
                principal_usd: 140.0,
                accrued_interest_usd: 10.0,
                default_month: Some(10),
                ..claim(0, Seniority::SeniorSecured, 0.0, 0.10)
            })
            .unwrap();
        estate.push_asset(asset(0, GPU, 100.0, 1 << loan)).unwrap();
        let terms = RecoveryTerms {
            workout_months: 12,
            workout_cost_fraction: 0.10,
        };
        let out = recover_alone(&estate, &UNLIMITED, &[1.0], &terms);
        // Sold at once at 100, less 10 % costs, a year at 10 %: 100 × 0.9 / 1.1 = 81.8181…
        let recovered = 100.0 * 0.9 / 1.1;
        let loan = out.per_claim[loan];
        assert_close(loan.ead_usd, 150.0);
        assert_close(loan.secured_recovery_usd, recovered);
        assert_close(loan.unsecured_recovery_usd, 0.0);
        assert_close(loan.recovered_usd, recovered);
        assert_close(loan.loss_usd, 150.0 - recovered);
        // LGD = 1 − 81.8181…/150 = 0.454545…
        assert_close(loan.lgd.unwrap(), 1.0 - recovered / 150.0);
        let gpu = out.liquidation[LiquidationKind::Gpu.index()];
        assert_close(gpu.undisturbed_value_usd, 100.0);
        assert_close(gpu.impacted_value_usd, 100.0);
        assert_close(gpu.unsold_value_usd, 0.0);
        assert_close(gpu.net_proceeds_pv_usd, recovered);
    }

    #[test]
    fn one_seller_in_one_month_gets_the_closed_form_price() {
        // Selling 10 % of Q moves the price by 5 %: β = −10·ln 0.95 = 0.512932943875…
        let market = LiquidationMarket::from_impact(1000.0, 0.05);
        assert_close(market.beta, 0.512_932_943_875_505_8);
        let mut estate = Estate::default();
        estate.set_default(0, 5, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 200.0, 0.0))
            .unwrap();
        estate.push_asset(asset(0, ASIC, 100.0, 1 << loan)).unwrap();
        let markets = markets_with(LiquidationKind::Asic, market);
        let prices = LiquidationPrices::for_estate(&estate, &markets, &[]);
        // S = 100 ≤ Q = 1000: everything clears in month 5. x = β·100/1000 = −ln 0.95, so
        // e^(−x) = 0.95 and f = (1 − 0.95)/(−ln 0.95) = 0.05/0.051293294… = 0.974786287311…
        let f = 0.974_786_287_311_183_7;
        assert_eq!(prices.start_month(), 5);
        assert_close(prices.clearing_share(ASIC, 5), 1.0);
        assert_close(prices.price_factor(ASIC, 5), f);
        let out = recover_estate(&estate, &prices, &NO_WORKOUT);
        assert_close(out.per_claim[loan].recovered_usd, 100.0 * f);
        // Other bands are other markets: untouched.
        let other = LiquidationClass::Asic { band: 3 };
        assert_close(prices.price_factor(other, 5), 1.0);
    }

    #[test]
    fn overhang_carries_into_later_months() {
        // Q = 100 a month, β = 1, 250 entering in month 3:
        //   month 3: S = 250, c = 100/250 = 0.4, x = 2.5, f = (1 − e^−2.5)/2.5 = 0.367166000…
        //   month 4: S = 150, c = 100/150 = 2/3, x = 1.5, f = (1 − e^−1.5)/1.5 = 0.517913226…
        //   month 5: S =  50, c = 1,             x = 0.5, f = (1 − e^−0.5)/0.5 = 0.786938680…
        let market = LiquidationMarket {
            monthly_volume_usd: 100.0,
            beta: 1.0,
        };
        let markets = markets_with(LiquidationKind::Site, market);
        let mut estate = Estate::default();
        estate.set_default(0, 3, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 1000.0, 0.0))
            .unwrap();
        estate
            .push_asset(asset(0, LiquidationClass::Site, 250.0, 1 << loan))
            .unwrap();
        let prices = LiquidationPrices::for_estate(&estate, &markets, &[1.0]);
        let site = LiquidationClass::Site;
        assert_close(prices.clearing_share(site, 3), 0.4);
        assert_close(prices.clearing_share(site, 4), 2.0 / 3.0);
        assert_close(prices.clearing_share(site, 5), 1.0);
        assert_close(prices.price_factor(site, 3), 0.367_166_000_550_440_5);
        assert_close(prices.price_factor(site, 4), 0.517_913_226_567_713_4);
        assert_close(prices.price_factor(site, 5), 0.786_938_680_574_733_2);
        // Undiscounted: 100·f3 + 100·f4 + 50·f5 = 36.7166 + 51.7913 + 39.3469 = 127.854856…
        let out = recover_estate(&estate, &prices, &NO_WORKOUT);
        assert_close(out.per_claim[loan].recovered_usd, 127.854_856_740_552_04);
        let kind = out.liquidation[LiquidationKind::Site.index()];
        assert_close(kind.impacted_value_usd, 127.854_856_740_552_04);
        // At 12 %: the month-4 sale is discounted 1.12^(−1/12), month 5's 1.12^(−2/12):
        // 36.7166 + 51.7913 × 0.990600 + 39.3469 × 0.981289 = 126.631824…
        estate.claims[loan].annual_rate = 0.12;
        let out = recover_estate(&estate, &prices, &NO_WORKOUT);
        assert_close(out.per_claim[loan].recovered_usd, 126.631_824_274_236_5);

        // Depth halves from month 4 (and stays at the last value beyond the slice):
        //   month 4: Q = 50, S = 150, c = 1/3, x = 3, f = (1 − e^−3)/3
        //   month 5: Q = 50, S = 100, c = 1/2, x = 2, f = (1 − e^−2)/2
        //   month 6: Q = 50, S =  50, c = 1,   x = 1, f = 1 − e^−1
        // 100·f3 + 50·(f(3) + f(2) + f(1)) = 105.776128…
        let prices = LiquidationPrices::for_estate(&estate, &markets, &[1.0, 1.0, 1.0, 1.0, 0.5]);
        estate.claims[loan].annual_rate = 0.0;
        let out = recover_estate(&estate, &prices, &NO_WORKOUT);
        assert_close(out.per_claim[loan].recovered_usd, 105.776_128_109_425_56);
    }

    #[test]
    fn unsold_overhang_is_written_off_at_the_horizon() {
        // A shut market (depth factor 0) never clears: everything is written off.
        let mut estate = Estate::default();
        estate.set_default(0, 0, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 100.0, 0.05))
            .unwrap();
        estate.push_asset(asset(0, GPU, 100.0, 1 << loan)).unwrap();
        let markets = markets_with(GPU.kind(), LiquidationMarket::from_impact(50.0, 0.1));
        let out = recover_alone(&estate, &markets, &[0.0], &NO_WORKOUT);
        assert_eq!(out.per_claim[loan].lgd, Some(1.0));
        assert_close(out.liquidation[GPU.kind().index()].unsold_value_usd, 100.0);
        let prices = LiquidationPrices::for_estate(&estate, &markets, &[0.0]);
        assert_eq!(prices.end_month(), 1 + MAX_OVERHANG_MONTHS);
    }

    #[test]
    fn security_then_seniority_then_deficiency_with_unsecured_debt() {
        // Unlimited depth, no rate, no workout: every asset fetches its value.
        let mut estate = Estate::default();
        estate.set_default(0, 7, 10.0);
        let first_lien = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 80.0, 0.0))
            .unwrap();
        let second_lien = estate
            .push_claim(claim(0, Seniority::SeniorUnsecured, 50.0, 0.0))
            .unwrap();
        let bond = estate
            .push_claim(claim(0, Seniority::SeniorUnsecured, 90.0, 0.0))
            .unwrap();
        let note = estate
            .push_claim(claim(0, Seniority::Subordinated, 50.0, 0.0))
            .unwrap();
        let pledged = (1 << first_lien) | (1 << second_lien);
        estate
            .push_asset(asset(0, LiquidationClass::Site, 100.0, pledged))
            .unwrap();
        estate.push_asset(asset(0, ASIC, 20.0, 0)).unwrap();
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        let [first, second, bond, note] =
            [first_lien, second_lien, bond, note].map(|i| out.per_claim[i]);
        // Site 100: first lien paid 80 in full, second lien gets the other 20 (deficiency 30).
        assert_close(first.secured_recovery_usd, 80.0);
        assert_eq!(first.lgd, Some(0.0));
        assert_close(second.secured_recovery_usd, 20.0);
        // Pool: unpledged ASICs 20 + cash 10 = 30, shared by the deficiency 30 and the bond
        // 90 pro rata: 30/120 = 25 % → 7.5 and 22.5.
        assert_close(second.unsecured_recovery_usd, 7.5);
        assert_close(second.recovered_usd, 27.5);
        assert_close(second.lgd.unwrap(), 1.0 - 27.5 / 50.0);
        assert_close(bond.unsecured_recovery_usd, 22.5);
        assert_close(bond.lgd.unwrap(), 0.75);
        // Nothing left for the subordinated note.
        assert_close(note.recovered_usd, 0.0);
        assert_eq!(note.lgd, Some(1.0));
        assert_close(out.total_ead_usd, 270.0);
        assert_close(out.total_recovered_usd, 130.0);
        assert_close(out.to_equity_usd, 0.0);
    }

    #[test]
    fn claims_sharing_an_asset_are_paid_pro_rata() {
        // Two senior secured loans (60, 40) on an asset worth 50: 30 and 20. Their
        // deficiencies (30, 20) share the cash of 25 with a 50 bond: 25/100 → 7.5, 5, 12.5.
        let mut estate = Estate::default();
        estate.set_default(0, 0, 25.0);
        let a = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 60.0, 0.0))
            .unwrap();
        let b = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 40.0, 0.0))
            .unwrap();
        let bond = estate
            .push_claim(claim(0, Seniority::SeniorUnsecured, 50.0, 0.0))
            .unwrap();
        estate
            .push_asset(asset(0, GPU, 50.0, (1 << a) | (1 << b)))
            .unwrap();
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_close(out.per_claim[a].secured_recovery_usd, 30.0);
        assert_close(out.per_claim[b].secured_recovery_usd, 20.0);
        assert_close(out.per_claim[a].unsecured_recovery_usd, 7.5);
        assert_close(out.per_claim[b].unsecured_recovery_usd, 5.0);
        assert_close(out.per_claim[bond].unsecured_recovery_usd, 12.5);
    }

    #[test]
    fn lgd_rises_as_market_depth_falls() {
        let mut estate = Estate::default();
        estate.set_default(0, 24, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 100.0, 0.08))
            .unwrap();
        estate.push_asset(asset(0, GPU, 100.0, 1 << loan)).unwrap();
        let terms = RecoveryTerms {
            workout_months: 6,
            workout_cost_fraction: 0.05,
        };
        let lgds: Vec<f64> = [f64::INFINITY, 1000.0, 300.0, 100.0, 30.0, 10.0]
            .iter()
            .map(|&volume| {
                let markets = markets_with(GPU.kind(), LiquidationMarket::from_impact(volume, 0.1));
                let out = recover_alone(&estate, &markets, &[1.0], &terms);
                out.per_claim[loan].lgd.unwrap()
            })
            .collect();
        for pair in lgds.windows(2) {
            assert!(pair[0] < pair[1], "{lgds:?}");
        }
        // Unlimited: 1 − 0.95 × 1.08^(−0.5) = 0.085861…
        assert_close(lgds[0], 1.0 - 0.95 / 1.08_f64.sqrt());
    }

    #[test]
    fn project_surplus_reaches_the_parent_only_when_it_defaulted() {
        // Project company 1: a site worth 100 securing a 60 project loan. Parent: a 100 bond,
        // 10 of cash.
        let mut estate = Estate::default();
        let project_loan = estate
            .push_claim(claim(1, Seniority::SeniorSecured, 60.0, 0.0))
            .unwrap();
        let bond = estate
            .push_claim(claim(0, Seniority::SeniorUnsecured, 100.0, 0.10))
            .unwrap();
        estate
            .push_asset(asset(1, LiquidationClass::Site, 100.0, 1 << project_loan))
            .unwrap();
        estate.set_default(1, 12, 0.0);
        estate.set_default(0, 12, 10.0);

        // Both defaulted: surplus 100 − 60 = 40 joins the parent's pool, 40 + 10 = 50.
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_eq!(out.per_claim[project_loan].lgd, Some(0.0));
        assert_close(out.per_claim[bond].unsecured_recovery_usd, 50.0);
        assert_close(out.per_claim[bond].lgd.unwrap(), 0.5);
        assert_close(out.to_equity_usd, 0.0);

        // The project defaults a year after the parent: its surplus is worth 40 a year later,
        // discounted at the parent's pool rate: 40/1.1 + 10 = 46.3636…
        estate.set_default(1, 24, 0.0);
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_close(out.per_claim[bond].recovered_usd, 40.0 / 1.1 + 10.0);

        // The parent did not default: the surplus goes to equity, the bond gets nothing.
        estate.entity_default_month[0] = None;
        estate.claims[bond].default_month = None;
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_eq!(out.per_claim[project_loan].lgd, Some(0.0));
        assert_eq!(out.per_claim[bond], ClaimRecovery::default());
        assert_close(out.to_equity_usd, 40.0);
        assert_close(out.cash_pv_usd, 0.0);
    }

    #[test]
    fn a_claim_not_in_default_gets_nothing() {
        let mut estate = Estate::default();
        estate.set_default(0, 3, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 50.0, 0.0))
            .unwrap();
        let performing = estate
            .push_claim(Claim {
                default_month: None,
                ..claim(0, Seniority::SeniorUnsecured, 70.0, 0.0)
            })
            .unwrap();
        estate.push_asset(asset(0, GPU, 100.0, 1 << loan)).unwrap();
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_eq!(out.per_claim[loan].lgd, Some(0.0));
        let performing = out.per_claim[performing];
        assert_eq!(performing.lgd, None);
        assert_eq!(performing.ead_usd, 0.0);
        assert_eq!(performing.recovered_usd, 0.0);
        assert_close(out.to_equity_usd, 50.0);
        assert_close(out.total_ead_usd, 50.0);
    }

    #[test]
    fn an_asset_of_an_entity_not_in_default_is_not_sold() {
        let mut estate = Estate::default();
        estate.set_default(0, 3, 0.0);
        let loan = estate
            .push_claim(claim(0, Seniority::SeniorSecured, 50.0, 0.0))
            .unwrap();
        estate.push_asset(asset(2, GPU, 100.0, 1 << loan)).unwrap();
        let mut ledger = SalesLedger::new();
        ledger.add_estate(&estate);
        assert!(ledger.is_empty());
        let out = recover_alone(&estate, &UNLIMITED, &[], &NO_WORKOUT);
        assert_eq!(out.per_claim[loan].lgd, Some(1.0));
    }

    #[test]
    fn sellers_in_one_ledger_share_the_price() {
        // Two borrowers each selling 100 into a market of 1000 push S to 200: both get
        // f = (1 − e^(−2x))/(2x) with x = −ln 0.95, less than alone.
        let markets = markets_with(GPU.kind(), LiquidationMarket::from_impact(1000.0, 0.05));
        let mut estate = Estate::default();
        estate.set_default(0, 2, 0.0);
        estate.push_asset(asset(0, GPU, 100.0, 0)).unwrap();
        let mut ledger = SalesLedger::new();
        ledger.add_estate(&estate);
        ledger.add_estate(&estate);
        assert_close(ledger.volume_usd(GPU, 2), 200.0);
        let prices = LiquidationPrices::from_sales(&markets, &[], &ledger);
        let x = -(0.95_f64.ln());
        assert_close(prices.price_factor(GPU, 2), (1.0 - 0.95 * 0.95) / (2.0 * x));
    }

    #[test]
    fn indices_and_builders_are_bounded() {
        for index in 0..LIQUIDATION_CLASSES {
            let class = LiquidationClass::from_index(index).unwrap();
            assert_eq!(class.index(), index);
        }
        assert_eq!(LiquidationClass::from_index(LIQUIDATION_CLASSES), None);
        assert_eq!(LiquidationClass::Asic { band: 200 }.index(), ASIC_BANDS - 1);
        assert_eq!(
            LiquidationClass::Gpu { generation: 99 }.index(),
            ASIC_BANDS + GPU_GENERATIONS - 1
        );
        assert_eq!(LiquidationMarket::from_impact(1.0, f64::NAN).beta, 0.0);
        assert_eq!(LiquidationMarket::from_impact(1.0, 1.0).beta, f64::INFINITY);
        let mut estate = Estate::default();
        for _ in 0..MAX_ESTATE_ASSETS {
            estate.push_asset(EstateAsset::EMPTY).unwrap();
        }
        assert_eq!(
            estate.push_asset(EstateAsset::EMPTY),
            Err(EstateFull::Assets)
        );
        for _ in 0..MAX_DEBT_INSTRUMENTS {
            estate.push_claim(Claim::EMPTY).unwrap();
        }
        assert_eq!(estate.push_claim(Claim::EMPTY), Err(EstateFull::Claims));
        // Counts beyond the arrays are clamped, a huge default month too.
        estate.asset_count = usize::MAX;
        estate.claim_count = usize::MAX;
        estate.set_default(0, usize::MAX, f64::NAN);
        let out = recover_alone(&estate, &UNLIMITED, &[f64::NAN], &NO_WORKOUT);
        assert_eq!(out.claim_count, MAX_DEBT_INSTRUMENTS);
    }

    fn money() -> impl Strategy<Value = f64> {
        prop_oneof![
            8 => 0.0..1.0e6_f64,
            1 => Just(f64::NAN),
            1 => Just(f64::INFINITY),
            1 => Just(-5.0),
        ]
    }

    fn seniority() -> impl Strategy<Value = Seniority> {
        prop_oneof![
            Just(Seniority::SeniorSecured),
            Just(Seniority::SeniorUnsecured),
            Just(Seniority::Subordinated),
        ]
    }

    fn estate_strategy() -> impl Strategy<Value = Estate> {
        let entities = prop::collection::vec((prop::option::of(0usize..30), money()), 4);
        let assets = prop::collection::vec(
            (0u8..5, 0usize..LIQUIDATION_CLASSES, money(), any::<u32>()),
            0..12,
        );
        let claims = prop::collection::vec(
            (
                0u8..4,
                seniority(),
                prop::option::of(0usize..30),
                money(),
                money(),
                prop_oneof![4 => 0.0..0.3_f64, 1 => Just(f64::NAN), 1 => Just(-0.5)],
            ),
            0..8,
        );
        (entities, assets, claims, any::<bool>()).prop_map(|(entities, assets, claims, nested)| {
            let mut estate = Estate::default();
            for (entity, (month, cash)) in entities.into_iter().enumerate() {
                estate.entity_default_month[entity] = month;
                estate.entity_cash_usd[entity] = cash;
            }
            if nested {
                estate.parent_of_project_surplus[3] = Some(1);
                estate.parent_of_project_surplus[2] = Some(2);
            }
            for (entity, class, value_usd, secures) in assets {
                let class = LiquidationClass::from_index(class).unwrap();
                let asset = asset(entity, class, value_usd, secures);
                estate.push_asset(asset).unwrap();
            }
            for (entity, seniority, default_month, principal, accrued, rate) in claims {
                let claim = Claim {
                    entity,
                    seniority,
                    default_month,
                    principal_usd: principal,
                    accrued_interest_usd: accrued,
                    annual_rate: rate,
                };
                estate.push_claim(claim).unwrap();
            }
            estate
        })
    }

    fn market_strategy() -> impl Strategy<Value = LiquidationMarket> {
        let volume = prop_oneof![
            1 => Just(f64::INFINITY),
            1 => Just(f64::NAN),
            6 => 0.0..2.0e6_f64,
        ];
        (volume, -0.1..1.2_f64)
            .prop_map(|(volume, impact)| LiquidationMarket::from_impact(volume, impact))
    }

    proptest! {
        #[test]
        fn recoveries_are_bounded(
            estate in estate_strategy(),
            markets in prop::array::uniform4(market_strategy()),
            depth in prop::collection::vec(prop_oneof![4 => 0.0..2.0_f64, 1 => Just(f64::NAN)], 0..6),
            workout_months in 0u32..36,
            workout_cost_fraction in -0.2..1.2_f64,
        ) {
            let terms = RecoveryTerms { workout_months, workout_cost_fraction };
            let out = recover_alone(&estate, &ClassMarkets::per_kind(&markets), &depth, &terms);
            let sold: f64 = estate
                .assets()
                .iter()
                .filter(|a| estate.sale_month(usize::from(a.entity)).is_some())
                .map(|a| amount(a.value_usd))
                .sum();
            let cash: f64 = (0..MAX_ENTITIES)
                .filter(|&e| estate.sale_month(e).is_some())
                .map(|e| amount(estate.entity_cash_usd[e]))
                .sum();
            prop_assert!(out.total_recovered_usd.is_finite());
            prop_assert!(out.total_recovered_usd <= (sold + cash) * (1.0 + 1e-9) + 1e-9);
            let mut total = 0.0;
            for (claim, recovery) in estate.claims().iter().zip(out.claims()) {
                prop_assert!(recovery.recovered_usd >= 0.0);
                prop_assert!(recovery.recovered_usd <= recovery.ead_usd);
                prop_assert!(recovery.loss_usd >= 0.0);
                if let Some(lgd) = recovery.lgd {
                    prop_assert!((0.0..=1.0).contains(&lgd));
                    prop_assert!(claim.default_month.is_some());
                } else {
                    prop_assert!(claim.default_month.is_none() || recovery.ead_usd == 0.0);
                }
                if claim.default_month.is_none() {
                    prop_assert_eq!(*recovery, ClaimRecovery::default());
                }
                total += recovery.recovered_usd;
            }
            prop_assert!((total - out.total_recovered_usd).abs() <= 1e-9 * (1.0 + total));
            // Nothing is created: lenders and equity share at most the net proceeds and cash
            // (less only when a project's surplus is discounted back to its parent's default).
            let net: f64 = out.liquidation.iter().map(|k| k.net_proceeds_pv_usd).sum();
            let distributed = out.total_recovered_usd + out.to_equity_usd;
            prop_assert!(distributed <= (net + out.cash_pv_usd) * (1.0 + 1e-9) + 1e-9);
        }
    }
}
