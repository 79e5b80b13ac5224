//! The whole ingest transform on hand-written posts: reject reasons, language and region in
//! kk (Cyrillic and Latin), ru and en with code-switching, pseudonymisation and redaction.

use sarap_bus::InMsg;
use sarap_core::config::Config;
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::{
    CleanPost, Lang, Policy, Region, RegionSource, RejectReason, RejectedPost, Script,
};
use sarap_ingest::{Ingestor, Outcome};
use serde_json::{json, Value};
use std::path::Path;

fn ingestor_with(secret: &[u8]) -> Ingestor {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cfg = Config::from_toml_with_env(
        &std::fs::read_to_string(root.join("config/sarap.toml")).unwrap(),
        Vec::new(),
    )
    .unwrap();
    let policy = Policy::load(&root.join("config/policy.toml")).unwrap();
    Ingestor::new(
        &cfg,
        &policy,
        PseudonymKey::from_secret(secret, "test").unwrap(),
    )
    .unwrap()
}

fn ingestor() -> Ingestor {
    ingestor_with(b"transform-test-key-0123456789abcdef")
}

fn msg(offset: i64, payload: Vec<u8>) -> InMsg {
    InMsg {
        topic: "posts.raw".into(),
        partition: 0,
        offset,
        key: None,
        payload,
    }
}

fn post(id: &str, text: &str) -> Value {
    json!({
        "schema": "sarap.post.raw/1", "id": id, "platform": "telegram",
        "author": {"id": format!("author-{id}"), "handle": format!("handle_{id}"), "kind": "person"},
        "text": text, "created_at": (chrono::Utc::now() - chrono::Duration::minutes(3)).to_rfc3339()
    })
}

fn run(ing: &mut Ingestor, posts: &[Value]) -> Vec<Outcome> {
    let batch: Vec<InMsg> = posts
        .iter()
        .enumerate()
        .map(|(i, p)| msg(i as i64, p.to_string().into_bytes()))
        .collect();
    ing.process(&batch)
}

fn clean(o: &Outcome) -> &CleanPost {
    match o {
        Outcome::Clean(c) => c,
        Outcome::Rejected(r) => panic!("rejected: {r:?}"),
    }
}

fn rejected(o: &Outcome) -> &RejectedPost {
    match o {
        Outcome::Rejected(r) => r,
        Outcome::Clean(c) => panic!("accepted: {}", c.text),
    }
}

#[test]
fn every_reject_reason_with_its_field() {
    let mut ing = ingestor();
    let good = post("1", "Сәлем, Алматы!");
    let mut cases: Vec<(Vec<u8>, RejectReason, Option<&str>)> = vec![
        (
            b"\xc3\x28 not utf8".to_vec(),
            RejectReason::InvalidUtf8,
            None,
        ),
        (b"hello, not json".to_vec(), RejectReason::NotJson, None),
        (vec![b'x'; 70_000], RejectReason::MessageTooLarge, None),
    ];
    let mut with = |f: &dyn Fn(&mut Value), reason, field| {
        let mut v = good.clone();
        f(&mut v);
        cases.push((v.to_string().into_bytes(), reason, field));
    };
    with(
        &|v| v["schema"] = json!("tweets/2"),
        RejectReason::UnknownSchema,
        Some("schema"),
    );
    with(
        &|v| {
            v.as_object_mut().unwrap().remove("id");
        },
        RejectReason::MissingField,
        Some("id"),
    );
    with(
        &|v| {
            v.as_object_mut().unwrap().remove("text");
        },
        RejectReason::MissingField,
        Some("text"),
    );
    with(
        &|v| {
            v.as_object_mut().unwrap().remove("created_at");
        },
        RejectReason::MissingField,
        Some("created_at"),
    );
    with(
        &|v| {
            v["author"].as_object_mut().unwrap().remove("id");
        },
        RejectReason::MissingField,
        Some("author.id"),
    );
    with(
        &|v| v["author"]["kind"] = json!("bot"),
        RejectReason::InvalidField,
        Some("author.kind"),
    );
    with(
        &|v| v["created_at"] = json!("31/12/2025"),
        RejectReason::BadTimestamp,
        Some("created_at"),
    );
    with(
        &|v| v["created_at"] = json!((chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339()),
        RejectReason::BadTimestamp,
        Some("created_at"),
    );
    with(
        &|v| v["text"] = json!("ә".repeat(10_001)),
        RejectReason::TextTooLong,
        Some("text"),
    );
    with(
        &|v| v["text"] = json!(" \u{200B}\u{FEFF}\n\t "),
        RejectReason::EmptyText,
        Some("text"),
    );
    let batch: Vec<InMsg> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| msg(i as i64, c.0.clone()))
        .collect();
    let out = ing.process(&batch);
    assert_eq!(out.len(), cases.len());
    for ((_, reason, field), o) in cases.iter().zip(&out) {
        let r = rejected(o);
        assert_eq!(
            (r.reason, r.field.as_deref()),
            (*reason, *field),
            "{}",
            r.detail
        );
        assert_eq!(r.payload_sha256.len(), 64);
        assert!(
            !r.detail.contains("author-1"),
            "detail echoes an author id: {}",
            r.detail
        );
    }
}

#[test]
fn duplicates_are_rejected_with_the_first_occurrence() {
    let mut ing = ingestor();
    let a = post("7", "Бүгін Шымкентте жаңбыр жауды");
    let mut same_text = post("8", "Бүгін Шымкентте жаңбыр жауды");
    same_text["author"]["id"] = json!("author-7");
    let mut other_author = post("9", "Бүгін Шымкентте жаңбыр жауды");
    other_author["author"]["id"] = json!("author-99");
    let out = run(&mut ing, &[a.clone(), a, same_text, other_author]);
    let first = clean(&out[0]).post_key.clone();
    let r = rejected(&out[1]);
    assert_eq!(
        (r.reason, r.duplicate_of.as_deref()),
        (RejectReason::Duplicate, Some(first.as_str()))
    );
    let r = rejected(&out[2]);
    assert_eq!(
        (r.reason, r.duplicate_of.as_deref()),
        (RejectReason::Duplicate, Some(first.as_str()))
    );
    // The same text by another account is a copy, not a redelivery: kept, same cluster.
    let c = clean(&out[3]);
    assert_eq!(c.dup_cluster, clean(&out[0]).dup_cluster);
    assert_eq!(c.dup_seen, Some(2));
}

#[test]
fn produced_records_carry_exactly_the_outcomes_across_chunks() {
    use sarap_bus::Transform;
    // 700 messages: more than two of the transform's chunks, so deduplication of one chunk
    // overlaps the preparation of the next. Every 7th repeats an earlier post (a redelivery,
    // possibly from an earlier chunk), every 5th copies an earlier text under another
    // account (a near-duplicate cluster), every 50th is not JSON.
    let mut posts: Vec<Vec<u8>> = Vec::new();
    for i in 0..700usize {
        let bytes = if i % 50 == 49 {
            b"{not json".to_vec()
        } else if i % 7 == 6 {
            posts[i - 300.min(i)].clone()
        } else if i % 5 == 4 {
            let mut p = post(
                &format!("n{i}"),
                &format!("Акимат сообщил о ремонте дороги номер {}", i / 100),
            );
            p["author"]["id"] = json!(format!("other-{i}"));
            p.to_string().into_bytes()
        } else {
            post(
                &format!("p{i}"),
                &format!("Бүгін Алматыда {i} адам жиналды, ауа райы жақсы"),
            )
            .to_string()
            .into_bytes()
        };
        posts.push(bytes);
    }
    let batch: Vec<InMsg> = posts
        .into_iter()
        .enumerate()
        .map(|(i, p)| msg(i as i64, p))
        .collect();
    let outcomes = ingestor().process(&batch);
    let records = ingestor().transform(&batch);
    assert_eq!(records.len(), outcomes.len());
    let (mut clean_n, mut dup_n, mut clustered) = (0, 0, 0);
    for (rec, o) in records.iter().zip(&outcomes) {
        match o {
            Outcome::Clean(c) => {
                clean_n += 1;
                clustered += usize::from(c.dup_seen.unwrap_or(0) > 1);
                assert_eq!(rec.topic, "posts.clean");
                assert_eq!(rec.key.as_deref(), Some(c.region.as_str()));
                let mut back: CleanPost = serde_json::from_slice(&rec.payload).unwrap();
                // Ingest time is taken per batch; the two runs are two batches.
                back.ingested_at = c.ingested_at;
                assert_eq!(&back, c.as_ref());
            }
            Outcome::Rejected(r) => {
                dup_n += usize::from(r.reason == RejectReason::Duplicate);
                assert_eq!(rec.topic, "posts.rejected");
                let mut back: RejectedPost = serde_json::from_slice(&rec.payload).unwrap();
                back.rejected_at = r.rejected_at;
                assert_eq!(&back, r.as_ref());
            }
        }
    }
    assert!(
        clean_n > 500 && dup_n >= 90 && clustered > 100,
        "{clean_n} {dup_n} {clustered}"
    );
}

#[test]
fn languages_scripts_and_code_switching() {
    let mut ing = ingestor();
    let cases = [
        (
            "Бүгін ауа райы жақсы, балалармен саябаққа бардық",
            Lang::Kk,
            Script::Cyrl,
            false,
        ),
        (
            "Búgin Almatyda kún jyly, bári serýenge shyqty",
            Lang::Kk,
            Script::Latn,
            false,
        ),
        (
            "Qazaqstanda baǵalar ósip jatyr, jalaqy ósip jatqan joq",
            Lang::Kk,
            Script::Latn,
            false,
        ),
        (
            "Короче, мен сегодня жұмысқа бармаймын, погода очень плохая",
            Lang::Kk,
            Script::Cyrl,
            true,
        ),
        (
            "Бүгін погода очень плохая, жол жабық",
            Lang::Kk,
            Script::Cyrl,
            true,
        ),
        (
            "Сегодня в городе опять отключили горячую воду, сколько можно",
            Lang::Ru,
            Script::Cyrl,
            false,
        ),
        (
            "Аким обещал отремонтировать дорогу до конца месяца",
            Lang::Ru,
            Script::Cyrl,
            false,
        ),
        (
            "Fuel prices went up again this week, everyone is complaining",
            Lang::En,
            Script::Latn,
            false,
        ),
        (
            "Сьогодні у Києві йде дощ і дуже холодно",
            Lang::Other,
            Script::Cyrl,
            false,
        ),
        ("😂😂🔥", Lang::Other, Script::Other, false),
    ];
    let posts: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| post(&format!("l{i}"), c.0))
        .collect();
    for (o, (text, lang, script, cs)) in run(&mut ing, &posts).iter().zip(cases) {
        let c = clean(o);
        assert_eq!(
            (c.lang, c.script, c.code_switched),
            (lang, script, cs),
            "{text}"
        );
    }
}

#[test]
fn regions_from_every_kind_of_evidence_in_three_languages() {
    let mut ing = ingestor();
    let mut posts = Vec::new();
    let mut expect = Vec::new();
    let mut add = |v: Value, region: Region, source: RegionSource| {
        posts.push(v);
        expect.push((region, source));
    };
    let n = |i: usize| format!("r{i}");
    let mut p = post(&n(0), "Жол жабық");
    p["geo"] = json!({"region": "KZ-10"});
    add(p, Region::Abai, RegionSource::Field);
    let mut p = post(&n(1), "Road closed");
    p["geo"] = json!({"region": "Западно-Казахстанская область"});
    add(p, Region::WestKazakhstan, RegionSource::Field);
    let mut p = post(&n(2), "Жол жабық");
    p["geo"] = json!({"lat": 50.41, "lon": 80.23});
    add(p, Region::Abai, RegionSource::Coordinates);
    let mut p = post(&n(3), "Road closed");
    p["geo"] = json!({"place": "Усть-Каменогорск"});
    add(p, Region::EastKazakhstan, RegionSource::Place);
    let mut p = post(&n(4), "Дорогу опять перекрыли");
    p["author"]["location"] = json!("Семипалатинск");
    add(p, Region::Abai, RegionSource::Profile);
    add(
        post(&n(5), "В Уральске опять перекрыли дорогу"),
        Region::WestKazakhstan,
        RegionSource::Text,
    );
    add(
        post(&n(6), "Оралда бүгін жол жабық"),
        Region::WestKazakhstan,
        RegionSource::Text,
    );
    add(
        post(&n(7), "Almatyda búgin qar jaýdy"),
        Region::Almaty,
        RegionSource::Text,
    );
    add(
        post(&n(8), "Heavy snow in Shymkent today"),
        Region::Shymkent,
        RegionSource::Text,
    );
    add(
        post(&n(9), "Алматы облысында су тасқыны"),
        Region::AlmatyRegion,
        RegionSource::Text,
    );
    add(
        post(&n(10), "Приехали из Алма-Аты на выходные"),
        Region::Almaty,
        RegionSource::Text,
    );
    add(
        post(&n(11), "Он орал на всех весь день"),
        Region::Unknown,
        RegionSource::None,
    );
    let mut p = post(&n(12), "Жол жабық");
    p["geo"] = json!({"lat": 55.75, "lon": 37.62});
    add(p, Region::Unknown, RegionSource::None);
    for (o, want) in run(&mut ing, &posts).iter().zip(expect) {
        let c = clean(o);
        assert_eq!((c.region, c.region_source), want, "{}", c.text);
    }
}

#[test]
fn authors_are_pseudonymised_and_personal_data_redacted() {
    let mut first11 = [8u8, 7, 0, 4, 1, 2, 3, 0, 0, 1, 2];
    let check = loop {
        if let Some(c) = sarap_core::ids::iin_check_digit(&first11) {
            break c;
        }
        first11[10] += 1;
    };
    let iin: String = first11
        .iter()
        .chain([check].iter())
        .map(|d| char::from(b'0' + d))
        .collect();
    let text = format!(
        "Маған хабарласыңыз +7 701 234 56 78 немесе aidar.s@mail.kz, ИИН {iin}, карта 4111 1111 1111 1111, @nurlan_k біледі"
    );
    let mut p = post("p1", &text);
    p["author"]["id"] = json!("98765");
    let mut q = post("p2", "Басқа пост");
    q["author"]["id"] = json!("98765");
    let mut ing = ingestor();
    let out = run(&mut ing, &[p.clone(), q]);
    let (a, b) = (clean(&out[0]), clean(&out[1]));
    assert_eq!(a.author_pid, b.author_pid, "one account, one pseudonym");
    assert_eq!(a.author_pid.len(), 32);
    let json = serde_json::to_string(a).unwrap();
    for secret in [
        "98765",
        "handle_p1",
        "701 234",
        "aidar.s",
        iin.as_str(),
        "4111 1111",
        "nurlan_k",
    ] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
    }
    for placeholder in ["[PHONE]", "[EMAIL]", "[IIN]", "[CARD]", "[USER]"] {
        assert!(
            a.text.contains(placeholder),
            "{placeholder} missing: {}",
            a.text
        );
    }
    assert_eq!(
        (
            a.redactions.phone,
            a.redactions.email,
            a.redactions.iin,
            a.redactions.card,
            a.redactions.mention
        ),
        (1, 1, 1, 1, 1)
    );
    // Another key gives unlinkable pseudonyms for the same account.
    let mut other = ingestor_with(b"a-different-key-for-rotation-0123456789");
    let c = run(&mut other, &[p]);
    assert_ne!(clean(&c[0]).author_pid, a.author_pid);
    assert_ne!(clean(&c[0]).author_key_id, a.author_key_id);
}
