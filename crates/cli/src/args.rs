//! Argument parsing shared by the commands: value parsers that validate at the boundary, the
//! data-source options, and how bad input is reported.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use bitwatt_chain::{CompactBits, NetworkSource, RpcAuth};
use bitwatt_model::POWER_PRICE_RANGE_USD_PER_MWH;
use clap::Args;
use clap::error::ErrorKind;

/// An error caused by the user's input; the binary exits with status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Prints a clap error and returns the exit status: help and version go to stdout with 0; a bad
/// value is one line naming the argument, with status 2.
pub fn report_clap_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitCode::SUCCESS
        }
        ErrorKind::ValueValidation | ErrorKind::InvalidValue => {
            // clap's message up to its usage hint (valid values included), on one line.
            let text = error.to_string();
            let message: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more"))
                .filter(|line| !line.is_empty() && !line.starts_with("tip:"))
                .collect();
            eprintln!("{}", message.join(" "));
            ExitCode::from(crate::EXIT_BAD_INPUT)
        }
        _ => {
            let _ = error.print();
            ExitCode::from(crate::EXIT_BAD_INPUT)
        }
    }
}

/// Compact bits that decode to a valid (positive, non-overflowing) target.
pub fn valid_bits(text: &str) -> Result<CompactBits, String> {
    let bits = CompactBits::parse(text).map_err(|e| e.to_string())?;
    bits.target().map_err(|e| e.to_string())?;
    Ok(bits)
}

/// A number in `[min, max]`, naming the range and unit when it is not.
fn number_in(text: &str, min: f64, max: f64, unit: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && (min..=max).contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "expected a number from {min} to {max} {unit}, got {v}"
        )),
        Err(_) => Err(format!("expected a number from {min} to {max} {unit}")),
    }
}

/// A BTC price (USD): from 10⁻⁶ (below 2010's first trades) to 10⁹.
pub fn price_usd(text: &str) -> Result<f64, String> {
    number_in(text, 1e-6, 1e9, "USD")
}

/// Mean fees per block (BTC): at least zero, at most the 21 million that will ever exist.
pub fn fees_btc(text: &str) -> Result<f64, String> {
    number_in(text, 0.0, 21e6, "BTC")
}

/// A network difficulty: from regtest's 4.6 · 10⁻¹⁰ to 10³⁰.
pub fn difficulty(text: &str) -> Result<f64, String> {
    number_in(text, 1e-10, 1e30, "")
}

/// A hashprice (USD per PH/s per day): above zero, at most 10⁶.
pub fn hashprice_usd_per_ph_day(text: &str) -> Result<f64, String> {
    number_in(text, 1e-9, 1e6, "USD per PH/s per day")
}

/// A power price (USD/MWh) in the range a fleet file accepts.
pub fn power_price_usd_per_mwh(text: &str) -> Result<f64, String> {
    let (min, max) = POWER_PRICE_RANGE_USD_PER_MWH;
    number_in(text, min, max, "USD/MWh")
}

/// A difficulty change of a past retarget (%): Core allows −75 to +300.
pub fn retarget_percent(text: &str) -> Result<f64, String> {
    number_in(text, -75.0, 300.0, "%")
}

/// Where `network` and `mine` read the network from.
#[derive(Args, Debug, Clone)]
pub struct SourceArgs {
    /// Data source: `snapshot` (built in, the default), `bitcoind URL` or `esplora URL`.
    #[arg(long, num_args = 1..=2, value_names = ["KIND", "URL"], default_value = "snapshot")]
    source: Vec<String>,
    /// Bitcoin Core RPC user (with --rpc-password).
    #[arg(long, requires = "rpc_password")]
    rpc_user: Option<String>,
    /// Bitcoin Core RPC password (with --rpc-user).
    #[arg(long, requires = "rpc_user")]
    rpc_password: Option<String>,
    /// Bitcoin Core cookie file (`<datadir>/.cookie`) instead of user and password.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rpc_user", "rpc_password"])]
    rpc_cookie: Option<PathBuf>,
}

impl SourceArgs {
    /// The source the options describe.
    pub fn source(&self) -> Result<NetworkSource, BadInput> {
        let kind = self
            .source
            .first()
            .map(String::as_str)
            .unwrap_or("snapshot");
        let url = self.source.get(1).cloned();
        let auth = match (&self.rpc_user, &self.rpc_password, &self.rpc_cookie) {
            (Some(user), Some(password), _) => RpcAuth::UserPass {
                user: user.clone(),
                password: password.clone(),
            },
            (_, _, Some(path)) => RpcAuth::CookieFile(path.clone()),
            _ => RpcAuth::None,
        };
        match (kind, url) {
            ("snapshot", None) => Ok(NetworkSource::Snapshot),
            ("snapshot", Some(url)) => Err(BadInput(format!(
                "--source snapshot takes no URL, got '{url}'"
            ))),
            ("bitcoind", Some(url)) => Ok(NetworkSource::Bitcoind { url, auth }),
            ("esplora", Some(base_url)) => Ok(NetworkSource::Esplora { base_url }),
            ("bitcoind" | "esplora", None) => Err(BadInput(format!(
                "--source {kind} needs a URL, e.g. --source {kind} {}",
                if kind == "bitcoind" {
                    "http://127.0.0.1:8332"
                } else {
                    "https://mempool.space/api"
                }
            ))),
            (other, _) => Err(BadInput(format!(
                "--source '{other}': expected snapshot, bitcoind URL or esplora URL"
            ))),
        }
    }
}
