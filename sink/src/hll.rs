//! HyperLogLog: distinct counts in fixed memory, so a cell's size never grows with its posts.
//!
//! Registers are 8-bit and dense in memory (2^p bytes); the estimate is Ertl's improved raw
//! estimator ("New cardinality estimation algorithms for HyperLogLog sketches", 2017), which is
//! unbiased from a handful of items to billions without the empirical bias tables of HLL++.
//! Small cells — the ones k-suppression decides on — are counted almost exactly, because with
//! few items nearly every item lands in its own register.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A HyperLogLog sketch with 2^p registers.
#[derive(Clone, PartialEq, Eq)]
pub struct Hll {
    p: u8,
    regs: Vec<u8>,
}

impl std::fmt::Debug for Hll {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hll(p={}, ~{:.0})", self.p, self.estimate())
    }
}

/// Precision of author sketches: 4096 registers, about 1.6% standard error.
pub const AUTHOR_PRECISION: u8 = 12;
/// Precision of near-duplicate cluster sketches: 1024 registers, about 3.3% standard error.
pub const CLUSTER_PRECISION: u8 = 10;

impl Hll {
    /// An empty sketch; `p` in 4..=16.
    pub fn new(p: u8) -> Hll {
        assert!((4..=16).contains(&p), "HLL precision {p} out of range");
        Hll {
            p,
            regs: vec![0; 1 << p],
        }
    }

    /// Precision (log2 of the register count).
    pub fn precision(&self) -> u8 {
        self.p
    }

    /// Adds an item given its 64-bit hash (see [`hash_id`]).
    #[inline]
    pub fn insert_hash(&mut self, h: u64) {
        let p = self.p as u32;
        let idx = (h >> (64 - p)) as usize;
        // The remaining 64-p bits; a guard bit bounds the rank at 64-p+1.
        let w = (h << p) | (1u64 << (p - 1));
        let rank = w.leading_zeros() as u8 + 1;
        let r = &mut self.regs[idx];
        if rank > *r {
            *r = rank;
        }
    }

    /// Adds every item of another sketch of the same precision.
    pub fn merge(&mut self, other: &Hll) {
        assert_eq!(self.p, other.p, "merging sketches of different precision");
        for (a, b) in self.regs.iter_mut().zip(&other.regs) {
            *a = (*a).max(*b);
        }
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.regs.iter().all(|r| *r == 0)
    }

    /// Estimated number of distinct items (Ertl's improved raw estimator).
    pub fn estimate(&self) -> f64 {
        let m = self.regs.len() as f64;
        let q = 64 - self.p as usize;
        let mut c = vec![0u32; q + 2];
        for r in &self.regs {
            c[*r as usize] += 1;
        }
        if c[0] as f64 == m {
            return 0.0;
        }
        let mut z = m * tau(1.0 - c[q + 1] as f64 / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + c[k] as f64);
        }
        z += m * sigma(c[0] as f64 / m);
        let alpha_inf = 1.0 / (2.0 * std::f64::consts::LN_2);
        alpha_inf * m * m / z
    }

    /// Compact bytes: precision, then `S` and (index u16 LE, rank) triples when sparse, else `D` and every register.
    pub fn to_bytes(&self) -> Vec<u8> {
        let nonzero = self.regs.iter().filter(|r| **r != 0).count();
        if nonzero * 3 < self.regs.len() {
            let mut out = Vec::with_capacity(2 + nonzero * 3);
            out.push(self.p);
            out.push(b'S');
            for (i, r) in self.regs.iter().enumerate() {
                if *r != 0 {
                    out.extend_from_slice(&(i as u16).to_le_bytes());
                    out.push(*r);
                }
            }
            out
        } else {
            let mut out = Vec::with_capacity(2 + self.regs.len());
            out.push(self.p);
            out.push(b'D');
            out.extend_from_slice(&self.regs);
            out
        }
    }

    /// Parses [`Hll::to_bytes`]; `None` when the bytes are not a sketch.
    pub fn from_bytes(b: &[u8]) -> Option<Hll> {
        let (&p, rest) = b.split_first()?;
        if !(4..=16).contains(&p) {
            return None;
        }
        let (&kind, body) = rest.split_first()?;
        let m = 1usize << p;
        let max_rank = 64 - p + 1;
        let mut h = Hll::new(p);
        match kind {
            b'D' if body.len() == m => h.regs.copy_from_slice(body),
            b'S' if body.len() % 3 == 0 => {
                for t in body.chunks_exact(3) {
                    let i = u16::from_le_bytes([t[0], t[1]]) as usize;
                    *h.regs.get_mut(i)? = t[2];
                }
            }
            _ => return None,
        }
        if h.regs.iter().any(|r| *r > max_rank) {
            return None;
        }
        Some(h)
    }
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_old = z;
        z += x * y;
        y += y;
        if z == z_old {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_old = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == z_old {
            return z / 3.0;
        }
    }
}

/// A well-mixed 64-bit hash of an id: FNV-1a over every byte, finished with the SplitMix64
/// mixer so that ids that are not uniform (sequential numbers, shared prefixes) still spread
/// evenly over the registers.
#[inline]
pub fn hash_id(id: &str) -> u64 {
    mix(fnv1a(id.as_bytes()))
}

#[inline]
fn fnv1a(b: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for c in b {
        h ^= *c as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

// Stored as base64 text inside the cell's JSON state, so the store needs no binary column type
// and the schema text is identical on SQLite and PostgreSQL. (Base64 rather than hex: cells are
// re-serialised at every commit, and a dense sketch is a third smaller.)
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if s.len() % 4 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    for q in s.chunks(4) {
        let pad = q.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for (i, c) in q.iter().enumerate() {
            n |= if i < 4 - pad { val(*c)? } else { 0 } << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

impl Serialize for Hll {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64_encode(&self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for Hll {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hll, D::Error> {
        let s = String::deserialize(d)?;
        let b = b64_decode(&s).ok_or_else(|| serde::de::Error::custom("not base64"))?;
        Hll::from_bytes(&b).ok_or_else(|| serde::de::Error::custom("not a HyperLogLog sketch"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(i: u64) -> String {
        // Pseudonyms look like 32 hex chars of a keyed hash; use a hash of i for realism.
        use sha2::{Digest, Sha256};
        hex::encode(&Sha256::digest(i.to_le_bytes())[..16])
    }

    #[test]
    fn small_counts_are_exact_enough_for_k_suppression() {
        for n in [1u64, 2, 5, 9, 10, 11, 20, 50, 100] {
            let mut h = Hll::new(AUTHOR_PRECISION);
            for i in 0..n {
                // Each author posts several times: repeats must not count.
                for _ in 0..3 {
                    h.insert_hash(hash_id(&pid(i)));
                }
            }
            let e = h.estimate();
            // Exact to ±1 where k-suppression decides; at 100 two authors sharing one of
            // the 4096 registers is expected now and then.
            let tolerance = if n <= 20 { 1.0 } else { n as f64 * 0.04 };
            assert!((e - n as f64).abs() <= tolerance, "n={n} e={e}");
        }
    }

    #[test]
    fn large_counts_are_within_a_few_percent() {
        for n in [1_000u64, 10_000, 100_000, 400_000] {
            let mut h = Hll::new(AUTHOR_PRECISION);
            for i in 0..n {
                h.insert_hash(hash_id(&format!("author-{i}")));
            }
            let e = h.estimate();
            let err = (e - n as f64).abs() / n as f64;
            // 1.04/sqrt(4096) = 1.6% standard error; allow about three of them.
            assert!(
                err < 0.05,
                "n={n} estimate={e:.0} error={:.2}%",
                err * 100.0
            );
        }
    }

    #[test]
    fn merge_equals_union_and_bytes_round_trip() {
        let mut a = Hll::new(AUTHOR_PRECISION);
        let mut b = Hll::new(AUTHOR_PRECISION);
        let mut u = Hll::new(AUTHOR_PRECISION);
        for i in 0..3000u64 {
            let h = hash_id(&pid(i));
            if i % 2 == 0 {
                a.insert_hash(h)
            } else {
                b.insert_hash(h)
            }
            u.insert_hash(h);
        }
        a.merge(&b);
        assert_eq!(a, u);
        for sketch in [Hll::new(10), a.clone(), {
            let mut s = Hll::new(12);
            s.insert_hash(hash_id("x"));
            s
        }] {
            let bytes = sketch.to_bytes();
            assert_eq!(Hll::from_bytes(&bytes).unwrap(), sketch);
        }
        assert!(Hll::from_bytes(b"\x0cX").is_none());
        assert!(Hll::from_bytes(&[12, b'S', 0xff, 0xff, 1]).is_none());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Hll>(&json).unwrap(), a);
        for n in 0..10usize {
            let bytes: Vec<u8> = (0..n as u8).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(b64_decode(&b64_encode(&bytes)).unwrap(), bytes, "{n}");
        }
        assert_eq!(b64_encode(b"Man"), "TWFu");
        assert_eq!(b64_encode(b"Ma"), "TWE=");
        assert!(b64_decode("abc").is_none());
    }
}
