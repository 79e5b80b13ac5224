//! Synthetic stream generator behind `sarap synth`: realistic raw posts from Kazakhstan for the
//! demo, the tests and the benchmarks.
//!
//! The stream mixes Kazakh (Cyrillic and 2021 Latin), Russian, English and Kazakh–Russian
//! code-switching; carries every kind of location evidence ingest resolves; plants personal data,
//! redeliveries and malformed lines that ingest must handle; and can inject scenarios (a hostility
//! wave, a copy-paste claim campaign) whose ground truth tests read from [`Truth`].
//!
//! Everything is drawn from one seeded ChaCha8 stream and static tables (no hash-map iteration),
//! so a seed always yields the same bytes. Texts are assembled from fixed sentence pools; the
//! hostile sentences blame or exclude a group but contain no slurs and nothing stronger than
//! "they should leave", because the data only has to exercise the classifier, not to harm.

use chrono::{DateTime, Duration, FixedOffset, SecondsFormat, TimeZone, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sarap_core::ids::{iin_check_digit, luhn_check_digit};
use sarap_core::{AuthorKind, Engagement, RawAuthor, RawGeo, RawPost, Region, REGIONS, SCHEMA_RAW};
use std::fmt;
use std::str::FromStr;

/// An injected scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Scenario {
    /// Hostility toward a group rises in one region between two fractions of the stream (0..1); `intensity` = share of that region's posts that are hostile during the wave.
    HostilityWave {
        /// Region where the wave happens.
        region: Region,
        /// Start, as a fraction of the stream.
        from: f64,
        /// End, as a fraction of the stream.
        to: f64,
        /// Share of the region's posts that are hostile during the wave.
        intensity: f64,
    },
    /// A verified-false claim spreads as a copy-paste campaign (near-duplicates by many accounts) in a region.
    ClaimCampaign {
        /// Region where the campaign runs.
        region: Region,
        /// Start, as a fraction of the stream.
        from: f64,
        /// End, as a fraction of the stream.
        to: f64,
        /// Share of the region's posts that are campaign copies while it runs.
        share: f64,
    },
}

impl Scenario {
    /// The region the scenario acts on.
    pub fn region(&self) -> Region {
        match self {
            Scenario::HostilityWave { region, .. } | Scenario::ClaimCampaign { region, .. } => {
                *region
            }
        }
    }

    /// Whether the scenario is active at this fraction of the stream.
    pub fn active_at(&self, frac: f64) -> bool {
        let (from, to) = match self {
            Scenario::HostilityWave { from, to, .. } | Scenario::ClaimCampaign { from, to, .. } => {
                (*from, *to)
            }
        };
        frac >= from && frac < to
    }
}

impl FromStr for Scenario {
    type Err = String;

    /// Parses `hostility-wave:REGION[:FROM:TO:INTENSITY]` or `claim-campaign:REGION[:FROM:TO:SHARE]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.trim().split(':').map(str::trim).collect();
        let kind = parts[0].to_ascii_lowercase().replace('_', "-");
        if kind != "hostility-wave" && kind != "claim-campaign" {
            return Err(format!(
                "scenario {s:?}: unknown kind {:?} (expected hostility-wave or claim-campaign)",
                parts[0]
            ));
        }
        let region_s = parts
            .get(1)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| format!("scenario {s:?}: missing region (e.g. {kind}:abai)"))?;
        let region: Region = region_s
            .replace('-', "_")
            .parse()
            .or_else(|_| region_s.parse())
            .map_err(|e| format!("scenario {s:?}: bad region: {e}"))?;
        if region == Region::Unknown {
            return Err(format!(
                "scenario {s:?}: region must be one of the 20 regions, not unknown"
            ));
        }
        let (from, to, x) = match parts.len() {
            2 => (0.4, 0.7, if kind == "hostility-wave" { 0.5 } else { 0.3 }),
            5 => {
                let num = |i: usize, name: &str| -> Result<f64, String> {
                    let v: f64 = parts[i].parse().map_err(|_| {
                        format!("scenario {s:?}: {name} {:?} is not a number", parts[i])
                    })?;
                    if !(0.0..=1.0).contains(&v) {
                        return Err(format!("scenario {s:?}: {name} {v} is outside 0..1"));
                    }
                    Ok(v)
                };
                let xname = if kind == "hostility-wave" {
                    "intensity"
                } else {
                    "share"
                };
                (num(2, "from")?, num(3, "to")?, num(4, xname)?)
            }
            n => {
                return Err(format!(
                    "scenario {s:?}: expected KIND:REGION or KIND:REGION:FROM:TO:X, got {n} parts"
                ))
            }
        };
        if from >= to {
            return Err(format!(
                "scenario {s:?}: from {from} must be less than to {to}"
            ));
        }
        Ok(if kind == "hostility-wave" {
            Scenario::HostilityWave {
                region,
                from,
                to,
                intensity: x,
            }
        } else {
            Scenario::ClaimCampaign {
                region,
                from,
                to,
                share: x,
            }
        })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scenario::HostilityWave {
                region,
                from,
                to,
                intensity,
            } => {
                write!(f, "hostility-wave:{region}:{from}:{to}:{intensity}")
            }
            Scenario::ClaimCampaign {
                region,
                from,
                to,
                share,
            } => {
                write!(f, "claim-campaign:{region}:{from}:{to}:{share}")
            }
        }
    }
}

/// Options of the synthetic stream.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    /// Seed of the random stream; the same seed gives the same bytes.
    pub seed: u64,
    /// Number of lines to yield (malformed and duplicate lines included).
    pub posts: usize,
    /// Publication time of the first post.
    pub start: DateTime<Utc>,
    /// Average posting rate, in posts per minute (a diurnal pattern modulates it).
    pub posts_per_minute: f64,
    /// Scenarios to inject.
    pub scenarios: Vec<Scenario>,
    /// Share of lines that are malformed.
    pub malformed_rate: f64,
    /// Share of lines that are exact redeliveries of an earlier post.
    pub duplicate_rate: f64,
    /// Number of distinct accounts.
    pub authors: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 1,
            posts: 1000,
            start: Utc
                .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
                .single()
                .expect("valid date"),
            posts_per_minute: 200.0,
            scenarios: Vec::new(),
            malformed_rate: 0.0,
            duplicate_rate: 0.02,
            authors: 5000,
        }
    }
}

/// Ground truth of one line, for tests.
#[derive(Debug, Clone)]
pub struct Truth {
    /// The post blames or excludes a group.
    pub hostile: bool,
    /// Id of the false claim the post repeats, if any.
    pub claim: Option<&'static str>,
    /// Language: "kk", "kk-latn", "ru", "en" or "kk-ru".
    pub lang: &'static str,
    /// Region the post was written in.
    pub region: Region,
}

/// One line of the stream.
// Posts are by far the common case; boxing them would cost an allocation per line for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SynthLine {
    /// A well-formed raw post.
    Post(RawPost),
    /// A line ingest must reject, with the kind of damage.
    Malformed {
        /// The raw bytes of the line (no newline inside).
        bytes: Vec<u8>,
        /// Kind of damage, e.g. `not_json` or `missing_text`.
        kind: &'static str,
    },
}

impl SynthLine {
    /// The line as written to a JSONL stream, without the trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            SynthLine::Post(p) => serde_json::to_vec(p).expect("a RawPost always serialises"),
            SynthLine::Malformed { bytes, .. } => bytes.clone(),
        }
    }
}

/// Kinds of malformed lines, cycled so that every kind appears once enough are drawn.
pub const MALFORMED_KINDS: [&str; 9] = [
    "not_json",
    "invalid_utf8",
    "missing_id",
    "missing_text",
    "missing_created_at",
    "bad_timestamp",
    "unknown_schema",
    "text_too_long",
    "empty_text",
];

/// Ids of the verified-false claims in circulation.
pub const CLAIM_IDS: [&str; 3] = ["claim-fuel-price", "claim-land-sale", "claim-fake-decree"];

/// Deterministic for a given seed (rand_chacha::ChaCha8Rng, rand 0.8). Yields exactly `posts` lines (malformed and duplicate lines count toward `posts`).
pub fn generate(opts: &SynthOptions) -> impl Iterator<Item = SynthLine> {
    Gen::new(opts).map(|(line, _)| line)
}

/// Like [`generate`], with the ground truth of each line (`None` for malformed lines).
pub fn generate_labelled(opts: &SynthOptions) -> impl Iterator<Item = (SynthLine, Option<Truth>)> {
    Gen::new(opts)
}

// ---------------------------------------------------------------------------------------------
// Static tables.

/// Language of a synthetic post; the discriminant indexes the per-language pools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L {
    Kk = 0,
    Latn = 1,
    Ru = 2,
    En = 3,
    KkRu = 4,
}

const LANGS: [L; 5] = [L::Kk, L::Latn, L::Ru, L::En, L::KkRu];
const LANG_TAGS: [&str; 5] = ["kk", "kk-latn", "ru", "en", "kk-ru"];
/// Target mix: kk 35%, kk-latn 7%, ru 40%, en 8%, kk-ru 10%.
const LANG_MIX: [f64; 5] = [0.35, 0.07, 0.40, 0.08, 0.10];

/// The main city of a region with its inflected names, coordinates and posting weight.
struct Place {
    en: &'static str,
    ru: &'static str,
    ru_in: &'static str,
    ru_from: &'static str,
    kk: &'static str,
    kk_loc: &'static str,
    kk_abl: &'static str,
    latn: &'static str,
    latn_loc: &'static str,
    lat: f64,
    lon: f64,
    /// Posting weight: population in thousands, cities boosted for higher social-media use.
    weight: f64,
    /// -1 leans Russian-speaking, +1 leans Kazakh-speaking.
    lean: i8,
}

macro_rules! place {
    ($en:literal, $ru:literal, $ru_in:literal, $ru_from:literal, $kk:literal, $kk_loc:literal, $kk_abl:literal, $latn:literal, $latn_loc:literal, $lat:literal, $lon:literal, $w:literal, $lean:literal) => {
        Place {
            en: $en,
            ru: $ru,
            ru_in: $ru_in,
            ru_from: $ru_from,
            kk: $kk,
            kk_loc: $kk_loc,
            kk_abl: $kk_abl,
            latn: $latn,
            latn_loc: $latn_loc,
            lat: $lat,
            lon: $lon,
            weight: $w,
            lean: $lean,
        }
    };
}

/// One entry per region, in the order of [`REGIONS`] (checked by a test).
#[rustfmt::skip]
const PLACES: [Place; 20] = [
    place!("Semey", "Семей", "в Семее", "из Семея", "Семей", "Семейде", "Семейден", "Semeı", "Semeıde", 50.41, 80.23, 600.0, 0),
    place!("Kokshetau", "Кокшетау", "в Кокшетау", "из Кокшетау", "Көкшетау", "Көкшетауда", "Көкшетаудан", "Kókshetaý", "Kókshetaýda", 53.28, 69.39, 790.0, -1),
    place!("Aktobe", "Актобе", "в Актобе", "из Актобе", "Ақтөбе", "Ақтөбеде", "Ақтөбеден", "Aqtóbe", "Aqtóbede", 50.28, 57.17, 930.0, 0),
    place!("Almaty", "Алматы", "в Алматы", "из Алматы", "Алматы", "Алматыда", "Алматыдан", "Almaty", "Almatyda", 43.24, 76.89, 2900.0, 0),
    place!("Konaev", "Конаев", "в Конаеве", "из Конаева", "Қонаев", "Қонаевта", "Қонаевтан", "Qonaev", "Qonaevta", 43.87, 77.07, 1500.0, 0),
    place!("Astana", "Астана", "в Астане", "из Астаны", "Астана", "Астанада", "Астанадан", "Astana", "Astanada", 51.13, 71.43, 1850.0, 0),
    place!("Atyrau", "Атырау", "в Атырау", "из Атырау", "Атырау", "Атырауда", "Атыраудан", "Atyraý", "Atyraýda", 47.11, 51.92, 700.0, 1),
    place!("Oskemen", "Усть-Каменогорск", "в Усть-Каменогорске", "из Усть-Каменогорска", "Өскемен", "Өскеменде", "Өскеменнен", "Óskemen", "Óskemende", 49.95, 82.61, 720.0, -1),
    place!("Taraz", "Тараз", "в Таразе", "из Тараза", "Тараз", "Таразда", "Тараздан", "Taraz", "Tarazda", 42.90, 71.37, 1220.0, 1),
    place!("Taldykorgan", "Талдыкорган", "в Талдыкоргане", "из Талдыкоргана", "Талдықорған", "Талдықорғанда", "Талдықорғаннан", "Taldyqorǵan", "Taldyqorǵanda", 45.02, 78.37, 690.0, 0),
    place!("Karaganda", "Караганда", "в Караганде", "из Караганды", "Қарағанды", "Қарағандыда", "Қарағандыдан", "Qaraǵandy", "Qaraǵandyda", 49.81, 73.09, 1130.0, -1),
    place!("Kostanay", "Костанай", "в Костанае", "из Костаная", "Қостанай", "Қостанайда", "Қостанайдан", "Qostanaı", "Qostanaıda", 53.21, 63.63, 830.0, -1),
    place!("Kyzylorda", "Кызылорда", "в Кызылорде", "из Кызылорды", "Қызылорда", "Қызылордада", "Қызылордадан", "Qyzylorda", "Qyzylordada", 44.85, 65.51, 830.0, 1),
    place!("Aktau", "Актау", "в Актау", "из Актау", "Ақтау", "Ақтауда", "Ақтаудан", "Aqtaý", "Aqtaýda", 43.67, 51.2, 770.0, 1),
    place!("Petropavl", "Петропавловск", "в Петропавловске", "из Петропавловска", "Петропавл", "Петропавлда", "Петропавлдан", "Petropavl", "Petropavlda", 54.87, 69.15, 530.0, -1),
    place!("Pavlodar", "Павлодар", "в Павлодаре", "из Павлодара", "Павлодар", "Павлодарда", "Павлодардан", "Pavlodar", "Pavlodarda", 52.29, 76.97, 750.0, -1),
    place!("Shymkent", "Шымкент", "в Шымкенте", "из Шымкента", "Шымкент", "Шымкентте", "Шымкенттен", "Shymkent", "Shymkentte", 42.32, 69.59, 1590.0, 1),
    place!("Turkistan", "Туркестан", "в Туркестане", "из Туркестана", "Түркістан", "Түркістанда", "Түркістаннан", "Túrkistan", "Túrkistanda", 43.30, 68.25, 2110.0, 1),
    place!("Jezkazgan", "Жезказган", "в Жезказгане", "из Жезказгана", "Жезқазған", "Жезқазғанда", "Жезқазғаннан", "Jezqazǵan", "Jezqazǵanda", 47.78, 67.71, 220.0, 0),
    place!("Oral", "Уральск", "в Уральске", "из Уральска", "Орал", "Оралда", "Оралдан", "Oral", "Oralda", 51.23, 51.37, 690.0, 0),
];

/// Smaller towns (region index, lat, lon) so coordinates are not all on the main city.
const TOWNS: [(usize, f64, f64); 12] = [
    (15, 51.72, 75.32), // Ekibastuz
    (10, 50.05, 72.96), // Temirtau
    (11, 52.96, 63.12), // Rudny
    (13, 43.34, 52.86), // Zhanaozen
    (17, 43.52, 68.51), // Kentau
    (1, 52.94, 70.19),  // Shchuchinsk
    (0, 47.96, 80.44),  // Ayagoz
    (18, 47.90, 67.53), // Satpayev
    (7, 50.34, 83.51),  // Ridder
    (9, 44.16, 80.00),  // Zharkent
    (6, 46.95, 54.02),  // Kulsary
    (12, 46.80, 61.67), // Aral
];

const PLATFORMS: [&str; 5] = ["telegram", "vk", "x", "instagram", "threads"];
const PLATFORM_MIX: [f64; 5] = [0.36, 0.16, 0.12, 0.24, 0.12];
/// Per-platform offsets so account and post ids look like each platform's.
const AUTHOR_ID_BASE: [u64; 5] = [
    100_000_000,
    10_000_000,
    1_200_000_000_000_000_000,
    40_000_000_000,
    60_000_000_000,
];
const POST_ID_BASE: [u64; 5] = [
    10_000,
    500_000,
    1_860_000_000_000_000_000,
    3_400_000_000_000_000_000,
    3_500_000_000_000_000_000,
];

/// Relative posting rate per local hour (UTC+5), normalised at start-up to a mean of 1.
const DIURNAL: [f64; 24] = [
    0.35, 0.2, 0.12, 0.08, 0.08, 0.15, 0.4, 0.8, 1.1, 1.2, 1.25, 1.3, 1.35, 1.3, 1.25, 1.2, 1.2,
    1.3, 1.45, 1.6, 1.7, 1.6, 1.2, 0.7,
];

/// Groups: Russian, Kazakh, Kazakh Latin, English plural forms. The first nine are ethnic groups
/// (waves target those); the last two are religious communities.
const GROUPS: [[&str; 4]; 11] = [
    ["казахи", "қазақтар", "qazaqtar", "Kazakhs"],
    ["русские", "орыстар", "orystar", "Russians"],
    ["узбеки", "өзбектер", "ózbekter", "Uzbeks"],
    ["уйгуры", "ұйғырлар", "uıǵyrlar", "Uyghurs"],
    ["корейцы", "кәрістер", "kárister", "Koreans"],
    ["татары", "татарлар", "tatarlar", "Tatars"],
    ["украинцы", "украиндар", "ýkraındar", "Ukrainians"],
    ["немцы", "немістер", "nemister", "Germans"],
    ["дунгане", "дүнгендер", "dúngender", "Dungans"],
    ["мусульмане", "мұсылмандар", "musylmandar", "Muslims"],
    [
        "православные",
        "православтар",
        "pravoslavtar",
        "Orthodox Christians",
    ],
];
const ETHNIC_GROUPS: usize = 9;

type Pool = &'static [&'static str];

/// A topic: weight among ordinary posts, sentence pools per language, hashtags (Cyrillic, Latin).
struct Topic {
    weight: f64,
    s: [Pool; 5],
    tags_cyr: Pool,
    tags_lat: Pool,
}

const TOPICS: [Topic; 10] = [
    // Prices and tariffs.
    Topic {
        weight: 0.15,
        s: [
            &[
                "Дүкенде нан тағы қымбаттады, 300 теңге болыпты.",
                "Коммуналдық төлемдер биыл екі рет көтерілді, зейнетақы жетпейді.",
                "Базарда ет бағасы шарықтап тұр, келісі 4000 теңгеден асты.",
                "Газ тарифі өседі деп жатыр, қыста не істейміз?",
                "Жалақы сол қалпы, ал бағалар күн сайын өсіп жатыр.",
                "Қант пен май бағасы бір айда 20 пайызға өсті.",
                "Дәріханадағы дәрілер де қымбаттап кетті ғой.",
            ],
            &[
                "Qazaqstanda baǵalar ósip jatyr, jalaqy ósip jatqan joq.",
                "Dúkende nan taǵy qymbattady, 300 teńge bolypty.",
                "Kommýnaldyq tólemder bıyl eki ret kóterildi.",
                "Bazarda et baǵasy óte qymbat, kelisi 4000 teńgeden asty.",
                "Gaz tarıfi ósedi dep jatyr, qysta ne isteımiz?",
            ],
            &[
                "Опять подорожал хлеб, уже 300 тенге за буханку.",
                "Коммуналка за ноябрь пришла почти 40 тысяч, это вообще нормально?",
                "Цены на мясо на базаре просто космос, 4000 за кило.",
                "Тарифы на газ опять поднимают, а зарплаты стоят на месте.",
                "Зашла в магазин за продуктами, оставила ползарплаты.",
                "Сахар и масло за месяц подорожали на 20 процентов.",
                "Кто-нибудь знает, где сейчас бензин дешевле?",
                "Лекарства в аптеке тоже подорожали, пенсии ни на что не хватает.",
            ],
            &[
                "Bread went up again, 300 tenge a loaf now.",
                "Utility bills this winter are brutal, nearly 40k tenge.",
                "Meat prices at the bazaar are insane, 4000 per kilo.",
                "Gas tariffs are going up again while salaries stay flat.",
                "Groceries cost twice what they did two years ago.",
            ],
            &[
                "Цены вообще, нан тағы қымбаттады, 300 теңге.",
                "Коммуналка келді, почти 40 мың, жесть.",
                "Базарда мясо очень дорогое, келісі 4000.",
                "Зарплата сол қалпы, а цены растут каждый день.",
                "Магазинге зашла, жарты зарплата кетті.",
            ],
        ],
        tags_cyr: &["#цены", "#бағалар", "#тарифы", "#коммуналка"],
        tags_lat: &["#prices", "#baǵalar", "#tariffs"],
    },
    // Roads and utilities: anger at the authorities, never at a group.
    Topic {
        weight: 0.14,
        s: [
            &[
                "Көшеде жол әлі жөнделмеді, шұңқырдан шұңқырға секіріп жүрміз.",
                "Үш күннен бері ыстық су жоқ, әкімдік үндемейді.",
                "Жарық тағы өшті, тоңазытқыштағы бәрі бұзылды.",
                "Аялдамада бір сағат автобус күттік, қашан реттеледі?",
                "Жолдағы кептеліс шектен шықты, жұмысқа кешігіп қалдым.",
                "Аулада құбыр жарылды, бір аптадан бері су ағып жатыр.",
            ],
            &[
                "Kóshede jol áli jóndelmedi, shuńqyrdan shuńqyrǵa sekirip júrmiz.",
                "Úsh kúnnen beri ystyq sý joq, ákimdik úndemeıdi.",
                "Jaryq taǵy óshti, tońazytqyshtaǵy bári buzyldy.",
                "Aıaldamada bir saǵat avtobýs kúttik.",
            ],
            &[
                "Дороги опять разбиты, ямы по колено, акимат молчит.",
                "Третий день нет горячей воды, сколько можно?",
                "Свет снова отключили без предупреждения.",
                "Час ждала автобус на остановке, маршрутки вообще не ходят.",
                "Пробки жуткие, опоздал на работу на сорок минут.",
                "Трубу прорвало во дворе, течёт уже неделю, всем всё равно.",
                "Отопление дали, но батареи еле тёплые.",
            ],
            &[
                "The potholes on our street are getting worse every week.",
                "No hot water for three days now, and nobody from the akimat answers.",
                "Another power cut tonight, no warning at all.",
                "Waited an hour for the bus again this morning.",
                "Traffic was terrible today, I was forty minutes late.",
            ],
            &[
                "Бүгін погода очень плохая, жол жабық.",
                "Опять ыстық су жоқ, третий день уже.",
                "Жол вообще ужас, ямы везде, әкімдік молчит.",
                "Автобус бір сағат күттім, короче опоздала.",
                "Свет тағы өшті, холодильник бәрі бұзылды.",
            ],
        ],
        tags_cyr: &["#дороги", "#жол", "#акимат", "#ЖКХ"],
        tags_lat: &["#roads", "#jol", "#akimat"],
    },
    // Weather.
    Topic {
        weight: 0.12,
        s: [
            &[
                "Бүгін күн жылы, бәрі серуенге шықты.",
                "Түнде қатты қар жауды, көліктер көміліп қалды.",
                "Аяз отыз градус, балалар мектепке бармайды.",
                "Жел қатты соғып тұр, сақ болыңыздар.",
                "Көктем келді, күн шуақты, көңіл көтеріңкі.",
            ],
            &[
                "Búgin kún jyly, bári serýenge shyqty.",
                "Túnde qatty qar jaýdy, kólikter kómilip qaldy.",
                "Aıaz otyz gradýs, balalar mektepke barmaıdy.",
                "Jel qatty soǵyp tur, saq bolyńyzdar.",
            ],
            &[
                "На улице минус тридцать, дети сидят дома.",
                "Снегопад всю ночь, машины завалило по крышу.",
                "Ветер такой, что с ног сносит, берегите себя.",
                "Наконец-то тепло, весь город высыпал гулять.",
                "Гололёд страшный, уже двое знакомых упали.",
            ],
            &[
                "It's minus thirty outside, schools are closed.",
                "Heavy snow all night, cars are buried.",
                "Finally a warm day, everyone is out walking.",
                "Strong wind warning today, stay safe everyone.",
            ],
            &[
                "Аяз минус тридцать, балалар дома сидят.",
                "Қар жауды всю ночь, машину откопать не могу.",
                "Наконец-то күн жылы, гулять шықтық.",
                "Жел такой сильный, сақ болыңыздар.",
            ],
        ],
        tags_cyr: &["#погода", "#ауарайы", "#снег"],
        tags_lat: &["#weather", "#aýaraıy"],
    },
    // Sports.
    Topic {
        weight: 0.09,
        s: [
            &[
                "Қайрат бүгін жеңді, стадион толы болды!",
                "Біздің балуандар чемпионатта үш алтын алды.",
                "Кеше футболға бардық, керемет ойын болды.",
                "Бокстан жастар турнирі өтіп жатыр, барыңыздар.",
            ],
            &[
                "Búgin fýtbolǵa bardyq, keremet oıyn boldy!",
                "Bizdiń balýandar chempıonatta úsh altyn aldy.",
                "Boksta jastar týrnıri ótip jatyr.",
            ],
            &[
                "Вчера были на футболе, игра огонь!",
                "Наши борцы взяли три золота на чемпионате.",
                "Кто смотрел бокс вчера? Вот это был бой.",
                "Записал сына на хоккей, тренер отличный.",
                "Марафон в воскресенье, кто бежит?",
            ],
            &[
                "Great football match last night, the stadium was packed!",
                "Our wrestlers took three golds at the championship.",
                "Anyone watching the boxing tonight?",
                "Signed my son up for hockey, the coach is great.",
            ],
            &[
                "Вчера футболға бардық, игра керемет болды!",
                "Бокс смотрели? Біздің жігіт красавчик.",
                "Марафон в воскресенье, кім бежит?",
            ],
        ],
        tags_cyr: &["#футбол", "#спорт", "#бокс"],
        tags_lat: &["#football", "#sport"],
    },
    // Culture and holidays.
    Topic {
        weight: 0.1,
        s: [
            &[
                "Наурыз құтты болсын, ағайын! Наурыз көже дайын.",
                "Театрда жаңа қойылым, билет таптым!",
                "Домбыра кешіне бардық, көңіл күй керемет.",
                "Мұқағалидың өлеңдерін балаларға оқып бердім.",
                "Қазақ хандығының тарихы туралы көрме ашылды.",
                "Тәуелсіздік күні құтты болсын!",
            ],
            &[
                "Naýryz qutty bolsyn, aǵaıyn!",
                "Teatrda jańa qoıylym, bılet taptym.",
                "Dombyra keshine bardyq, kóńil kúı keremet.",
            ],
            &[
                "С праздником Наурыз! Всем добра и достатка.",
                "Сходили в театр на новую постановку, очень понравилось.",
                "Вечер домбры в филармонии, зал был полный.",
                "В музее открыли выставку о Великом шёлковом пути.",
                "Наурыз-коже наварили на весь подъезд.",
            ],
            &[
                "Happy Nauryz everyone! Wishing you peace and plenty.",
                "Went to the theatre for the new play, loved it.",
                "A dombra concert at the philharmonic tonight, full house.",
                "The museum opened an exhibition on the Silk Road.",
            ],
            &[
                "Наурыз құтты болсын, всем добра!",
                "Театрға бардық, постановка очень понравилась.",
                "Наурыз көже сварили на весь подъезд.",
            ],
        ],
        tags_cyr: &["#Наурыз", "#культура", "#мәдениет"],
        tags_lat: &["#Nauryz", "#culture"],
    },
    // Education.
    Topic {
        weight: 0.08,
        s: [
            &[
                "ҰБТ нәтижелері шықты, балам 120 балл жинады!",
                "Мектепте оқулықтар жетпейді, ата-аналар өздері сатып алып жатыр.",
                "Университетке грант бөлінді, құттықтаймын!",
                "Балабақшаға кезек әлі жетпеді.",
            ],
            &[
                "UBT nátıjeleri shyqty, balam 120 ball jınady!",
                "Mektepte oqýlyqtar jetpeıdi.",
                "Ýnıversıtetke grant bólindi, quttyqtaımyn!",
            ],
            &[
                "Результаты ЕНТ пришли, сын набрал 120 баллов!",
                "В школе опять не хватает учебников, родители покупают сами.",
                "Очередь в садик так и не подошла, третий год ждём.",
                "Поздравляю всех, кто получил грант!",
            ],
            &[
                "UNT results are out, my son scored 120!",
                "Our school still doesn't have enough textbooks.",
                "Still waiting for a kindergarten spot, third year now.",
            ],
            &[
                "ҰБТ результаты шықты, 120 балл набрал!",
                "Мектепте учебники жетпейді, опять сами покупаем.",
                "Короче, мен сегодня жұмысқа бармаймын, балам ауырып қалды.",
            ],
        ],
        tags_cyr: &["#ЕНТ", "#ҰБТ", "#школа", "#білім"],
        tags_lat: &["#UNT", "#education"],
    },
    // Local news.
    Topic {
        weight: 0.12,
        s: [
            &[
                "Қалада жаңа саябақ ашылды.",
                "Әкімдік жаңа емхана салатынын хабарлады.",
                "Орталық көшеде жөндеу жұмыстары басталады.",
                "Өрт сөндірушілер тұрғын үйдегі өртті тез сөндірді, зардап шеккендер жоқ.",
                "Бейсенбі күні бірнеше шағын ауданда су болмайды.",
            ],
            &[
                "Qalada jańa saıabaq ashyldy.",
                "Ákimdik jańa emhana salatynyn habarlady.",
                "Ortalyq kóshede jóndeý jumystary bastalady.",
            ],
            &[
                "В городе открыли новый парк.",
                "Акимат сообщил о строительстве новой поликлиники.",
                "На центральной улице начинается ремонт, возможны пробки.",
                "Пожарные быстро потушили возгорание в жилом доме, пострадавших нет.",
                "В четверг отключат воду в нескольких микрорайонах.",
            ],
            &[
                "A new park opened in the city centre.",
                "The akimat announced a new clinic will be built.",
                "Road repairs start on the main street next week.",
                "Firefighters quickly put out a fire in an apartment block, no one was hurt.",
            ],
            &[
                "Қалада новый парк ашылды, барыңыздар.",
                "В четверг су болмайды, запаситесь.",
                "Әкімдік поликлиника строит, говорят.",
            ],
        ],
        tags_cyr: &["#новости", "#жаңалықтар", "#город"],
        tags_lat: &["#news", "#jańalyqtar"],
    },
    // Tourism.
    Topic {
        weight: 0.07,
        s: [
            &[
                "Демалыста тауға бардық, табиғаты керемет.",
                "Көлге барып қайттық, балалар риза.",
                "Туристер көбейді, қонақүйлер толы.",
            ],
            &[
                "Demalysta taýǵa bardyq, tabıǵaty keremet.",
                "Kólge baryp qaıttyq, balalar rıza.",
            ],
            &[
                "На выходных съездили в горы, красота невероятная.",
                "Туристов всё больше, гостиницы забиты.",
                "Кто знает хорошие зоны отдыха недалеко?",
            ],
            &[
                "Went hiking in the mountains this weekend, stunning views.",
                "More tourists every year, hotels are full.",
                "Any recommendations for a weekend trip nearby?",
            ],
            &[
                "Выходные тауға бардық, красота!",
                "Көлге съездили, балалар довольны.",
            ],
        ],
        tags_cyr: &["#туризм", "#саяхат", "#отдых"],
        tags_lat: &["#travel", "#visitkazakhstan"],
    },
    // Jobs.
    Topic {
        weight: 0.08,
        s: [
            &[
                "Жұмыс іздеп жүрмін, бухгалтер, тәжірибем бес жыл.",
                "Зауытқа жұмысшылар керек, жалақы жақсы.",
                "Жастар мамандығы бойынша жұмыс таппай жүр.",
                "Вахтаға кету керек пе, білмеймін.",
            ],
            &[
                "Jumys izdep júrmin, tájirıbem bes jyl.",
                "Zaýytqa jumysshylar kerek, jalaqy jaqsy.",
            ],
            &[
                "Ищу работу водителем, стаж десять лет.",
                "На завод требуются сварщики, зарплата достойная.",
                "Молодёжь не может найти работу по специальности.",
                "Думаю уехать на вахту, здесь работы нет.",
            ],
            &[
                "Looking for a job as an accountant, five years of experience.",
                "The plant is hiring welders, decent pay.",
                "Young people can't find jobs in their field.",
            ],
            &[
                "Ищу работу, жұмыс керек, стаж бар.",
                "Вахтаға уехать хочу, здесь работы жоқ.",
            ],
        ],
        tags_cyr: &["#работа", "#жұмыс", "#вакансия"],
        tags_lat: &["#jobs", "#jumys"],
    },
    // Neutral and friendly mentions of groups and languages: hard negatives for the classifier.
    Topic {
        weight: 0.05,
        s: [
            &[
                "Өзбек көршілеріміз тойға шақырды, палауы керемет болды.",
                "Мектепте достық кеші өтті: қазақтар, орыстар, татарлар, немістер бірге ән айтты.",
                "Ұйғыр лағманы мен дүнген асханасы – қаламыздың мақтанышы.",
                "Орыс тілі мен қазақ тілі біздің отбасымызда қатар жүреді.",
                "Кәріс мәдени орталығы Чусок мерекесін тойлады.",
                "Мұсылмандар мен православтар бірге саябақты тазалады.",
                "Қазақ тілі курстары тегін, жазылыңыздар!",
            ],
            &[
                "Ózbek kórshilerimiz toıǵa shaqyrdy, paloýy keremet boldy.",
                "Mektepte dostyq keshi ótti: qazaqtar, orystar, tatarlar birge án aıtty.",
                "Qazaq tili kýrstary tegin, jazylyńyzdar!",
                "Uıǵyr laǵmany óte dámdi eken.",
            ],
            &[
                "Корейская морковча с нашего базара лучшая, спасибо нашим корейцам!",
                "У соседей-узбеков сегодня той, позвали весь подъезд.",
                "Уйгурский лагман в нашей столовой просто огонь.",
                "В школе прошёл вечер дружбы народов: казахи, русские, татары, немцы пели песни вместе.",
                "Дунганская кухня – это отдельная любовь.",
                "Мусульмане и православные вместе помогали убирать парк.",
                "Мой дед немец, бабушка казашка, а я говорю на трёх языках.",
                "Курсы казахского языка для взрослых бесплатно, записывайтесь.",
                "Русский и казахский в нашей семье оба родные.",
                "Украинский культурный центр проводит выставку вышиванок.",
            ],
            &[
                "Our Korean neighbours brought kimchi for the whole building, so kind.",
                "Great Uyghur laghman place opened near the bazaar.",
                "Friendship of peoples evening at school: Kazakhs, Russians, Tatars and Germans singing together.",
                "Free Kazakh language classes for adults, sign up!",
                "Muslims and Orthodox Christians cleaned the park together on Saturday.",
                "The Ukrainian cultural centre has an embroidery exhibition this week.",
                "Dungan cuisine is underrated, the ashlyamfu is amazing.",
            ],
            &[
                "Көршілеріміз узбеки, сегодня тойға шақырды, плов супер болды.",
                "Мектепте вечер дружбы народов болды, казахи, русские, немцы бәрі бірге.",
                "Қазақ тілі курсы бесплатно, записывайтесь, достар.",
                "Уйгурский лағман жедік, очень вкусно.",
            ],
        ],
        tags_cyr: &["#достық", "#дружба", "#бірлік"],
        tags_lat: &["#friendship", "#unity"],
    },
];

/// News-style sentences for outlets and official accounts, which do not write in the first person.
const NEWS: [Pool; 5] = [
    &[
        "Қалада жол жөндеу жұмыстары жалғасуда.",
        "Синоптиктер алдағы үш күнде қар мен боран болатынын ескертті.",
        "Жылу маусымы кестеге сай басталды.",
        "Мектептерде жаңа спорт залдары ашылады.",
        "Жол полициясы жүргізушілерді сақ болуға шақырады.",
        "Қалалық ауруханаға жаңа құрал-жабдық келді.",
        "Әлеуметтік маңызы бар азық-түлік бағасы бақылауда.",
    ],
    &[
        "Qalada jol jóndeý jumystary jalǵasýda.",
        "Sınoptıkter aldaǵy úsh kúnde qar men boran bolatynyn eskertti.",
        "Jylý maýsymy kestege saı bastaldy.",
        "Mektepterde jańa sport zaldary ashylady.",
    ],
    &[
        "Синоптики предупреждают о метели в ближайшие три дня.",
        "Ремонт дорог в городе идёт по графику.",
        "Отопительный сезон начался в срок, сообщили в акимате.",
        "В школах откроют новые спортивные залы.",
        "Дорожная полиция призывает водителей быть осторожнее.",
        "Городская больница получила новое оборудование.",
        "Цены на социально значимые продукты остаются под контролем, сообщили в акимате.",
        "На городском катке начался сезон, вход для детей бесплатный.",
    ],
    &[
        "Forecasters warn of a blizzard over the next three days.",
        "Road repairs in the city are on schedule.",
        "The heating season started on time, the akimat said.",
        "New sports halls will open in local schools.",
        "Traffic police urge drivers to take extra care.",
        "The city hospital has received new equipment.",
    ],
    &[
        "Синоптиктер предупреждают: үш күн метель болады.",
        "Ремонт дорог жалғасуда, по графику.",
        "Жылу маусымы начался вовремя, деп хабарлады әкімдік.",
    ],
];

/// Sentences that blame or exclude a group (`{G}` mid-sentence, `{Gc}` capitalised at the start).
const HOSTILE: [Pool; 5] = [
    &[
        "Барлығына {G} кінәлі, бәрі біледі.",
        "{Gc} біздің жұмысымызды тартып алып жатыр, жетер енді.",
        "{Gc} кетсін, мұнда оларға орын жоқ.",
        "Бағаның өсуіне {G} кінәлі.",
        "{Gc} бізге керек емес, өз елдеріне қайтсын.",
    ],
    &[
        "Barlyǵyna {G} kináli, bári biledi.",
        "{Gc} bizdiń jumysymyzdy tartyp alyp jatyr, jeter endi.",
        "{Gc} ketsin, munda olarǵa oryn joq.",
        "{Gc} bizge kerek emes.",
    ],
    &[
        "Во всём виноваты {G}, все это знают.",
        "{Gc} забирают нашу работу, хватит это терпеть.",
        "Пусть {G} уезжают, здесь им не место.",
        "Цены растут, потому что {G} везде всё скупили.",
        "{Gc} тут чужие, пусть едут к себе.",
        "Не надо нам, чтобы {G} тут командовали.",
    ],
    &[
        "It's all the fault of the {G}, everyone knows it.",
        "The {G} are taking our jobs, enough is enough.",
        "The {G} should leave, there's no place for them here.",
        "Prices only went up because of the {G}.",
        "We don't need the {G} here.",
    ],
    &[
        "Короче, барлығына {G} виноваты, это факт.",
        "{Gc} пусть уезжают уже, жетер.",
        "Жұмысымызды {G} забирают, надоело.",
    ],
];

/// One verified-false claim in several wordings per language.
struct Claim {
    id: &'static str,
    s: [Pool; 5],
    tags: Pool,
}

const CLAIMS: [Claim; 3] = [
    Claim {
        id: CLAIM_IDS[0],
        s: [
            &[
                "Шұғыл! 1 желтоқсаннан бастап бензин екі есе қымбаттайды, үкімет шешімге қол қойып қойды.",
                "Келесі айдан бензин бағасы екі есеге өседі дейді, АИ-92 500 теңге болады.",
            ],
            &["Shuǵyl! 1 jeltoqsannan bastap benzın eki ese qymbattaıdy, úkimet sheshimge qol qoıdy."],
            &[
                "Срочно! С 1 декабря бензин подорожает в два раза, правительство уже подписало решение. Заправляйтесь сейчас!",
                "Говорят, со следующего месяца цену на бензин поднимут вдвое, АИ-92 будет по 500 тенге.",
                "Знакомый из министерства сказал: бензин скоро подорожает в 2 раза, решение уже принято.",
            ],
            &[
                "Breaking: fuel prices will double from December 1, the government has already signed off.",
                "Heard petrol will cost twice as much next month, AI-92 at 500 tenge.",
            ],
            &["Короче, с декабря бензин екі есе қымбаттайды, заправляйтесь сейчас!"],
        ],
        tags: &["#бензин", "#benzin", "#цены"],
    },
    Claim {
        id: CLAIM_IDS[1],
        s: [
            &[
                "Жерімізді шетелдіктерге 99 жылға сатып жатыр, келісімшартқа қол қойылды, бәрі үнсіз!",
                "Ауыл шаруашылығы жерлері шетелдіктерге жасырын түрде беріліп жатыр.",
            ],
            &["Jerimizdi sheteldikterge 99 jylǵa satyp jatyr, kelisimshartqa qol qoıyldy!"],
            &[
                "Нашу землю продают иностранцам на 99 лет, договор уже подписан, все молчат!",
                "Вы знали? Сельхозземли тайно передают иностранцам в аренду на 99 лет.",
            ],
            &["They are selling our land to foreigners for 99 years, the deal is already signed and nobody talks about it."],
            &["Жерімізді иностранцам продают на 99 лет, уже подписали, бәрі молчат!"],
        ],
        tags: &["#земля", "#жер", "#jer"],
    },
    Claim {
        id: CLAIM_IDS[2],
        s: [
            &["Жарлық шықты: 15-інен бастап банктегі барлық депозиттер жарты жылға тоқтатылады. Ақшаңызды алып қалыңыз!"],
            &["Jarlyq shyqty: 15-inen bastap banktegi barlyq depozıtter jarty jylǵa toqtatylady!"],
            &[
                "Вышел указ: с 15 числа все банковские депозиты замораживаются на полгода. Снимайте деньги!",
                "Указ уже подписан, вклады в банках заморозят на шесть месяцев, успейте снять.",
            ],
            &["A new decree freezes all bank deposits for six months starting on the 15th. Withdraw your money now!"],
            &["Жарлық шықты, с 15 числа депозиты заморозят на полгода, ақшаны снимайте!"],
        ],
        tags: &["#указ", "#жарлық", "#депозит"],
    },
];

/// Sentences naming the place: `{L}` locative, `{A}` ablative (kk), `{I}` "в X", `{F}` "из X", `{N}` nominative.
const PLACE_TPL: [Pool; 5] = [
    &[
        "{L} бүгін осындай жағдай.",
        "{A} хабар:",
        "Біз {L} тұрамыз, айтайын.",
        "{N} қаласында тағы да.",
    ],
    &[
        "{L} búgin osyndaı jaǵdaı.",
        "Biz {L} turamyz.",
        "{N} qalasynda taǵy.",
    ],
    &[
        "{I} сегодня так.",
        "Новости {F}:",
        "Живу {I}, скажу так.",
        "У нас {I} опять.",
    ],
    &[
        "Here in {N}:",
        "News from {N}:",
        "Live from {N}.",
        "{N} today:",
    ],
    &["{L} сегодня такое.", "У нас {I} опять.", "{L} короче."],
];

const OPENERS: [Pool; 5] = [
    &["Достар,", "Ағайын,", "Халық,", "Айтыңызшы,"],
    &["Dostar,", "Aǵaıyn,", "Halyq,"],
    &["Короче,", "Народ,", "Слушайте,", "Ну что,", "Блин,"],
    &["Honestly,", "PSA:", "Ok so", "Guys,"],
    &["Короче,", "Слушайте, ағайын,", "Народ,"],
];

const CLOSERS: [Pool; 5] = [
    &[
        "Не дейсіздер?",
        "Осындай жағдай.",
        "Қалай ойлайсыздар?",
        "Бөлісіңіздер.",
    ],
    &["Ne deısizder?", "Osyndaı jaǵdaı."],
    &[
        "Вот так.",
        "Кто что думает?",
        "Жесть.",
        "Делитесь.",
        "Ну и ну.",
    ],
    &["Thoughts?", "Just saying.", "Wild.", "Share please."],
    &[
        "Вот так вот, достар.",
        "Не дейсіздер, народ?",
        "Жесть вообще.",
    ],
];

const EMOJI: Pool = &[
    "😂",
    "😡",
    "🔥",
    "👍",
    "🙏",
    "😢",
    "❤️",
    "🤦‍♂️",
    "😱",
    "👏",
    "🇰🇿",
    "💯",
    "🤔",
    "😭",
    "☀️",
    "❄️",
];

const OFFICIAL_PREFIX: [&str; 5] = [
    "Құрметті тұрғындар!",
    "Qurmetti turǵyndar!",
    "Уважаемые жители!",
    "Notice to residents:",
    "Құрметті тұрғындар!",
];
const CAMPAIGN_PREFIX: [Pool; 5] = [
    &["Шұғыл!", "‼️", "НАЗАР АУДАРЫҢЫЗ!", "Таратыңыз!"],
    &["Shuǵyl!", "‼️"],
    &["Срочно!", "‼️", "ВНИМАНИЕ!", "Репост!", "Это правда!"],
    &["URGENT:", "‼️", "Please share:"],
    &["Срочно!", "‼️", "Назар аударыңыз!"],
];
const CAMPAIGN_SUFFIX: [Pool; 5] = [
    &["Таратыңыз!", "Бәріне жіберіңіз!"],
    &["Taratyńyz!"],
    &["Распространите!", "Перешлите всем!", "Пока не удалили!"],
    &["Share before it's deleted!", "Spread the word!"],
    &["Перешлите всем, достар!", "Таратыңыз!"],
];

/// Personal data sentences per kind (`{X}` is the planted value) and language.
const PII_TPL: [[&str; 5]; 4] = [
    [
        "Хабарласыңыз: {X}",
        "Nómirim {X}",
        "Звоните: {X}",
        "Call {X}",
        "Звоните, хабарласыңыз: {X}",
    ],
    [
        "Поштаға жазыңыз: {X}",
        "Jazyńyz: {X}",
        "Резюме на {X}",
        "Email me at {X}",
        "Пишите на почту {X}",
    ],
    [
        "ЖСН {X}, тексеріп беріңізші",
        "JSN {X}, tekserip berińizshi",
        "Мой ИИН {X}, проверьте пожалуйста",
        "My IIN is {X}, can someone check",
        "ИИН {X}, тексеріңізші",
    ],
    [
        "Көмектесіңіздер, карта {X}",
        "Kómektesińizder, karta {X}",
        "Помогите кто может, карта {X}",
        "Donations to card {X}",
        "Помогите, карта {X}, рахмет",
    ],
];

const FIRST_NAMES: Pool = &[
    "aidar",
    "dana",
    "asel",
    "yerlan",
    "madina",
    "nurlan",
    "aruzhan",
    "sergey",
    "olga",
    "timur",
    "aigerim",
    "dmitry",
    "gulnara",
    "bauyrzhan",
    "svetlana",
    "arman",
    "zhanna",
    "ivan",
    "saule",
    "kairat",
    "dilnaz",
    "askar",
    "natasha",
    "murat",
    "alina",
    "yerzhan",
    "marat",
    "ainur",
    "viktor",
    "kamila",
    "daniyar",
    "tomiris",
];
const MAIL_DOMAINS: Pool = &["mail.kz", "gmail.com", "mail.ru", "inbox.kz", "yandex.kz"];
const MOBILE_CODES: [u16; 12] = [700, 701, 702, 705, 707, 708, 747, 771, 775, 776, 777, 778];

// ---------------------------------------------------------------------------------------------
// The generator.

/// One synthetic account.
struct Author {
    platform: usize,
    id: String,
    handle: String,
    followers: u64,
    kind: AuthorKind,
    location: Option<String>,
}

/// A region's accounts split by whether the profile has a location, each with Zipf cumulative weights.
#[derive(Default)]
struct RegionAuthors {
    with_loc: Vec<u32>,
    with_cum: Vec<f64>,
    no_loc: Vec<u32>,
    no_cum: Vec<f64>,
}

/// Which location evidence a post carries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum GeoMode {
    Field,
    Coords,
    Place,
    Profile,
    Text,
    Nothing,
}

const GEO_MODES: [GeoMode; 6] = [
    GeoMode::Field,
    GeoMode::Coords,
    GeoMode::Place,
    GeoMode::Profile,
    GeoMode::Text,
    GeoMode::Nothing,
];
const GEO_MIX: [f64; 6] = [0.25, 0.20, 0.10, 0.20, 0.10, 0.15];

/// Campaign state: which claim, in which language, from which base wording.
struct Campaign {
    claim: usize,
    lang: L,
    base: &'static str,
}

/// Size of the ring of recent posts that redeliveries and replies draw from.
const RECENT: usize = 512;

struct Gen {
    opts: SynthOptions,
    rng: ChaCha8Rng,
    i: usize,
    clock: DateTime<Utc>,
    diurnal: [f64; 24],
    base_weights: [f64; 20],
    base_total: f64,
    authors: Vec<Author>,
    by_region: Vec<RegionAuthors>,
    post_ctr: [u64; 5],
    recent: Vec<(RawPost, Truth)>,
    recent_pos: usize,
    recent_ids: [Vec<u64>; 5],
    malformed_count: usize,
    wave_groups: Vec<Vec<usize>>,
    campaigns: Vec<Option<Campaign>>,
    tz5: FixedOffset,
    tz6: FixedOffset,
}

/// Index into a cumulative weight table for a uniform draw in `0..total`.
fn pick_cum(cum: &[f64], u: f64) -> usize {
    let total = *cum.last().unwrap_or(&0.0);
    cum.partition_point(|c| *c <= u * total)
        .min(cum.len().saturating_sub(1))
}

/// Index drawn from unnormalised weights.
fn pick_w(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut u = rng.gen::<f64>() * total;
    for (i, x) in w.iter().enumerate() {
        if u < *x {
            return i;
        }
        u -= x;
    }
    w.len() - 1
}

fn choose(rng: &mut ChaCha8Rng, pool: Pool) -> &'static str {
    pool[rng.gen_range(0..pool.len())]
}

/// A standard normal draw (Box–Muller), since rand_distr is not a dependency.
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.gen::<f64>().max(1e-12);
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn lognormal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64) -> f64 {
    (mu + sigma * normal(rng)).exp()
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Typing Kazakh on a Russian keyboard: Kazakh-only letters become their nearest Russian ones.
fn russian_keyboard(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'қ' => 'к',
            'Қ' => 'К',
            'ғ' => 'г',
            'Ғ' => 'Г',
            'ң' => 'н',
            'Ң' => 'Н',
            'ү' | 'ұ' => 'у',
            'Ү' | 'Ұ' => 'У',
            'і' => 'и',
            'І' => 'И',
            'ө' => 'о',
            'Ө' => 'О',
            'ә' => 'а',
            'Ә' => 'А',
            'һ' => 'х',
            other => other,
        })
        .collect()
}

/// Informal ASCII spelling of Kazakh Latin (no diacritics), common on phones.
fn ascii_latin(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'á' => 'a',
            'Á' => 'A',
            'ǵ' => 'g',
            'Ǵ' => 'G',
            'ı' => 'i',
            'ń' => 'n',
            'ó' => 'o',
            'Ó' => 'O',
            'ú' | 'ý' => 'u',
            'Ú' | 'Ý' => 'U',
            other => other,
        })
        .collect()
}

fn region_index(r: Region) -> usize {
    REGIONS.iter().position(|i| i.region == r).unwrap_or(0)
}

/// A valid IIN: birth date YYMMDD, century-and-sex digit, serial, check digit.
fn make_iin(rng: &mut ChaCha8Rng) -> String {
    loop {
        let year: u32 = rng.gen_range(1950..=2006);
        let month: u32 = rng.gen_range(1..=12);
        let day: u32 = rng.gen_range(1..=28);
        let female = rng.gen_bool(0.5);
        let century_digit = match (year >= 2000, female) {
            (false, false) => 3,
            (false, true) => 4,
            (true, false) => 5,
            (true, true) => 6,
        };
        let s = format!(
            "{:02}{month:02}{day:02}{century_digit}{:04}",
            year % 100,
            rng.gen_range(0..10_000u32)
        );
        let mut d = [0u8; 11];
        for (slot, c) in d.iter_mut().zip(s.bytes()) {
            *slot = c - b'0';
        }
        if let Some(check) = iin_check_digit(&d) {
            return format!("{s}{check}");
        }
    }
}

/// A Luhn-valid 16-digit card number starting 4 or 5, written in groups of four.
fn make_card(rng: &mut ChaCha8Rng) -> String {
    let mut payload = String::with_capacity(16);
    if rng.gen_bool(0.5) {
        payload.push('4');
    } else {
        payload.push('5');
        payload.push(char::from(b'1' + rng.gen_range(0..5u8)));
    }
    while payload.len() < 15 {
        payload.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    let check = luhn_check_digit(&payload);
    payload.push(char::from(b'0' + check));
    let b = payload.as_bytes();
    let groups: Vec<&str> = (0..4)
        .map(|g| std::str::from_utf8(&b[g * 4..g * 4 + 4]).expect("ascii"))
        .collect();
    groups.join(" ")
}

fn make_phone(rng: &mut ChaCha8Rng) -> String {
    let code = MOBILE_CODES[rng.gen_range(0..MOBILE_CODES.len())];
    let a: u32 = rng.gen_range(100..1000);
    let b: u32 = rng.gen_range(0..100);
    let c: u32 = rng.gen_range(0..100);
    match rng.gen_range(0..5) {
        0 => format!("+7 {code} {a} {b:02} {c:02}"),
        1 => format!("8 ({code}) {a}-{b:02}-{c:02}"),
        2 => format!("+7{code}{a}{b:02}{c:02}"),
        3 => format!("8{code}{a}{b:02}{c:02}"),
        _ => format!("8-{code}-{a}-{b:02}-{c:02}"),
    }
}

fn make_email(rng: &mut ChaCha8Rng) -> String {
    let name = choose(rng, FIRST_NAMES);
    let domain = choose(rng, MAIL_DOMAINS);
    if rng.gen_bool(0.5) {
        format!(
            "{name}.{}@{domain}",
            char::from(b'a' + rng.gen_range(0..26u8))
        )
    } else {
        format!("{name}{}@{domain}", rng.gen_range(70..100u32))
    }
}

impl Gen {
    fn new(opts: &SynthOptions) -> Gen {
        let opts = opts.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
        let mean = DIURNAL.iter().sum::<f64>() / 24.0;
        let mut diurnal = DIURNAL;
        for d in diurnal.iter_mut() {
            *d /= mean;
        }
        let mut base_weights = [0.0; 20];
        for (w, p) in base_weights.iter_mut().zip(PLACES.iter()) {
            *w = p.weight;
        }
        let base_total = base_weights.iter().sum();

        // Accounts: the first 20 cover every region once so that small regions always have someone.
        let n_authors = opts.authors.max(1);
        let mut authors = Vec::with_capacity(n_authors);
        let mut author_ctr = [0u64; 5];
        let mut by_region: Vec<RegionAuthors> = (0..20).map(|_| RegionAuthors::default()).collect();
        for a in 0..n_authors {
            let region = if a < 20 {
                a
            } else {
                pick_w(&mut rng, &base_weights)
            };
            let platform = pick_w(&mut rng, &PLATFORM_MIX);
            author_ctr[platform] += rng.gen_range(1..=5000);
            let id = (AUTHOR_ID_BASE[platform] + author_ctr[platform]).to_string();
            let k: f64 = rng.gen();
            let kind = if k < 0.9 {
                AuthorKind::Person
            } else if k < 0.97 {
                AuthorKind::Outlet
            } else {
                AuthorKind::Official
            };
            let place = &PLACES[region];
            let city = place.en.to_ascii_lowercase().replace('-', "");
            let handle = match kind {
                AuthorKind::Person => {
                    let name = choose(&mut rng, FIRST_NAMES);
                    match rng.gen_range(0..3) {
                        0 => format!("{name}_{}", rng.gen_range(1960..2010u32)),
                        1 => format!("{name}{}", rng.gen_range(10..1000u32)),
                        _ => format!(
                            "{name}_{}{}",
                            choose(&mut rng, &["kz", "qz", "official", "real", "life"]),
                            rng.gen_range(1..100u32)
                        ),
                    }
                }
                AuthorKind::Outlet => {
                    format!(
                        "{city}_{}{}",
                        choose(&mut rng, &["news", "info", "online", "today", "kz"]),
                        rng.gen_range(1..100u32)
                    )
                }
                AuthorKind::Official => {
                    format!(
                        "{}_{city}{}",
                        choose(&mut rng, &["akimat", "police", "dchs", "health"]),
                        rng.gen_range(1..10u32)
                    )
                }
            };
            let followers = match kind {
                AuthorKind::Person => lognormal(&mut rng, 4.5, 1.6),
                AuthorKind::Outlet => lognormal(&mut rng, 9.5, 1.3),
                AuthorKind::Official => lognormal(&mut rng, 8.5, 1.2),
            }
            .min(5e6) as u64;
            let loc_p = if kind == AuthorKind::Person {
                0.28
            } else {
                0.6
            };
            let location = rng.gen_bool(loc_p).then(|| match rng.gen_range(0..8) {
                0 => place.kk.to_string(),
                1 => place.ru.to_string(),
                2 => place.en.to_string(),
                3 => format!("г. {}", place.ru),
                4 => format!("{}, Казахстан", place.ru),
                5 => format!("{}, Kazakhstan", place.en),
                6 => format!("{} 🇰🇿", place.en),
                _ => format!("{}, Қазақстан", place.kk),
            });
            let ra = &mut by_region[region];
            if location.is_some() {
                ra.with_loc.push(a as u32);
            } else {
                ra.no_loc.push(a as u32);
            }
            authors.push(Author {
                platform,
                id,
                handle,
                followers,
                kind,
                location,
            });
        }
        // Zipf-like activity within each region: the k-th account posts ∝ 1/(k+1)^0.8.
        for ra in by_region.iter_mut() {
            let mut acc = 0.0;
            ra.with_cum = (0..ra.with_loc.len())
                .map(|k| {
                    acc += 1.0 / ((k + 1) as f64).powf(0.8);
                    acc
                })
                .collect();
            acc = 0.0;
            ra.no_cum = (0..ra.no_loc.len())
                .map(|k| {
                    acc += 1.0 / ((k + 1) as f64).powf(0.8);
                    acc
                })
                .collect();
        }

        // Scenario set-up draws from its own stream so that adding a scenario does not reshuffle accounts.
        let mut srng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5ce7_a210);
        let mut wave_groups = Vec::new();
        let mut campaigns = Vec::new();
        for (si, s) in opts.scenarios.iter().enumerate() {
            match s {
                Scenario::HostilityWave { .. } => {
                    let g1 = srng.gen_range(0..ETHNIC_GROUPS);
                    let mut g = vec![g1];
                    if srng.gen_bool(0.5) {
                        g.push((g1 + srng.gen_range(1..ETHNIC_GROUPS)) % ETHNIC_GROUPS);
                    }
                    wave_groups.push(g);
                    campaigns.push(None);
                }
                Scenario::ClaimCampaign { region, .. } => {
                    let claim = (si + opts.seed as usize) % CLAIMS.len();
                    let kk_lean = PLACES[region_index(*region)].lean > 0;
                    let lang = if srng.gen_bool(if kk_lean { 0.6 } else { 0.3 }) {
                        L::Kk
                    } else {
                        L::Ru
                    };
                    let base = choose(&mut srng, CLAIMS[claim].s[lang as usize]);
                    wave_groups.push(Vec::new());
                    campaigns.push(Some(Campaign { claim, lang, base }));
                }
            }
        }

        Gen {
            clock: opts.start,
            opts,
            rng,
            i: 0,
            diurnal,
            base_weights,
            base_total,
            authors,
            by_region,
            post_ctr: [0; 5],
            recent: Vec::with_capacity(RECENT),
            recent_pos: 0,
            recent_ids: Default::default(),
            malformed_count: 0,
            wave_groups,
            campaigns,
            tz5: FixedOffset::east_opt(5 * 3600).expect("valid offset"),
            tz6: FixedOffset::east_opt(6 * 3600).expect("valid offset"),
        }
    }

    /// Region weights at this point of the stream: a wave doubles its region's volume, a campaign adds its share.
    fn weights(&self, frac: f64) -> [f64; 20] {
        let mut w = self.base_weights;
        for s in &self.opts.scenarios {
            if s.active_at(frac) {
                let r = region_index(s.region());
                match s {
                    Scenario::HostilityWave { .. } => w[r] += self.base_weights[r],
                    Scenario::ClaimCampaign { share, .. } => w[r] += self.base_weights[r] * share,
                }
            }
        }
        w
    }

    fn advance_clock(&mut self, volume: f64) {
        let hour = (self.clock + Duration::hours(5)).hour() as usize;
        let rate = self.opts.posts_per_minute.max(1e-6) * self.diurnal[hour] * volume;
        let u: f64 = self.rng.gen();
        let minutes = -(1.0 - u).ln() / rate;
        self.clock += Duration::microseconds((minutes * 60e6).min(1e12) as i64);
    }

    fn format_time(&mut self, t: DateTime<Utc>, platform: usize) -> String {
        match (platform, self.rng.gen_range(0..10)) {
            (_, 0) => t
                .with_timezone(&self.tz6)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
            (2, _) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
            (1 | 3, _) => t
                .with_timezone(&self.tz5)
                .to_rfc3339_opts(SecondsFormat::Secs, false),
            _ => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }

    fn pick_author(&mut self, region: usize, with_loc: bool, uniform: bool) -> u32 {
        let ra = &self.by_region[region];
        let (list, cum) = match (with_loc, ra.with_loc.is_empty(), ra.no_loc.is_empty()) {
            (_, true, true) => return self.rng.gen_range(0..self.authors.len()) as u32,
            (true, false, _) | (false, false, true) => (&ra.with_loc, &ra.with_cum),
            _ => (&ra.no_loc, &ra.no_cum),
        };
        if uniform {
            return list[self.rng.gen_range(0..list.len())];
        }
        let u: f64 = self.rng.gen();
        list[pick_cum(cum, u)]
    }

    fn pick_lang(&mut self, region: usize) -> L {
        let mut mix = LANG_MIX;
        let shift = 0.08 * f64::from(PLACES[region].lean);
        mix[0] += shift;
        mix[2] -= shift;
        LANGS[pick_w(&mut self.rng, &mix)]
    }

    fn place_sentence(&mut self, lang: L, region: usize) -> String {
        let p = &PLACES[region];
        let tpl = choose(&mut self.rng, PLACE_TPL[lang as usize]);
        let (loc, nom) = match lang {
            L::Latn => (p.latn_loc, p.latn),
            L::En => (p.en, p.en),
            _ => (p.kk_loc, p.kk),
        };
        tpl.replace("{L}", loc)
            .replace("{A}", p.kk_abl)
            .replace("{I}", p.ru_in)
            .replace("{F}", p.ru_from)
            .replace("{N}", nom)
    }

    fn hostile_sentence(&mut self, lang: L, group: usize) -> String {
        let tpl = choose(&mut self.rng, HOSTILE[lang as usize]);
        let g = match lang {
            L::Kk => GROUPS[group][1],
            L::Latn => GROUPS[group][2],
            L::En => GROUPS[group][3],
            L::Ru | L::KkRu => GROUPS[group][0],
        };
        tpl.replace("{Gc}", &capitalise(g)).replace("{G}", g)
    }

    fn claim_text(&mut self, lang: L, claim: usize) -> String {
        let pool = CLAIMS[claim].s[lang as usize];
        choose(&mut self.rng, pool).to_string()
    }

    /// A near-copy of the campaign's base wording: the small edits copy-paste campaigns show.
    fn campaign_text(&mut self, c: usize) -> (String, L, usize) {
        let (claim, lang, base) = {
            let c = self.campaigns[c].as_ref().expect("campaign scenario");
            (c.claim, c.lang, c.base)
        };
        let li = lang as usize;
        let mut t = base.to_string();
        if self.rng.gen_bool(0.3) {
            t = t.replacen('!', "!!!", 1);
        }
        if self.rng.gen_bool(0.3) {
            t = t.replacen(',', "", 1);
        }
        if self.rng.gen_bool(0.15) {
            t = lower_first(&t);
        }
        if self.rng.gen_bool(0.4) {
            t = format!("{} {t}", choose(&mut self.rng, CAMPAIGN_PREFIX[li]));
        }
        if self.rng.gen_bool(0.3) {
            t.push(' ');
            t.push_str(choose(&mut self.rng, CAMPAIGN_SUFFIX[li]));
        }
        for _ in 0..self.rng.gen_range(0..3) {
            t.push(' ');
            t.push_str(choose(&mut self.rng, EMOJI));
        }
        if self.rng.gen_bool(0.4) {
            t.push(' ');
            t.push_str(choose(&mut self.rng, CLAIMS[claim].tags));
        }
        (t, lang, claim)
    }

    /// Assembles the text of an ordinary, hostile or claim post with its social-media trimmings.
    fn compose(
        &mut self,
        lang: L,
        kind: AuthorKind,
        body: Body,
        place: Option<usize>,
        city_tag: bool,
    ) -> String {
        let li = lang as usize;
        let person = kind == AuthorKind::Person;
        let mut parts: Vec<String> = Vec::with_capacity(8);
        let topic = match body {
            Body::Topic(t) => t,
            Body::Hostile(_) => {
                if self.rng.gen_bool(0.5) {
                    0
                } else {
                    8
                }
            }
            Body::Claim(_) => 0,
        };
        let n: usize = match (kind, self.rng.gen::<f64>()) {
            (AuthorKind::Person, x) if x < 0.35 => 1,
            (AuthorKind::Person, x) if x < 0.65 => 2,
            (AuthorKind::Person, x) if x < 0.85 => 3,
            (AuthorKind::Person, x) if x < 0.95 => 4,
            (AuthorKind::Person, _) => self.rng.gen_range(5..=7),
            (_, x) if x < 0.5 => 2,
            _ => self.rng.gen_range(3..=5),
        };
        let n_topic = match body {
            Body::Topic(_) => n,
            _ => n.saturating_sub(1).min(2),
        };
        // Outlets and officials write news-style, not first-person posts.
        let pool = if !person && matches!(body, Body::Topic(_)) && self.rng.gen_bool(0.6) {
            NEWS[li]
        } else {
            TOPICS[topic].s[li]
        };
        let mut used = [usize::MAX; 8];
        for k in 0..n_topic.min(pool.len()) {
            let mut idx = self.rng.gen_range(0..pool.len());
            while used[..k].contains(&idx) {
                idx = (idx + 1) % pool.len();
            }
            used[k] = idx;
            parts.push(pool[idx].to_string());
        }
        match body {
            Body::Topic(_) => {}
            Body::Hostile(g) => {
                let s = self.hostile_sentence(lang, g);
                let at = self.rng.gen_range(0..=parts.len());
                parts.insert(at, s);
            }
            Body::Claim(c) => {
                let s = self.claim_text(lang, c);
                parts.insert(0, s);
            }
        }
        // Short posts are padded from the same topic so every post has at least five words.
        let mut guard = 0;
        while parts
            .iter()
            .map(|p| p.split_whitespace().count())
            .sum::<usize>()
            < 5
            && guard < 4
        {
            parts.push(choose(&mut self.rng, pool).to_string());
            guard += 1;
        }
        let mut lowered_ok = true;
        if let Some(r) = place {
            let s = capitalise(&self.place_sentence(lang, r));
            let at = if self.rng.gen_bool(0.7) {
                0
            } else {
                parts.len()
            };
            // A leading place name keeps its capital (ingest matches some names only capitalised).
            let pl = &PLACES[r];
            let names = [
                pl.kk_loc,
                pl.kk_abl,
                pl.kk,
                pl.latn_loc,
                pl.latn,
                pl.en,
                pl.ru,
            ];
            if at == 0 && names.iter().any(|n| s.starts_with(n)) {
                lowered_ok = false;
            }
            parts.insert(at, s);
        }
        if person && self.rng.gen_bool(0.25) {
            let o = choose(&mut self.rng, OPENERS[li]);
            if lowered_ok {
                parts[0] = lower_first(&parts[0]);
            }
            parts.insert(0, o.to_string());
        }
        match kind {
            AuthorKind::Official => parts.insert(0, OFFICIAL_PREFIX[li].to_string()),
            AuthorKind::Outlet if self.rng.gen_bool(0.4) => {
                parts.insert(0, choose(&mut self.rng, &["⚡️", "❗️", "🔴"]).to_string())
            }
            _ => {}
        }
        if person && self.rng.gen_bool(0.3) {
            parts.push(choose(&mut self.rng, CLOSERS[li]).to_string());
        }
        let mut text = parts.join(" ");
        if person {
            match lang {
                L::Kk | L::KkRu if self.rng.gen_bool(0.15) => text = russian_keyboard(&text),
                L::Latn if self.rng.gen_bool(0.35) => text = ascii_latin(&text),
                L::Ru | L::KkRu => {
                    if text.contains("сейчас") && self.rng.gen_bool(0.5) {
                        text = text.replace("сейчас", "щас");
                    }
                    if text.contains("вообще") && self.rng.gen_bool(0.4) {
                        text = text.replace("вообще", "ваще");
                    }
                }
                _ => {}
            }
            let x: f64 = self.rng.gen();
            if x < 0.2 && text.ends_with('.') {
                text.pop();
            } else if x < 0.3 {
                text.push_str(if lang == L::Ru || lang == L::KkRu {
                    ")))"
                } else {
                    "!!"
                });
            }
            if self.rng.gen_bool(0.35) {
                for _ in 0..self.rng.gen_range(1..=3) {
                    text.push(' ');
                    text.push_str(choose(&mut self.rng, EMOJI));
                }
            }
        }
        let tag_p = if person { 0.2 } else { 0.5 };
        if self.rng.gen_bool(tag_p) {
            let tags = match lang {
                L::En | L::Latn => TOPICS[topic].tags_lat,
                _ => TOPICS[topic].tags_cyr,
            };
            text.push(' ');
            text.push_str(choose(&mut self.rng, tags));
            if let (true, Some(r)) = (city_tag, place) {
                let p = &PLACES[r];
                let name = match lang {
                    L::En | L::Latn => p.en,
                    L::Ru => p.ru,
                    _ => p.kk,
                };
                if !name.contains('-') {
                    text.push_str(" #");
                    text.push_str(name);
                }
            }
        }
        text
    }

    /// Appends one piece of personal data (phone, e-mail, IIN, card) or prefixes an @mention.
    fn plant_pii(&mut self, text: &mut String, lang: L) {
        let kind = self.rng.gen_range(0..5);
        if kind == 4 {
            // Mentions name private persons: the case redaction exists for.
            let a = self.rng.gen_range(0..self.authors.len());
            let handle = if self.authors[a].kind == AuthorKind::Person {
                self.authors[a].handle.clone()
            } else {
                format!(
                    "{}_{}",
                    choose(&mut self.rng, FIRST_NAMES),
                    self.rng.gen_range(10..100u32)
                )
            };
            *text = if self.rng.gen_bool(0.7) {
                format!("@{handle} {text}")
            } else {
                format!("{text} @{handle}")
            };
            return;
        }
        let value = match kind {
            0 => make_phone(&mut self.rng),
            1 => make_email(&mut self.rng),
            2 => make_iin(&mut self.rng),
            _ => make_card(&mut self.rng),
        };
        text.push(' ');
        text.push_str(&PII_TPL[kind][lang as usize].replace("{X}", &value));
    }

    /// One well-formed post and its truth; `remember` adds it to the rings for redeliveries and replies.
    fn post(&mut self, frac: f64, remember: bool) -> (RawPost, Truth) {
        let w = self.weights(frac);
        let volume = w.iter().sum::<f64>() / self.base_total;
        self.advance_clock(volume);
        let region = pick_w(&mut self.rng, &w);
        let reg = REGIONS[region].region;

        let mut hostile_wave: Option<usize> = None;
        let mut campaign: Option<usize> = None;
        for si in 0..self.opts.scenarios.len() {
            let s = &self.opts.scenarios[si];
            if s.region() != reg || !s.active_at(frac) {
                continue;
            }
            match *s {
                Scenario::HostilityWave { intensity, .. } => {
                    if self.rng.gen::<f64>() < intensity {
                        hostile_wave = Some(si);
                    }
                }
                Scenario::ClaimCampaign { share, .. } => {
                    if self.rng.gen::<f64>() < share {
                        campaign = Some(si);
                    }
                }
            }
        }

        let mode = GEO_MODES[pick_w(&mut self.rng, &GEO_MIX)];
        let with_loc = match mode {
            GeoMode::Profile => true,
            GeoMode::Text | GeoMode::Nothing => false,
            _ => self.rng.gen_bool(0.3),
        };
        let ai = self.pick_author(region, with_loc, campaign.is_some()) as usize;
        let (platform, kind) = (self.authors[ai].platform, self.authors[ai].kind);
        let profile_ok = self.authors[ai].location.is_some()
            && self.by_region[region].with_loc.contains(&(ai as u32));
        let mode = if mode == GeoMode::Profile && !profile_ok {
            GeoMode::Field
        } else {
            mode
        };

        let in_text =
            mode == GeoMode::Text || (mode != GeoMode::Nothing && self.rng.gen_bool(0.12));
        let place = in_text.then_some(region);
        let city_tag = mode != GeoMode::Nothing;

        let mut hostile = false;
        let mut claim = None;
        let (mut text, lang) = if let Some(c) = campaign {
            let (t, lang, ci) = self.campaign_text(c);
            claim = Some(CLAIMS[ci].id);
            let t = match place {
                Some(r) => format!("{} {t}", self.place_sentence(lang, r)),
                None => t,
            };
            (t, lang)
        } else {
            let lang = self.pick_lang(region);
            let body = if let Some(si) = hostile_wave {
                hostile = true;
                let groups = &self.wave_groups[si];
                Body::Hostile(groups[self.rng.gen_range(0..groups.len())])
            } else if kind == AuthorKind::Person && self.rng.gen_bool(0.022) {
                hostile = true;
                Body::Hostile(self.rng.gen_range(0..GROUPS.len()))
            } else if self.rng.gen_bool(0.012) {
                let c = self.rng.gen_range(0..CLAIMS.len());
                claim = Some(CLAIMS[c].id);
                Body::Claim(c)
            } else {
                let weights: [f64; 10] = std::array::from_fn(|t| TOPICS[t].weight);
                if kind == AuthorKind::Person {
                    Body::Topic(pick_w(&mut self.rng, &weights))
                } else {
                    // Outlets and officials stick to public-interest topics.
                    Body::Topic([6, 6, 6, 1, 2, 5, 0, 4][self.rng.gen_range(0..8)])
                }
            };
            (self.compose(lang, kind, body, place, city_tag), lang)
        };
        if self.rng.gen_bool(0.03) {
            self.plant_pii(&mut text, lang);
        }

        // Post id: a per-platform counter with small gaps, as platforms' ids look.
        self.post_ctr[platform] += self.rng.gen_range(1..=3);
        let pid = POST_ID_BASE[platform] + self.post_ctr[platform];
        let id = pid.to_string();

        let mut t = self.clock;
        if self.rng.gen_bool(0.02) {
            t -= Duration::seconds(self.rng.gen_range(60..900));
        }
        let created_at = self.format_time(t, platform);

        let reply_to = if self.rng.gen_bool(0.05) && !self.recent_ids[platform].is_empty() {
            let ring = &self.recent_ids[platform];
            Some(ring[self.rng.gen_range(0..ring.len())].to_string())
        } else {
            None
        };

        let geo = self.geo(mode, region);
        let a = &self.authors[ai];
        let url = self.rng.gen_bool(0.6).then(|| match platform {
            0 => format!("https://t.me/{}/{}", a.handle, pid),
            1 => format!("https://vk.com/wall{}_{}", a.id, pid),
            2 => format!("https://x.com/{}/status/{}", a.handle, pid),
            3 => format!("https://www.instagram.com/p/{}/", base36(pid)),
            _ => format!("https://www.threads.net/@{}/post/{}", a.handle, base36(pid)),
        });
        let lang_hint = if self.rng.gen_bool(0.35) {
            Some(
                match lang {
                    L::Kk => {
                        if self.rng.gen_bool(0.7) {
                            "kk"
                        } else {
                            "ru"
                        }
                    }
                    L::Latn => choose(&mut self.rng, &["kk", "tr", "uz", "und"]),
                    L::Ru => "ru",
                    L::En => "en",
                    L::KkRu => choose(&mut self.rng, &["ru", "kk"]),
                }
                .to_string(),
            )
        } else {
            None
        };
        let metrics = self.rng.gen_bool(0.85).then(|| {
            let f = self.authors[ai].followers as f64;
            let views = (f * lognormal(&mut self.rng, -0.7, 1.0)
                + lognormal(&mut self.rng, 3.0, 1.2))
            .round();
            let likes = (views * lognormal(&mut self.rng, -3.5, 0.8)).round();
            let shares = (likes * lognormal(&mut self.rng, -2.0, 1.0)).round();
            Engagement {
                likes: likes as u64,
                shares: shares as u64,
                views: views as u64,
            }
        });
        let a = &self.authors[ai];
        let post = RawPost {
            schema: SCHEMA_RAW.to_string(),
            id,
            platform: PLATFORMS[platform].to_string(),
            author: RawAuthor {
                id: a.id.clone(),
                handle: Some(a.handle.clone()),
                followers: Some(a.followers),
                kind: a.kind,
                location: a.location.clone(),
            },
            text,
            created_at,
            lang: lang_hint,
            geo,
            url,
            reply_to,
            metrics,
        };
        let truth = Truth {
            hostile,
            claim,
            lang: LANG_TAGS[lang as usize],
            region: reg,
        };
        if remember {
            let ring = &mut self.recent_ids[platform];
            if ring.len() < 64 {
                ring.push(pid);
            } else {
                ring[(pid as usize) % 64] = pid;
            }
            if self.recent.len() < RECENT {
                self.recent.push((post.clone(), truth.clone()));
            } else {
                self.recent[self.recent_pos] = (post.clone(), truth.clone());
                self.recent_pos = (self.recent_pos + 1) % RECENT;
            }
        }
        (post, truth)
    }

    fn geo(&mut self, mode: GeoMode, region: usize) -> Option<RawGeo> {
        let p = &PLACES[region];
        match mode {
            GeoMode::Field => {
                let info = &REGIONS[region];
                let r = match self.rng.gen_range(0..8) {
                    0..=3 => info.region.as_str().to_string(),
                    4 | 5 => info.iso.to_string(),
                    6 => info.name_en.to_string(),
                    _ => {
                        if self.rng.gen_bool(0.5) {
                            info.name_ru.to_string()
                        } else {
                            info.name_kk.to_string()
                        }
                    }
                };
                Some(RawGeo {
                    region: Some(r),
                    ..RawGeo::default()
                })
            }
            GeoMode::Coords => {
                let towns: Vec<&(usize, f64, f64)> =
                    TOWNS.iter().filter(|t| t.0 == region).collect();
                let (lat, lon) = if !towns.is_empty() && self.rng.gen_bool(0.25) {
                    let t = towns[self.rng.gen_range(0..towns.len())];
                    (t.1, t.2)
                } else {
                    (p.lat, p.lon)
                };
                let jl = lat + self.rng.gen_range(-0.03..0.03);
                let jo = lon + self.rng.gen_range(-0.03..0.03);
                Some(RawGeo {
                    lat: Some((jl * 1e5).round() / 1e5),
                    lon: Some((jo * 1e5).round() / 1e5),
                    ..RawGeo::default()
                })
            }
            GeoMode::Place => {
                let name = match self.rng.gen_range(0..4) {
                    0 => p.en.to_string(),
                    1 => p.ru.to_string(),
                    2 => p.kk.to_string(),
                    _ => format!("{}, Kazakhstan", p.en),
                };
                Some(RawGeo {
                    place: Some(name),
                    ..RawGeo::default()
                })
            }
            // Some connectors send an empty geo object rather than none.
            _ => self.rng.gen_bool(0.1).then(RawGeo::default),
        }
    }

    fn malformed(&mut self, frac: f64) -> SynthLine {
        let kind = MALFORMED_KINDS[self.malformed_count % MALFORMED_KINDS.len()];
        self.malformed_count += 1;
        let (mut p, _) = self.post(frac, false);
        let bytes = match kind {
            "not_json" => {
                let full = serde_json::to_string(&p).expect("serialises");
                match self.rng.gen_range(0..3) {
                    0 => {
                        // Truncated mid-message, cut on a character boundary so it stays valid UTF-8.
                        let mut cut = full.len() / 2;
                        while !full.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        full.as_bytes()[..cut].to_vec()
                    }
                    1 => b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec(),
                    _ => format!(
                        "post {} from {}: {}",
                        p.id,
                        p.platform,
                        p.text.replace('\n', " ")
                    )
                    .into_bytes(),
                }
            }
            "invalid_utf8" => {
                let full = serde_json::to_vec(&p).expect("serialises");
                let at = find(&full, b"\"text\":\"")
                    .map(|i| i + 8)
                    .unwrap_or(full.len() / 2);
                let mut b = full[..at].to_vec();
                b.extend_from_slice(if self.rng.gen_bool(0.5) {
                    b"\xff\xfe"
                } else {
                    b"\xd0"
                });
                b.extend_from_slice(&full[at..]);
                b
            }
            "missing_id" | "missing_text" | "missing_created_at" => {
                let mut v = serde_json::to_value(&p).expect("serialises");
                let key = &kind["missing_".len()..];
                v.as_object_mut().expect("object").remove(key);
                serde_json::to_vec(&v).expect("serialises")
            }
            "bad_timestamp" => {
                p.created_at = choose(
                    &mut self.rng,
                    &[
                        "01.11.2026 14:30",
                        "вчера в 14:30",
                        "2026-13-45T25:61:00Z",
                        "1730419200",
                        "2026/11/01 10:00:00",
                        "Sun Nov 1 10:00:00 2026",
                    ],
                )
                .to_string();
                serde_json::to_vec(&p).expect("serialises")
            }
            "unknown_schema" => {
                p.schema = choose(
                    &mut self.rng,
                    &[
                        "sarap.post.raw/2",
                        "sarap.post.raw/0",
                        "tweet/1",
                        "vk.wall/5",
                    ],
                )
                .to_string();
                serde_json::to_vec(&p).expect("serialises")
            }
            "text_too_long" => {
                let target = 10_001 + self.rng.gen_range(0..3000);
                let unit = format!("{} ", p.text);
                let mut t = String::with_capacity(target * 2);
                while t.chars().count() <= target {
                    t.push_str(&unit);
                }
                p.text = t;
                serde_json::to_vec(&p).expect("serialises")
            }
            _ => {
                p.text = choose(
                    &mut self.rng,
                    &[
                        " ",
                        "\u{200b}",
                        "  \u{200b}\u{200c} \u{feff}",
                        "\u{2060}\u{200d}   ",
                        "\t \u{200b}",
                    ],
                )
                .to_string();
                serde_json::to_vec(&p).expect("serialises")
            }
        };
        SynthLine::Malformed { bytes, kind }
    }
}

/// What a post is about.
#[derive(Clone, Copy)]
enum Body {
    Topic(usize),
    Hostile(usize),
    Claim(usize),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Short ids for Instagram- and Threads-style links.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("ascii")
}

impl Iterator for Gen {
    type Item = (SynthLine, Option<Truth>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.i >= self.opts.posts {
            return None;
        }
        let frac = self.i as f64 / self.opts.posts as f64;
        self.i += 1;
        if self.rng.gen::<f64>() < self.opts.malformed_rate {
            return Some((self.malformed(frac), None));
        }
        if !self.recent.is_empty() && self.rng.gen::<f64>() < self.opts.duplicate_rate {
            let k = self.rng.gen_range(0..self.recent.len());
            let (p, t) = self.recent[k].clone();
            return Some((SynthLine::Post(p), Some(t)));
        }
        let (p, t) = self.post(frac, true);
        Some((SynthLine::Post(p), Some(t)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.opts.posts - self.i;
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn opts(seed: u64, posts: usize) -> SynthOptions {
        SynthOptions {
            seed,
            posts,
            ..SynthOptions::default()
        }
    }

    fn bytes(o: &SynthOptions) -> Vec<Vec<u8>> {
        generate(o).map(|l| l.to_bytes()).collect()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = bytes(&opts(7, 500));
        assert_eq!(a.len(), 500);
        assert_eq!(a, bytes(&opts(7, 500)));
        assert_ne!(a, bytes(&opts(8, 500)));
    }

    #[test]
    fn places_follow_region_order() {
        assert_eq!(PLACES.len(), REGIONS.len());
        for (i, t) in TOWNS.iter().enumerate() {
            assert!(t.0 < 20, "town {i}");
        }
    }

    /// Outer rings (lon, lat) of each region's polygons in the embedded boundary file.
    fn rings() -> BTreeMap<Region, Vec<Vec<(f64, f64)>>> {
        let v: serde_json::Value =
            serde_json::from_str(sarap_core::regions::REGIONS_GEOJSON).unwrap();
        let mut out: BTreeMap<Region, Vec<Vec<(f64, f64)>>> = BTreeMap::new();
        for f in v["features"].as_array().unwrap() {
            let r: Region = f["properties"]["region"].as_str().unwrap().parse().unwrap();
            let g = &f["geometry"];
            let polys: Vec<&serde_json::Value> = match g["type"].as_str().unwrap() {
                "Polygon" => vec![&g["coordinates"]],
                _ => g["coordinates"].as_array().unwrap().iter().collect(),
            };
            for poly in polys {
                let ring = poly[0]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
                    .collect();
                out.entry(r).or_default().push(ring);
            }
        }
        out
    }

    fn inside(ring: &[(f64, f64)], lon: f64, lat: f64) -> bool {
        let mut c = false;
        let mut j = ring.len() - 1;
        for i in 0..ring.len() {
            let (xi, yi) = ring[i];
            let (xj, yj) = ring[j];
            if (yi > lat) != (yj > lat) && lon < (xj - xi) * (lat - yi) / (yj - yi) + xi {
                c = !c;
            }
            j = i;
        }
        c
    }

    #[test]
    fn city_coordinates_with_jitter_lie_in_their_region() {
        let rings = rings();
        let points = PLACES
            .iter()
            .enumerate()
            .map(|(i, p)| (i, p.lat, p.lon))
            .chain(TOWNS.iter().copied());
        for (i, lat, lon) in points {
            let region = REGIONS[i].region;
            for (dl, dn) in [
                (0.0, 0.0),
                (0.03, 0.03),
                (-0.03, 0.03),
                (0.03, -0.03),
                (-0.03, -0.03),
            ] {
                let hit = rings[&region].iter().any(|r| inside(r, lon + dn, lat + dl));
                assert!(hit, "{lat},{lon} (+{dl},{dn}) is not in {region}");
            }
        }
    }

    #[test]
    fn posts_round_trip_and_timestamps_parse() {
        let o = SynthOptions {
            duplicate_rate: 0.05,
            ..opts(3, 3000)
        };
        let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut n_posts = 0;
        let mut replies = 0;
        for line in generate(&o) {
            let b = line.to_bytes();
            assert!(!b.contains(&b'\n'));
            let SynthLine::Post(p) = line else {
                panic!("no malformed lines requested")
            };
            n_posts += 1;
            let back: RawPost = serde_json::from_slice(&b).unwrap();
            assert_eq!(back, p);
            assert_eq!(p.schema, SCHEMA_RAW);
            DateTime::parse_from_rfc3339(&p.created_at).unwrap();
            let words = p.text.split_whitespace().count();
            assert!((5..=120).contains(&words), "{words} words: {}", p.text);
            ids.entry(p.platform.clone())
                .or_default()
                .insert(p.id.clone());
            replies += usize::from(p.reply_to.is_some());
        }
        assert_eq!(n_posts, 3000);
        let unique: usize = ids.values().map(BTreeSet::len).sum();
        // Redeliveries repeat ids; everything else is unique per platform.
        assert!(unique < 3000 && unique > 2700, "{unique}");
        assert!(replies > 60 && replies < 300, "{replies} replies");
    }

    #[test]
    fn every_region_appears_in_2000_posts() {
        let seen: BTreeSet<Region> = generate_labelled(&opts(1, 2000))
            .filter_map(|(_, t)| t.map(|t| t.region))
            .collect();
        assert_eq!(seen.len(), 20, "{seen:?}");
    }

    #[test]
    fn language_mix_is_within_tolerance() {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let n = 10_000;
        for (_, t) in generate_labelled(&SynthOptions {
            duplicate_rate: 0.0,
            ..opts(2, n)
        }) {
            *counts.entry(t.unwrap().lang).or_default() += 1;
        }
        for (tag, want) in LANG_TAGS.iter().zip(LANG_MIX) {
            let got = counts.get(tag).copied().unwrap_or(0) as f64 / n as f64;
            assert!(
                (got - want).abs() < 0.04,
                "{tag}: {got} vs {want} ({counts:?})"
            );
        }
    }

    #[test]
    fn malformed_lines_have_the_requested_kinds_and_rate() {
        let o = SynthOptions {
            malformed_rate: 0.1,
            ..opts(4, 5000)
        };
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for line in generate(&o) {
            let SynthLine::Malformed { bytes, kind } = &line else {
                continue;
            };
            *kinds.entry(kind).or_default() += 1;
            assert!(!bytes.contains(&b'\n'), "{kind}");
            let obj = || -> serde_json::Map<String, serde_json::Value> {
                serde_json::from_slice::<serde_json::Value>(bytes)
                    .unwrap()
                    .as_object()
                    .unwrap()
                    .clone()
            };
            match *kind {
                "not_json" => {
                    assert!(std::str::from_utf8(bytes).is_ok());
                    assert!(serde_json::from_slice::<serde_json::Value>(bytes)
                        .map(|v| !v.is_object())
                        .unwrap_or(true));
                }
                "invalid_utf8" => assert!(std::str::from_utf8(bytes).is_err()),
                "missing_id" => assert!(!obj().contains_key("id")),
                "missing_text" => assert!(!obj().contains_key("text")),
                "missing_created_at" => assert!(!obj().contains_key("created_at")),
                "bad_timestamp" => {
                    let o = obj();
                    assert!(
                        DateTime::parse_from_rfc3339(o["created_at"].as_str().unwrap()).is_err()
                    );
                }
                "unknown_schema" => assert_ne!(obj()["schema"], SCHEMA_RAW),
                "text_too_long" => {
                    assert!(obj()["text"].as_str().unwrap().chars().count() > 10_000)
                }
                "empty_text" => {
                    let o = obj();
                    let t = o["text"].as_str().unwrap();
                    assert!(t.chars().all(|c| c.is_whitespace()
                        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}')));
                }
                other => panic!("unexpected kind {other}"),
            }
        }
        assert_eq!(kinds.len(), MALFORMED_KINDS.len(), "{kinds:?}");
        let total: usize = kinds.values().sum();
        assert!((400..=600).contains(&total), "{total} malformed of 5000");
        // Nine lines suffice for every kind.
        let few = SynthOptions {
            malformed_rate: 1.0,
            ..opts(4, 9)
        };
        let k: BTreeSet<&str> = generate(&few)
            .map(|l| match l {
                SynthLine::Malformed { kind, .. } => kind,
                SynthLine::Post(_) => "post",
            })
            .collect();
        assert_eq!(k.len(), 9);
    }

    #[test]
    fn hostility_wave_raises_hostility_only_in_its_region_and_window() {
        let wave: Scenario = "hostility-wave:abai:0.4:0.7:0.5".parse().unwrap();
        let n = 20_000;
        let o = SynthOptions {
            scenarios: vec![wave],
            duplicate_rate: 0.0,
            ..opts(9, n)
        };
        // (region is abai, inside window) -> (hostile, total)
        let mut c: BTreeMap<(bool, bool), (usize, usize)> = BTreeMap::new();
        let mut abai_before = 0;
        let mut abai_during = 0;
        for (i, (_, t)) in generate_labelled(&o).enumerate() {
            let t = t.unwrap();
            let frac = i as f64 / n as f64;
            let during = (0.4..0.7).contains(&frac);
            let abai = t.region == Region::Abai;
            if abai && frac < 0.3 {
                abai_before += 1;
            }
            if abai && (0.4..0.7).contains(&frac) && frac < 0.5 {
                abai_during += 1;
            }
            let e = c.entry((abai, during)).or_default();
            e.0 += usize::from(t.hostile);
            e.1 += 1;
        }
        let share = |k| {
            let (h, n) = c[&k];
            h as f64 / n as f64
        };
        assert!(share((true, true)) > 0.4, "{c:?}");
        assert!(share((true, false)) < 0.06, "{c:?}");
        assert!(share((false, true)) < 0.06, "{c:?}");
        assert!(
            share((false, false)) < 0.06 && share((false, false)) > 0.005,
            "{c:?}"
        );
        // Volume roughly doubles: 0.1 of the stream during the wave vs 0.3 before.
        let ratio = abai_during as f64 * 3.0 / abai_before as f64;
        assert!(ratio > 1.6 && ratio < 2.6, "volume ratio {ratio}");
    }

    #[test]
    fn claim_campaign_posts_near_copies_from_many_accounts() {
        let camp: Scenario = "claim-campaign:mangystau".parse().unwrap();
        let o = SynthOptions {
            scenarios: vec![camp],
            duplicate_rate: 0.0,
            ..opts(5, 20_000)
        };
        let mut authors = BTreeSet::new();
        let mut texts = BTreeSet::new();
        let mut claim_ids = BTreeSet::new();
        for (i, (l, t)) in generate_labelled(&o).enumerate() {
            let t = t.unwrap();
            let frac = i as f64 / 20_000.0;
            let Some(claim) = t.claim else { continue };
            if t.region == Region::Mangystau && (0.4..0.7).contains(&frac) {
                let SynthLine::Post(p) = l else {
                    unreachable!()
                };
                authors.insert(p.author.id.clone());
                texts.insert(p.text.clone());
                claim_ids.insert(claim);
            }
        }
        assert!(authors.len() > 50, "{} accounts", authors.len());
        assert!(texts.len() > 50, "{} distinct texts", texts.len());
        assert!(claim_ids.len() <= 3);
    }

    #[test]
    fn scenario_parsing() {
        assert_eq!(
            "hostility-wave:abai".parse::<Scenario>().unwrap(),
            Scenario::HostilityWave {
                region: Region::Abai,
                from: 0.4,
                to: 0.7,
                intensity: 0.5
            }
        );
        assert_eq!(
            "claim-campaign:mangystau".parse::<Scenario>().unwrap(),
            Scenario::ClaimCampaign {
                region: Region::Mangystau,
                from: 0.4,
                to: 0.7,
                share: 0.3
            }
        );
        assert_eq!(
            "hostility-wave:KZ-27:0.1:0.2:0.9"
                .parse::<Scenario>()
                .unwrap(),
            Scenario::HostilityWave {
                region: Region::WestKazakhstan,
                from: 0.1,
                to: 0.2,
                intensity: 0.9
            }
        );
        assert_eq!(
            "claim-campaign:east-kazakhstan:0:1:0.2"
                .parse::<Scenario>()
                .unwrap(),
            Scenario::ClaimCampaign {
                region: Region::EastKazakhstan,
                from: 0.0,
                to: 1.0,
                share: 0.2
            }
        );
        let s = Scenario::HostilityWave {
            region: Region::Jetisu,
            from: 0.25,
            to: 0.5,
            intensity: 0.75,
        };
        assert_eq!(s.to_string().parse::<Scenario>().unwrap(), s);
        for (bad, part) in [
            ("riot:abai", "riot"),
            ("hostility-wave", "missing region"),
            ("hostility-wave:atlantis", "atlantis"),
            ("hostility-wave:unknown", "unknown"),
            ("hostility-wave:abai:0.4", "parts"),
            ("hostility-wave:abai:x:0.7:0.5", "\"x\""),
            ("claim-campaign:abai:0.4:0.7:1.5", "share"),
            ("claim-campaign:abai:0.7:0.4:0.5", "less than"),
        ] {
            let e = bad.parse::<Scenario>().unwrap_err();
            assert!(e.contains(part), "{bad}: {e}");
        }
    }

    #[test]
    fn planted_iins_and_cards_have_valid_checksums() {
        let o = opts(6, 20_000);
        let (mut iins, mut cards, mut phones, mut emails) = (0, 0, 0, 0);
        for line in generate(&o) {
            let SynthLine::Post(p) = line else { continue };
            let t = &p.text;
            let chars: Vec<char> = t.chars().collect();
            // Runs of digits and single spaces: a card is 4 groups of 4, an IIN a bare run of 12.
            let mut i = 0;
            while i < chars.len() {
                if !chars[i].is_ascii_digit() {
                    i += 1;
                    continue;
                }
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let run: String = chars[start..i].iter().collect();
                if run.len() == 12
                    && (t.contains("ИИН")
                        || t.contains("ЖСН")
                        || t.contains("IIN")
                        || t.contains("JSN"))
                {
                    assert!(sarap_core::ids::is_valid_iin(&run), "{run} in {t}");
                    let month: u32 = run[2..4].parse().unwrap();
                    let day: u32 = run[4..6].parse().unwrap();
                    assert!((1..=12).contains(&month) && (1..=31).contains(&day));
                    assert!((b'1'..=b'6').contains(&run.as_bytes()[6]));
                    iins += 1;
                }
            }
            if let Some(pos) = t
                .find("карта ")
                .or_else(|| t.find("karta "))
                .or_else(|| t.find("card "))
            {
                let after = &t[pos..];
                let digits: String = after
                    .chars()
                    .skip_while(|c| !c.is_ascii_digit())
                    .take(19)
                    .filter(char::is_ascii_digit)
                    .collect();
                assert_eq!(digits.len(), 16, "{t}");
                assert!(digits.starts_with('4') || digits.starts_with('5'));
                assert!(sarap_core::ids::luhn_valid(&digits), "{digits} in {t}");
                cards += 1;
            }
            phones += usize::from(t.contains("+7") || t.contains("8 (") || t.contains("8-7"));
            emails += usize::from(t.contains(".kz") || t.contains(".com") || t.contains(".ru"));
        }
        assert!(
            iins > 40 && cards > 40 && phones > 40 && emails > 40,
            "{iins} {cards} {phones} {emails}"
        );
    }

    #[test]
    fn timestamps_advance_at_the_requested_rate() {
        let o = SynthOptions {
            duplicate_rate: 0.0,
            ..opts(10, 28_800)
        };
        let times: Vec<DateTime<Utc>> = generate(&o)
            .map(|l| match l {
                SynthLine::Post(p) => DateTime::parse_from_rfc3339(&p.created_at)
                    .unwrap()
                    .with_timezone(&Utc),
                SynthLine::Malformed { .. } => unreachable!(),
            })
            .collect();
        let span = (*times.iter().max().unwrap() - o.start).num_minutes() as f64;
        // 28,800 posts at 200/min is 144 minutes on average; the diurnal pattern stretches the night.
        assert!(span > 60.0 && span < 600.0, "{span} minutes");
        let late = times
            .windows(2)
            .filter(|w| w[1] < w[0] - Duration::seconds(30))
            .count();
        assert!(late > 0 && late < times.len() / 20, "{late} late posts");
    }
}
