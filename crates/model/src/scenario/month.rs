//! Calendar months (`YYYY-MM`), the time unit of every projection.

use std::fmt;
use std::str::FromStr;

use bitwatt_chain::{civil_from_days, days_from_civil};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Days in the model's month: 365.25 / 12.
pub const DAYS_PER_MONTH: f64 = 30.4375;

/// Seconds in the model's month.
pub const SECONDS_PER_MONTH: f64 = DAYS_PER_MONTH * 86_400.0;

/// Hours in the model's month.
pub const HOURS_PER_MONTH: f64 = DAYS_PER_MONTH * 24.0;

/// A calendar month, written `YYYY-MM` in files and reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    index: i32,
}

impl YearMonth {
    /// The month `month` (1–12) of `year`; `None` when either is out of range (years 2009–2200).
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        if (2009..=2200).contains(&year) && (1..=12).contains(&month) {
            Some(YearMonth {
                index: year * 12 + month as i32 - 1,
            })
        } else {
            None
        }
    }

    /// The month in which a Unix time (seconds, UTC) falls.
    pub fn from_unix_s(unix_s: i64) -> YearMonth {
        let days = unix_s.div_euclid(86_400);
        let (year, month, _) = civil_from_days(days);
        YearMonth {
            index: year * 12 + month as i32 - 1,
        }
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    /// Month of the year, 1–12.
    pub fn month(self) -> u32 {
        self.index.rem_euclid(12) as u32 + 1
    }

    /// Months from `earlier` to `self` (negative when `self` is before it).
    pub fn months_since(self, earlier: YearMonth) -> i32 {
        self.index - earlier.index
    }

    /// The month `months` after this one.
    pub fn plus_months(self, months: i32) -> YearMonth {
        YearMonth {
            index: self.index + months,
        }
    }

    /// Unix time (seconds) of the first second of the month, UTC.
    pub fn start_unix_s(self) -> i64 {
        days_from_civil(self.year(), self.month(), 1) * 86_400
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl FromStr for YearMonth {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let expected = || format!("{text:?}: expected a month as YYYY-MM, from 2009-01 to 2200-12");
        let (year, month) = text.split_once('-').ok_or_else(expected)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(expected());
        }
        let year: i32 = year.parse().map_err(|_| expected())?;
        let month: u32 = month.parse().map_err(|_| expected())?;
        YearMonth::new(year, month).ok_or_else(expected)
    }
}

impl Serialize for YearMonth {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for YearMonth {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for YearMonth {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "YearMonth".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$",
            "description": "A calendar month, YYYY-MM"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_formats_and_counts() {
        let m: YearMonth = "2025-11".parse().unwrap();
        assert_eq!((m.year(), m.month()), (2025, 11));
        assert_eq!(m.to_string(), "2025-11");
        assert_eq!(m.plus_months(2).to_string(), "2026-01");
        assert_eq!("2028-04".parse::<YearMonth>().unwrap().months_since(m), 29);
        for bad in [
            "2025-13", "2025-1", "25-11", "2025/11", "abcd-ef", "1999-01",
        ] {
            assert!(bad.parse::<YearMonth>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unix_times_round_trip() {
        // The snapshot block (height 925 344) was mined on 2025-11-27.
        assert_eq!(YearMonth::from_unix_s(1_764_206_208).to_string(), "2025-11");
        let m = YearMonth::new(2024, 2).unwrap();
        assert_eq!(m.start_unix_s(), 1_706_745_600);
        assert_eq!(YearMonth::from_unix_s(m.start_unix_s()), m);
        assert_eq!(
            YearMonth::from_unix_s(m.start_unix_s() - 1).to_string(),
            "2024-01"
        );
    }
}
