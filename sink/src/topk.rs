//! Heavy hitters in fixed memory (Space-Saving, Metwally et al. 2005): the most frequent claims
//! and near-duplicate clusters of a cell, without a map that grows with distinct ids.
//!
//! Every item more frequent than N/capacity is guaranteed to be kept; a kept item's count is an
//! upper bound and `count - error` a lower bound. Published counts are the lower bound, so a
//! cluster is never shown as bigger than it is.

use serde::{Deserialize, Serialize};

/// One tracked item: id, counted occurrences (upper bound) and overestimation. Stored as a
/// compact `[id, count, error]` array (cells are re-serialised at every commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "(String, u64, u64)", from = "(String, u64, u64)")]
pub struct Entry {
    /// The item id.
    pub id: String,
    /// Occurrences counted, an upper bound.
    pub count: u64,
    /// How much `count` may overstate.
    pub error: u64,
    /// Hash of `id` ([`crate::hll::hash_id`]), compared before the id on every lookup;
    /// recomputed when read back, not stored.
    pub h: u64,
}

impl From<Entry> for (String, u64, u64) {
    fn from(e: Entry) -> Self {
        (e.id, e.count, e.error)
    }
}

impl From<(String, u64, u64)> for Entry {
    fn from((id, count, error): (String, u64, u64)) -> Self {
        let h = crate::hll::hash_id(&id);
        Entry {
            id,
            count,
            error,
            h,
        }
    }
}

/// The Space-Saving summary with a fixed capacity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopK {
    cap: usize,
    items: Vec<Entry>,
}

impl TopK {
    /// An empty summary keeping at most `cap` items.
    pub fn new(cap: usize) -> TopK {
        TopK {
            cap: cap.max(1),
            items: Vec::new(),
        }
    }

    /// Counts one occurrence of `id`.
    pub fn add(&mut self, id: &str) {
        self.add_hashed(id, crate::hll::hash_id(id));
    }

    /// Counts one occurrence of `id` whose [`crate::hll::hash_id`] is `h` (already computed).
    pub fn add_hashed(&mut self, id: &str, h: u64) {
        if let Some(e) = self.items.iter_mut().find(|e| e.h == h && e.id == id) {
            e.count += 1;
            return;
        }
        if self.items.len() < self.cap {
            self.items.push(Entry {
                id: id.to_string(),
                count: 1,
                error: 0,
                h,
            });
            return;
        }
        // Replace the least counted item; ties go to the first, so replays are deterministic.
        let (i, min) = self
            .items
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| e.count)
            .map(|(i, e)| (i, e.count))
            .expect("capacity is at least 1");
        let e = &mut self.items[i];
        e.id.clear();
        e.id.push_str(id);
        e.count = min + 1;
        e.error = min;
        e.h = h;
    }

    /// Items whose guaranteed count (`count - error`) is at least `min`, most frequent first
    /// (ties by id), with that guaranteed count.
    pub fn top(&self, n: usize, min: u64) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .items
            .iter()
            .map(|e| (e.id.clone(), e.count - e.error))
            .filter(|(_, c)| *c >= min)
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_heavy_hitters_among_many_singletons() {
        // 2700 items over 16 slots: anything above 169 occurrences is guaranteed a slot.
        let mut t = TopK::new(16);
        for i in 0..2000 {
            t.add(&format!("single-{i}"));
            if i % 4 == 0 {
                t.add("campaign-a");
            }
            if i % 10 == 0 {
                t.add("campaign-b");
            }
        }
        let top = t.top(2, 2);
        assert_eq!(top[0].0, "campaign-a");
        assert_eq!(top[1].0, "campaign-b");
        // Lower bounds never exceed the truth.
        assert!(top[0].1 <= 500 && top[0].1 > 300, "{top:?}");
        assert!(top[1].1 <= 200 && top[1].1 >= 2, "{top:?}");
    }

    #[test]
    fn json_round_trip_keeps_lookups_working() {
        let mut t = TopK::new(4);
        for id in ["a", "b", "a"] {
            t.add(id);
        }
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"cap":4,"items":[["a",2,0],["b",1,0]]}"#);
        let mut back: TopK = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        back.add("a");
        assert_eq!(back.top(1, 1), vec![("a".to_string(), 3)]);
    }

    #[test]
    fn exact_below_capacity() {
        let mut t = TopK::new(4);
        for id in ["a", "b", "a", "c", "a", "b"] {
            t.add(id);
        }
        assert_eq!(
            t.top(10, 1),
            vec![("a".into(), 3), ("b".into(), 2), ("c".into(), 1)]
        );
        assert_eq!(t.top(10, 2).len(), 2);
    }
}
