//! Configuration from the environment (a `.env` file is read first) with command-line overrides.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha512};

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub bind: String,
    /// 64 bytes: signing and encryption key of the session cookie.
    pub secret_key: Vec<u8>,
    /// 32 bytes: the key of the custody chains' HMACs and checkpoints. Never stored in the
    /// database, and separate from `secret_key` so that rotating sessions never touches evidence.
    pub custody_key: Vec<u8>,
    /// Earlier custody keys, still accepted when verifying what they signed.
    pub custody_keys_old: Vec<Vec<u8>>,
    pub data_dir: PathBuf,
    pub storage_url: String,
    /// The largest attachment accepted, in MB (`LIMS_MAX_UPLOAD_MB`, default 50).
    pub max_upload_mb: u64,
    /// Where the public reaches this lab (`LIMS_PUBLIC_URL`): the base of the verification
    /// links printed on reports. Default `http://` + the bind address.
    pub public_url: String,
    pub cookie_secure: bool,
    pub session_idle: Duration,
    pub timezone: chrono_tz::Tz,
    /// Proxies whose forwarded client address is believed (`LIMS_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://lims.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// Values that may come from flags; `None` falls back to the environment, then the default.
#[derive(Default, Debug, Clone)]
pub struct Overrides {
    pub database_url: Option<String>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the environment (after `.env`) and applies the overrides. Creates the data
    /// directory and, when `LIMS_SECRET_KEY` or `LIMS_CUSTODY_KEY` is absent, a persistent key
    /// inside it (`secret.key`, `custody.key`).
    pub fn load(overrides: Overrides) -> Result<Config, ConfigError> {
        let database_url = overrides
            .database_url
            .or_else(|| env("DATABASE_URL"))
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let bind = overrides
            .bind
            .or_else(|| env("LIMS_BIND"))
            .unwrap_or_else(|| DEFAULT_BIND.to_string());
        let data_dir = overrides
            .data_dir
            .or_else(|| env("LIMS_DATA_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./data"));
        std::fs::create_dir_all(&data_dir).map_err(|source| ConfigError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let storage_url = env("LIMS_STORAGE_URL")
            .unwrap_or_else(|| format!("file://{}", data_dir.join("attachments").display()));
        let max_upload_mb = match env("LIMS_MAX_UPLOAD_MB") {
            // The database refuses files over 10 GiB (10240 MB).
            Some(v) => v
                .parse()
                .ok()
                .filter(|m| (1..=10240).contains(m))
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "LIMS_MAX_UPLOAD_MB must be a whole number of megabytes from 1 to 10240, got {v:?}"
                    ))
                })?,
            None => 50,
        };
        let public_url = match env("LIMS_PUBLIC_URL") {
            Some(v) => match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                    v.trim_end_matches('/').to_string()
                }
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "LIMS_PUBLIC_URL must be an http(s) address such as https://lims.aduana.gob.pe, got {v:?}"
                    )))
                }
            },
            None => format!("http://{bind}"),
        };
        let secret_key = match env("LIMS_SECRET_KEY") {
            Some(given) => key_from_text(&given, &SECRET_KEY)?,
            None => load_or_create_key(&data_dir, "secret.key", &SECRET_KEY)?,
        };
        let custody_key = match env("LIMS_CUSTODY_KEY") {
            Some(given) => key_from_text(&given, &CUSTODY_KEY)?,
            None => load_or_create_key(&data_dir, "custody.key", &CUSTODY_KEY)?,
        };
        let custody_keys_old = env("LIMS_CUSTODY_KEYS_OLD")
            .map(|list| {
                list.split(',')
                    .filter(|k| !k.trim().is_empty())
                    .map(|k| key_from_text(k, &OLD_CUSTODY_KEY))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?
            .unwrap_or_default();
        let cookie_secure = matches!(
            env("LIMS_COOKIE_SECURE").as_deref(),
            Some("1") | Some("true") | Some("yes")
        );
        let idle_min: u64 = match env("LIMS_SESSION_IDLE_MIN") {
            Some(v) => v.parse().ok().filter(|m| *m > 0).ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "LIMS_SESSION_IDLE_MIN must be a whole number of minutes, got {v:?}"
                ))
            })?,
            None => 30,
        };
        let tz_name = env("LIMS_TIMEZONE").unwrap_or_else(|| "America/Lima".to_string());
        let timezone = tz_name.parse::<chrono_tz::Tz>().map_err(|_| {
            ConfigError::Invalid(format!(
                "LIMS_TIMEZONE {tz_name:?} is not an IANA time zone such as America/Lima or America/La_Paz"
            ))
        })?;
        let trusted_proxies = match env("LIMS_TRUSTED_PROXIES") {
            Some(list) => parse_networks(&list)?,
            None => Vec::new(),
        };
        Ok(Config {
            database_url,
            bind,
            secret_key,
            custody_key,
            custody_keys_old,
            data_dir,
            storage_url,
            max_upload_mb,
            public_url,
            cookie_secure,
            session_idle: Duration::from_secs(idle_min * 60),
            timezone,
            trusted_proxies,
        })
    }
}

/// Comma-separated CIDRs (`10.0.0.0/8, 2001:db8::/32`); a bare address is one host.
pub fn parse_networks(list: &str) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::Invalid(format!(
                        "LIMS_TRUSTED_PROXIES: {item:?} is not an address or CIDR such as 10.0.0.0/8"
                    ))
                })
        })
        .collect()
}

/// A key the configuration reads: the variable that gives it and its length.
struct KeySpec {
    variable: &'static str,
    len: usize,
}

const SECRET_KEY: KeySpec = KeySpec {
    variable: "LIMS_SECRET_KEY",
    len: 64,
};

const CUSTODY_KEY: KeySpec = KeySpec {
    variable: "LIMS_CUSTODY_KEY",
    len: 32,
};

const OLD_CUSTODY_KEY: KeySpec = KeySpec {
    variable: "LIMS_CUSTODY_KEYS_OLD",
    len: 32,
};

/// Accepts base64 of at least `len` bytes as is; any other text of at least 32 characters is
/// stretched with SHA-512 so operators can use a passphrase.
fn key_from_text(text: &str, spec: &KeySpec) -> Result<Vec<u8>, ConfigError> {
    let text = text.trim();
    if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(text) {
        if bytes.len() >= spec.len {
            return Ok(bytes[..spec.len].to_vec());
        }
    }
    if text.chars().count() < 32 {
        return Err(ConfigError::Invalid(format!(
            "{} must be at least 32 characters (or base64 of {} random bytes)",
            spec.variable, spec.len
        )));
    }
    Ok(Sha512::digest(text.as_bytes())[..spec.len].to_vec())
}

fn load_or_create_key(data_dir: &Path, file: &str, spec: &KeySpec) -> Result<Vec<u8>, ConfigError> {
    let path = data_dir.join(file);
    let io_err = |source| ConfigError::DataDir {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        let text = std::fs::read_to_string(&path).map_err(io_err)?;
        return key_from_text(&text, spec);
    }
    let mut bytes = vec![0u8; spec.len];
    rand::fill(&mut bytes[..]);
    let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
    write_private(&path, text.as_bytes()).map_err(io_err)?;
    tracing::info!(path = %path.display(), "generated a new key");
    Ok(bytes)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_proxies_are_cidrs_or_addresses() {
        let nets = parse_networks(" 10.0.0.0/8, 192.168.1.5 ,2001:db8::/32,").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.168.1.5".parse::<std::net::IpAddr>().unwrap()));
        assert!(parse_networks("10.0.0.0/33").is_err());
        assert!(parse_networks("proxy.example").is_err());
        assert!(parse_networks("").unwrap().is_empty());
    }
}
