//! Whether a frozen version still stands: its signatures verify under the custody key over its
//! content hash, and each custody chain it anchored still holds the anchored event.

use diesel::QueryResult;
use sha2::{Digest, Sha256};

use crate::custody::key::{self, Keyring};
use crate::custody::verify;
use crate::db::DbConn;
use crate::ids::ReportVersionId;

use super::{find_version, signatures_of};

/// Whether every custody chain the version anchored still holds the anchored event (the
/// chains themselves are checked by `custody::verify`).
pub fn anchors_hold(conn: &mut DbConn, version_id: &ReportVersionId) -> QueryResult<bool> {
    Ok(verify::broken_anchors(conn, Some(version_id))?.is_empty())
}

/// Whether the version has signatures and every one verifies under the installed key ring
/// and names the version's own content hash and number, which is the hash of its content.
pub fn signatures_hold(conn: &mut DbConn, version_id: &ReportVersionId) -> QueryResult<bool> {
    signatures_hold_under(conn, key::installed()?, version_id)
}

pub fn signatures_hold_under(
    conn: &mut DbConn,
    keys: &Keyring,
    version_id: &ReportVersionId,
) -> QueryResult<bool> {
    let v = find_version(conn, version_id)?;
    let (Some(number), Some(sha)) = (&v.report_number, &v.content_sha256) else {
        return Ok(false);
    };
    if hex::encode(Sha256::digest(v.content.as_bytes())) != *sha {
        return Ok(false);
    }
    let signatures = signatures_of(conn, version_id)?;
    Ok(!signatures.is_empty()
        && signatures.iter().all(|s| {
            &s.content_sha256 == sha && s.signed(number).verify(keys, &s.key_id, &s.signature_hash)
        }))
}
