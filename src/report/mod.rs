//! Test reports (ISO/IEC 17025 7.8): drafted from approved results, frozen and signed
//! (21 CFR Part 11), issued as PDF/A, amended by new versions that supersede.

pub mod content;
pub mod pdf;
pub mod published;
pub mod signature;

use crate::db::text_enum;

text_enum!(
    /// Where a report version is (changed only through `state::next`).
    VersionStatus {
        Draft => "draft",
        /// Frozen and signed once; a second signature is required before issue.
        PendingSignature => "pending_signature",
        Issued => "issued",
        Discarded => "discarded",
    }
);

text_enum!(
    /// What a signature means (21 CFR 11.50(a)(3)); the text is in the report's language.
    SignatureMeaning {
        ReviewedApproved => "reviewed_approved",
        TechnicalReview => "technical_review",
        Authored => "authored",
    }
);

/// The public verification URL of a report: printed on it and encoded in its QR code.
pub fn verify_url(public_base: &str, report_number: &str, content_sha256: &str) -> String {
    format!(
        "{}/verify/{report_number}?h={content_sha256}",
        public_base.trim_end_matches('/')
    )
}
