//! What an issued report says, as data: the one structure that is frozen, hashed, signed,
//! rendered to PDF and HTML, and served by the API. Its JSON (`canonical_json`) is the
//! canonical form; `FORMAT_VERSION` names the shape so an old report can be re-hashed and
//! re-rendered for ever. A change of shape or meaning is a new format version, never an
//! edit of this one.
//!
//! Values are stored as they are printed (numbers with the method's decimals, dates as
//! `YYYY-MM-DD`, times as `YYYY-MM-DD HH:MM ±HH:MM` in the laboratory's time zone), so the
//! hash covers exactly what the reader sees. Headings and fixed statements come from the
//! renderer, keyed by `locale` and `format_version`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The canonical shape written by this build.
pub const FORMAT_VERSION: i32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportContent {
    pub format_version: i32,
    /// `es` or `en`: the language of the report, of its meanings and of its fixed texts.
    pub locale: String,
    /// `RPT-YYYY-NNNNNN`, assigned when the content is frozen by the first signature.
    pub report_number: String,
    pub version_no: i32,
    /// Set on version 2 and later (ISO/IEC 17025 7.8.8).
    pub amendment: Option<Amendment>,
    /// The date the content was frozen and signed.
    pub issue_date: String,
    pub laboratory: Laboratory,
    pub request: Request,
    /// One per sample reported, in lab-code order.
    pub items: Vec<Item>,
    /// One per approved test reported, grouped by item.
    pub results: Vec<ResultLine>,
    /// Each method used, once.
    pub methods: Vec<MethodLine>,
    /// Each instrument used, once.
    pub instruments: Vec<InstrumentLine>,
    /// First and last date of testing.
    pub testing_from: Option<String>,
    pub testing_to: Option<String>,
    /// Departures from the methods or from normal conditions (7.8.2.1 n); none if empty.
    pub deviations: Option<String>,
    /// The decision rule applied to the statement of conformity (7.8.6).
    pub decision_rule: Option<String>,
    pub conclusion: Option<String>,
    /// Opinions and interpretations, printed under their own marked heading (7.8.7).
    pub opinion: Option<String>,
    pub tariff: TariffFinding,
    pub findings: Findings,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amendment {
    /// 1 for the first amendment (version 2), and so on.
    pub number: i32,
    /// The number of the version this one supersedes.
    pub supersedes: String,
    pub reason: String,
}

/// The laboratory settings in force when the version was drafted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Laboratory {
    pub name: String,
    pub address: String,
    pub accreditation_number: Option<String>,
    pub accreditation_body: Option<String>,
    /// SHA-256 of the logo printed, when there is one.
    pub logo_sha256: Option<String>,
}

/// Who asked for the tests: the customs office and its case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub customs_office: String,
    pub seizure_reference: String,
    pub declaration_number: Option<String>,
    pub seized_at: String,
    pub place: String,
    pub seizing_officer: String,
    pub goods_description: String,
    pub importer: Option<String>,
    /// ISO 3166 alpha-2.
    pub origin_country: Option<String>,
    /// `red`, `amber`, `green`, `intelligence` or `random`.
    pub risk_channel: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub lab_code: String,
    pub description: String,
    pub matrix: Option<String>,
    /// Quantity with its unit, and number of packages, as printed.
    pub quantity: Option<String>,
    pub packages: Option<i32>,
    pub seal_number: Option<String>,
    /// Whether the seal was intact at receipt; `Some(false)` is stated plainly on the report.
    pub seal_intact_at_receipt: Option<bool>,
    /// Condition on receipt as recorded at the desk (insufficient quantity, damage...).
    pub condition_on_receipt: Option<String>,
    /// Sampling: collected when, where and by whom.
    pub sampling: String,
    pub received_at: Option<String>,
    /// The sample's custody head when the content was frozen: the report anchors the chain.
    pub custody_seq: i64,
    pub custody_hash: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultLine {
    pub lab_code: String,
    pub method_code: String,
    pub analyte: String,
    /// The value as printed: a number with the method's decimals, a qualifier such as
    /// `< LOQ`, or a qualitative finding.
    pub value: String,
    pub unit: Option<String>,
    /// Expanded uncertainty, and its coverage factor k.
    pub uncertainty: Option<String>,
    pub coverage_k: Option<String>,
    pub lod: Option<String>,
    pub loq: Option<String>,
    /// Specification limits, as printed.
    pub specification: Option<String>,
    /// The statement of conformity for this result, when a specification applies.
    pub conformity: Option<Conformity>,
    pub tested_on: Option<String>,
    pub analyst: Option<String>,
    /// Asset tags of the instruments used.
    pub instruments: Vec<String>,
    /// Set when a partner laboratory produced the result; marked as external everywhere.
    pub external: Option<ExternalSource>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conformity {
    Conforms,
    DoesNotConform,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalSource {
    pub laboratory: String,
    pub accreditation: Option<String>,
    pub report_reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MethodLine {
    pub code: String,
    pub name: String,
    pub version: i32,
    pub technique: Option<String>,
    /// Methods outside the scope of accreditation are marked on the report.
    pub accredited: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentLine {
    pub asset_tag: String,
    pub name: String,
    pub model: Option<String>,
    pub serial_number: Option<String>,
    /// Calibration valid until, on the day of use.
    pub calibration_due: Option<String>,
}

/// The tariff subheading the laboratory finds, next to the declared one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TariffFinding {
    pub declared: Option<String>,
    pub declared_description: Option<String>,
    pub found: Option<String>,
    pub found_description: Option<String>,
    /// `None` when either code is missing.
    pub difference: Option<TariffDifference>,
}

/// The first level at which the found code departs from the declared one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TariffDifference {
    /// Same code.
    None,
    /// Same 6-digit subheading, different national (8–10 digit) line.
    National,
    /// Same heading (4 digits), different subheading (6 digits).
    Subheading,
    /// Same chapter (2 digits), different heading.
    Heading,
    /// Different chapter.
    Chapter,
}

impl TariffDifference {
    /// Compares two codes given as digits only (dots already removed).
    pub fn between(declared: &str, found: &str) -> TariffDifference {
        let same = |n: usize| declared.get(..n).is_some() && declared.get(..n) == found.get(..n);
        if declared == found {
            TariffDifference::None
        } else if !same(2) {
            TariffDifference::Chapter
        } else if !same(4) {
            TariffDifference::Heading
        } else if !same(6) {
            TariffDifference::Subheading
        } else {
            TariffDifference::National
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TariffDifference::None => "none",
            TariffDifference::National => "national",
            TariffDifference::Subheading => "subheading",
            TariffDifference::Heading => "heading",
            TariffDifference::Chapter => "chapter",
        }
    }
}

/// Findings kept as fields for the risk unit's statistics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Findings {
    pub controlled: bool,
    pub prohibited: bool,
    pub counterfeit: bool,
    pub note: Option<String>,
}

/// A signature as printed in the signature block (not part of the signed content: it signs it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureLine {
    pub name: String,
    pub username: String,
    pub role: String,
    pub meaning_code: String,
    /// The meaning in the report's language, e.g. "Revisado y aprobado".
    pub meaning_text: String,
    /// `YYYY-MM-DD HH:MM ±HH:MM` in the laboratory's time zone.
    pub signed_at: String,
}

impl ReportContent {
    /// The canonical form: compact JSON in field declaration order, no maps.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("report content always serializes")
    }

    /// SHA-256 of the canonical form, lowercase hex: the `h` of the verification URL.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_json().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::TariffDifference::{self, *};

    #[test]
    fn tariff_difference_names_the_first_level_that_departs() {
        let table: &[(&str, &str, TariffDifference)] = &[
            ("090111", "090111", None),
            ("0901110000", "0901119000", National),
            ("090111", "090112", Subheading),
            ("090111", "090210", Heading),
            ("090111", "210111", Chapter),
            ("2939", "293971", Subheading),
        ];
        for (declared, found, want) in table {
            assert_eq!(
                TariffDifference::between(declared, found),
                *want,
                "{declared} → {found}"
            );
        }
    }
}
