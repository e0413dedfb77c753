//! How the engine's enumerations read in tables and reports.

use bitwatt_engine::DefaultCause;

/// How a default cause reads in a table: `payment shortfall`, `DSCR covenant`, ….
pub fn cause_text(cause: DefaultCause) -> &'static str {
    match cause {
        DefaultCause::Payment => "payment shortfall",
        DefaultCause::DscrCovenant => "DSCR covenant",
        DefaultCause::LtvCovenant => "LTV covenant",
        DefaultCause::Maturity => "balance due at maturity unpaid",
        DefaultCause::MarginCall => "margin call unmet",
        DefaultCause::CrossDefault => "cross-default",
    }
}
