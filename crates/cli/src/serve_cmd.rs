//! `bitwatt serve`: the local dashboard, on 127.0.0.1 unless told otherwise, until Ctrl-C.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};

use anyhow::{Context, Result};
use bitwatt_serve::{ServeConfig, serve_blocking};
use clap::Args;

use crate::history_cmd::HistoryArgs;

/// Arguments of `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Port to listen on (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to listen on; anything but a loopback address opens the dashboard to the
    /// network.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Most paths one run may ask for.
    #[arg(long, value_name = "N", default_value_t = ServeConfig::default().max_paths,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_paths: u64,
    /// Most runs under way at once; more are refused until one ends.
    #[arg(long, value_name = "N", default_value_t = ServeConfig::default().max_concurrent_runs,
          value_parser = at_least_one)]
    max_runs: usize,
    /// Worker threads shared by the runs (default: every core); results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    #[command(flatten)]
    history: HistoryArgs,
}

/// A count of at least one.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a whole number of at least 1, got {text}")),
    }
}

/// Runs `serve`: prints the address on standard error and serves until the process is stopped.
pub fn run(args: ServeArgs) -> Result<String> {
    let address = SocketAddr::new(args.bind, args.port);
    let listener =
        TcpListener::bind(address).with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    let config = ServeConfig {
        max_paths: args.max_paths,
        max_concurrent_runs: args.max_runs,
        threads: args.threads.unwrap_or(0),
        history: args.history.checked_path()?,
        ..ServeConfig::default()
    };
    eprintln!("bitwatt dashboard on http://{bound}/ (Ctrl-C stops it)");
    serve_blocking(listener, config)?;
    Ok(String::new())
}
