//! Data sources that fill a [`NetworkState`]: the compiled-in snapshot, a Bitcoin Core node
//! over JSON-RPC, or an Esplora / mempool.space REST API.
//!
//! Every live fetch runs under one deadline ([`DEFAULT_FETCH_TIMEOUT`] unless the caller gives
//! another): all the HTTP requests of a fetch share it, so an unreachable or silent server
//! produces a [`SourceError`] within that time instead of hanging.

mod bitcoind;
mod esplora;
mod http;
#[cfg(test)]
mod test_server;

use std::path::PathBuf;
use std::time::Duration;

use crate::network::NetworkState;
use crate::pow::{BlockWork, CompactBits};

/// The deadline of a whole fetch (all its HTTP requests together) unless the caller gives one.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Blocks in the trailing-hashrate window (`getnetworkhashps 1008`, half an epoch).
const TRAILING_BLOCKS: u32 = 1008;

/// Difficulty change in percent from the epoch with `previous` bits to the one with `current`,
/// by Core's `GetDifficulty`.
fn retarget_percent(previous: CompactBits, current: CompactBits) -> f64 {
    (current.core_difficulty() / previous.core_difficulty() - 1.0) * 100.0
}

/// Where to read the state of the network from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetworkSource {
    /// The snapshot compiled into the binary ([`crate::snapshot`]); no I/O.
    Snapshot,
    /// A Bitcoin Core node's JSON-RPC interface.
    Bitcoind {
        /// RPC endpoint, e.g. `http://127.0.0.1:8332`.
        url: String,
        /// How to authenticate to the node.
        auth: RpcAuth,
    },
    /// An Esplora REST API, as served by blockstream.info or mempool.space.
    Esplora {
        /// API root, e.g. `https://mempool.space/api` or `https://blockstream.info/api`.
        base_url: String,
    },
}

/// How to authenticate to Bitcoin Core's RPC server (HTTP basic authentication).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RpcAuth {
    /// No credentials (a proxy that adds them, or a test server).
    None,
    /// `rpcuser` / `rpcpassword` (or an `rpcauth` entry) from `bitcoin.conf`.
    UserPass {
        /// The RPC user name.
        user: String,
        /// The RPC password.
        password: String,
    },
    /// Core's cookie file (`<datadir>/.cookie`, content `__cookie__:<password>`), read at
    /// each fetch because the node writes a new one every time it starts.
    CookieFile(PathBuf),
}

/// Why a live source could not give the network state. Each message is one line that names the
/// URL (or the cookie file) and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The server could not be reached: connection refused, host not found, network down.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL requested (credentials removed).
        url: String,
        /// What the operating system or the resolver said.
        reason: String,
    },
    /// The fetch's deadline passed before the server answered.
    #[error("no answer from {url} within the fetch deadline of {} s", timeout.as_secs_f64())]
    Timeout {
        /// The URL requested (credentials removed).
        url: String,
        /// The deadline of the whole fetch.
        timeout: Duration,
    },
    /// The server answered with an HTTP error status.
    #[error("{url} answered HTTP {status}{}", after_colon(body))]
    HttpStatus {
        /// The URL requested (credentials removed).
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, on one line (may be empty).
        body: String,
    },
    /// The RPC server rejected the credentials (HTTP 401).
    #[error(
        "{url} rejected the RPC credentials (HTTP 401): check rpcuser/rpcpassword or the cookie file"
    )]
    Unauthorized {
        /// The RPC URL (credentials removed).
        url: String,
    },
    /// Bitcoin Core answered a call with a JSON-RPC error.
    #[error("{url}: RPC {method} failed with error {code}: {message}")]
    Rpc {
        /// The RPC URL (credentials removed).
        url: String,
        /// The RPC method that failed.
        method: String,
        /// Core's error code (e.g. −8 invalid parameter, −32601 method not found).
        code: i64,
        /// Core's error message.
        message: String,
    },
    /// The response is not what the API documents: not JSON, a missing or mistyped field, or
    /// values that contradict the request.
    #[error("{url}: malformed response: {detail}")]
    Malformed {
        /// The URL requested (credentials removed).
        url: String,
        /// What is wrong, naming the field or the call.
        detail: String,
    },
    /// The cookie file could not be read or has no `user:password` line.
    #[error("cannot use the RPC cookie file {}: {reason}", path.display())]
    Cookie {
        /// The cookie file's path.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Any other failure of the HTTP exchange (invalid URL, TLS, protocol error).
    #[error("{url}: HTTP error: {reason}")]
    Http {
        /// The URL requested (credentials removed).
        url: String,
        /// What the HTTP client said.
        reason: String,
    },
}

/// `": text"`, or nothing for an empty text.
fn after_colon(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// Reads the network state from `source` within [`DEFAULT_FETCH_TIMEOUT`].
pub fn fetch_network_state(source: &NetworkSource) -> Result<NetworkState, SourceError> {
    fetch_network_state_within(source, DEFAULT_FETCH_TIMEOUT)
}

/// Reads the network state from `source`; all the requests of the fetch together must finish
/// within `timeout`, or the fetch fails with [`SourceError::Timeout`].
///
/// The bitcoind source gives the fee mean over 144 blocks and Core's `getnetworkhashps 1008`.
/// The Esplora source gives the fee mean over the last 10 blocks (one request per block) and
/// the trailing hashrate approximated as described at [`trailing_hashrate_hs`]. Neither live
/// source carries a price: `price_usd` is `None`.
pub fn fetch_network_state_within(
    source: &NetworkSource,
    timeout: Duration,
) -> Result<NetworkState, SourceError> {
    match source {
        NetworkSource::Snapshot => Ok(crate::network::snapshot()),
        NetworkSource::Bitcoind { url, auth } => bitcoind::fetch(url, auth, timeout),
        NetworkSource::Esplora { base_url } => esplora::fetch(base_url, timeout),
    }
}

/// Hashrate of a window of blocks as Bitcoin Core's `getnetworkhashps` computes it: the work
/// of the window's blocks after its first, divided by the spread (latest minus earliest) of the
/// timestamps of all its blocks, first included. Returns 0 when fewer than two times are given
/// or they are all equal, as Core does.
///
/// For `getnetworkhashps 1008` at tip height `h`, `work` is the work of blocks `h − 1007 … h`
/// and `block_times_s` the times of blocks `h − 1008 … h`. Block times are not monotonic, so
/// passing only the times of the window's two ends (as the Esplora adapter does, to avoid 1009
/// requests) can understate the spread by a few minutes at most.
pub fn trailing_hashrate_hs(work: BlockWork, block_times_s: &[i64]) -> f64 {
    let (Some(&min), Some(&max)) = (block_times_s.iter().min(), block_times_s.iter().max()) else {
        return 0.0;
    };
    if min == max {
        return 0.0;
    }
    work.to_f64() / max.abs_diff(min) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work_of(bits: u32, blocks: u32) -> BlockWork {
        let one = CompactBits::from_consensus(bits).target().unwrap().work();
        (0..blocks).fold(BlockWork::zero(), |acc, _| acc + one)
    }

    #[test]
    fn trailing_hashrate_is_work_over_time_spread() {
        // 1008 blocks of 0x1701e2a0 (difficulty 149.30 T) mined in exactly a week.
        let work = work_of(0x1701_e2a0, 1008);
        let got = trailing_hashrate_hs(work, &[1_764_000_000, 1_764_604_800]);
        let expected = work.to_f64() / 604_800.0;
        assert_eq!(got, expected);
        // At 600 s per block the hashrate is D · 2³² / 600 up to the factor 2¹⁶ / 0xffff by
        // which 2²⁵⁶ / target exceeds D · 2³² (D's numerator is 0xffff · 2²⁰⁸, not 2²²⁴).
        let implied = crate::pow::implied_hashrate_hs(
            CompactBits::from_consensus(0x1701_e2a0).core_difficulty(),
        );
        let ratio = got / implied;
        assert!(
            (ratio - 65_536.0 / 65_535.0).abs() < 1e-12,
            "{got} vs {implied}"
        );
    }

    #[test]
    fn trailing_hashrate_uses_min_and_max_not_ends() {
        let work = work_of(0x1701_e2a0, 3);
        // Times out of order, as real block times can be: spread 1 000 s, not 400 s.
        let got = trailing_hashrate_hs(work, &[1_000, 2_000, 1_200, 1_400]);
        assert_eq!(got, work.to_f64() / 1_000.0);
    }

    #[test]
    fn trailing_hashrate_degenerate_windows_are_zero() {
        let work = work_of(0x1701_e2a0, 1);
        assert_eq!(trailing_hashrate_hs(work, &[]), 0.0);
        assert_eq!(trailing_hashrate_hs(work, &[5]), 0.0);
        assert_eq!(trailing_hashrate_hs(work, &[5, 5, 5]), 0.0);
        assert!(trailing_hashrate_hs(work, &[i64::MIN, i64::MAX]) > 0.0);
    }

    #[test]
    fn retarget_percent_of_the_snapshot_epoch() {
        // 0x1701d936 → 0x1701e2a0: same exponent, so D falls by the mantissa ratio.
        let got = retarget_percent(
            CompactBits::from_consensus(0x1701_d936),
            CompactBits::from_consensus(0x1701_e2a0),
        );
        assert!(
            (got - (121_142.0 / 123_552.0 - 1.0) * 100.0).abs() < 1e-9,
            "{got}"
        );
        assert!((got - crate::network::snapshot().previous_retarget_percent).abs() < 1e-9);
    }

    #[test]
    fn snapshot_source_is_the_snapshot() {
        assert_eq!(
            fetch_network_state(&NetworkSource::Snapshot),
            Ok(crate::network::snapshot())
        );
    }
}
