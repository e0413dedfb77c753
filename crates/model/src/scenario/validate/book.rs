//! Reading a book file. The book's own keys are checked as a scenario's are (structure against
//! a JSON Schema, then values); each borrower's scenario, a file or an inline table, with the
//! scenario checks; then what ties them together: holdings that name the scenario's debts,
//! unique borrower names, and one start month and horizon for every borrower.

use std::fmt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;
use toml::de::DeValue;

use super::rules::{Fields, MAX_AMOUNT_USD, Names, check_unique};
use super::{Report, check_scenario, child_path, parse_document, read, structure, write_lines};
use crate::scenario::book::{
    BOOK_SCHEMA_VERSION, Book, BookBorrower, BookError, BookErrors, Holding,
};
use crate::scenario::{Debt, FieldError, IdiosyncraticRisk, Scenario};

/// The book file as written, without the inline scenarios (checked as scenarios).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BookFile {
    /// File-format version; must be 1.
    schema_version: u32,
    /// Book name shown in reports.
    name: String,
    /// Scenario file whose market every borrower runs on, relative to the book's directory;
    /// default: the first borrower's scenario.
    #[serde(default)]
    market: Option<String>,
    /// The borrowers.
    borrower: Vec<BorrowerEntry>,
}

/// A `[[borrower]]` as written.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BorrowerEntry {
    /// Name, unique within the book; default: the scenario's name.
    #[serde(default)]
    name: Option<String>,
    /// Scenario file, relative to the book's directory (or an inline `[borrower.inline]`).
    #[serde(default)]
    scenario: Option<String>,
    /// Share held of every instrument (percent); default 100 unless holdings are listed.
    #[serde(default)]
    share_percent: Option<f64>,
    /// Holdings by instrument; instruments not listed are not held.
    #[serde(default)]
    holding: Vec<HoldingEntry>,
    /// The borrower's own random risks, replacing the `[idiosyncratic]` table of its scenario.
    #[serde(default)]
    idiosyncratic: Option<IdiosyncraticRisk>,
}

/// A `[[borrower.holding]]`: a share or a notional of one instrument.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HoldingEntry {
    /// Name of a debt of the borrower's scenario.
    debt: String,
    /// Share held (percent, above 0 and at most 100).
    #[serde(default)]
    share_percent: Option<f64>,
    /// Notional held (USD, above 0 and at most the instrument's commitment or principal).
    #[serde(default)]
    notional_usd: Option<f64>,
}

/// The key of a borrower's inline scenario.
const INLINE_KEY: &str = "inline";

/// The JSON Schema of the book's own keys; an inline scenario is only required to be a table
/// here (it is checked as a scenario on its own).
fn book_json_schema() -> serde_json::Value {
    let mut schema =
        serde_json::to_value(schemars::schema_for!(BookFile)).expect("a schema is JSON");
    schema["$defs"]["BorrowerEntry"]["properties"][INLINE_KEY] = serde_json::json!({
        "description": "The borrower's scenario, written in the book (instead of `scenario`).",
        "type": "object",
    });
    schema
}

impl Book {
    /// Parses and validates a book file, reporting every problem at once: in the book, in the
    /// scenarios it names (each with its own checks) and between them. Scenario paths are
    /// relative to `base_dir` (the book file's directory).
    pub fn from_toml(text: &str, base_dir: &Path) -> Result<Book, BookErrors> {
        let in_book = |problem| BookErrors(vec![BookError::in_book(problem)]);
        let mut document = parse_document(text).map_err(in_book)?;
        let mut reading = Reading {
            text,
            base_dir,
            report: Report::new(text, &document),
            in_files: Vec::new(),
        };
        structure::check(&book_json_schema(), &mut document, &mut reading.report);
        let inline = take_inline(&mut document);
        let Some(file) = read::<BookFile>(&document, "", &[], &mut reading.report) else {
            return Err(reading.finish());
        };
        let book = reading.check(file, inline);
        match book {
            Some(book) if reading.report.errors.is_empty() && reading.in_files.is_empty() => {
                Ok(book)
            }
            _ => Err(reading.finish()),
        }
    }
}

impl Book {
    /// Whether TOML text is a book rather than a scenario: it has a top-level `borrower` key,
    /// which no scenario has. Text that is not TOML is no book.
    pub fn is_book(text: &str) -> bool {
        parse_document(text).is_ok_and(|document| {
            document
                .get_ref()
                .as_table()
                .is_some_and(|root| root.contains_key("borrower"))
        })
    }
}

impl BookError {
    /// A problem in the book file itself.
    fn in_book(problem: FieldError) -> BookError {
        BookError {
            within: String::new(),
            file: None,
            problem,
        }
    }
}

impl fmt::Display for BookErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_lines(f, &self.0)
    }
}

/// Takes every borrower's `inline` table out of the document, by borrower.
fn take_inline<'i>(document: &mut Spanned<DeValue<'i>>) -> Vec<Option<Spanned<DeValue<'i>>>> {
    let DeValue::Table(root) = document.get_mut() else {
        unreachable!("a TOML document is a table")
    };
    let Some(DeValue::Array(borrowers)) = root.get_mut("borrower").map(Spanned::get_mut) else {
        return Vec::new();
    };
    borrowers
        .iter_mut()
        .map(|borrower| match borrower.get_mut() {
            DeValue::Table(table) => table.remove(INLINE_KEY),
            _ => None,
        })
        .collect()
}

/// A book being read: the problems in the book, and those in the scenario files it names.
struct Reading<'t> {
    text: &'t str,
    base_dir: &'t Path,
    report: Report,
    /// Problems in scenario files, each with the book line of the key naming the file.
    in_files: Vec<(Option<usize>, BookError)>,
}

impl Reading<'_> {
    /// Checks everything past the book's structure; the book, if every scenario could be read.
    fn check(
        &mut self,
        file: BookFile,
        mut inline: Vec<Option<Spanned<DeValue<'_>>>>,
    ) -> Option<Book> {
        let mut fields = Fields::new(&mut self.report, "");
        if file.schema_version != BOOK_SCHEMA_VERSION {
            fields.push(
                "schema_version",
                file.schema_version,
                format!("{BOOK_SCHEMA_VERSION} (the version this build reads)"),
            );
        }
        fields.name("name", &file.name);
        if file.borrower.is_empty() {
            fields.push("borrower", "[]", "at least one [[borrower]]");
        }
        let market_file = file
            .market
            .as_ref()
            .map(|path| self.scenario_file("market", path));
        inline.resize_with(file.borrower.len(), || None);
        let mut borrowers = Vec::with_capacity(file.borrower.len());
        for (i, (entry, inline)) in file.borrower.into_iter().zip(inline).enumerate() {
            let key = format!("borrower[{i}]");
            let (source, mut scenario) =
                self.borrower_scenario(&key, entry.scenario.as_deref(), inline);
            if let Some(risk) = &entry.idiosyncratic {
                let mut fields = Fields::new(&mut self.report, format!("{key}.idiosyncratic"));
                super::assets::check_idiosyncratic(risk, &mut fields);
                if let Some(scenario) = scenario.as_mut() {
                    scenario.idiosyncratic = risk.clone();
                }
            }
            let holdings = self.check_holdings(&key, &entry, scenario.as_ref());
            if let Some(name) = &entry.name {
                Fields::new(&mut self.report, key.as_str()).name("name", name);
            }
            let name = entry.name.or_else(|| Some(scenario.as_ref()?.name.clone()));
            borrowers.push((source, name, scenario, holdings));
        }
        let names = Names::partial(
            borrowers
                .iter()
                .map(|(_, name, _, _)| name.clone())
                .collect(),
        );
        check_unique(&mut self.report, &[("borrower", &names)], "borrower");
        let (market, market_from) = match (market_file, borrowers.first()) {
            (Some(market), _) => (market, "market".to_string()),
            (None, Some((source, _, scenario, _))) => (scenario.clone(), source.clone()),
            (None, None) => (None, String::new()),
        };
        let market = market?;
        for (source, name, scenario, _) in &borrowers {
            if let (Some(scenario), Some(name)) = (scenario, name) {
                self.check_market_fit(source, name, scenario, &market, &market_from);
            }
        }
        let borrowers = borrowers
            .into_iter()
            .map(|(_, name, scenario, holdings)| {
                Some(BookBorrower {
                    name: name?,
                    scenario: scenario?,
                    holdings,
                })
            })
            .collect::<Option<Vec<BookBorrower>>>()?;
        Some(Book {
            name: file.name,
            market,
            borrowers,
        })
    }

    /// The borrower's scenario, from its file or its inline table, with the book key it comes
    /// from; `None` (the problems reported) where it cannot be read.
    fn borrower_scenario(
        &mut self,
        key: &str,
        path: Option<&str>,
        inline: Option<Spanned<DeValue<'_>>>,
    ) -> (String, Option<Scenario>) {
        let file_key = format!("{key}.scenario");
        let inline_key = format!("{key}.{INLINE_KEY}");
        match (path, inline) {
            (Some(path), None) => {
                let scenario = self.scenario_file(&file_key, path);
                (file_key, scenario)
            }
            (None, Some(inline)) => {
                let scenario = self.inline_scenario(&inline_key, inline);
                (inline_key, scenario)
            }
            (Some(path), Some(_)) => {
                self.report.push(
                    file_key.clone(),
                    format!("{path:?}"),
                    format!("either a scenario file or [{inline_key}], not both"),
                );
                (file_key, None)
            }
            (None, None) => {
                self.report.push(
                    file_key.clone(),
                    "",
                    format!("a scenario file (or a whole scenario in [{inline_key}])"),
                );
                (file_key, None)
            }
        }
    }

    /// Reads and checks the scenario file `path` (relative to the book's directory) that the
    /// book's `key` names.
    fn scenario_file(&mut self, key: &str, path: &str) -> Option<Scenario> {
        let file: PathBuf = self.base_dir.join(path);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) => {
                let expected = format!("a readable scenario file ({}: {error})", file.display());
                self.report
                    .push(key.to_string(), format!("{path:?}"), expected);
                return None;
            }
        };
        let errors = match Scenario::from_toml(&text) {
            Ok(scenario) => return Some(scenario),
            Err(errors) => errors,
        };
        let line = self.report.line_of(key);
        self.in_files.extend(errors.0.into_iter().map(|problem| {
            let error = BookError {
                within: key.to_string(),
                file: Some(file.clone()),
                problem,
            };
            (line, error)
        }));
        None
    }

    /// Checks the scenario written in the book's table `key`; its problems are the book's.
    fn inline_scenario(&mut self, key: &str, inline: Spanned<DeValue<'_>>) -> Option<Scenario> {
        let errors = match check_scenario(self.text, inline, false) {
            Ok((scenario, _)) => return Some(scenario),
            Err(errors) => errors,
        };
        for problem in errors.0 {
            let path = if problem.path.is_empty() {
                key.to_string()
            } else {
                child_path(key, &problem.path)
            };
            let line = problem.line.or_else(|| self.report.line_of(&path));
            self.report.errors.push(FieldError {
                path,
                line,
                ..problem
            });
        }
        None
    }

    /// Checks the holdings of the borrower at `key` and gives them in the scenario's debt
    /// order (none where the scenario cannot be read).
    fn check_holdings(
        &mut self,
        key: &str,
        entry: &BorrowerEntry,
        scenario: Option<&Scenario>,
    ) -> Vec<Holding> {
        let debts: &[Debt] = scenario.map_or(&[], |scenario| scenario.debt.as_slice());
        let mut fields = Fields::new(&mut self.report, key);
        if let Some(share) = entry.share_percent {
            if entry.holding.is_empty() {
                fields.positive("share_percent", share, 100.0, "%");
            } else {
                fields.push(
                    "share_percent",
                    share,
                    "either share_percent of every instrument or [[borrower.holding]] entries, not both",
                );
            }
        }
        let every = match (entry.share_percent, entry.holding.is_empty()) {
            (Some(share), _) => share / 100.0,
            (None, true) => 1.0,
            (None, false) => 0.0,
        };
        let mut holdings = vec![Holding::Share(every); debts.len()];
        let debt_names: Option<Vec<&str>> =
            scenario.map(|_| debts.iter().map(|debt| debt.name.as_str()).collect());
        for (j, holding) in entry.holding.iter().enumerate() {
            let at = |field: &str| format!("holding[{j}].{field}");
            fields.reference(
                &at("debt"),
                &holding.debt,
                "a debt of the borrower's scenario",
                debt_names.clone(),
            );
            if let Some(k) = entry.holding[..j]
                .iter()
                .position(|earlier| earlier.debt == holding.debt)
            {
                fields.push(
                    &at("debt"),
                    format!("{:?}", holding.debt),
                    format!("a debt no other holding names (holding[{k}] names it too)"),
                );
            }
            let debt = debts.iter().position(|debt| debt.name == holding.debt);
            let held = match (holding.share_percent, holding.notional_usd) {
                (Some(share), None) => {
                    fields.positive(&at("share_percent"), share, 100.0, "%");
                    Holding::Share(share / 100.0)
                }
                (None, Some(notional)) => {
                    let (most, what) = debt.map_or((MAX_AMOUNT_USD, ""), |d| size_of(&debts[d]));
                    fields.positive(&at("notional_usd"), notional, most, &format!("USD{what}"));
                    Holding::NotionalUsd(notional)
                }
                (Some(_), Some(notional)) => {
                    fields.push(
                        &at("notional_usd"),
                        notional,
                        "either share_percent or notional_usd, not both",
                    );
                    continue;
                }
                (None, None) => {
                    fields.push(
                        &format!("holding[{j}]"),
                        "",
                        "share_percent or notional_usd",
                    );
                    continue;
                }
            };
            if let Some(d) = debt {
                holdings[d] = held;
            }
        }
        holdings
    }

    /// Checks that the borrower's scenario (from the book's `source`) starts in the market's
    /// month and runs as long.
    fn check_market_fit(
        &mut self,
        source: &str,
        name: &str,
        scenario: &Scenario,
        market: &Scenario,
        market_from: &str,
    ) {
        let why = format!(
            "the market's (from {market_from}): borrower {name:?} runs on the market's path"
        );
        if scenario.first_month() != market.first_month() {
            self.report.push(
                format!("{source}.start_month"),
                scenario.first_month(),
                format!("{}, {why}", market.first_month()),
            );
        }
        if scenario.horizon_months != market.horizon_months {
            self.report.push(
                format!("{source}.horizon_months"),
                scenario.horizon_months,
                format!("{} months, {why}", market.horizon_months),
            );
        }
    }

    /// Every problem, in the order of the book's lines.
    fn finish(self) -> BookErrors {
        let in_book = self
            .report
            .finish()
            .0
            .into_iter()
            .map(|problem| (problem.line, BookError::in_book(problem)));
        let mut all: Vec<(Option<usize>, BookError)> = in_book.chain(self.in_files).collect();
        all.sort_by_key(|(line, _)| line.unwrap_or(0));
        BookErrors(all.into_iter().map(|(_, error)| error).collect())
    }
}

/// The most a lender can hold of `debt` (USD) and what that is: its commitment or principal;
/// any amount where the scenario sizes it (project finance by loan-to-cost).
fn size_of(debt: &Debt) -> (f64, &'static str) {
    match (debt.commitment_usd, debt.principal_usd) {
        (Some(commitment), _) => (commitment, ", the instrument's commitment"),
        (None, Some(principal)) => (principal, ", the instrument's principal"),
        (None, None) => (MAX_AMOUNT_USD, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scenario tests' minimal miner (one site, one fleet, a term loan) with a revolver:
    /// two debts.
    fn minimal() -> String {
        format!(
            "{}{}",
            super::super::tests::MINIMAL,
            r#"
[[debt]]
name = "Revolver"
kind = "revolver"
commitment_usd = 5_000_000
fixed_rate_percent = 10
schedule = "bullet"
maturity_month = "2028-12"
"#
        )
    }

    /// The directory of the example book.
    fn example_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/book")
    }

    /// A `[[borrower]]` holding `scenario` inline, with the borrower's own keys `keys`, renamed
    /// `name` and with `replace` applied to the scenario's text.
    fn inline_borrower(keys: &str, name: &str, replace: (&str, &str)) -> String {
        let scenario = minimal()
            .replace("Minimal miner", name)
            .replace(replace.0, replace.1);
        let mut text = format!("[[borrower]]\n{keys}\n[borrower.inline]\n");
        for line in scenario.lines() {
            let line = match line.strip_prefix("[[") {
                Some(rest) => format!("[[borrower.inline.{rest}"),
                None => line.to_string(),
            };
            text.push_str(&line);
            text.push('\n');
        }
        text
    }

    fn book(borrowers: &[String]) -> String {
        format!(
            "schema_version = 1\nname = \"Test book\"\n\n{}",
            borrowers.concat()
        )
    }

    fn errors_of(text: &str, base_dir: &Path) -> Vec<BookError> {
        match Book::from_toml(text, base_dir) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(errors) => errors.0,
        }
    }

    /// The problem in the book at `path`, which must be the only one there.
    fn problem_at<'e>(errors: &'e [BookError], path: &str) -> &'e FieldError {
        let found: Vec<&FieldError> = errors
            .iter()
            .filter(|e| e.file.is_none() && e.problem.path == path)
            .map(|e| &e.problem)
            .collect();
        assert_eq!(found.len(), 1, "{path} in {errors:#?}");
        found[0]
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|line| line.contains(needle)).unwrap() + 1
    }

    #[test]
    fn example_book_is_valid() {
        let dir = example_dir();
        let text = std::fs::read_to_string(dir.join("compute-credit.toml")).unwrap();
        assert!(Book::is_book(&text));
        let book = Book::from_toml(&text, &dir).unwrap();
        assert_eq!(book.name, "Compute credit");
        assert_eq!(book.market.name, "CoreWeave Host Co.");
        assert_eq!(book.borrowers.len(), 9);
        for borrower in &book.borrowers {
            assert_eq!(borrower.scenario.first_month(), book.market.first_month());
            assert_eq!(borrower.scenario.horizon_months, 120);
            assert_eq!(borrower.holdings.len(), borrower.scenario.debt.len());
        }
        let holdings = |name: &str| {
            let borrower = book.borrowers.iter().find(|b| b.name == name).unwrap();
            borrower.holdings.clone()
        };
        assert_eq!(holdings("Hydro Hash Ltd."), [Holding::Share(1.0)]);
        assert_eq!(
            holdings("Grid Hash Corp."),
            [Holding::Share(0.5), Holding::NotionalUsd(20e6)]
        );
        assert_eq!(
            holdings("CoreWeave Host Co."),
            [Holding::Share(0.2), Holding::Share(0.0)]
        );
        assert_eq!(holdings("Helios (Galaxy-like)").len(), 1);
        let risk = |name: &str| {
            let borrower = book.borrowers.iter().find(|b| b.name == name).unwrap();
            borrower.scenario.idiosyncratic.clone()
        };
        // The book's [borrower.idiosyncratic] replaces the scenario's 30 %.
        assert_eq!(
            risk("Helios (Galaxy-like)").conversion_delay_probability_percent,
            50.0
        );
        assert_eq!(
            risk("CoreWeave Host Co.").conversion_delay_probability_percent,
            30.0
        );
        assert_eq!(risk("Hydro Hash Ltd.").site_outage_events_per_year, 0.5);
        assert_eq!(
            holdings("Lake Mariner Compute Inc."),
            [Holding::Share(0.1), Holding::Share(0.1)]
        );
    }

    #[test]
    fn inline_borrowers_default_to_every_instrument_and_the_first_market() {
        let text = book(&[
            inline_borrower("", "Miner A", ("", "")),
            inline_borrower("name = \"B\"\nshare_percent = 40", "Miner B", ("", "")),
        ]);
        let book = Book::from_toml(&text, Path::new("")).unwrap();
        assert_eq!(book.market.name, "Miner A");
        assert_eq!(book.borrowers[0].name, "Miner A");
        assert_eq!(book.borrowers[1].name, "B");
        assert_eq!(book.borrowers[0].holdings, [Holding::Share(1.0); 2]);
        assert_eq!(book.borrowers[1].holdings, [Holding::Share(0.4); 2]);
        assert_eq!(book.borrowers[1].scenario.name, "Miner B");
    }

    #[test]
    fn inline_scenario_problems_carry_their_path_in_the_book_and_its_lines() {
        let text = book(&[
            inline_borrower("", "Miner A", ("", "")),
            inline_borrower(
                "",
                "Miner B",
                ("count = 5000", "count = 5000\nuptime_percent = 120"),
            ),
        ]);
        let errors = errors_of(&text, Path::new(""));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let problem = problem_at(&errors, "borrower[1].inline.mining_fleet[0].uptime_percent");
        assert_eq!(problem.value, "120");
        assert_eq!(problem.line, Some(line_of(&text, "= 120")));
    }

    #[test]
    fn holdings_name_debts_of_the_scenario_within_their_sizes() {
        let holdings = r#"[[borrower.holding]]
debt = "Term lone"
share_percent = 50
[[borrower.holding]]
debt = "Term loan"
share_percent = 0
[[borrower.holding]]
debt = "Term loan"
notional_usd = 30_000_000
[[borrower.holding]]
debt = "Revolver"
share_percent = 150
notional_usd = 1
[[borrower.holding]]
debt = "Revolver"
"#;
        let text = book(&[
            inline_borrower("", "Miner A", ("", "")) + holdings,
            inline_borrower(
                "share_percent = 0\n[[borrower.holding]]\ndebt = \"Revolver\"\nnotional_usd = 1",
                "Miner B",
                ("", ""),
            ),
        ]);
        let errors = errors_of(&text, Path::new(""));
        let unknown = problem_at(&errors, "borrower[0].holding[0].debt");
        assert_eq!(unknown.value, "\"Term lone\"");
        assert!(
            unknown.expected.contains("\"Term loan\", \"Revolver\""),
            "{unknown}"
        );
        assert!(
            problem_at(&errors, "borrower[0].holding[1].share_percent")
                .expected
                .contains("above 0 and at most 100 %")
        );
        let over = problem_at(&errors, "borrower[0].holding[2].notional_usd");
        assert!(
            over.expected
                .contains("at most 20000000 USD, the instrument's principal"),
            "{over}"
        );
        assert!(
            problem_at(&errors, "borrower[0].holding[2].debt")
                .expected
                .contains("holding[1] names it too")
        );
        assert!(
            problem_at(&errors, "borrower[0].holding[3].notional_usd")
                .expected
                .contains("not both")
        );
        assert!(
            problem_at(&errors, "borrower[0].holding[4].debt")
                .expected
                .contains("holding[3] names it too")
        );
        assert!(
            problem_at(&errors, "borrower[0].holding[4]")
                .expected
                .contains("share_percent or notional_usd")
        );
        assert!(
            problem_at(&errors, "borrower[1].share_percent")
                .expected
                .contains("not both")
        );
        assert_eq!(errors.len(), 8, "{errors:#?}");
    }

    #[test]
    fn borrowers_share_one_market_and_unique_names() {
        let text = book(&[
            inline_borrower("", "Miner A", ("", "")),
            inline_borrower(
                "",
                "miner a",
                ("horizon_months = 60", "horizon_months = 48"),
            ),
            inline_borrower("name = \"C\"", "Miner C", ("2026-01", "2026-02")),
        ]);
        let errors = errors_of(&text, Path::new(""));
        let name = problem_at(&errors, "borrower[1].name");
        assert!(name.expected.contains("(borrower[0] has it too)"), "{name}");
        let horizon = problem_at(&errors, "borrower[1].inline.horizon_months");
        assert_eq!(horizon.value, "48");
        assert!(
            horizon.expected.starts_with(
                "60 months, the market's (from borrower[0].inline): borrower \"miner a\""
            ),
            "{horizon}"
        );
        let start = problem_at(&errors, "borrower[2].inline.start_month");
        assert_eq!(
            (start.value.as_str(), start.line),
            ("2026-02", Some(line_of(&text, "\"2026-02\"")))
        );
        assert!(
            start.expected.starts_with("2026-01, the market's"),
            "{start}"
        );
        assert_eq!(errors.len(), 3, "{errors:#?}");
    }

    #[test]
    fn scenario_files_are_read_relative_to_the_book() {
        let dir = std::env::temp_dir().join(format!("bitwatt-book-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("good.toml"), minimal()).unwrap();
        std::fs::write(
            dir.join("bad.toml"),
            minimal().replace("count = 5000", "count = -1"),
        )
        .unwrap();
        let text = r#"schema_version = 1
name = "Files"
market = "good.toml"

[[borrower]]
scenario = "missing.toml"

[[borrower]]
scenario = "bad.toml"

[[borrower]]
scenario = "good.toml"
[borrower.inline]
"#;
        let errors = errors_of(text, &dir);
        std::fs::remove_dir_all(&dir).unwrap();
        let missing = problem_at(&errors, "borrower[0].scenario");
        assert_eq!(missing.value, "\"missing.toml\"");
        assert!(
            missing.expected.starts_with("a readable scenario file"),
            "{missing}"
        );
        assert_eq!(missing.line, Some(6));
        let bad: Vec<&BookError> = errors.iter().filter(|e| e.file.is_some()).collect();
        assert_eq!(bad.len(), 1, "{errors:#?}");
        assert_eq!(bad[0].within, "borrower[1].scenario");
        assert_eq!(bad[0].file.as_deref(), Some(dir.join("bad.toml").as_path()));
        assert_eq!(bad[0].problem.path, "mining_fleet[0].count");
        assert_eq!(
            bad[0].problem.line,
            Some(line_of(&minimal(), "count = 5000"))
        );
        assert!(bad[0].located("book.toml").starts_with(&format!(
            "borrower[1].scenario: {}:",
            dir.join("bad.toml").display()
        )));
        assert!(
            problem_at(&errors, "borrower[2].scenario")
                .expected
                .contains("not both")
        );
        assert_eq!(errors.len(), 3, "{errors:#?}");
    }

    #[test]
    fn a_borrower_idiosyncratic_table_replaces_its_scenarios() {
        let own = "[idiosyncratic]\nsite_outage_events_per_year = 2\n\
                   conversion_delay_probability_percent = 10\n";
        let with_own = (
            "horizon_months = 60",
            "horizon_months = 60\nidiosyncratic = { site_outage_events_per_year = 2, \
             conversion_delay_probability_percent = 10 }",
        );
        let text = book(&[
            inline_borrower("", "Miner A", with_own),
            inline_borrower(
                "[borrower.idiosyncratic]\nsite_outage_events_per_year = 0.5\n\
                 site_outage_event_days = 5",
                "Miner B",
                with_own,
            ),
        ]);
        let book = Book::from_toml(&text, Path::new("")).unwrap_or_else(|e| panic!("{e}"));
        let risk = &book.borrowers[0].scenario.idiosyncratic;
        assert_eq!(risk.site_outage_events_per_year, 2.0);
        assert_eq!(risk.conversion_delay_probability_percent, 10.0);
        let risk = &book.borrowers[1].scenario.idiosyncratic;
        assert_eq!(risk.site_outage_events_per_year, 0.5);
        assert_eq!(risk.site_outage_event_days, 5.0);
        assert_eq!(risk.conversion_delay_probability_percent, 0.0);
        assert_eq!(risk.conversion_delay_mean_months, 6.0);

        // The book's table replaces the scenario's whole table, defaults included.
        let scenario_with_risk = format!("{}\n{own}", minimal());
        let dir = std::env::temp_dir().join(format!("bitwatt-idio-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.toml"), &scenario_with_risk).unwrap();
        let text = "schema_version = 1\nname = \"B\"\n[[borrower]]\nscenario = \"a.toml\"\n\
                    [[borrower]]\nname = \"A again\"\nscenario = \"a.toml\"\n\
                    [borrower.idiosyncratic]\nconversion_delay_mean_months = 4\n";
        let book = Book::from_toml(text, &dir).unwrap_or_else(|e| panic!("{e}"));
        let risk = &book.borrowers[0].scenario.idiosyncratic;
        assert_eq!(risk.site_outage_events_per_year, 2.0);
        assert_eq!(risk.conversion_delay_probability_percent, 10.0);
        let risk = &book.borrowers[1].scenario.idiosyncratic;
        assert_eq!(risk.site_outage_events_per_year, 0.0);
        assert_eq!(risk.conversion_delay_probability_percent, 0.0);
        assert_eq!(risk.conversion_delay_mean_months, 4.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_borrower_idiosyncratic_table_is_checked_in_the_book() {
        let text = book(&[inline_borrower(
            "[borrower.idiosyncratic]\nsite_outage_event_days = 32\n\
             conversion_delay_mean_months = 40\nlate = 1",
            "Miner A",
            ("", ""),
        )]);
        let errors = errors_of(&text, Path::new(""));
        let unknown = problem_at(&errors, "borrower[0].idiosyncratic.late");
        assert_eq!(unknown.line, Some(line_of(&text, "late = 1")));
        assert!(unknown.expected.contains("a known key"), "{unknown}");
        let text = text.replace("late = 1\n", "");
        let errors = errors_of(&text, Path::new(""));
        assert_eq!(errors.len(), 2, "{errors:#?}");
        let days = problem_at(&errors, "borrower[0].idiosyncratic.site_outage_event_days");
        assert_eq!(days.value, "32");
        assert_eq!(days.expected, "a number from 0 to 31 days per event");
        assert_eq!(days.line, Some(line_of(&text, "= 32")));
        let mean = problem_at(
            &errors,
            "borrower[0].idiosyncratic.conversion_delay_mean_months",
        );
        assert_eq!(mean.value, "40");
        assert_eq!(mean.expected, "a number above 0 and at most 36 months");
        assert_eq!(mean.line, Some(line_of(&text, "= 40")));
        assert_eq!(
            errors[0].located("book.toml"),
            format!(
                "book.toml:{}: borrower[0].idiosyncratic.site_outage_event_days = 32: expected a \
                 number from 0 to 31 days per event",
                line_of(&text, "= 32")
            )
        );
    }

    #[test]
    fn the_book_keys_are_checked_as_a_scenario_is() {
        let text = r#"schema_version = 2
name = ""
markets = "x.toml"
borrower = []
"#;
        let errors = errors_of(text, Path::new(""));
        let unknown = problem_at(&errors, "markets");
        assert!(
            unknown.expected.contains("did you mean market?"),
            "{unknown}"
        );
        assert_eq!(problem_at(&errors, "schema_version").value, "2");
        assert_eq!(problem_at(&errors, "name").line, Some(2));
        assert!(
            problem_at(&errors, "borrower")
                .expected
                .contains("at least one [[borrower]]")
        );
        assert_eq!(errors.len(), 4, "{errors:#?}");
        let shown = BookErrors(errors).to_string();
        assert_eq!(shown.lines().count(), 4);
        assert!(
            shown.starts_with("line 1: schema_version = 2: expected 1"),
            "{shown}"
        );
        let wrong_type = errors_of(
            "schema_version = 1\nname = \"B\"\n[[borrower]]\ninline = 3\n",
            Path::new(""),
        );
        assert_eq!(
            problem_at(&wrong_type, "borrower[0].inline").expected,
            "a table"
        );
        assert!(!Book::is_book(&minimal()));
        assert!(!Book::is_book("borrower = ["));
    }
}
