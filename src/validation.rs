//! Field-level validation messages (i18n keys), shown next to each field.

use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// Records the first problem of a field; later ones for the same field are dropped.
    pub fn add(&mut self, field: &str, key: &str) {
        self.0
            .entry(field.to_string())
            .or_insert_with(|| key.to_string());
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn into_result(self) -> Result<(), crate::error::AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(crate::error::AppError::Invalid(self))
        }
    }
}

/// Trims a form value; `None` when nothing was typed.
pub fn opt(value: &str) -> Option<String> {
    let v = value.trim();
    (!v.is_empty()).then(|| v.to_string())
}
