//! `simulate --paths-out`: every path's outcome — the borrower's default month and cause, its
//! total loss, and each instrument's default month, exposure and loss — as CSV, or as Parquet
//! when the file name ends in `.parquet`, written window by window as the run goes.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use bitwatt_engine::{Borrower, PathOutcome};
use bitwatt_model::{Scenario, YearMonth};
use bitwatt_report::cause_text;
use parquet::basic::Compression;
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

/// Rows buffered before a Parquet row group is written.
const ROW_GROUP_ROWS: usize = 65_536;

/// Writes the outcomes of a run's paths to a file, in path order.
pub struct PathsWriter {
    path: PathBuf,
    first_month: YearMonth,
    debts: usize,
    format: Format,
    error: Option<anyhow::Error>,
}

enum Format {
    Csv(csv::Writer<BufWriter<File>>),
    Parquet {
        writer: SerializedFileWriter<BufWriter<File>>,
        rows: Columns,
    },
}

/// Buffered Parquet columns.
#[derive(Default)]
struct Columns {
    path: Vec<i64>,
    default_month: Vec<Option<String>>,
    default_cause: Vec<Option<String>>,
    loss_usd: Vec<f64>,
    /// Per instrument.
    debts: Vec<DebtColumns>,
}

/// Buffered Parquet columns of one instrument.
#[derive(Clone, Default)]
struct DebtColumns {
    default_month: Vec<Option<String>>,
    ead_usd: Vec<f64>,
    loss_usd: Vec<f64>,
}

impl PathsWriter {
    /// Creates `path` for `borrower`'s outcomes: Parquet when it ends in `.parquet`, else CSV.
    pub fn create(path: &Path, scenario: &Scenario, borrower: &Borrower) -> Result<PathsWriter> {
        let file =
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let file = BufWriter::new(file);
        let names: Vec<&str> = borrower.debts.iter().map(|d| d.name.as_str()).collect();
        let parquet = path
            .extension()
            .is_some_and(|ext| ext.eq_ignore_ascii_case("parquet"));
        let format = if parquet {
            Format::Parquet {
                writer: parquet_writer(file, &names)
                    .with_context(|| format!("cannot write {}", path.display()))?,
                rows: Columns {
                    debts: vec![Default::default(); names.len()],
                    ..Columns::default()
                },
            }
        } else {
            let mut writer = csv::Writer::from_writer(file);
            let mut header = vec![
                "path".to_string(),
                "default_month".to_string(),
                "default_cause".to_string(),
                "loss_usd".to_string(),
            ];
            for name in &names {
                header.push(format!("{name} default_month"));
                header.push(format!("{name} ead_usd"));
                header.push(format!("{name} loss_usd"));
            }
            writer
                .write_record(&header)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Format::Csv(writer)
        };
        Ok(PathsWriter {
            path: path.to_path_buf(),
            first_month: scenario.first_month(),
            debts: names.len(),
            format,
            error: None,
        })
    }

    /// Writes `outcomes`; false (and the error kept for [`PathsWriter::finish`]) when the file
    /// cannot be written.
    pub fn write(&mut self, outcomes: &[PathOutcome]) -> bool {
        match self.write_outcomes(outcomes) {
            Ok(()) => true,
            Err(error) => {
                self.error = Some(error);
                false
            }
        }
    }

    fn write_outcomes(&mut self, outcomes: &[PathOutcome]) -> Result<()> {
        let first = self.first_month;
        let month = |t: Option<usize>| t.map(|t| first.plus_months(t as i32).to_string());
        let cause = |o: &PathOutcome| o.default.map(|(_, cause)| cause_text(cause).to_string());
        match &mut self.format {
            Format::Csv(writer) => {
                for outcome in outcomes {
                    let mut record = vec![
                        outcome.path.to_string(),
                        month(outcome.default.map(|(t, _)| t)).unwrap_or_default(),
                        cause(outcome).unwrap_or_default(),
                        format!("{:.2}", outcome.total_loss_usd()),
                    ];
                    for d in 0..self.debts {
                        record.push(month(outcome.debt_default_month[d]).unwrap_or_default());
                        record.push(format!("{:.2}", outcome.exposure_usd[d]));
                        record.push(format!("{:.2}", outcome.loss_usd[d]));
                    }
                    writer.write_record(&record)?;
                }
            }
            Format::Parquet { writer, rows } => {
                for outcome in outcomes {
                    rows.path.push(outcome.path as i64);
                    rows.default_month
                        .push(month(outcome.default.map(|(t, _)| t)));
                    rows.default_cause.push(cause(outcome));
                    rows.loss_usd.push(outcome.total_loss_usd());
                    for (d, debt) in rows.debts.iter_mut().enumerate() {
                        debt.default_month
                            .push(month(outcome.debt_default_month[d]));
                        debt.ead_usd.push(outcome.exposure_usd[d]);
                        debt.loss_usd.push(outcome.loss_usd[d]);
                    }
                }
                if rows.path.len() >= ROW_GROUP_ROWS {
                    write_row_group(writer, rows)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes and closes the file, or returns the error that stopped the writing.
    pub fn finish(self) -> Result<()> {
        let path = self.path.display().to_string();
        if let Some(error) = self.error {
            return Err(error.context(format!("cannot write {path}")));
        }
        match self.format {
            Format::Csv(mut writer) => writer.flush(),
            Format::Parquet {
                mut writer,
                mut rows,
            } => (|| {
                if !rows.path.is_empty() {
                    write_row_group(&mut writer, &mut rows)?;
                }
                writer.close()?;
                Ok::<(), anyhow::Error>(())
            })()
            .map_err(std::io::Error::other),
        }
        .with_context(|| format!("cannot write {path}"))
    }
}

/// A column name from an instrument's name: lower case, runs of other characters as `_`.
fn column_name(name: &str) -> String {
    let mut column = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            column.push(c.to_ascii_lowercase());
        } else if !column.ends_with('_') {
            column.push('_');
        }
    }
    column.trim_matches('_').to_string()
}

/// The Parquet writer: one row per path; each instrument's columns are named after it
/// (`<name>_default_month`, `_ead_usd`, `_loss_usd`), with its full name in the file's
/// key-value metadata (`instrument_<d>`).
fn parquet_writer(
    file: BufWriter<File>,
    names: &[&str],
) -> Result<SerializedFileWriter<BufWriter<File>>> {
    let mut message = String::from(
        "message paths {\n  REQUIRED INT64 path;\n  OPTIONAL BYTE_ARRAY default_month (UTF8);\n  \
         OPTIONAL BYTE_ARRAY default_cause (UTF8);\n  REQUIRED DOUBLE loss_usd;\n",
    );
    for (d, name) in names.iter().enumerate() {
        let column = format!("d{d}_{}", column_name(name));
        message.push_str(&format!(
            "  OPTIONAL BYTE_ARRAY {column}_default_month (UTF8);\n  REQUIRED DOUBLE \
             {column}_ead_usd;\n  REQUIRED DOUBLE {column}_loss_usd;\n"
        ));
    }
    message.push('}');
    let schema = Arc::new(parse_message_type(&message)?);
    let metadata = names
        .iter()
        .enumerate()
        .map(|(d, name)| KeyValue::new(format!("instrument_{d}"), name.to_string()))
        .collect();
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_key_value_metadata(Some(metadata))
        .build();
    Ok(SerializedFileWriter::new(
        file,
        schema,
        Arc::new(properties),
    )?)
}

/// Writes the buffered rows as one row group and empties the buffers.
fn write_row_group(
    writer: &mut SerializedFileWriter<BufWriter<File>>,
    rows: &mut Columns,
) -> Result<()> {
    let mut group = writer.next_row_group()?;
    let mut column = 0;
    while let Some(mut out) = group.next_column()? {
        // Columns in schema order: path, default month, cause, loss, then three per debt.
        match column {
            0 => {
                out.typed::<Int64Type>()
                    .write_batch(&rows.path, None, None)?;
            }
            1 => write_optional_text(&mut out, &rows.default_month)?,
            2 => write_optional_text(&mut out, &rows.default_cause)?,
            3 => {
                out.typed::<DoubleType>()
                    .write_batch(&rows.loss_usd, None, None)?;
            }
            c => {
                let debt = &rows.debts[(c - 4) / 3];
                match (c - 4) % 3 {
                    0 => write_optional_text(&mut out, &debt.default_month)?,
                    1 => {
                        out.typed::<DoubleType>()
                            .write_batch(&debt.ead_usd, None, None)?;
                    }
                    _ => {
                        out.typed::<DoubleType>()
                            .write_batch(&debt.loss_usd, None, None)?;
                    }
                }
            }
        }
        out.close()?;
        column += 1;
    }
    group.close()?;
    let debts = rows.debts.len();
    *rows = Columns {
        debts: vec![Default::default(); debts],
        ..Columns::default()
    };
    Ok(())
}

/// An optional text column: the values present, with definition levels for every row.
fn write_optional_text(
    out: &mut parquet::file::writer::SerializedColumnWriter<'_>,
    values: &[Option<String>],
) -> Result<()> {
    let levels: Vec<i16> = values.iter().map(|v| i16::from(v.is_some())).collect();
    let present: Vec<ByteArray> = values
        .iter()
        .flatten()
        .map(|v| ByteArray::from(v.as_str()))
        .collect();
    out.typed::<ByteArrayType>()
        .write_batch(&present, Some(&levels), None)?;
    Ok(())
}
