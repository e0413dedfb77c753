//! The monthly table of a projection: every source and use, EBITDA, CFADS, debt service per
//! instrument, DSCR, LTV, cash and the market, one row per month.

use bitwatt_engine::{MonthRow, Projection};

/// A column of the consolidated table: its header and how to read it from a month.
type Column = (&'static str, fn(&MonthRow) -> Option<f64>);

/// The consolidated columns, in the order of the table (sources, then uses, then results).
pub const MONTHLY_COLUMNS: &[Column] = &[
    ("btc_price_usd", |r| Some(r.btc_price_usd)),
    ("hashprice_usd_per_ph_day", |r| {
        Some(r.hashprice_usd_per_ph_day)
    }),
    ("network_hashrate_ehs", |r| Some(r.network_hashrate_ehs)),
    ("difficulty", |r| Some(r.difficulty)),
    ("network_blocks", |r| Some(r.network_blocks)),
    ("spot_power_usd_per_mwh", |r| Some(r.spot_power_usd_per_mwh)),
    ("hashrate_phs", |r| Some(r.hashrate_phs)),
    ("btc_mined", |r| Some(r.btc_mined)),
    ("mining_revenue_usd", |r| Some(r.mining_revenue_usd)),
    ("lease_revenue_usd", |r| Some(r.lease_revenue_usd)),
    ("gpu_revenue_usd", |r| Some(r.gpu_revenue_usd)),
    ("power_mwh", |r| Some(r.power_mwh)),
    ("ebitda_usd", |r| Some(r.ebitda_usd)),
    ("cfads_usd", |r| Some(r.cfads_usd)),
    // Sources.
    ("btc_sales_usd", |r| Some(r.btc_sales_usd)),
    ("treasury_sales_usd", |r| Some(r.treasury_sales_usd)),
    ("power_credit_usd", |r| Some(r.power_credit_usd)),
    ("hedge_receipts_usd", |r| Some(r.hedge_receipts_usd)),
    ("lease_receipts_usd", |r| Some(r.lease_revenue_usd)),
    ("gpu_receipts_usd", |r| Some(r.gpu_revenue_usd)),
    ("debt_draws_usd", |r| Some(r.debt_draws_usd)),
    ("equity_raised_usd", |r| Some(r.equity_raised_usd)),
    ("dsra_release_usd", |r| Some(r.dsra_release_usd)),
    ("cash_drawdown_usd", |r| Some(r.cash_drawdown_usd)),
    ("total_sources_usd", |r| Some(r.sources_usd())),
    // Uses.
    ("power_cost_usd", |r| Some(r.power_cost_usd)),
    ("hedge_payments_usd", |r| Some(r.hedge_payments_usd)),
    ("opex_usd", |r| Some(r.opex_usd)),
    ("tax_usd", |r| Some(r.tax_usd)),
    ("sustaining_capex_usd", |r| Some(r.sustaining_capex_usd)),
    ("growth_capex_usd", |r| Some(r.growth_capex_usd)),
    ("interest_paid_usd", |r| Some(r.interest_paid_usd)),
    ("principal_paid_usd", |r| Some(r.principal_paid_usd)),
    ("fees_usd", |r| Some(r.fees_usd)),
    ("dsra_funding_usd", |r| Some(r.dsra_funding_usd)),
    ("distributions_usd", |r| Some(r.distributions_usd)),
    ("deconsolidated_cash_usd", |r| {
        Some(r.deconsolidated_cash_usd)
    }),
    ("cash_build_usd", |r| Some(r.cash_build_usd)),
    ("total_uses_usd", |r| Some(r.uses_usd())),
    // Results.
    ("interest_capitalised_usd", |r| {
        Some(r.interest_capitalised_usd)
    }),
    ("debt_service_usd", |r| Some(r.debt_service_usd)),
    ("dscr", |r| r.dscr),
    ("cash_usd", |r| Some(r.cash_usd)),
    ("dsra_usd", |r| Some(r.dsra_usd)),
    ("btc_held", |r| Some(r.btc_held)),
    ("debt_usd", |r| Some(r.debt_usd)),
    ("collateral_value_usd", |r| Some(r.collateral_value_usd)),
    ("ltv", |r| r.ltv),
    ("net_leverage", |r| r.net_leverage),
];

/// The per-instrument columns, after the consolidated ones, for each instrument.
const DEBT_FIELDS: [&str; 10] = [
    "draw_usd",
    "interest_paid_usd",
    "interest_capitalised_usd",
    "principal_paid_usd",
    "debt_service_usd",
    "balance_usd",
    "dsra_usd",
    "tested_dscr",
    "ltv",
    "borrowing_base_usd",
];

/// A projection's monthly table: the consolidated columns, then each instrument's.
#[derive(Clone, Debug, PartialEq)]
pub struct MonthlyTable {
    /// Column headers (without the month): the consolidated columns' names, then
    /// `INSTRUMENT: field` for each instrument's draw, interest, principal, debt service,
    /// balance, reserve, tested DSCR, LTV and borrowing base.
    pub header: Vec<String>,
    /// One row a month: the month (`YYYY-MM`) and a value per column (none where it is not
    /// defined, e.g. a DSCR without debt service).
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

impl MonthlyTable {
    /// The table of `projection`.
    pub fn of(projection: &Projection) -> MonthlyTable {
        let mut header: Vec<String> = MONTHLY_COLUMNS
            .iter()
            .map(|(name, _)| (*name).to_string())
            .collect();
        for debt in &projection.borrower.debts {
            header.extend(
                DEBT_FIELDS
                    .iter()
                    .map(|field| format!("{}: {field}", debt.name)),
            );
        }
        let debts = projection.borrower.debts.len();
        let rows = projection
            .months
            .iter()
            .enumerate()
            .map(|(t, row)| {
                let month = projection
                    .borrower
                    .start_month
                    .plus_months(t as i32)
                    .to_string();
                let mut values: Vec<Option<f64>> =
                    MONTHLY_COLUMNS.iter().map(|(_, read)| read(row)).collect();
                for d in 0..debts {
                    let m = &projection.debt_months[t * debts + d];
                    values.extend([
                        Some(m.draw_usd),
                        Some(m.interest_paid_usd),
                        Some(m.interest_capitalised_usd),
                        Some(m.principal_paid_usd),
                        Some(m.debt_service_usd),
                        Some(m.closing_balance_usd),
                        Some(m.dsra_usd),
                        m.tested_dscr,
                        m.ltv,
                        m.borrowing_base_usd,
                    ]);
                }
                (month, values)
            })
            .collect();
        MonthlyTable { header, rows }
    }
}

/// The monthly table as CSV: a `month` column (`YYYY-MM`), then the columns of
/// [`MonthlyTable`]. Values not defined in a month are empty cells.
pub fn monthly_csv(projection: &Projection) -> Result<String, csv::Error> {
    let table = MonthlyTable::of(projection);
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["month".to_string()];
    header.extend(table.header);
    writer.write_record(&header)?;
    let cell = |value: &Option<f64>| value.map_or_else(String::new, |v| format!("{v}"));
    for (month, values) in &table.rows {
        let mut record = vec![month.clone()];
        record.extend(values.iter().map(cell));
        writer.write_record(&record)?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}
