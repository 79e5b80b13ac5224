//! The analyzers on the real model through ONNX Runtime (`scripts/fetch-models` provides it):
//! multilingual embeddings, heads against a majority baseline, claim matching across
//! languages, the batcher under a burst, refusal of models without a matching card, and
//! `sarap train` reproducing the committed heads.

use sarap_analyzers::batcher::{Batcher, BatcherOptions};
use sarap_analyzers::card::HeadCard;
use sarap_analyzers::claims::Registry;
use sarap_analyzers::encoder::{cosine, Encoder, EncoderOptions};
use sarap_analyzers::heads::Head;
use sarap_analyzers::train::DataPaths;
use sarap_analyzers::Models;
use sarap_core::contracts::{Lang, Script};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

fn loaded() -> sarap::roles::Loaded {
    sarap::roles::load(Some(Path::new("config/sarap.toml")), None).unwrap()
}

fn encoder_options(models_dir: PathBuf) -> EncoderOptions {
    let cfg = loaded().config.analyze;
    EncoderOptions {
        models_dir,
        ort_library: cfg.ort_library,
        threads: 0,
        max_tokens: cfg.max_tokens,
    }
}

/// One encoder for the whole test binary (loading takes a second or two).
fn encoder() -> Arc<Encoder> {
    static E: OnceLock<Arc<Encoder>> = OnceLock::new();
    E.get_or_init(|| {
        let l = loaded();
        assert!(
            l.config
                .analyze
                .models_dir
                .join("e5-small/card.json")
                .exists(),
            "models/ is missing: run scripts/fetch-models (the README's commands do)"
        );
        Arc::new(Encoder::load(&encoder_options(l.config.analyze.models_dir), &l.policy).unwrap())
    })
    .clone()
}

fn batcher(max_batch: usize, token_budget: usize, queue: usize) -> Batcher {
    Batcher::start(
        encoder(),
        BatcherOptions {
            max_batch,
            token_budget,
            max_wait: Duration::from_millis(3),
            queue_capacity: queue,
            cache_capacity: 10_000,
        },
    )
}

#[test]
fn translations_embed_closer_than_unrelated_posts() {
    // (en, ru, kk) renderings of the same post, and an unrelated post per language.
    let sets = [
        [
            "Fuel prices in Almaty went up again this week.",
            "Цены на бензин в Алматы на этой неделе снова выросли.",
            "Алматыда бұл аптада бензин бағасы тағы өсті.",
        ],
        [
            "Our Uyghur neighbours invited us to their wedding.",
            "Наши соседи-уйгуры пригласили нас на свадьбу.",
            "Ұйғыр көршілеріміз бізді тойға шақырды.",
        ],
        [
            "The road to the village has been broken for three years.",
            "Дорога в аул разбита уже три года.",
            "Ауылға баратын жол үш жылдан бері бұзық.",
        ],
    ];
    let unrelated = [
        "I love watching football on Sunday evenings.",
        "Завтра в школе родительское собрание в шесть.",
        "Кеше кітапханадан жаңа роман алдым.",
    ];
    let e = encoder();
    let all: Vec<&str> = sets
        .iter()
        .flatten()
        .chain(unrelated.iter())
        .copied()
        .collect();
    let emb = e.embed_texts(&all, 8).unwrap();
    for (s, set) in sets.iter().enumerate() {
        for a in 0..3 {
            for b in 0..3 {
                if a == b {
                    continue;
                }
                let same = cosine(&emb[s * 3 + a], &emb[s * 3 + b]);
                for u in 0..3 {
                    let other = cosine(&emb[s * 3 + a], &emb[9 + u]);
                    assert!(
                        same > other,
                        "{:?} / {:?}: translation {same:.3} not above unrelated {other:.3} ({:?})",
                        set[a],
                        set[b],
                        unrelated[u]
                    );
                }
                // Another set's sentence in the same language is unrelated too.
                let other_set = (s + 1) % 3;
                let cross = cosine(&emb[s * 3 + a], &emb[other_set * 3 + a]);
                assert!(same > cross, "{:?}: {same:.3} vs {cross:.3}", set[a]);
            }
        }
    }
}

#[test]
fn the_batcher_keeps_its_limits_and_loses_nothing_under_a_burst() {
    let corpus = std::fs::read_to_string("data/labelled/ru.jsonl").unwrap();
    let texts: Vec<String> = corpus
        .lines()
        .take(120)
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["text"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let b = Arc::new(batcher(6, 300, 16));
    // Four callers at once, each with every text (so repeats must come from the cache or
    // the in-flight work, and each caller must get every one of its answers).
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let b = b.clone();
            let mut mine = texts.clone();
            mine.rotate_left(k * 30);
            std::thread::spawn(move || {
                let refs: Vec<&str> = mine.iter().map(|s| s.as_str()).collect();
                (mine.clone(), b.embed(&refs).unwrap())
            })
        })
        .collect();
    let direct = encoder()
        .embed_texts(&texts.iter().map(|s| s.as_str()).collect::<Vec<_>>(), 1)
        .unwrap();
    for h in handles {
        let (mine, embs) = h.join().unwrap();
        assert_eq!(mine.len(), embs.len());
        for (t, e) in mine.iter().zip(&embs) {
            let i = texts.iter().position(|x| x == t).unwrap();
            let c = cosine(e, &direct[i]);
            // int8 dynamic quantisation scales activations per call, so the batch a text
            // runs in moves its embedding slightly; anything beyond that would be a mix-up.
            assert!(
                c > 0.99,
                "embedding of {t:?} differs from a direct run: {c}"
            );
        }
    }
    let s = b.stats();
    let longest = texts
        .iter()
        .map(|t| encoder().tokenize(t).unwrap().len())
        .max()
        .unwrap();
    assert!(s.max_texts <= 6, "{s:?}");
    assert!(s.max_tokens <= 300.max(longest), "{s:?}");
    assert!(s.max_waiting <= 16, "{s:?}");
    assert!(
        s.texts <= texts.len() as u64 * 2,
        "duplicates ran the model too often: {s:?}"
    );
    assert!(s.texts >= texts.len() as u64, "{s:?}");
    // Sorting by length keeps padding well below arrival-order batching.
    assert!(
        (s.padded_tokens as f64) < 1.6 * s.real_tokens as f64,
        "{s:?}"
    );
}

#[test]
fn models_without_a_matching_card_are_refused() {
    let l = loaded();
    let real = l.config.analyze.models_dir.join("e5-small");
    encoder();
    let dir = tempfile::tempdir().unwrap();
    let e5 = dir.path().join("e5-small");
    std::fs::create_dir_all(&e5).unwrap();
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(real.join("card.json")).unwrap()).unwrap();
    for f in ["tokenizer.json", card["file"].as_str().unwrap()] {
        std::os::unix::fs::symlink(std::fs::canonicalize(real.join(f)).unwrap(), e5.join(f))
            .unwrap();
    }
    let opts = encoder_options(dir.path().to_path_buf());
    let err = Encoder::load(&opts, &l.policy)
        .err()
        .expect("no card, no model")
        .to_string();
    assert!(
        err.contains("missing") && err.contains("require_model_card"),
        "{err}"
    );
    let mut wrong = card.clone();
    wrong["sha256"] = serde_json::json!("0".repeat(64));
    std::fs::write(e5.join("card.json"), wrong.to_string()).unwrap();
    let err = Encoder::load(&opts, &l.policy)
        .err()
        .expect("wrong sha256")
        .to_string();
    assert!(err.contains("require_sha256_match"), "{err}");
    std::fs::write(e5.join("card.json"), card.to_string()).unwrap();
    Encoder::load(&opts, &l.policy).expect("the true card loads");
}

#[test]
fn a_claim_restated_in_another_language_matches_it() {
    let l = loaded();
    let b = Arc::new(batcher(16, 4096, 64));
    let models = Models::with_batcher(b.clone(), &l.config.analyze.heads_dir, &l.policy).unwrap();
    let registry = Registry::load(&l.config.analyze.claims, &b).unwrap();
    let lang_of = |id: &str| {
        registry
            .claims()
            .iter()
            .find(|c| c.claim_id == id)
            .map(|c| c.lang.clone())
            .unwrap()
    };
    let posts = [
        ("claim-land-sale", "en", "They are secretly leasing our farmland to foreigners for 99 years, the contract is already signed!"),
        ("claim-land-sale", "ru", "Нашу сельхозземлю тайно отдают иностранцам на 99 лет, договор уже подписан!"),
        ("claim-fuel-price", "kk", "Желтоқсанның 1-інен бастап бензин екі есе қымбаттайды, үкімет шешімге қол қойды!"),
        ("claim-fuel-price", "en", "From December 1 petrol will cost twice as much, the government already signed it."),
        ("claim-fake-decree", "kk", "Жарлық шықты: 15-інен бастап банктегі барлық депозиттер алты айға тоқтатылады!"),
        ("claim-fake-decree", "en", "A decree froze every bank deposit for six months starting on the 15th, withdraw your cash!"),
    ];
    let texts: Vec<&str> = posts.iter().map(|p| p.2).collect();
    let scripts: Vec<(Lang, Script)> = posts
        .iter()
        .map(|p| match p.1 {
            "kk" => (Lang::Kk, Script::Cyrl),
            "ru" => (Lang::Ru, Script::Cyrl),
            _ => (Lang::En, Script::Latn),
        })
        .collect();
    let scored = models.score(&texts, &scripts, &registry).unwrap();
    let mut cross = 0;
    for ((id, lang, text), s) in posts.iter().zip(&scored) {
        let m = s.matched.as_ref().unwrap_or_else(|| {
            panic!(
                "{text:?} matched nothing; nearest {:?}",
                s.nearest.as_ref().map(|n| (&n.0.claim_id, n.1))
            )
        });
        assert_eq!(&m.claim_id, id, "{text:?}");
        if lang_of(id) != *lang {
            cross += 1;
        }
    }
    assert!(cross >= 3, "too few cross-language cases: {cross}");
    // Topical posts that assert no claim stay unmatched.
    let calm = [
        "Бензин сегодня на заправке по той же цене, что и вчера.",
        "Land registry office in Kostanay opens on Saturdays now.",
        "Депозит ашу үшін банкке бардым, бәрі жақсы.",
    ];
    let calm_scripts = [
        (Lang::Ru, Script::Cyrl),
        (Lang::En, Script::Latn),
        (Lang::Kk, Script::Cyrl),
    ];
    for (t, s) in calm
        .iter()
        .zip(models.score(&calm, &calm_scripts, &registry).unwrap())
    {
        assert!(s.matched.is_none(), "{t:?} matched {:?}", s.matched);
    }
}

#[test]
fn train_reproduces_the_committed_heads_and_they_beat_the_baseline() {
    let l = loaded();
    let out = tempfile::tempdir().unwrap();
    let report =
        sarap_analyzers::train::train(&encoder(), &DataPaths::default(), out.path()).unwrap();
    for e in report.sentiment.iter().chain(&report.hostility) {
        assert!(
            e.scores.macro_f1 > e.majority_macro_f1 + 0.2,
            "{}: macro-F1 {:.3} vs majority {:.3}",
            e.lang,
            e.scores.macro_f1,
            e.majority_macro_f1
        );
    }
    let committed = &l.config.analyze.heads_dir;
    for id in ["sentiment", "hostility"] {
        let read = |dir: &Path| -> (Head, HeadCard) {
            let h = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{id}.json"))).unwrap(),
            )
            .unwrap();
            let c = serde_json::from_str(
                &std::fs::read_to_string(dir.join(format!("{id}.card.json"))).unwrap(),
            )
            .unwrap();
            (h, c)
        };
        let (h1, c1) = read(committed);
        let (h2, c2) = read(out.path());
        assert_eq!(
            c1.corpus_sha256, c2.corpus_sha256,
            "{id}: corpus changed since training; run sarap train"
        );
        assert_eq!(
            c1.encoder_sha256, c2.encoder_sha256,
            "{id}: encoder changed since training"
        );
        let scale = h1
            .weights
            .iter()
            .flatten()
            .fold(0f32, |m, w| m.max(w.abs()));
        let diff = h1
            .weights
            .iter()
            .flatten()
            .zip(h2.weights.iter().flatten())
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(
            diff <= 1e-3 * scale.max(1.0),
            "{id}: weights differ by {diff} (scale {scale})"
        );
        for (k, t) in &c1.thresholds {
            assert!(
                (t - c2.thresholds[k]).abs() <= 0.02,
                "{id}: threshold {k} {t} vs {}",
                c2.thresholds[k]
            );
        }
        for (lang, e) in &c1.eval {
            assert!(
                (e.macro_f1 - c2.eval[lang].macro_f1).abs() <= 0.01,
                "{id} {lang}: {e:?} vs {:?}",
                c2.eval[lang]
            );
        }
    }
}

#[test]
fn the_claims_registry_reloads_on_change_and_survives_a_broken_edit() {
    let b = batcher(16, 4096, 64);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.jsonl");
    let line = |id: &str, text: &str| {
        serde_json::json!({"claim_id": id, "verdict": "false", "lang": "en", "text": text, "source": "test"})
            .to_string()
            + "\n"
    };
    std::fs::write(
        &path,
        line("c-one", "Schools will stop teaching in Russian next year."),
    )
    .unwrap();
    let mut r = Registry::load(&path, &b).unwrap();
    assert_eq!(r.claims().len(), 1);
    // Unchanged file: nothing to do.
    r.expire_check();
    assert!(!r.reload_if_changed(&b).unwrap());
    std::thread::sleep(Duration::from_millis(20));
    let two = line("c-one", "Schools will stop teaching in Russian next year.")
        + &line("c-two", "Bread prices will triple in January.");
    std::fs::write(&path, two).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    r.expire_check();
    assert!(r.reload_if_changed(&b).unwrap());
    assert_eq!(r.claims().len(), 2);
    let e = encoder()
        .embed_texts(&["Bread will cost three times more from January"], 1)
        .unwrap();
    let n = r.nearest(&e[0]).unwrap();
    assert_eq!(r.claims()[n.index].claim_id, "c-two");
    // A broken edit is refused and the registry in memory stays as it was.
    std::fs::write(&path, "{\"claim_id\": \"broken\"\n").unwrap();
    let later = later + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(later)
        .unwrap();
    r.expire_check();
    let err = r.reload_if_changed(&b).unwrap_err().to_string();
    assert!(err.contains("line 1"), "{err}");
    assert_eq!(r.claims().len(), 2);
}
