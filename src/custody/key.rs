//! The custody key ring: the active key that signs new events, seals and checkpoints, and the
//! earlier keys that still verify what they signed. It comes from the configuration
//! (`LIMS_CUSTODY_KEY` or `LIMS_DATA_DIR/custody.key`, plus `LIMS_CUSTODY_KEYS_OLD`) and never
//! touches the database; a key is named in records only by its id.

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::config::Config;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct Key {
    id: String,
    secret: Vec<u8>,
}

impl Key {
    pub fn new(secret: &[u8]) -> Key {
        Key {
            id: hex::encode(&Sha256::digest(secret)[..8]),
            secret: secret.to_vec(),
        }
    }

    /// The first 8 bytes of SHA-256 of the key, in hex: names the key without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// A running HMAC-SHA-256 under this key.
    pub fn hmac(&self) -> HmacSha256 {
        // HMAC takes keys of any length; the error case cannot happen.
        HmacSha256::new_from_slice(&self.secret).expect("HMAC accepts any key length")
    }

    /// hex(HMAC-SHA-256(key, parts concatenated)).
    pub fn mac_hex(&self, parts: &[&[u8]]) -> String {
        let mut mac = self.hmac();
        for p in parts {
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether `tag_hex` is the HMAC of `parts`, compared in constant time.
    pub fn verify_hex(&self, parts: &[&[u8]], tag_hex: &str) -> bool {
        let Ok(tag) = hex::decode(tag_hex) else {
            return false;
        };
        let mut mac = self.hmac();
        for p in parts {
            mac.update(p);
        }
        mac.verify_slice(&tag).is_ok()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

#[derive(Clone, Debug)]
pub struct Keyring {
    active: Key,
    old: Vec<Key>,
}

impl Keyring {
    pub fn new(active: &[u8], old: &[Vec<u8>]) -> Keyring {
        Keyring {
            active: Key::new(active),
            old: old.iter().map(|k| Key::new(k)).collect(),
        }
    }

    pub fn from_config(config: &Config) -> Keyring {
        Keyring::new(&config.custody_key, &config.custody_keys_old)
    }

    /// The key new records are signed with.
    pub fn active(&self) -> &Key {
        &self.active
    }

    /// The key with this id, active or old.
    pub fn get(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.active)
            .chain(&self.old)
            .find(|k| k.id == id)
    }
}

static INSTALLED: OnceLock<Keyring> = OnceLock::new();

/// Makes `ring` the process's key ring, which `custody::append` signs with. Set once at start
/// from the configuration; installing a ring with another active key later is refused, since
/// one process must never sign with two keys.
pub fn install(ring: Keyring) -> Result<(), String> {
    let current = INSTALLED.get_or_init(|| ring.clone());
    if current.active.id == ring.active.id {
        Ok(())
    } else {
        Err(format!(
            "the custody key {} is already in use by this process; it cannot change to {}",
            current.active.id, ring.active.id
        ))
    }
}

/// The installed key ring; an error (not a panic) if the program forgot to install one.
pub fn installed() -> diesel::QueryResult<&'static Keyring> {
    INSTALLED.get().ok_or_else(|| {
        diesel::result::Error::QueryBuilderError("the custody key has not been loaded".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_keys_and_macs_depend_on_the_key() {
        let a = Key::new(&[1u8; 32]);
        let b = Key::new(&[2u8; 32]);
        assert_eq!(a.id().len(), 16);
        assert_ne!(a.id(), b.id());
        let tag = a.mac_hex(&[b"x", b"y"]);
        assert!(a.verify_hex(&[b"xy"], &tag));
        assert!(!b.verify_hex(&[b"xy"], &tag));
        assert!(!a.verify_hex(&[b"xz"], &tag));
        let ring = Keyring::new(&[2u8; 32], &[vec![1u8; 32]]);
        assert_eq!(ring.get(a.id()).map(Key::id), Some(a.id()));
        assert!(Keyring::new(&[2u8; 32], &[]).get(a.id()).is_none());
        assert!(!format!("{ring:?}").contains("[1, 1"));
    }
}
