//! Whether a frozen version still stands: its signatures verify under the custody key over its
//! content hash, and each custody chain it anchored still holds the anchored event.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::custody::key::{self, Keyring};
use crate::custody::verify;
use crate::db::schema::report_anchors;
use crate::db::DbConn;
use crate::ids::{ReportVersionId, SampleId};

use super::{find_version, signatures_of};

/// Whether every custody chain the version anchored still holds the anchored event and still
/// verifies under the key ring: the current chain extends what the report froze.
pub fn anchors_hold(conn: &mut DbConn, version_id: &ReportVersionId) -> QueryResult<bool> {
    if !verify::broken_anchors(conn, Some(version_id))?.is_empty() {
        return Ok(false);
    }
    let keys = key::installed()?;
    let samples: Vec<SampleId> = report_anchors::table
        .filter(report_anchors::report_version_id.eq(version_id))
        .select(report_anchors::sample_id)
        .load(conn)?;
    for sample in &samples {
        if verify::check_sample(conn, keys, sample)?.is_some() {
            return Ok(false);
        }
    }
    Ok(true)
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
