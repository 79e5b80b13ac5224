//! `posts.clean` messages for analyzer tests, built from the project's labelled posts so the
//! model sees realistic kk, ru and en text.

use sarap_core::contracts::{
    AuthorKind, CleanPost, Lang, RedactionCounts, RegionSource, Script, SourceRef, SCHEMA_CLEAN,
};
use sarap_core::regions::REGIONS;

/// Labelled texts of the three corpus files, interleaved kk, ru, en.
pub fn corpus_texts(n: usize) -> Vec<(String, Lang)> {
    let read = |lang: &str| -> Vec<String> {
        std::fs::read_to_string(format!("data/labelled/{lang}.jsonl"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["text"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let (kk, ru, en) = (read("kk"), read("ru"), read("en"));
    let mut out = Vec::new();
    for i in 0.. {
        if out.len() >= n || (i >= kk.len() && i >= ru.len() && i >= en.len()) {
            break;
        }
        for (v, l) in [(&kk, Lang::Kk), (&ru, Lang::Ru), (&en, Lang::En)] {
            if let Some(t) = v.get(i) {
                out.push((t.clone(), l));
            }
        }
    }
    out.truncate(n);
    out
}

/// A clean post with key `k-<i>` (32 hex characters) in a region chosen by `i`.
pub fn clean_post(i: usize, text: &str, lang: Lang, dup: Option<(&str, u32)>) -> CleanPost {
    CleanPost {
        schema: SCHEMA_CLEAN.into(),
        post_key: format!("{i:032x}"),
        platform: "test".into(),
        author_pid: format!("{:032x}", (i % 50) as u128 + 1_000_000),
        author_key_id: "k-test0000".into(),
        author_kind: AuthorKind::Person,
        text: text.to_string(),
        lang,
        script: if lang == Lang::En {
            Script::Latn
        } else {
            Script::Cyrl
        },
        lang_confidence: 0.9,
        code_switched: false,
        region: REGIONS[i % REGIONS.len()].region,
        region_source: RegionSource::Place,
        created_at: chrono::Utc::now(),
        ingested_at: chrono::Utc::now(),
        dup_cluster: dup.map(|(c, _)| c.to_string()),
        dup_seen: dup.map(|(_, n)| n),
        reply_to_key: None,
        metrics: None,
        redactions: RedactionCounts::default(),
        source: SourceRef {
            topic: "posts.raw".into(),
            partition: 0,
            offset: i as i64,
        },
        policy_hash: "pol-test".into(),
    }
}
