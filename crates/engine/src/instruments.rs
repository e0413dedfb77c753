//! The rules of the instruments beyond a plain term loan, as pure functions the waterfall
//! applies: the borrowing base of an asset-backed loan and the margin call of a BTC-backed
//! loan.

/// What an asset-backed loan may draw this month (USD): what the draw schedule has made
/// available and not yet been drawn, within the borrowing base (advance rate × collateral
/// value) left above the balance.
pub fn abl_draw_usd(
    scheduled_to_date_usd: f64,
    drawn_to_date_usd: f64,
    borrowing_base_usd: f64,
    balance_usd: f64,
) -> f64 {
    (scheduled_to_date_usd - drawn_to_date_usd)
        .min(borrowing_base_usd - balance_usd)
        .max(0.0)
}

/// The mandatory prepayment of a balance above its borrowing base (USD; 0 within it).
pub fn borrowing_base_shortfall_usd(balance_usd: f64, borrowing_base_usd: f64) -> f64 {
    (balance_usd - borrowing_base_usd).max(0.0)
}

/// A margin call on a BTC-backed loan: the month's low crossed the price at which the loan's
/// LTV reaches the call level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginCall {
    /// BTC price at which the LTV reached the call level (USD).
    pub call_price_usd: f64,
    /// BTC price at which the lender sells the pledge (USD).
    pub liquidation_price_usd: f64,
    /// Whether the month's low also reached the liquidation price.
    pub liquidation_reached: bool,
    /// Price at which the call is met (USD): the call price, or the month's price where that
    /// is lower (the price gapped through the call level).
    pub meet_price_usd: f64,
    /// The LTV the call restores (fraction).
    pub target_ltv: f64,
}

impl MarginCall {
    /// The call on a loan of `balance_usd` against `pledged_btc` when the month's low is
    /// `low_usd` and its price `price_usd`, or `None` when the low stayed above the call
    /// price. The LTV restored is `target_ltv`.
    pub fn test(
        balance_usd: f64,
        pledged_btc: f64,
        low_usd: f64,
        price_usd: f64,
        call_ltv: f64,
        liquidation_ltv: f64,
        target_ltv: f64,
    ) -> Option<MarginCall> {
        if balance_usd <= 0.0 || pledged_btc <= 0.0 {
            return None;
        }
        let call_price_usd = balance_usd / (pledged_btc * call_ltv);
        if low_usd > call_price_usd {
            return None;
        }
        let liquidation_price_usd = balance_usd / (pledged_btc * liquidation_ltv);
        Some(MarginCall {
            call_price_usd,
            liquidation_price_usd,
            liquidation_reached: low_usd <= liquidation_price_usd,
            meet_price_usd: call_price_usd.min(price_usd),
            target_ltv,
        })
    }

    /// BTC to add to the pledge to bring the LTV back to the target at the meeting price.
    pub fn top_up_btc(&self, balance_usd: f64, pledged_btc: f64) -> f64 {
        (balance_usd / (self.target_ltv * self.meet_price_usd) - pledged_btc).max(0.0)
    }

    /// Principal to repay to bring the LTV back to the target at the meeting price, with
    /// `pledged_btc` pledged (USD).
    pub fn prepayment_usd(&self, balance_usd: f64, pledged_btc: f64) -> f64 {
        (balance_usd - self.target_ltv * pledged_btc * self.meet_price_usd).max(0.0)
    }

    /// Price at which the lender sells the pledge when the call is not met (USD): the
    /// month's low `low_usd` where the price gapped through the liquidation level (a
    /// conservative fill in a crash), else the call price (the lender sells as soon as the
    /// call goes unmet).
    pub fn forced_sale_price_usd(&self, low_usd: f64) -> f64 {
        if self.liquidation_reached {
            low_usd
        } else {
            self.call_price_usd
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abl_draws_within_the_borrowing_base() {
        // Scheduled 300 to date, 100 drawn, base 70 % × 400 = 280 against a balance of 100:
        // 180 of room, 200 scheduled → draw 180.
        assert_eq!(abl_draw_usd(300.0, 100.0, 0.7 * 400.0, 100.0), 180.0);
        // Balance above the base: no draw, and 20 to prepay.
        assert_eq!(abl_draw_usd(300.0, 100.0, 80.0, 100.0), 0.0);
        assert_eq!(borrowing_base_shortfall_usd(100.0, 80.0), 20.0);
        assert_eq!(borrowing_base_shortfall_usd(70.0, 80.0), 0.0);
    }

    #[test]
    fn margin_call_at_the_call_price() {
        // $45 M against 700 BTC: LTV 75 % at 45e6 / (700 · 0.75) = $85 714.29; 85 % at
        // $75 630.25.
        let (balance, pledged) = (45e6, 700.0);
        assert_eq!(
            MarginCall::test(balance, pledged, 86_000.0, 90_000.0, 0.75, 0.85, 0.65),
            None
        );
        let call =
            MarginCall::test(balance, pledged, 80_000.0, 90_000.0, 0.75, 0.85, 0.65).unwrap();
        assert!((call.call_price_usd - 85_714.285_714_285_7).abs() < 1e-6);
        assert!(!call.liquidation_reached);
        // Back to 65 %: pledge 45e6 / (0.65 · 85 714.29) = 807.69 BTC, i.e. 107.69 more; or
        // repay 45e6 − 0.65 · 700 · 85 714.29 = $6 M.
        assert!((call.top_up_btc(balance, pledged) - 107.692_307_692).abs() < 1e-6);
        assert!((call.prepayment_usd(balance, pledged) - 6e6).abs() < 1e-6);
        assert_eq!(call.forced_sale_price_usd(80_000.0), call.call_price_usd);
        let deep =
            MarginCall::test(balance, pledged, 70_000.0, 72_000.0, 0.75, 0.85, 0.65).unwrap();
        // The price gapped below the call level: the call is met at $72 000.
        assert_eq!(deep.meet_price_usd, 72_000.0);
        assert!(deep.liquidation_reached);
        assert!((deep.liquidation_price_usd - 75_630.252_100_840_3).abs() < 1e-6);
        assert_eq!(deep.forced_sale_price_usd(70_000.0), 70_000.0);
    }
}
