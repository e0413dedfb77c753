//! Machine-readable output: every JSON document carries the schema version.

use serde::Serialize;

/// How a run went (threads, wall time): not part of the result, kept under one `run` key so
/// that results compare equal across machines.
#[derive(Serialize)]
pub struct RunJson {
    /// Worker threads.
    pub threads: usize,
    /// Wall time (seconds).
    pub seconds: f64,
}

/// Version of the JSON documents the commands print; bumped when a key changes meaning or goes.
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Versioned<'a, T: Serialize> {
    schema_version: u32,
    #[serde(flatten)]
    body: &'a T,
}

/// Pretty JSON of `body` with `schema_version` as its first key, and a final newline.
pub fn json<T: Serialize>(body: &T) -> anyhow::Result<String> {
    let versioned = Versioned {
        schema_version: OUTPUT_SCHEMA_VERSION,
        body,
    };
    Ok(serde_json::to_string_pretty(&versioned)? + "\n")
}

/// Writes a workbook (`--xlsx`) built by `build` to `path`; either failing names the file.
pub fn write_workbook<E>(
    path: &std::path::Path,
    build: impl FnOnce() -> Result<Vec<u8>, E>,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    use anyhow::Context;
    let bytes = build().with_context(|| format!("cannot build the workbook {}", path.display()))?;
    std::fs::write(path, bytes)
        .with_context(|| format!("cannot write the workbook {}", path.display()))
}
