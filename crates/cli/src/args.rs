//! Argument parsing shared by the commands: value parsers that validate at the boundary, the
//! data-source options, and how bad input is reported.

use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;

use bitwatt_chain::{CompactBits, NetworkSource, RpcAuth};
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
            let text = error.to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: invalid argument")
            );
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

/// A finite number above zero.
pub fn positive(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(v) => Err(format!("expected a number above zero, got {v}")),
        Err(_) => Err("expected a number, e.g. 80707 or 0.025".to_string()),
    }
}

/// A finite number at or above zero.
pub fn non_negative(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) => Err(format!("expected a number at or above zero, got {v}")),
        Err(_) => Err("expected a number, e.g. 0.025".to_string()),
    }
}

/// A finite number (a power price may be negative).
pub fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) => Err(format!("expected a finite number, got {v}")),
        Err(_) => Err("expected a number, e.g. 45".to_string()),
    }
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
