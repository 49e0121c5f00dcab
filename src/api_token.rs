//! Per-user API tokens for customs systems. Only a SHA-256 of the token is stored; the token
//! itself is shown once, when it is made.

use base64::Engine;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::api_tokens;
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{ApiTokenId, UserId};
use crate::user::session::token_hash;
use crate::user::User;

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
struct NewToken<'a> {
    id: &'a ApiTokenId,
    user_id: &'a UserId,
    token_hash: String,
    label: Option<&'a str>,
    created_at: chrono::NaiveDateTime,
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
            .values(NewToken {
                id: &id,
                user_id: &user.id,
                token_hash: token_hash(&token),
                label,
                created_at: now(),
            })
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
