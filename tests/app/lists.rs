//! Lists to start the day with: home counts per role that equal the lists they link to,
//! totals and positions, status tabs, sorts whose cursors page through, the free-text filter.

use std::collections::BTreeSet;

use crate::common::{Client, Page};
use crate::custody::{lab, Lab, PW, TZ};
use lims::keyset::Position;
use lims::sample::receipt::{self, ReceiptInput};
use lims::sample::{self, Sample, SampleFilter, SampleInput, SampleSort};

/// A sample row: its seal, priority and due date (`""`: none).
fn row(seal: &str, priority: &str, due: &str) -> SampleInput {
    SampleInput {
        description: format!("Bolsa {seal}"),
        quantity: "10".into(),
        quantity_unit: "g".into(),
        seal_number: seal.into(),
        priority: priority.into(),
        due_date: due.into(),
        ..Default::default()
    }
}

impl Lab {
    fn seize(&self, reference: &str, rows: &[SampleInput]) -> Vec<Sample> {
        self.app.register_rows(&self.officer, reference, rows)
    }

    fn take_in(&self, s: &Sample, seal_intact: &str) {
        receipt::receive(
            &mut self.app.db.conn(),
            &self.tech.handler(None),
            &s.id,
            &ReceiptInput {
                seal_number: s.seal_number.clone().unwrap_or_default(),
                seal_intact: seal_intact.into(),
                quantity_sufficient: "yes".into(),
                delivered_by: "Of. Soto".into(),
                decision: "accept".into(),
                notes: "Revisado en mesa".into(),
                ..Default::default()
            },
            TZ,
        )
        .expect("receive");
    }
}

/// The counts of a home page: (link, count), in page order.
fn home_counts(page: &Page) -> Vec<(String, i64)> {
    page.body
        .split(r#"class="count-card"#)
        .skip(1)
        .map(|card| {
            let href = card
                .split(r#"href=""#)
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let n = card
                .split("<strong>")
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap();
            (unescape(href), n.trim().parse().unwrap())
        })
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&#x2f;", "/")
        .replace("&#x3d;", "=")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// A list page's total, from "1–50 de 91" (none shown: an empty list).
fn total(page: &Page) -> i64 {
    match page.body.split(r#"<p class="lead position">"#).nth(1) {
        Some(p) => p
            .split('<')
            .next()
            .unwrap()
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap(),
        None => {
            page.assert_contains("empty");
            0
        }
    }
}

fn position(page: &Page) -> String {
    page.body
        .split(r#"<p class="lead position">"#)
        .nth(1)
        .expect("a position")
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

/// Every count on `user`'s home page equals the total of the list it links to; returns them.
async fn counts_match_lists<S, B>(c: &mut Client<S>, user: &str) -> Vec<(String, i64)>
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    c.login(user, PW).await;
    let home = c.get("/").await;
    let counts = home_counts(&home);
    assert!(!counts.is_empty(), "{user}: {}", home.body);
    for (href, n) in &counts {
        if href.starts_with("/samples") || href.starts_with("/seizures") {
            let list = c.get(href).await;
            assert_eq!(list.status, 200, "{href}");
            assert_eq!(total(&list), *n, "{user}: {href}");
        }
    }
    c.logout().await;
    counts
}

fn count_of(counts: &[(String, i64)], href: &str) -> i64 {
    counts
        .iter()
        .find(|(h, _)| h == href)
        .unwrap_or_else(|| panic!("no count for {href} in {counts:?}"))
        .1
}

#[actix_web::test]
async fn home_counts_per_role_equal_the_lists_they_link_to() {
    let lab = lab();
    let s = lab.seize(
        "ACTA-H-1",
        &[
            row("PR-1", "urgent", "2026-01-10"),
            row("PR-2", "routine", "2026-01-11"),
            row("PR-3", "urgent", "2099-01-01"),
            row("PR-4", "routine", ""),
            row("PR-5", "routine", "2099-02-01"),
        ],
    );
    lab.take_in(&s[0], "yes");
    lab.take_in(&s[1], "no");
    lab.take_in(&s[2], "yes");
    // Another officer's seizure counts for the lab, not for this officer.
    let other = lab
        .app
        .create_user("oficial2", lims::user::Role::Enforcement, PW);
    lab.app
        .register_rows(&other, "ACTA-H-2", &[row("PR-6", "urgent", "2026-01-01")]);

    let mut c = lab.app.client().await;
    let tech = counts_match_lists(&mut c, "tecnico").await;
    assert_eq!(count_of(&tech, "/samples?status=registered"), 3);
    assert_eq!(
        count_of(&tech, "/samples?held=1"),
        3,
        "received by the technician"
    );
    assert_eq!(count_of(&tech, "/samples?overdue=1&sort=due"), 3);
    assert_eq!(
        count_of(&tech, "/samples?priority=urgent&open=1&sort=due"),
        3
    );
    assert_eq!(tech.len(), 4, "{tech:?}");

    let sup = counts_match_lists(&mut c, "super").await;
    assert_eq!(
        count_of(&sup, "/samples?held=1"),
        0,
        "the supervisor holds none"
    );
    assert_eq!(
        count_of(&sup, "/samples?exceptions=1"),
        1,
        "the broken seal"
    );
    assert_eq!(count_of(&sup, "/custody/verify"), 0);

    let officer = counts_match_lists(&mut c, "oficial").await;
    assert_eq!(count_of(&officer, "/seizures?mine=1"), 1);
    assert_eq!(count_of(&officer, "/samples?seized=1"), 5);
    assert_eq!(count_of(&officer, "/samples?status=received&seized=1"), 3);
    assert_eq!(count_of(&officer, "/samples?status=registered&seized=1"), 2);

    // The status tabs count what the other filters select.
    c.login("tecnico", PW).await;
    let page = c.get("/samples?priority=urgent").await;
    page.assert_contains(r#"Todas <span class="count">3</span>"#);
    page.assert_contains(r#"Recibida <span class="count">2</span>"#);
    page.assert_contains(r#"Registrada <span class="count">1</span>"#);
    assert_eq!(position(&page), "1–3 de 3");
    let tab = c.get("/samples?priority=urgent&status=received").await;
    assert_eq!(total(&tab), 2);
    tab.assert_contains(r#"class="active" aria-current="page">Recibida"#);
}

/// Every sample once, in `sort` order, through pages of 2; and where each page sits.
fn walk(lab: &Lab, filter: &SampleFilter) -> Vec<Sample> {
    let mut conn = lab.app.db.conn();
    let total = sample::count(&mut conn, filter).unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let from_here = sample::count_from(&mut conn, filter, cursor.as_ref()).unwrap();
        let (rows, next) = sample::list(&mut conn, filter, cursor.as_ref(), 2).unwrap();
        let p = Position::new(total, from_here, rows.len());
        assert_eq!(p.first, seen.len() as i64 + 1);
        seen.extend(rows.into_iter().map(|r| r.sample));
        assert_eq!(p.last, seen.len() as i64);
        match next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len() as i64, total);
    seen
}

#[actix_web::test]
async fn sorts_by_due_date_and_priority_page_through_with_their_cursors() {
    let lab = lab();
    let s = lab.seize(
        "ACTA-S-1",
        &[
            row("S-A", "routine", "2026-05-01"),
            row("S-B", "urgent", "2026-06-01"),
            row("S-C", "routine", ""),
            row("S-D", "urgent", "2026-04-01"),
            row("S-E", "routine", "2026-05-01"),
            row("S-F", "urgent", ""),
            row("S-G", "routine", "2026-03-01"),
        ],
    );
    let seals = |rows: &[Sample]| -> Vec<String> {
        rows.iter()
            .map(|s| s.seal_number.clone().unwrap())
            .collect()
    };
    let due = walk(
        &lab,
        &SampleFilter {
            sort: SampleSort::Due,
            ..Default::default()
        },
    );
    let by_due = seals(&due);
    assert_eq!(by_due[..2], ["S-G", "S-D"]);
    // Same day: the id (registration order here) decides, and no row is lost between pages.
    let same_day: BTreeSet<&str> = by_due[2..4].iter().map(String::as_str).collect();
    assert_eq!(same_day, BTreeSet::from(["S-A", "S-E"]));
    assert_eq!(by_due[4], "S-B");
    let undated: BTreeSet<&str> = by_due[5..].iter().map(String::as_str).collect();
    assert_eq!(undated, BTreeSet::from(["S-C", "S-F"]), "no due date last");

    let prio = seals(&walk(
        &lab,
        &SampleFilter {
            sort: SampleSort::Priority,
            ..Default::default()
        },
    ));
    assert_eq!(
        prio,
        ["S-D", "S-B", "S-F", "S-G", &by_due[2], &by_due[3], "S-C"]
    );

    // Sorted and filtered: routine only.
    let routine = seals(&walk(
        &lab,
        &SampleFilter {
            sort: SampleSort::Priority,
            priority: Some(sample::Priority::Routine),
            ..Default::default()
        },
    ));
    assert_eq!(routine.len(), 4);
    assert_eq!(routine[0], "S-G");

    // Through the web: the sort is kept in the pager, a cursor of another sort is ignored.
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let page = c.get("/samples?sort=due").await;
    assert_eq!(position(&page), "1–7 de 7");
    let first = page.body.find("S-G").unwrap();
    assert!(
        first < page.body.find("S-C").unwrap(),
        "undated after dated"
    );
    let bad = c.get("/samples?sort=sideways").await;
    assert_eq!(bad.status, 400);
    bad.assert_contains("has-error");
    let wrong = c
        .get(&format!(
            "/samples?sort=due&after=20260101T000000.000000_{}",
            s[0].id
        ))
        .await;
    assert_eq!(
        position(&wrong),
        "1–7 de 7",
        "a time cursor means the first page here"
    );
}

#[actix_web::test]
async fn pages_show_their_position_through_the_web() {
    let lab = lab();
    let rows: Vec<SampleInput> = (0..53)
        .map(|i| {
            row(
                &format!("PG-{i:02}"),
                "routine",
                &format!("2026-05-{:02}", i % 28 + 1),
            )
        })
        .collect();
    lab.seize("ACTA-P-1", &rows);
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    for path in ["/samples", "/samples?sort=due", "/samples?sort=priority"] {
        let first = c.get(path).await;
        assert_eq!(position(&first), "1–50 de 53", "{path}");
        let next = first
            .body
            .split(r#"<a class="button" href=""#)
            .map(|h| unescape(h.split('"').next().unwrap()))
            .find(|h| h.contains("after=") && !h.ends_with("after="))
            .expect("a next page");
        let second = c.get(&next).await;
        assert_eq!(position(&second), "51–53 de 53", "{next}");
        for seal in ["PG-00", "PG-52"] {
            assert!(
                first.contains(&format!(">{seal}<")) != second.contains(&format!(">{seal}<")),
                "{path}: {seal} on exactly one page"
            );
        }
    }
    let seizures = c.get("/seizures").await;
    assert_eq!(position(&seizures), "1–1 de 1");
}

#[actix_web::test]
async fn the_free_text_filter_finds_codes_seals_and_references_from_their_start() {
    let lab = lab();
    let a = lab.seize(
        "ACTA-TX-100",
        &[row("PR-63069", "routine", ""), row("ZZ-1", "routine", "")],
    );
    lab.seize(
        "ACTA-TY-200",
        &[row("PR-7", "routine", ""), row("PR_%", "routine", "")],
    );
    let mut c = lab.app.client().await;
    c.login("tecnico", PW).await;
    let code = a[1].lab_code.clone();
    for (q, n) in [
        ("pr-63", 1),
        ("PR-", 2),
        ("acta-tx", 2),
        ("ACTA-T", 4),
        (code.as_str(), 1),
        (&code[..code.len() - 1], 4),
        ("  zz-1 ", 1),
        ("PR_", 1),
        ("%", 0),
        ("63069", 0),
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let page = c.get(&format!("/samples?q={encoded}")).await;
        assert_eq!(page.status, 200, "{q}");
        assert_eq!(total(&page), n, "{q}");
    }
    let page = c.get("/samples?q=pr-63").await;
    page.assert_contains(r#"value="pr-63""#);
    let seizures = c.get("/seizures?q=acta-ty").await;
    assert_eq!(total(&seizures), 1);
    seizures.assert_contains("ACTA-TY-200");
}
