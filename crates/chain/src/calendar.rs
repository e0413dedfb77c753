//! Calendar days in UTC: the unit of daily market and chain data.

use std::fmt;
use std::str::FromStr;

/// Seconds in a day of Unix time.
const SECONDS_PER_UNIX_DAY: i64 = 86_400;

/// A calendar day in UTC, counted from 1970-01-01 (proleptic Gregorian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UtcDay(i64);

/// A day that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?}: expected a date as YYYY-MM-DD")]
pub struct BadDay(pub String);

impl UtcDay {
    /// The day `days` after 1970-01-01.
    pub const fn from_days_since_epoch(days: i64) -> UtcDay {
        UtcDay(days)
    }

    /// The day of Unix time `unix_s`.
    pub fn from_unix_s(unix_s: i64) -> UtcDay {
        UtcDay(unix_s.div_euclid(SECONDS_PER_UNIX_DAY))
    }

    /// The day of a civil date, `None` when the date does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<UtcDay> {
        let days = days_from_civil(year, month, day);
        (civil_from_days(days) == (year, month, day)).then_some(UtcDay(days))
    }

    /// Days since 1970-01-01.
    pub fn days_since_epoch(self) -> i64 {
        self.0
    }

    /// Unix time at the day's start (00:00 UTC).
    pub fn start_unix_s(self) -> i64 {
        self.0 * SECONDS_PER_UNIX_DAY
    }

    /// Year, month (1–12) and day of the month.
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The next day.
    pub fn next(self) -> UtcDay {
        UtcDay(self.0 + 1)
    }

    /// The previous day.
    pub fn previous(self) -> UtcDay {
        UtcDay(self.0 - 1)
    }
}

impl fmt::Display for UtcDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

impl FromStr for UtcDay {
    type Err = BadDay;

    /// `YYYY-MM-DD`, a date that exists.
    fn from_str(text: &str) -> Result<UtcDay, BadDay> {
        let bad = || BadDay(text.to_string());
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return Err(bad());
        }
        let number = |range: std::ops::Range<usize>| -> Result<u32, BadDay> {
            let part = &text[range];
            if part.bytes().all(|b| b.is_ascii_digit()) {
                part.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let year = number(0..4)? as i32;
        UtcDay::from_ymd(year, number(5..7)?, number(8..10)?).ok_or_else(bad)
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a count of days since 1970-01-01 (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(
            "1970-01-01".parse::<UtcDay>().unwrap().days_since_epoch(),
            0
        );
        // Genesis block, 2009-01-03 18:15:05 UTC.
        let genesis = UtcDay::from_unix_s(1_231_006_505);
        assert_eq!(genesis.to_string(), "2009-01-03");
        assert_eq!(UtcDay::from_unix_s(-1).to_string(), "1969-12-31");
        assert_eq!(
            "2000-02-29".parse::<UtcDay>().unwrap().next().to_string(),
            "2000-03-01"
        );
        assert_eq!(
            "2024-03-01"
                .parse::<UtcDay>()
                .unwrap()
                .previous()
                .to_string(),
            "2024-02-29"
        );
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "20230101",
            "2023-01-0x",
            "",
        ] {
            assert!(bad.parse::<UtcDay>().is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in -800_000..800_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
