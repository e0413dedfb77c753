//! Esplora's REST API, as served by blockstream.info and mempool.space.
//!
//! Requests per fetch: `/blocks/tip/height`; `/blocks/:height` (10 blocks down from a height)
//! for the tip and for each of the epoch start, the previous epoch's last block, the
//! quarter-epoch block (503 below the tip) and the block 1008 below the tip that the earlier
//! answers did not include; and `/block/:hash/txs/0` for each of the last [`FEE_BLOCKS`]
//! blocks, whose coinbase gives the fees. About 15 requests on mainnet.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::http::{Http, redact_url};
use super::{SourceError, TRAILING_BLOCKS, retarget_percent, trailing_hashrate_hs};
use crate::adjustment::{epoch_start_height, quarter_epoch_block_height};
use crate::network::NetworkState;
use crate::pow::{BlockWork, CompactBits, Target};
use crate::subsidy::{block_subsidy_sat, sat_to_btc};

/// Blocks whose fees are averaged: one coinbase request each, so fewer than Core's 144.
const FEE_BLOCKS: u32 = 10;

/// The part of a block (as `/blocks/:height` lists them) the adapter reads.
#[derive(Clone, Deserialize)]
struct Block {
    id: String,
    height: u32,
    timestamp: i64,
    bits: u32,
}

/// The part of a transaction the adapter reads.
#[derive(Deserialize)]
struct Transaction {
    vin: Vec<Input>,
    vout: Vec<Output>,
}

#[derive(Deserialize)]
struct Input {
    is_coinbase: bool,
}

#[derive(Deserialize)]
struct Output {
    value: u64,
}

/// Reads the network state from the Esplora API at `base_url`.
pub(super) fn fetch(base_url: &str, timeout: Duration) -> Result<NetworkState, SourceError> {
    let mut api = Esplora {
        http: Http::new(timeout),
        base: base_url.trim_end_matches('/'),
        blocks: Vec::new(),
    };
    let tip_height = api.tip_height()?;
    let tip = api.block_at(tip_height)?;
    let tip_bits = api.bits(&tip)?;

    let epoch_start = epoch_start_height(tip_height);
    let epoch_start_time_s = api.block_at(epoch_start)?.timestamp;
    let previous_bits = match epoch_start.checked_sub(1) {
        Some(h) => {
            let block = api.block_at(h)?;
            Some(api.bits(&block)?)
        }
        None => None,
    };
    let quarter_epoch_time_s = match quarter_epoch_block_height(tip_height) {
        Some(h) => Some(api.block_at(h)?.timestamp),
        None => None,
    };

    // Core's getnetworkhashps 1008: the work of blocks tip − 1007 … tip over the time spread
    // of blocks tip − 1008 … tip, here taken from the window's two end blocks.
    let lookup = tip_height.min(TRAILING_BLOCKS);
    let window_start_time_s = api.block_at(tip_height - lookup)?.timestamp;
    let in_epoch = (tip_height - epoch_start + 1).min(lookup);
    let previous_work = match previous_bits {
        Some((_, target)) => repeated_work(target, lookup - in_epoch),
        None => Some(BlockWork::zero()),
    };
    let work = repeated_work(tip_bits.1, in_epoch)
        .zip(previous_work)
        .map(|(current, previous)| current + previous)
        .ok_or_else(|| {
            let url = format!("{}/blocks/{tip_height}", api.base);
            api.malformed(
                &url,
                "field `bits`: targets too small to be real".to_string(),
            )
        })?;
    let trailing_hashrate_hs = trailing_hashrate_hs(work, &[window_start_time_s, tip.timestamp]);

    let fee_heights = tip_height.saturating_sub(FEE_BLOCKS - 1)..=tip_height;
    let mut total_fee_sat: u64 = 0;
    for h in fee_heights.clone() {
        let block = api.block_at(h)?;
        total_fee_sat = total_fee_sat.saturating_add(api.fees_sat(&block)?);
    }
    let fee_blocks = fee_heights.count() as u32;

    Ok(NetworkState {
        source: format!("esplora {}", redact_url(api.base)),
        tip_height,
        tip_time_s: tip.timestamp,
        bits: tip_bits.0,
        epoch_start_time_s,
        quarter_epoch_time_s,
        previous_retarget_percent: previous_bits
            .map_or(0.0, |previous| retarget_percent(previous.0, tip_bits.0)),
        trailing_hashrate_hs,
        trailing_hashrate_blocks: lookup,
        mean_fees_btc_per_block: sat_to_btc(total_fee_sat) / f64::from(fee_blocks),
        fee_blocks,
        price_usd: None,
    })
}

/// The work of `count` blocks at `target`, exact; `None` unless it stays below 2²⁵⁵, so that
/// two such sums add without overflowing 256 bits (only targets below about 2¹¹, far from any
/// real chain's, fail).
fn repeated_work(target: Target, count: u32) -> Option<BlockWork> {
    let one = target.work();
    if one.to_f64() * f64::from(count) >= 2f64.powi(255) {
        return None;
    }
    Some((0..count).fold(BlockWork::zero(), |sum, _| sum + one))
}

/// An Esplora API for one fetch, remembering the blocks it has listed.
struct Esplora<'a> {
    http: Http,
    base: &'a str,
    blocks: Vec<Block>,
}

impl Esplora<'_> {
    fn malformed(&self, url: &str, detail: String) -> SourceError {
        SourceError::Malformed {
            url: redact_url(url),
            detail,
        }
    }

    /// `GET base + path` as text, failing on a non-2xx status.
    fn get(&self, path: &str) -> Result<(String, String), SourceError> {
        let url = format!("{}{path}", self.base);
        let reply = self.http.get(&url)?;
        if !reply.is_success() {
            return Err(reply.status_error(&url));
        }
        Ok((url, reply.body))
    }

    /// `GET base + path` as JSON, naming the missing or mistyped field on failure.
    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<(String, T), SourceError> {
        let (url, body) = self.get(path)?;
        match serde_json::from_str(&body) {
            Ok(value) => Ok((url, value)),
            Err(error) => Err(self.malformed(&url, error.to_string())),
        }
    }

    fn tip_height(&self) -> Result<u32, SourceError> {
        let (url, body) = self.get("/blocks/tip/height")?;
        body.trim().parse().map_err(|_| {
            let excerpt: String = body.chars().take(40).collect();
            self.malformed(&url, format!("expected a block height, got '{excerpt}'"))
        })
    }

    /// The block at `height`, from the blocks already listed or from `/blocks/:height`, which
    /// lists it and the blocks below it.
    fn block_at(&mut self, height: u32) -> Result<Block, SourceError> {
        if let Some(block) = self.blocks.iter().find(|b| b.height == height) {
            return Ok(block.clone());
        }
        let (url, listed): (String, Vec<Block>) = self.get_json(&format!("/blocks/{height}"))?;
        let block = listed
            .iter()
            .find(|b| b.height == height)
            .cloned()
            .ok_or_else(|| self.malformed(&url, format!("no block at height {height} listed")))?;
        if !is_block_hash(&block.id) {
            return Err(self.malformed(
                &url,
                format!("field `id` is not a block hash: '{}'", block.id),
            ));
        }
        self.blocks.extend(listed);
        Ok(block)
    }

    /// A block's bits and target, checked.
    fn bits(&self, block: &Block) -> Result<(CompactBits, Target), SourceError> {
        let bits = CompactBits::from_consensus(block.bits);
        bits.target().map(|target| (bits, target)).map_err(|error| {
            let url = format!("{}/blocks/{}", self.base, block.height);
            self.malformed(
                &url,
                format!("field `bits` of block {}: {error}", block.height),
            )
        })
    }

    /// Fees of a block: its coinbase's outputs minus the subsidy. A miner who claims less than
    /// the subsidy plus fees (rare) makes this an underestimate; it is never negative.
    fn fees_sat(&self, block: &Block) -> Result<u64, SourceError> {
        let path = format!("/block/{}/txs/0", block.id);
        let (url, transactions): (String, Vec<Transaction>) = self.get_json(&path)?;
        let coinbase = transactions
            .first()
            .filter(|tx| tx.vin.first().is_some_and(|input| input.is_coinbase))
            .ok_or_else(|| {
                self.malformed(&url, "the first transaction is not a coinbase".to_string())
            })?;
        let paid = coinbase
            .vout
            .iter()
            .try_fold(0_u64, |sum, output| sum.checked_add(output.value))
            .ok_or_else(|| self.malformed(&url, "coinbase outputs overflow".to_string()))?;
        Ok(paid.saturating_sub(block_subsidy_sat(block.height)))
    }
}

/// Whether `id` is 64 hex digits (a block hash safe to put in a URL path).
fn is_block_hash(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::test_server::{Request, Response, serve, serve_silence};
    use super::super::{NetworkSource, fetch_network_state, fetch_network_state_within};
    use super::*;

    /// Real mainnet blocks: height, hash, time, median time past, bits, total fees (sat).
    const BLOCKS: [(u32, &str, i64, i64, u32, u64); 14] = [
        (
            925_400,
            "00000000000000000000038fc5e62d59ffb92853d0ecbd6a201195b2800990a9",
            1_764_245_410,
            1_764_243_223,
            0x1701_e2a0,
            2_673_483,
        ),
        (
            925_399,
            "00000000000000000001d981e03c792da508d09753218129c943399d014771e8",
            1_764_244_667,
            1_764_242_257,
            0x1701_e2a0,
            1_116_630,
        ),
        (
            925_398,
            "000000000000000000005ea5ec3940c2780570aa055172cd08546a2ba06bd40a",
            1_764_244_346,
            1_764_241_961,
            0x1701_e2a0,
            510_283,
        ),
        (
            925_397,
            "000000000000000000010c110f481432178b365216fec81cb579e9b48e00475d",
            1_764_244_340,
            1_764_240_973,
            0x1701_e2a0,
            2_352_094,
        ),
        (
            925_396,
            "00000000000000000001329bd23fb671b0bcd7b37ba4b571895dbd2e4b46b9c0",
            1_764_243_646,
            1_764_240_284,
            0x1701_e2a0,
            2_173_440,
        ),
        (
            925_395,
            "000000000000000000009e539b208f28a335f0912509ddf381983f45b08238c0",
            1_764_243_223,
            1_764_237_886,
            0x1701_e2a0,
            3_432_880,
        ),
        (
            925_394,
            "000000000000000000019549da0db5548e865c1f064b2a5336182aa790019858",
            1_764_242_257,
            1_764_236_963,
            0x1701_e2a0,
            2_176_700,
        ),
        (
            925_393,
            "000000000000000000005ceaf44d79ce31663fef0f2e024e01410c2d8da2a138",
            1_764_241_961,
            1_764_236_660,
            0x1701_e2a0,
            4_007_007,
        ),
        (
            925_392,
            "00000000000000000001be4db73842c1304c2ab537ff4d16f2fe4b204990963e",
            1_764_240_973,
            1_764_234_417,
            0x1701_e2a0,
            4_077_815,
        ),
        (
            925_391,
            "000000000000000000001c460c17a723f72411ee7502b387da76c65c980935db",
            1_764_240_284,
            1_764_233_506,
            0x1701_e2a0,
            5_813_447,
        ),
        (
            925_344,
            "000000000000000000019da7efa2859c82bea00c18a6557845c967386f9de72c",
            1_764_206_208,
            1_764_199_106,
            0x1701_e2a0,
            5_207_796,
        ),
        (
            925_343,
            "00000000000000000001c83578eeac30ea13eacc3668da7e37c8aed04992ec95",
            1_764_205_903,
            1_764_198_983,
            0x1701_d936,
            9_330_788,
        ),
        (
            924_897,
            "000000000000000000017add09d25d53a41392639d28da08fcfb02552b7991d4",
            1_763_931_325,
            1_763_928_510,
            0x1701_d936,
            3_188_939,
        ),
        (
            924_392,
            "0000000000000000000063d1d387d2ef68f78dcd5f31a29218e2066e56bc41c6",
            1_763_623_172,
            1_763_619_276,
            0x1701_d936,
            376_709,
        ),
    ];

    fn block_json(
        &(height, id, time, mediantime, bits, _): &(u32, &str, i64, i64, u32, u64),
    ) -> Value {
        json!({
            "id": id, "height": height, "version": 0x2000_0000, "timestamp": time,
            "tx_count": 3291, "size": 1_681_740, "weight": 3_991_731,
            "merkle_root": "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
            "previousblockhash": "00", "mediantime": mediantime, "nonce": 2_083_236_893_u32,
            "bits": bits, "difficulty": CompactBits::from_consensus(bits).core_difficulty()
        })
    }

    /// The first transactions of a block: the coinbase pays subsidy + fees to two outputs and
    /// commits to the witnesses in a zero-value output.
    fn txs_json(height: u32, fees: u64) -> Value {
        let reward = block_subsidy_sat(height) + fees;
        json!([
            {
                "txid": "b0f3c5b2a1d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
                "version": 2, "locktime": 0,
                "vin": [{"txid": "0000000000000000000000000000000000000000000000000000000000000000",
                         "vout": 4_294_967_295_u32, "prevout": null, "scriptsig": "03d81e0e",
                         "witness": ["00"], "is_coinbase": true, "sequence": 4_294_967_295_u32}],
                "vout": [
                    {"scriptpubkey": "0014aa", "scriptpubkey_type": "v0_p2wpkh", "value": reward - 546},
                    {"scriptpubkey": "0014bb", "scriptpubkey_type": "v0_p2wpkh", "value": 546},
                    {"scriptpubkey": "6a24aa21a9ed", "scriptpubkey_type": "op_return", "value": 0}
                ],
                "size": 300, "weight": 1092, "fee": 0,
                "status": {"confirmed": true, "block_height": height}
            },
            {
                "txid": "c1f3c5b2a1d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
                "vin": [{"is_coinbase": false, "prevout": {"value": 10_000}}],
                "vout": [{"value": 9_000}], "fee": 1_000
            }
        ])
    }

    /// Esplora's answers for the blocks above, blocks listed 10 down from a height.
    fn esplora(path: &str) -> Response {
        let Some(path) = path.strip_prefix("/api") else {
            return Response::status(404, "Not Found");
        };
        if path == "/blocks/tip/height" {
            return Response::text("925400");
        }
        if let Some(height) = path
            .strip_prefix("/blocks/")
            .and_then(|h| h.parse::<u32>().ok())
        {
            let listed: Vec<Value> = BLOCKS
                .iter()
                .filter(|b| b.0 <= height && height - b.0 < 10)
                .map(block_json)
                .collect();
            return Response::json(&Value::Array(listed));
        }
        let txs = path
            .strip_prefix("/block/")
            .and_then(|rest| rest.strip_suffix("/txs/0"));
        match txs.and_then(|hash| BLOCKS.iter().find(|b| b.1 == hash)) {
            Some(block) => Response::json(&txs_json(block.0, block.5)),
            None => Response::status(404, "Block not found"),
        }
    }

    fn serve_esplora(answer: fn(&str) -> Response) -> String {
        let url = serve(move |request: &Request| {
            if request.method == "GET" {
                answer(&request.path)
            } else {
                Response::status(405, "Method Not Allowed")
            }
        });
        format!("{url}/api")
    }

    fn source(base_url: &str) -> NetworkSource {
        NetworkSource::Esplora {
            base_url: base_url.to_string(),
        }
    }

    #[test]
    fn builds_the_state_from_esplora() {
        let base = serve_esplora(esplora);
        // A trailing slash is accepted.
        let state = fetch_network_state(&source(&format!("{base}/"))).unwrap();
        assert_eq!(state.source, format!("esplora {base}"));
        assert_eq!(state.tip_height, 925_400);
        assert_eq!(state.tip_time_s, 1_764_245_410);
        assert_eq!(state.bits, CompactBits::from_consensus(0x1701_e2a0));
        assert_eq!(state.epoch_start_time_s, 1_764_206_208);
        assert_eq!(state.quarter_epoch_time_s, Some(1_763_931_325));
        let expected_percent = (121_142.0 / 123_552.0 - 1.0) * 100.0;
        assert!((state.previous_retarget_percent - expected_percent).abs() < 1e-9);
        // Work of 57 blocks at 0x1701e2a0 (925 344 … 925 400) and 951 at 0x1701d936
        // (924 393 … 925 343) = 658 515 616 465 582 473 930 264 237 hashes (Python, exact
        // integers: 2²⁵⁶ // (target + 1) per block), over 1 764 245 410 − 1 763 623 172 s.
        let expected_hashps = 658_515_616_465_582_473_930_264_237.0 / 622_238.0;
        assert!(
            (state.trailing_hashrate_hs / expected_hashps - 1.0).abs() < 1e-12,
            "{}",
            state.trailing_hashrate_hs
        );
        assert_eq!(state.trailing_hashrate_blocks, 1008);
        // Real totalfee of blocks 925 391 … 925 400: 28 333 779 sat.
        assert_eq!(state.fee_blocks, 10);
        assert!((state.mean_fees_btc_per_block - 28_333_779.0 / 10.0 / 1e8).abs() < 1e-15);
        assert_eq!(state.price_usd, None);
    }

    #[test]
    fn repeated_work_is_exact() {
        let target = CompactBits::from_consensus(0x1701_e2a0).target().unwrap();
        assert_eq!(repeated_work(target, 0), Some(BlockWork::zero()));
        assert_eq!(
            repeated_work(target, 3),
            Some(target.work() + target.work() + target.work())
        );
        // Target 1 (bits 0x01010000): 2²⁵⁵ per block. Each part stays below 2²⁵⁵ so that the
        // two epochs' parts add without overflow.
        let tiny = CompactBits::from_consensus(0x0101_0000).target().unwrap();
        assert_eq!(repeated_work(tiny, 1), None);
        assert_eq!(repeated_work(tiny, 0), Some(BlockWork::zero()));
    }

    #[test]
    fn http_error_status_is_reported() {
        let base = serve_esplora(|_| Response::status(429, "Too Many Requests, slow down"));
        let error = fetch_network_state(&source(&base)).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{base}/blocks/tip/height answered HTTP 429: Too Many Requests, slow down")
        );
    }

    #[test]
    fn malformed_block_names_the_field() {
        let base = serve_esplora(|path| {
            if path.starts_with("/api/blocks/9") {
                let mut listed = json!([block_json(&BLOCKS[0])]);
                listed[0].as_object_mut().unwrap().remove("bits");
                return Response::json(&listed);
            }
            esplora(path)
        });
        let error = fetch_network_state(&source(&base)).unwrap_err();
        assert!(matches!(error, SourceError::Malformed { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{base}/blocks/925400")) && message.contains("`bits`"),
            "{message}"
        );
    }

    #[test]
    fn garbage_tip_height_is_malformed() {
        let base = serve_esplora(|_| Response::text("<html>Cloudflare</html>"));
        let error = fetch_network_state(&source(&base)).unwrap_err();
        assert!(
            error.to_string().contains("expected a block height"),
            "{error}"
        );
    }

    #[test]
    fn non_coinbase_first_transaction_is_malformed() {
        let base = serve_esplora(|path| {
            if path.ends_with("/txs/0") {
                return Response::json(&json!([{"vin": [{"is_coinbase": false}], "vout": []}]));
            }
            esplora(path)
        });
        let error = fetch_network_state(&source(&base)).unwrap_err();
        assert!(error.to_string().contains("not a coinbase"), "{error}");
    }

    #[test]
    fn silent_server_times_out() {
        let url = serve_silence();
        let timeout = Duration::from_millis(700);
        let error = fetch_network_state_within(&source(&url), timeout).unwrap_err();
        assert_eq!(
            error,
            SourceError::Timeout {
                url: format!("{url}/blocks/tip/height"),
                timeout
            }
        );
    }
}
