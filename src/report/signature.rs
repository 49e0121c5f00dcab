//! The keyed hash of an electronic signature. It binds the signature's own fields (who, as
//! who they were then, what it means, how they proved it, when) to the version and to the
//! content hash they signed, under the custody key, which never lives in the database: a row
//! inserted or altered behind the application's back does not verify.

use chrono::NaiveDateTime;

use crate::custody::key::{Key, Keyring};

/// Everything a signature row says, in the order it is hashed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signed<'a> {
    pub signature_id: &'a str,
    pub report_version_id: &'a str,
    pub report_number: &'a str,
    pub signer_id: &'a str,
    pub signer_name: &'a str,
    pub signer_username: &'a str,
    pub signer_role: &'a str,
    pub meaning_code: &'a str,
    pub meaning_text: &'a str,
    pub auth_method: &'a str,
    pub signed_at: NaiveDateTime,
    pub content_sha256: &'a str,
}

impl Signed<'_> {
    /// One line per field, each as `name=value` with `\` and newlines escaped, so no two
    /// different signatures share a canonical form.
    pub fn canonical(&self) -> String {
        let fields: [(&str, String); 12] = [
            ("v", "1".to_string()),
            ("signature", self.signature_id.to_string()),
            ("version", self.report_version_id.to_string()),
            ("number", self.report_number.to_string()),
            ("signer", self.signer_id.to_string()),
            ("name", self.signer_name.to_string()),
            ("username", self.signer_username.to_string()),
            ("role", self.signer_role.to_string()),
            ("meaning", self.meaning_code.to_string()),
            ("meaning_text", self.meaning_text.to_string()),
            ("auth", self.auth_method.to_string()),
            (
                "signed_at",
                self.signed_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            ),
        ];
        let mut out = String::new();
        for (name, value) in fields
            .iter()
            .map(|(n, v)| (*n, v.as_str()))
            .chain([("content", self.content_sha256)])
        {
            out.push_str(name);
            out.push('=');
            out.push_str(&value.replace('\\', "\\\\").replace('\n', "\\n"));
            out.push('\n');
        }
        out
    }

    /// hex(HMAC-SHA-256(key, canonical)).
    pub fn hash(&self, key: &Key) -> String {
        key.mac_hex(&[b"report-signature|", self.canonical().as_bytes()])
    }

    /// Whether `signature_hash` was made by the key named `key_id` over these fields.
    pub fn verify(&self, keys: &Keyring, key_id: &str, signature_hash: &str) -> bool {
        keys.get(key_id).is_some_and(|key| {
            key.verify_hex(
                &[b"report-signature|", self.canonical().as_bytes()],
                signature_hash,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(meaning: &str) -> Signed<'_> {
        Signed {
            signature_id: "s1",
            report_version_id: "v1",
            report_number: "RPT-2026-000001",
            signer_id: "u1",
            signer_name: "Ana Pérez",
            signer_username: "aperez",
            signer_role: "supervisor",
            meaning_code: meaning,
            meaning_text: "Revisado y aprobado",
            auth_method: "password",
            signed_at: chrono::NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
            content_sha256: "ab",
        }
    }

    #[test]
    fn a_signature_verifies_only_under_its_key_and_its_fields() {
        let ring = Keyring::new(&[7u8; 32], &[]);
        let other = Keyring::new(&[8u8; 32], &[]);
        let s = signed("reviewed_approved");
        let tag = s.hash(ring.active());
        assert!(s.verify(&ring, ring.active().id(), &tag));
        assert!(!s.verify(&other, other.active().id(), &tag), "another key");
        assert!(!s.verify(&ring, "unknown", &tag), "an unknown key id");
        assert!(
            !signed("technical_review").verify(&ring, ring.active().id(), &tag),
            "another meaning"
        );
        let mut moved = signed("reviewed_approved");
        moved.content_sha256 = "cd";
        assert!(
            !moved.verify(&ring, ring.active().id(), &tag),
            "other content"
        );
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = signed("reviewed_approved");
        a.signer_name = "Ana\nusername=x";
        let b = signed("reviewed_approved");
        assert_ne!(a.canonical(), b.canonical());
        assert!(a.canonical().contains("name=Ana\\nusername=x\n"));
    }
}
