//! Per-user API tokens for customs systems. Only a SHA-256 of the token is stored; the token
//! itself is shown once, when it is made.

use base64::Engine;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::audit::{self, Actor};
use crate::db::schema::api_tokens;
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::ApiTokenId;
use crate::user::User;

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a new token for `user` and returns it in clear text.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    user: &User,
    label: Option<&str>,
) -> Result<String, AppError> {
    if !user.active {
        return Err(AppError::invalid("username", "validation.account_inactive"));
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let token = format!(
        "lims_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    write_tx(conn, |conn| {
        let id = ApiTokenId::new_v7();
        diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(&id),
                api_tokens::user_id.eq(&user.id),
                api_tokens::token_hash.eq(token_hash(&token)),
                api_tokens::label.eq(label),
                api_tokens::created_at.eq(now()),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            actor,
            "create",
            "api_token",
            Some(id.as_str()),
            None::<&()>,
            Some(&serde_json::json!({ "user": user.username, "label": label })),
        )?;
        Ok(token)
    })
}
