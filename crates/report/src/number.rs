//! Number formatting.

/// An amount in millions of USD with one decimal: `$1,234.5 M`.
pub fn usd_millions(value_usd: f64) -> String {
    format!("${} M", thousands(value_usd / 1e6, 1))
}

/// Formats `value` with `decimals` decimals and `,` between groups of three digits
/// (`1234567.891, 2` → `"1,234,567.89"`). Non-finite values print as `"n/a"`.
pub fn thousands(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return "n/a".to_string();
    }
    let fixed = format!("{:.*}", decimals, value.abs());
    let (integer, fraction) = match fixed.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (fixed.as_str(), None),
    };
    let mut grouped = String::with_capacity(integer.len() + integer.len() / 3);
    for (i, digit) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    // "-0.00" would be noise: only a value that is non-zero after rounding keeps its sign.
    let negative = value < 0.0 && fixed.bytes().any(|b| (b'1'..=b'9').contains(&b));
    let sign = if negative { "-" } else { "" };
    match fraction {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Like [`thousands`], or `missing` when there is no value.
pub fn thousands_or(value: Option<f64>, decimals: usize, missing: &str) -> String {
    value.map_or_else(|| missing.to_string(), |v| thousands(v, decimals))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_rounds() {
        assert_eq!(thousands(1_234_567.891, 2), "1,234,567.89");
        assert_eq!(thousands(999.995, 2), "1,000.00");
        assert_eq!(thousands(-1_000.0, 0), "-1,000");
        assert_eq!(thousands(12.0, 0), "12");
        assert_eq!(thousands(-0.001, 2), "0.00");
        assert_eq!(thousands(f64::NAN, 2), "n/a");
        assert_eq!(thousands_or(None, 2, "never"), "never");
    }
}
