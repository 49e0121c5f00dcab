//! The issued report as a PDF. PLACEHOLDER until the PDF/A renderer lands: the contract
//! (`Document`, `render`) is fixed; the body is replaced.

use super::content::{ReportContent, SignatureLine};

/// Everything printed: the signed content, the signature block and the verification link.
pub struct Document<'a> {
    pub content: &'a ReportContent,
    pub signatures: &'a [SignatureLine],
    /// `{LIMS_PUBLIC_URL}/verify/{number}?h={content sha256}`, printed and in the QR code.
    pub verify_url: &'a str,
    /// The laboratory's logo (PNG or JPEG) whose SHA-256 the content names.
    pub logo: Option<Logo<'a>>,
}

pub struct Logo<'a> {
    pub bytes: &'a [u8],
    pub content_type: &'a str,
}

#[derive(Debug, thiserror::Error)]
#[error("the report could not be rendered as PDF: {0}")]
pub struct RenderError(pub String);

pub fn render(doc: &Document) -> Result<Vec<u8>, RenderError> {
    Ok(format!(
        "%PDF-1.7\n% {}\n% {}\n",
        doc.verify_url,
        doc.content.canonical_json()
    )
    .into_bytes())
}
