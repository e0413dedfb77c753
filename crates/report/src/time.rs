//! Calendar dates for Unix timestamps (proleptic Gregorian, UTC).

use bitwatt_chain::civil_from_days;

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc_datetime(unix_s: i64) -> String {
    let days = unix_s.div_euclid(86_400);
    let seconds = unix_s.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

/// Formats Unix seconds as the UTC date `YYYY-MM-DD`.
pub fn utc_date(unix_s: i64) -> String {
    let (year, month, day) = civil_from_days(unix_s.div_euclid(86_400));
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_timestamps() {
        assert_eq!(utc_datetime(0), "1970-01-01 00:00:00 UTC");
        // Genesis block.
        assert_eq!(utc_datetime(1_231_006_505), "2009-01-03 18:15:05 UTC");
        // Height 925 344 (shared/data: 2025-11-27T01:16:48Z).
        assert_eq!(utc_datetime(1_764_206_208), "2025-11-27 01:16:48 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(-86_400), "1969-12-31");
    }
}
