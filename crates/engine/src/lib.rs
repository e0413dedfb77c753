//! The bitwatt engine: the economics computed from validated models and market paths.
//!
//! * [`fleet_economics`] → [`FleetEconomics`]: revenue, power cost, hashcost, breakeven power
//!   price, shutdown hashprice and payback of a mining fleet at a [`MiningMarket`];
//! * [`MarketPath`], [`base_market_path`]: the monthly factor path and the deterministic base
//!   case, with the network run epoch by epoch by [`NetworkSim`];
//! * [`Borrower`]: a scenario compiled for the hot loop (project finance sized once);
//! * [`run_path`] → [`PathSummary`]: a borrower's months on one path — operations, the cash
//!   waterfall, covenants and default — with the monthly detail in [`PathBuffers`];
//! * [`project`] → [`Projection`]: the deterministic base case with every month kept;
//! * [`headroom`] → [`CovenantHeadroom`]: the BTC price, hashprice, GPU rent and power price at
//!   which each covenant first breaks on the base case;
//! * [`Portfolio`] → [`PortfolioResult`] → [`PortfolioMetrics`]: a lender's book of borrowers
//!   on one market, their collateral sold into shared or independent liquidation markets;
//! * [`rating_grade`] → [`RatingGrade`]: a cumulative PD mapped to a rating grade on a
//!   published table of corporate default rates;
//! * [`backtest_hashprice`] → [`HashpriceBacktest`]: daily hashprice recomputed against history.
#![deny(missing_docs)]

mod backtest;
mod borrower;
mod calibrate;
mod fold;
mod generator;
mod headline;
mod headroom;
mod idiosyncratic;
mod instruments;
mod market;
mod mining;
mod network;
mod portfolio;
mod project;
mod rating;
mod recovery;
mod sensitivity;
mod shard_file;
mod simulate;
mod sketch;
mod stress;
mod tail;
mod waterfall;

pub use backtest::{
    BacktestError, CreditBacktest, CreditBacktestError, HashpriceBacktest, HashpriceDay,
    NetworkBacktest, NetworkBacktestMonth, backtest_credit, backtest_hashprice, backtest_network,
    historical_network_start,
};
pub use borrower::{
    AssetRef, Borrower, CompileError, ConversionPlan, DebtPlan, EquityIssuancePlan, FleetPlan,
    GpuPlan, HedgePlan, LeasePlan, Rate, RefinancingPlan, SitePlan,
};
pub use calibrate::{
    BtcCalibration, BtcModelFit, CalibrationError, CorrelationCalibration, CorrelationEstimate,
    DailyRegimeModel, FactorCorrelation, FeesCalibration, GpuRentCalibration, GpuRentFit,
    HashrateMonth, HashrateResponseCalibration, HistoricalDrift, LagFit, MAX_LAG_MONTHS,
    MIN_CALIBRATION_DAYS, MIN_CORRELATION_PERIODS, MIN_HASHRATE_MONTHS, MIN_LAG_MONTHS,
    MarginMonth, PeriodShock, RegimeDay, calibrate_btc, calibrate_correlations, calibrate_fees,
    calibrate_gpu_rents, calibrate_hashrate_response, daily_log_returns, fit_daily_regime_model,
    monthly_network_history,
};
pub use generator::{
    GeneratorError, GeneratorScratch, MarketGenerator, RandomKey, STRESS_DIRECTION,
    correlated_shocks,
};
pub use headline::HeadlineValue;
pub use headroom::{
    Breach, CovenantHeadroom, CovenantLevel, FirstBreach, HEADROOM_GRID_STEPS,
    HEADROOM_SEARCH_RANGE, HEADROOM_TOLERANCE, Headroom, HeadroomSolver, Lever, headroom,
};
pub use idiosyncratic::{
    ConversionRisk, DELAY_LANE, FedCapacity, IdiosyncraticDraws, IdiosyncraticPlan, OUTAGE_LANE,
    draw_idiosyncratic,
};
pub use market::{
    MarketPath, base_fees_btc_per_block, base_market_path, bridge_crossing_probability,
    brownian_bridge_low_usd, btc_drift_per_year, generation_rent_factors, network_origin,
    start_btc_price_usd, stressed_market_path,
};
pub use mining::{FleetEconomics, HalvingStep, MiningMarket, UnitEconomics, fleet_economics};
pub use network::{NetworkMonth, NetworkOrigin, NetworkSim, WorldFleetCurve, subsidy_btc_between};
pub use portfolio::{
    BookLossTail, BookMetrics, BookPaths, BookPathsOut, BorrowerDefault, BorrowerLoss,
    DefaultCorrelation, DefaultRecord, FireSaleAddOn, LOSS_HISTOGRAM_BINS, Liquidation,
    LossHistogram, MAX_CORRELATED_BORROWERS, Portfolio, PortfolioBorrower, PortfolioError,
    PortfolioMetrics, PortfolioResult, PortfolioShard, TailAddOn, book_borrowers,
};
pub use project::{Projection, StressCase, project, stress_comparison};
pub use rating::{Grade, MAX_RATING_HORIZON_YEARS, RatingGrade, rating_grade};
pub use recovery::{
    ASIC_BANDS, Claim, ClaimRecovery, ClassMarkets, Estate, EstateAsset, EstateFull,
    GPU_GENERATIONS, KindProceeds, LIQUIDATION_CLASSES, LIQUIDATION_KINDS, LiquidationClass,
    LiquidationKind, LiquidationMarket, LiquidationPrices, MAX_ENTITIES, MAX_ESTATE_ASSETS,
    MAX_OVERHANG_MONTHS, MAX_SALE_START_MONTH, Recoveries, RecoveryTerms, SaleFactors, SalesLedger,
    recover_estate,
};
pub use sensitivity::{Bump, STANDARD_BUMPS, SensitivityRow, sensitivity};
pub use shard_file::{
    MergedPortfolio, MergedSimulation, PORTFOLIO_SHARD_FORMAT, PortfolioShardFile,
    SIMULATION_SHARD_FORMAT, ShardMergeError, SimulationShardFile, parse_stresses,
};
pub use simulate::{
    CHUNK_PATHS, CausePd, CovenantBreachMetrics, CreditMetrics, Estimate, Factor,
    FactorAttribution, Fan, FanSeries, Fingerprint, InstrumentMetrics, LossTail, PathOutcome,
    PathScalars, PathsOut, QUANTILE_LEVELS, RunControl, Shard, ShardResult, Simulation,
    SimulationError, SimulationResult, SpreadMetrics, TimeToDefault, simulate,
};
pub use sketch::QuantileSketch;
pub use stress::{Stress, StressError, StressKind};
pub use waterfall::{
    CollateralValues, Covenant, CovenantBreaches, DebtMonth, DebtOutcome, DefaultCause,
    DefaultEvent, MonthRow, PathBuffers, PathSummary, annual_irr, recover, run_path,
};
