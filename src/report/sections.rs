//! What an issued report prints, in order, as headed sections of fields, tables and texts.
//! The PDF and the HTML page both draw this one list, so they cannot drift apart; headings and
//! fixed statements come from `report_doc.*` in the report's own locale (format version 1).

use super::content::{Conformity, Item, ReportContent, ResultLine, TariffDifference};
use super::pdf::Document;
use crate::i18n::{t, tf, Lang};

pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

pub enum Block {
    /// Label and value pairs; `alert` values are printed in bold (a broken seal, a finding).
    Fields(Vec<Field>),
    /// Column titles with relative widths, then rows of the same length.
    Table {
        columns: Vec<(String, f32)>,
        rows: Vec<Vec<String>>,
    },
    Text(String),
    /// A statement that must not be overlooked (amendment, opinions marker, footnotes).
    Notice(String),
}

pub struct Field {
    pub label: String,
    pub value: String,
    pub alert: bool,
}

/// The fixed texts around the sections: title, page furniture, end mark.
pub struct Furniture {
    pub lab_name: String,
    pub lab_address: String,
    pub title: String,
    /// Version and date of issue, printed under the report number.
    pub version_line: String,
    pub accreditation: Option<String>,
    /// `Página %{n} de %{m}` with the placeholders left for the page painter.
    pub page_of: String,
    pub verify_heading: String,
    pub verify_hint: String,
    pub end_mark: String,
}

/// A report as the HTML page prints it: the same furniture and sections as the PDF, and the
/// QR code as inline SVG.
pub struct Printed {
    /// The report's language, for the `lang` attribute of its block.
    pub locale: String,
    pub number: String,
    pub furniture: Furniture,
    pub sections: Vec<Section>,
    pub verify_url: String,
    pub qr_svg: String,
}

impl Printed {
    pub fn of(doc: &Document) -> Result<Printed, String> {
        check_format(doc.content)?;
        Ok(Printed {
            locale: lang_of(doc.content).code().to_string(),
            number: doc.content.report_number.clone(),
            furniture: furniture(doc.content),
            sections: sections(doc),
            verify_url: doc.verify_url.to_string(),
            qr_svg: crate::label::qr_svg(doc.verify_url).map_err(|e| e.to_string())?,
        })
    }
}

/// The format version whose headings this build knows.
const KNOWN_FORMAT: i32 = 1;

pub fn lang_of(content: &ReportContent) -> Lang {
    Lang::parse(&content.locale).unwrap_or_default()
}

/// Refuses a content shape this build cannot print faithfully.
pub fn check_format(content: &ReportContent) -> Result<(), String> {
    if content.format_version == KNOWN_FORMAT {
        Ok(())
    } else {
        Err(format!(
            "content format version {} is not known to this build",
            content.format_version
        ))
    }
}

fn l(lang: Lang, key: &str) -> String {
    t(lang, &format!("report_doc.{key}"))
}

fn or_none(lang: Lang, value: &Option<String>) -> String {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        _ => l(lang, "none"),
    }
}

fn yes_no(lang: Lang, value: bool) -> String {
    l(lang, if value { "yes" } else { "no" })
}

fn field(label: String, value: String) -> Field {
    Field {
        label,
        value,
        alert: false,
    }
}

fn opt_field(fields: &mut Vec<Field>, label: String, value: &Option<String>) {
    if let Some(v) = value.as_deref().filter(|v| !v.trim().is_empty()) {
        fields.push(field(label, v.to_string()));
    }
}

pub fn furniture(content: &ReportContent) -> Furniture {
    let lang = lang_of(content);
    let lab = &content.laboratory;
    let accreditation = match (&lab.accreditation_number, &lab.accreditation_body) {
        (Some(n), Some(b)) => Some(tf(
            lang,
            "report_doc.accreditation",
            &[("number", n), ("body", b)],
        )),
        (Some(n), None) => Some(tf(
            lang,
            "report_doc.accreditation_number",
            &[("number", n)],
        )),
        _ => None,
    };
    Furniture {
        lab_name: lab.name.clone(),
        lab_address: lab.address.clone(),
        title: l(lang, "title"),
        version_line: tf(
            lang,
            "report_doc.version_line",
            &[
                ("version", &content.version_no.to_string()),
                ("date", &content.issue_date),
            ],
        ),
        accreditation,
        page_of: l(lang, "page_of"),
        verify_heading: l(lang, "verify_heading"),
        verify_hint: l(lang, "verify_hint"),
        end_mark: l(lang, "end_mark"),
    }
}

pub fn sections(doc: &Document) -> Vec<Section> {
    let c = doc.content;
    let lang = lang_of(c);
    let mut out = Vec::new();
    if let Some(a) = &c.amendment {
        out.push(Section {
            title: l(lang, "amendment"),
            blocks: vec![Block::Notice(tf(
                lang,
                "report_doc.amendment_notice",
                &[
                    ("n", &a.number.to_string()),
                    ("number", &a.supersedes),
                    ("reason", &a.reason),
                ],
            ))],
        });
    }
    out.push(request(c, lang));
    out.push(items(c, lang));
    out.push(methods(c, lang));
    out.push(results(c, lang));
    out.push(instruments(c, lang));
    out.push(Section {
        title: l(lang, "dates"),
        blocks: vec![Block::Fields(vec![
            field(l(lang, "testing_from"), or_none(lang, &c.testing_from)),
            field(l(lang, "testing_to"), or_none(lang, &c.testing_to)),
            field(l(lang, "issue_date"), c.issue_date.clone()),
        ])],
    });
    out.push(Section {
        title: l(lang, "assessment"),
        blocks: vec![Block::Fields(vec![
            field(
                l(lang, "deviations"),
                match c.deviations.as_deref().map(str::trim) {
                    Some(v) if !v.is_empty() => v.to_string(),
                    _ => l(lang, "no_deviations"),
                },
            ),
            field(l(lang, "decision_rule"), or_none(lang, &c.decision_rule)),
            field(l(lang, "conclusion"), or_none(lang, &c.conclusion)),
        ])],
    });
    if let Some(opinion) = c.opinion.as_deref().filter(|o| !o.trim().is_empty()) {
        out.push(Section {
            title: l(lang, "opinion"),
            blocks: vec![
                Block::Notice(l(lang, "opinion_marker")),
                Block::Text(opinion.to_string()),
            ],
        });
    }
    out.push(tariff(c, lang));
    out.push(findings(c, lang));
    out.push(Section {
        title: l(lang, "scope"),
        blocks: vec![Block::Text(l(lang, "scope_statement"))],
    });
    out.push(signatures(doc, lang));
    out
}

fn request(c: &ReportContent, lang: Lang) -> Section {
    let r = &c.request;
    let mut f = vec![
        field(l(lang, "customs_office"), r.customs_office.clone()),
        field(l(lang, "seizure_reference"), r.seizure_reference.clone()),
        field(l(lang, "declaration"), or_none(lang, &r.declaration_number)),
        field(l(lang, "seized_at"), r.seized_at.clone()),
        field(l(lang, "place"), r.place.clone()),
        field(l(lang, "seizing_officer"), r.seizing_officer.clone()),
        field(l(lang, "goods"), r.goods_description.clone()),
    ];
    opt_field(&mut f, l(lang, "importer"), &r.importer);
    opt_field(&mut f, l(lang, "origin"), &r.origin_country);
    f.push(field(
        l(lang, "risk_channel"),
        t(lang, &format!("channel.{}", r.risk_channel)),
    ));
    Section {
        title: l(lang, "request"),
        blocks: vec![Block::Fields(f)],
    }
}

fn item_fields(lang: Lang, i: &Item) -> Vec<Field> {
    let mut f = vec![
        field(l(lang, "lab_code"), i.lab_code.clone()),
        field(l(lang, "description"), i.description.clone()),
    ];
    opt_field(&mut f, l(lang, "matrix"), &i.matrix);
    opt_field(&mut f, l(lang, "quantity"), &i.quantity);
    if let Some(p) = i.packages {
        f.push(field(l(lang, "packages"), p.to_string()));
    }
    f.push(field(l(lang, "seal"), or_none(lang, &i.seal_number)));
    if let Some(intact) = i.seal_intact_at_receipt {
        f.push(Field {
            label: l(lang, "seal_at_receipt"),
            value: l(lang, if intact { "seal_intact" } else { "seal_broken" }),
            alert: !intact,
        });
    }
    f.push(field(
        l(lang, "condition"),
        or_none(lang, &i.condition_on_receipt),
    ));
    f.push(field(l(lang, "sampling"), i.sampling.clone()));
    f.push(field(l(lang, "received_at"), or_none(lang, &i.received_at)));
    f.push(field(
        l(lang, "custody_anchor"),
        tf(
            lang,
            "report_doc.custody_anchor_value",
            &[
                ("seq", &i.custody_seq.to_string()),
                ("hash", i.custody_hash.get(..16).unwrap_or(&i.custody_hash)),
            ],
        ),
    ));
    f
}

fn items(c: &ReportContent, lang: Lang) -> Section {
    Section {
        title: l(lang, "items"),
        blocks: c
            .items
            .iter()
            .map(|i| Block::Fields(item_fields(lang, i)))
            .collect(),
    }
}

fn methods(c: &ReportContent, lang: Lang) -> Section {
    let rows = c
        .methods
        .iter()
        .map(|m| {
            vec![
                m.code.clone(),
                m.name.clone(),
                m.version.to_string(),
                m.technique.clone().unwrap_or_default(),
                if m.accredited {
                    l(lang, "yes")
                } else {
                    format!("{} *", l(lang, "no"))
                },
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        columns: vec![
            (l(lang, "method_code"), 1.2),
            (l(lang, "method_name"), 3.0),
            (l(lang, "method_version"), 0.8),
            (l(lang, "technique"), 1.6),
            (l(lang, "accredited"), 1.1),
        ],
        rows,
    }];
    if c.methods.iter().any(|m| !m.accredited) {
        blocks.push(Block::Notice(l(lang, "not_accredited_note")));
    }
    Section {
        title: l(lang, "methods"),
        blocks,
    }
}

fn uncertainty(r: &ResultLine) -> String {
    match (&r.uncertainty, &r.coverage_k) {
        (Some(u), Some(k)) => format!("± {u} (k = {k})"),
        (Some(u), None) => format!("± {u}"),
        _ => String::new(),
    }
}

fn limits(lang: Lang, r: &ResultLine) -> String {
    let mut parts = Vec::new();
    if let Some(lod) = &r.lod {
        parts.push(format!("{} {lod}", l(lang, "lod")));
    }
    if let Some(loq) = &r.loq {
        parts.push(format!("{} {loq}", l(lang, "loq")));
    }
    parts.join(" · ")
}

fn results(c: &ReportContent, lang: Lang) -> Section {
    let rows = c
        .results
        .iter()
        .map(|r| {
            let mut analyte = format!("{} ({})", r.analyte, r.method_code);
            if let Some(x) = &r.external {
                analyte.push_str(&format!(
                    " † {}",
                    tf(
                        lang,
                        "report_doc.external_value",
                        &[("lab", &x.laboratory), ("reference", &x.report_reference)],
                    )
                ));
            }
            vec![
                r.lab_code.clone(),
                analyte,
                r.value.clone(),
                r.unit.clone().unwrap_or_default(),
                uncertainty(r),
                limits(lang, r),
                r.specification.clone().unwrap_or_default(),
                match r.conformity {
                    Some(Conformity::Conforms) => l(lang, "conforms"),
                    Some(Conformity::DoesNotConform) => l(lang, "does_not_conform"),
                    None => String::new(),
                },
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        columns: vec![
            (l(lang, "lab_code"), 1.65),
            (l(lang, "analyte"), 2.0),
            (l(lang, "value"), 0.9),
            (l(lang, "unit"), 0.7),
            (l(lang, "uncertainty"), 1.35),
            (l(lang, "lod_loq"), 1.25),
            (l(lang, "specification"), 1.5),
            (l(lang, "conformity"), 1.25),
        ],
        rows,
    }];
    if c.results.iter().any(|r| r.external.is_some()) {
        blocks.push(Block::Notice(l(lang, "external_note")));
    }
    Section {
        title: l(lang, "results"),
        blocks,
    }
}

fn instruments(c: &ReportContent, lang: Lang) -> Section {
    if c.instruments.is_empty() {
        return Section {
            title: l(lang, "instruments"),
            blocks: vec![Block::Text(l(lang, "no_instruments"))],
        };
    }
    let rows = c
        .instruments
        .iter()
        .map(|i| {
            vec![
                i.asset_tag.clone(),
                i.name.clone(),
                i.model.clone().unwrap_or_default(),
                i.serial_number.clone().unwrap_or_default(),
                i.calibration_due.clone().unwrap_or_default(),
            ]
        })
        .collect();
    Section {
        title: l(lang, "instruments"),
        blocks: vec![Block::Table {
            columns: vec![
                (l(lang, "asset_tag"), 1.0),
                (l(lang, "instrument"), 2.0),
                (l(lang, "model"), 1.3),
                (l(lang, "serial"), 1.3),
                (l(lang, "calibration_due"), 1.3),
            ],
            rows,
        }],
    }
}

fn tariff(c: &ReportContent, lang: Lang) -> Section {
    let tf_ = &c.tariff;
    let code = |code: &Option<String>, desc: &Option<String>| match (code, desc) {
        (Some(code), Some(desc)) => format!("{code} — {desc}"),
        (Some(code), None) => code.clone(),
        _ => l(lang, "none"),
    };
    let difference = match tf_.difference {
        Some(TariffDifference::None) => l(lang, "tariff_same"),
        Some(d) => l(lang, &format!("tariff_{}", d.as_str())),
        None => l(lang, "tariff_not_compared"),
    };
    Section {
        title: l(lang, "tariff"),
        blocks: vec![Block::Fields(vec![
            field(
                l(lang, "tariff_declared"),
                code(&tf_.declared, &tf_.declared_description),
            ),
            field(
                l(lang, "tariff_found"),
                code(&tf_.found, &tf_.found_description),
            ),
            Field {
                label: l(lang, "tariff_difference"),
                value: difference,
                alert: !matches!(tf_.difference, Some(TariffDifference::None) | None),
            },
        ])],
    }
}

fn findings(c: &ReportContent, lang: Lang) -> Section {
    let f = &c.findings;
    let flag = |key: &str, v: bool| Field {
        label: l(lang, key),
        value: yes_no(lang, v),
        alert: v,
    };
    let mut fields = vec![
        flag("controlled", f.controlled),
        flag("prohibited", f.prohibited),
        flag("counterfeit", f.counterfeit),
    ];
    opt_field(&mut fields, l(lang, "findings_note"), &f.note);
    Section {
        title: l(lang, "findings"),
        blocks: vec![Block::Fields(fields)],
    }
}

fn signatures(doc: &Document, lang: Lang) -> Section {
    let rows = doc
        .signatures
        .iter()
        .map(|s| {
            let role_key = format!("roles.{}", s.role);
            let role = t(lang, &role_key);
            vec![
                s.name.clone(),
                if role.ends_with(&role_key) {
                    s.role.clone()
                } else {
                    role
                },
                s.meaning_text.clone(),
                s.signed_at.clone(),
            ]
        })
        .collect();
    Section {
        title: l(lang, "signatures"),
        blocks: vec![Block::Table {
            columns: vec![
                (l(lang, "signer"), 2.0),
                (l(lang, "role"), 1.5),
                (l(lang, "meaning"), 2.0),
                (l(lang, "signed_at"), 2.0),
            ],
            rows,
        }],
    }
}
