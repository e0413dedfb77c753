//! Shard documents: what a shard of `simulate` or `portfolio` hands on so that shards run
//! anywhere — another process, another machine, a task on a cluster — merge into exactly the
//! unsharded result. A simulation shard carries its scenario and stresses (the merge needs
//! the borrower for the credit metrics); a portfolio shard carries the book's name and
//! options (its metrics need only the shards).

use serde::{Deserialize, Serialize};

use crate::portfolio::{PortfolioResult, PortfolioShard};
use crate::simulate::{CreditMetrics, ShardResult, Simulation, SimulationError, SimulationResult};
use crate::stress::{Stress, StressError};
use bitwatt_model::Scenario;

use crate::simulate::Fingerprint;

/// The `format` of simulation shard documents.
pub const SIMULATION_SHARD_FORMAT: &str = "bitwatt-shard-1";

/// The `format` of portfolio shard documents.
pub const PORTFOLIO_SHARD_FORMAT: &str = "bitwatt-portfolio-shard-1";

/// A shard of `simulate` with the scenario and stresses it ran.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SimulationShardFile {
    /// Always [`SIMULATION_SHARD_FORMAT`].
    pub format: String,
    /// The scenario run.
    pub scenario: Scenario,
    /// The stresses, as named on the command line.
    pub stresses: Vec<String>,
    /// The shard's result.
    pub result: ShardResult,
}

/// A shard of `portfolio` with the book's name and options.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PortfolioShardFile {
    /// Always [`PORTFOLIO_SHARD_FORMAT`].
    pub format: String,
    /// The book's name.
    pub book: String,
    /// The stresses, as named on the command line.
    pub stresses: Vec<String>,
    /// Whether each borrower sold into its own liquidation market.
    pub independent_liquidation: bool,
    /// The shard's result.
    pub result: PortfolioShard,
}

/// Why shards do not merge.
#[derive(Debug, thiserror::Error)]
pub enum ShardMergeError {
    /// No shard given.
    #[error("no shard to merge")]
    Empty,
    /// A document of another format.
    #[error("shard {position}: format {found:?}, expected {expected:?}")]
    Format {
        /// Its position in the list (1-based).
        position: usize,
        /// Its format.
        found: String,
        /// The format expected.
        expected: &'static str,
    },
    /// The scenario carried does not match the fingerprint of the run.
    #[error("shard {position}: the scenario in it does not match its fingerprint")]
    ScenarioMismatch {
        /// Its position in the list (1-based).
        position: usize,
    },
    /// A stress name that does not parse or does not fit the scenario.
    #[error(transparent)]
    Stress(#[from] StressError),
    /// Shards of different runs, missing, repeated or cut short.
    #[error(transparent)]
    Simulation(#[from] SimulationError),
}

/// The merged run of simulation shards.
#[derive(Clone, Debug)]
pub struct MergedSimulation {
    /// The scenario run.
    pub scenario: Scenario,
    /// The stresses as named.
    pub stress_names: Vec<String>,
    /// The stresses.
    pub stresses: Vec<Stress>,
    /// The merged result.
    pub result: SimulationResult,
    /// Its credit metrics.
    pub metrics: CreditMetrics,
}

/// The merged run of portfolio shards.
#[derive(Clone, Debug)]
pub struct MergedPortfolio {
    /// The book's name.
    pub book: String,
    /// The stresses as named.
    pub stress_names: Vec<String>,
    /// Whether each borrower sold into its own liquidation market.
    pub independent_liquidation: bool,
    /// The merged result.
    pub result: PortfolioResult,
}

/// Reads stress names (`name` or `name@YYYY-MM`) and checks each window opens within the
/// scenario's projection.
pub fn parse_stresses(names: &[String], scenario: &Scenario) -> Result<Vec<Stress>, StressError> {
    let (first, months) = (scenario.first_month(), scenario.horizon_months as usize);
    names
        .iter()
        .map(|name| {
            let stress: Stress = name.parse()?;
            stress.check(first, months)?;
            Ok(stress)
        })
        .collect()
}

impl SimulationShardFile {
    /// The document of a shard of `scenario` run under `stresses`.
    pub fn new(scenario: Scenario, stresses: Vec<String>, result: ShardResult) -> Self {
        SimulationShardFile {
            format: SIMULATION_SHARD_FORMAT.to_string(),
            scenario,
            stresses,
            result,
        }
    }

    /// Merges shards of one run (any order) into the unsharded result and its metrics: the
    /// formats checked, the first shard's scenario checked against its fingerprint, and every
    /// shard's fingerprint against the first's.
    pub fn merge(shards: Vec<SimulationShardFile>) -> Result<MergedSimulation, ShardMergeError> {
        for (i, shard) in shards.iter().enumerate() {
            if shard.format != SIMULATION_SHARD_FORMAT {
                return Err(ShardMergeError::Format {
                    position: i + 1,
                    found: shard.format.clone(),
                    expected: SIMULATION_SHARD_FORMAT,
                });
            }
        }
        let first = shards.first().ok_or(ShardMergeError::Empty)?;
        let (scenario, stress_names) = (first.scenario.clone(), first.stresses.clone());
        let stresses = parse_stresses(&stress_names, &scenario)?;
        let fingerprint = &first.result.fingerprint;
        let expected =
            Fingerprint::of_run(&scenario, &stresses, fingerprint.paths, fingerprint.seed);
        if expected.scenario_sha256 != fingerprint.scenario_sha256 {
            return Err(ShardMergeError::ScenarioMismatch { position: 1 });
        }
        let simulation =
            Simulation::new(&scenario, &stresses, fingerprint.paths, fingerprint.seed)?;
        let result = SimulationResult::merge(shards.into_iter().map(|s| s.result).collect())?;
        let metrics = result.metrics(simulation.borrower());
        Ok(MergedSimulation {
            scenario,
            stress_names,
            stresses,
            result,
            metrics,
        })
    }
}

impl PortfolioShardFile {
    /// The document of a shard of the book `book`.
    pub fn new(
        book: String,
        stresses: Vec<String>,
        independent_liquidation: bool,
        result: PortfolioShard,
    ) -> Self {
        PortfolioShardFile {
            format: PORTFOLIO_SHARD_FORMAT.to_string(),
            book,
            stresses,
            independent_liquidation,
            result,
        }
    }

    /// Merges shards of one book's run (any order) into the unsharded result, the formats
    /// and fingerprints checked.
    pub fn merge(shards: Vec<PortfolioShardFile>) -> Result<MergedPortfolio, ShardMergeError> {
        for (i, shard) in shards.iter().enumerate() {
            if shard.format != PORTFOLIO_SHARD_FORMAT {
                return Err(ShardMergeError::Format {
                    position: i + 1,
                    found: shard.format.clone(),
                    expected: PORTFOLIO_SHARD_FORMAT,
                });
            }
        }
        let first = shards.first().ok_or(ShardMergeError::Empty)?;
        let (book, stress_names, independent_liquidation) = (
            first.book.clone(),
            first.stresses.clone(),
            first.independent_liquidation,
        );
        let result = PortfolioResult::merge(shards.into_iter().map(|s| s.result).collect())?;
        Ok(MergedPortfolio {
            book,
            stress_names,
            independent_liquidation,
            result,
        })
    }
}
