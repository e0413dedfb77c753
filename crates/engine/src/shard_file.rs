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

/// Every shard's format is `expected`.
fn check_formats<'a>(
    formats: impl Iterator<Item = &'a str>,
    expected: &'static str,
) -> Result<(), ShardMergeError> {
    for (i, found) in formats.enumerate() {
        if found != expected {
            return Err(ShardMergeError::Format {
                position: i + 1,
                found: found.to_string(),
                expected,
            });
        }
    }
    Ok(())
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
        check_formats(
            shards.iter().map(|s| s.format.as_str()),
            SIMULATION_SHARD_FORMAT,
        )?;
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
        check_formats(
            shards.iter().map(|s| s.format.as_str()),
            PORTFOLIO_SHARD_FORMAT,
        )?;
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

#[cfg(test)]
mod tests {
    use bitwatt_model::PIVOT_MINER_TOML;

    use super::*;
    use crate::simulate::Shard;

    fn shard(scenario: &Scenario, index: u64, count: u64) -> SimulationShardFile {
        let stresses = vec!["grid-event".to_string()];
        let parsed = parse_stresses(&stresses, scenario).unwrap();
        let simulation = Simulation::new(scenario, &parsed, 96, 5).unwrap();
        let result = simulation
            .run(Shard { index, count }, &mut Default::default())
            .unwrap();
        SimulationShardFile::new(scenario.clone(), stresses, result)
    }

    #[test]
    fn shards_through_their_documents_merge_into_the_whole_run() {
        let scenario = Scenario::from_toml(PIVOT_MINER_TOML).unwrap();
        let whole = SimulationShardFile::merge(vec![shard(&scenario, 1, 1)]).unwrap();
        let through_json = |s: SimulationShardFile| -> SimulationShardFile {
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap()
        };
        let merged = SimulationShardFile::merge(vec![
            through_json(shard(&scenario, 2, 2)),
            through_json(shard(&scenario, 1, 2)),
        ])
        .unwrap();
        assert_eq!(merged.result, whole.result);
        assert_eq!(merged.metrics, whole.metrics);
        assert_eq!(merged.stress_names, ["grid-event"]);
    }

    #[test]
    fn foreign_or_altered_shards_are_refused() {
        let scenario = Scenario::from_toml(PIVOT_MINER_TOML).unwrap();
        let mut other_format = shard(&scenario, 1, 1);
        other_format.format = PORTFOLIO_SHARD_FORMAT.to_string();
        assert!(matches!(
            SimulationShardFile::merge(vec![other_format]),
            Err(ShardMergeError::Format { position: 1, .. })
        ));
        let mut altered = shard(&scenario, 1, 1);
        altered.scenario.horizon_months -= 1;
        assert!(matches!(
            SimulationShardFile::merge(vec![altered]),
            Err(ShardMergeError::ScenarioMismatch { position: 1 })
        ));
        assert!(matches!(
            SimulationShardFile::merge(Vec::new()),
            Err(ShardMergeError::Empty)
        ));
        let names = ["no-such-stress".to_string()];
        assert!(parse_stresses(&names, &scenario).is_err());
        let late = [format!(
            "grid-event@{}",
            scenario.first_month().plus_months(999)
        )];
        assert!(parse_stresses(&late, &scenario).is_err());
    }
}
