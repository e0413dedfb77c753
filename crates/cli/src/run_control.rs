//! What `simulate` and `portfolio` share to run: `--shard K/N`, the progress bar, Ctrl-C.

use std::fs::File;
use std::io::{BufWriter, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use bitwatt_engine::Shard;
use bitwatt_report::thousands;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::args::BadInput;

/// Exit status on a second Ctrl-C (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: i32 = 130;

/// Ctrl-C stops the run after the chunks under way (the result covers the paths run): the
/// flag returned is set; a second Ctrl-C exits at once with status 130.
pub(crate) fn watch_ctrl_c() -> Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register_conditional_shutdown(
        signal_hook::consts::SIGINT,
        EXIT_INTERRUPTED,
        Arc::clone(&cancel),
    )
    .and_then(|_| signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&cancel)))
    .context("cannot watch for Ctrl-C")?;
    Ok(cancel)
}

/// `K/N` with 1 ≤ K ≤ N.
pub(crate) fn parse_shard(text: &str) -> Result<Shard> {
    let bad = || {
        BadInput(format!(
            "--shard {text}: expected K/N with 1 <= K <= N, e.g. 2/3"
        ))
    };
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let index: u64 = k.trim().parse().map_err(|_| bad())?;
    let count: u64 = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || index > count {
        return Err(bad().into());
    }
    Ok(Shard { index, count })
}

/// A progress bar on standard error, hidden when it is not a terminal or with `--quiet`.
pub(crate) fn progress_bar(paths: u64, shard: Shard, quiet: bool) -> ProgressBar {
    let chunks = paths.div_ceil(bitwatt_engine::CHUNK_PATHS);
    let first = chunks * (shard.index - 1) / shard.count * bitwatt_engine::CHUNK_PATHS;
    let last = (chunks * shard.index / shard.count * bitwatt_engine::CHUNK_PATHS).min(paths);
    let total = last.saturating_sub(first);
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} paths  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    bar
}

/// Writes a shard's file (JSON) to `out` and says what was written: `shard K/N: P paths
/// written to FILE (S s)`, with a warning when the shard was stopped early.
pub(crate) fn write_shard_file(
    out: &Path,
    file: &impl Serialize,
    shard: Shard,
    (paths_run, complete): (u64, bool),
    seconds: f64,
) -> Result<String> {
    let writer = BufWriter::new(
        File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    serde_json::to_writer(writer, file)
        .with_context(|| format!("cannot write {}", out.display()))?;
    Ok(format!(
        "shard {}/{}: {} paths written to {} ({seconds:.1} s){}\n",
        shard.index,
        shard.count,
        thousands(paths_run as f64, 0),
        out.display(),
        if complete {
            ""
        } else {
            "; stopped early: it will not merge with other shards"
        }
    ))
}
