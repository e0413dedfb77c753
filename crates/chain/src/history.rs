//! Readers of daily market and chain history in the formats of the public data bitwatt is
//! calibrated and backtested on (see `shared/data/README.md`), so that fresher files in the
//! same formats can be given instead. Columns are found by their header name; every bad
//! value is reported with its line, column and what was expected.

use std::collections::HashMap;

use crate::calendar::UtcDay;

/// A problem in a history file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file is not CSV that can be read.
    #[error("not readable as CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A column the reader needs is not in the header.
    #[error("no column {column:?} in the header (expected the columns {expected})")]
    MissingColumn {
        /// The column.
        column: &'static str,
        /// Every column the reader needs.
        expected: String,
    },
    /// A value cannot be read.
    #[error("line {line}, column {column:?}: {value:?}: expected {expected}")]
    BadValue {
        /// The line (1 is the header).
        line: u64,
        /// The column.
        column: &'static str,
        /// The text found.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The rows are not in strictly increasing order of their key (day or height).
    #[error("line {line}: {what} {value} does not follow {previous}: expected increasing order")]
    Order {
        /// The line.
        line: u64,
        /// The key.
        what: &'static str,
        /// This row's key.
        value: String,
        /// The previous row's key.
        previous: String,
    },
    /// The file has no rows.
    #[error("no rows")]
    Empty,
}

/// The columns of a CSV file by name, and typed access to a record's fields.
struct Columns {
    index: HashMap<&'static str, usize>,
}

impl Columns {
    fn of(headers: &csv::StringRecord, needed: &[&'static str]) -> Result<Columns, DataError> {
        let mut index = HashMap::new();
        for &column in needed {
            let position = headers
                .iter()
                .position(|header| header.trim() == column)
                .ok_or_else(|| DataError::MissingColumn {
                    column,
                    expected: needed.join(", "),
                })?;
            index.insert(column, position);
        }
        Ok(Columns { index })
    }

    fn text<'r>(&self, record: &'r csv::StringRecord, column: &'static str) -> &'r str {
        record.get(self.index[column]).unwrap_or("").trim()
    }

    fn parse<T: std::str::FromStr>(
        &self,
        record: &csv::StringRecord,
        column: &'static str,
        expected: &'static str,
    ) -> Result<T, DataError> {
        let text = self.text(record, column);
        text.parse().map_err(|_| DataError::BadValue {
            line: line_of(record),
            column,
            value: text.to_string(),
            expected,
        })
    }

    /// A finite number, at least `min`.
    fn number(
        &self,
        record: &csv::StringRecord,
        column: &'static str,
        min: f64,
        expected: &'static str,
    ) -> Result<f64, DataError> {
        let value: f64 = self.parse(record, column, expected)?;
        if value.is_finite() && value >= min {
            Ok(value)
        } else {
            Err(DataError::BadValue {
                line: line_of(record),
                column,
                value: self.text(record, column).to_string(),
                expected,
            })
        }
    }

    /// As [`Columns::number`], `None` for an empty field.
    fn optional_number(
        &self,
        record: &csv::StringRecord,
        column: &'static str,
        min: f64,
        expected: &'static str,
    ) -> Result<Option<f64>, DataError> {
        if self.text(record, column).is_empty() {
            Ok(None)
        } else {
            self.number(record, column, min, expected).map(Some)
        }
    }
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |position| position.line())
}

/// Reads every record of `text` with `row`, checking that `key` increases strictly.
fn read_rows<T, K: PartialOrd + std::fmt::Display>(
    text: &str,
    needed: &[&'static str],
    what: &'static str,
    key: impl Fn(&T) -> K,
    row: impl Fn(&Columns, &csv::StringRecord) -> Result<T, DataError>,
) -> Result<Vec<T>, DataError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let columns = Columns::of(reader.headers()?, needed)?;
    let mut rows: Vec<T> = Vec::new();
    for record in reader.records() {
        let record = record?;
        let value = row(&columns, &record)?;
        if let Some(previous) = rows.last()
            && key(previous) >= key(&value)
        {
            return Err(DataError::Order {
                line: line_of(&record),
                what,
                value: key(&value).to_string(),
                previous: key(previous).to_string(),
            });
        }
        rows.push(value);
    }
    if rows.is_empty() {
        return Err(DataError::Empty);
    }
    Ok(rows)
}

fn day(
    columns: &Columns,
    record: &csv::StringRecord,
    column: &'static str,
) -> Result<UtcDay, DataError> {
    columns.parse(record, column, "a date as YYYY-MM-DD")
}

/// A day's closing BTC price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailyClose {
    /// The day (UTC).
    pub day: UtcDay,
    /// Its close (USD per BTC).
    pub close_usd: f64,
}

/// Daily BTC prices: columns `Date` and `Close` (a Yahoo Finance export), one row a day in
/// increasing order.
pub fn read_daily_closes(text: &str) -> Result<Vec<DailyClose>, DataError> {
    read_rows(
        text,
        &["Date", "Close"],
        "date",
        |row: &DailyClose| row.day,
        |c, r| {
            Ok(DailyClose {
                day: day(c, r, "Date")?,
                close_usd: c.number(r, "Close", f64::MIN_POSITIVE, "a positive price in USD")?,
            })
        },
    )
}

/// The difficulty in force at the end of a day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailyDifficulty {
    /// The day (UTC).
    pub day: UtcDay,
    /// The difficulty epoch in force (height / 2016).
    pub epoch: u32,
    /// Its difficulty.
    pub difficulty: f64,
}

/// Daily difficulty: columns `date`, `epoch` and `difficulty`, one row a day in increasing
/// order.
pub fn read_daily_difficulty(text: &str) -> Result<Vec<DailyDifficulty>, DataError> {
    read_rows(
        text,
        &["date", "epoch", "difficulty"],
        "date",
        |row: &DailyDifficulty| row.day,
        |c, r| {
            Ok(DailyDifficulty {
                day: day(c, r, "date")?,
                epoch: c.parse(r, "epoch", "an epoch number")?,
                difficulty: c.number(r, "difficulty", 1.0, "a difficulty of at least 1")?,
            })
        },
    )
}

/// A block's time and reward.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BlockReward {
    /// Its height.
    pub height: u32,
    /// Its timestamp (Unix seconds).
    pub time_unix_s: i64,
    /// Fees it collected (satoshi).
    pub fees_sat: u64,
    /// Its subsidy (satoshi).
    pub subsidy_sat: u64,
}

/// Per-block statistics (`getblockstats`): columns `height`, `time`, `totalfee` and
/// `subsidy`, in increasing order of height (with gaps where the file has none).
pub fn read_block_rewards(text: &str) -> Result<Vec<BlockReward>, DataError> {
    read_rows(
        text,
        &["height", "time", "totalfee", "subsidy"],
        "height",
        |row: &BlockReward| row.height,
        |c, r| {
            Ok(BlockReward {
                height: c.parse(r, "height", "a block height")?,
                time_unix_s: c.parse(r, "time", "a Unix time in seconds")?,
                fees_sat: c.parse(r, "totalfee", "fees in satoshi")?,
                subsidy_sat: c.parse(r, "subsidy", "a subsidy in satoshi")?,
            })
        },
    )
}

/// A day's realised miner economics.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailyMinerEconomics {
    /// The day (UTC).
    pub day: UtcDay,
    /// Blocks found that day.
    pub blocks: u32,
    /// Subsidy paid that day (BTC).
    pub subsidy_btc: f64,
    /// Fees paid that day (BTC).
    pub fees_btc: f64,
    /// Realised hashprice (USD per PH/s per day), where the day has a price.
    pub hashprice_usd_per_ph_day: Option<f64>,
}

/// Daily miner economics: columns `date`, `blocks`, `subsidy_btc`, `fees_btc` and
/// `hashprice_usd_per_phs_day` (empty where the day has no price), in increasing order.
pub fn read_daily_miner_economics(text: &str) -> Result<Vec<DailyMinerEconomics>, DataError> {
    read_rows(
        text,
        &[
            "date",
            "blocks",
            "subsidy_btc",
            "fees_btc",
            "hashprice_usd_per_phs_day",
        ],
        "date",
        |row: &DailyMinerEconomics| row.day,
        |c, r| {
            Ok(DailyMinerEconomics {
                day: day(c, r, "date")?,
                blocks: c.parse(r, "blocks", "a count of blocks")?,
                subsidy_btc: c.number(r, "subsidy_btc", 0.0, "BTC, at least 0")?,
                fees_btc: c.number(r, "fees_btc", 0.0, "BTC, at least 0")?,
                hashprice_usd_per_ph_day: c.optional_number(
                    r,
                    "hashprice_usd_per_phs_day",
                    0.0,
                    "USD per PH/s per day, at least 0",
                )?,
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_by_header_name_in_any_column_order() {
        let closes =
            read_daily_closes("Close,Date,Volume\n457.33,2014-09-17,1\n424.44,2014-09-18,2\n")
                .unwrap();
        assert_eq!(closes.len(), 2);
        assert_eq!(closes[1].day.to_string(), "2014-09-18");
        assert_eq!(closes[1].close_usd, 424.44);
    }

    #[test]
    fn errors_name_the_line_column_and_value() {
        let error = read_daily_closes("Date,Close\n2014-09-17,457\n2014-09-18,-3\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "line 3, column \"Close\": \"-3\": expected a positive price in USD"
        );
        let error = read_daily_closes("Date,Price\n").unwrap_err().to_string();
        assert!(error.starts_with("no column \"Close\""), "{error}");
        let error = read_daily_difficulty("date,epoch,difficulty\n2020-02-30,1,5\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a date as YYYY-MM-DD"), "{error}");
        let error = read_daily_closes("Date,Close\n2014-09-18,1\n2014-09-17,1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected increasing order"), "{error}");
        assert!(matches!(
            read_daily_closes("Date,Close\n"),
            Err(DataError::Empty)
        ));
        let error = read_daily_closes("Date,Close\n2014-09-18,NaN\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("\"NaN\""), "{error}");
    }

    #[test]
    fn optional_values_and_blocks() {
        let days = read_daily_miner_economics(
            "date,blocks,subsidy_btc,fees_btc,hashprice_usd_per_phs_day\n\
             2009-01-09,14,700,0,\n2021-04-30,145,906.25,143.2,356.55\n",
        )
        .unwrap();
        assert_eq!(days[0].hashprice_usd_per_ph_day, None);
        assert_eq!(days[1].hashprice_usd_per_ph_day, Some(356.55));
        let blocks = read_block_rewards(
            "height,time,totalfee,subsidy\n0,1231006505,0,5000000000\n1,1231469665,0,5000000000\n",
        )
        .unwrap();
        assert_eq!(blocks[1].subsidy_sat, 5_000_000_000);
    }
}
