//! The mining fleet file: machine models, counts, uptime, pool fee, PUE and power price.
//!
//! ```toml
//! schema_version = 1
//! name = "Sample fleet"
//! power_price_usd_per_mwh = 45.0
//! pue = 1.05
//! pool_fee_percent = 2.0
//! uptime_percent = 97.0
//!
//! [[machines]]
//! model = "Antminer S21 XP"
//! count = 2000
//! ```

use serde::Deserialize;

use crate::catalog::{asic_catalog, find_catalog_model};
use crate::error::ModelError;

/// The file-format version this build reads and writes.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// Valid power prices (USD/MWh): wholesale prices go negative, and spike to the
/// ERCOT offer cap of about 5 000; anything beyond is a typo.
pub const POWER_PRICE_RANGE_USD_PER_MWH: (f64, f64) = (-1_000.0, 10_000.0);

/// Most machines one group may hold: ten million S21s would draw 35 GW, more than the network.
pub const MAX_MACHINES_PER_GROUP: u32 = 10_000_000;

/// Lowest uptime accepted (%): below this a group mines nothing worth valuing.
pub const MIN_UPTIME_PERCENT: f64 = 0.1;

/// An ASIC model: nameplate hashrate and power.
#[derive(Clone, Debug, PartialEq, serde::Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsicModel {
    /// Model name as the maker sells it.
    pub name: String,
    /// Nameplate hashrate (TH/s).
    pub hashrate_ths: f64,
    /// Nameplate power at the wall (W).
    pub power_w: f64,
    /// Year the model shipped.
    pub release_year: u16,
    /// Machine price (USD per TH/s), where known.
    #[serde(default)]
    pub price_usd_per_th: Option<f64>,
    /// Whether the price is an assumption rather than a quote.
    #[serde(default)]
    pub price_is_assumption: bool,
    /// Whether the power figure is derived (hashrate × a reported J/TH) rather than nameplate.
    #[serde(default)]
    pub power_is_estimate: bool,
}

impl AsicModel {
    /// Energy per unit of work (J/TH), power over hashrate.
    pub fn efficiency_j_per_th(&self) -> f64 {
        self.power_w / self.hashrate_ths
    }

    /// Price of one machine (USD), where the price per TH is known.
    pub fn machine_price_usd(&self) -> Option<f64> {
        self.price_usd_per_th.map(|p| p * self.hashrate_ths)
    }

    /// Checks ranges; `field` names the model's place in the file for the error message.
    pub fn validate(&self, field: &str) -> Result<(), ModelError> {
        check_name(&format!("{field}.name"), &self.name)?;
        check_range(
            &format!("{field}.hashrate_ths"),
            self.hashrate_ths,
            1e-3,
            1e5,
            "TH/s",
        )?;
        check_range(&format!("{field}.power_w"), self.power_w, 1.0, 1e5, "W")?;
        if !(2009..=2100).contains(&self.release_year) {
            return Err(ModelError::invalid(
                format!("{field}.release_year"),
                self.release_year,
                "a year from 2009 to 2100",
            ));
        }
        if let Some(price) = self.price_usd_per_th {
            check_range(
                &format!("{field}.price_usd_per_th"),
                price,
                0.0,
                1e4,
                "USD per TH",
            )?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FleetFile {
    schema_version: u32,
    name: String,
    power_price_usd_per_mwh: f64,
    #[serde(default = "default_pue")]
    pue: f64,
    #[serde(default = "default_pool_fee_percent")]
    pool_fee_percent: f64,
    #[serde(default = "default_uptime_percent")]
    uptime_percent: f64,
    #[serde(default)]
    models: Vec<AsicModel>,
    machines: Vec<MachineGroupFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MachineGroupFile {
    model: String,
    count: u32,
    #[serde(default)]
    uptime_percent: Option<f64>,
}

fn default_pue() -> f64 {
    1.05
}

fn default_pool_fee_percent() -> f64 {
    2.0
}

fn default_uptime_percent() -> f64 {
    97.0
}

/// A validated mining fleet.
#[derive(Clone, Debug, PartialEq)]
pub struct Fleet {
    /// Name shown in reports.
    pub name: String,
    /// Power price paid for every MWh drawn (USD/MWh).
    pub power_price_usd_per_mwh: f64,
    /// Power usage effectiveness: facility power over machine power (≥ 1).
    pub pue: f64,
    /// Pool fee as a fraction of gross mining revenue (FPPS).
    pub pool_fee_fraction: f64,
    /// Groups of identical machines.
    pub groups: Vec<MachineGroup>,
}

/// A number of identical machines.
#[derive(Clone, Debug, PartialEq)]
pub struct MachineGroup {
    /// The machine model.
    pub model: AsicModel,
    /// Number of machines.
    pub count: u32,
    /// Share of time the machines hash (and draw power), in (0, 1].
    pub uptime_fraction: f64,
}

impl Fleet {
    /// Parses and validates a fleet file; errors name the field, the value and what was
    /// expected (TOML syntax errors carry the line and column).
    pub fn from_toml(text: &str) -> Result<Fleet, ModelError> {
        let file: FleetFile = toml::from_str(text)
            .map_err(|e| ModelError::Parse(e.to_string().trim().to_string()))?;
        if file.schema_version != FLEET_SCHEMA_VERSION {
            return Err(ModelError::invalid(
                "schema_version",
                file.schema_version,
                format!("{FLEET_SCHEMA_VERSION} (the version this build reads)"),
            ));
        }
        check_name("name", &file.name)?;
        let (min_price, max_price) = POWER_PRICE_RANGE_USD_PER_MWH;
        check_range(
            "power_price_usd_per_mwh",
            file.power_price_usd_per_mwh,
            min_price,
            max_price,
            "USD/MWh",
        )?;
        check_range("pue", file.pue, 1.0, 3.0, "(facility over IT power)")?;
        check_half_open("pool_fee_percent", file.pool_fee_percent, 0.0, 100.0, "%")?;
        check_uptime("uptime_percent", file.uptime_percent)?;
        for (i, model) in file.models.iter().enumerate() {
            let field = format!("models[{i}]");
            model.validate(&field)?;
            let duplicate = file.models[..i]
                .iter()
                .any(|m| m.name.eq_ignore_ascii_case(&model.name));
            if duplicate || find_catalog_model(&model.name).is_some() {
                return Err(ModelError::invalid(
                    format!("{field}.name"),
                    format!("{:?}", model.name),
                    "a name not already in the file or the built-in catalog",
                ));
            }
        }
        if file.machines.is_empty() {
            return Err(ModelError::invalid(
                "machines",
                "[]",
                "at least one [[machines]] entry",
            ));
        }
        let groups = file
            .machines
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let field = format!("machines[{i}]");
                let model = file
                    .models
                    .iter()
                    .find(|m| m.name.eq_ignore_ascii_case(group.model.trim()))
                    .cloned()
                    .or_else(|| find_catalog_model(&group.model))
                    .ok_or_else(|| ModelError::UnknownModel {
                        field: format!("{field}.model"),
                        value: group.model.clone(),
                        known: asic_catalog().into_iter().map(|m| m.name).collect(),
                    })?;
                if !(1..=MAX_MACHINES_PER_GROUP).contains(&group.count) {
                    return Err(ModelError::invalid(
                        format!("{field}.count"),
                        group.count,
                        format!("at least 1 and at most {MAX_MACHINES_PER_GROUP}"),
                    ));
                }
                let uptime_percent = group.uptime_percent.unwrap_or(file.uptime_percent);
                check_uptime(&format!("{field}.uptime_percent"), uptime_percent)?;
                Ok(MachineGroup {
                    model,
                    count: group.count,
                    uptime_fraction: uptime_percent / 100.0,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Fleet {
            name: file.name,
            power_price_usd_per_mwh: file.power_price_usd_per_mwh,
            pue: file.pue,
            pool_fee_fraction: file.pool_fee_percent / 100.0,
            groups,
        })
    }
}

/// The sample fleet shipped in `examples/fleet.toml`, used when no fleet file is given.
pub fn sample_fleet() -> Fleet {
    Fleet::from_toml(SAMPLE_FLEET_TOML).expect("the sample fleet is valid (tested)")
}

/// Text of the sample fleet file.
pub const SAMPLE_FLEET_TOML: &str = include_str!("../../../examples/fleet.toml");

/// A bound in a message: plain below 10⁸, else in exponent form (`1e13`, not 14 digits).
pub(crate) fn format_bound(bound: f64) -> String {
    if bound.abs() >= 1e8 {
        format!("{bound:e}")
    } else {
        bound.to_string()
    }
}

/// A finite number from `min` to `max` (inclusive).
pub(crate) fn check_range(
    field: &str,
    value: f64,
    min: f64,
    max: f64,
    unit: &str,
) -> Result<(), ModelError> {
    if value.is_finite() && (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ModelError::invalid(
            field,
            value,
            format!(
                "a number from {} to {} {unit}",
                format_bound(min),
                format_bound(max)
            ),
        ))
    }
}

/// A finite number from `min` up to, not including, `max`.
pub(crate) fn check_half_open(
    field: &str,
    value: f64,
    min: f64,
    max: f64,
    unit: &str,
) -> Result<(), ModelError> {
    if value.is_finite() && value >= min && value < max {
        Ok(())
    } else {
        Err(ModelError::invalid(
            field,
            value,
            format!(
                "a number from {} up to (not including) {} {unit}",
                format_bound(min),
                format_bound(max)
            ),
        ))
    }
}

/// An uptime (%) from [`MIN_UPTIME_PERCENT`] to 100.
pub(crate) fn check_uptime(field: &str, value: f64) -> Result<(), ModelError> {
    check_range(field, value, MIN_UPTIME_PERCENT, 100.0, "%")
}

/// A name shown in tables: not blank, no control characters, at most 80 characters.
pub(crate) fn check_name(field: &str, name: &str) -> Result<(), ModelError> {
    let printable = !name.chars().any(char::is_control);
    if !name.trim().is_empty() && printable && name.chars().count() <= 80 {
        Ok(())
    } else {
        Err(ModelError::invalid(
            field,
            format!("{name:?}"),
            "a non-blank name of at most 80 characters without control characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
        schema_version = 1
        name = "t"
        power_price_usd_per_mwh = 40
        [[machines]]
        model = "Antminer S21"
        count = 10
    "#;

    #[test]
    fn sample_fleet_parses() {
        let fleet = sample_fleet();
        assert!(!fleet.groups.is_empty());
    }

    #[test]
    fn defaults_apply() {
        let fleet = Fleet::from_toml(MINIMAL).unwrap();
        assert_eq!(fleet.pue, 1.05);
        assert_eq!(fleet.pool_fee_fraction, 0.02);
        assert_eq!(fleet.groups[0].uptime_fraction, 0.97);
        assert_eq!(fleet.groups[0].model.name, "Antminer S21");
    }

    #[test]
    fn user_models_are_found() {
        let text = format!(
            "{MINIMAL}\n[[models]]\nname = \"Custom\"\nhashrate_ths = 300\npower_w = 4500\nrelease_year = 2025\n[[machines]]\nmodel = \"custom\"\ncount = 5\nuptime_percent = 90\n"
        );
        let fleet = Fleet::from_toml(&text).unwrap();
        assert_eq!(fleet.groups[1].model.efficiency_j_per_th(), 15.0);
        assert_eq!(fleet.groups[1].uptime_fraction, 0.9);
    }

    fn error_of(text: &str) -> String {
        Fleet::from_toml(text).unwrap_err().to_string()
    }

    #[test]
    fn bad_input_names_field_value_and_expectation() {
        let e = error_of(&MINIMAL.replace("count = 10", "count = 0"));
        assert!(
            e.contains("machines[0].count") && e.contains("at least 1"),
            "{e}"
        );
        let e = error_of(&MINIMAL.replace("Antminer S21", "Antminer S9"));
        assert!(
            e.contains("machines[0].model")
                && e.contains("Antminer S9")
                && e.contains("Antminer S21 XP"),
            "{e}"
        );
        let e = error_of(&MINIMAL.replace("name = \"t\"", "name = \"t\"\npue = 0.5"));
        assert!(e.contains("pue"), "{e}");
        let e = error_of(&MINIMAL.replace("schema_version = 1", "schema_version = 7"));
        assert!(e.contains("schema_version") && e.contains('7'), "{e}");
        let e = error_of(&MINIMAL.replace("power_price_usd_per_mwh", "power_price"));
        assert!(e.contains("power_price") && e.contains("line"), "{e}");
        let e = error_of(&MINIMAL.replace("count = 10", "count = \"ten\""));
        assert!(e.contains("count") && e.contains("line"), "{e}");
        let e = error_of(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nuptime_percent = 120"));
        assert!(e.contains("uptime_percent") && e.contains("120"), "{e}");
        let e = error_of(&MINIMAL.replace("name = \"t\"", "name = \"t\"\npool_fee_percent = nan"));
        assert!(e.contains("pool_fee_percent") && e.contains("NaN"), "{e}");
    }

    #[test]
    fn counts_uptimes_and_names_are_bounded() {
        let e = error_of(&MINIMAL.replace("count = 10", "count = 4294967295"));
        assert!(e.contains("machines[0].count = 4294967295"), "{e}");
        let e = error_of(&MINIMAL.replace("name = \"t\"", "name = \"t\"\nuptime_percent = 5e-324"));
        assert!(e.contains("uptime_percent"), "{e}");
        let e = error_of(&MINIMAL.replace("name = \"t\"", "name = \"a\\u001b[31m\""));
        assert!(e.contains("name") && e.contains("control"), "{e}");
    }

    #[test]
    fn user_model_may_not_shadow_the_catalog() {
        let text = format!(
            "{MINIMAL}\n[[models]]\nname = \"Antminer S21\"\nhashrate_ths = 1\npower_w = 10\nrelease_year = 2025\n"
        );
        assert!(error_of(&text).contains("models[0].name"));
    }
}
