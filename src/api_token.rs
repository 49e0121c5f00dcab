//! Per-user API tokens for customs systems. Only a SHA-256 of the token is stored; the token
//! itself is shown once, when it is made.

use base64::Engine;
use diesel::prelude::*;

use crate::audit::{self, Actor};
use crate::db::schema::{api_tokens, users};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::{ApiTokenId, UserId};
use crate::user::session::token_hash;
use crate::user::User;

/// A token as its owner sees it listed (never the token itself).
#[derive(Queryable, Selectable, Debug, Clone, serde::Serialize)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub user_id: UserId,
    pub label: Option<String>,
    pub created_at: chrono::NaiveDateTime,
    pub last_used_at: Option<chrono::NaiveDateTime>,
    pub revoked_at: Option<chrono::NaiveDateTime>,
}

/// The longest label a token may carry.
pub const LABEL_MAX: usize = 100;

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
    let mut errors = crate::validation::FieldErrors::default();
    let label =
        label.and_then(|l| crate::validation::optional_text(&mut errors, "label", l, LABEL_MAX));
    errors.into_result()?;
    let label = label.as_deref();
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

/// The tokens of `user`, newest first (revoked ones too, marked).
pub fn list_for(conn: &mut DbConn, user: &UserId) -> QueryResult<Vec<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::user_id.eq(user))
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .select(ApiToken::as_select())
        .load(conn)
}

/// Revokes one of `owner`'s own tokens; from then on it is refused. Revoking twice, or a
/// token of somebody else, is "not found".
pub fn revoke(
    conn: &mut DbConn,
    actor: &Actor,
    owner: &UserId,
    id: &ApiTokenId,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        let before = api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::user_id.eq(owner))
            .filter(api_tokens::revoked_at.is_null())
            .select(ApiToken::as_select())
            .first(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        diesel::update(api_tokens::table.filter(api_tokens::id.eq(id)))
            .set(api_tokens::revoked_at.eq(now()))
            .execute(conn)?;
        let after = api_tokens::table
            .filter(api_tokens::id.eq(id))
            .select(ApiToken::as_select())
            .first(conn)?;
        audit::record(
            conn,
            actor,
            "revoke",
            "api_token",
            Some(id.as_str()),
            Some(&before),
            Some(&after),
        )?;
        Ok(())
    })
}

/// The live token sent as `token` and its active owner; `None` for an unknown or revoked
/// token, or an account that was deactivated.
pub fn authenticate(conn: &mut DbConn, token: &str) -> QueryResult<Option<(ApiToken, User)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash(token)))
        .filter(api_tokens::revoked_at.is_null())
        .filter(users::active.eq(true))
        .select((ApiToken::as_select(), User::as_select()))
        .first(conn)
        .optional()
}

/// How often `last_used_at` is written at most: a busy client does not turn every read into
/// a write of the token row.
const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// One API call as the audit log keeps it.
#[derive(serde::Serialize)]
pub struct Call<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub token_id: Option<&'a ApiTokenId>,
}

/// Records an API call in the audit log and, for a known token, when it was last used.
pub fn record_call(conn: &mut DbConn, actor: &Actor, call: &Call) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        if let Some(id) = call.token_id {
            let t = now();
            diesel::update(
                api_tokens::table.filter(api_tokens::id.eq(id)).filter(
                    api_tokens::last_used_at
                        .is_null()
                        .or(api_tokens::last_used_at.lt(t - TOUCH_EVERY)),
                ),
            )
            .set(api_tokens::last_used_at.eq(t))
            .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            "call",
            "api",
            call.token_id.map(ApiTokenId::as_str),
            None::<&()>,
            Some(call),
        )?;
        Ok(())
    })
}
