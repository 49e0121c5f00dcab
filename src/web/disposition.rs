//! The `Content-Disposition` of downloads (labels, attachments).

use actix_web::http::header::{
    Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue,
};

/// A download named after a record, as RFC 6266 asks: `filename*` carries the name in UTF-8
/// (RFC 5987 encoding) and `filename` an ASCII stand-in for old clients. What a file name
/// cannot hold (control characters, quotes, slashes) becomes `_`, so a reference stored before
/// it was checked can neither break the header nor add parameters to it.
pub fn attachment(name: &str) -> ContentDisposition {
    let name: String = name
        .chars()
        .map(|c| match c {
            '"' | '/' | '\\' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let ascii: String = name
        .chars()
        .map(|c| match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_string()),
                language_tag: None,
                value: name.into_bytes(),
            }),
        ],
    }
}
