//! Reading a scenario file: parse, then check every field, reporting every problem at once.
//!
//! Three passes, each reporting everything it finds:
//!
//! 1. syntax: the text must be TOML (one problem, with its line and column);
//! 2. structure ([`structure`]): every key known, every required key present and every value of
//!    the type the JSON Schema of [`Scenario`] gives;
//! 3. values ([`rules`]): ranges with units, and the references between sections. Each unit of
//!    the file (the top-level keys, a table of `[market]`, an element of an array of tables) is
//!    read on its own, so one broken element does not hide the problems of the others; a unit
//!    with a structural problem is not checked further, so no problem is reported twice.
//!
//! When nothing is wrong the whole document is deserialized into a [`Scenario`] in one piece.

mod assets;
mod book;
mod capital;
mod debt;
mod rules;
mod structure;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{Scenario, YearMonth};
use crate::error::ModelError;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FieldError {
    /// Path of the field, e.g. `debt[1].margin_bps`; empty for a TOML syntax error.
    pub path: String,
    /// The value found (strings quoted, numbers as written), empty when the field is missing.
    pub value: String,
    /// What the field accepts.
    pub expected: String,
    /// Line in the file (1-based), where known.
    pub line: Option<usize>,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        match (self.path.is_empty(), self.value.is_empty()) {
            (true, _) => write!(f, "expected {}", self.expected),
            (false, true) => write!(f, "{}: expected {}", self.path, self.expected),
            (false, false) => write!(
                f,
                "{} = {}: expected {}",
                self.path, self.value, self.expected
            ),
        }
    }
}

impl FieldError {
    /// The problem as compilers print them: `FILE:LINE: problem`, or `FILE: problem` where the
    /// line is not known.
    pub fn located(&self, file: &str) -> String {
        let unlocated = FieldError {
            line: None,
            ..self.clone()
        };
        match self.line {
            Some(line) => format!("{file}:{line}: {unlocated}"),
            None => format!("{file}: {unlocated}"),
        }
    }
}

/// Every problem found in a scenario file, in the order of their lines.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ScenarioErrors(pub Vec<FieldError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lines(f, &self.0)
    }
}

impl ScenarioErrors {
    /// Every problem as the command line prints it, located in `file` (`FILE:LINE: problem`).
    pub fn located(&self, file: &str) -> Vec<String> {
        self.0.iter().map(|problem| problem.located(file)).collect()
    }
}

/// The line that closes the report of an invalid file: `N problems in FILE`.
pub fn problems_in(file: &str, count: usize) -> String {
    let noun = if count == 1 { "problem" } else { "problems" };
    format!("{count} {noun} in {file}")
}

/// Writes `problems`, one a line.
fn write_lines(f: &mut fmt::Formatter<'_>, problems: &[impl fmt::Display]) -> fmt::Result {
    for (i, problem) in problems.iter().enumerate() {
        if i > 0 {
            writeln!(f)?;
        }
        write!(f, "{problem}")?;
    }
    Ok(())
}

impl Scenario {
    /// Parses and validates a scenario file, reporting every problem at once: syntax, unknown
    /// keys, types, missing fields, ranges and references between sections.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioErrors> {
        Scenario::parse(text, false).map(|(scenario, _)| scenario)
    }

    /// As [`Scenario::from_toml`], except that a calm correlation matrix that is not positive
    /// semi-definite is replaced by the nearest correlation matrix
    /// ([`nearest_correlation`](crate::nearest_correlation)); the problem comes back as a
    /// warning.
    pub fn from_toml_repairing_correlation(
        text: &str,
    ) -> Result<(Scenario, Vec<FieldError>), ScenarioErrors> {
        Scenario::parse(text, true)
    }

    fn parse(
        text: &str,
        repair_correlation: bool,
    ) -> Result<(Scenario, Vec<FieldError>), ScenarioErrors> {
        let document = parse_document(text).map_err(|error| ScenarioErrors(vec![error]))?;
        check_scenario(text, document, repair_correlation)
    }

    /// The first projected month: `start_month`, or by default the month of the built-in
    /// network snapshot.
    pub fn first_month(&self) -> YearMonth {
        self.start_month.unwrap_or_else(snapshot_month)
    }
}

/// Parses TOML text into a document whose values keep their spans.
fn parse_document(text: &str) -> Result<Spanned<DeValue<'_>>, FieldError> {
    let document = DeTable::parse(text).map_err(|error| syntax_error(text, &error))?;
    Ok(Spanned::new(
        document.span(),
        DeValue::Table(document.into_inner()),
    ))
}

/// Checks a scenario document and reads it: `document` is a whole file or a table inside a
/// book, its spans offsets into `text`. Paths are relative to `document`.
fn check_scenario(
    text: &str,
    mut document: Spanned<DeValue<'_>>,
    repair_correlation: bool,
) -> Result<(Scenario, Vec<FieldError>), ScenarioErrors> {
    let mut report = Report::new(text, &document);
    report.repair_correlation = repair_correlation;
    structure::check(&scenario_json_schema(), &mut document, &mut report);
    rules::check(&document, &mut report);
    if !report.errors.is_empty() {
        return Err(report.finish());
    }
    let span = document.span();
    let mut scenario = match Scenario::deserialize(ValueDeserializer::from(document)) {
        Ok(scenario) => scenario,
        Err(error) => {
            report.push_serde_error("", &error, span);
            return Err(report.finish());
        }
    };
    if !report.warnings.is_empty() {
        let model = &mut scenario.market.model;
        let repaired = crate::nearest_correlation(&model.calm_correlation_matrix());
        model.calm_correlation = repaired.iter().map(|row| row.to_vec()).collect();
    }
    Ok((scenario, report.warnings))
}

/// The JSON Schema of the scenario file.
pub fn scenario_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).expect("a schema is JSON")
}

/// The month of the built-in network snapshot, the default first month.
fn snapshot_month() -> YearMonth {
    YearMonth::from_unix_s(bitwatt_chain::snapshot().tip_time_s)
}

/// A TOML syntax error, with its line and column.
fn syntax_error(text: &str, error: &toml::de::Error) -> FieldError {
    let message = error.message().trim();
    let (line, expected) = match error.span() {
        Some(span) => {
            let lines = LineStarts::new(text);
            let line = lines.line(span.start);
            let before = text.get(lines.start_of(line)..span.start).unwrap_or("");
            let column = before.chars().count() + 1;
            (
                Some(line),
                format!("valid TOML (column {column}: {message})"),
            )
        }
        None => (None, format!("valid TOML ({message})")),
    };
    FieldError {
        path: String::new(),
        value: String::new(),
        expected,
        line,
    }
}

/// Where each line of a text starts, to turn byte offsets into line numbers.
struct LineStarts(Vec<usize>);

impl LineStarts {
    fn new(text: &str) -> LineStarts {
        let breaks = text.match_indices('\n').map(|(i, _)| i + 1);
        LineStarts(std::iter::once(0).chain(breaks).collect())
    }

    /// The 1-based line holding byte `offset`.
    fn line(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }

    /// Byte offset of the start of a 1-based line.
    fn start_of(&self, line: usize) -> usize {
        self.0[line - 1]
    }
}

/// The problems found so far, and the line of every value of the document by its path.
struct Report {
    lines: HashMap<String, usize>,
    line_starts: LineStarts,
    errors: Vec<FieldError>,
    /// Problems repaired rather than refused.
    warnings: Vec<FieldError>,
    /// Whether a calm correlation matrix that is not positive semi-definite is repaired.
    repair_correlation: bool,
    /// Paths of structural problems (wrong type, missing key): the unit holding one cannot be
    /// read, so its values are not checked further.
    broken: Vec<String>,
}

impl Report {
    fn new(text: &str, document: &Spanned<DeValue<'_>>) -> Report {
        let mut report = Report {
            lines: HashMap::new(),
            line_starts: LineStarts::new(text),
            errors: Vec::new(),
            warnings: Vec::new(),
            repair_correlation: false,
            broken: Vec::new(),
        };
        report.index_lines(document, String::new());
        report
    }

    fn index_lines(&mut self, value: &Spanned<DeValue<'_>>, path: String) {
        match value.get_ref() {
            DeValue::Table(table) => {
                for (key, value) in table.iter() {
                    self.index_lines(value, child_path(&path, key.get_ref()));
                }
            }
            DeValue::Array(array) => {
                for (i, value) in array.iter().enumerate() {
                    self.index_lines(value, format!("{path}[{i}]"));
                }
            }
            _ => {}
        }
        if !path.is_empty() {
            self.lines
                .insert(path, self.line_starts.line(value.span().start));
        }
    }

    /// The line of the value at `path`, or of the nearest enclosing value the file gives.
    fn line_of(&self, path: &str) -> Option<usize> {
        let mut path = path;
        loop {
            if let Some(&line) = self.lines.get(path) {
                return Some(line);
            }
            path = parent_path(path)?;
        }
    }

    /// A problem with a value.
    fn push(&mut self, path: String, value: impl fmt::Display, expected: impl Into<String>) {
        let line = self.line_of(&path);
        self.errors.push(FieldError {
            path,
            value: value.to_string(),
            expected: expected.into(),
            line,
        });
    }

    /// A problem repaired rather than refused.
    fn push_warning(
        &mut self,
        path: String,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) {
        let line = self.line_of(&path);
        self.warnings.push(FieldError {
            path,
            value: value.to_string(),
            expected: expected.into(),
            line,
        });
    }

    /// A structural problem: the value cannot be read as its type.
    fn push_broken(&mut self, path: String, value: impl fmt::Display, expected: impl Into<String>) {
        self.broken.push(path.clone());
        self.push(path, value, expected);
    }

    /// A problem found by the range checks of the fleet file ([`ModelError::Invalid`]).
    fn push_model_error(&mut self, error: ModelError) {
        match error {
            ModelError::Invalid {
                field,
                value,
                expected,
            } => self.push(field, value, expected),
            other => self.push(String::new(), "", other.to_string()),
        }
    }

    /// A value that passed the structural check but that serde still rejects.
    fn push_serde_error(
        &mut self,
        path: &str,
        error: &toml::de::Error,
        span: std::ops::Range<usize>,
    ) {
        let offset = error.span().unwrap_or(span).start;
        self.broken.push(path.to_string());
        self.errors.push(FieldError {
            path: path.to_string(),
            value: String::new(),
            expected: error.message().trim().to_string(),
            line: Some(self.line_starts.line(offset)),
        });
    }

    /// Whether the unit at `path` has no structural problem, ignoring those in the sub-units
    /// `except` (read on their own).
    fn is_readable(&self, path: &str, except: &[String]) -> bool {
        !self
            .broken
            .iter()
            .any(|broken| is_within(broken, path) && !except.iter().any(|e| is_within(broken, e)))
    }

    fn finish(mut self) -> ScenarioErrors {
        self.errors.sort_by_key(|error| error.line.unwrap_or(0));
        ScenarioErrors(self.errors)
    }
}

/// Reads the unit at `path`, unless it has a structural problem.
fn read<T: serde::de::DeserializeOwned>(
    value: &Spanned<DeValue<'_>>,
    path: &str,
    except: &[String],
    report: &mut Report,
) -> Option<T> {
    if !report.is_readable(path, except) {
        return None;
    }
    T::deserialize(ValueDeserializer::from(value.clone()))
        .map_err(|error| report.push_serde_error(path, &error, value.span()))
        .ok()
}

/// The path of key `key` of the table at `path`.
fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The path of the table or array holding the value at `path` (`None` at the top level).
fn parent_path(path: &str) -> Option<&str> {
    path.rfind(['.', '[']).map(|end| &path[..end])
}

/// Whether `path` is `unit` or a value inside it (every path is inside the root, `""`).
fn is_within(path: &str, unit: &str) -> bool {
    unit.is_empty()
        || path
            .strip_prefix(unit)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

#[cfg(test)]
mod tests;
