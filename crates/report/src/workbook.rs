//! Workbooks for the analyst's spreadsheet (`--xlsx`): the summary, the base case's monthly
//! waterfall, its covenant tests and the Monte Carlo's percentile tables, one sheet each,
//! with number formats and frozen headers, so the model can be checked and extended where
//! credit analysts work.

use bitwatt_engine::{
    Covenant, CreditMetrics, Estimate, PortfolioMetrics, Projection, QUANTILE_LEVELS,
};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::Serialize;

use crate::monthly::MonthlyTable;

/// What a run's workbook holds besides its base case.
pub enum WorkbookResult<'a> {
    /// A deterministic projection only.
    Projection,
    /// A Monte Carlo simulation of the borrower: its metrics, paths and seed.
    Simulation {
        /// The credit metrics.
        metrics: &'a CreditMetrics,
        /// The seed.
        seed: u64,
    },
}

/// The workbook of `project` or `simulate` on the scenario named `name`: a `Summary` sheet,
/// the base case's `Monthly` waterfall and `Covenants` tests, and for a simulation the
/// `PD by year`, `Instruments`, `Loss tail` and `Fans` sheets. Returns the file's bytes.
pub fn borrower_workbook(
    name: &str,
    projection: &Projection,
    result: &WorkbookResult<'_>,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new();
    summary_sheet(workbook.add_worksheet(), &styles, name, projection, result)?;
    if let WorkbookResult::Simulation { metrics, .. } = result {
        pd_sheet(workbook.add_worksheet(), &styles, metrics)?;
        instruments_sheet(workbook.add_worksheet(), &styles, metrics)?;
        loss_tail_sheet(workbook.add_worksheet(), &styles, metrics)?;
        fans_sheet(workbook.add_worksheet(), &styles, metrics, projection)?;
    }
    monthly_sheet(workbook.add_worksheet(), &styles, projection)?;
    covenants_sheet(workbook.add_worksheet(), &styles, projection)?;
    workbook.save_to_buffer()
}

/// The workbook of `portfolio` on the book named `name`: `Summary` (the book's expected loss,
/// VaR and ES under both liquidations and the fire-sale add-on), `Borrowers` (PD, LGD,
/// expected loss and ES contribution), `Correlations` and `Histogram`. Returns the bytes.
pub fn portfolio_workbook(
    name: &str,
    seed: u64,
    metrics: &PortfolioMetrics,
) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let styles = Styles::new();

    let sheet = workbook.add_worksheet();
    sheet.set_name("Summary")?;
    let mut rows = Rows::new(sheet, &styles, &["item", "value", "standard error"])?;
    rows.text_row("book", name)?;
    rows.number_row("paths", metrics.paths as f64, None, &styles.count)?;
    rows.number_row("seed", seed as f64, None, &styles.count)?;
    for book in [&metrics.shared, &metrics.independent] {
        let label = label(&book.liquidation);
        rows.estimate_row(
            &format!("expected loss ({label}), USD"),
            &book.expected_loss_usd,
            &styles.usd,
        )?;
        for tail in &book.loss_tail {
            let level = tail.level * 100.0;
            rows.number_row(
                &format!("VaR {level} % ({label}), USD"),
                tail.var_usd,
                None,
                &styles.usd,
            )?;
            rows.estimate_row(
                &format!("ES {level} % ({label}), USD"),
                &tail.es_usd,
                &styles.usd,
            )?;
        }
    }
    let add_on = &metrics.fire_sale_add_on;
    rows.estimate_row(
        "fire-sale add-on: expected loss, USD",
        &add_on.expected_loss_usd,
        &styles.usd,
    )?;
    for tail in &add_on.es_usd {
        rows.estimate_row(
            &format!("fire-sale add-on: ES {} %, USD", tail.level * 100.0),
            &tail.difference_usd,
            &styles.usd,
        )?;
    }
    rows.finish(&[44.0, 18.0, 16.0])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name("Borrowers")?;
    let mut rows = Rows::new(
        sheet,
        &styles,
        &[
            "borrower",
            "PD",
            "PD SE",
            "lender LGD (shared)",
            "expected loss (shared), USD",
            "ES 99 % contribution (shared), USD",
            "lender LGD (independent)",
            "expected loss (independent), USD",
            "ES 99 % contribution (independent), USD",
        ],
    )?;
    for ((default, shared), independent) in metrics
        .borrowers
        .iter()
        .zip(&metrics.shared.borrowers)
        .zip(&metrics.independent.borrowers)
    {
        rows.cells(
            &default.name,
            &[
                (Some(default.pd.value), &styles.percent),
                (Some(default.pd.standard_error), &styles.percent),
                (shared.lgd.map(|e| e.value), &styles.percent),
                (Some(shared.expected_loss_usd.value), &styles.usd),
                (Some(shared.es_99_contribution_usd.value), &styles.usd),
                (independent.lgd.map(|e| e.value), &styles.percent),
                (Some(independent.expected_loss_usd.value), &styles.usd),
                (Some(independent.es_99_contribution_usd.value), &styles.usd),
            ],
        )?;
    }
    rows.finish(&[30.0, 10.0, 10.0, 14.0, 18.0, 20.0, 14.0, 18.0, 20.0])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name("Correlations")?;
    let mut rows = Rows::new(
        sheet,
        &styles,
        &["borrower", "with", "joint PD", "correlation", "SE"],
    )?;
    for pair in &metrics.default_correlation {
        rows.labelled(
            &[&pair.first, &pair.second],
            &[
                (Some(pair.joint_pd.value), &styles.percent),
                (pair.correlation.map(|c| c.value), &styles.ratio),
                (pair.correlation.map(|c| c.standard_error), &styles.ratio),
            ],
        )?;
    }
    rows.finish(&[30.0, 30.0, 10.0, 12.0, 10.0])?;

    let sheet = workbook.add_worksheet();
    sheet.set_name("Histogram")?;
    let mut rows = Rows::new(
        sheet,
        &styles,
        &[
            "bin",
            "from, USD",
            "to, USD",
            "paths (shared)",
            "paths (independent)",
        ],
    )?;
    let width = metrics.shared.histogram.bin_width_usd;
    for (i, (shared, independent)) in metrics
        .shared
        .histogram
        .counts
        .iter()
        .zip(&metrics.independent.histogram.counts)
        .enumerate()
    {
        rows.cells(
            &(i + 1).to_string(),
            &[
                (Some(i as f64 * width), &styles.usd),
                (Some((i + 1) as f64 * width), &styles.usd),
                (Some(*shared as f64), &styles.count),
                (Some(*independent as f64), &styles.count),
            ],
        )?;
    }
    rows.finish(&[8.0, 18.0, 18.0, 14.0, 18.0])?;
    workbook.save_to_buffer()
}

/// The number formats of the workbook.
struct Styles {
    header: Format,
    usd: Format,
    ratio: Format,
    percent: Format,
    count: Format,
    number: Format,
}

impl Styles {
    fn new() -> Styles {
        Styles {
            header: Format::new().set_bold().set_text_wrap(),
            usd: Format::new().set_num_format("#,##0"),
            ratio: Format::new().set_num_format("0.000"),
            percent: Format::new().set_num_format("0.00%"),
            count: Format::new().set_num_format("#,##0"),
            number: Format::new().set_num_format("#,##0.00"),
        }
    }

    /// The format of a monthly column, from its name's unit.
    fn for_column(&self, name: &str) -> &Format {
        if name.ends_with("_usd") {
            &self.usd
        } else if name.ends_with("dscr") || name.ends_with("ltv") || name.ends_with("leverage") {
            &self.ratio
        } else {
            &self.number
        }
    }
}

/// A sheet written row by row under a bold, frozen header.
struct Rows<'a> {
    sheet: &'a mut Worksheet,
    row: u32,
}

impl<'a> Rows<'a> {
    fn new(
        sheet: &'a mut Worksheet,
        styles: &'a Styles,
        header: &[&str],
    ) -> Result<Rows<'a>, XlsxError> {
        for (col, name) in header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &styles.header)?;
        }
        sheet.set_freeze_panes(1, 1)?;
        Ok(Rows { sheet, row: 1 })
    }

    /// A row: a label, then values with their formats (empty where there is none or it is
    /// not finite).
    fn cells(&mut self, label: &str, values: &[(Option<f64>, &Format)]) -> Result<(), XlsxError> {
        self.labelled(&[label], values)
    }

    /// A row: labels in the first columns, then values with their formats.
    fn labelled(
        &mut self,
        labels: &[&str],
        values: &[(Option<f64>, &Format)],
    ) -> Result<(), XlsxError> {
        for (col, label) in labels.iter().enumerate() {
            self.sheet.write_string(self.row, col as u16, *label)?;
        }
        let offset = labels.len();
        for (col, (value, format)) in values.iter().enumerate() {
            if let Some(value) = value.filter(|v| v.is_finite()) {
                self.sheet.write_number_with_format(
                    self.row,
                    (col + offset) as u16,
                    value,
                    format,
                )?;
            }
        }
        self.row += 1;
        Ok(())
    }

    fn text_row(&mut self, label: &str, text: &str) -> Result<(), XlsxError> {
        self.sheet.write_string(self.row, 0, label)?;
        self.sheet.write_string(self.row, 1, text)?;
        self.row += 1;
        Ok(())
    }

    fn number_row(
        &mut self,
        label: &str,
        value: f64,
        standard_error: Option<f64>,
        format: &Format,
    ) -> Result<(), XlsxError> {
        self.cells(label, &[(Some(value), format), (standard_error, format)])
    }

    fn estimate_row(
        &mut self,
        label: &str,
        estimate: &Estimate,
        format: &Format,
    ) -> Result<(), XlsxError> {
        self.number_row(label, estimate.value, Some(estimate.standard_error), format)
    }

    /// Sets the column widths (characters).
    fn finish(self, widths: &[f64]) -> Result<(), XlsxError> {
        for (col, &width) in widths.iter().enumerate() {
            self.sheet.set_column_width(col as u16, width)?;
        }
        Ok(())
    }
}

/// An enum's name as the JSON output spells it.
fn label(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn summary_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    name: &str,
    projection: &Projection,
    result: &WorkbookResult<'_>,
) -> Result<(), XlsxError> {
    sheet.set_name("Summary")?;
    let mut rows = Rows::new(sheet, styles, &["item", "value", "standard error"])?;
    let borrower = &projection.borrower;
    let summary = &projection.summary;
    rows.text_row("scenario", name)?;
    rows.text_row("first month", &borrower.start_month.to_string())?;
    rows.number_row(
        "horizon, months",
        borrower.horizon_months as f64,
        None,
        &styles.count,
    )?;
    rows.text_row(
        "base case: default",
        &summary.default.map_or("none".to_string(), |event| {
            format!(
                "{} ({})",
                borrower.start_month.plus_months(event.month_index as i32),
                label(&event.cause)
            )
        }),
    )?;
    if let Some((dscr, t)) = summary.min_dscr {
        rows.number_row("base case: lowest DSCR", dscr, None, &styles.ratio)?;
        rows.text_row(
            "base case: month of the lowest DSCR",
            &borrower.start_month.plus_months(t as i32).to_string(),
        )?;
    }
    if let Some((ltv, _)) = summary.max_ltv {
        rows.number_row("base case: highest LTV", ltv, None, &styles.percent)?;
    }
    if let Some(irr) = projection.equity_irr {
        rows.number_row("base case: equity IRR", irr, None, &styles.percent)?;
    }
    if let WorkbookResult::Simulation { metrics, seed } = result {
        rows.number_row("paths", metrics.paths as f64, None, &styles.count)?;
        rows.number_row("seed", *seed as f64, None, &styles.count)?;
        if let Some(pd) = metrics.cumulative_pd_by_year.last() {
            rows.estimate_row("PD to the horizon", pd, &styles.percent)?;
        }
        rows.text_row("rating grade", &label(&metrics.rating.grade))?;
        rows.estimate_row(
            "expected loss, USD",
            &metrics.expected_loss_usd,
            &styles.usd,
        )?;
        for tail in &metrics.loss_tail {
            let level = tail.level * 100.0;
            rows.number_row(
                &format!("loss VaR {level} %, USD"),
                tail.var_usd,
                None,
                &styles.usd,
            )?;
            rows.number_row(
                &format!("loss ES {level} %, USD"),
                tail.es_usd,
                None,
                &styles.usd,
            )?;
        }
    }
    rows.finish(&[40.0, 18.0, 16.0])
}

fn pd_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    metrics: &CreditMetrics,
) -> Result<(), XlsxError> {
    sheet.set_name("PD by year")?;
    let mut rows = Rows::new(
        sheet,
        styles,
        &["year", "cumulative PD", "SE", "PD in the year", "SE"],
    )?;
    let in_year = metrics.time_to_default.as_ref().map(|t| &t.pd_by_year);
    for (year, pd) in metrics.cumulative_pd_by_year.iter().enumerate() {
        let marginal = in_year.and_then(|p| p.get(year));
        rows.cells(
            &(year + 1).to_string(),
            &[
                (Some(pd.value), &styles.percent),
                (Some(pd.standard_error), &styles.percent),
                (marginal.map(|e| e.value), &styles.percent),
                (marginal.map(|e| e.standard_error), &styles.percent),
            ],
        )?;
    }
    rows.finish(&[8.0, 14.0, 10.0, 14.0, 10.0])
}

fn instruments_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    metrics: &CreditMetrics,
) -> Result<(), XlsxError> {
    sheet.set_name("Instruments")?;
    let mut rows = Rows::new(
        sheet,
        styles,
        &[
            "instrument",
            "PD",
            "PD SE",
            "LGD",
            "LGD SE",
            "EAD, USD",
            "expected loss, USD",
            "break-even spread, bp",
            "market spread, bp",
            "fee, bp a year",
            "excess spread, bp",
        ],
    )?;
    for instrument in &metrics.instruments {
        let spread = &instrument.spread;
        rows.cells(
            &instrument.name,
            &[
                (Some(instrument.pd.value), &styles.percent),
                (Some(instrument.pd.standard_error), &styles.percent),
                (instrument.lgd.map(|e| e.value), &styles.percent),
                (instrument.lgd.map(|e| e.standard_error), &styles.percent),
                (
                    instrument.exposure_at_default_usd.map(|e| e.value),
                    &styles.usd,
                ),
                (Some(instrument.expected_loss_usd.value), &styles.usd),
                (
                    spread.break_even_spread_bps.map(|e| e.value),
                    &styles.number,
                ),
                (spread.market_spread_bps, &styles.number),
                (spread.upfront_fee_bps_per_year, &styles.number),
                (spread.excess_spread_bps, &styles.number),
            ],
        )?;
    }
    rows.finish(&[
        26.0, 10.0, 10.0, 10.0, 10.0, 16.0, 16.0, 14.0, 12.0, 12.0, 12.0,
    ])
}

fn loss_tail_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    metrics: &CreditMetrics,
) -> Result<(), XlsxError> {
    sheet.set_name("Loss tail")?;
    let mut rows = Rows::new(sheet, styles, &["level", "VaR, USD", "ES, USD"])?;
    for tail in &metrics.loss_tail {
        rows.cells(
            &format!("{} %", tail.level * 100.0),
            &[
                (Some(tail.var_usd), &styles.usd),
                (Some(tail.es_usd), &styles.usd),
            ],
        )?;
    }
    rows.finish(&[10.0, 18.0, 18.0])
}

fn fans_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    metrics: &CreditMetrics,
    projection: &Projection,
) -> Result<(), XlsxError> {
    sheet.set_name("Fans")?;
    let mut header = vec!["month".to_string()];
    for fan in &metrics.fans {
        for level in QUANTILE_LEVELS {
            header.push(format!("{} p{}", label(&fan.series), level * 100.0));
        }
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut rows = Rows::new(sheet, styles, &header)?;
    let months = metrics
        .fans
        .iter()
        .map(|f| f.quantiles_by_month.len())
        .max()
        .unwrap_or(0);
    for t in 0..months {
        let mut values = Vec::new();
        for fan in &metrics.fans {
            let quantiles = fan.quantiles_by_month.get(t).copied().flatten();
            for q in 0..QUANTILE_LEVELS.len() {
                values.push((quantiles.map(|v| v[q]), &styles.number));
            }
        }
        rows.cells(
            &projection
                .borrower
                .start_month
                .plus_months(t as i32)
                .to_string(),
            &values,
        )?;
    }
    rows.finish(&[10.0])
}

fn monthly_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    projection: &Projection,
) -> Result<(), XlsxError> {
    sheet.set_name("Monthly")?;
    let table = MonthlyTable::of(projection);
    let mut header = vec!["month"];
    header.extend(table.header.iter().map(String::as_str));
    let mut rows = Rows::new(sheet, styles, &header)?;
    let formats: Vec<&Format> = table
        .header
        .iter()
        .map(|name| styles.for_column(name))
        .collect();
    for (month, values) in &table.rows {
        let cells: Vec<(Option<f64>, &Format)> = values
            .iter()
            .copied()
            .zip(formats.iter().copied())
            .collect();
        rows.cells(month, &cells)?;
    }
    rows.sheet.set_row_height(0, 45)?;
    let mut widths = vec![10.0];
    widths.extend(std::iter::repeat_n(16.0, table.header.len()));
    rows.finish(&widths)
}

fn covenants_sheet(
    sheet: &mut Worksheet,
    styles: &Styles,
    projection: &Projection,
) -> Result<(), XlsxError> {
    sheet.set_name("Covenants")?;
    let mut rows = Rows::new(
        sheet,
        styles,
        &[
            "month",
            "instrument",
            "tested DSCR",
            "lock-up DSCR",
            "default DSCR",
            "LTV",
            "maximum LTV",
            "broken",
        ],
    )?;
    let borrower = &projection.borrower;
    let debts = borrower.debts.len();
    for (t, _) in projection.months.iter().enumerate() {
        for (d, plan) in borrower.debts.iter().enumerate() {
            let month = &projection.debt_months[t * debts + d];
            let tested =
                month.tested_dscr.is_some() || (plan.max_ltv.is_some() && month.ltv.is_some());
            if !tested {
                continue;
            }
            let broken: Vec<String> = Covenant::ALL
                .into_iter()
                .filter(|&c| month.covenant_breaches.contains(c))
                .map(|c| label(&c))
                .collect();
            let row = rows.row;
            rows.sheet.write_string(row, 7, broken.join(", "))?;
            rows.labelled(
                &[
                    &borrower.start_month.plus_months(t as i32).to_string(),
                    &plan.name,
                ],
                &[
                    (month.tested_dscr, &styles.ratio),
                    (plan.lock_up_dscr, &styles.ratio),
                    (plan.default_dscr, &styles.ratio),
                    (month.ltv, &styles.percent),
                    (plan.max_ltv, &styles.percent),
                ],
            )?;
        }
    }
    rows.finish(&[10.0, 26.0, 12.0, 12.0, 12.0, 10.0, 12.0, 24.0])
}
