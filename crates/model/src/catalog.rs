//! The built-in ASIC catalog: nameplate hashrate, power and release year of the machines that
//! make up most of the 2025 network, with a machine price where one is known.
//!
//! Nameplate figures come from the manufacturers' specification sheets as collected in the
//! project's reference table (`shared/REFERENCE.md`, "ASICs (nameplate)"):
//!
//! * Antminer S19j Pro 104 TH/s, ≈ 3 068 W (29.5 J/TH), 2021; S19 XP 140 TH/s, 3 010 W, 2022;
//!   S21 200 TH/s, 3 500 W, 2023; S21 Pro 234 TH/s, 3 510 W, 2024; S21 XP 270 TH/s, 3 645 W,
//!   2024; S21+ Hydro 319 TH/s, 4 785 W, 2024; S21 XP Hydro 473 TH/s, 5 676 W, 2024.
//! * Whatsminer M60S ≈ 186 TH/s, M63S Hydro ≈ 390 TH/s, M66S ≈ 298 TH/s, all ≈ 18.5 J/TH, 2023.
//!   The reference marks their power as unverified; power here is hashrate × 18.5 J/TH and the
//!   entries carry `power_is_estimate = true`.
//!
//! Prices: the S21 XP's $25.70 per TH is a November 2025 market quote (reference table). Every
//! other price is an **assumption** scaled from it by efficiency and age (older, less efficient
//! machines trade far lower, as the 2021–22 ASIC price index fell 87–91 %); such entries carry
//! `price_is_assumption = true`, and the CLI marks them.

use crate::fleet::AsicModel;

/// One catalog row: name, TH/s, W, release year, USD per TH, whether the price is assumed,
/// whether the power is an estimate.
type CatalogRow = (&'static str, f64, f64, u16, f64, bool, bool);

const CATALOG: [CatalogRow; 10] = [
    ("Antminer S19j Pro", 104.0, 3_068.0, 2021, 4.0, true, false),
    ("Antminer S19 XP", 140.0, 3_010.0, 2022, 9.0, true, false),
    ("Antminer S21", 200.0, 3_500.0, 2023, 14.0, true, false),
    ("Antminer S21 Pro", 234.0, 3_510.0, 2024, 19.0, true, false),
    ("Antminer S21 XP", 270.0, 3_645.0, 2024, 25.70, false, false),
    (
        "Antminer S21+ Hydro",
        319.0,
        4_785.0,
        2024,
        19.0,
        true,
        false,
    ),
    (
        "Antminer S21 XP Hydro",
        473.0,
        5_676.0,
        2024,
        28.0,
        true,
        false,
    ),
    (
        "Whatsminer M60S",
        186.0,
        186.0 * 18.5,
        2023,
        13.0,
        true,
        true,
    ),
    (
        "Whatsminer M63S Hydro",
        390.0,
        390.0 * 18.5,
        2023,
        13.0,
        true,
        true,
    ),
    (
        "Whatsminer M66S",
        298.0,
        298.0 * 18.5,
        2023,
        13.0,
        true,
        true,
    ),
];

/// All built-in ASIC models, most efficient last within each maker.
pub fn asic_catalog() -> Vec<AsicModel> {
    CATALOG
        .iter()
        .map(
            |&(name, hashrate_ths, power_w, release_year, price, assumed, power_estimated)| {
                AsicModel {
                    name: name.to_string(),
                    hashrate_ths,
                    power_w,
                    release_year,
                    price_usd_per_th: Some(price),
                    price_is_assumption: assumed,
                    power_is_estimate: power_estimated,
                }
            },
        )
        .collect()
}

/// Looks a built-in model up by name, ignoring case and surrounding spaces.
pub fn find_catalog_model(name: &str) -> Option<AsicModel> {
    let wanted = name.trim();
    asic_catalog()
        .into_iter()
        .find(|m| m.name.eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_matches_reference_efficiencies() {
        let expected_j_per_th = [
            ("Antminer S19j Pro", 29.5),
            ("Antminer S19 XP", 21.5),
            ("Antminer S21", 17.5),
            ("Antminer S21 Pro", 15.0),
            ("Antminer S21 XP", 13.5),
            ("Antminer S21+ Hydro", 15.0),
            ("Antminer S21 XP Hydro", 12.0),
            ("Whatsminer M60S", 18.5),
            ("Whatsminer M63S Hydro", 18.5),
            ("Whatsminer M66S", 18.5),
        ];
        assert_eq!(asic_catalog().len(), expected_j_per_th.len());
        for (name, j_per_th) in expected_j_per_th {
            let model = find_catalog_model(name).unwrap();
            assert!(
                (model.efficiency_j_per_th() - j_per_th).abs() < 0.05,
                "{name}: {}",
                model.efficiency_j_per_th()
            );
            model.validate("catalog").unwrap();
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(
            find_catalog_model(" antminer s21 xp ").unwrap().name,
            "Antminer S21 XP"
        );
        assert!(find_catalog_model("Antminer S9").is_none());
    }
}
