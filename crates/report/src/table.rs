//! Aligned text tables.

/// A text table: a header row and data rows; the first column is left-aligned, the others
/// right-aligned (numbers line up).
#[derive(Clone, Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Table {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row; missing cells print empty, extra cells are kept.
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Table {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Renders the table, columns separated by two spaces, a rule under the header, no
    /// trailing spaces.
    pub fn render(&self) -> String {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let cell = |row: &[String], i: usize| row.get(i).map_or("", String::as_str).to_string();
        let mut widths = vec![0; columns];
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, width) in widths.iter_mut().enumerate() {
                *width = (*width).max(cell(row, i).chars().count());
            }
        }
        let line = |row: &[String]| {
            let text = (0..columns)
                .map(|i| {
                    let value = cell(row, i);
                    if i == 0 {
                        format!("{value:<width$}", width = widths[i])
                    } else {
                        format!("{value:>width$}", width = widths[i])
                    }
                })
                .collect::<Vec<_>>()
                .join("  ");
            text.trim_end().to_string()
        };
        let rule = widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ");
        let mut out = vec![line(&self.header), rule];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n") + "\n"
    }
}

/// A list of labelled values, one per line, the values aligned after the longest label.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    lines: Vec<(String, String)>,
}

impl Facts {
    /// An empty list.
    pub fn new() -> Facts {
        Facts::default()
    }

    /// Appends `label: value`.
    pub fn add(&mut self, label: impl Into<String>, value: impl Into<String>) -> &mut Facts {
        self.lines.push((label.into(), value.into()));
        self
    }

    /// Renders the list.
    pub fn render(&self) -> String {
        let width = self
            .lines
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        self.lines
            .iter()
            .map(|(label, value)| {
                let label = format!("{label}:");
                format!("{label:<width$}  {value}\n", width = width + 1)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(["model", "TH/s"]);
        t.row(["S21", "200"]).row(["S19j Pro", "104.5"]);
        assert_eq!(
            t.render(),
            "model      TH/s\n--------  -----\nS21         200\nS19j Pro  104.5\n"
        );
    }

    #[test]
    fn facts_align_values() {
        let mut f = Facts::new();
        f.add("height", "925,344").add("difficulty", "149.30 T");
        assert_eq!(f.render(), "height:      925,344\ndifficulty:  149.30 T\n");
    }
}
