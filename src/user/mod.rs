//! User accounts: roles, creation, changes by an admin, own password and language.

pub mod password;
pub mod presence;
pub mod session;
pub mod throttle;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::db::schema::users;
use crate::db::{now, text_enum, write_tx, DbConn};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::ids::UserId;
use crate::validation::{check_text, opt, FieldErrors, UNREADABLE};

text_enum!(
    /// What an account may do (SPEC.md "Who uses it"; the table is `access::allows`).
    Role {
        Technician => "technician",
        Supervisor => "supervisor",
        Enforcement => "enforcement",
        Admin => "admin",
    }
);

impl Role {
    /// i18n key of the role's name.
    pub fn label_key(self) -> String {
        format!("roles.{}", self.as_str())
    }
}

#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = users, check_for_backend(diesel::sqlite::Sqlite, diesel::pg::Pg))]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub role: Role,
    pub password_hash: String,
    pub language: Option<String>,
    pub active: bool,
    pub password_changed_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn lang(&self) -> Option<Lang> {
        self.language.as_deref().and_then(Lang::parse)
    }

    pub fn actor(&self, remote_addr: Option<String>) -> Actor {
        Actor {
            user_id: Some(self.id.clone()),
            username: self.username.clone(),
            remote_addr,
        }
    }

    /// This user as the person of record of what they do.
    pub fn handler(&self, remote_addr: Option<String>) -> crate::audit::Handler {
        crate::audit::Handler {
            actor: self.actor(remote_addr),
            user_id: self.id.clone(),
        }
    }

    /// What the audit log keeps of an account: never the password hash.
    pub fn snapshot(&self) -> UserSnapshot<'_> {
        UserSnapshot {
            username: &self.username,
            full_name: &self.full_name,
            email: self.email.as_deref(),
            role: self.role.as_str(),
            language: self.language.as_deref(),
            active: self.active,
        }
    }
}

#[derive(Serialize)]
pub struct UserSnapshot<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub email: Option<&'a str>,
    pub role: &'a str,
    pub language: Option<&'a str>,
    pub active: bool,
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow<'a> {
    id: UserId,
    username: &'a str,
    full_name: &'a str,
    email: Option<&'a str>,
    role: Role,
    password_hash: &'a str,
    language: Option<&'a str>,
    active: bool,
    password_changed_at: NaiveDateTime,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// What an admin (or the first-run setup, or the command line) types to create an account.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct NewUserInput {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub password_confirm: String,
}

fn normalize_username(text: &str) -> String {
    text.trim().to_lowercase()
}

fn check_username(username: &str, errors: &mut FieldErrors) {
    let ok_chars = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if username.is_empty() {
        errors.add("username", "validation.required");
    } else if username.len() < 3 || username.len() > 40 || !ok_chars {
        errors.add("username", "validation.username_format");
    }
}

fn check_full_name(full_name: &str, errors: &mut FieldErrors) {
    check_text(errors, "full_name", full_name);
    if full_name.trim().is_empty() {
        errors.add("full_name", "validation.required");
    } else if full_name.trim().chars().count() > 120 {
        errors.add("full_name", "validation.too_long");
    }
}

fn check_email(email: &str, errors: &mut FieldErrors) {
    let email = email.trim();
    if !email.is_empty() {
        let valid = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !email.chars().any(|c| c.is_control() || c == UNREADABLE);
        if !valid || email.len() > 200 {
            errors.add("email", "validation.email_format");
        }
    }
}

fn check_new_password(password: &str, confirm: &str, field: &str, errors: &mut FieldErrors) {
    if let Some(key) = password::policy_violation(password) {
        errors.add(field, key);
    } else if password != confirm {
        errors.add(&format!("{field}_confirm"), "validation.password_mismatch");
    }
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

pub fn find(conn: &mut DbConn, id: &UserId) -> QueryResult<User> {
    users::table.find(id).select(User::as_select()).first(conn)
}

/// A user's full name and role, for pages that name a person (never their password hash).
pub fn name_and_role(conn: &mut DbConn, id: &UserId) -> QueryResult<(String, Role)> {
    let (name, role): (String, String) = users::table
        .find(id)
        .select((users::full_name, users::role))
        .first(conn)?;
    Ok((name, Role::parse(&role).unwrap_or(Role::Enforcement)))
}

pub fn find_by_username(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(normalize_username(username)))
        .select(User::as_select())
        .first(conn)
        .optional()
}

/// The full names of these users, for pages that show who did something; nothing else of
/// their accounts (no password hashes) is read.
pub fn names_of(conn: &mut DbConn, ids: &[UserId]) -> QueryResult<HashMap<UserId, String>> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::full_name))
        .load::<(UserId, String)>(conn)?
        .into_iter()
        .collect())
}

pub fn list(conn: &mut DbConn) -> QueryResult<Vec<User>> {
    users::table
        .select(User::as_select())
        .order((users::active.desc(), users::username.asc()))
        .load(conn)
}

/// The checks of a new account that need no database, made before its password is hashed;
/// the role it gets.
pub fn check_new(input: &NewUserInput, first_admin: bool) -> Result<Role, AppError> {
    let username = normalize_username(&input.username);
    let mut errors = FieldErrors::default();
    check_username(&username, &mut errors);
    check_full_name(&input.full_name, &mut errors);
    check_email(&input.email, &mut errors);
    let role = if first_admin {
        Some(Role::Admin)
    } else {
        Role::parse(&input.role)
    };
    if role.is_none() {
        errors.add("role", "validation.choose_one");
    }
    check_new_password(
        &input.password,
        &input.password_confirm,
        "password",
        &mut errors,
    );
    errors.into_result()?;
    Ok(role.unwrap_or(Role::Enforcement))
}

/// Creates an account whose password `hash` the caller computed (off the connection pool)
/// after `check_new`. `first_admin` is the first-run setup: it only succeeds while there is
/// no user at all, checked in the same transaction, so two browsers cannot both create one.
pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    input: &NewUserInput,
    first_admin: bool,
    hash: &str,
) -> Result<User, AppError> {
    let role = check_new(input, first_admin)?;
    let username = normalize_username(&input.username);
    write_tx(conn, |conn| {
        if first_admin {
            // Two setup forms sent at once must not both create an admin: PostgreSQL needs an
            // explicit lock (SQLite's BEGIN IMMEDIATE already serializes writers).
            if let DbConn::Postgres(_) = conn {
                diesel::connection::SimpleConnection::batch_execute(
                    conn,
                    "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE",
                )?;
            }
            if count(conn)? > 0 {
                return Err(AppError::Forbidden("errors.setup_done"));
            }
        }
        if find_by_username(conn, &username)?.is_some() {
            return Err(AppError::invalid("username", "validation.username_taken"));
        }
        let t = now();
        let id = UserId::new_v7();
        let email = opt(&input.email);
        diesel::insert_into(users::table)
            .values(NewUserRow {
                id: id.clone(),
                username: &username,
                full_name: input.full_name.trim(),
                email: email.as_deref(),
                role,
                password_hash: hash,
                language: None,
                active: true,
                password_changed_at: t,
                created_at: t,
                updated_at: t,
            })
            .execute(conn)?;
        let user = find(conn, &id)?;
        // The first admin is their own actor: there is nobody else yet.
        let actor = if first_admin {
            user.actor(actor.remote_addr.clone())
        } else {
            actor.clone()
        };
        let action = if first_admin {
            "setup_first_admin"
        } else {
            "create"
        };
        audit::record(
            conn,
            &actor,
            action,
            "user",
            Some(id.as_str()),
            None::<&()>,
            Some(&user.snapshot()),
        )?;
        Ok(user)
    })
    .map_err(|e: AppError| e.unique_as("username", "validation.username_taken"))
}

/// What an admin may change on an account.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct UserChangeInput {
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
    /// Checkbox: present when ticked.
    pub active: Option<String>,
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: &UserId,
    input: &UserChangeInput,
) -> Result<User, AppError> {
    let mut errors = FieldErrors::default();
    check_full_name(&input.full_name, &mut errors);
    check_email(&input.email, &mut errors);
    let role = Role::parse(&input.role);
    if role.is_none() {
        errors.add("role", "validation.choose_one");
    }
    let active = input.active.is_some();
    // An admin cannot lock themselves out, so the lab always keeps an administrator.
    if actor.user_id.as_ref() == Some(id) {
        if role != Some(Role::Admin) {
            errors.add("role", "validation.cannot_demote_self");
        }
        if !active {
            errors.add("active", "validation.cannot_deactivate_self");
        }
    }
    errors.into_result()?;
    let role = role.unwrap_or(Role::Enforcement);
    write_tx(conn, |conn| {
        let before = find(conn, id)?;
        let email = opt(&input.email);
        diesel::update(users::table.find(id))
            .set((
                users::full_name.eq(input.full_name.trim()),
                users::email.eq(email),
                users::role.eq(role.as_str()),
                users::active.eq(active),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let after = find(conn, id)?;
        if before.active && !after.active {
            session::end_all(
                conn,
                id,
                session::EndReason::Deactivated,
                actor.user_id.as_ref(),
            )?;
        }
        audit::record(
            conn,
            actor,
            "update",
            "user",
            Some(id.as_str()),
            Some(&before.snapshot()),
            Some(&after.snapshot()),
        )?;
        Ok(after)
    })
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct PasswordResetInput {
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub new_password_confirm: String,
}

/// Checks the new password an admin typed and hashes it. CPU-heavy (argon2): run it off the
/// connection pool, then store with `reset_password`.
pub fn prepare_reset(input: &PasswordResetInput) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    check_new_password(
        &input.new_password,
        &input.new_password_confirm,
        "new_password",
        &mut errors,
    );
    errors.into_result()?;
    password::hash(&input.new_password)
}

/// An admin sets a new password (hashed by `prepare_reset`); the user's open sessions end.
pub fn reset_password(
    conn: &mut DbConn,
    actor: &Actor,
    id: &UserId,
    hash: &str,
) -> Result<User, AppError> {
    write_tx(conn, |conn| {
        let user = find(conn, id)?;
        store_password(conn, id, hash)?;
        session::end_all(
            conn,
            id,
            session::EndReason::PasswordReset,
            actor.user_id.as_ref(),
        )?;
        audit::record(
            conn,
            actor,
            "reset_password",
            "user",
            Some(id.as_str()),
            None::<&()>,
            Some(&user.snapshot()),
        )?;
        Ok(user)
    })
}

#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct OwnPasswordInput {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
    #[serde(default)]
    pub new_password_confirm: String,
}

/// Checks a user's own password change against their `current_hash` and hashes the new
/// password. CPU-heavy (argon2): run it off the connection pool, then store with
/// `change_own_password`.
pub fn prepare_own_password(
    current_hash: &str,
    input: &OwnPasswordInput,
) -> Result<String, AppError> {
    let mut errors = FieldErrors::default();
    if !password::verify(&input.current_password, current_hash) {
        errors.add("current_password", "validation.current_password_wrong");
    }
    check_new_password(
        &input.new_password,
        &input.new_password_confirm,
        "new_password",
        &mut errors,
    );
    errors.into_result()?;
    password::hash(&input.new_password)
}

/// Stores a user's new password (hashed by `prepare_own_password`): every session of theirs
/// ends and the one they are using continues as a new session, whose token is returned.
pub fn change_own_password(
    conn: &mut DbConn,
    user: &User,
    client: &session::ClientInfo,
    idle: std::time::Duration,
    hash: &str,
) -> Result<session::Started, AppError> {
    write_tx(conn, |conn| {
        store_password(conn, &user.id, hash)?;
        session::end_all(
            conn,
            &user.id,
            session::EndReason::PasswordChanged,
            Some(&user.id),
        )?;
        let started = session::start(conn, user, client, idle)?;
        audit::record(
            conn,
            &user.actor(client.remote_addr.clone()),
            "change_own_password",
            "user",
            Some(user.id.as_str()),
            None::<&()>,
            Some(&user.snapshot()),
        )?;
        Ok(started)
    })
}

fn store_password(conn: &mut DbConn, id: &UserId, hash: &str) -> QueryResult<()> {
    let t = now();
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(t),
            users::updated_at.eq(t),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn set_language(
    conn: &mut DbConn,
    user: &User,
    remote_addr: Option<String>,
    lang: Lang,
) -> Result<(), AppError> {
    write_tx(conn, |conn| {
        diesel::update(users::table.find(&user.id))
            .set((users::language.eq(lang.code()), users::updated_at.eq(now())))
            .execute(conn)?;
        let after = find(conn, &user.id)?;
        audit::record(
            conn,
            &user.actor(remote_addr),
            "set_language",
            "user",
            Some(user.id.as_str()),
            Some(&user.snapshot()),
            Some(&after.snapshot()),
        )?;
        Ok(())
    })
}

/// Creates an account from the command line (`lims create-user`), audited as the operator.
pub fn create_from_cli(
    conn: &mut DbConn,
    username: &str,
    role: Role,
    full_name: &str,
    password: &str,
) -> Result<User, AppError> {
    let input = NewUserInput {
        username: username.to_string(),
        full_name: full_name.to_string(),
        email: String::new(),
        role: role.as_str().to_string(),
        password: password.to_string(),
        password_confirm: password.to_string(),
    };
    check_new(&input, false)?;
    let hash = password::hash(password)?;
    create(conn, &Actor::command_line(), &input, false, &hash)
}
