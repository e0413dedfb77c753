//! Errors from reading and validating model files.

use std::fmt::Display;

/// A model file that cannot be used, with the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The text is not valid TOML or does not fit the schema (message carries line and column).
    #[error("{0}")]
    Parse(String),
    /// A value is outside its valid range.
    #[error("{field} = {value}: expected {expected}")]
    Invalid {
        /// Path of the field, e.g. `machines[2].count`.
        field: String,
        /// The value found.
        value: String,
        /// What the field accepts.
        expected: String,
    },
    /// A machine names a model that is neither in the file nor in the catalog.
    #[error("{field} = {value:?}: unknown ASIC model; define it under [[models]] or use one of: {}", known.join(", "))]
    UnknownModel {
        /// Path of the field.
        field: String,
        /// The name found.
        value: String,
        /// The built-in model names.
        known: Vec<String>,
    },
}

impl ModelError {
    /// An out-of-range value.
    pub fn invalid(
        field: impl Into<String>,
        value: impl Display,
        expected: impl Into<String>,
    ) -> Self {
        ModelError::Invalid {
            field: field.into(),
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}
