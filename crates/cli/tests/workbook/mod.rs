//! `--xlsx`: the workbooks of `project`, `simulate` and `portfolio` read back with calamine,
//! their cells checked against the same run's JSON.

use calamine::{Data, Range, Reader, Xlsx, open_workbook};
use serde_json::Value;

use super::{bitwatt, scratch};

/// Runs `args` (which must succeed) and returns its JSON.
fn json_of(args: &[&str]) -> Value {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The sheets of the workbook at `path`, by name.
fn sheets(path: &std::path::Path) -> (Vec<String>, Xlsx<std::io::BufReader<std::fs::File>>) {
    let workbook: Xlsx<_> = open_workbook(path).expect("a workbook");
    (workbook.sheet_names().to_vec(), workbook)
}

/// The number in the row whose first cell is `label`, column `col`.
fn number_by_label(range: &Range<Data>, label: &str, col: usize) -> f64 {
    let row = range
        .rows()
        .find(|row| {
            row.first()
                .is_some_and(|c| matches!(c, Data::String(s) if s == label))
        })
        .unwrap_or_else(|| panic!("no row {label:?}"));
    match &row[col] {
        Data::Float(value) => *value,
        Data::Int(value) => *value as f64,
        other => panic!("{label:?}: {other:?} is not a number"),
    }
}

#[test]
fn a_simulation_workbook_holds_the_runs_numbers() {
    let dir = scratch("xlsx-simulate");
    let path = dir.join("pure.xlsx");
    let path_text = path.to_str().unwrap();
    let common = [
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "600",
        "--seed",
        "9",
        "--quiet",
        "--json",
    ];
    let mut args = common.to_vec();
    args.extend(["--xlsx", path_text]);
    let json = json_of(&args);
    let (names, mut workbook) = sheets(&path);
    assert_eq!(
        names,
        [
            "Summary",
            "PD by year",
            "Instruments",
            "Loss tail",
            "Fans",
            "Monthly",
            "Covenants"
        ]
    );
    let summary = workbook.worksheet_range("Summary").unwrap();
    let pd = json["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(
        number_by_label(&summary, "PD to the horizon", 1),
        pd["value"].as_f64().unwrap()
    );
    assert_eq!(
        number_by_label(&summary, "PD to the horizon", 2),
        pd["standard_error"].as_f64().unwrap()
    );
    assert_eq!(
        number_by_label(&summary, "expected loss, USD", 1),
        json["expected_loss_usd"]["value"].as_f64().unwrap()
    );
    assert_eq!(number_by_label(&summary, "paths", 1), 600.0);
    let years = workbook.worksheet_range("PD by year").unwrap();
    let by_year = json["cumulative_pd_by_year"].as_array().unwrap();
    assert_eq!(years.height(), by_year.len() + 1);
    assert_eq!(
        number_by_label(&years, "2", 1),
        by_year[1]["value"].as_f64().unwrap()
    );
    let instruments = workbook.worksheet_range("Instruments").unwrap();
    let first = &json["instruments"][0];
    assert_eq!(
        number_by_label(&instruments, first["name"].as_str().unwrap(), 1),
        first["pd"]["value"].as_f64().unwrap()
    );
    // The base case: one row a month under the header, the first month's BTC price as the
    // projection's JSON gives it.
    let monthly = workbook.worksheet_range("Monthly").unwrap();
    let projection = json_of(&["project", "--example", "pure-miner", "--json"]);
    let months = projection["months"].as_array().unwrap();
    assert_eq!(monthly.height(), months.len() + 1);
    assert_eq!(
        monthly.get((0, 1)),
        Some(&Data::String("btc_price_usd".into()))
    );
    assert_eq!(
        monthly.get((1, 1)),
        Some(&Data::Float(months[0]["btc_price_usd"].as_f64().unwrap()))
    );
    // Fans: a month column, then five percentiles per series, increasing.
    let fans = workbook.worksheet_range("Fans").unwrap();
    let row: Vec<f64> = (1..=5)
        .map(|c| match fans.get((12, c)) {
            Some(Data::Float(v)) => *v,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(row.windows(2).all(|w| w[0] <= w[1]), "{row:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn project_and_portfolio_workbooks_and_a_bad_path() {
    let dir = scratch("xlsx-other");
    let path = dir.join("pivot.xlsx");
    let out = bitwatt(&["project", "--xlsx", path.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (names, mut workbook) = sheets(&path);
    assert_eq!(names, ["Summary", "Monthly", "Covenants"]);
    let covenants = workbook.worksheet_range("Covenants").unwrap();
    assert!(covenants.height() > 1, "no covenant test in pivot-miner");

    let book = dir.join("book.xlsx");
    let json = json_of(&[
        "portfolio",
        "examples/book/compute-credit.toml",
        "--paths",
        "300",
        "--quiet",
        "--json",
        "--xlsx",
        book.to_str().unwrap(),
    ]);
    let (names, mut workbook) = sheets(&book);
    assert_eq!(names, ["Summary", "Borrowers", "Correlations", "Histogram"]);
    let borrowers = workbook.worksheet_range("Borrowers").unwrap();
    let first = &json["borrowers"][0];
    assert_eq!(
        number_by_label(&borrowers, first["name"].as_str().unwrap(), 1),
        first["pd"]["value"].as_f64().unwrap()
    );
    let histogram = workbook.worksheet_range("Histogram").unwrap();
    let total: f64 = (1..histogram.height())
        .map(|r| match histogram.get((r, 3)) {
            Some(Data::Float(v)) => *v,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(total, 300.0);

    let out = bitwatt(&["project", "--xlsx", "/nonexistent/dir/out.xlsx"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/dir/out.xlsx"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
