//! Language identification for ingest: kk (Cyrillic and Latin), ru, en or other, the writing
//! system, and whether Kazakh and Russian are mixed in one post.
//!
//! Cheap evidence decides most posts: letter classes, letters only Kazakh (or only Ukrainian,
//! Turkish, German) uses, short word lists and a few suffixes. The `lingua` n-gram models are
//! asked only when that evidence is thin or contradictory, because a lingua call costs one to two
//! orders of magnitude more than the word scan, fails on very short posts, and knows no
//! Latin-script Kazakh at all.

use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use sarap_core::{Lang, Script};

/// Result of identification.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LangGuess {
    /// Identified language (`Other` for configured other languages, unknown ones, or too little text).
    pub lang: Lang,
    /// Writing system, from letter counts.
    pub script: Script,
    /// Confidence of the language decision, 0..1.
    pub confidence: f32,
    /// Kazakh and Russian mixed in one post (then `lang` is `Kk`).
    pub code_switched: bool,
}

// Evidence slots. kk/ru/en are always scored; uk/tr/de are scored even when not configured so
// that, say, Ukrainian "і" words never count as Kazakh; an unconfigured winner goes to lingua.
const KK: usize = 0;
const RU: usize = 1;
const UK: usize = 2;
const EN: usize = 3;
const TR: usize = 4;
const DE: usize = 5;
const N: usize = 6;

const B_KK: u8 = 1 << KK;
const B_RU: u8 = 1 << RU;
const B_UK: u8 = 1 << UK;
const B_EN: u8 = 1 << EN;
const B_TR: u8 = 1 << TR;
const B_DE: u8 = 1 << DE;

/// Texts longer than this (in bytes of cleaned text) use lingua's low-accuracy (trigram-only)
/// mode, which lingua documents as equally accurate above ~120 characters and is much faster.
const LOW_ACCURACY_FROM: usize = 240;
/// Lingua sees at most this many bytes: the first few sentences carry the language and the cost
/// of lingua grows linearly with length.
const LINGUA_MAX_BYTES: usize = 600;

/// Kazakh words in Cyrillic, with the informal spellings that drop the special letters.
/// Loanwords common in Russian (аким, той, апа, ага, аул, казак, тенге) are left out on purpose.
const KK_CYR: &str =
    "және жане емес бар жоқ жок үшін ушин ушін деп мен бұл бул осы біз биз сен сіз сиз \
     керек ғой гой ғана гана ма ме ба бе па пе ол олар оның онын біздің бiздiң биздин \
     сендер маған маган саған саган оған оган неге неше қалай калай қайда кайда қашан кашан \
     бірақ бирак енді енди әлі тағы тагы бәрі бари барлық барлык жаңа жақсы жаксы рахмет \
     сәлем салем иә ия болды болады болып бола болса екен еді еди деген дейді дейди айтты \
     келді келди барды алды берді берди жатыр отыр жүр жол жыл күн бүгін бугин ертең ертен \
     кеше адам халық халык елі тіл тили қазақ қазақша казакша орысша мектеп бала балалар \
     ана әке ата аға ақша акша үй шығар шыгар сияқты сиякты туралы бойынша кейін кейин \
     дейін дейин бірге бирге тек бір бир екі еки үш мына мынау анау сол сондай осындай \
     сонда мұнда мунда онда әр көп коп нәрсе нарсе жұмыс жумыс уақыт уакыт кезде кейде \
     қазір казир қане кане міне мине шын шынымен әрине арине дұрыс дурыс жарайды болмайды \
     білмеймін билмеймин білем билем қой кой әй соң менің менин сенің сенин бізде мені мени \
     сені сени оны соны буны бұны калайсын калайсыз қалайсың қалайсыз кешіріңіз кешириниз \
     ағай агай апай ханым мырза бауырым жігіттер жигиттер қыздар кыздар қыз кыз ұл болган \
     келген айтып көрдім кордим жаным сау бол аман есен сабақ сабак ауа райы далада үйде \
     уйде келесі келеси апта аптада достар досым қайырлы кайырлы тамаша керемет жаман әдемі \
     адеми ешкім ешким ештеңе ештене бәріміз баримиз ауыл ауылда ауылға айтасың айтасын \
     сенде менде";

/// Kazakh words in Latin script: the 2021 alphabet, the 2018 acute-accent one, and informal ASCII.
/// Words also Turkish or English (men, sen, biz, bar…) are listed in both and split their weight.
const KK_LAT: &str =
    "jäne jane jáne zhane emes üşin ushin úshin uşin üshin bolady boldy bolyp bolsa kerek \
     bizdiñ bizdin bizdiń qazaq qazaqstan qazaqşa qazaqsha kazaksha sälem salem sálem \
     rahmet raxmet bul osy osı joq jok qalay qalai kalai kalay jaqsy jaqsı jaksy jaksi \
     bügin búgin bugin degen dep eken goi ğoi ǵoı ǵoi qoi gana ğana ǵana köp kóp halyq \
     halıq tili orys aqparat bilim ükimet úkimet memleket jyl jıl jol nege qaida qaşan \
     qashan barlyq barlıq mektep balalar kün kún jaña jańa äli endi sebebi biraq bıraq öte \
     óte eñ eń tek ma pa pe menin meniñ meniń seniñ senin onyñ onyn olar ol mağan maǵan \
     magan sağan saǵan sagan oğan oǵan ogan qyz kyz qyzdar jigitter bauyrym bauyrlar ağai \
     aǵaı agai apai ekeu eki qazir kazir qazır myna mynau sondai sonda shyn şyn şın ärine \
     árıne arine durys dūrys dúrys jaraidy jaraıdy bilmeimin bilmeymin kelesi keldi bardym \
     bardy aldy berdi aitty aıtty aityp jatyr otyr jür jur keşe keshe erteñ erteń erten üi \
     üy úı aqşa aqsha jumys jūmys uaqyt waqyt kezde kezinde turaly boiynşa boiynsha \
     boıynsha keiin keıin deiin birge siyaqty siaqty sıaqty sekildi qane mine eşkim eshkim \
     bauyr qaiyrly qaıyrly tamaşa tamasha keremet dostar dosym jaman auyl auylda aua raıy \
     raiy qoidy respublikasy respublikasynyñ prezidenti bari bäri bári bratan jaz jazu ony \
     sony buny meni bärimiz barimiz qyzmet bilesiñ bilesin men sen biz siz ne bir bar da de \
     kim seni bala ana ata adam til";

/// Russian function words and very common words; a few Russian loans ending like Kazakh plurals
/// (доллар, лидер) are here so the suffix rule never sees them, and frequent colloquial words so
/// that a Russian phrase inside a Kazakh post is noticed.
const RU_WORDS: &str =
    "и в во с со к ко у о об а не на что чтобы я ты он она оно мы вы они это этот эта эти \
     этого как по но из за от до же ли бы то так вот уже еще ещё только очень все всё всех \
     всем был была было были быть будет будут есть нет для при про без над под через когда \
     где там тут здесь сейчас сегодня завтра вчера почему потому тоже также может можно \
     нужно надо его ее её их им ему мне меня тебя тебе себя себе кто чем чего какой какая \
     какие который которая которые просто короче блин ну типа вообще лучше хорошо плохо \
     много мало больше меньше снова опять пока если или ни даже ведь сам сама сами весь вся \
     люди людей человек время год года лет день дня город городе страна страны стране после \
     перед между около хочу хочет знаю думаю говорят сказал сказала теперь никто ничего \
     всегда никогда иногда потом сначала наш наша наши ваш ваша мой моя мои твой такой \
     такие другой новый один одна два три погода плохая хороший жаль спасибо пожалуйста \
     привет давай ребята друзья вопрос реально кстати вроде щас че чё норм понятно ладно \
     слушай среди доллар лидер мастер компьютер гектар радар удар товар дилер свитер круто \
     дела дома жарко холодно деньги цены указ дороги дорога фейк сайт возле часа час уж \
     разве зато хотя чтоб пусть вдруг здорово срочно утро доброе добрый вечер ночи \
     спокойной купи хлеб иди пошли смотри скажи позвони напиши приходи знаешь понял поняла \
     конечно наверное правда точно серьезно отлично класс супер прикол кошмар ужас жесть \
     капец сразу нормально красиво вкусно быстро говорю говорит сказать сделать работа \
     работу дом машина звони пиши жду ждите можешь будем буду нету вместе тогда сколько \
     зачем куда откуда никак как-то что-то кто-то всего хотел хотела надеюсь брат братан \
     сестра подруга друг ребенок дети детей школа школе садик магазин улица улице";

/// Ukrainian words; those spelled the same in Russian carry both flags and split their weight.
const UK_WORDS: &str =
    "я і й що це та як він вона воно вони але дуже від щоб тому цей ця ці ще вже мені мене \
     який яка які яке сьогодні зараз немає треба можна буде є їх його її був бо коли або чи \
     теж дякую привіт україна україни україні мій моя свій ми ви ти з із зі також тобі тебе \
     нас вас всіх усі все всі було була були так не на до за про для під без люди лише \
     тільки ніж де хто чому вітаю будь ласка друзі справи тут там після завтра вчора учора \
     моєму житті знову гарна гарний добре погано київ києві";

/// English function words and very common words.
const EN_WORDS: &str =
    "the a an and is are was were be been of to in on at for with from by this that these \
     those it its you your we our they their he she his her i me my not no but or so if \
     what who how why when where all just can will would should have has had do does did \
     don't don’t can't can’t i'm it's there here about today tonight people new good great \
     very really more one some like get go going out up now time love thanks thank please \
     happy day city country news also only than then because which make know think want men \
     bar such again every anyone near morning weather keep wait next way much still getting \
     worse best everyone someone won got into over after before them him us am hey hello hi \
     yes guys already steady";

/// Turkish function words and very common words.
const TR_WORDS: &str =
    "ve bir bu için icin değil degil çok cok ile gibi daha ama ne var yok ben sen biz siz o \
     şu olan olarak kadar sonra şimdi bugün çünkü mi mı mu mü da de en her ki ya diye oldu \
     olur şey nasıl neden iyi güzel teşekkürler teşekkür merhaba evet hayır lütfen türk \
     türkiye benim seni beni bizim sizin onun bunu bunun olsun artık hiç tüm bütün insanlar \
     yeni büyük zaman gün yıl ülke şehir haber kim yarın hava sabah akşam herkese kardeşim \
     yine ederim sağ olun mısın misin musun nerede neredesin hayırlı geldi gitti arasında";

/// German function words and very common words.
const DE_WORDS: &str =
    "der die das und ist nicht ich ein eine einen einem zu mit auf für von sich den dem des \
     wir sie es auch aber wie noch nur heute sehr wird werden wurde sind hat haben war bei \
     nach aus oder wenn dass schon mehr kann gibt viel mein meine meinen dein unser unsere \
     hier jetzt immer gut danke bitte alle diese dieser uns ihr mir mich dir dich man kein \
     keine gestern morgen wieder über zum zur im am vom beim ins ja nein doch so was wer wo \
     warum weil leute stadt land guten vielen dank leider richtig endlich zeit weiß soll \
     machen frohe herzlichen abend wochenende an in";

/// Hash of a short byte string: the first and last eight bytes (or four, or three single
/// bytes) and the length, mixed by one folded 64×64→128 multiply. Word and suffix lookups are the
/// hot loop, the key set is fixed and built in, so neither SipHash's DoS resistance nor a pass
/// over every byte buys anything; equality is always checked on the full key.
#[inline]
fn short_hash(b: &[u8]) -> u64 {
    let n = b.len();
    let read8 = |s: &[u8]| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
    let read4 = |s: &[u8]| u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]]));
    let (x, y) = if n >= 8 {
        (read8(b), read8(&b[n - 8..]))
    } else if n >= 4 {
        (read4(b), read4(&b[n - 4..]))
    } else if n > 0 {
        let x = u64::from(b[0]) << 16 | u64::from(b[n / 2]) << 8 | u64::from(b[n - 1]);
        (x, 0)
    } else {
        (0, 0)
    };
    let m =
        u128::from(x ^ 0x243f_6a88_85a3_08d3) * u128::from(y ^ n as u64 ^ 0x1319_8a2e_0370_7344);
    (m as u64) ^ ((m >> 64) as u64)
}

/// `a == b` for short byte strings with two overlapping word loads instead of a `memcmp` call.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let read8 = |s: &[u8]| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]);
    let read4 = |s: &[u8]| u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
    match n {
        0..=3 => a == b,
        4..=7 => read4(a) == read4(b) && read4(&a[n - 4..]) == read4(&b[n - 4..]),
        8..=16 => read8(a) == read8(b) && read8(&a[n - 8..]) == read8(&b[n - 8..]),
        _ => a == b,
    }
}

/// Open-addressed (linear probing, load ≤ 1/2) table from built-in strings to flag bits. Probing
/// reads only a dense array of 32-bit hash tags (8 KiB for the word lists, so it stays in L1);
/// keys are compared only on a tag match, and a miss usually ends at the first empty tag.
struct StrTable<V> {
    /// Non-zero hash tag per slot; 0 marks a free slot.
    tags: Box<[u32]>,
    keys: Box<[(&'static str, V)]>,
    mask: usize,
    len: usize,
    /// Longest key in bytes: longer strings are misses without hashing.
    max_len: usize,
}

impl<V: Copy + Default + std::ops::BitOrAssign> StrTable<V> {
    /// Builds the table; a key listed more than once gets the union of its values.
    fn new(items: &[(&'static str, V)]) -> Self {
        let size = (items.len() * 2).next_power_of_two().max(16);
        let mut t = StrTable {
            tags: vec![0; size].into_boxed_slice(),
            keys: vec![("", V::default()); size].into_boxed_slice(),
            mask: size - 1,
            len: 0,
            max_len: 0,
        };
        for &(key, v) in items {
            debug_assert!(!key.is_empty());
            let (mut i, tag) = t.slot_of(key);
            loop {
                if t.tags[i] == 0 {
                    t.tags[i] = tag;
                    t.keys[i] = (key, v);
                    t.len += 1;
                    t.max_len = t.max_len.max(key.len());
                    break;
                }
                if t.keys[i].0 == key {
                    t.keys[i].1 |= v;
                    break;
                }
                i = (i + 1) & t.mask;
            }
        }
        t
    }

    /// First probe position and tag of a key.
    #[inline]
    fn slot_of(&self, key: &str) -> (usize, u32) {
        let h = short_hash(key.as_bytes());
        (h as usize & self.mask, (h >> 32) as u32 | 1)
    }

    #[inline]
    fn get(&self, key: &str) -> Option<V> {
        if key.is_empty() || key.len() > self.max_len {
            return None;
        }
        let (mut i, tag) = self.slot_of(key);
        loop {
            let t = self.tags[i];
            if t == 0 {
                return None;
            }
            if t == tag && same_bytes(self.keys[i].0.as_bytes(), key.as_bytes()) {
                return Some(self.keys[i].1);
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// The suffix lists as a trie of reversed bytes: one walk back from a word's end finds every
/// listed tail, and usually stops after a byte or two, where looking each of the last six tails
/// up in a table would hash six strings.
struct SuffixTrie {
    /// Child of the root per byte (the word's last byte); 0 is none (the root is no child).
    root: Box<[u32; 256]>,
    /// Per node: first edge in `edges`, edge count, and the classes of the suffix ending here.
    nodes: Vec<(u32, u32, u16)>,
    /// (byte, child) edges, grouped per node.
    edges: Vec<(u8, u32)>,
}

impl SuffixTrie {
    fn new(items: &[(&'static str, u16)]) -> Self {
        // Build with per-node maps, then lay the edges out flat.
        let mut kids: Vec<std::collections::BTreeMap<u8, u32>> = vec![Default::default()];
        let mut bits = vec![0u16];
        for &(sfx, b) in items {
            let mut node = 0;
            for &byte in sfx.as_bytes().iter().rev() {
                let next = kids.len() as u32;
                node = *kids[node].entry(byte).or_insert(next) as usize;
                if node == kids.len() {
                    kids.push(Default::default());
                    bits.push(0);
                }
            }
            bits[node] |= b;
        }
        let mut root = Box::new([0u32; 256]);
        for (&byte, &child) in &kids[0] {
            root[usize::from(byte)] = child;
        }
        let mut nodes = Vec::with_capacity(kids.len());
        let mut edges = Vec::new();
        for (k, b) in kids.iter().zip(&bits) {
            nodes.push((edges.len() as u32, k.len() as u32, *b));
            edges.extend(k.iter().map(|(&byte, &child)| (byte, child)));
        }
        SuffixTrie { root, nodes, edges }
    }

    /// Union of the classes of the listed suffixes that are proper tails of `w`.
    #[inline]
    fn tail_bits(&self, w: &[u8]) -> u16 {
        let n = w.len();
        if n < 2 {
            return 0;
        }
        let mut node = self.root[usize::from(w[n - 1])] as usize;
        let mut sfx = 0;
        // A tail starting at byte i (i ≥ 1, so a proper tail) is read once node has taken w[i].
        let mut i = n - 1;
        while node != 0 {
            let (first, count, b) = self.nodes[node];
            sfx |= b;
            if i <= 1 {
                break;
            }
            i -= 1;
            let first = first as usize;
            node = self.edges[first..first + count as usize]
                .iter()
                .find(|e| e.0 == w[i])
                .map_or(0, |e| e.1 as usize);
        }
        sfx
    }
}

/// Which optional languages the configuration asked for.
#[derive(Debug, Clone, Copy, Default)]
struct Others {
    uk: bool,
    tr: bool,
    de: bool,
    zh: bool,
}

/// Identifies the language of posts; build once (it preloads lingua's models) and share.
pub struct LangDetector {
    words: StrTable<u8>,
    suffixes: SuffixTrie,
    others: Others,
    /// High-accuracy lingua for short texts, where trigram-only mode guesses badly.
    precise: LanguageDetector,
    /// Low-accuracy lingua for long texts; shares the preloaded models with `precise`.
    fast: LanguageDetector,
}

impl std::fmt::Debug for LangDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LangDetector")
            .field("others", &self.others)
            .field("words", &self.words.len)
            .finish_non_exhaustive()
    }
}

/// Letter class of one character.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cls {
    Cyr,
    Lat,
    Han,
    OtherLetter,
    /// Combining marks and in-word apostrophes: part of a word, not a letter.
    Join,
    Sep,
}

#[inline]
fn class(c: char) -> Cls {
    if c.is_ascii_alphabetic() {
        return Cls::Lat;
    }
    if c.is_ascii() {
        return Cls::Sep;
    }
    // Ranges are spelled out so the common scripts never reach the slower Unicode tables.
    match c as u32 {
        0x0400..=0x0481 | 0x048A..=0x052F => Cls::Cyr,
        0x0482..=0x0489 => Cls::Join,
        0x00C0..=0x00D6 | 0x00D8..=0x00F6 | 0x00F8..=0x024F | 0x1E00..=0x1EFF => Cls::Lat,
        0x0300..=0x036F => Cls::Join,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F => Cls::Han,
        0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F if c.is_alphabetic() => Cls::Cyr,
        // Punctuation, symbols, variation selectors and emoji, which hold no letter (a test
        // checks), are answered without the `is_alphabetic` table.
        0x2000..=0x2070
        | 0x2189..=0x24B5
        | 0x24EA..=0x2BFF
        | 0xFDFC..=0xFE6F
        | 0x1F18A..=0x1FFFF => Cls::Sep,
        _ if c.is_alphabetic() => Cls::OtherLetter,
        _ => Cls::Sep,
    }
}

/// Lower-cases one letter; table-free for ASCII, Cyrillic and Latin-1 because std's
/// `to_lowercase` binary-searches a large table for every non-ASCII character.
#[inline(always)]
fn push_lower(out: &mut String, c: char) {
    let u = c as u32;
    let l = match u {
        // Already lower case (all of these are): the commonest letters skip `is_lowercase`.
        0x61..=0x7A | 0xDF..=0xF6 | 0xF8..=0xFF | 0x0430..=0x045F => Some(u),
        0x41..=0x5A | 0xC0..=0xD6 | 0xD8..=0xDE | 0x0410..=0x042F => Some(u + 0x20),
        0x0400..=0x040F => Some(u + 0x50),
        // Cyrillic supplement letters come in upper (even) / lower (odd) pairs.
        0x0460..=0x0481 | 0x048A..=0x04BF | 0x04D0..=0x04FF => Some(u | 1),
        0x0130 => Some(u32::from('i')),
        _ => return push_lower_slow(out, c),
    };
    match l.and_then(char::from_u32) {
        Some(l) => out.push(l),
        None => out.extend(c.to_lowercase()),
    }
}

/// `push_lower` for the letters its table-free ranges do not cover.
#[inline(never)]
fn push_lower_slow(out: &mut String, c: char) {
    if c.is_lowercase() {
        out.push(c);
    } else {
        out.extend(c.to_lowercase());
    }
}

/// Latin look-alike of a Cyrillic letter, for words typed with the wrong layout mid-word.
#[inline]
fn cyr_to_lat(c: char) -> Option<char> {
    Some(match c {
        'а' => 'a',
        'е' => 'e',
        'о' => 'o',
        'с' => 'c',
        'р' => 'p',
        'х' => 'x',
        'у' => 'y',
        'к' => 'k',
        'і' => 'i',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        _ => return None,
    })
}

/// Cyrillic look-alike of a Latin letter. Kazakh users very often type Latin `i` for `і`.
#[inline]
fn lat_to_cyr(c: char) -> Option<char> {
    Some(match c {
        'a' => 'а',
        'e' => 'е',
        'o' => 'о',
        'c' => 'с',
        'p' => 'р',
        'x' => 'х',
        'y' => 'у',
        'k' => 'к',
        'i' => 'і',
        'h' => 'һ',
        'A' => 'А',
        'B' => 'В',
        'E' => 'Е',
        'K' => 'К',
        'M' => 'М',
        'H' => 'Н',
        'I' => 'І',
        'O' => 'О',
        'P' => 'Р',
        'C' => 'С',
        'T' => 'Т',
        'X' => 'Х',
        _ => return None,
    })
}

/// Per-post tallies from the word scan.
#[derive(Default, Clone, Copy)]
struct Scan {
    cyr: u32,
    lat: u32,
    han: u32,
    other_letters: u32,
    /// Cyrillic and Latin words seen.
    words: u32,
    score: [f32; N],
    /// Cyrillic words with `і` and nothing else telling: Kazakh or Ukrainian.
    i_words: f32,
    /// The next word starts a sentence (so its capital letter says nothing).
    sentence_start: bool,
}

/// The word being collected: a byte range of the text (a word is always contiguous, because
/// every character that is not part of one ends it) and its letter counts, gathered while
/// scanning so no character is classified twice.
#[derive(Default, Clone, Copy)]
struct Word {
    start: usize,
    /// End byte; 0 while no word is open (a word has at least one letter, so it ends past 0).
    end: usize,
    cyr: u32,
    lat: u32,
    oth: u32,
}

/// State of one scan pass.
struct Pass<'c> {
    scan: Scan,
    word: Word,
    /// The open word lower-cased as it is read (apostrophes as `'`, joiners dropped); reused so
    /// words cost no allocation. Rebuilt in `flush` for the rare mixed-script word.
    lower: String,
    /// Lower-cased words, space separated, for lingua; collected only on the pass that feeds it.
    clean: Option<&'c mut String>,
}

/// Tokens that carry no language: hashtags, mentions, links, e-mail-like strings.
fn skip_token(tok: &str) -> bool {
    let first = tok.chars().next();
    if matches!(first, Some('#') | Some('@')) {
        return true;
    }
    if tok.contains('@') || tok.starts_with("www.") || (tok.contains(':') && tok.contains("://")) {
        return true;
    }
    if !tok.contains('.') {
        return false;
    }
    // Bare domains and paths such as "akorda.kz" or "t.me/news".
    let trimmed = tok.trim_end_matches(|c: char| !c.is_alphanumeric());
    if let Some(dot) = trimmed.rfind('.') {
        let tld = &trimmed[dot + 1..];
        let before = &trimmed[..dot];
        if !before.is_empty()
            && before
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c))
            && matches!(
                tld,
                "kz" | "ru"
                    | "com"
                    | "org"
                    | "net"
                    | "io"
                    | "me"
                    | "ua"
                    | "tr"
                    | "de"
                    | "cn"
                    | "info"
                    | "gov"
                    | "edu"
                    | "tv"
                    | "be"
                    | "ly"
                    | "gl"
            )
        {
            return true;
        }
    }
    trimmed.contains('/') && trimmed.contains('.')
}

/// Length in bytes of a `[PLACEHOLDER]` or `<PLACEHOLDER>` starting at `s`, if there is one.
fn placeholder_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let close = match b.first()? {
        b'[' => b']',
        b'<' => b'>',
        _ => return None,
    };
    let mut i = 1;
    while i < b.len() && i <= 24 {
        let c = b[i];
        if c == close {
            return (i > 1).then_some(i + 1);
        }
        if !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'_' || c == b'-') {
            return None;
        }
        i += 1;
    }
    None
}

/// Kazakh verb endings, negation and case-stacked plurals that Russian words do not end with.
const KK_CYR_SUFFIXES: &str =
    "мын мыз сыз ныз йды тын лык дык тык лары дары тары ларды дарды тарды ларга дарга тарга \
     ларын дарын тарын мин миз сиз низ йди майды мейди маймын меймин ып адым лдым здым ттым \
     ндым рдым йдым";
/// Kazakh plural endings; weak because Russian loans share them.
const KK_CYR_PLURAL: &str = "лар лер дар дер тар тер";
/// Russian inflections that Kazakh words do not take.
const RU_SUFFIXES: &str =
    "ться тся ого его ому ему ыми ими ость ости ение ения ание ания ский ская ское ские \
     ских ской ный ная ное ные ных ным ной ая яя ое ее ые ие ую юю ешь ишь ает яет ует ют \
     ать ять ить еть ется ится ешься вать ного ий льно чно шно тно дно вно жно ся сь ило \
     ело ыло ила ела ыла или ели ыли ало ли";
/// Ukrainian endings on words with і (Kazakh never has them).
const UK_I_SUFFIXES: &str = "ів ння ськ ський цький ій ії ію";

const TR_SUFFIXES: &str =
    "yor yorum yorsun yoruz iyor ıyor uyor üyor mek mak lerin ların mış miş muş müş ecek \
     acak dır dir";
const DE_SUFFIXES: &str = "ung keit heit lich chen schaft ungen";
const EN_SUFFIXES: &str = "ing tion tions ness ed ly";
const KK_LAT_SUFFIXES: &str =
    "myn myz syz syñ nyz yp ady ydy tyn dyñ nyñ tyñ diñ niñ tiñ lyq dyq tyq maimyn meimin \
     maidy meidi";

impl LangDetector {
    /// Builds the detector; `other_languages` are ISO 639-1 codes considered besides kk/ru/en
    /// and reported as `Lang::Other` (supported: uk, tr, de, zh).
    pub fn new(other_languages: &[String]) -> Result<Self, String> {
        let mut others = Others::default();
        let mut langs = vec![Language::Kazakh, Language::Russian, Language::English];
        for code in other_languages {
            match code.trim().to_ascii_lowercase().as_str() {
                "kk" | "ru" | "en" => {}
                "uk" => {
                    others.uk = true;
                    langs.push(Language::Ukrainian);
                }
                "tr" => {
                    others.tr = true;
                    langs.push(Language::Turkish);
                }
                "de" => {
                    others.de = true;
                    langs.push(Language::German);
                }
                "zh" => {
                    others.zh = true;
                    langs.push(Language::Chinese);
                }
                _ => {
                    return Err(format!(
                        "unsupported language code {code:?} in other_languages \
                         (supported: uk, tr, de, zh)"
                    ))
                }
            }
        }
        langs.dedup();
        let precise = LanguageDetectorBuilder::from_languages(&langs)
            .with_preloaded_language_models()
            .build();
        let fast = LanguageDetectorBuilder::from_languages(&langs)
            .with_preloaded_language_models()
            .with_low_accuracy_mode()
            .build();

        let mut words = Vec::new();
        for (list, bit) in [
            (KK_CYR, B_KK),
            (KK_LAT, B_KK),
            (RU_WORDS, B_RU),
            (UK_WORDS, B_UK),
            (EN_WORDS, B_EN),
            (TR_WORDS, B_TR),
            (DE_WORDS, B_DE),
        ] {
            words.extend(list.split_whitespace().map(|w| (w, bit)));
        }
        let mut suffixes = Vec::new();
        for (list, bit) in SUFFIX_LISTS {
            for w in list.split_whitespace() {
                debug_assert!(w.chars().count() <= MAX_SUFFIX_CHARS, "{w}");
                suffixes.push((w, bit));
            }
        }
        Ok(LangDetector {
            words: StrTable::new(&words),
            suffixes: SuffixTrie::new(&suffixes),
            others,
            precise,
            fast,
        })
    }

    /// Identifies the language, script and code-switching of one post; never panics.
    pub fn detect(&self, text: &str) -> LangGuess {
        let scan = self.scan(text);
        let letters = scan.cyr + scan.lat + scan.han + scan.other_letters;
        let script = script_of(&scan, letters);
        let other = |confidence: f32| LangGuess {
            lang: Lang::Other,
            script,
            confidence,
            code_switched: false,
        };
        if letters < 2 {
            return other(if letters == 0 { 0.0 } else { 0.05 });
        }
        // Chinese, Japanese, Arabic, Georgian…: not kk/ru/en whatever else the post holds.
        let cl = scan.cyr + scan.lat;
        if scan.han + scan.other_letters > cl {
            let conf = (scan.han + scan.other_letters) as f32 / letters as f32;
            return other(conf.clamp(0.5, 0.99));
        }

        let mut s = scan.score;
        // Words with і lean to whichever of Kazakh and Ukrainian has other evidence.
        if scan.i_words > 0.0 {
            if s[UK] > s[KK] {
                s[UK] += 0.7 * scan.i_words;
            } else if s[KK] > 0.0 {
                let w = if s[UK] == 0.0 { 1.0 } else { 0.7 };
                s[KK] += w * scan.i_words;
            }
        }
        let i_undecided = scan.i_words > 0.0 && s[KK] == 0.0 && s[UK] == 0.0;

        // Kazakh–Russian code-switching: enough Kazakh next to Russian makes the post Kazakh.
        let (kk, ru) = (s[KK], s[RU]);
        if kk >= 1.0 && ru >= 1.0 && s[UK] < kk {
            let kshare = kk / (kk + ru);
            if (kk >= 2.0 && kshare >= 0.25) || (kk >= 1.5 && kshare >= 0.4) || kshare >= 0.5 {
                let rshare = 1.0 - kshare;
                let code_switched = (ru >= 2.0 && rshare >= 0.1) || rshare >= 0.2;
                let conf = 0.55 + 0.4 * ((kk + ru) / (kk + ru + 2.0));
                return LangGuess {
                    lang: Lang::Kk,
                    script,
                    confidence: conf.min(0.97),
                    code_switched,
                };
            }
        }

        let (top, second) = top2(&s);
        let top_score = s[top];
        let second_score = s[second];
        let coverage_needed = (0.15 * scan.words as f32).max(1.0);
        let decisive = !i_undecided
            && top_score >= coverage_needed
            && top_score >= 2.0 * second_score
            && top_score - second_score >= 0.75;
        if decisive {
            if let Some(lang) = self.lang_of_slot(top) {
                let conf = top_score / (top_score + second_score + 0.5);
                return LangGuess {
                    lang,
                    script,
                    confidence: conf.clamp(0.3, 0.99),
                    code_switched: false,
                };
            }
        }
        // Too little text and no word we know: do not let lingua guess from 2–3 letters.
        if cl < 4 && top_score == 0.0 {
            return other(0.1);
        }
        // Lingua has no Latin-script Kazakh model, so Kazakh-looking Latin text stays Kazakh.
        if script == Script::Latn && top == KK && top_score >= 1.0 && top_score > second_score {
            let conf = top_score / (top_score + second_score + 1.0);
            return LangGuess {
                lang: Lang::Kk,
                script,
                confidence: conf.clamp(0.3, 0.9),
                code_switched: false,
            };
        }
        match self.ask_lingua(&self.clean_text(text)) {
            Some((lang, conf)) => LangGuess {
                lang,
                script,
                confidence: conf,
                code_switched: false,
            },
            None => match (top_score > 0.0).then(|| self.lang_of_slot(top)).flatten() {
                Some(lang) => LangGuess {
                    lang,
                    script,
                    confidence: 0.3,
                    code_switched: false,
                },
                None => other(0.1),
            },
        }
    }

    /// The output language for an evidence slot, or `None` when the slot's language is not
    /// configured (then lingua chooses among the configured ones).
    fn lang_of_slot(&self, slot: usize) -> Option<Lang> {
        match slot {
            KK => Some(Lang::Kk),
            RU => Some(Lang::Ru),
            EN => Some(Lang::En),
            UK if self.others.uk => Some(Lang::Other),
            TR if self.others.tr => Some(Lang::Other),
            DE if self.others.de => Some(Lang::Other),
            _ => None,
        }
    }

    fn ask_lingua(&self, clean: &str) -> Option<(Lang, f32)> {
        #[cfg(test)]
        tests::LINGUA_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if clean.is_empty() {
            return None;
        }
        let mut end = clean.len().min(LINGUA_MAX_BYTES);
        while !clean.is_char_boundary(end) {
            end -= 1;
        }
        let text = &clean[..end];
        let det = if text.len() >= LOW_ACCURACY_FROM {
            &self.fast
        } else {
            &self.precise
        };
        let values = det.compute_language_confidence_values(text);
        let (language, conf) = values.first().copied()?;
        if conf <= 0.0 {
            return None;
        }
        let lang = match language {
            Language::Kazakh => Lang::Kk,
            Language::Russian => Lang::Ru,
            Language::English => Lang::En,
            _ => Lang::Other,
        };
        Some((lang, (conf as f32).clamp(0.0, 0.95)))
    }

    /// One pass over the text: letter counts and word evidence.
    fn scan(&self, text: &str) -> Scan {
        self.scan_pass(text, None)
    }

    /// The lower-cased words lingua sees. Built by a second scan only when lingua is asked (about
    /// one post in a hundred), so the common path never copies the text.
    fn clean_text(&self, text: &str) -> String {
        let mut clean = String::with_capacity(text.len().min(LINGUA_MAX_BYTES + 64));
        self.scan_pass(text, Some(&mut clean));
        clean
    }

    /// The scan proper. Tokens are the whitespace-separated pieces of the text (as
    /// `split_whitespace` gives them), read in one byte-level pass that decodes each character
    /// once; a token that `skip_token` rejects is rolled back at its end, which costs less than
    /// looking at every token twice.
    fn scan_pass(&self, text: &str, clean: Option<&mut String>) -> Scan {
        let mut p = Pass {
            scan: Scan {
                sentence_start: true,
                ..Scan::default()
            },
            word: Word::default(),
            lower: String::with_capacity(64),
            clean,
        };
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let (c, n) = decode(b, i);
            if is_space(c) {
                i += n;
                continue;
            }
            // A token starts at `i`. Only tokens that skip_token might reject are shown to it
            // (see `TokenMarks`), and only rejected ones are rolled back.
            let tok_start = i;
            let saved = p.scan;
            let clean_len = p.clean.as_deref().map_or(0, String::len);
            let mut marks = TokenMarks {
                strong: c == '#',
                first_dot: usize::MAX,
            };
            while i < b.len() {
                // Fast path for runs of ASCII letters and U+0400..=U+047F (Cyrillic letters, none
                // of them whitespace), the bulk of every post: `class` and `push_lower` would
                // say the same, and the counts stay in registers for the whole run.
                if is_run_letter(b[i]) {
                    if p.word.end == 0 {
                        p.word.start = i;
                        p.lower.clear();
                    }
                    let (mut cyr, mut lat) = (0, 0);
                    while i < b.len() {
                        let b0 = b[i];
                        if b0.is_ascii_alphabetic() {
                            p.lower.push(char::from(b0.to_ascii_lowercase()));
                            lat += 1;
                            i += 1;
                        } else if b0 & 0xFE == 0xD0 {
                            push_lower(&mut p.lower, decode(b, i).0);
                            cyr += 1;
                            i += 2;
                        } else {
                            break;
                        }
                    }
                    p.word.end = i;
                    p.word.cyr += cyr;
                    p.word.lat += lat;
                    continue;
                }
                let (c, n) = decode(b, i);
                if is_space(c) {
                    break;
                }
                i = self.scan_char(text, i, c, n, &mut p, &mut marks);
            }
            self.flush(text, &mut p);
            let tok = &text[tok_start..i];
            if marks.may_skip(tok, text, i) && skip_token(tok) {
                p.scan = saved;
                if let Some(clean) = p.clean.as_deref_mut() {
                    clean.truncate(clean_len);
                }
            }
        }
        p.scan
    }

    /// Handles the character `c` (`n` bytes) at byte `i` of a token; returns where the next
    /// character starts.
    #[inline]
    fn scan_char(
        &self,
        text: &str,
        i: usize,
        c: char,
        n: usize,
        p: &mut Pass,
        marks: &mut TokenMarks,
    ) -> usize {
        let b = text.as_bytes();
        let end = i + n;
        match class(c) {
            Cls::Cyr => {
                p.open_word(i, end);
                push_lower(&mut p.lower, c);
                p.word.cyr += 1;
            }
            Cls::Lat => {
                p.open_word(i, end);
                push_lower(&mut p.lower, c);
                p.word.lat += 1;
            }
            Cls::OtherLetter => {
                p.open_word(i, end);
                push_lower(&mut p.lower, c);
                p.word.oth += 1;
            }
            Cls::Han => {
                self.flush(text, p);
                p.scan.han += 1;
            }
            Cls::Join => {
                // Part of the word, not of its lower-cased form.
                if p.word.end != 0 {
                    p.word.end = end;
                }
            }
            Cls::Sep => {
                marks.strong |= matches!(c, '@' | ':');
                if c == '.' && marks.first_dot == usize::MAX {
                    marks.first_dot = i;
                }
                // Placeholders are ASCII and cannot contain whitespace, so looking at the rest
                // of the text is looking at the rest of the token.
                if matches!(c, '[' | '<') {
                    if let Some(len) = placeholder_len(&text[i..]) {
                        self.flush(text, p);
                        return i + len;
                    }
                }
                // Apostrophes inside words: Ukrainian м'ясо, Turkish İstanbul'da. Whitespace
                // after the token is a separator, so the look-ahead may read past its end.
                let next_is_letter =
                    || end < b.len() && matches!(class(decode(b, end).0), Cls::Cyr | Cls::Lat);
                if matches!(c, '\'' | '’' | 'ʼ') && p.word.end != 0 && next_is_letter() {
                    p.word.end = end;
                    p.lower.push('\'');
                } else {
                    self.flush(text, p);
                    // Emoji and other symbols end sentences in posts as often as dots do.
                    if matches!(c, '.' | '!' | '?' | '…' | '«' | '"' | '“' | '„')
                        || c as u32 >= 0x2190
                    {
                        p.scan.sentence_start = true;
                    }
                }
            }
        }
        end
    }

    /// Classifies the open word, adds its evidence, and closes it.
    fn flush(&self, text: &str, p: &mut Pass) {
        let w = std::mem::take(&mut p.word);
        if w.end == 0 {
            return;
        }
        let word = &text[w.start..w.end];
        let (mut cyr, mut lat) = (w.cyr, w.lat);
        // Mixed-script words are layout slips: bring the minority letters to the majority script.
        let to_cyr = (cyr > 0 && lat > 0).then_some(cyr >= lat);
        let conv = |c: char| match to_cyr {
            None => c,
            Some(true) => lat_to_cyr(c).unwrap_or(c),
            Some(false) => cyr_to_lat(c).unwrap_or(c),
        };
        if to_cyr.is_some() {
            cyr = 0;
            lat = 0;
            p.lower.clear();
            for c in word.chars().map(conv) {
                match class(c) {
                    Cls::Cyr => cyr += 1,
                    Cls::Lat => lat += 1,
                    _ => {}
                }
                lower_word_char(&mut p.lower, c);
            }
        }
        let scan = &mut p.scan;
        scan.cyr += cyr;
        scan.lat += lat;
        scan.other_letters += w.oth;
        if cyr + lat == 0 {
            return;
        }
        let lower = p.lower.as_str();
        // A capitalised word inside a sentence is most likely a name (Тоқаев, Қазақстан in a
        // Russian post), so it counts for much less than a Kazakh common word.
        let name_like = !scan.sentence_start && {
            let mut cs = word.chars().map(conv);
            cs.next().is_some_and(is_upper) && cs.next().is_none_or(is_lower)
        };
        scan.sentence_start = false;
        scan.words += 1;
        if let Some(clean) = p.clean.as_deref_mut() {
            if clean.len() < LINGUA_MAX_BYTES {
                if !clean.is_empty() {
                    clean.push(' ');
                }
                clean.push_str(lower);
            }
        }
        let (kk_before, i_before) = (scan.score[KK], scan.i_words);
        self.word_evidence(lower, cyr >= lat, scan);
        if name_like {
            scan.score[KK] = kk_before + 0.4 * (scan.score[KK] - kk_before);
            scan.i_words = i_before + 0.4 * (scan.i_words - i_before);
        }
    }

    /// Adds the evidence of one lower-case word to the scan.
    fn word_evidence(&self, w: &str, cyrillic: bool, scan: &mut Scan) {
        if let Some(bits) = self.words.get(w) {
            let n = bits.count_ones() as f32;
            for (slot, v) in scan.score.iter_mut().enumerate() {
                if bits & (1 << slot) != 0 {
                    *v += 1.0 / n;
                }
            }
            return;
        }
        let (f, chars) = word_features(w);
        // Suffix classes are looked up only when a rule gets that far, and then once.
        let mut cached = None;
        let mut sfx = || *cached.get_or_insert_with(|| self.suffix_bits(w));
        if cyrillic {
            cyr_word_evidence(f, &mut sfx, chars, &mut scan.score, &mut scan.i_words);
        } else {
            lat_word_evidence(w, f, &mut sfx, chars, &mut scan.score);
        }
    }

    /// Union of the suffix classes of every proper tail up to MAX_SUFFIX_CHARS long (no
    /// listed suffix is longer, so that is every listed proper tail).
    fn suffix_bits(&self, w: &str) -> u16 {
        self.suffixes.tail_bits(w.as_bytes())
    }
}

/// What a token showed that `skip_token` reacts to.
struct TokenMarks {
    /// Starts with `#`, or holds `@` or `:`.
    strong: bool,
    /// Byte offset (in the text) of the token's first `.`, or `usize::MAX`.
    first_dot: usize,
}

impl TokenMarks {
    /// False only where `skip_token(tok)` is certainly false, so the common "word." token is not
    /// examined: without # @ : and a "www." start, skip_token needs a `.` before the token's
    /// last alphanumeric character, that is, an alphanumeric one after its first `.`.
    #[inline]
    fn may_skip(&self, tok: &str, text: &str, end: usize) -> bool {
        self.strong
            || tok.starts_with("www.")
            || (self.first_dot != usize::MAX
                && text[self.first_dot + 1..end]
                    .chars()
                    .any(char::is_alphanumeric))
    }
}

impl Pass<'_> {
    /// Extends the word to a letter at `start..end`, opening it there if none is open.
    #[inline(always)]
    fn open_word(&mut self, start: usize, end: usize) {
        if self.word.end == 0 {
            self.word.start = start;
            self.lower.clear();
        }
        self.word.end = end;
    }
}

/// Appends one character of a (script-normalised) word to its lower-cased form: in-word
/// apostrophes become `'`, joiners (exactly the `Cls::Join` ranges) are dropped.
#[inline]
fn lower_word_char(out: &mut String, c: char) {
    match c {
        '\'' | '’' => out.push('\''),
        '\u{0300}'..='\u{036F}' | '\u{0482}'..='\u{0489}' => {}
        c => push_lower(out, c),
    }
}

/// Whether a byte starts an ASCII letter or a U+0400..=U+047F Cyrillic letter.
#[inline(always)]
fn is_run_letter(b0: u8) -> bool {
    b0.is_ascii_alphabetic() || b0 & 0xFE == 0xD0
}

/// Decodes the character starting at byte `i` of valid UTF-8; returns it and its length.
#[inline(always)]
fn decode(b: &[u8], i: usize) -> (char, usize) {
    let b0 = b[i];
    if b0 < 0x80 {
        return (char::from(b0), 1);
    }
    let cont = |k: usize| u32::from(b[i + k] & 0x3F);
    let (u, n) = if b0 < 0xE0 {
        (u32::from(b0 & 0x1F) << 6 | cont(1), 2)
    } else if b0 < 0xF0 {
        (u32::from(b0 & 0x0F) << 12 | cont(1) << 6 | cont(2), 3)
    } else {
        (
            u32::from(b0 & 0x07) << 18 | cont(1) << 12 | cont(2) << 6 | cont(3),
            4,
        )
    };
    (char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER), n)
}

/// `char::is_whitespace` (what `split_whitespace` splits on), with ASCII, Latin and Cyrillic
/// answered without std's table, which holds nothing between U+00A1 and U+167F nor past U+3000.
#[inline(always)]
fn is_space(c: char) -> bool {
    let u = c as u32;
    if u < 0x80 {
        return u == 0x20 || (0x09..=0x0D).contains(&u);
    }
    (u == 0x85 || u == 0xA0 || (0x1680..=0x3000).contains(&u)) && c.is_whitespace()
}

/// `char::is_uppercase` with the Basic Cyrillic block and ASCII answered without std's tables.
#[inline]
fn is_upper(c: char) -> bool {
    match c as u32 {
        0x41..=0x5A | 0x0400..=0x042F => true,
        0..=0x7F | 0x0430..=0x045F => false,
        _ => c.is_uppercase(),
    }
}

/// `char::is_lowercase` with the Basic Cyrillic block and ASCII answered without std's tables.
#[inline]
fn is_lower(c: char) -> bool {
    match c as u32 {
        0x61..=0x7A | 0x0430..=0x045F => true,
        0..=0x7F | 0x0400..=0x042F => false,
        _ => c.is_lowercase(),
    }
}

/// Evidence from a Cyrillic word that is not in the word lists.
fn cyr_word_evidence(
    f: u32,
    sfx: &mut impl FnMut() -> u16,
    chars: usize,
    s: &mut [f32; N],
    i_words: &mut f32,
) {
    if f & F_UK != 0 {
        s[UK] += 1.0;
    } else if f & (F_KK | F_KK_BI) != 0 {
        s[KK] += 1.0;
    } else if f & F_RU != 0 {
        s[RU] += 1.0;
    } else if f & F_I != 0 {
        if sfx() & S_UK_I != 0 || f & F_SOFT != 0 {
            s[UK] += 1.0;
        } else {
            *i_words += 1.0;
        }
    } else if chars >= 4 && sfx() & S_KK_CYR != 0 {
        s[KK] += 0.8;
    } else if chars >= 4 && sfx() & S_RU != 0 {
        s[RU] += 0.8;
    } else if f & (F_E | F_SOFT) != 0 {
        s[RU] += 0.5;
    } else if chars >= 5 && sfx() & S_KK_PL != 0 {
        s[KK] += 0.5;
    }
}

/// Evidence from a Latin word that is not in the word lists.
fn lat_word_evidence(
    w: &str,
    f: u32,
    sfx: &mut impl FnMut() -> u16,
    chars: usize,
    s: &mut [f32; N],
) {
    if f & F_TR != 0 {
        s[TR] += 1.0;
    } else if f & F_DE != 0 {
        s[DE] += 1.0;
    } else if f & F_KK_LAT != 0 {
        // Letters of the 2021 (ñ ū) and 2018 (ǵ ń ý) Kazakh alphabets that Turkish, German and
        // English lack.
        s[KK] += 1.0;
    } else if f & F_Q != 0 {
        // q is Kazakh unless it is an English "que/qui".
        if w.contains("que") || w.contains("qui") {
            s[EN] += 0.5;
        } else {
            s[KK] += 1.0;
        }
    } else if f & F_ACUTE != 0 {
        s[KK] += 0.7;
    } else if chars >= 4
        && ((sfx() & S_TR != 0 && !w.is_ascii()) || (f & F_Y != 0 && w.contains("yor")))
    {
        s[TR] += 0.8;
    } else if f & F_AUML != 0 {
        s[KK] += 0.5;
        s[DE] += 0.5;
    } else if f & F_TRK != 0 {
        s[TR] += 0.5;
        s[KK] += 0.4;
    } else if f & F_OU != 0 {
        s[TR] += 0.35;
        s[DE] += 0.35;
        s[KK] += 0.3;
    } else if f & F_SC != 0 && w.contains("sch") {
        s[DE] += 0.7;
    } else if f & F_ZH != 0 {
        s[KK] += 0.6;
    } else if chars >= 5 && sfx() & S_DE != 0 {
        s[DE] += 0.6;
    } else if chars >= 4 && sfx() & S_KK_LAT != 0 {
        s[KK] += 0.6;
    } else if chars >= 4 && sfx() & S_EN != 0 {
        s[EN] += 0.5;
    } else if f & (F_TH | F_W) != 0 {
        s[EN] += 0.4;
    }
}

// Per-word letter features, gathered in the lower-casing pass so no rule rescans the word.
const F_KK: u32 = 1;
const F_UK: u32 = 1 << 1;
const F_I: u32 = 1 << 2;
const F_RU: u32 = 1 << 3;
const F_E: u32 = 1 << 4;
const F_SOFT: u32 = 1 << 5;
const F_KK_BI: u32 = 1 << 6;
const F_TR: u32 = 1 << 7;
const F_DE: u32 = 1 << 8;
const F_KK_LAT: u32 = 1 << 9;
const F_Q: u32 = 1 << 10;
const F_ACUTE: u32 = 1 << 11;
const F_AUML: u32 = 1 << 12;
const F_TRK: u32 = 1 << 13;
const F_OU: u32 = 1 << 14;
const F_ZH: u32 = 1 << 15;
const F_TH: u32 = 1 << 16;
const F_W: u32 = 1 << 17;
const F_SC: u32 = 1 << 18;
const F_Y: u32 = 1 << 19;

/// Features of every character of a lower-case word, and how many characters it has.
#[inline]
fn word_features(w: &str) -> (u32, usize) {
    let b = w.as_bytes();
    let (mut f, mut prev, mut chars, mut i) = (0u32, ' ', 0usize, 0usize);
    while i < b.len() {
        let b0 = b[i];
        // ASCII and Basic Cyrillic from tables; only h, c and ы depend on the letter before.
        let (c, n, fc) = if b0 < 0x80 {
            let c = char::from(b0);
            let fc = if matches!(c, 'h' | 'c') {
                features(prev, c)
            } else {
                FEATURES_ASCII[usize::from(b0)]
            };
            (c, 1, fc)
        } else if b0 & 0xFE == 0xD0 {
            let (c, _) = decode(b, i);
            let fc = if c == 'ы' {
                features(prev, c)
            } else {
                FEATURES_CYR[c as usize - 0x400]
            };
            (c, 2, fc)
        } else {
            let (c, n) = decode(b, i);
            (c, n, features(prev, c))
        };
        f |= fc;
        prev = c;
        chars += 1;
        i += n;
    }
    (f, chars)
}

/// `features` of U+0000..=U+007F and U+0400..=U+047F that do not depend on the letter before
/// (all but h, c and ы, which `word_features` asks `features` about).
const FEATURES_ASCII: [u32; 128] = feature_table(0);
const FEATURES_CYR: [u32; 128] = feature_table(0x400);

const fn feature_table(base: u32) -> [u32; 128] {
    let mut t = [0u32; 128];
    let mut k = 0;
    while k < 128 {
        if let Some(c) = char::from_u32(base + k as u32) {
            t[k] = features('\0', c);
        }
        k += 1;
    }
    t
}

/// Features of one lower-case letter, given the letter before it.
const fn features(prev: char, c: char) -> u32 {
    match c {
        'ә' | 'ғ' | 'қ' | 'ң' | 'ө' | 'ұ' | 'ү' | 'һ' => F_KK,
        'ї' | 'є' | 'ґ' => F_UK,
        'і' => F_I,
        'ё' | 'ъ' => F_RU,
        'э' => F_E,
        'ь' | 'щ' => F_SOFT,
        // Russian spelling never writes ы after к, г, х, ж, ш, ч, nor starts a word with it;
        // Kazakh does all the time.
        'ы' if matches!(prev, ' ' | 'к' | 'г' | 'х' | 'ж' | 'ш' | 'ч') => F_KK_BI,
        'ç' => F_TR,
        'ß' => F_DE,
        'ñ' | 'ū' | 'ǵ' | 'ń' | 'ý' => F_KK_LAT,
        'q' => F_Q,
        'á' | 'ó' | 'ú' => F_ACUTE,
        'ä' => F_AUML,
        'ş' | 'ğ' | 'ı' => F_TRK,
        'ö' | 'ü' => F_OU,
        'h' => match prev {
            'z' => F_ZH,
            't' => F_TH,
            _ => 0,
        },
        'c' if prev == 's' => F_SC,
        'w' => F_W,
        'y' => F_Y,
        _ => 0,
    }
}

// Suffix classes, found for all of a word's tails in one walk of the suffix trie.
const S_KK_CYR: u16 = 1;
const S_KK_PL: u16 = 1 << 1;
const S_RU: u16 = 1 << 2;
const S_UK_I: u16 = 1 << 3;
const S_TR: u16 = 1 << 4;
const S_DE: u16 = 1 << 5;
const S_EN: u16 = 1 << 6;
const S_KK_LAT: u16 = 1 << 7;

/// Every suffix list with the evidence bit it sets, for the suffix trie and its test.
const SUFFIX_LISTS: [(&str, u16); 8] = [
    (KK_CYR_SUFFIXES, S_KK_CYR),
    (KK_CYR_PLURAL, S_KK_PL),
    (RU_SUFFIXES, S_RU),
    (UK_I_SUFFIXES, S_UK_I),
    (TR_SUFFIXES, S_TR),
    (DE_SUFFIXES, S_DE),
    (EN_SUFFIXES, S_EN),
    (KK_LAT_SUFFIXES, S_KK_LAT),
];
/// Longest suffix in any list, in characters.
const MAX_SUFFIX_CHARS: usize = 6;

/// Indices of the best and second-best scores (ties keep the earlier slot: kk, then ru…).
fn top2(s: &[f32; N]) -> (usize, usize) {
    let mut top = 0;
    for (i, &v) in s.iter().enumerate() {
        if v > s[top] {
            top = i;
        }
    }
    let mut second = usize::from(top == 0);
    for (i, &v) in s.iter().enumerate() {
        if i != top && v > s[second] {
            second = i;
        }
    }
    (top, second)
}

fn script_of(scan: &Scan, letters: u32) -> Script {
    let cl = scan.cyr + scan.lat;
    if cl == 0 || cl < scan.han + scan.other_letters {
        return Script::Other;
    }
    let letters = letters.max(1) as f32;
    if scan.cyr as f32 / letters >= 0.3 && scan.lat as f32 / letters >= 0.3 {
        Script::Mixed
    } else if scan.cyr >= scan.lat {
        Script::Cyrl
    } else {
        Script::Latn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// How often the slow path ran, for the timing report.
    pub(super) static LINGUA_CALLS: std::sync::atomic::AtomicUsize =
        std::sync::atomic::AtomicUsize::new(0);

    /// One detector for all tests: building it preloads lingua's models, which takes seconds.
    fn det() -> &'static LangDetector {
        static DET: OnceLock<LangDetector> = OnceLock::new();
        DET.get_or_init(|| {
            let others: Vec<String> = ["uk", "tr", "de", "zh"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            LangDetector::new(&others).expect("supported languages")
        })
    }

    const KK_CYR: &[&str] = &[
        "Бүгін Алматыда күн өте ыстық болды 🔥",
        "Сәлем! Қалайсыз?",
        "Рахмет, бауырым!",
        "Біздің ауылда жол әлі жөнделмеді, әкімдік не қарап отыр?",
        "Қазақ тілі – мемлекеттік тіл, оны бәріміз білуіміз керек.",
        "Мен ертең Астанаға барамын, сен барасың ба?",
        "Жаксы ғой, келесі аптада кездесеміз",
        "Сен кайдасын? Кеше неге келмедин",
        "Жок, мен бармаймын",
        "Балалар мектепке барды ма?",
        "Ауа райы жаман, үйде отырамыз #Астана @friend https://t.me/xyz",
        "Бұл жаңалық шын ба? Тексеру керек.",
        "Жарайсыңдар, жігіттер! Нағыз батырлар 👏👏",
        "Қымбатшылық қашан тоқтайды? Айлық жетпейді.",
        "Ел бірлігі — ең басты құндылық. Барлық ұлттар бір отбасы сияқты тату өмір сүруі керек.",
        "Кеше ауылға бардым, анам сәлем айтты",
        "Жылы киін, далада суық",
        "Иә, дұрыс айтасың",
        "Тамаша! [PHONE] нөміріне хабарласыңыз",
        "Қайырлы таң, достар!",
        "Бiздiн елiмiз ең жаксы ел", // Latin i typed for і
        "Калайсын досым, жаксы жатырсын ба?",
    ];
    const KK_LAT: &[&str] = &[
        "Sälem, qalaisyñ? Bügin kezdeseik pe?",
        "Qazaqstan Respublikasynyñ Prezidenti jaña zañğa qol qoidy",
        "Rahmet, bauyrym!",
        "Men erteñ Astanağa baramyn",
        "Bizdiñ auylda jol äli jöndelmegen",
        "salem kalaisyn, jaksy ma?",
        "Qazaq tili – memlekettik til, ony bärimiz bilüimiz kerek.",
        "jane bul emes, biz ushin kerek",
        "Búgin aýa raıy jaqsy, serýenge shyǵamyz",
        "Qaiyrly tañ, dostar!",
        "Ūlttyq qūndylyqtardy saqtau bärimizdiñ mindetimiz",
        "Sen qaidasyñ? Keşe nege kelmediñ?",
        "rahmet bratan, bari jaksy boldy",
        "Jok, men bugin barmaimyn, jūmys köp",
        "Bul jañalyq şyn ba? Tekseru kerek.",
        "Qymbatşylyq qaşan toqtaidy?",
        "zhane kazaksha jazu kerek qoi",
        "Qazaqstan – bizdiñ ortaq üiimiz",
    ];
    const RU: &[&str] = &[
        "Сегодня в Алматы очень жарко, все сидят дома",
        "Аким города пообещал отремонтировать дороги до конца года",
        "Привет! Как дела?",
        "Спасибо большое за помощь 🙏",
        "Вчера были на тое у друзей, было весело",
        "Моя апа испекла баурсаки, очень вкусно",
        "Цены на бензин опять выросли, когда это закончится?",
        "Кто-нибудь знает, когда откроют трассу Алматы – Бишкек?",
        "В Шымкенте прошёл фестиваль, было много людей #Шымкент",
        "Не верьте фейкам, это неправда! Официальная информация только на сайте akorda.kz",
        "Ну и погода сегодня, снег в мае",
        "Президент подписал указ о повышении зарплат учителям",
        "Очередь в ЦОН огромная, стоим уже третий час 😡",
        "Жалко людей, которые пострадали от паводков в Атырау",
        "Поздравляю всех с праздником! Счастья, здоровья, мира!",
        "Подскажите хорошего стоматолога в Караганде",
        "Ребята, кто потерял собаку возле ТРЦ Mega? Звоните [PHONE]",
        "Это мой аул, я здесь вырос",
        "Ага, понятно",
    ];
    const EN: &[&str] = &[
        "Beautiful sunset over Almaty tonight 🌅",
        "Just landed in Astana, the weather is freezing!",
        "Thanks everyone for the support",
        "Does anyone know a good coffee place near Abay street?",
        "Traffic on Al-Farabi is terrible again this morning",
        "Kazakhstan is such an underrated travel destination #travel",
        "New study shows air pollution in Almaty is getting worse every winter",
        "I love this city so much",
        "Happy Independence Day, Kazakhstan! 🇰🇿",
        "The concert was amazing, can't wait for the next one",
        "Check out our new menu at https://example.com",
        "Prices keep going up and salaries don't",
        "We are hiring! Send your CV to [EMAIL]",
        "What a game! Kairat won 3-1 tonight",
        "Why is the internet so slow today?",
        "Good morning from Shymkent",
        "Qatar Airways flight to Iraq was delayed again",
    ];
    /// Kazakh–Russian mixes: Kazakh with code_switched set.
    const KK_RU: &[&str] = &[
        "Бүгін погода очень плохая, жол жабық",
        "Короче, мен сегодня жұмысқа бармаймын",
        "Слушай, сен ертең келесің бе? Просто надо поговорить",
        "Кеше концертке бардық, было очень круто, бәрі ұнады",
        "Мама айтты, что надо раньше шығу керек",
        "Вообще-то бұл дұрыс емес, я так считаю",
        "Жаным, ты где? Мен сені күтіп тұрмын",
        "Блин, тағы да свет өшіп қалды, сколько можно",
        "Ну ладно, рахмет, потом созвонимся, сау бол",
        "Это просто жесть, қазір барлығы қымбат",
        "Ой, я забыла, бүгін сабақ жоқ па?",
        "Давай ертең встретимся, мен саған бәрін айтып беремін",
        "Кстати, сендер білесіңдер ме, завтра выходной?",
        "Ладно, біз кеттік, потом напишу",
        "Бүгін экзамен был, все сдали, бәрі жақсы",
        "Короче, жігіттер, сегодня футбол болады ма?",
    ];
    const UK: &[&str] = &[
        "Сьогодні дуже гарна погода у Києві",
        "Дякую за підтримку, друзі!",
        "Привіт, як справи?",
        "Ми всі чекаємо на перемогу",
        "Це найкращий день у моєму житті",
        "Я не знаю, що робити далі",
        "Ціни знову зросли, це жахливо",
        "Вітаю всіх зі святом!",
        "Де можна купити квитки на концерт?",
        "Моя бабуся живе в селі під Львовом",
        "Він сказав, що прийде завтра ввечері",
        "Україна понад усе",
        "Будь ласка, поширте цей допис",
        "Ґанок нашого будинку вже відремонтували",
        "Як тобі цей фільм? Мені дуже сподобався",
        "Учора ми їздили до моря",
    ];
    const TR: &[&str] = &[
        "Bugün hava çok güzel, ama yarın yağmur var",
        "Teşekkür ederim, çok sağ olun!",
        "Merhaba, nasılsınız?",
        "Bu haber doğru değil, lütfen paylaşmayın",
        "Türkiye ile Kazakistan arasında yeni anlaşma imzalandı",
        "Ben seni çok seviyorum",
        "İstanbul'da trafik yine berbat",
        "Maç harikaydı, gol müthişti!",
        "Yarın sabah toplantı var mı?",
        "Herkese iyi bayramlar dilerim",
        "Bu fiyatlar artık çok pahalı, maaşlar yetmiyor",
        "Kardeşim, neredesin? Seni bekliyorum",
        "Almatı'da yaşayan Türk öğrenciler bir araya geldi",
        "Hayırlı cumalar",
        "Çocuklar okula gitti mi?",
        "Güzel bir gün geçirdik, herkese teşekkürler",
    ];
    const DE: &[&str] = &[
        "Heute ist das Wetter in Berlin sehr schön",
        "Vielen Dank für eure Unterstützung!",
        "Ich weiß nicht, was ich machen soll",
        "Wir fahren morgen nach Almaty",
        "Das Konzert war großartig",
        "Guten Morgen aus München",
        "Die Preise sind schon wieder gestiegen",
        "Wo kann man hier gut essen?",
        "Frohe Weihnachten an alle!",
        "Kasachstan ist ein wunderschönes Land",
        "Ich habe meinen Zug verpasst, so ein Mist",
        "Wer kommt heute Abend mit ins Kino?",
        "Das ist leider nicht richtig",
        "Endlich Wochenende! Zeit für Familie",
        "Unsere Firma sucht neue Mitarbeiter",
        "Herzlichen Glückwunsch zum Geburtstag!",
    ];
    const ZH: &[&str] = &[
        "今天阿拉木图的天气很好",
        "哈萨克斯坦是一个美丽的国家",
        "谢谢大家的支持！",
        "我明天去阿斯塔纳",
        "这个消息是假的，请不要转发",
        "价格又涨了，太贵了",
        "祝大家节日快乐 🎉",
        "中哈两国签署了新的合作协议",
        "你好，最近怎么样？",
        "我爱这座城市",
        "有人知道这家餐厅在哪里吗？",
        "今天的比赛太精彩了",
        "早上好！",
        "新的丝绸之路项目正在推进",
        "请关注我们的官方账号 @news",
        "周末愉快",
        "iPhone 15 在阿拉木图开始销售了",
    ];
    const EMPTY: &[&str] = &[
        "",
        "   ",
        "😀😀😀",
        "👍",
        "🔥🔥🔥 #Almaty",
        "@user",
        "https://t.me/channel",
        "[PHONE]",
        "123456",
        "!!! ???",
        "🇰🇿🇰🇿",
        "#Астана #Алматы",
        "😂",
        "... 💯",
        "[USER] [URL]",
        "a",
        "Ж",
        "\u{200b}\u{feff}",
    ];

    struct Class {
        name: &'static str,
        texts: &'static [&'static str],
        lang: Lang,
        /// Script every post of the class must have, if fixed.
        script: Option<Script>,
        code_switched: bool,
    }

    fn classes() -> Vec<Class> {
        let c = |name, texts, lang, script, code_switched| Class {
            name,
            texts,
            lang,
            script,
            code_switched,
        };
        vec![
            c("kk-cyrl", KK_CYR, Lang::Kk, Some(Script::Cyrl), false),
            c("kk-latn", KK_LAT, Lang::Kk, Some(Script::Latn), false),
            c("ru", RU, Lang::Ru, Some(Script::Cyrl), false),
            c("en", EN, Lang::En, Some(Script::Latn), false),
            c("kk-ru", KK_RU, Lang::Kk, Some(Script::Cyrl), true),
            c("uk", UK, Lang::Other, Some(Script::Cyrl), false),
            c("tr", TR, Lang::Other, Some(Script::Latn), false),
            c("de", DE, Lang::Other, Some(Script::Latn), false),
            c("zh", ZH, Lang::Other, Some(Script::Other), false),
            c("empty", EMPTY, Lang::Other, None, false),
        ]
    }

    fn correct(class: &Class, g: &LangGuess) -> bool {
        g.lang == class.lang
            && class.script.is_none_or(|s| s == g.script)
            && g.code_switched == class.code_switched
    }

    #[test]
    fn accuracy_per_class() {
        let d = det();
        let (mut ok_all, mut n_all) = (0usize, 0usize);
        let mut failures = Vec::new();
        let mut worst = 1.0f64;
        for class in classes() {
            assert!(class.texts.len() >= 15, "{} needs 15 cases", class.name);
            let mut ok = 0;
            for t in class.texts {
                let g = d.detect(t);
                if correct(&class, &g) {
                    ok += 1;
                } else {
                    failures.push(format!("  [{}] {t:?} -> {g:?}", class.name));
                }
            }
            let acc = ok as f64 / class.texts.len() as f64;
            println!(
                "{:8} {ok:3}/{:3}  {:5.1}%",
                class.name,
                class.texts.len(),
                100.0 * acc
            );
            worst = worst.min(acc);
            ok_all += ok;
            n_all += class.texts.len();
        }
        let acc = ok_all as f64 / n_all as f64;
        println!("overall  {ok_all:3}/{n_all:3}  {:5.1}%", 100.0 * acc);
        if !failures.is_empty() {
            println!("misses:\n{}", failures.join("\n"));
        }
        assert!(worst >= 0.85, "a class is below 85%");
        assert!(acc >= 0.95, "overall accuracy {acc:.3}");
    }

    #[test]
    fn brief_examples_exact() {
        let d = det();
        for t in [
            "Бүгін погода очень плохая, жол жабық",
            "Короче, мен сегодня жұмысқа бармаймын",
        ] {
            let g = d.detect(t);
            assert_eq!((g.lang, g.code_switched), (Lang::Kk, true), "{t}: {g:?}");
        }
        for t in [
            "Аким города пообещал отремонтировать дороги до конца года",
            "Вчера были на тое у друзей, было весело",
            "Моя апа испекла баурсаки, очень вкусно",
        ] {
            let g = d.detect(t);
            assert_eq!((g.lang, g.code_switched), (Lang::Ru, false), "{t}: {g:?}");
        }
        let g = d.detect("Qazaqstan jáne bizdiñ bolashaq üşin kerek");
        assert_eq!((g.lang, g.script), (Lang::Kk, Script::Latn), "{g:?}");
    }

    #[test]
    fn short_and_empty_are_other_with_low_confidence() {
        let d = det();
        for t in EMPTY {
            let g = d.detect(t);
            assert_eq!(g.lang, Lang::Other, "{t:?}: {g:?}");
            assert!(g.confidence < 0.3, "{t:?}: {g:?}");
            assert!(!g.code_switched);
        }
        assert_eq!(d.detect("😀😀 @user #tag [PHONE]").script, Script::Other);
    }

    #[test]
    fn script_mixed_when_both_substantial() {
        let d = det();
        let g = d.detect("Мен бүгін office-ке бардым, meeting was long and boring");
        assert_eq!(g.script, Script::Mixed, "{g:?}");
        // A Latin brand name in Russian text does not make it mixed.
        assert_eq!(
            d.detect("Купил новый iPhone, очень доволен").script,
            Script::Cyrl
        );
    }

    #[test]
    fn turkish_and_english_never_become_kazakh() {
        let d = det();
        for t in TR.iter().chain(EN) {
            assert_ne!(d.detect(t).lang, Lang::Kk, "{t}");
        }
        for t in UK {
            assert_ne!(d.detect(t).lang, Lang::Kk, "{t}");
        }
    }

    #[test]
    fn config_codes() {
        assert!(LangDetector::new(&[]).is_ok());
        let err = LangDetector::new(&["uk".into(), "xx".into()]).unwrap_err();
        assert!(err.contains("xx"), "{err}");
        // Without Ukrainian configured, Ukrainian is judged among kk/ru/en, never as Kazakh
        // when it carries ї/є/ґ.
        let d = LangDetector::new(&["TR".into(), " de ".into()]).expect("valid");
        assert_ne!(d.detect("Ми всі чекаємо на перемогу").lang, Lang::Kk);
    }

    #[test]
    fn never_panics_on_odd_input() {
        let d = det();
        let long = "қазақ ".repeat(5000);
        let inputs = [
            "\0\0\0",
            "[",
            "[ABC",
            "<>",
            "[]",
            "'''",
            "a'",
            "'a",
            "\u{301}\u{301}á",
            "İİİ ııı",
            "ß",
            "ℌ𝔢𝔩𝔩𝔬 𝕨𝕠𝕣𝕝𝕕",
            "ʼʼ’’",
            "..........kz",
            "x.kz/",
            "🏳️‍🌈🏳️‍🌈",
            "مرحبا بكم في كازاخستان",
            "こんにちは世界",
            "ა ბ გ",
            &long,
        ];
        for t in inputs {
            let g = d.detect(t);
            assert!((0.0..=1.0).contains(&g.confidence), "{t:?}: {g:?}");
        }
    }

    /// The table-free shortcuts answer exactly as std (and the full rules) would, for every
    /// character.
    #[test]
    fn fast_paths_match_std() {
        for u in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(u) else { continue };
            assert_eq!(is_space(c), c.is_whitespace(), "{u:#x}");
            assert_eq!(is_upper(c), c.is_uppercase(), "{u:#x}");
            assert_eq!(is_lower(c), c.is_lowercase(), "{u:#x}");
            if matches!(u, 0x2000..=0x2070 | 0x2189..=0x24B5 | 0x24EA..=0x2BFF | 0xFDFC..=0xFE6F)
                || (0x1F18A..=0x1FFFF).contains(&u)
            {
                assert!(!c.is_alphabetic(), "{u:#x}");
            }
            if matches!(u, 0x61..=0x7A | 0xDF..=0xF6 | 0xF8..=0xFF | 0x0430..=0x045F) {
                assert!(c.is_lowercase(), "{u:#x}");
            }
            let mut b = [0u8; 4];
            assert_eq!(
                decode(c.encode_utf8(&mut b).as_bytes(), 0),
                (c, c.len_utf8())
            );
        }
        for (base, table) in [(0u32, &FEATURES_ASCII), (0x400, &FEATURES_CYR)] {
            for (k, &f) in table.iter().enumerate() {
                let c = char::from_u32(base + k as u32).expect("valid");
                if matches!(c, 'h' | 'c' | 'ы') {
                    continue;
                }
                for prev in [' ', 's', 't', 'z', 'к', 'a', '\''] {
                    assert_eq!(f, features(prev, c), "{c:?} after {prev:?}");
                }
            }
        }
    }

    /// The suffix trie finds exactly the listed proper tails of up to MAX_SUFFIX_CHARS
    /// characters, and the word table exactly the listed words.
    #[test]
    fn tables_match_lists() {
        let d = det();
        let lists = SUFFIX_LISTS;
        let naive = |w: &str| {
            let mut sfx = 0u16;
            for (n, (i, _)) in w.char_indices().rev().enumerate() {
                if n >= MAX_SUFFIX_CHARS || i == 0 {
                    break;
                }
                for (list, bit) in lists {
                    if list.split_whitespace().any(|s| s == &w[i..]) {
                        sfx |= bit;
                    }
                }
            }
            sfx
        };
        let mut words: Vec<String> = [
            super::KK_CYR,
            super::KK_LAT,
            RU_WORDS,
            UK_WORDS,
            EN_WORDS,
            TR_WORDS,
        ]
        .iter()
        .chain(&[DE_WORDS])
        .flat_map(|l| l.split_whitespace())
        .map(str::to_string)
        .collect();
        for (list, _) in lists {
            for s in list.split_whitespace() {
                words.push(s.to_string());
                words.push(format!("ба{s}"));
                words.push(format!("x{s}"));
            }
        }
        words.extend(["", "a", "ың", "қазақстанның", "x'ий", "ığ"].map(String::from));
        for w in &words {
            assert_eq!(d.suffix_bits(w), naive(w), "{w:?}");
            let listed = [
                super::KK_CYR,
                super::KK_LAT,
                RU_WORDS,
                UK_WORDS,
                EN_WORDS,
                TR_WORDS,
                DE_WORDS,
            ]
            .iter()
            .any(|l| l.split_whitespace().any(|x| x == w));
            assert_eq!(d.words.get(w).is_some(), listed, "{w:?}");
        }
    }

    /// A realistic stream: 150–250 character posts, mostly ru and kk, with emoji, tags and links.
    fn stream(n: usize) -> Vec<String> {
        // Weights per class, out of 100: ru 45, kk-cyrl 25, kk-ru 10, kk-latn 4, en 8, other 8.
        let plan: &[(&[&str], u32)] = &[
            (RU, 45),
            (KK_CYR, 25),
            (KK_RU, 10),
            (KK_LAT, 4),
            (EN, 8),
            (UK, 2),
            (TR, 2),
            (DE, 2),
            (ZH, 2),
        ];
        let extras = [
            "",
            " 🔥",
            " #Алматы",
            " https://t.me/news/123",
            " @akimat",
            " 😂😂",
            " [PHONE]",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let mut pick = (rnd() % 100) as u32;
            let mut texts = plan[0].0;
            for (t, w) in plan {
                if pick < *w {
                    texts = t;
                    break;
                }
                pick -= w;
            }
            let mut post = String::new();
            let target = 150 + (rnd() % 100) as usize;
            while post.chars().count() < target {
                post.push_str(texts[(rnd() as usize) % texts.len()]);
                post.push_str(extras[(rnd() as usize) % extras.len()]);
                post.push(' ');
            }
            out.push(post);
        }
        out
    }

    #[test]
    fn timing_report() {
        let d = det();
        let posts = stream(10_000);
        let mean_len = posts.iter().map(|p| p.chars().count()).sum::<usize>() / posts.len();
        // Warm-up so page faults on the preloaded models are not counted.
        for p in posts.iter().take(200) {
            std::hint::black_box(d.detect(p));
        }
        let t0 = Instant::now();
        for p in &posts {
            std::hint::black_box(d.scan(p));
        }
        println!(
            "scan only: {:.2} µs/post",
            t0.elapsed().as_secs_f64() * 1e6 / posts.len() as f64
        );
        let calls_before = LINGUA_CALLS.load(std::sync::atomic::Ordering::Relaxed);
        let start = Instant::now();
        let mut kk = 0;
        for p in &posts {
            if std::hint::black_box(d.detect(p)).lang == Lang::Kk {
                kk += 1;
            }
        }
        let el = start.elapsed();
        let calls = LINGUA_CALLS.load(std::sync::atomic::Ordering::Relaxed) - calls_before;
        println!(
            "timing: {} posts, mean {} chars, {:.2} µs/post, lingua on {} posts ({} kk)",
            posts.len(),
            mean_len,
            el.as_secs_f64() * 1e6 / posts.len() as f64,
            calls,
            kk
        );
    }
}
