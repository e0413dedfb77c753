//! A borrower's own random risks (`[idiosyncratic]`): unplanned site outages and late
//! conversions, drawn path by path from a key of the run's seed and the borrower's name.
//!
//! * The key is [`RandomKey::borrower`] of the run's key and the borrower's name, so the
//!   borrower's luck on path `i` is the same in every run of the seed, whatever the other
//!   borrowers of a book, the thread count or the sharding.
//! * Lanes of the key's path stream: lane [`DELAY_LANE`] draws the conversion delays (two
//!   uniforms a conversion, in the scenario's order, whether or not it turns out late), lane
//!   [`OUTAGE_LANE`] + *s* the outages of site *s* (in the scenario's order). Enabling one risk
//!   therefore leaves the other's draws as they were, and a site's outages depend neither on
//!   the other sites nor on the conversions.
//! * Outages: a Poisson process of `site_outage_events_per_year` a site (exponential gaps
//!   between events, so a month's count is Poisson with mean rate / 12); each event darkens the
//!   site `site_outage_event_days` in the month it starts, a month's total capped at its
//!   [`DAYS_PER_MONTH`] days. A dark day takes the share 1 / [`DAYS_PER_MONTH`] off the site's
//!   availability that month, multiplying the market's grid-event availability: mining
//!   hashrate and power, and the revenue and power of the GPU clouds at the site, fall with it.
//!   A colocation lease's rent does not: the tenant pays for contracted capacity and carries
//!   its own outages (the engine has no availability hook for rent).
//! * Conversion delays: a conversion is late with `conversion_delay_probability_percent`; the
//!   delay is ⌈E⌉ months, E exponential with mean `conversion_delay_mean_months`, capped at
//!   [`IdiosyncraticRisk::MAX_CONVERSION_DELAY_MONTHS`] (at least 1 month when late). The
//!   mining MW leave mining at the scheduled start and the construction capex is spent as
//!   scheduled; the capacity is ready `delay` months after the scheduled completion, and the
//!   lease or GPU cloud it feeds starts earning at the later of its own start and that month
//!   (rent and landlord opex of the lease; revenue, power and opex of the GPU cloud). Terms
//!   keep their contracted end months (rent is lost, not deferred), the GPUs are bought when
//!   scheduled and age from then, and debt schedules stay as contracted: that is the risk.
//!   A conversion completed before the first month cannot be late.
//!
//! With every rate at 0 nothing is drawn, and [`crate::run_path`] gives exactly what it gives
//! without this module.

use bitwatt_model::{DAYS_PER_MONTH, IdiosyncraticRisk, Scenario, YearMonth};
use rand::RngExt;

use crate::borrower::Borrower;
use crate::generator::RandomKey;
use crate::waterfall::PathBuffers;

/// Lane of the borrower's path stream that draws the conversion delays.
pub const DELAY_LANE: u64 = 0;

/// First lane of the borrower's path stream that draws site outages: site `s` draws from lane
/// `OUTAGE_LANE + s`.
pub const OUTAGE_LANE: u64 = 1;

/// The borrower's random risks, compiled from its scenario's `[idiosyncratic]` table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IdiosyncraticPlan {
    /// Mean unplanned outages a site a month (events).
    pub site_outage_events_per_month: f64,
    /// Days a site is dark per event.
    pub site_outage_event_days: f64,
    /// Probability that a conversion completes late (fraction).
    pub conversion_delay_probability: f64,
    /// Mean of the exponential delay of a late conversion (months).
    pub conversion_delay_mean_months: f64,
    /// Each conversion, in the scenario's order.
    pub conversions: Vec<ConversionRisk>,
}

/// What a conversion's delay moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversionRisk {
    /// Scheduled month index of completion (the first month the capacity can serve).
    pub completion_t: i64,
    /// The capacity it feeds.
    pub feeds: FedCapacity,
}

/// The lease or GPU cloud a conversion feeds, by index in the borrower's plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FedCapacity {
    /// `Borrower::leases[i]`.
    Lease(usize),
    /// `Borrower::gpu_clouds[i]`.
    GpuCloud(usize),
}

impl IdiosyncraticPlan {
    /// Compiles `scenario`'s risks; `t_of` gives a month's index from the first month.
    pub(crate) fn new(scenario: &Scenario, t_of: impl Fn(YearMonth) -> i64) -> IdiosyncraticPlan {
        let risk: &IdiosyncraticRisk = &scenario.idiosyncratic;
        let conversions = scenario
            .conversion
            .iter()
            .map(|c| {
                let lease = scenario
                    .colocation_lease
                    .iter()
                    .position(|l| l.name == c.feeds);
                let cloud = scenario.gpu_cloud.iter().position(|g| g.name == c.feeds);
                ConversionRisk {
                    completion_t: t_of(c.start_month) + i64::from(c.duration_months),
                    // A validated scenario's conversion feeds one or the other.
                    feeds: match (lease, cloud) {
                        (Some(i), _) => FedCapacity::Lease(i),
                        (None, Some(i)) => FedCapacity::GpuCloud(i),
                        (None, None) => FedCapacity::Lease(usize::MAX),
                    },
                }
            })
            .collect();
        IdiosyncraticPlan {
            site_outage_events_per_month: risk.site_outage_events_per_year / 12.0,
            site_outage_event_days: risk.site_outage_event_days,
            conversion_delay_probability: risk.conversion_delay_probability_percent / 100.0,
            conversion_delay_mean_months: risk.conversion_delay_mean_months,
            conversions,
        }
    }

    /// Whether site outages are drawn.
    pub fn draws_outages(&self) -> bool {
        self.site_outage_events_per_month > 0.0 && self.site_outage_event_days > 0.0
    }

    /// Whether conversion delays are drawn.
    pub fn draws_delays(&self) -> bool {
        self.conversion_delay_probability > 0.0 && !self.conversions.is_empty()
    }

    /// Whether anything is drawn.
    pub fn is_active(&self) -> bool {
        self.draws_outages() || self.draws_delays()
    }
}

/// One path's draws of a borrower's random risks, held in [`PathBuffers::idiosyncratic`] and
/// honoured by [`crate::run_path`]. Sized once for the borrower; drawing writes in place (no
/// allocation per path). Empty (nothing drawn, no effect) until drawn or set.
#[derive(Clone, Debug, Default)]
pub struct IdiosyncraticDraws {
    months: usize,
    /// Extra dark days by site and month, `[site · months + month]`; read only when
    /// `outages`.
    site_dark_days: Vec<f64>,
    outages: bool,
    /// Delay of each conversion (months); read only when `delays`.
    conversion_delay_months: Vec<u32>,
    delays: bool,
}

impl IdiosyncraticDraws {
    /// Empty draws sized for `borrower`.
    pub fn new(borrower: &Borrower) -> IdiosyncraticDraws {
        let months = borrower.horizon_months;
        IdiosyncraticDraws {
            months,
            site_dark_days: vec![0.0; borrower.sites.len() * months],
            outages: false,
            conversion_delay_months: vec![0; borrower.conversions.len()],
            delays: false,
        }
    }

    /// Forgets the draws: the next path runs without them.
    pub fn clear(&mut self) {
        self.outages = false;
        self.delays = false;
    }

    /// Whether nothing is drawn (or set).
    pub fn is_empty(&self) -> bool {
        !self.outages && !self.delays
    }

    /// Draws path `path`'s outages and delays of `borrower` from `borrower_key`, the key
    /// [`RandomKey::borrower`] gives for the borrower's name. Risks at 0 are not drawn.
    pub fn draw(&mut self, borrower: &Borrower, borrower_key: &RandomKey, path: u64) {
        let plan = &borrower.idiosyncratic;
        self.resize(borrower);
        self.outages = plan.draws_outages();
        if self.outages {
            let months = self.months;
            let rate = plan.site_outage_events_per_month;
            for (s, dark) in self
                .site_dark_days
                .chunks_exact_mut(months.max(1))
                .enumerate()
            {
                dark.fill(0.0);
                let mut rng = borrower_key.lane(path, OUTAGE_LANE + s as u64);
                // Event times of a Poisson process in months from the start.
                let mut time = 0.0;
                loop {
                    let u: f64 = rng.random();
                    time += -(1.0 - u).ln() / rate;
                    if time >= months as f64 {
                        break;
                    }
                    let day = &mut dark[time as usize];
                    *day = (*day + plan.site_outage_event_days).min(DAYS_PER_MONTH);
                }
            }
        }
        self.delays = plan.draws_delays();
        if self.delays {
            let mut rng = borrower_key.lane(path, DELAY_LANE);
            let cap = IdiosyncraticRisk::MAX_CONVERSION_DELAY_MONTHS;
            for delay in &mut self.conversion_delay_months {
                let late: f64 = rng.random();
                let u: f64 = rng.random();
                *delay = if late < plan.conversion_delay_probability {
                    let months = -plan.conversion_delay_mean_months * (1.0 - u).ln();
                    (months.ceil() as u32).clamp(1, cap)
                } else {
                    0
                };
            }
        }
    }

    /// Sets the extra dark days of site `site` in month `t` (a what-if; capped at the month's
    /// days). Setting any turns the outages on; the other site-months keep their values.
    pub fn set_site_dark_days(&mut self, site: usize, t: usize, days: f64) {
        if !self.outages {
            self.site_dark_days.fill(0.0);
            self.outages = true;
        }
        self.site_dark_days[site * self.months + t] = days.clamp(0.0, DAYS_PER_MONTH);
    }

    /// Sets the delay of conversion `c` (months; a what-if). Setting any turns the delays on;
    /// the other conversions keep their values.
    pub fn set_conversion_delay_months(&mut self, c: usize, months: u32) {
        if !self.delays {
            self.conversion_delay_months.fill(0);
            self.delays = true;
        }
        self.conversion_delay_months[c] = months;
    }

    /// Extra dark days of site `site` in month `t` (0 when no outage is drawn).
    pub fn site_dark_days(&self, site: usize, t: usize) -> f64 {
        if self.outages {
            self.site_dark_days[site * self.months + t]
        } else {
            0.0
        }
    }

    /// Delay of conversion `c` (months; 0 when no delay is drawn).
    pub fn conversion_delay_months(&self, c: usize) -> u32 {
        if self.delays {
            self.conversion_delay_months[c]
        } else {
            0
        }
    }

    /// Whether outages are drawn (or set).
    pub(crate) fn has_outages(&self) -> bool {
        self.outages
    }

    /// Whether delays are drawn (or set).
    pub(crate) fn has_delays(&self) -> bool {
        self.delays
    }

    /// Share of month `t` site `site` has power, given the market's availability `market`.
    #[inline]
    pub(crate) fn site_availability(&self, site: usize, t: usize, market: f64) -> f64 {
        market * (1.0 - self.site_dark_days[site * self.months + t] / DAYS_PER_MONTH)
    }

    /// Sizes the draws for `borrower` (a no-op once sized).
    fn resize(&mut self, borrower: &Borrower) {
        self.months = borrower.horizon_months;
        self.site_dark_days
            .resize(borrower.sites.len() * self.months, 0.0);
        self.conversion_delay_months
            .resize(borrower.conversions.len(), 0);
    }
}

/// Fills `buffers` with path `path`'s draws of the risks of `borrower`, named `name` (its
/// scenario's name, or its name in a book), under the run's key `key`: the draws come from
/// `key.borrower(name)`, so they depend only on the seed, the name and the path. Call it
/// before [`crate::run_path`] on the same buffers; a borrower without risks draws nothing
/// (and hashes nothing).
pub fn draw_idiosyncratic(
    borrower: &Borrower,
    key: &RandomKey,
    name: &str,
    path: u64,
    buffers: &mut PathBuffers,
) {
    if borrower.idiosyncratic.is_active() {
        buffers
            .idiosyncratic
            .draw(borrower, &key.borrower(name), path);
    } else {
        buffers.idiosyncratic.clear();
    }
}
