use std::io::{BufRead, IsTerminal, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use lims::config::{Config, Overrides};
use lims::custody;
use lims::db::{self, DbUrl};
use lims::user::Role;

/// Laboratory information management for customs laboratories.
#[derive(Parser)]
#[command(name = "lims", version, about, long_about = None)]
struct Cli {
    /// Database: sqlite://PATH (default sqlite://lims.db) or postgres://USER@HOST/DB.
    /// Overrides DATABASE_URL.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Folder for attachments and the generated secret and custody keys. Overrides
    /// LIMS_DATA_DIR.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply pending database migrations, then serve the web interface and API.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:8080. Overrides LIMS_BIND (default 127.0.0.1:8080).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a user account; the password is read from standard input.
    CreateUser {
        /// Login name (letters, digits, '.', '_' or '-').
        username: String,
        /// technician, supervisor, enforcement or admin.
        #[arg(long)]
        role: String,
        /// Full name as shown in records and reports.
        #[arg(long)]
        name: String,
    },
    /// Print a new API token for USERNAME (shown once; only its hash is stored).
    ApiToken {
        username: String,
        /// What the token is for, e.g. the customs system that uses it.
        #[arg(long)]
        label: Option<String>,
    },
    /// Write a consistent copy of the running SQLite database to FILE (PostgreSQL: use pg_dump).
    Backup { file: PathBuf },
    /// Re-compute every sample's custody chain and cross-check it with the head on the sample,
    /// the audit trail and the sample's status; prints each broken chain with its first bad
    /// event and exits non-zero if there is any.
    VerifyCustody {
        /// A checkpoint written by custody-checkpoint: also report every chain that no longer
        /// extends the head it saw (truncation, a database restored from an older copy).
        #[arg(long, value_name = "CHECKPOINT")]
        since: Option<PathBuf>,
    },
    /// Write a signed checkpoint of every custody chain's head to FILE (never overwritten).
    /// Keep it off the server; verify-custody --since FILE compares with it later.
    CustodyCheckpoint { file: PathBuf },
    /// Fill the database with a realistic demo laboratory (staff of every role, storage
    /// locations, seizures and samples in every status). Passwords are printed once.
    ///
    /// Meant for trying the product out and for measurements: it adds accounts and records,
    /// so never run it on a production database.
    SeedDemo {
        /// How many seizures to create (each with 1 to 3 samples).
        #[arg(long, default_value_t = 40)]
        seizures: usize,
    },
    /// Import or update the tariff nomenclature from FILE.csv.
    ///
    /// Columns section,hscode,description,parent,level, as in the HS2022 file, and optionally
    /// description_es (the Spanish wording, shown in the Spanish interface); a national
    /// tariff with 8–10 digit lines uses the same layout. Nothing is stored if any row is bad
    /// (each is reported with its line number); lines already present are updated.
    ImportTariff {
        /// CSV file in UTF-8, e.g. hs2022.csv.
        file: PathBuf,
        /// Name stored with the lines, e.g. HS2022 or NANDINA.
        #[arg(long, default_value = lims::tariff::DEFAULT_NOMENCLATURE)]
        nomenclature: String,
    },
}

fn main() -> ExitCode {
    // A missing .env is normal; a broken one is reported.
    if let Err(e) = dotenvy::dotenv() {
        if !e.not_found() {
            eprintln!("warning: .env not read: {e}");
        }
    }
    if let Err(message) = lims::logging::init() {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    let bind = match &cli.command {
        Command::Serve { bind } => bind.clone(),
        _ => None,
    };
    let config = Config::load(Overrides {
        database_url: cli.database_url,
        bind,
        data_dir: cli.data_dir,
    })
    .map_err(|e| e.to_string())?;
    let keys = custody::key::Keyring::from_config(&config);
    custody::key::install(keys.clone())?;
    let url = DbUrl::parse(&config.database_url)?;
    let pool = db::build_pool(&url).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let applied = db::migrate(&mut conn).map_err(|e| e.to_string())?;
    for name in &applied {
        tracing::info!(migration = %name, "applied");
    }
    let sealed =
        custody::seal::seal_unkeyed_chains(&mut conn, &keys, &lims::audit::Actor::command_line())
            .map_err(|e| {
            format!("cannot seal the custody chains recorded before keyed custody: {e}")
        })?;
    if sealed > 0 {
        tracing::info!(
            chains = sealed,
            key_id = keys.active().id(),
            "sealed unkeyed custody chains"
        );
    }
    match cli.command {
        Command::Migrate => {
            println!(
                "{} migration(s) applied; the database is up to date.",
                applied.len()
            );
            Ok(())
        }
        Command::Serve { .. } => {
            drop(conn);
            serve(config, pool)
        }
        Command::CreateUser {
            username,
            role,
            name,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                format!("unknown role {role:?}: use technician, supervisor, enforcement or admin")
            })?;
            let password = read_password()?;
            let user = lims::user::create_from_cli(&mut conn, &username, role, &name, &password)
                .map_err(describe)?;
            println!(
                "created {} ({}) as {}",
                user.username, user.full_name, user.role
            );
            Ok(())
        }
        Command::ApiToken { username, label } => {
            let user = lims::user::find_by_username(&mut conn, &username)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no user named {username:?}"))?;
            let token = lims::api_token::create(
                &mut conn,
                &lims::audit::Actor::command_line(),
                &user,
                label.as_deref(),
            )
            .map_err(describe)?;
            println!("{token}");
            Ok(())
        }
        Command::VerifyCustody { since } => verify_custody(&mut conn, &keys, since.as_deref()),
        Command::CustodyCheckpoint { file } => custody_checkpoint(&mut conn, &keys, &file),
        Command::SeedDemo { seizures } => seed_demo(&mut conn, seizures, &config),
        Command::Backup { file } => {
            lims::backup::backup(&mut conn, &file).map_err(|e| e.to_string())?;
            println!("backup written to {}", file.display());
            Ok(())
        }
        Command::ImportTariff { file, nomenclature } => {
            import_tariff(&mut conn, &file, &nomenclature)
        }
    }
}

fn progress_bar(total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!(
            "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

fn verify_custody(
    conn: &mut db::DbConn,
    keys: &custody::key::Keyring,
    since: Option<&Path>,
) -> Result<(), String> {
    use diesel::prelude::*;
    use std::io::BufReader;
    // A tampered checkpoint is refused before anything is compared with it.
    let open = |path: &Path| {
        std::fs::File::open(path)
            .map(BufReader::new)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
    };
    let checkpoint = match since {
        Some(path) => {
            let summary = custody::checkpoint::check(keys, open(path)?)
                .map_err(|e| format!("checkpoint {} refused: {e}", path.display()))?;
            Some((path, summary))
        }
        None => None,
    };
    let total: i64 = lims::db::schema::samples::table
        .count()
        .get_result(conn)
        .map_err(|e| e.to_string())?;
    let bar = progress_bar(total as u64, "samples");
    let report = custody::verify::verify_all(conn, keys, |_, p| {
        bar.set_position(p.samples as u64);
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    let mut breaks = custody::verify::Breaks::default();
    report.breaks.into_iter().for_each(|b| breaks.note(b));
    if let Some((path, summary)) = &checkpoint {
        println!(
            "checkpoint of {} (key {}): {} chains, {} events, heads digest {}",
            summary.created_at,
            summary.key_id,
            summary.samples,
            summary.events,
            summary.heads_digest
        );
        custody::checkpoint::compare(conn, open(path)?)
            .map_err(|e| e.to_string())?
            .into_iter()
            .for_each(|b| breaks.note(b));
    }
    let breaks = breaks.into_vec();
    for b in &breaks {
        let event = b
            .event_id
            .as_ref()
            .map(|id| format!(" ({id})"))
            .unwrap_or_default();
        println!(
            "BROKEN {}: first bad event #{}{event} — {}",
            b.lab_code, b.seq, b.problem
        );
    }
    for a in &report.anchors {
        println!(
            "BROKEN ANCHOR of report {}: {} event #{} no longer holds the hash the report signed",
            a.report_number, a.lab_code, a.seq
        );
    }
    let since_text = if checkpoint.is_some() {
        "; every chain extends the checkpoint"
    } else {
        ""
    };
    if breaks.is_empty() && report.anchors.is_empty() {
        println!(
            "{} sample chain(s), {} event(s) checked; all intact{since_text}.",
            report.samples, report.events
        );
        Ok(())
    } else if breaks.is_empty() {
        Err(format!(
            "{} report anchor(s) no longer hold",
            report.anchors.len()
        ))
    } else {
        Err(format!(
            "{} of {} custody chain(s) are broken",
            breaks.len(),
            report.samples
        ))
    }
}

fn custody_checkpoint(
    conn: &mut db::DbConn,
    keys: &custody::key::Keyring,
    file: &Path,
) -> Result<(), String> {
    let out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let mut out = std::io::BufWriter::new(out);
    let summary = match custody::checkpoint::write(conn, keys, db::now(), &mut out) {
        Ok(summary) => summary,
        Err(e) => {
            drop(out);
            // A partial file must not pass for a checkpoint (and would be refused anyway).
            let _ = std::fs::remove_file(file);
            return Err(e.to_string());
        }
    };
    custody::checkpoint::record(conn, &lims::audit::Actor::command_line(), &summary)
        .map_err(|e| e.to_string())?;
    println!(
        "checkpoint written to {}: {} chains, {} events, key {}, heads digest {}",
        file.display(),
        summary.samples,
        summary.events,
        summary.key_id,
        summary.heads_digest
    );
    Ok(())
}

fn seed_demo(conn: &mut db::DbConn, seizures: usize, config: &Config) -> Result<(), String> {
    let tz = config.timezone;
    let bar = progress_bar(seizures as u64, "seizures");
    let created = lims::demo::seed(conn, seizures, tz, None, |n| bar.set_position(n as u64))
        .map_err(describe)?;
    bar.finish_and_clear();
    println!(
        "Demo laboratory ready: {} seizures with {} samples.",
        created.seizures, created.samples
    );
    // The PDFs go to the attachment store, which is async: a runtime for this command alone.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .map_err(|e| e.to_string())?;
    let files = lims::blob::Blocking {
        store: lims::blob::BlobStore::open(&config.storage_url).map_err(|e| e.to_string())?,
        runtime: runtime.handle().clone(),
    };
    let issuing = lims::report::sign::Issuing {
        keys: custody::key::installed().map_err(|e| e.to_string())?,
        files: &files,
        public_url: &config.public_url,
        tz,
    };
    let reports = lims::demo_reports::seed(conn, &created, &issuing).map_err(describe)?;
    if reports > 0 {
        println!("{reports} demo report version(s) issued, with their PDFs.");
    }
    if created.accounts.is_empty() {
        println!("The demo accounts already existed; their passwords were not changed.");
    } else {
        println!("Accounts created (passwords are shown only now):");
        for line in lims::demo::describe(&created) {
            println!("{line}");
        }
    }
    Ok(())
}

fn import_tariff(conn: &mut db::DbConn, file: &Path, nomenclature: &str) -> Result<(), String> {
    use lims::i18n::Lang;
    // Enough to see the pattern of a bad file without flooding the terminal.
    const SHOWN: usize = 20;
    let summary = lims::tariff::import_file(
        conn,
        &lims::audit::Actor::command_line(),
        file,
        nomenclature,
    )
    .map_err(|e| {
        let messages = e.messages(Lang::En);
        let mut text = messages
            .iter()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n");
        if messages.len() > SHOWN {
            text.push_str(&format!("\n... and {} more", messages.len() - SHOWN));
        }
        text
    })?;
    let total = lims::tariff::count(conn).map_err(|e| e.to_string())?;
    println!(
        "imported {} as {}: {} new, {} updated; {} tariff lines in the database",
        summary.file, summary.nomenclature, summary.inserted, summary.updated, total
    );
    Ok(())
}

fn read_password() -> Result<String, String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (at least 10 characters): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Field errors in English words for the terminal.
fn describe(e: lims::error::AppError) -> String {
    match e {
        lims::error::AppError::Invalid(errors) => errors
            .fields()
            .map(|(field, key)| format!("{field}: {}", lims::i18n::t(lims::i18n::Lang::En, key)))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn serve(config: Config, pool: db::Pool) -> Result<(), String> {
    // A wrong LIMS_STORAGE_URL is said at start, not at the first upload.
    lims::blob::BlobStore::open(&config.storage_url).map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(&config.bind)
        .map_err(|e| format!("cannot listen on {}: {e}", config.bind))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("LIMS is running: open http://{addr}/ in a browser (Ctrl+C stops it)");
    let state = lims::web::AppState::new(pool, config);
    actix_web::rt::System::new()
        .block_on(async move { lims::web::run(listener, state)?.await })
        .map_err(|e| e.to_string())
}
