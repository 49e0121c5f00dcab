//! Password hashing (argon2id, the crate's defaults) and the password policy.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 256;

/// The i18n key of what is wrong with a new password, if anything.
pub fn policy_violation(password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Some("validation.password_too_short")
    } else if n > MAX_LENGTH {
        Some("validation.password_too_long")
    } else {
        None
    }
}

pub fn hash(password: &str) -> Result<String, crate::error::AppError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(crate::error::AppError::internal)
}

pub fn verify(password: &str, stored_hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored_hash)
        .is_ok()
}

/// A hash to verify against when the account does not exist, so the answer takes as long.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash("not-a-real-password-0000").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
    }

    #[test]
    fn policy() {
        assert_eq!(
            policy_violation("short"),
            Some("validation.password_too_short")
        );
        assert_eq!(policy_violation("long enough pw"), None);
    }
}
