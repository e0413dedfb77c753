//! The structural check: a TOML document against the JSON Schema of [`Scenario`](super::Scenario).
//!
//! It understands the part of JSON Schema that schemars generates for the scenario types
//! (`$ref`, `type`, `properties`, `required`, `additionalProperties`, `items`, `anyOf`/`oneOf`
//! with `const` branches, integer `format`s), and knows [`YearMonth`] by name. It reports every
//! unknown key (and removes it from the document, so the units around it can still be read),
//! every missing required key and every value of the wrong type.

use schemars::JsonSchema;
use serde_json::Value;
use toml::Spanned;
use toml::de::DeValue;

use super::{Report, child_path};
use crate::scenario::YearMonth;

/// What a month field accepts.
const MONTH_EXPECTED: &str = "a month \"YYYY-MM\" from 2009-01 to 2200-12";

/// Checks `document` against `schema` (the scenario's JSON Schema), removing unknown keys.
pub(super) fn check(schema: &Value, document: &mut Spanned<DeValue<'_>>, report: &mut Report) {
    let walker = Walker { root: schema };
    walker.check(schema, document, "", report);
}

struct Walker<'s> {
    root: &'s Value,
}

impl<'s> Walker<'s> {
    /// The schema a `$ref` points to, with the name of its definition.
    fn resolve(&self, schema: &'s Value) -> (&'s Value, Option<&'s str>) {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/$defs/")
                    .expect("schemars refers to $defs");
                (&self.root["$defs"][name], Some(name))
            }
            None => (schema, None),
        }
    }

    /// The alternatives of an `anyOf` or `oneOf`, without the `null` branch of an `Option`
    /// (TOML has no null: an absent key is `None`).
    fn branches(&self, schema: &'s Value) -> Option<Vec<&'s Value>> {
        let branches = schema
            .get("anyOf")
            .or_else(|| schema.get("oneOf"))?
            .as_array()?;
        Some(
            branches
                .iter()
                .filter(|branch| branch.get("type").and_then(Value::as_str) != Some("null"))
                .collect(),
        )
    }

    /// The JSON type a schema expects, ignoring `null`.
    fn json_type(&self, schema: &'s Value) -> Option<&'s str> {
        let (schema, name) = self.resolve(schema);
        if name == Some(YearMonth::schema_name().as_ref()) {
            return Some("string");
        }
        match schema.get("type")? {
            Value::String(json_type) => Some(json_type),
            Value::Array(types) => types
                .iter()
                .filter_map(Value::as_str)
                .find(|&json_type| json_type != "null"),
            _ => None,
        }
    }

    /// What a schema accepts, in words.
    fn describe(&self, schema: &'s Value) -> String {
        let (schema, name) = self.resolve(schema);
        if name == Some(YearMonth::schema_name().as_ref()) {
            return MONTH_EXPECTED.to_string();
        }
        if let Some(branches) = self.branches(schema) {
            if let Some(constants) = constants(&branches) {
                return format!("one of {}", quoted_list(&constants));
            }
            let described: Vec<String> = branches.iter().map(|b| self.describe(b)).collect();
            return described.join(" or ");
        }
        match self.json_type(schema) {
            Some("object") => "a table".to_string(),
            Some("array") => "an array".to_string(),
            Some("string") => "a string".to_string(),
            Some("boolean") => "true or false".to_string(),
            Some("integer") => {
                let (min, max) = integer_range(schema);
                format!("a whole number from {min} to {max}")
            }
            _ => "a number".to_string(),
        }
    }

    fn check(
        &self,
        schema: &'s Value,
        value: &mut Spanned<DeValue<'_>>,
        path: &str,
        report: &mut Report,
    ) {
        let (resolved, name) = self.resolve(schema);
        if name == Some(YearMonth::schema_name().as_ref()) {
            let is_month = value
                .get_ref()
                .as_str()
                .is_some_and(|text| text.parse::<YearMonth>().is_ok());
            if !is_month {
                report.push_broken(path.to_string(), render(value.get_ref()), MONTH_EXPECTED);
            }
            return;
        }
        if let Some(branches) = self.branches(resolved) {
            self.check_alternatives(resolved, &branches, value, path, report);
            return;
        }
        let fits = match (self.json_type(resolved), value.get_mut()) {
            (Some("object"), DeValue::Table(_)) => {
                self.check_table(resolved, value, path, report);
                true
            }
            (Some("array"), DeValue::Array(array)) => {
                for (i, element) in array.iter_mut().enumerate() {
                    self.check(&resolved["items"], element, &format!("{path}[{i}]"), report);
                }
                true
            }
            (Some("string"), DeValue::String(_)) | (Some("boolean"), DeValue::Boolean(_)) => true,
            (Some("number"), DeValue::Integer(integer)) => {
                let text = integer.as_str();
                i64::from_str_radix(text, integer.radix()).is_ok()
                    || u64::from_str_radix(text, integer.radix()).is_ok()
            }
            (Some("number"), DeValue::Float(float)) => {
                // As the deserializer: a finite literal that overflows is out of range (NaN and
                // infinities are read, and rejected by the range checks).
                let text = float.as_str();
                text.parse::<f64>()
                    .is_ok_and(|number| !number.is_infinite() || text.contains("inf"))
            }
            (Some("integer"), DeValue::Integer(integer)) => {
                let (min, max) = integer_range(resolved);
                i128::from_str_radix(integer.as_str(), integer.radix())
                    .is_ok_and(|number| (min..=max).contains(&number))
            }
            _ => false,
        };
        if !fits {
            let expected = self.describe(resolved);
            report.push_broken(path.to_string(), render(value.get_ref()), expected);
        }
    }

    /// An `anyOf`/`oneOf`: one of a set of strings, or the first branch of the value's type.
    fn check_alternatives(
        &self,
        schema: &'s Value,
        branches: &[&'s Value],
        value: &mut Spanned<DeValue<'_>>,
        path: &str,
        report: &mut Report,
    ) {
        if let Some(constants) = constants(branches) {
            let text = value.get_ref().as_str();
            if !text.is_some_and(|text| constants.contains(&text)) {
                let expected = self.describe(schema);
                report.push_broken(path.to_string(), render(value.get_ref()), expected);
            }
            return;
        }
        let value_type = json_type_of(value.get_ref());
        let branch = branches.iter().find(|&&branch| {
            let expected = self.json_type(branch);
            expected == Some(value_type) || (expected == Some("number") && value_type == "integer")
        });
        match branch {
            Some(branch) => self.check(branch, value, path, report),
            None => {
                let expected = self.describe(schema);
                report.push_broken(path.to_string(), render(value.get_ref()), expected);
            }
        }
    }

    /// A table: unknown keys (reported and removed), known keys, missing required keys.
    fn check_table(
        &self,
        schema: &'s Value,
        value: &mut Spanned<DeValue<'_>>,
        path: &str,
        report: &mut Report,
    ) {
        let DeValue::Table(table) = value.get_mut() else {
            unreachable!("check_table is called on tables")
        };
        let empty = serde_json::Map::new();
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            let unknown: Vec<String> = table
                .keys()
                .map(|key| key.get_ref().to_string())
                .filter(|key| !properties.contains_key(key))
                .collect();
            for key in unknown {
                let (_, removed) = table
                    .remove_entry(key.as_str())
                    .expect("a key of the table");
                let known: Vec<&str> = properties.keys().map(String::as_str).collect();
                report.push(
                    child_path(path, &key),
                    render(removed.get_ref()),
                    unknown_key_expected(&key, &known),
                );
            }
        }
        for (key, value) in table.iter_mut() {
            let key = key.get_ref();
            if let Some(schema) = properties.get(key.as_ref()) {
                self.check(schema, value, &child_path(path, key), report);
            }
        }
        let required = schema.get("required").and_then(Value::as_array);
        for key in required.into_iter().flatten().filter_map(Value::as_str) {
            if !table.contains_key(key) {
                let expected = format!("{} (required)", self.describe(&properties[key]));
                report.push_broken(child_path(path, key), "", expected);
            }
        }
    }
}

/// The strings of branches that are all `const` strings (an enum of unit variants).
fn constants<'s>(branches: &[&'s Value]) -> Option<Vec<&'s str>> {
    branches
        .iter()
        .map(|branch| branch.get("const").and_then(Value::as_str))
        .collect()
}

/// The range of an integer schema, from its `format` (schemars gives no maximum for `uint32`).
fn integer_range(schema: &Value) -> (i128, i128) {
    match schema.get("format").and_then(Value::as_str) {
        Some("uint8") => (0, u8::MAX.into()),
        Some("uint16") => (0, u16::MAX.into()),
        Some("uint32") => (0, u32::MAX.into()),
        Some("uint64") => (0, u64::MAX.into()),
        Some("int8") => (i8::MIN.into(), i8::MAX.into()),
        Some("int16") => (i16::MIN.into(), i16::MAX.into()),
        Some("int32") => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN.into(), i64::MAX.into()),
    }
}

/// The JSON type a TOML value has (datetimes have none).
fn json_type_of(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "string",
        DeValue::Integer(_) => "integer",
        DeValue::Float(_) => "number",
        DeValue::Boolean(_) => "boolean",
        DeValue::Datetime(_) => "datetime",
        DeValue::Array(_) => "array",
        DeValue::Table(_) => "object",
    }
}

/// A TOML value as written: strings quoted, numbers as in the file (NaN as `NaN`), arrays and
/// tables elided.
fn render(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => format!("{text:?}"),
        DeValue::Integer(integer) => integer.to_string(),
        DeValue::Float(float) if float.as_str().ends_with("nan") => "NaN".to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(boolean) => boolean.to_string(),
        DeValue::Datetime(datetime) => datetime.to_string(),
        DeValue::Array(_) => "[...]".to_string(),
        DeValue::Table(_) => "{...}".to_string(),
    }
}

/// `"a", "b", "c"`.
pub(super) fn quoted_list(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("{name:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What an unknown key should be: the known key it most likely misspells or shortens, or all
/// of them.
fn unknown_key_expected(key: &str, known: &[&str]) -> String {
    let misspelt = known
        .iter()
        .map(|&candidate| (edit_distance(key, candidate), candidate))
        .min()
        .filter(|&(distance, _)| distance <= (key.chars().count() / 3).max(1))
        .map(|(_, candidate)| candidate);
    let shortened = || {
        known
            .iter()
            .copied()
            .find(|candidate| candidate.contains(key))
    };
    match misspelt.or_else(shortened) {
        Some(candidate) => format!("a known key (did you mean {candidate}?)"),
        None => format!("a known key, one of: {}", known.join(", ")),
    }
}

/// Levenshtein distance between two strings (characters inserted, deleted or replaced).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, a_char) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &b_char) in b.iter().enumerate() {
            let replace = previous[j] + usize::from(a_char != b_char);
            current.push(replace.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every keyword the scenario's schema uses is one this check understands, so a new field
    /// type cannot slip past it unchecked.
    #[test]
    fn schema_uses_only_understood_keywords() {
        const UNDERSTOOD: [&str; 17] = [
            "$schema",
            "$defs",
            "$ref",
            "title",
            "description",
            "default",
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "anyOf",
            "oneOf",
            "const",
            "format",
            "minimum",
            "maximum",
        ];
        fn walk(schema: &Value, at: &str) {
            let Value::Object(object) = schema else {
                return;
            };
            for (keyword, value) in object {
                let known = UNDERSTOOD.contains(&keyword.as_str())
                    || (keyword == "pattern" && at.ends_with("YearMonth"));
                assert!(known, "{at}: {keyword}");
                match keyword.as_str() {
                    "properties" | "$defs" => {
                        for (name, schema) in value.as_object().unwrap() {
                            walk(schema, &format!("{at}/{name}"));
                        }
                    }
                    "items" => walk(value, at),
                    "anyOf" | "oneOf" => {
                        value.as_array().unwrap().iter().for_each(|b| walk(b, at));
                    }
                    "format" => {
                        let format = value.as_str().unwrap();
                        assert!(
                            ["double", "float"].contains(&format) || format.contains("int"),
                            "{at}: {format}"
                        );
                    }
                    _ => {}
                }
            }
        }
        walk(&crate::scenario_json_schema(), "");
    }

    #[test]
    fn suggests_the_closest_key() {
        let known = ["margin_bps", "maturity_month", "name"];
        assert_eq!(
            unknown_key_expected("margn_bps", &known),
            "a known key (did you mean margin_bps?)"
        );
        assert_eq!(
            unknown_key_expected("colour", &known),
            "a known key, one of: margin_bps, maturity_month, name"
        );
        assert_eq!(
            unknown_key_expected("maturity", &known),
            "a known key (did you mean maturity_month?)"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
