//! Reading a cohort table (CSV) for the statistics, with errors that name column and row.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
    #[error("{file}, column `{column}`, line {line}: {message}")]
    Cell { file: PathBuf, column: String, line: usize, message: String },
    /// A column the caller named is absent: the fault is in the request, not the file.
    #[error("{file}: no column `{name}` (columns: {columns})")]
    NoColumn { file: PathBuf, name: String, columns: String },
}

impl TableError {
    /// Whether the request named a column the file lacks (a usage error) rather than the
    /// file holding bad data.
    pub fn is_missing_column(&self) -> bool {
        matches!(self, TableError::NoColumn { .. })
    }
}

/// Numeric columns of a CSV file, by name. Line numbers count the header as line 1.
pub struct Table {
    pub file: PathBuf,
    columns: HashMap<String, Vec<Option<String>>>,
    pub header: Vec<String>,
    pub rows: usize,
}

impl Table {
    pub fn read(file: &Path) -> Result<Table, TableError> {
        Table::read_as(file, file)
    }

    /// Reads `file`, naming it `label` in messages and output (so a task's output does not
    /// depend on where the cache lives).
    pub fn read_as(file: &Path, label: &Path) -> Result<Table, TableError> {
        let err = |message: String| TableError::File { file: label.to_owned(), message };
        let mut rdr = csv::Reader::from_path(file).map_err(|e| err(e.to_string()))?;
        let header: Vec<String> = rdr.headers().map_err(|e| err(e.to_string()))?.iter().map(|h| h.trim().to_owned()).collect();
        // Two columns of one name would be read as one, silently mixing their values.
        if let Some((k, h)) = header.iter().enumerate().find(|(k, h)| header[..*k].contains(h)) {
            return Err(err(format!("column `{h}` appears twice (columns {} and {})", header.iter().position(|x| x == h).unwrap_or(0) + 1, k + 1)));
        }
        let mut columns: HashMap<String, Vec<Option<String>>> = header.iter().map(|h| (h.clone(), Vec::new())).collect();
        let mut rows = 0;
        for rec in rdr.records() {
            let rec = rec.map_err(|e| err(e.to_string()))?;
            for (k, h) in header.iter().enumerate() {
                let v = rec.get(k).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
                columns.get_mut(h).unwrap().push(v);
            }
            rows += 1;
        }
        Ok(Table { file: label.to_owned(), columns, header, rows })
    }

    fn column(&self, name: &str) -> Result<&[Option<String>], TableError> {
        self.columns.get(name).map(Vec::as_slice).ok_or_else(|| TableError::NoColumn {
            file: self.file.clone(),
            name: name.to_owned(),
            columns: self.header.join(", "),
        })
    }

    fn cell_error(&self, column: &str, row: usize, message: String) -> TableError {
        TableError::Cell { file: self.file.clone(), column: column.to_owned(), line: row + 2, message }
    }

    /// Every value of a column as a finite number; missing or non-numeric values are errors.
    pub fn numbers(&self, name: &str) -> Result<Vec<f64>, TableError> {
        let col = self.column(name)?;
        let mut out = Vec::with_capacity(col.len());
        for (row, v) in col.iter().enumerate() {
            let Some(text) = v else { return Err(self.cell_error(name, row, "missing value".into())) };
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => out.push(x),
                _ => return Err(self.cell_error(name, row, format!("`{text}` is not a number"))),
            }
        }
        Ok(out)
    }

    pub fn times(&self, name: &str) -> Result<Vec<f64>, TableError> {
        let t = self.numbers(name)?;
        match t.iter().position(|&x| x < 0.0) {
            Some(row) => Err(self.cell_error(name, row, format!("negative time {}", t[row]))),
            None => Ok(t),
        }
    }

    pub fn events(&self, name: &str) -> Result<Vec<bool>, TableError> {
        let e = self.numbers(name)?;
        let mut out = Vec::with_capacity(e.len());
        for (row, &x) in e.iter().enumerate() {
            if x == 0.0 || x == 1.0 {
                out.push(x == 1.0);
            } else {
                return Err(self.cell_error(name, row, format!("event must be 0 or 1, found {x}")));
            }
        }
        Ok(out)
    }

    /// A cross-validation fold per row: whole numbers from 0.
    pub fn folds(&self, name: &str) -> Result<Vec<usize>, TableError> {
        let f = self.numbers(name)?;
        f.iter()
            .enumerate()
            .map(|(row, &x)| if x >= 0.0 && x.fract() == 0.0 && x < 1e6 { Ok(x as usize) } else { Err(self.cell_error(name, row, format!("a fold is a whole number from 0, found {x}"))) })
            .collect()
    }

    /// Adds `column` of `other` to this table, matching rows by the `key` column of both
    /// (case-insensitively); a row without a match is an error naming its key.
    pub fn join_column(&mut self, other: &Table, key: &str, column: &str) -> Result<(), TableError> {
        let keys = other.strings(key)?;
        let vals = other.column(column)?;
        let by_key: HashMap<String, Option<String>> = keys.iter().map(|k| k.to_lowercase()).zip(vals.iter().cloned()).collect();
        let mine = self.strings(key)?;
        let mut joined = Vec::with_capacity(mine.len());
        for (row, k) in mine.iter().enumerate() {
            match by_key.get(&k.to_lowercase()) {
                Some(v) => joined.push(v.clone()),
                None => return Err(self.cell_error(key, row, format!("`{k}` has no row in {} (column `{key}`)", other.file.display()))),
            }
        }
        if !self.header.iter().any(|h| h == column) {
            self.header.push(column.to_owned());
        }
        self.columns.insert(column.to_owned(), joined);
        Ok(())
    }

    pub fn strings(&self, name: &str) -> Result<Vec<String>, TableError> {
        Ok(self.column(name)?.iter().map(|v| v.clone().unwrap_or_default()).collect())
    }
}
