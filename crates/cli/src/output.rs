//! Machine-readable output: every JSON document carries the schema version.

use bitwatt_report::json::with_schema_version;
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

/// A document with the `run` object appended as its last key.
#[derive(Serialize)]
pub struct WithRun<'a, T: Serialize> {
    /// The result, its keys first.
    #[serde(flatten)]
    pub document: T,
    /// How the run went.
    pub run: &'a RunJson,
}

/// Pretty JSON of `body` with `schema_version` as its first key, and a final newline.
pub fn json<T: Serialize>(body: &T) -> anyhow::Result<String> {
    let versioned = with_schema_version(body);
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

/// A word for a POSIX shell: quoted when it holds anything but letters, digits and `_./-:@`.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-:@".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// A command line that a POSIX shell reads back as `words` (each quoted where needed): the
/// command that reproduces a report.
pub fn command_line<S: AsRef<str>>(words: &[S]) -> String {
    let quoted: Vec<String> = words.iter().map(|word| shell_word(word.as_ref())).collect();
    quoted.join(" ")
}

/// The words that name a scenario on the command line: its file, or `--example NAME`.
pub fn scenario_words(file: Option<&std::path::Path>, example: Option<&str>) -> Vec<String> {
    match (file, example) {
        (Some(path), _) => vec![path.display().to_string()],
        (None, Some(name)) => vec!["--example".to_string(), name.to_string()],
        (None, None) => Vec::new(),
    }
}

/// `option value` for each value of an option given several times.
pub fn repeated_words(option: &str, values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|value| [option.to_string(), value.clone()])
        .collect()
}

/// `option PATH` when the path is given.
pub fn path_words(option: &str, path: Option<&std::path::Path>) -> Vec<String> {
    path.map_or(Vec::new(), |path| {
        vec![option.to_string(), path.display().to_string()]
    })
}

/// Writes an HTML report (`--report`) to `path`, naming the file if it fails.
pub fn write_report(path: &std::path::Path, page: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    std::fs::write(path, page)
        .with_context(|| format!("cannot write the report to {}", path.display()))
}
