//! `bitwatt`: prices the risk of Bitcoin mining, AI data centres and the debt that finances
//! them. This binary only parses arguments, calls the libraries and prints.

mod args;
mod backtest_cmd;
mod calibrate_cmd;
mod chain_cmd;
mod history_cmd;
mod mine_cmd;
mod network_cmd;
mod output;
mod paths_out;
mod portfolio_cmd;
mod project_cmd;
mod run_control;
mod scenario_cmd;
#[cfg(feature = "dashboard")]
mod serve_cmd;
mod simulate_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status for bad input: a malformed argument or an invalid input file.
const EXIT_BAD_INPUT: u8 = 2;

/// Exit status for a failure that is not the input's fault (an unreachable data source).
const EXIT_FAILURE: u8 = 1;

#[derive(Parser)]
#[command(
    name = "bitwatt",
    version,
    about = "Behind the bits are the watts: mining economics and compute-infrastructure credit risk"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The model against history: `hashprice` recomputed from price, difficulty and fees.
    #[command(subcommand)]
    Backtest(backtest_cmd::BacktestCommand),
    /// The market model fitted to history: BTC's regimes, volatilities and jumps, written as
    /// a `[market.model]` block with standard errors.
    Calibrate(calibrate_cmd::CalibrateArgs),
    /// Consensus-exact calculators: difficulty, retarget, subsidy, hashprice, next adjustment.
    #[command(subcommand)]
    Chain(chain_cmd::ChainCommand),
    /// Where the network is now: difficulty, hashrate, next adjustment, fees, hashprice.
    Network(network_cmd::NetworkArgs),
    /// Unit economics of a mining fleet: revenue, hashcost, breakeven power price, payback.
    Mine(mine_cmd::MineArgs),
    /// A lender's book on shared market paths: loss distribution, VaR / ES, contributions,
    /// default correlation and the shared fire sale's add-on.
    Portfolio(portfolio_cmd::PortfolioArgs),
    /// The run history: `list` the runs recorded, `show` one, `diff` two.
    #[command(subcommand)]
    Runs(history_cmd::RunsCommand),
    /// A borrower's base case month by month: cash waterfall, DSCR, LTV, covenants, default.
    Project(project_cmd::ProjectArgs),
    /// Print the JSON Schema of the scenario file.
    Schema,
    /// A local web page to explore a scenario: examples or an uploaded file, the main levers,
    /// bounded runs with progress and cancel, the report's summary and charts.
    #[cfg(feature = "dashboard")]
    Serve(serve_cmd::ServeArgs),
    /// A borrower on many generated market paths: PD, LGD, EAD, expected loss, loss tail.
    Simulate(simulate_cmd::SimulateArgs),
    /// Combine the shard files of `simulate --shard K/N` into exactly the unsharded result.
    Merge(simulate_cmd::MergeArgs),
    /// Check a scenario file and report every problem in it.
    Validate(scenario_cmd::ValidateArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return args::report_clap_error(&error),
    };
    let result = match cli.command {
        Command::Backtest(command) => backtest_cmd::run(command),
        Command::Calibrate(command) => calibrate_cmd::run(command),
        Command::Chain(command) => chain_cmd::run(command),
        Command::Network(command) => network_cmd::run(command),
        Command::Merge(command) => simulate_cmd::run_merge(command),
        Command::Mine(command) => mine_cmd::run(command),
        Command::Portfolio(command) => portfolio_cmd::run(command),
        Command::Project(command) => project_cmd::run(command),
        Command::Runs(command) => history_cmd::run(command),
        Command::Schema => scenario_cmd::run_schema(),
        #[cfg(feature = "dashboard")]
        Command::Serve(command) => serve_cmd::run(command),
        Command::Simulate(command) => simulate_cmd::run(command),
        Command::Validate(command) => scenario_cmd::run_validate(command),
    };
    match result {
        Ok(text) => {
            // A closed pipe (`bitwatt project --json | head`) is not an error.
            let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            if error.is::<args::BadInput>() {
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}
