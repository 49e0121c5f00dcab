//! `lims seed-demo`: a realistic laboratory to try the product or to measure it — staff of
//! every role, storage locations, the lab's methods, instruments and authorizations
//! (`demo_lab`), and seizures at Peruvian and Bolivian customs offices with
//! samples in every status and their custody histories, all written through the same domain
//! functions (and audit) as the web interface.

use base64::Engine;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

use crate::audit::{self, Actor};
use crate::db::{now, write_tx, DbConn};
use crate::error::AppError;
use crate::ids::StorageLocationId;
use crate::sample::movement::{self, EventInput, Proofs};
use crate::sample::receipt::{self, ReceiptInput};
use crate::sample::{self, SampleInput, SubsampleInput};
use crate::seizure::{self, SeizureInput};
use crate::user::{self, Role, User};

/// Accounts the demo creates; existing accounts of the same name are left untouched.
const STAFF: &[(&str, Role, &str)] = &[
    ("admin", Role::Admin, "Administrador del Sistema"),
    ("tecnico1", Role::Technician, "Lucía Quispe Mamani"),
    ("tecnico2", Role::Technician, "Jorge Condori Flores"),
    ("tecnico3", Role::Technician, "Rosa Huanca Choque"),
    ("supervisor1", Role::Supervisor, "Dra. Carmen Vargas Rojas"),
    (
        "supervisor2",
        Role::Supervisor,
        "Ing. Marco Salazar Paredes",
    ),
    ("oficial1", Role::Enforcement, "Of. Pedro Ramírez Soto"),
    ("oficial2", Role::Enforcement, "Of. Ana Gutiérrez Limachi"),
];

const OFFICES: &[(&str, &str)] = &[
    (
        "Intendencia de Aduana Marítima del Callao",
        "Terminal Muelle Sur, Callao",
    ),
    (
        "Intendencia de Aduana Aérea y Postal",
        "Aeropuerto Jorge Chávez, Lima",
    ),
    (
        "Intendencia de Aduana de Tacna",
        "Complejo fronterizo Santa Rosa, Tacna",
    ),
    (
        "Intendencia de Aduana de Puno",
        "Puesto de control Desaguadero, Puno",
    ),
    (
        "Administración de Aduana Interior El Alto",
        "Zona Franca Comercial, El Alto",
    ),
    (
        "Administración de Aduana Frontera Desaguadero",
        "Puente internacional, Desaguadero",
    ),
    (
        "Administración de Aduana Frontera Puerto Suárez",
        "Paso fronterizo Arroyo Concepción",
    ),
];

/// Goods: description, declared HS code, matrix, quantity unit, requested tests.
const GOODS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "Polvo blanco compactado en paquetes tipo ladrillo",
        "252010",
        "polvo",
        "g",
        "Identificación de cocaína; pureza",
    ),
    (
        "Tabletas rosadas sin marca declaradas como vitaminas",
        "300490",
        "tableta",
        "units",
        "Identificación de principio activo",
    ),
    (
        "Líquido incoloro en bidones, declarado como solvente",
        "291411",
        "líquido",
        "L",
        "Identificación de precursores (acetona, MEK)",
    ),
    (
        "Zapatillas deportivas con marca presuntamente falsificada",
        "640411",
        "calzado",
        "units",
        "Examen de marca y composición",
    ),
    (
        "Whisky escocés en botellas de 750 mL",
        "220830",
        "líquido",
        "mL",
        "Grado alcohólico; metanol",
    ),
    (
        "Cigarrillos sin timbre fiscal",
        "240220",
        "tabaco",
        "units",
        "Composición y marca",
    ),
    (
        "Fertilizante granulado declarado como urea",
        "310210",
        "gránulos",
        "kg",
        "Nitrógeno total; nitrato de amonio",
    ),
    (
        "Aceite lubricante para motores",
        "271019",
        "líquido",
        "L",
        "Clasificación: aceite base o preparación",
    ),
    (
        "Juguetes de plástico para niños",
        "950300",
        "sólido",
        "units",
        "Plomo y cadmio en pintura",
    ),
    (
        "Tejido de algodón teñido, en rollos",
        "520852",
        "textil",
        "g",
        "Composición de fibras",
    ),
    (
        "Concentrado de mineral de zinc",
        "260800",
        "polvo",
        "kg",
        "Contenido de zinc y plata",
    ),
    (
        "Hojas secas de color verde en sacos",
        "121190",
        "vegetal",
        "kg",
        "Identificación de hoja de coca",
    ),
];

const COUNTRIES: &[&str] = &[
    "CN", "CO", "BO", "PE", "BR", "AR", "CL", "US", "IN", "PY", "EC", "MX",
];

const IMPORTERS: &[&str] = &[
    "Importaciones Andinas S.A.C.",
    "Comercial El Sol E.I.R.L.",
    "Distribuidora Titicaca S.R.L.",
    "Grupo Pacífico Trading S.A.",
    "Altiplano Import Export Ltda.",
    "Inversiones Santa Cruz S.R.L.",
];

const CHANNELS: &[&str] = &["red", "red", "amber", "green", "intelligence", "random"];

/// User name, role and one-time password of each account created.
pub type Accounts = Vec<(String, Role, String)>;

/// The accounts created, with their one-time passwords.
pub struct Created {
    pub accounts: Accounts,
    pub seizures: usize,
    pub samples: usize,
}

fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn ensure_staff(conn: &mut DbConn) -> Result<(Vec<User>, Accounts), AppError> {
    let mut users = Vec::new();
    let mut created = Vec::new();
    for (username, role, name) in STAFF {
        match user::find_by_username(conn, username)? {
            Some(u) => users.push(u),
            None => {
                let password = random_password();
                users.push(user::create_from_cli(
                    conn, username, *role, name, &password,
                )?);
                created.push((username.to_string(), *role, password));
            }
        }
    }
    Ok((users, created))
}

/// Building / room / fridge / shelf; only when the lab has no locations yet.
fn ensure_locations(conn: &mut DbConn, actor: &Actor) -> Result<Vec<StorageLocationId>, AppError> {
    let existing = crate::storage::active_options(conn)?;
    if !existing.is_empty() {
        return Ok(existing.into_iter().map(|(id, _)| id).collect());
    }
    let tree: &[(&str, &str, &str, Option<&str>)] = &[
        ("LAB-A", "Edificio A", "building", None),
        ("LAB-A-REC", "Sala de recepción", "room", Some("LAB-A")),
        (
            "LAB-A-EVID",
            "Depósito de evidencias",
            "room",
            Some("LAB-A"),
        ),
        (
            "LAB-A-EVID-F1",
            "Refrigerador 1",
            "fridge",
            Some("LAB-A-EVID"),
        ),
        ("LAB-A-EVID-S1", "Estante 1", "shelf", Some("LAB-A-EVID")),
        ("LAB-A-EVID-S2", "Estante 2", "shelf", Some("LAB-A-EVID")),
        (
            "LAB-A-EVID-CF",
            "Caja fuerte de estupefacientes",
            "safe",
            Some("LAB-A-EVID"),
        ),
    ];
    let mut ids: Vec<(String, StorageLocationId)> = Vec::new();
    for (code, name, kind, parent) in tree {
        let parent_id = parent
            .and_then(|p| ids.iter().find(|(c, _)| c == p))
            .map(|(_, id)| id.to_string())
            .unwrap_or_default();
        let loc = crate::storage::create(
            conn,
            actor,
            &crate::storage::NewLocationInput {
                code: code.to_string(),
                name: name.to_string(),
                kind: kind.to_string(),
                parent_id,
            },
        )?;
        ids.push((code.to_string(), loc.id));
    }
    // Samples go to rooms, fridges, shelves and the safe, not to the building itself.
    Ok(ids.into_iter().skip(1).map(|(_, id)| id).collect())
}

/// Seeds the demo lab; `progress` is told how many seizures are done. A `random_seed` makes
/// the data repeatable (tests); without it every run differs.
pub fn seed(
    conn: &mut DbConn,
    seizures: usize,
    tz: chrono_tz::Tz,
    random_seed: Option<u64>,
    mut progress: impl FnMut(usize),
) -> Result<Created, AppError> {
    let (users, accounts) = ensure_staff(conn)?;
    let by_role = |role: Role| -> Vec<&User> { users.iter().filter(|u| u.role == role).collect() };
    let admin = by_role(Role::Admin)[0].clone();
    let technicians: Vec<User> = by_role(Role::Technician).into_iter().cloned().collect();
    let officers: Vec<User> = by_role(Role::Enforcement).into_iter().cloned().collect();
    let locations = ensure_locations(conn, &admin.actor(None))?;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let supervisors: Vec<User> = by_role(Role::Supervisor).into_iter().cloned().collect();
    crate::demo_lab::ensure_lab_records(conn, &admin, &supervisors, &technicians, today)?;
    let mut rng: StdRng = match random_seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => StdRng::from_rng(&mut rand::rng()),
    };
    let mut samples_done = 0;
    let year = sample::lab_year(tz);
    // Batches keep each transaction short while amortising SQLite's commit cost.
    const BATCH: usize = 200;
    let mut done = 0;
    while done < seizures {
        let n = BATCH.min(seizures - done);
        samples_done += write_tx(conn, |conn| {
            let mut count = 0;
            for _ in 0..n {
                count += one_seizure(
                    conn,
                    &mut rng,
                    year,
                    tz,
                    &officers,
                    &technicians,
                    &locations,
                )?;
            }
            Ok::<_, AppError>(count)
        })?;
        done += n;
        progress(done);
    }
    crate::demo_lab::ensure_tests(conn, &supervisors, &technicians, today, tz)?;
    write_tx(conn, |conn| {
        audit::record(
            conn,
            &Actor::command_line(),
            "seed_demo",
            "demo",
            None,
            None::<&()>,
            Some(&serde_json::json!({ "seizures": seizures, "samples": samples_done })),
        )
    })?;
    Ok(Created {
        accounts,
        seizures,
        samples: samples_done,
    })
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("non-empty demo list")
}

fn one_seizure(
    conn: &mut DbConn,
    rng: &mut impl Rng,
    year: i32,
    tz: chrono_tz::Tz,
    officers: &[User],
    technicians: &[User],
    locations: &[StorageLocationId],
) -> Result<usize, AppError> {
    let officer = pick(rng, officers);
    let (office, place) = pick(rng, OFFICES);
    let goods = pick(rng, GOODS);
    let n = crate::counter::next(conn, &format!("demo_acta:{year}"))?;
    let days_ago = rng.random_range(1..180);
    let seized_at = now()
        - chrono::TimeDelta::days(days_ago)
        - chrono::TimeDelta::minutes(rng.random_range(0..600));
    let input = SeizureInput {
        reference: format!("ACTA-{year}-{n:06}"),
        customs_office: office.to_string(),
        declaration_number: if rng.random_bool(0.7) {
            format!(
                "{}-{}-10-{:06}",
                rng.random_range(118..299),
                year,
                rng.random_range(1..999_999)
            )
        } else {
            String::new()
        },
        seized_at: crate::validation::local_input_value(&seized_at, tz),
        place: place.to_string(),
        seizing_officer: officer.full_name.clone(),
        goods_description: goods.0.to_string(),
        declared_hs_code: goods.1.to_string(),
        origin_country: pick(rng, COUNTRIES).to_string(),
        importer: pick(rng, IMPORTERS).to_string(),
        risk_channel: pick(rng, CHANNELS).to_string(),
        notes: String::new(),
    };
    let rows: Vec<SampleInput> = (0..rng.random_range(1..=3))
        .map(|i| SampleInput {
            description: format!("{} — muestra {}", goods.0, i + 1),
            matrix: goods.2.to_string(),
            quantity: format!("{}", rng.random_range(5..500)),
            quantity_unit: goods.3.to_string(),
            package_count: format!("{}", rng.random_range(1..5)),
            seal_number: format!("PR-{:07}", rng.random_range(1..9_999_999)),
            priority: if rng.random_bool(0.2) {
                "urgent"
            } else {
                "routine"
            }
            .into(),
            requested_tests: goods.4.to_string(),
            due_date: (seized_at + chrono::TimeDelta::days(rng.random_range(10..40)))
                .format("%Y-%m-%d")
                .to_string(),
        })
        .collect();
    let registered = seizure::register(conn, &officer.handler(None), &input, &rows, true, tz)?;
    for s in &registered.samples {
        let tech = pick(rng, technicians);
        let who = tech.handler(None);
        let fate: u32 = rng.random_range(0..100);
        if fate < 20 {
            continue; // still registered, awaiting receipt
        }
        let broken = rng.random_bool(0.05);
        let reject = fate < 25;
        receipt::receive(
            conn,
            &who,
            &s.id,
            &ReceiptInput {
                seal_number: s.seal_number.clone().unwrap_or_default(),
                seal_intact: if broken { "no" } else { "yes" }.into(),
                quantity: s.quantity.map(|q| q.to_string()).unwrap_or_default(),
                quantity_unit: s.quantity_unit.clone().unwrap_or_default(),
                quantity_sufficient: "yes".into(),
                condition: "Envase cerrado, sin humedad".into(),
                storage_location_id: if reject {
                    String::new()
                } else {
                    pick(rng, locations).to_string()
                },
                delivered_by: officer.full_name.clone(),
                notes: if broken || reject {
                    "Precinto violentado a la llegada; se informa a la intendencia".into()
                } else {
                    String::new()
                },
                decision: if reject { "reject" } else { "accept" }.into(),
                ..Default::default()
            },
            tz,
        )?;
        if reject {
            continue;
        }
        let event = |kind: &str| EventInput {
            kind: kind.to_string(),
            ..Default::default()
        };
        match fate {
            25..=34 => {
                sample::create_subsample(
                    conn,
                    &who,
                    &s.id,
                    &SubsampleInput {
                        kind: "counter_sample".into(),
                        description: "Contramuestra para el declarante".into(),
                        quantity: "5".into(),
                        quantity_unit: s.quantity_unit.clone().unwrap_or_default(),
                        seal_number: format!("PR-{:07}", rng.random_range(1..9_999_999)),
                        reason: "Contramuestra según procedimiento".into(),
                        confirm: "yes".into(),
                        ..Default::default()
                    },
                )?;
            }
            35..=44 => {
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        reason: "Apertura para toma de alícuota".into(),
                        seal_intact: "yes".into(),
                        ..event("opened")
                    },
                    tz,
                    &Proofs::default(),
                )?;
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        new_seal_number: format!("LAB-PR-{:06}", rng.random_range(1..999_999)),
                        ..event("resealed")
                    },
                    tz,
                    &Proofs::default(),
                )?;
            }
            45..=49 => {
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        external_lab: "Laboratorio Central de Aduanas, Santiago de Chile".into(),
                        reason: "Confirmación por técnica no disponible en el laboratorio".into(),
                        ..event("sent_external")
                    },
                    tz,
                    &Proofs::default(),
                )?;
            }
            50..=56 => {
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        to_party: "Representante del importador (DNI 40XXXXXX)".into(),
                        reason: "Mercancía liberada".into(),
                        ..event("returned_to_owner")
                    },
                    tz,
                    &Proofs::default(),
                )?;
            }
            57..=64 => {
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        witness_kind: "external".into(),
                        witness: "Fiscal adjunto provincial".into(),
                        witness_document: "DNI 40XXXXXX".into(),
                        reason: "Incineración según resolución judicial".into(),
                        confirm: "yes".into(),
                        ..event("destroyed")
                    },
                    tz,
                    &Proofs::default(),
                )?;
            }
            65..=69 => {
                movement::record(
                    conn,
                    &who,
                    &s.id,
                    &EventInput {
                        retained_until: (chrono::Utc::now().date_naive()
                            + chrono::TimeDelta::days(365))
                        .format("%Y-%m-%d")
                        .to_string(),
                        reason: "Retención por proceso judicial en curso".into(),
                        ..event("retained")
                    },
                    tz,
                    &Proofs::default(),
                )?;
            }
            _ => {}
        }
    }
    Ok(registered.samples.len())
}

/// Who registered demo data, for messages.
pub fn describe(created: &Created) -> Vec<String> {
    created
        .accounts
        .iter()
        .map(|(u, r, p)| format!("  {u:<12} {:<12} {p}", r.as_str()))
        .collect()
}
