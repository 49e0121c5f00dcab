-- Signed-in sessions, kept in the database so every instance agrees on which are open:
-- the encrypted cookie carries only a random token, whose SHA-256 is stored here. Logout,
-- a password change or reset, deactivation, an administrator or the idle timeout end a
-- session; ended rows stay as the record of who was signed in from where.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    idle_expires_at TIMESTAMP NOT NULL,
    user_agent TEXT,
    remote_addr TEXT,
    ended_at TIMESTAMP,
    ended_reason TEXT,
    ended_by TEXT REFERENCES users (id)
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_open_idx ON sessions (user_id, ended_at);
