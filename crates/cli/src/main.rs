//! `bitwatt`: prices the risk of Bitcoin mining, AI data centres and the debt that finances
//! them. This binary only parses arguments, calls the libraries and prints.

mod args;
mod chain_cmd;
mod mine_cmd;
mod network_cmd;
mod output;

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
    /// Consensus-exact calculators: difficulty, retarget, subsidy, hashprice, next adjustment.
    #[command(subcommand)]
    Chain(chain_cmd::ChainCommand),
    /// Where the network is now: difficulty, hashrate, next adjustment, fees, hashprice.
    Network(network_cmd::NetworkArgs),
    /// Unit economics of a mining fleet: revenue, hashcost, breakeven power price, payback.
    Mine(mine_cmd::MineArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return args::report_clap_error(&error),
    };
    let result = match cli.command {
        Command::Chain(command) => chain_cmd::run(command),
        Command::Network(command) => network_cmd::run(command),
        Command::Mine(command) => mine_cmd::run(command),
    };
    match result {
        Ok(text) => {
            print!("{text}");
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
