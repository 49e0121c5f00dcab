//! Both catalogues hold the same keys, and every key the code and templates use exists.

use std::collections::BTreeSet;
use std::path::Path;

/// Flattens the two-space indented YAML of `locales/` into dotted keys.
fn catalogue_keys(file: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
    let mut stack: Vec<String> = Vec::new();
    let mut keys = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
    {
        let depth = (line.len() - line.trim_start().len()) / 2;
        let (key, value) = line.trim().split_once(':').expect("key: value");
        stack.truncate(depth);
        stack.push(key.to_string());
        if !value.trim().is_empty() {
            keys.insert(stack.join("."));
        }
    }
    keys
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// String literals that look like catalogue keys, in templates and Rust sources.
fn used_keys() -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let namespaces = [
        "app.",
        "nav.",
        "roles.",
        "form.",
        "pager.",
        "setup.",
        "auth.",
        "home.",
        "account.",
        "users.",
        "audit.",
        "validation.",
        "errors.",
        "labels.",
        "tariff.",
        "locations.",
        "search.",
        "seizures.",
        "channel.",
        "filters.",
        "samples.",
        "priority.",
        "units.",
        "status.",
        "sample_kind.",
        "custody.",
        "receipt.",
        "verify.",
        "holding.",
        "analyses.",
    ];
    let mut files = Vec::new();
    files_under(&root.join("templates"), &mut files);
    files_under(&root.join("src"), &mut files);
    let mut keys = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for piece in text.split('"').skip(1).step_by(2) {
            let looks_like_key = namespaces.iter().any(|n| piece.starts_with(n))
                && piece
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                && !piece.ends_with('.')
                // File names, not keys: templates and the generated custody.key.
                && !piece.ends_with(".html")
                && !piece.ends_with(".key");
            if looks_like_key {
                keys.insert(piece.to_string());
            }
        }
    }
    keys
}

#[test]
fn spanish_and_english_have_the_same_keys() {
    let es = catalogue_keys("locales/es.yml");
    let en = catalogue_keys("locales/en.yml");
    let only_es: Vec<_> = es.difference(&en).collect();
    let only_en: Vec<_> = en.difference(&es).collect();
    assert!(
        only_es.is_empty() && only_en.is_empty(),
        "only es: {only_es:?}\nonly en: {only_en:?}"
    );
    assert!(es.len() > 100);
}

#[test]
fn every_key_in_use_is_translated() {
    let es = catalogue_keys("locales/es.yml");
    let mut used = used_keys();
    // Keys built at run time from a role.
    for role in lims::user::Role::ALL {
        used.insert(role.label_key());
        used.insert(format!("home.duties.{}", role.as_str()));
    }
    // Codes stored in the database are shown through `ctx.label(prefix, code)`.
    use lims::custody::EventKind;
    use lims::sample::{Priority, SampleKind, SampleStatus};
    for k in EventKind::ALL {
        used.insert(k.label_key());
    }
    for k in lims::sample::movement::FORM_KINDS {
        used.insert(format!("custody.help.{}", k.as_str()));
    }
    for s in SampleStatus::ALL {
        used.insert(format!("status.{}", s.as_str()));
    }
    for k in SampleKind::ALL {
        used.insert(format!("sample_kind.{}", k.as_str()));
    }
    for p in Priority::ALL {
        used.insert(format!("priority.{}", p.as_str()));
    }
    for e in lims::sample::receipt::ReceiptException::ALL {
        used.insert(format!("receipt_exception.{}", e.as_str()));
    }
    for c in lims::seizure::RiskChannel::ALL {
        used.insert(format!("channel.{}", c.as_str()));
    }
    for p in lims::custody::verify::Problem::ALL {
        used.insert(format!("verify.problems.{}", p.as_str()));
    }
    // A prefix handed to `ctx.label` is a branch of the catalogue, not a text.
    let is_branch = |k: &str| es.iter().any(|e| e.starts_with(&format!("{k}.")));
    let missing: Vec<_> = used
        .into_iter()
        .filter(|k| !es.contains(k) && !is_branch(k))
        .collect();
    assert!(
        missing.is_empty(),
        "keys used but not in the catalogues: {missing:?}"
    );
}

#[test]
fn lookups_return_translations() {
    use lims::i18n::{t, Lang};
    assert_eq!(t(Lang::Es, "nav.home"), "Inicio");
    assert_eq!(t(Lang::En, "nav.home"), "Home");
    assert_eq!(t(Lang::En, "roles.enforcement"), "Customs officer");
}
