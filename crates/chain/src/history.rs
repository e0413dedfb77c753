//! Readers of daily market and chain history in the formats of the public data bitwatt is
//! calibrated and backtested on (see `shared/data/README.md`), so that fresher files in the
//! same formats can be given instead. Columns are found by their header name; every bad
//! value is reported with its line, column and what was expected.

use std::collections::HashMap;

use crate::calendar::UtcDay;
use crate::subsidy::sat_to_btc;

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

/// A difficulty epoch: its first height, difficulty and the time of its first block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DifficultyEpoch {
    /// Epoch number (height / 2016).
    pub epoch: u32,
    /// Its first height.
    pub start_height: u32,
    /// Its difficulty.
    pub difficulty: f64,
    /// Timestamp of its first block (Unix seconds), where the file has it.
    pub first_block_time_unix_s: Option<i64>,
}

/// Difficulty epochs: columns `epoch`, `start_height`, `difficulty` and `first_block_time`
/// (empty where unknown), in increasing order of epoch.
pub fn read_difficulty_epochs(text: &str) -> Result<Vec<DifficultyEpoch>, DataError> {
    read_rows(
        text,
        &["epoch", "start_height", "difficulty", "first_block_time"],
        "epoch",
        |row: &DifficultyEpoch| row.epoch,
        |c, r| {
            Ok(DifficultyEpoch {
                epoch: c.parse(r, "epoch", "an epoch number")?,
                start_height: c.parse(r, "start_height", "a block height")?,
                difficulty: c.number(r, "difficulty", 1.0, "a difficulty of at least 1")?,
                first_block_time_unix_s: if c.text(r, "first_block_time").is_empty() {
                    None
                } else {
                    Some(c.parse(r, "first_block_time", "a Unix time in seconds")?)
                },
            })
        },
    )
}

/// Each UTC day's blocks, subsidy and fees, summed from per-block rewards (days in order; a
/// day at the edge of the file's block ranges holds the blocks the file has).
pub fn daily_from_blocks(blocks: &[BlockReward]) -> Vec<DailyMinerEconomics> {
    let mut days: Vec<(UtcDay, u32, u64, u64)> = Vec::new();
    for block in blocks {
        let day = UtcDay::from_unix_s(block.time_unix_s);
        match days.iter_mut().rev().find(|d| d.0 == day) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 += block.subsidy_sat;
                entry.3 += block.fees_sat;
            }
            None => days.push((day, 1, block.subsidy_sat, block.fees_sat)),
        }
    }
    days.sort_by_key(|d| d.0);
    days.into_iter()
        .map(|(day, blocks, subsidy_sat, fees_sat)| DailyMinerEconomics {
            day,
            blocks,
            subsidy_btc: sat_to_btc(subsidy_sat),
            fees_btc: sat_to_btc(fees_sat),
            hashprice_usd_per_ph_day: None,
        })
        .collect()
}

/// A month of a GPU rental rate card: the median on-demand list price of one GPU model.
#[derive(Clone, Debug, PartialEq)]
pub struct GpuRateCard {
    /// The month as `YYYY-MM`.
    pub period: String,
    /// Months since year 0 (year × 12 + month − 1), to order and space the months.
    pub month_index: i32,
    /// The index's code (`GIX-H100`, …).
    pub index_code: String,
    /// The median price (USD per GPU-hour), where the month is published.
    pub usd_per_gpu_hour: Option<f64>,
}

/// Monthly GPU rental rate cards: columns `period` (YYYY-MM), `index_code` and `value`
/// (empty where withheld), any number of GPU models, each in increasing order of month.
pub fn read_gpu_rate_cards(text: &str) -> Result<Vec<GpuRateCard>, DataError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let columns = Columns::of(reader.headers()?, &["period", "index_code", "value"])?;
    let mut rows: Vec<GpuRateCard> = Vec::new();
    for record in reader.records() {
        let record = record?;
        let period = columns.text(&record, "period").to_string();
        let month_index = month_index(&period).ok_or_else(|| DataError::BadValue {
            line: line_of(&record),
            column: "period",
            value: period.clone(),
            expected: "a month as YYYY-MM",
        })?;
        let index_code = columns.text(&record, "index_code").to_string();
        if let Some(previous) = rows.iter().rev().find(|row| row.index_code == index_code)
            && previous.month_index >= month_index
        {
            return Err(DataError::Order {
                line: line_of(&record),
                what: "period",
                value: period,
                previous: previous.period.clone(),
            });
        }
        rows.push(GpuRateCard {
            period,
            month_index,
            usd_per_gpu_hour: columns.optional_number(
                &record,
                "value",
                f64::MIN_POSITIVE,
                "a positive price in USD per GPU-hour",
            )?,
            index_code,
        });
    }
    if rows.is_empty() {
        return Err(DataError::Empty);
    }
    Ok(rows)
}

/// `YYYY-MM` as months since year 0.
fn month_index(text: &str) -> Option<i32> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    let (year, month): (i32, i32) = (year.parse().ok()?, month.parse().ok()?);
    (1..=12).contains(&month).then_some(year * 12 + month - 1)
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
    fn rate_cards_by_gpu() {
        let cards = read_gpu_rate_cards(
            "period,index_code,status,value\n2023-01,GIX-H100,withheld,\n\
             2023-01,GIX-A100,published,2.1\n2023-02,GIX-H100,published,4.5\n",
        )
        .unwrap();
        assert_eq!(cards.len(), 3);
        assert_eq!(cards[0].usd_per_gpu_hour, None);
        assert_eq!(cards[2].month_index - cards[0].month_index, 1);
        let error = read_gpu_rate_cards("period,index_code,value\n2023-13,X,1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a month as YYYY-MM"), "{error}");
        let error = read_gpu_rate_cards("period,index_code,value\n2023-02,X,1\n2023-01,X,1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected increasing order"), "{error}");
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
            "height,time,totalfee,subsidy\n0,1231006505,0,5000000000\n1,1231469665,0,5000000000\n\
             2,1231470000,7,5000000000\n",
        )
        .unwrap();
        assert_eq!(blocks[1].subsidy_sat, 5_000_000_000);
        let days = daily_from_blocks(&blocks);
        assert_eq!(days.len(), 2);
        assert_eq!(
            (days[1].blocks, days[1].subsidy_btc, days[1].fees_btc),
            (2, 100.0, 7e-8)
        );
        let epochs = read_difficulty_epochs(
            "epoch,start_height,difficulty,first_block_time\n0,0,1.0,1231006505\n\
             1,2016,1.0,1233063531\n",
        )
        .unwrap();
        assert_eq!(epochs[1].start_height, 2016);
    }
}
