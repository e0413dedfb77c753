//! Bitcoin Core over JSON-RPC 1.0 (HTTP POST, basic authentication).
//!
//! Four HTTP requests per fetch: `getblockchaininfo`; `getblockheader` of the best block; one
//! batch of `getblockhash` (epoch start, the quarter-epoch block 503 below the tip, last block of
//! the previous epoch),
//! `getnetworkhashps 1008` and `getblockstats` for the last 144 blocks; one batch of
//! `getblockheader` for the hashes.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::http::{Http, basic_authorization, one_line, redact_url};
use super::{RpcAuth, SourceError, TRAILING_BLOCKS, retarget_percent};
use crate::adjustment::{epoch_start_height, quarter_epoch_block_height};
use crate::network::NetworkState;
use crate::pow::CompactBits;

/// Blocks the fee mean spans (a day).
const FEE_BLOCKS: u32 = 144;

/// Characters of an RPC error message kept in [`SourceError::Rpc`].
const MESSAGE_CHARS: usize = 300;

/// The part of `getblockchaininfo` the adapter reads.
#[derive(Deserialize)]
struct ChainInfo {
    chain: String,
    bestblockhash: String,
}

/// The part of `getblockheader` (verbose) the adapter reads.
#[derive(Deserialize)]
struct Header {
    height: u32,
    time: i64,
    bits: String,
}

/// `getblockstats <height> ["totalfee","height"]`.
#[derive(Deserialize)]
struct FeeStats {
    height: u32,
    totalfee: u64,
}

/// Reads the network state from the node at `url`.
pub(super) fn fetch(
    url: &str,
    auth: &RpcAuth,
    timeout: Duration,
) -> Result<NetworkState, SourceError> {
    let rpc = Rpc::new(url, auth, timeout)?;
    let info: ChainInfo = rpc.call("getblockchaininfo", json!([]))?;
    let tip: Header = rpc.call("getblockheader", json!([info.bestblockhash]))?;
    let tip_bits = rpc.bits(&tip)?;
    let height = tip.height;

    let epoch_start = epoch_start_height(height);
    let quarter_height = quarter_epoch_block_height(height);
    let previous_epoch_last = epoch_start.checked_sub(1);
    let header_heights: Vec<u32> = [Some(epoch_start), quarter_height, previous_epoch_last]
        .into_iter()
        .flatten()
        .collect();
    // The genesis block has no undo data, so getblockstats cannot give its fees.
    let fee_heights = height.saturating_sub(FEE_BLOCKS - 1).max(1)..=height;

    let mut calls: Vec<(&str, Value)> = header_heights
        .iter()
        .map(|h| ("getblockhash", json!([h])))
        .collect();
    calls.push(("getnetworkhashps", json!([TRAILING_BLOCKS, height])));
    calls.extend(
        fee_heights
            .clone()
            .map(|h| ("getblockstats", json!([h, ["totalfee", "height"]]))),
    );
    let mut results = rpc.batch(&calls)?.into_iter();
    let mut next = |method: &str| {
        results
            .next()
            .ok_or_else(|| rpc.malformed(format!("the batch reply lacks the {method} answer")))
    };

    let mut hash_calls = Vec::with_capacity(header_heights.len());
    for _ in &header_heights {
        let hash: String = rpc.parse("getblockhash", next("getblockhash")?)?;
        hash_calls.push(("getblockheader", json!([hash])));
    }
    let trailing_hashrate_hs: f64 = rpc.parse("getnetworkhashps", next("getnetworkhashps")?)?;
    let mut total_fee_sat: u64 = 0;
    for h in fee_heights.clone() {
        let stats: FeeStats = rpc.parse("getblockstats", next("getblockstats")?)?;
        if stats.height != h {
            return Err(rpc.malformed(format!(
                "getblockstats for height {h} answered height {}",
                stats.height
            )));
        }
        total_fee_sat = total_fee_sat.saturating_add(stats.totalfee);
    }
    let fee_blocks = fee_heights.count() as u32;

    let mut headers = Vec::with_capacity(header_heights.len());
    for (&h, value) in header_heights.iter().zip(rpc.batch(&hash_calls)?) {
        let header: Header = rpc.parse("getblockheader", value)?;
        if header.height != h {
            return Err(rpc.malformed(format!(
                "getblockheader of the hash at height {h} answered height {}",
                header.height
            )));
        }
        headers.push(header);
    }
    let header_at = |h: u32| {
        headers
            .iter()
            .find(|header| header.height == h)
            .ok_or_else(|| rpc.malformed(format!("no header for height {h}")))
    };

    let previous_retarget_percent = match previous_epoch_last {
        Some(h) => retarget_percent(rpc.bits(header_at(h)?)?, tip_bits),
        None => 0.0,
    };
    Ok(NetworkState {
        source: format!("bitcoind {} ({})", redact_url(url), info.chain),
        tip_height: height,
        tip_time_s: tip.time,
        bits: tip_bits,
        epoch_start_time_s: header_at(epoch_start)?.time,
        quarter_epoch_time_s: quarter_height
            .map(|h| header_at(h).map(|header| header.time))
            .transpose()?,
        previous_retarget_percent,
        trailing_hashrate_hs,
        trailing_hashrate_blocks: height.min(TRAILING_BLOCKS),
        mean_fees_btc_per_block: if fee_blocks == 0 {
            0.0
        } else {
            crate::subsidy::sat_to_btc(total_fee_sat) / f64::from(fee_blocks)
        },
        fee_blocks,
        price_usd: None,
    })
}

/// A JSON-RPC 1.0 client for one fetch.
struct Rpc<'a> {
    url: &'a str,
    authorization: Option<String>,
    http: Http,
}

impl<'a> Rpc<'a> {
    fn new(url: &'a str, auth: &RpcAuth, timeout: Duration) -> Result<Self, SourceError> {
        let authorization = match auth {
            RpcAuth::None => None,
            RpcAuth::UserPass { user, password } => Some(basic_authorization(user, password)),
            RpcAuth::CookieFile(path) => {
                let (user, password) = read_cookie(path)?;
                Some(basic_authorization(&user, &password))
            }
        };
        Ok(Self {
            url,
            authorization,
            http: Http::new(timeout),
        })
    }

    fn malformed(&self, detail: String) -> SourceError {
        SourceError::Malformed {
            url: redact_url(self.url),
            detail,
        }
    }

    /// One call: its `result`, deserialized.
    fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, SourceError> {
        let request = json!({"jsonrpc": "1.0", "id": 0, "method": method, "params": params});
        let reply = self.send(method, &request)?;
        let result = self.result_of(method, &reply)?;
        self.parse(method, result)
    }

    /// Several calls in one JSON-RPC batch: their `result`s in the order of `calls`.
    fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Value>, SourceError> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let request: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(id, (method, params))| {
                json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params})
            })
            .collect();
        let label = format!("batch of {} calls", calls.len());
        let replies = match self.send(&label, &Value::Array(request))? {
            Value::Array(replies) => replies,
            // Core answers a batch it cannot process with one error object.
            other => {
                return Err(match self.result_of(&label, &other) {
                    Err(error) => error,
                    Ok(_) => self.malformed(format!("the reply to a {label} is not an array")),
                });
            }
        };
        calls
            .iter()
            .enumerate()
            .map(|(id, (method, _))| {
                let reply = replies
                    .iter()
                    .find(|reply| reply.get("id").and_then(Value::as_u64) == Some(id as u64))
                    .ok_or_else(|| {
                        self.malformed(format!(
                            "the batch reply has no answer to {method} (id {id})"
                        ))
                    })?;
                self.result_of(method, reply)
            })
            .collect()
    }

    /// Posts `request` and returns the JSON reply; maps 401, HTTP errors and RPC errors.
    fn send(&self, method: &str, request: &Value) -> Result<Value, SourceError> {
        let reply = self.http.post_json(
            self.url,
            self.authorization.as_deref(),
            &request.to_string(),
        )?;
        if reply.status == 401 {
            return Err(SourceError::Unauthorized {
                url: redact_url(self.url),
            });
        }
        match serde_json::from_str::<Value>(&reply.body) {
            // Core answers a failed single call with HTTP 500 (404 for an unknown method) and
            // the error in a JSON-RPC envelope.
            Ok(value) if !reply.is_success() => Err(self
                .rpc_error(method, &value)
                .unwrap_or_else(|| reply.status_error(self.url))),
            Ok(value) => Ok(value),
            Err(_) if !reply.is_success() => Err(reply.status_error(self.url)),
            Err(error) => Err(self.malformed(format!("{method}: the reply is not JSON ({error})"))),
        }
    }

    /// The `error` of a JSON-RPC envelope, where it is set.
    fn rpc_error(&self, method: &str, envelope: &Value) -> Option<SourceError> {
        let error = envelope.get("error").filter(|e| !e.is_null())?;
        let message = match error.get("message").and_then(Value::as_str) {
            Some(message) => message.to_string(),
            None => error.to_string(),
        };
        Some(SourceError::Rpc {
            url: redact_url(self.url),
            method: method.to_string(),
            code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: one_line(&message, MESSAGE_CHARS),
        })
    }

    /// The `result` of a JSON-RPC envelope, or its error.
    fn result_of(&self, method: &str, envelope: &Value) -> Result<Value, SourceError> {
        if let Some(error) = self.rpc_error(method, envelope) {
            return Err(error);
        }
        envelope
            .get("result")
            .cloned()
            .ok_or_else(|| self.malformed(format!("{method}: the reply has no field `result`")))
    }

    /// Deserializes a `result`, naming the method and the missing or mistyped field.
    fn parse<T: DeserializeOwned>(&self, method: &str, result: Value) -> Result<T, SourceError> {
        serde_json::from_value(result).map_err(|error| self.malformed(format!("{method}: {error}")))
    }

    /// A header's bits, checked to encode a valid target.
    fn bits(&self, header: &Header) -> Result<CompactBits, SourceError> {
        CompactBits::parse(&header.bits)
            .and_then(|bits| bits.target().map(|_| bits))
            .map_err(|error| {
                self.malformed(format!(
                    "getblockheader at height {}: field `bits`: {error}",
                    header.height
                ))
            })
    }
}

/// Reads Core's cookie file: one line `user:password` (`__cookie__:<hex>`).
fn read_cookie(path: &Path) -> Result<(String, String), SourceError> {
    let cookie_error = |reason: String| SourceError::Cookie {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| cookie_error(e.to_string()))?;
    let line = text.lines().next().unwrap_or_default().trim();
    let (user, password) = line.split_once(':').ok_or_else(|| {
        cookie_error("expected one line `user:password` (e.g. `__cookie__:…`)".to_string())
    })?;
    Ok((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::super::test_server::{Request, Response, refused_url, serve, serve_silence};
    use super::super::{NetworkSource, fetch_network_state, fetch_network_state_within};
    use super::*;

    /// Real mainnet blocks: height, hash, time, bits.
    const BLOCKS: [(u32, &str, i64, &str); 4] = [
        (
            925_400,
            "00000000000000000000038fc5e62d59ffb92853d0ecbd6a201195b2800990a9",
            1_764_245_410,
            "1701e2a0",
        ),
        (
            925_344,
            "000000000000000000019da7efa2859c82bea00c18a6557845c967386f9de72c",
            1_764_206_208,
            "1701e2a0",
        ),
        (
            925_343,
            "00000000000000000001c83578eeac30ea13eacc3668da7e37c8aed04992ec95",
            1_764_205_903,
            "1701d936",
        ),
        (
            924_897,
            "000000000000000000017add09d25d53a41392639d28da08fcfb02552b7991d4",
            1_763_931_325,
            "1701d936",
        ),
    ];

    const TIP: u32 = 925_400;
    const HASHPS: f64 = 1.058_301_833_808_9e21;

    /// Synthetic fees of the last 144 blocks: 2 000 000 sat + 10 000 sat per block after
    /// 925 257, so their sum is 144 · 2 000 000 + 10 000 · (0 + … + 143) = 390 960 000 sat.
    fn totalfee(height: u32) -> u64 {
        2_000_000 + 10_000 * u64::from(height - 925_257)
    }

    type Answer = Result<Value, (i64, &'static str)>;

    /// What Core answers, in the documented shapes of its RPC help.
    fn core_answer(method: &str, params: &Value) -> Answer {
        match method {
            "getblockchaininfo" => Ok(json!({
                "chain": "main", "blocks": TIP, "headers": TIP,
                "bestblockhash": BLOCKS[0].1, "bits": "1701e2a0",
                "target": "00000000000000000001e2a00000000000000000000000000000000000000000",
                "difficulty": 149_301_205_959_699.9, "time": 1_764_245_410,
                "mediantime": 1_764_243_223, "verificationprogress": 0.9999987,
                "initialblockdownload": false,
                "chainwork": "0000000000000000000000000000000000000000e2b8d5bc0ac8e3f3a4c9ab10",
                "size_on_disk": 781_234_567_890_u64, "pruned": false, "warnings": []
            })),
            "getblockhash" => {
                let height = params[0].as_u64().unwrap_or(u64::MAX);
                match BLOCKS.iter().find(|b| u64::from(b.0) == height) {
                    Some(block) => Ok(json!(block.1)),
                    None => Err((-8, "Block height out of range")),
                }
            }
            "getblockheader" => {
                let hash = params[0].as_str().unwrap_or_default();
                match BLOCKS.iter().find(|b| b.1 == hash) {
                    Some(&(height, hash, time, bits)) => Ok(json!({
                        "hash": hash, "confirmations": TIP - height + 1, "height": height,
                        "version": 0x2000_0000, "versionHex": "20000000",
                        "merkleroot": "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
                        "time": time, "mediantime": time - 1800, "nonce": 2_083_236_893_u32,
                        "bits": bits, "target": "00", "difficulty": 1.0,
                        "chainwork": "00000000000000000000000000000000000000000000000000000000ffffffff",
                        "nTx": 3291, "previousblockhash": "00"
                    })),
                    None => Err((-5, "Block not found")),
                }
            }
            "getnetworkhashps" if params == &json!([1008, TIP]) => Ok(json!(HASHPS)),
            "getblockstats" => {
                let height = params[0].as_u64().unwrap_or(0) as u32;
                if params[1] != json!(["totalfee", "height"]) || !(925_257..=TIP).contains(&height)
                {
                    return Err((-8, "Target block height 1 after current tip 0"));
                }
                Ok(json!({"height": height, "totalfee": totalfee(height)}))
            }
            _ => Err((-32601, "Method not found")),
        }
    }

    fn envelope(id: &Value, answer: Answer) -> Value {
        match answer {
            Ok(result) => json!({"result": result, "error": null, "id": id}),
            Err((code, message)) => {
                json!({"result": null, "error": {"code": code, "message": message}, "id": id})
            }
        }
    }

    /// A fake node checking `authorization` and answering by `answer`.
    fn fake_node(authorization: Option<String>, answer: fn(&str, &Value) -> Answer) -> String {
        serve(move |request: &Request| {
            if request.method != "POST"
                || request.header("authorization") != authorization.as_deref()
            {
                return Response::status(401, "");
            }
            let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                return Response::json_status(
                    500,
                    &envelope(&Value::Null, Err((-32700, "Parse error"))),
                );
            };
            let reply_to = |call: &Value| {
                let method = call["method"].as_str().unwrap_or_default();
                envelope(&call["id"], answer(method, &call["params"]))
            };
            match &body {
                Value::Array(calls) => {
                    Response::json(&Value::Array(calls.iter().map(reply_to).collect()))
                }
                call => {
                    let reply = reply_to(call);
                    let status = match reply["error"]["code"].as_i64() {
                        None => 200,
                        Some(-32601) => 404,
                        Some(_) => 500,
                    };
                    Response::json_status(status, &reply)
                }
            }
        })
    }

    fn user_pass() -> RpcAuth {
        RpcAuth::UserPass {
            user: "bitwatt".to_string(),
            password: "correct horse".to_string(),
        }
    }

    fn user_pass_header() -> Option<String> {
        // base64("bitwatt:correct horse")
        Some("Basic Yml0d2F0dDpjb3JyZWN0IGhvcnNl".to_string())
    }

    fn source(url: &str, auth: RpcAuth) -> NetworkSource {
        NetworkSource::Bitcoind {
            url: url.to_string(),
            auth,
        }
    }

    #[test]
    fn builds_the_state_from_core_rpc() {
        let url = fake_node(user_pass_header(), core_answer);
        let state = fetch_network_state(&source(&url, user_pass())).unwrap();
        assert_eq!(state.source, format!("bitcoind {url} (main)"));
        assert_eq!(state.tip_height, 925_400);
        assert_eq!(state.tip_time_s, 1_764_245_410);
        assert_eq!(state.bits, CompactBits::from_consensus(0x1701_e2a0));
        assert_eq!(state.epoch_start_time_s, 1_764_206_208); // block 925 344
        assert_eq!(state.quarter_epoch_time_s, Some(1_763_931_325)); // block 924 896
        // 149.30 T after 152.27 T: the mantissa ratio 0x1d936 / 0x1e2a0 − 1.
        let expected_percent = (121_142.0 / 123_552.0 - 1.0) * 100.0;
        assert!((state.previous_retarget_percent - expected_percent).abs() < 1e-9);
        assert_eq!(state.trailing_hashrate_hs, HASHPS);
        assert_eq!(state.trailing_hashrate_blocks, 1008);
        assert_eq!(state.fee_blocks, 144);
        assert!((state.mean_fees_btc_per_block - 390_960_000.0 / 144.0 / 1e8).abs() < 1e-15);
        assert_eq!(state.price_usd, None);
    }

    #[test]
    fn cookie_file_authenticates() {
        let path = std::env::temp_dir().join(format!("bitwatt-cookie-{}", std::process::id()));
        std::fs::write(&path, "__cookie__:8d4e6b1e0f5a2c\n").unwrap();
        // base64("__cookie__:8d4e6b1e0f5a2c")
        let url = fake_node(
            Some("Basic X19jb29raWVfXzo4ZDRlNmIxZTBmNWEyYw==".to_string()),
            core_answer,
        );
        let result = fetch_network_state(&source(&url, RpcAuth::CookieFile(path.clone())));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(result.unwrap().tip_height, 925_400);
    }

    #[test]
    fn missing_or_bad_cookie_file_is_a_cookie_error() {
        let missing = std::env::temp_dir().join("bitwatt-no-such-dir/.cookie");
        let error = fetch_network_state(&source(
            "http://127.0.0.1:1",
            RpcAuth::CookieFile(missing.clone()),
        ))
        .unwrap_err();
        assert!(matches!(error, SourceError::Cookie { ref path, .. } if *path == missing));
        assert!(
            error.to_string().contains("bitwatt-no-such-dir/.cookie"),
            "{error}"
        );

        let bad = std::env::temp_dir().join(format!("bitwatt-bad-cookie-{}", std::process::id()));
        std::fs::write(&bad, "no colon here").unwrap();
        let error = fetch_network_state(&source(
            "http://127.0.0.1:1",
            RpcAuth::CookieFile(bad.clone()),
        ))
        .unwrap_err();
        std::fs::remove_file(&bad).unwrap();
        assert!(error.to_string().contains("user:password"), "{error}");
    }

    #[test]
    fn wrong_credentials_are_unauthorized() {
        let url = fake_node(user_pass_header(), core_answer);
        let wrong = RpcAuth::UserPass {
            user: "bitwatt".to_string(),
            password: "wrong".to_string(),
        };
        let error = fetch_network_state(&source(&url, wrong)).unwrap_err();
        assert_eq!(error, SourceError::Unauthorized { url: url.clone() });
        let message = error.to_string();
        assert!(
            message.contains(&url) && message.contains("401"),
            "{message}"
        );
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert!(matches!(error, SourceError::Unauthorized { .. }));
    }

    #[test]
    fn rpc_error_of_a_single_call_is_reported() {
        let url = fake_node(None, |method, params| match method {
            "getblockchaininfo" => Err((-28, "Loading block index…")),
            _ => core_answer(method, params),
        });
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert_eq!(
            error,
            SourceError::Rpc {
                url: url.clone(),
                method: "getblockchaininfo".to_string(),
                code: -28,
                message: "Loading block index…".to_string(),
            }
        );
        assert_eq!(
            error.to_string(),
            format!("{url}: RPC getblockchaininfo failed with error -28: Loading block index…")
        );
    }

    #[test]
    fn rpc_error_inside_a_batch_is_reported() {
        // A pruned node without undo data for a recent block.
        let url = fake_node(None, |method, params| match method {
            "getblockstats" if params[0] == json!(925_300) => {
                Err((-1, "Can't read undo data from disk"))
            }
            _ => core_answer(method, params),
        });
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert!(
            matches!(error, SourceError::Rpc { ref method, code: -1, .. } if method == "getblockstats"),
            "{error}"
        );
    }

    #[test]
    fn malformed_header_names_the_field() {
        let url = fake_node(None, |method, params| {
            let mut answer = core_answer(method, params);
            if let (Ok(header), "getblockheader") = (&mut answer, method) {
                header.as_object_mut().unwrap().remove("bits");
            }
            answer
        });
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert!(matches!(error, SourceError::Malformed { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&url)
                && message.contains("getblockheader")
                && message.contains("`bits`"),
            "{message}"
        );
    }

    #[test]
    fn invalid_bits_are_malformed() {
        let url = fake_node(None, |method, params| {
            let mut answer = core_answer(method, params);
            if let (Ok(header), "getblockheader") = (&mut answer, method) {
                header["bits"] = json!("04923456"); // negative target
            }
            answer
        });
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert!(error.to_string().contains("negative"), "{error}");
    }

    #[test]
    fn forbidden_without_body_is_an_http_status() {
        // Core's answer to a client outside rpcallowip.
        let url = serve(|_: &Request| Response::status(403, ""));
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert_eq!(error.to_string(), format!("{url} answered HTTP 403"));
    }

    #[test]
    fn non_json_reply_is_malformed() {
        let url = serve(|_: &Request| Response::text("<html>proxy login</html>"));
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert!(matches!(error, SourceError::Malformed { .. }), "{error}");
        assert!(error.to_string().contains("not JSON"), "{error}");
    }

    #[test]
    fn connection_refused_fails_fast() {
        let url = refused_url();
        let started = Instant::now();
        let error = fetch_network_state(&source(&url, RpcAuth::None)).unwrap_err();
        assert_eq!(
            error,
            SourceError::Unreachable {
                url: url.clone(),
                reason: "connection refused".to_string()
            }
        );
        assert_eq!(
            error.to_string(),
            format!("cannot reach {url}: connection refused")
        );
        // Fails on the refusal, not on the 10 s deadline.
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn silent_server_times_out() {
        let url = serve_silence();
        let timeout = Duration::from_millis(700);
        let error = fetch_network_state_within(&source(&url, RpcAuth::None), timeout).unwrap_err();
        assert_eq!(
            error,
            SourceError::Timeout {
                url: url.clone(),
                timeout
            }
        );
        assert!(error.to_string().contains(&url), "{error}");
    }
}
