//! Duplicate detection for ingest: exact duplicates (dropped) and near-duplicate clusters
//! (copy-paste campaigns across accounts, kept and marked).
//!
//! Both structures are bounded twice: by a time window and by a capacity, evicting oldest
//! first. They store hashes, never texts, so a memory dump of ingest holds no post content.
//! Both are deterministic (fixed seeds, no `RandomState`): replaying the same input from
//! Kafka rebuilds the same clusters, which the design requires of every stage's state.
//!
//! Time is ingest time in unix seconds. A clock that steps backwards is treated as standing
//! still (a high-water mark is kept): nothing is expired early, nothing is resurrected, and
//! entries never get timestamps older than ones already stored, so the FIFO stays ordered.
//!
//! # Near-duplicates: why MinHash with LSH banding, not SimHash
//! The contract is an *estimated Jaccard* threshold (config `near_dup_threshold`, 0.6 by
//! default) over character shingles. MinHash estimates exactly that, with a known error
//! (±sqrt(J(1−J)/64) ≈ 0.06 with 64 functions), and banding turns it into an index lookup.
//! SimHash estimates an angle between weighted feature vectors; on 10–40 word posts one
//! changed word moves many of its 64 bits, so a Hamming radius that catches such variants
//! also merges unrelated posts on the same topic, and its threshold cannot be stated in the
//! configured Jaccard terms.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

// ---------------------------------------------------------------------------------------
// Hashing helpers
// ---------------------------------------------------------------------------------------

/// Hasher for keys that already are uniform hashes (SHA-256 prefixes, band hashes): one
/// multiply spreads them into both the bucket index (low bits) and the tag (high bits).
/// Deterministic on purpose; flooding is not a concern because keys are not chosen by
/// posters directly (exact keys are SHA-256 outputs, band keys MinHash outputs).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(23) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Mix = BuildHasherDefault<MixHasher>;

/// splitmix64 step: a deterministic source of test data.
#[cfg(test)]
const fn splitmix64(state: u64) -> (u64, u64) {
    let next = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = next;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (next, z ^ (z >> 31))
}

/// Finaliser of MurmurHash3: a strong 64-bit bit mixer.
#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    k ^= k >> 33;
    k = k.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    k ^ (k >> 33)
}

/// Whole-window arithmetic that never overflows: is an entry stamped `at` still live at `now`?
#[inline]
fn live(at: i64, now: i64, window: i64) -> bool {
    i128::from(now) - i128::from(at) < i128::from(window)
}

// ---------------------------------------------------------------------------------------
// Exact duplicates
// ---------------------------------------------------------------------------------------

/// 128-bit key: the first 16 bytes of SHA-256 of the caller's key. SHA-256 (not a fast
/// hash) so that nobody can craft a post whose key collides with another's and thereby get
/// that later post dropped as a "duplicate"; at 2^-128 accidental collisions do not occur.
///
/// Computed apart from the filter ([`Key128::of`]) so the hashing can run on the parallel
/// part of a batch and only the lookup stays on the sequential one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key128 {
    hi: u64,
    lo: u64,
}

impl Key128 {
    /// The key of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self::of_parts(&[bytes])
    }

    /// The key of several byte strings joined by a zero byte (so that ("ab","c") ≠ ("a","bc")
    /// for texts without zero bytes, which normalised post texts never contain).
    pub fn of_parts(parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                h.update([0u8]);
            }
            h.update(p);
        }
        let d = h.finalize();
        let mut hi = [0u8; 8];
        let mut lo = [0u8; 8];
        hi.copy_from_slice(&d[..8]);
        lo.copy_from_slice(&d[8..16]);
        Key128 {
            hi: u64::from_le_bytes(hi),
            lo: u64::from_le_bytes(lo),
        }
    }
}

/// The stored `first` value. Post keys are 32 lowercase hex characters, which pack into 16
/// bytes with no heap allocation; anything else is kept as given.
#[derive(Clone)]
enum First {
    Hex([u64; 2]),
    Text(Box<str>),
}

impl First {
    fn new(s: &str) -> Self {
        let b = s.as_bytes();
        let lower_hex = |c: &u8| c.is_ascii_digit() || (b'a'..=b'f').contains(c);
        if b.len() == 32 && b.iter().all(lower_hex) {
            let hi = u64::from_str_radix(&s[..16], 16);
            let lo = u64::from_str_radix(&s[16..], 16);
            if let (Ok(hi), Ok(lo)) = (hi, lo) {
                return First::Hex([hi, lo]);
            }
        }
        First::Text(s.into())
    }

    fn text(&self) -> String {
        match self {
            First::Hex([hi, lo]) => format!("{hi:016x}{lo:016x}"),
            First::Text(s) => s.to_string(),
        }
    }
}

/// Exact duplicates within a bounded time window with bounded memory.
///
/// Memory per entry (64-bit): map slot 16 B key + 24 B value + 1 control byte at a load
/// factor of 44–87 % (47–93 B), plus 24 B in the FIFO (up to 48 B with `VecDeque` growth
/// slack); `first` is inline for 32-hex post keys, otherwise one extra heap string.
/// About 70–140 B per entry: 1 000 000 entries take roughly 70–140 MB.
///
/// The window runs from a key's first occurrence: repeats do not extend it, so a post
/// repeated forever is let through once per window, each time naming a new first occurrence.
pub struct ExactDedup {
    window: i64,
    capacity: usize,
    /// High-water mark of `now`.
    clock: i64,
    /// Key → first occurrence. Holds exactly the keys in `order`.
    map: HashMap<Key128, First, Mix>,
    /// Keys in insertion order with their (non-decreasing) timestamps.
    order: VecDeque<(Key128, i64)>,
}

impl ExactDedup {
    /// A filter remembering keys for `window_secs` seconds, at most `capacity` of them
    /// (a non-positive window or zero capacity remembers nothing).
    pub fn new(window_secs: i64, capacity: usize) -> Self {
        ExactDedup {
            window: window_secs,
            capacity,
            clock: i64::MIN,
            map: HashMap::default(),
            order: VecDeque::new(),
        }
    }

    /// If `key` was seen within the window, returns the `first` value stored with it (the first
    /// occurrence's post_key); otherwise remembers (key → first) and returns None.
    pub fn check(&mut self, key: &[u8], first: &str, now: i64) -> Option<String> {
        self.check_key(Key128::of(key), first, now)
    }

    /// [`check`](Self::check) with the key already hashed.
    pub fn check_key(&mut self, k: Key128, first: &str, now: i64) -> Option<String> {
        if self.capacity == 0 || self.window <= 0 {
            return None;
        }
        self.clock = self.clock.max(now);
        let now = self.clock;
        while let Some(&(old, at)) = self.order.front() {
            if live(at, now, self.window) {
                break;
            }
            self.order.pop_front();
            self.map.remove(&old);
        }
        if let Some(f) = self.map.get(&k) {
            return Some(f.text());
        }
        while self.map.len() >= self.capacity {
            let Some((old, _)) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
        }
        self.map.insert(k, First::new(first));
        self.order.push_back((k, now));
        None
    }

    /// Number of keys remembered.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

// ---------------------------------------------------------------------------------------
// Near duplicates
// ---------------------------------------------------------------------------------------

/// Number of MinHash values (one-permutation bins). 64 keeps the estimate's standard error
/// near 0.06 at J = 0.6.
const K: usize = 64;
/// Characters per shingle: 5-grams separate topic-sharing posts from copies in both
/// Cyrillic and Latin while tolerating one changed word in a 15-word post.
const SHINGLE: usize = 5;
/// Least probability that a pair exactly at the threshold shares a band; the rows per band
/// are the most that still reach it (more rows = fewer false candidates to verify).
const BAND_RECALL: f64 = 0.85;

/// Seed of the densification probe sequence.
const DENSIFY_SEED: u64 = 0xD3E5_1F1C_A7E0_0B1D;

/// Seed that separates the band keys of different bands.
const BAND_SEED: u64 = 0x0B5E_55ED_BA4D_5EED;

/// One remembered post: 8 + 4 + 128 B = 140 B, 144 B aligned.
struct Entry {
    at: i64,
    cluster: u32,
    /// The 64 16-bit MinHash values.
    sig: [u16; K],
}

/// A near-duplicate cluster while any of its members is remembered.
struct Cluster {
    id: Box<str>,
    seen: u32,
    live: u32,
}

/// The cluster a post was assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearDup {
    /// Cluster id: "c-" and the first 12 characters of the first member's post_key.
    pub cluster: String,
    /// Members seen so far, this post included.
    pub seen: u32,
}

/// The MinHash signature of one text, computed independently of any index state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sketch {
    /// `None` when nothing is left to compare after normalisation.
    sig: Option<[u16; K]>,
}

impl Sketch {
    /// Normalises and shingles `text` and computes its signature.
    pub fn of(text: &str) -> Sketch {
        thread_local! {
            // Sketches are computed on the ingest worker threads; one buffer each, reused.
            static NORM: std::cell::RefCell<Vec<char>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        NORM.with_borrow_mut(|norm| {
            normalise(text, norm);
            Sketch {
                sig: (!norm.is_empty()).then(|| signature(norm)),
            }
        })
    }
}

/// Near-duplicate clustering (copy-paste campaigns across accounts) with MinHash and LSH banding.
///
/// Features: character 5-gram shingles of a normalised text (lowercase, ё→е, letters and
/// digits only, whitespace collapsed; URLs, @handles, hashtags and placeholders such as
/// `[USER]` dropped, because campaigns vary exactly those). Each shingle is hashed once into
/// one of 64 bins (one-permutation hashing); the 64 bin minima are the signature. Bands of `r` rows index the
/// signature: a bucket maps to the newest entry with that band, and each candidate is
/// verified on the full signature (matches / 64 ≥ threshold). The best match's cluster wins.
///
/// Memory per entry (at threshold 0.6: 16 bands of 4 rows): 144 B signature entry (up to
/// 288 B with `VecDeque` growth slack) + 16 bucket slots of 8 B + 1 control byte at a load
/// of 44–87 % (165–330 B) + at most one cluster record (~60 B with its id). About
/// 0.4–0.7 KB per entry: 200 000 entries take roughly 80–140 MB.
///
/// Identical copies arriving while an identical member is younger than an eighth of the
/// window only increment `seen`: a flood of one text cannot push other posts out of the
/// index, yet the cluster stays remembered for as long as the flood lasts.
pub struct NearDupIndex {
    min_matches: usize,
    rows: usize,
    bands: usize,
    capacity: usize,
    window: i64,
    clock: i64,
    /// Remembered posts, oldest first; `entries[i]` has sequence number `front_seq + i`.
    entries: VecDeque<Entry>,
    front_seq: u64,
    /// Band key → low 32 bits of the sequence number of the newest entry with that band.
    buckets: HashMap<u32, u32, Mix>,
    clusters: HashMap<u32, Cluster, Mix>,
    next_cluster: u32,
}

impl NearDupIndex {
    /// An index clustering posts whose estimated Jaccard similarity is at least `threshold`,
    /// remembering at most `capacity` posts for `window_secs` seconds.
    pub fn new(threshold: f64, capacity: usize, window_secs: i64) -> Self {
        let t = if threshold.is_nan() {
            1.0
        } else {
            threshold.clamp(0.0, 1.0)
        };
        let min_matches = ((t * K as f64) - 1e-9).ceil().max(0.0) as usize;
        // Most rows per band such that a pair at the threshold still collides in some band
        // with probability ≥ BAND_RECALL.
        let rows = (1..=8usize)
            .rev()
            .find(|&r| {
                let b = (K / r) as i32;
                1.0 - (1.0 - t.powi(r as i32)).powi(b) >= BAND_RECALL
            })
            .unwrap_or(1);
        NearDupIndex {
            min_matches,
            rows,
            bands: K / rows,
            // Sequence numbers are kept in 32 bits in the buckets.
            capacity: capacity.min(u32::MAX as usize / 2),
            window: window_secs,
            clock: i64::MIN,
            entries: VecDeque::new(),
            front_seq: 0,
            buckets: HashMap::default(),
            clusters: HashMap::default(),
            next_cluster: 0,
        }
    }

    /// Assigns the post to the cluster of a similar earlier post (estimated Jaccard ≥ threshold)
    /// or starts a new cluster whose id is "c-" + first 12 chars of this post_key.
    pub fn assign(&mut self, text: &str, post_key: &str, now: i64) -> NearDup {
        let sketch = Sketch::of(text);
        self.assign_sketch(&sketch, post_key, now)
    }

    /// [`assign`](Self::assign) for a sketch computed earlier, possibly on another thread:
    /// the expensive part (shingling and hashing) is then off the sequential path.
    pub fn assign_sketch(&mut self, sketch: &Sketch, post_key: &str, now: i64) -> NearDup {
        self.clock = self.clock.max(now);
        let now = self.clock;
        self.expire(now);

        let (Some(sig), true) = (sketch.sig, self.capacity > 0 && self.window > 0) else {
            // Nothing to compare (or nothing may be remembered): a cluster of its own.
            return NearDup {
                cluster: cluster_id(post_key),
                seen: 1,
            };
        };
        let mut keys = [0u32; K];
        for (b, key) in keys.iter_mut().enumerate().take(self.bands) {
            *key = band_key(&sig, b, self.rows);
        }
        let keys = &keys[..self.bands];

        let best = self.best_match(&sig, keys);
        let (cluster_no, insert) = match best {
            Some((idx, matches)) => {
                let e = &self.entries[idx];
                let fresh = i128::from(now) - i128::from(e.at) < i128::from(self.window / 8);
                (e.cluster, !(matches == K && fresh))
            }
            None => {
                let mut n = self.next_cluster;
                while self.clusters.contains_key(&n) {
                    n = n.wrapping_add(1);
                }
                self.next_cluster = n.wrapping_add(1);
                let id = cluster_id(post_key).into_boxed_str();
                self.clusters.insert(
                    n,
                    Cluster {
                        id,
                        seen: 0,
                        live: 0,
                    },
                );
                (n, true)
            }
        };
        // Count the member before evicting anything, so that evicting the oldest entry
        // cannot drop the very cluster this post joins.
        let c = self
            .clusters
            .get_mut(&cluster_no)
            .expect("cluster exists: matched or created above");
        c.seen = c.seen.saturating_add(1);
        if insert {
            c.live += 1;
        }
        let result = NearDup {
            cluster: c.id.to_string(),
            seen: c.seen,
        };
        if insert {
            if self.entries.len() >= self.capacity {
                self.evict_front();
            }
            let seq = self.front_seq + self.entries.len() as u64;
            self.entries.push_back(Entry {
                at: now,
                cluster: cluster_no,
                sig,
            });
            for &k in keys {
                self.buckets.insert(k, seq as u32);
            }
        }
        result
    }

    /// Number of posts remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no post is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry most similar to `sig` among band candidates, if at the threshold.
    fn best_match(&self, sig: &[u16; K], keys: &[u32]) -> Option<(usize, usize)> {
        let mut seen_idx = [usize::MAX; K];
        let mut best: Option<(usize, usize)> = None;
        for (slot, k) in keys.iter().enumerate() {
            let Some(&seq) = self.buckets.get(k) else {
                continue;
            };
            let idx = seq.wrapping_sub(self.front_seq as u32) as usize;
            if idx >= self.entries.len() || seen_idx[..slot].contains(&idx) {
                continue;
            }
            seen_idx[slot] = idx;
            let other = &self.entries[idx].sig;
            let matches = sig.iter().zip(other.iter()).filter(|(a, b)| a == b).count();
            let better = match best {
                None => true,
                Some((bi, bm)) => matches > bm || (matches == bm && idx > bi),
            };
            if matches >= self.min_matches && better {
                best = Some((idx, matches));
            }
        }
        best
    }

    fn expire(&mut self, now: i64) {
        while self
            .entries
            .front()
            .is_some_and(|e| !live(e.at, now, self.window))
        {
            self.evict_front();
        }
    }

    fn evict_front(&mut self) {
        let Some(e) = self.entries.pop_front() else {
            return;
        };
        let seq = self.front_seq as u32;
        self.front_seq += 1;
        for b in 0..self.bands {
            let k = band_key(&e.sig, b, self.rows);
            // Only if no newer entry took the bucket over.
            if self.buckets.get(&k) == Some(&seq) {
                self.buckets.remove(&k);
            }
        }
        if let Some(c) = self.clusters.get_mut(&e.cluster) {
            c.live = c.live.saturating_sub(1);
            if c.live == 0 {
                self.clusters.remove(&e.cluster);
            }
        }
    }
}

/// "c-" and the first 12 characters of a post key.
fn cluster_id(post_key: &str) -> String {
    let mut id = String::with_capacity(14);
    id.push_str("c-");
    id.extend(post_key.chars().take(12));
    id
}

/// Key of band `b`: its `rows` signature values hashed with the band number, in 32 bits.
/// A false 32-bit collision only adds a candidate that the full-signature check rejects.
#[inline]
fn band_key(sig: &[u16; K], b: usize, rows: usize) -> u32 {
    let mut h = BAND_SEED ^ (b as u64);
    for &v in &sig[b * rows..(b + 1) * rows] {
        h = (h ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
    }
    (fmix64(h) >> 32) as u32
}

/// One-permutation hashing with optimal densification (Li, Owen and Zhang 2012;
/// Shrivastava 2017): each shingle is hashed once; the top 6 bits of the hash pick one of the
/// K = 64 bins and bits 32–47 are the value whose minimum the bin keeps. An empty bin (short
/// posts have few shingles) takes the value of a bin found by a probe sequence seeded by the
/// empty bin's own index, so two texts with the same shingles fill it the same way. The
/// result estimates Jaccard similarity like 64 independent MinHash functions, at one hash per
/// shingle instead of 32 multiplies.
fn signature(chars: &[char]) -> [u16; K] {
    const _: () = assert!(
        K == 64,
        "bins are chosen by the top 6 bits of a 64-bit hash"
    );
    let mut mins = [u16::MAX; K];
    let mut filled = 0u64;
    let mut add = |h: u64| {
        let bin = (h >> 58) as usize;
        mins[bin] = mins[bin].min((h >> 32) as u16);
        filled |= 1 << bin;
    };
    if chars.len() < SHINGLE {
        add(shingle_hash(chars));
    } else {
        for w in chars.windows(SHINGLE) {
            add(shingle_hash(w));
        }
    }
    let original = mins;
    for (i, slot) in mins.iter_mut().enumerate() {
        if filled & (1 << i) != 0 {
            continue;
        }
        // At least one bin is filled, so the probe ends; the bound only guards the impossible.
        let mut probe = fmix64(DENSIFY_SEED ^ i as u64);
        for _ in 0..4096 {
            let j = (probe >> 58) as usize;
            if filled & (1 << j) != 0 {
                *slot = original[j];
                break;
            }
            probe = fmix64(probe ^ DENSIFY_SEED);
        }
    }
    mins
}

/// One 64-bit hash per shingle: the code points are packed losslessly (21 bits each) into
/// two words, which are then mixed.
#[inline]
fn shingle_hash(w: &[char]) -> u64 {
    let mut a = w.len() as u64;
    let mut b = 0u64;
    for (i, &c) in w.iter().enumerate() {
        if i < 3 {
            a = (a << 21) | u64::from(c);
        } else {
            b = (b << 21) | u64::from(c);
        }
    }
    fmix64(a ^ fmix64(b ^ 0x243F_6A88_85A3_08D3))
}

/// Normalises `text` into `out` (cleared first): see [`NearDupIndex`] for the rules. A text
/// made only of hashtags keeps their words, so that it still has features.
fn normalise(text: &str, out: &mut Vec<char>) {
    normalise_with(text, out, false);
    if out.is_empty() && text.contains('#') {
        normalise_with(text, out, true);
    }
}

fn normalise_with(text: &str, out: &mut Vec<char>, keep_hashtags: bool) {
    out.clear();
    for token in text.split_whitespace() {
        if token.starts_with('@') || is_url(token) || (token.starts_with('#') && !keep_hashtags) {
            continue;
        }
        // A new token is always a word break.
        let mut gap = true;
        let mut skip_to = 0;
        for (i, c) in token.char_indices() {
            if i < skip_to {
                continue;
            }
            if c == '[' {
                if let Some(len) = placeholder_len(&token[i..]) {
                    skip_to = i + len;
                    gap = true;
                    continue;
                }
            }
            let Some(lower) = fold(c) else {
                gap = true;
                continue;
            };
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            match lower {
                Folded::One(l) => out.push(l),
                Folded::Many(c) => out.extend(c.to_lowercase()),
            }
        }
    }
}

/// A letter or digit in lower case.
enum Folded {
    One(char),
    /// Lower-cases to several characters (rare; handled by the standard library).
    Many(char),
}

/// Lower-cases a letter or digit (ё as е, which Russian writers use interchangeably), or
/// `None` for anything else. ASCII and Cyrillic (Kazakh letters included) take a table-free
/// path: the general Unicode tables cost more than the rest of the normalisation.
#[inline]
fn fold(c: char) -> Option<Folded> {
    let u = c as u32;
    if u < 0x80 {
        return c
            .is_ascii_alphanumeric()
            .then(|| Folded::One(c.to_ascii_lowercase()));
    }
    if (0x0400..=0x04FF).contains(&u) {
        let l = match u {
            0x0401 | 0x0451 => 0x0435, // Ё ё → е
            0x0400..=0x040F => u + 0x50,
            0x0410..=0x042F => u + 0x20,
            0x0430..=0x045F => u,
            0x0482..=0x0489 => return None, // thousands sign, combining marks
            0x04C0 => 0x04CF,
            0x04C1..=0x04CE => u + (u & 1),
            _ => u | 1, // paired upper (even) / lower (odd) letters, Kazakh ones included
        };
        return char::from_u32(l).map(Folded::One);
    }
    if !c.is_alphanumeric() {
        return None;
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => Some(Folded::One(l)),
        _ => Some(Folded::Many(c)),
    }
}

/// Byte length of a redaction placeholder (`[` ASCII capitals `]`) at the start of `s`.
fn placeholder_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let n = b[1..].iter().take_while(|c| c.is_ascii_uppercase()).count();
    (n > 0 && b.get(1 + n) == Some(&b']')).then_some(n + 2)
}

/// Whether a whitespace-separated token is a link.
fn is_url(token: &str) -> bool {
    // Every form below has a '.' or a ':'; most words have neither and stop here.
    if !token.bytes().any(|b| b == b'.' || b == b':') {
        return false;
    }
    let t = token.trim_start_matches(|c: char| !c.is_alphanumeric());
    let starts =
        |p: &str| t.len() >= p.len() && t.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
    token.contains("://") || starts("www.") || starts("t.me/")
}

#[cfg(test)]
mod tests {
    use super::*;

    // ----- exact -------------------------------------------------------------------------

    #[test]
    fn exact_returns_first_occurrence_within_window() {
        let mut d = ExactDedup::new(100, 10);
        assert!(d.is_empty());
        assert_eq!(d.check(b"k", "p1", 1000), None);
        assert_eq!(d.check(b"k", "p2", 1050), Some("p1".into()));
        assert_eq!(d.check(b"k", "p3", 1099), Some("p1".into()));
        assert_eq!(d.check(b"other", "p4", 1099), None);
        assert_eq!(d.len(), 2);
    }

    #[test]
    fn exact_window_expiry() {
        let mut d = ExactDedup::new(100, 10);
        assert_eq!(d.check(b"k", "p1", 1000), None);
        // Age 100 is outside a 100-second window: the key is forgotten and re-learnt.
        assert_eq!(d.check(b"k", "p2", 1100), None);
        assert_eq!(d.check(b"k", "p3", 1101), Some("p2".into()));
        // Everything expires once time moves far enough.
        assert_eq!(d.check(b"x", "p4", 5000), None);
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn exact_capacity_evicts_oldest_first() {
        let mut d = ExactDedup::new(1_000_000, 3);
        for (i, k) in ["a", "b", "c", "d"].iter().enumerate() {
            assert_eq!(d.check(k.as_bytes(), k, i as i64), None);
        }
        assert_eq!(d.len(), 3);
        assert_eq!(d.check(b"b", "x", 10), Some("b".into()));
        assert_eq!(d.check(b"d", "x", 10), Some("d".into()));
        // "a" was evicted; it is remembered again (evicting "b").
        assert_eq!(d.check(b"a", "a2", 10), None);
        assert_eq!(d.check(b"b", "b2", 10), None);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn exact_clock_going_backwards() {
        let mut d = ExactDedup::new(100, 10);
        assert_eq!(d.check(b"k", "p1", 1000), None);
        // A step back neither expires nor resurrects anything…
        assert_eq!(d.check(b"k", "p2", 10), Some("p1".into()));
        assert_eq!(d.check(b"j", "q1", 500), None);
        // …and entries learnt meanwhile are stamped with the high-water mark (1000).
        assert_eq!(d.check(b"j", "q2", 1099), Some("q1".into()));
        assert_eq!(d.check(b"k", "p3", 1100), None);
        // Extreme clocks do not overflow.
        let mut e = ExactDedup::new(i64::MAX, 4);
        assert_eq!(e.check(b"k", "p", i64::MIN), None);
        assert_eq!(e.check(b"k", "p", i64::MAX), None);
        assert_eq!(e.check(b"k", "p", 0), Some("p".into()));
    }

    #[test]
    fn exact_degenerate_configs_remember_nothing() {
        let mut d = ExactDedup::new(100, 0);
        assert_eq!(d.check(b"k", "p", 1), None);
        assert_eq!(d.check(b"k", "p", 1), None);
        let mut d = ExactDedup::new(0, 10);
        assert_eq!(d.check(b"k", "p", 1), None);
        assert_eq!(d.check(b"k", "p", 1), None);
        assert!(d.is_empty());
    }

    #[test]
    fn exact_first_round_trips() {
        let mut d = ExactDedup::new(100, 10);
        let hex = "0123456789abcdef00ff00ff00ff00ff";
        for first in [
            hex,
            "0123456789ABCDEF00FF00FF00FF00FF",
            "tg:123",
            "",
            "пост-1",
        ] {
            assert_eq!(d.check(first.as_bytes(), first, 1), None);
            assert_eq!(
                d.check(first.as_bytes(), "later", 2),
                Some(first.to_string())
            );
        }
    }

    #[test]
    fn exact_memory_bound_after_one_million_inserts() {
        let cap = 50_000;
        let mut d = ExactDedup::new(i64::MAX, cap);
        let mut max_len = 0;
        for i in 0u64..1_000_000 {
            let key = i.to_le_bytes();
            assert_eq!(
                d.check(&key, "0123456789abcdef0123456789abcdef", (i / 1000) as i64),
                None
            );
            max_len = max_len.max(d.len());
        }
        assert!(max_len <= cap, "{max_len}");
        assert_eq!(d.len(), cap);
        assert_eq!(d.order.len(), cap);
        // The newest keys are still there, the oldest are gone.
        assert!(d.check(&999_999u64.to_le_bytes(), "x", 1000).is_some());
        assert!(d.check(&0u64.to_le_bytes(), "x", 1000).is_none());
    }

    // ----- near-duplicates ---------------------------------------------------------------

    fn index() -> NearDupIndex {
        NearDupIndex::new(0.6, 10_000, 3 * 24 * 3600)
    }

    /// Exact Jaccard of the 5-gram shingle sets of two texts (after normalisation).
    fn true_jaccard(a: &str, b: &str) -> f64 {
        use std::collections::HashSet;
        let set = |t: &str| {
            let mut v = Vec::new();
            normalise(t, &mut v);
            v.windows(SHINGLE)
                .map(|w| w.iter().collect::<String>())
                .collect::<HashSet<_>>()
        };
        let (x, y) = (set(a), set(b));
        x.intersection(&y).count() as f64 / x.union(&y).count().max(1) as f64
    }

    fn estimated_jaccard(a: &str, b: &str) -> f64 {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        normalise(a, &mut x);
        normalise(b, &mut y);
        let (sa, sb) = (signature(&x), signature(&y));
        sa.iter().zip(sb.iter()).filter(|(p, q)| p == q).count() as f64 / K as f64
    }

    const BASES: [&str; 6] = [
        "Алматыда газ бағасы тағы да көтерілді, әкімдік халыққа ешқандай түсінік бермей отыр, \
         біз бұған қашанғы шыдаймыз?",
        "Ауылымызда үш айдан бері ауыз су жоқ, балалар ауырып жатыр, әкім телефон көтермейді, \
         көмектесіңіздер!",
        "В Шымкенте опять отключили свет на всю ночь, акимат молчит, а тарифы поднимают каждый \
         квартал. Доколе?",
        "Срочно! Завтра на площади Республики собираются провокаторы, не выходите из дома и \
         перешлите всем знакомым.",
        "Residents of Aktobe say the new bridge was built with cheap materials and is already \
         cracking after one winter.",
        "Qazaqstan jastary shetelge ketip jatyr, sebebi jumys joq jane jalaqy tym tomen dep \
         jazady oqyrmandarymyz.",
    ];

    /// Copy-paste variants of a text: emoji, hashtag, mention, URL, case, punctuation, and
    /// one word changed.
    fn variants(base: &str) -> Vec<String> {
        let words: Vec<&str> = base.split(' ').collect();
        let mut one_changed = words.clone();
        let mid = words.len() / 2;
        one_changed[mid] = "ЖАҢАЛЫҚ";
        vec![
            format!("{base} 🔥🔥🔥"),
            format!("{base} #срочно #Qazaqstan"),
            format!("[USER] {base}"),
            format!("@someone_kz {base} https://t.me/channel/123"),
            base.to_uppercase(),
            base.replace([',', '.', '!', '?'], "").replace(' ', "  "),
            format!("👉 {} !!!", base.replace(',', " ,")),
            one_changed.join(" "),
        ]
    }

    #[test]
    fn normalisation_drops_noise() {
        let mut v = Vec::new();
        normalise(
            "[USER] Ёлка, ЁЖИК!!! 😀 #тег https://x.kz/a?b=1 www.site.kz @nurlan  Привет[PHONE]мир",
            &mut v,
        );
        assert_eq!(v.iter().collect::<String>(), "елка ежик привет мир");
        normalise("#тек #хэштег", &mut v);
        assert_eq!(v.iter().collect::<String>(), "тек хэштег");
        normalise("😀 !!! [USER]", &mut v);
        assert!(v.is_empty());
        normalise("[not placeholder] a[", &mut v);
        assert_eq!(v.iter().collect::<String>(), "not placeholder a");
    }

    #[test]
    fn estimate_tracks_true_jaccard() {
        // Over many pairs with a wide range of overlaps, the estimate stays within a few
        // standard errors of the exact Jaccard (σ ≤ 0.0625 with 64 functions).
        let mut worst: f64 = 0.0;
        let mut sum_err = 0.0;
        let mut n = 0.0;
        for (i, a) in BASES.iter().enumerate() {
            for b in BASES.iter().skip(i) {
                for v in variants(b) {
                    let t = true_jaccard(a, &v);
                    let e = estimated_jaccard(a, &v);
                    worst = worst.max((t - e).abs());
                    sum_err += e - t;
                    n += 1.0;
                }
            }
        }
        assert!(worst < 0.25, "worst error {worst}");
        assert!((sum_err / n).abs() < 0.03, "bias {}", sum_err / n);

        // Pairs from the feed with the tail replaced, spanning J from ~0 to 1: the error's
        // spread matches MinHash theory (σ = sqrt(J(1−J)/64) ≤ 0.0625).
        let posts = feed(400);
        let (mut sq, mut bias, mut m) = (0.0, 0.0, 0.0);
        for (i, p) in posts.iter().enumerate() {
            let words: Vec<&str> = p.split(' ').collect();
            let keep = words.len() * (i % 10) / 10;
            let other: Vec<&str> = posts[(i + 1) % posts.len()].split(' ').collect();
            let q = [&words[..keep], &other[keep.min(other.len())..]]
                .concat()
                .join(" ");
            let (t, e) = (true_jaccard(p, &q), estimated_jaccard(p, &q));
            sq += (e - t) * (e - t);
            bias += e - t;
            m += 1.0;
        }
        let rms = (sq / m).sqrt();
        println!(
            "MinHash estimate over {m} pairs: rms error {rms:.4}, bias {:.4}",
            bias / m
        );
        assert!(rms < 0.06, "rms {rms}");
        assert!((bias / m).abs() < 0.02, "bias {}", bias / m);
    }

    #[test]
    fn variants_cluster_with_their_original() {
        let mut idx = index();
        let mut clusters = Vec::new();
        for (i, base) in BASES.iter().enumerate() {
            let key = format!("{i:02}aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
            let first = idx.assign(base, &key, 1000 + i as i64);
            assert_eq!(
                first,
                NearDup {
                    cluster: format!("c-{}", &key[..12]),
                    seen: 1
                }
            );
            clusters.push(first.cluster);
        }
        for (i, base) in BASES.iter().enumerate() {
            for (j, v) in variants(base).iter().enumerate() {
                let got = idx.assign(v, &format!("v{i}{j}"), 2000);
                assert_eq!(
                    got.cluster,
                    clusters[i],
                    "variant {j} of base {i} (J={:.2}, est {:.2}): {v}",
                    true_jaccard(base, v),
                    estimated_jaccard(base, v)
                );
                assert_eq!(
                    got.seen,
                    j as u32 + 2,
                    "seen counts members including this one"
                );
            }
        }
    }

    #[test]
    fn unrelated_posts_on_the_same_topic_do_not_cluster() {
        let same_topic = [
            "Алматыда газ бағасы тағы да көтерілді, әкімдік халыққа ешқандай түсінік бермей отыр.",
            "Газ бағасының өсуіне байланысты Алматы тұрғындары әкімдікке ұжымдық хат жазды.",
            "Алматы облысында газ тапшылығы: ауыл тұрғындары қыста жылусыз қалуы мүмкін.",
            "В Алматы снова подорожал газ, акимат никак не объясняет повышение цен жителям.",
            "Цены на газ в Алматы выросли на 15 процентов, жители требуют объяснений от акимата.",
            "Газ в Алматинской области подорожал, но акимат обещает субсидии малоимущим семьям.",
            "Gas prices in Almaty went up again and the akimat gives residents no explanation.",
            "Almaty residents wrote a collective letter to the akimat about rising gas prices.",
            "Almatyda gaz bagasy tagy da koterildi, akimdik halykka eshkandai tusinik bermei otyr.",
        ];
        let mut idx = index();
        let mut ids = std::collections::HashSet::new();
        for (i, t) in same_topic.iter().enumerate() {
            let got = idx.assign(t, &format!("key{i:02}-topic"), 100);
            assert_eq!(got.seen, 1, "{t}");
            ids.insert(got.cluster);
        }
        assert_eq!(ids.len(), same_topic.len());
        for (i, a) in same_topic.iter().enumerate() {
            for b in &same_topic[i + 1..] {
                assert!(true_jaccard(a, b) < 0.3, "{a} / {b}");
            }
        }
    }

    #[test]
    fn campaign_across_accounts_counts_seen() {
        let mut idx = index();
        let base = BASES[3];
        let mut last = None;
        for n in 0..50u32 {
            let text = match n % 4 {
                0 => base.to_string(),
                1 => format!("{base} 🙏"),
                2 => format!("[USER] {base} #Астана"),
                _ => base.to_lowercase(),
            };
            let got = idx.assign(&text, &format!("{n:032x}"), 10_000 + i64::from(n));
            assert_eq!(got.seen, n + 1);
            assert_eq!(got.cluster, format!("c-{}", &format!("{:032x}", 0)[..12]));
            last = Some(got);
        }
        assert_eq!(last.map(|l| l.seen), Some(50));
        // Identical copies in quick succession do not each take an entry.
        assert!(idx.len() < 50, "{}", idx.len());
    }

    #[test]
    fn near_dup_window_expiry_and_capacity() {
        let mut idx = NearDupIndex::new(0.6, 3, 100);
        let a = idx.assign(BASES[0], "aaaaaaaaaaaaaaaa", 1000);
        assert_eq!(
            idx.assign(BASES[0], "bbbbbbbbbbbbbbbb", 1099).cluster,
            a.cluster
        );
        // 100 s after the last member the cluster is gone: a new one starts.
        let c = idx.assign(BASES[0], "cccccccccccccccc", 1199);
        assert_eq!((c.cluster.as_str(), c.seen), ("c-cccccccccccc", 1));
        // Capacity 3: three new posts push the cluster's only member out.
        for (i, b) in BASES[1..4].iter().enumerate() {
            idx.assign(b, &format!("k{i}"), 1200);
        }
        assert_eq!(idx.len(), 3);
        let d = idx.assign(BASES[0], "dddddddddddddddd", 1200);
        assert_eq!((d.cluster.as_str(), d.seen), ("c-dddddddddddd", 1));
        assert_eq!(
            idx.clusters.len(),
            3,
            "clusters without members are dropped"
        );
    }

    #[test]
    fn near_dup_clock_going_backwards() {
        let mut idx = NearDupIndex::new(0.6, 100, 100);
        let a = idx.assign(BASES[1], "aaaaaaaaaaaaaaaa", 1000);
        let b = idx.assign(BASES[1], "bbbbbbbbbbbbbbbb", 10);
        assert_eq!((b.cluster, b.seen), (a.cluster, 2));
        let c = idx.assign(BASES[1], "cccccccccccccccc", i64::MIN);
        assert_eq!(c.seen, 3);
        let _ = idx.assign(BASES[1], "d", i64::MAX);
        let _ = idx.assign(BASES[1], "e", i64::MIN);
    }

    #[test]
    fn near_dup_degenerate_inputs() {
        let mut idx = index();
        for t in ["", "   ", "😀😀", "[USER] [PHONE]", "!!!", "a", "аб"] {
            let got = idx.assign(t, "keykeykeykeykey", 1);
            assert_eq!(got.cluster, "c-keykeykeykey");
        }
        // Short texts still cluster when identical.
        let x = idx.assign("ok", "x1", 2);
        let y = idx.assign("OK!", "y1", 2);
        assert_eq!((y.cluster, y.seen), (x.cluster, 2));
        // Non-ASCII post keys: 12 characters, not bytes.
        let z = NearDupIndex::new(0.6, 10, 10).assign("текст", "ключ-поста-номер-1", 0);
        assert_eq!(z.cluster, "c-ключ-поста-н");
        // Odd configurations do not panic.
        for (t, cap, w) in [
            (f64::NAN, 10, 10),
            (0.0, 10, 10),
            (1.0, 10, 10),
            (0.6, 0, 10),
            (0.6, 10, 0),
        ] {
            let mut i = NearDupIndex::new(t, cap, w);
            i.assign(BASES[0], "a", 1);
            i.assign(BASES[0], "b", 1);
            i.assign(BASES[1], "c", 1);
        }
    }

    #[test]
    fn deterministic_across_instances() {
        let posts = feed(2000);
        let run = || {
            let mut idx = index();
            posts
                .iter()
                .enumerate()
                .map(|(i, p)| idx.assign(p, &format!("{i:032x}"), i as i64))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn near_dup_memory_bound() {
        let posts = feed(5000);
        let mut idx = NearDupIndex::new(0.6, 1000, i64::MAX);
        for (i, p) in posts.iter().enumerate() {
            idx.assign(p, &format!("{i:032x}"), i as i64);
            assert!(idx.len() <= 1000);
        }
        assert!(idx.buckets.len() <= 1000 * idx.bands);
        assert!(idx.clusters.len() <= 1000);
    }

    /// Prints the mean cost of assign() over a realistic feed (not an assertion: timing
    /// depends on the machine; the target is under 15 µs in release mode).
    #[test]
    fn timing_assign_and_check() {
        let posts = feed(10_000);
        let mut idx = NearDupIndex::new(0.6, 200_000, 3 * 24 * 3600);
        let t0 = std::time::Instant::now();
        let mut multi = 0;
        for (i, p) in posts.iter().enumerate() {
            let got = idx.assign(
                std::hint::black_box(p),
                &format!("{i:032x}"),
                1_700_000_000 + i as i64,
            );
            if got.seen > 1 {
                multi += 1;
            }
        }
        let dt = t0.elapsed();
        let mean_len = posts.iter().map(|p| p.chars().count()).sum::<usize>() / posts.len();
        println!(
            "assign(): {:.2} µs/call mean over {} posts of {mean_len} chars; {multi} joined a cluster, \
             {} entries, {} clusters, {} buckets (r={}, b={})",
            dt.as_secs_f64() * 1e6 / posts.len() as f64,
            posts.len(),
            idx.len(),
            idx.clusters.len(),
            idx.buckets.len(),
            idx.rows,
            idx.bands
        );
        let mut buf = Vec::new();
        let t0 = std::time::Instant::now();
        let mut acc = 0u16;
        for p in &posts {
            normalise(std::hint::black_box(p), &mut buf);
            acc ^= signature(&buf)[0];
        }
        println!(
            "  of which normalise + signature: {:.2} µs/call ({acc})",
            t0.elapsed().as_secs_f64() * 1e6 / posts.len() as f64
        );
        let t0 = std::time::Instant::now();
        for p in &posts {
            normalise(std::hint::black_box(p), &mut buf);
            acc ^= buf.len() as u16;
        }
        println!(
            "  of which normalise: {:.2} µs/call ({acc})",
            t0.elapsed().as_secs_f64() * 1e6 / posts.len() as f64
        );
        let mut d = ExactDedup::new(86_400, 1_000_000);
        let t0 = std::time::Instant::now();
        for (i, p) in posts.iter().enumerate() {
            d.check(p.as_bytes(), &format!("{i:032x}"), i as i64);
        }
        println!(
            "ExactDedup::check(): {:.2} µs/call mean over {} posts",
            t0.elapsed().as_secs_f64() * 1e6 / posts.len() as f64,
            posts.len()
        );
    }

    /// A feed of ~200-character posts in kk/ru/en from word lists, where one post in ten is
    /// a copy-paste variant of one of the campaign texts.
    fn feed(n: usize) -> Vec<String> {
        let words = crate::testwords::WORDS;
        let mut x = 99u64;
        let mut next = || {
            let (s, v) = splitmix64(x);
            x = s;
            v
        };
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let r = next();
            if r % 10 == 0 {
                let base = BASES[(r >> 8) as usize % BASES.len()];
                let vs = variants(base);
                out.push(vs[(r >> 16) as usize % vs.len()].clone());
                continue;
            }
            let lang = words[(r % 3) as usize];
            let mut s = String::new();
            while s.chars().count() < 190 {
                if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(lang[next() as usize % lang.len()]);
            }
            out.push(s);
        }
        out
    }
}
