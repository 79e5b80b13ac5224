//! The aggregation engine: cells per region and window, per-partition watermarks, closing,
//! late corrections, baselines and alerts — pure and synchronous, so every rule is unit-tested
//! without a broker or a database. The role ([`crate::role`]) feeds it messages and persists
//! what [`Engine::prepare_commit`] returns.
//!
//! Watermarks are per input partition: `max event time seen − allowed lateness`. A cell belongs
//! to the partition whose messages created it (posts.scored is keyed by region, so a region's
//! cells all belong to one partition) and closes when that partition's watermark passes the
//! cell's end. A post for a closed cell is late: it is still applied (a correction), counted, and
//! the cell is published again with the next revision. A partition silent for
//! `idle_partition_secs` follows the newest watermark of the others, so quiet regions close too.

use crate::cell::{publish, CellMeta, CellState, PostHashes};
use crate::metrics;
use crate::risk::{ActiveAlert, RegionState, Transition};
use crate::store::{
    AlertWrite, CellRow, CellWrite, CommitBatch, OutboxRow, PartitionRow, PartitionWrite, RegionRow,
};
use crate::window::{Res, Settings};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sarap_core::{AlertState, Region, RegionalSignal, ScoredPost};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// FxHash (as in rustc): the cell map is hit three times per post and its keys are small
/// integers; SipHash's DoS resistance buys nothing for a map of a few hundred cells.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    #[inline]
    fn add(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.add(*b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_i64(&mut self, i: i64) {
        self.add(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn write_isize(&mut self, i: isize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type CellMap = HashMap<CellKey, Cell, std::hash::BuildHasherDefault<FxHasher>>;

/// Identifies a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellKey {
    /// Region.
    pub region: Region,
    /// Resolution.
    pub res: Res,
    /// Window start, Unix seconds.
    pub start: i64,
}

#[derive(Debug, Clone)]
struct Cell {
    end: i64,
    partition: i32,
    state: CellState,
    closed: bool,
    /// Changed since the last commit.
    dirty: bool,
    /// Closed and changed by a late post: publish a correction at the next commit.
    republish: bool,
    /// Version in the store (0: not stored yet).
    version: i64,
    /// Publications so far.
    revision: u32,
    signal: Option<String>,
    alert_id: Option<String>,
}

#[derive(Debug, Clone)]
struct Part {
    /// Next offset to apply (None: nothing applied and nothing stored).
    next_offset: Option<i64>,
    /// The next offset the store holds (the fence), None when it has no row.
    stored: Option<i64>,
    max_event: Option<i64>,
    /// Smallest end of an open cell of this partition.
    next_close: i64,
    last_seen: Instant,
    /// No message since the assignment: the first one is checked against the store's position.
    fresh: bool,
    dirty: bool,
}

/// What to do with an input message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Apply it.
    Apply,
    /// Already in the store: skip it.
    Skip,
    /// The broker resumed beyond the store's position (a restored store): seek back to this offset.
    Seek(i64),
}

/// Running totals, for reports and tests (the Prometheus counters hold the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Posts applied to cells.
    pub applied: u64,
    /// Messages skipped because the store already had them.
    pub skipped: u64,
    /// Messages that were not valid scored posts.
    pub bad: u64,
    /// Posts with region `unknown` (aggregated for coverage; no risk, no alerts).
    pub unlocated: u64,
    /// Posts applied to a closed window (corrections).
    pub late: u64,
    /// Posts older than the correction horizon (dropped).
    pub too_late: u64,
    /// Signals published (first publications and corrections).
    pub published: u64,
    /// Of those, suppressed below k.
    pub suppressed: u64,
    /// Alerts raised.
    pub alerts_raised: u64,
}

/// The sink's in-memory state between two commits.
pub struct Engine {
    s: Settings,
    topic: String,
    secret: [u8; 32],
    cells: CellMap,
    parts: BTreeMap<i32, Part>,
    regions: BTreeMap<Region, RegionState>,
    regions_dirty: std::collections::BTreeSet<Region>,
    outbox: Vec<(i32, OutboxRow)>,
    alert_writes: BTreeMap<String, AlertWrite>,
    alert_states: HashMap<String, AlertState>,
    published_base: Vec<RegionalSignal>,
    /// Closed cells in memory (kept as a count: checked after every slice of a batch).
    closed: usize,
    /// Running totals.
    pub counters: Counters,
}

fn alert_id(region: Region, start: i64) -> String {
    let t = chrono::DateTime::from_timestamp(start, 0).unwrap_or_default();
    format!("{}-{}", region.as_str(), t.format("%Y%m%dT%H%MZ"))
}

impl Engine {
    /// An empty engine for `topic`, with the store's noise secret.
    pub fn new(s: Settings, topic: &str, secret: [u8; 32]) -> Engine {
        Engine {
            s,
            topic: topic.to_string(),
            secret,
            cells: CellMap::default(),
            parts: BTreeMap::new(),
            regions: BTreeMap::new(),
            regions_dirty: Default::default(),
            outbox: Vec::new(),
            alert_writes: BTreeMap::new(),
            alert_states: HashMap::new(),
            published_base: Vec::new(),
            closed: 0,
            counters: Counters::default(),
        }
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.s
    }

    /// Forgets everything but the settings and the counters (after a store conflict).
    pub fn reset(&mut self) {
        self.cells.clear();
        self.parts.clear();
        self.regions.clear();
        self.regions_dirty.clear();
        self.outbox.clear();
        self.alert_writes.clear();
        self.alert_states.clear();
        self.published_base.clear();
        self.closed = 0;
    }

    /// Replaces every region's baseline and alert state with the stored ones. Only call when
    /// nothing is dirty (right after a commit), or unflushed changes are lost.
    pub fn load_regions(&mut self, rows: Vec<RegionRow>) {
        self.regions.clear();
        self.regions_dirty.clear();
        for r in rows {
            let (Ok(region), Ok(state)) = (
                r.region.parse::<Region>(),
                serde_json::from_str::<RegionState>(&r.state),
            ) else {
                tracing::warn!(region = %r.region, "unreadable stored region state ignored");
                continue;
            };
            self.regions.insert(region, state);
        }
    }

    /// Takes partitions over: their stored positions (`rows`) and open cells.
    pub fn assign(&mut self, partitions: &[i32], rows: Vec<PartitionRow>, open: Vec<CellRow>) {
        let now = Instant::now();
        for p in partitions {
            let row = rows.iter().find(|r| r.partition == *p);
            self.parts.insert(
                *p,
                Part {
                    next_offset: row.map(|r| r.next_offset),
                    stored: row.map(|r| r.next_offset),
                    max_event: row.and_then(|r| r.max_event),
                    next_close: i64::MAX,
                    last_seen: now,
                    fresh: true,
                    dirty: false,
                },
            );
        }
        self.insert_rows(open);
        for p in partitions {
            self.recompute_next_close(*p);
        }
    }

    /// Forgets partitions given up in a rebalance, with their cells (the store has what counts).
    pub fn revoke(&mut self, partitions: &[i32]) {
        for p in partitions {
            self.parts.remove(p);
            metrics::WATERMARK
                .remove_label_values(&[&p.to_string()])
                .ok();
        }
        self.cells.retain(|_, c| !partitions.contains(&c.partition));
        self.closed = self.cells.values().filter(|c| c.closed).count();
        self.outbox.retain(|(p, _)| !partitions.contains(p));
    }

    /// Partitions this engine holds.
    pub fn partitions(&self) -> Vec<i32> {
        self.parts.keys().copied().collect()
    }

    /// The next offset to apply of every held partition that has one.
    pub fn positions(&self) -> Vec<(i32, i64)> {
        self.parts
            .iter()
            .filter_map(|(p, x)| x.next_offset.map(|o| (*p, o)))
            .collect()
    }

    /// Whether this engine holds partition `p`.
    pub fn holds(&self, p: i32) -> bool {
        self.parts.contains_key(&p)
    }

    /// The active alert level of a region (0: none).
    pub fn region_level(&self, r: Region) -> u8 {
        self.regions.get(&r).map_or(0, |s| s.level)
    }

    /// Closed cells waiting for the next commit to leave memory.
    pub fn closed_in_memory(&self) -> usize {
        self.closed
    }

    /// Cells in memory (open ones, plus closed ones until their next commit).
    pub fn cells_in_memory(&self) -> usize {
        self.cells.len()
    }

    /// Whether a message at `offset` of partition `p` is to be applied.
    pub fn admit(&mut self, p: i32, offset: i64) -> Admit {
        let Some(part) = self.parts.get_mut(&p) else {
            return Admit::Skip;
        };
        let fresh = std::mem::replace(&mut part.fresh, false);
        match part.next_offset {
            Some(n) if offset < n => Admit::Skip,
            Some(n) if offset > n && fresh && part.stored.is_some() => Admit::Seek(n),
            _ => Admit::Apply,
        }
    }

    /// Marks a partition fresh again after a seek, so its first message is checked anew.
    pub fn seeked(&mut self, p: i32) {
        if let Some(part) = self.parts.get_mut(&p) {
            part.fresh = false;
        }
    }

    /// Keys of the cells these posts touch that are not in memory (they may be in the store).
    pub fn missing(&self, posts: &[&ScoredPost]) -> Vec<CellKey> {
        let mut out: Vec<CellKey> = Vec::new();
        for post in posts {
            let t = post.created_at.timestamp();
            for &res in self.s.resolutions() {
                let key = CellKey {
                    region: post.region,
                    res,
                    start: self.s.window(res, t).0,
                };
                if !self.cells.contains_key(&key) && !out.contains(&key) {
                    out.push(key);
                }
            }
        }
        out
    }

    /// The store key (region, resolution code, start) of a cell key.
    pub fn store_key(&self, k: &CellKey) -> (String, String, i64) {
        (k.region.as_str().to_string(), self.s.code(k.res), k.start)
    }

    /// Adds cells read from the store (not replacing any in memory).
    pub fn insert_rows(&mut self, rows: Vec<CellRow>) {
        for r in rows {
            let (Ok(region), Some(res)) =
                (r.region.parse::<Region>(), self.s.res_of(&r.resolution))
            else {
                continue;
            };
            let state: CellState = match serde_json::from_str(&r.state) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(region = %r.region, resolution = %r.resolution, start = r.window_start, error = %e, "unreadable stored cell state; starting it empty");
                    CellState::default()
                }
            };
            let key = CellKey {
                region,
                res,
                start: r.window_start,
            };
            let std::collections::hash_map::Entry::Vacant(slot) = self.cells.entry(key) else {
                continue;
            };
            if r.closed {
                self.closed += 1;
            }
            slot.insert(Cell {
                end: r.window_end,
                partition: r.partition,
                state,
                closed: r.closed,
                dirty: false,
                republish: false,
                version: r.version,
                revision: r.revision.max(0) as u32,
                signal: r.signal,
                alert_id: r.alert_id,
            });
            if !r.closed {
                if let Some(part) = self.parts.get_mut(&r.partition) {
                    part.next_close = part.next_close.min(r.window_end);
                }
            }
        }
    }

    /// Applies one message at `offset` of partition `p`: a post, or `None` for a message that
    /// was not a valid scored post (its offset still counts as handled).
    pub fn apply(&mut self, p: i32, offset: i64, post: Option<&ScoredPost>, now: Instant) {
        let s = &self.s;
        let Some(part) = self.parts.get_mut(&p) else {
            return;
        };
        part.next_offset = Some(offset + 1);
        part.dirty = true;
        part.last_seen = now;
        let Some(post) = post else {
            self.counters.bad += 1;
            return;
        };
        if post.region == Region::Unknown {
            // Aggregated like a region, so analysts see how much the data does not locate
            // (coverage), but never scored for risk or alerted on.
            self.counters.unlocated += 1;
            metrics::UNLOCATED.inc();
        }
        let t = post.created_at.timestamp();
        let wm = part.max_event.map(|m| m - s.lateness_secs);
        if wm.is_some_and(|w| t < w - s.max_correction_secs) {
            self.counters.too_late += 1;
            metrics::TOO_LATE.inc();
            return;
        }
        let h = PostHashes::of(post);
        let mut late_any = false;
        for &res in s.resolutions() {
            let (start, end) = s.window(res, t);
            let key = CellKey {
                region: post.region,
                res,
                start,
            };
            let cell = self.cells.entry(key).or_insert_with(|| {
                let closed = wm.is_some_and(|w| w >= end);
                if closed {
                    self.closed += 1;
                } else {
                    part.next_close = part.next_close.min(end);
                }
                Cell {
                    end,
                    partition: p,
                    state: CellState::default(),
                    closed,
                    dirty: true,
                    republish: false,
                    version: 0,
                    revision: 0,
                    signal: None,
                    alert_id: None,
                }
            });
            let late = cell.closed;
            cell.state.add(post, h, s.hostile_threshold, late);
            cell.dirty = true;
            if late {
                cell.republish = true;
                late_any = true;
            }
        }
        self.counters.applied += 1;
        if late_any {
            self.counters.late += 1;
            metrics::LATE.inc();
        }
        if part.max_event.is_none_or(|m| t > m) {
            part.max_event = Some(t);
            let w = t - s.lateness_secs;
            if w >= part.next_close {
                self.close_ready(p);
            }
        }
    }

    /// Lets partitions silent for `idle_partition_secs` follow the newest watermark of the
    /// others, closing their windows.
    pub fn tick(&mut self, now: Instant) {
        let idle = Duration::from_secs(self.s.idle_secs);
        let Some(newest) = self.parts.values().filter_map(|p| p.max_event).max() else {
            return;
        };
        let behind: Vec<i32> = self
            .parts
            .iter()
            .filter(|(_, p)| {
                now.duration_since(p.last_seen) >= idle
                    && p.max_event.is_none_or(|m| m < newest)
                    && p.next_close != i64::MAX
            })
            .map(|(k, _)| *k)
            .collect();
        for p in behind {
            if let Some(part) = self.parts.get_mut(&p) {
                part.max_event = Some(newest);
                // Only a partition with a position is written; one never consumed has nothing
                // to fence and its cells are in the store under another partition's position.
                part.dirty = part.next_offset.is_some();
            }
            self.close_ready(p);
        }
    }

    fn watermark(&self, p: i32) -> Option<i64> {
        self.parts
            .get(&p)
            .and_then(|x| x.max_event)
            .map(|m| m - self.s.lateness_secs)
    }

    fn recompute_next_close(&mut self, p: i32) {
        let next = self
            .cells
            .values()
            .filter(|c| c.partition == p && !c.closed)
            .map(|c| c.end)
            .min()
            .unwrap_or(i64::MAX);
        if let Some(part) = self.parts.get_mut(&p) {
            part.next_close = next;
        }
    }

    /// Closes every open cell of partition `p` that its watermark has passed, oldest first.
    fn close_ready(&mut self, p: i32) {
        let Some(wm) = self.watermark(p) else {
            return;
        };
        if let Some(part) = self.parts.get(&p) {
            metrics::WATERMARK
                .with_label_values(&[&p.to_string()])
                .set(part.max_event.unwrap_or(0) as f64 - self.s.lateness_secs as f64);
        }
        let mut due: Vec<(i64, CellKey)> = self
            .cells
            .iter()
            .filter(|(_, c)| c.partition == p && !c.closed && c.end <= wm)
            .map(|(k, c)| (c.end, *k))
            .collect();
        due.sort();
        for (_, key) in due {
            if let Some(c) = self.cells.get_mut(&key) {
                c.closed = true;
                self.closed += 1;
            }
            self.publish(key, false);
        }
        self.recompute_next_close(p);
    }

    fn noise_rng(&self, key: &CellKey, revision: u32) -> ChaCha8Rng {
        let mut h = Sha256::new();
        h.update(self.secret);
        h.update(key.region.as_str().as_bytes());
        h.update(self.s.code(key.res).as_bytes());
        h.update(key.start.to_le_bytes());
        h.update(revision.to_le_bytes());
        ChaCha8Rng::from_seed(h.finalize().into())
    }

    /// Publishes a closed cell: its first signal, or a correction after late posts.
    fn publish(&mut self, key: CellKey, correction: bool) {
        let Some(cell) = self.cells.get(&key) else {
            return;
        };
        let meta = CellMeta {
            region: key.region,
            start: key.start,
            end: cell.end,
            revision: cell.revision,
        };
        let mut rng = (self.s.epsilon > 0.0).then(|| self.noise_rng(&key, cell.revision));
        let (mut signal, comps) = publish(
            &cell.state,
            meta,
            &self.s,
            rng.as_mut().map(|r| (r, self.s.epsilon)),
        );
        let partition = cell.partition;
        let mut alert = cell.alert_id.clone();
        let previous = cell.signal.clone();
        let end = cell.end;
        if key.region == Region::Unknown {
            signal.risk = None;
            signal.anomaly = None;
            alert = None;
        } else if key.res == Res::Base && !correction {
            let region_state = self.regions.entry(key.region).or_default();
            if let (Some(_), Some(risk)) = (comps, signal.risk) {
                let risk = risk as f64;
                let obs = region_state.observe(risk, &self.s);
                signal.anomaly = obs.anomaly.map(|z| z as f32);
                self.regions_dirty.insert(key.region);
                let z = obs.anomaly.unwrap_or(0.0);
                match obs.transition {
                    // An output the declared purpose does not list is not produced.
                    Transition::Raised if !self.s.allow_alerts => {
                        region_state.level = 0;
                    }
                    Transition::Raised => {
                        let a = ActiveAlert {
                            id: alert_id(key.region, key.start),
                            max_level: region_state.level,
                            window_start: key.start,
                            window_end: end,
                            risk,
                            anomaly: z,
                            peak_anomaly: z,
                            raised_at: chrono::Utc::now().timestamp(),
                        };
                        self.counters.alerts_raised += 1;
                        metrics::ALERTS_RAISED.inc();
                        tracing::info!(region = %key.region, alert = %a.id, level = region_state.level, risk, anomaly = z, "alert raised; open until an analyst reviews it");
                        region_state.alert = Some(a);
                    }
                    Transition::Continued => {
                        if let Some(a) = region_state.alert.as_mut() {
                            a.max_level = a.max_level.max(region_state.level);
                            a.peak_anomaly = a.peak_anomaly.max(z);
                        }
                    }
                    Transition::Cleared | Transition::Quiet => {}
                }
                if let Some(a) = &region_state.alert {
                    let cleared = obs.transition == Transition::Cleared;
                    self.alert_writes.insert(
                        a.id.clone(),
                        AlertWrite {
                            id: a.id.clone(),
                            region: key.region.as_str().to_string(),
                            level: region_state.level as i64,
                            max_level: a.max_level as i64,
                            active: !cleared,
                            window_start: a.window_start,
                            window_end: a.window_end,
                            last_window_end: end,
                            risk: a.risk,
                            anomaly: a.anomaly,
                            peak_anomaly: a.peak_anomaly,
                            raised_at: a.raised_at,
                        },
                    );
                    if cleared {
                        tracing::info!(region = %key.region, alert = %a.id, "alert condition cleared (the review state is unchanged)");
                        region_state.alert = None;
                    }
                }
            }
            alert = region_state.alert.as_ref().map(|a| a.id.clone());
        } else if correction {
            // A correction keeps the anomaly the window was judged with: the baseline has moved
            // on since, and re-judging the past would rewrite alerts analysts already saw.
            if !signal.suppressed {
                signal.anomaly = previous
                    .as_deref()
                    .and_then(|j| serde_json::from_str::<RegionalSignal>(j).ok())
                    .and_then(|p| p.anomaly);
            }
        } else {
            alert = self
                .regions
                .get(&key.region)
                .and_then(|r| r.alert.as_ref())
                .map(|a| a.id.clone());
        }
        signal.alert = match &alert {
            Some(id) => self
                .alert_states
                .get(id)
                .copied()
                .unwrap_or(AlertState::Open),
            None => AlertState::None,
        };
        let json = serde_json::to_string(&signal).expect("a signal serialises");
        let code = self.s.code(key.res);
        self.counters.published += 1;
        metrics::PUBLISHED.with_label_values(&[&code]).inc();
        if signal.suppressed {
            self.counters.suppressed += 1;
            metrics::SUPPRESSED.with_label_values(&[&code]).inc();
        }
        if self.s.allow_signals {
            self.outbox.push((
                partition,
                OutboxRow {
                    region: key.region.as_str().to_string(),
                    resolution: code,
                    window_start: key.start,
                    revision: signal.revision as i64,
                    payload: json.clone(),
                    commit_id: 0,
                },
            ));
            if key.res == Res::Base {
                self.published_base.push(signal);
            }
        }
        let cell = self.cells.get_mut(&key).expect("cell exists");
        cell.signal = Some(json);
        cell.alert_id = alert;
        cell.revision += 1;
        cell.dirty = true;
        cell.republish = false;
    }

    /// Sets the review states of alerts (read from the store), used in signals published next.
    pub fn set_alert_states(&mut self, states: Vec<(String, String)>) {
        self.alert_states.clear();
        for (id, s) in states {
            let st = match s.as_str() {
                "confirmed" => AlertState::Confirmed,
                "dismissed" => AlertState::Dismissed,
                _ => AlertState::Open,
            };
            self.alert_states.insert(id, st);
        }
    }

    /// Ids of the alerts currently active in any region.
    pub fn active_alert_ids(&self) -> Vec<String> {
        self.regions
            .values()
            .filter_map(|r| r.alert.as_ref().map(|a| a.id.clone()))
            .collect()
    }

    /// Base-window signals published since the last call (for the per-region gauges).
    pub fn take_published_base(&mut self) -> Vec<RegionalSignal> {
        std::mem::take(&mut self.published_base)
    }

    /// Whether anything waits to be committed.
    pub fn has_changes(&self) -> bool {
        self.parts.values().any(|p| p.dirty)
            || self.cells.values().any(|c| c.dirty || c.republish)
            || !self.outbox.is_empty()
    }

    /// Publishes pending corrections and collects everything changed since the last commit.
    /// Nothing may be applied between this and [`Engine::committed`].
    pub fn prepare_commit(&mut self, outbox_done: Vec<OutboxRow>) -> CommitBatch {
        let mut corrections: Vec<CellKey> = self
            .cells
            .iter()
            .filter(|(_, c)| c.republish)
            .map(|(k, _)| *k)
            .collect();
        corrections.sort();
        for k in corrections {
            self.publish(k, true);
        }
        let mut b = CommitBatch {
            topic: self.topic.clone(),
            outbox_done,
            ..CommitBatch::default()
        };
        for (p, part) in &self.parts {
            if let (true, Some(next)) = (part.dirty, part.next_offset) {
                b.partitions.push(PartitionWrite {
                    row: PartitionRow {
                        partition: *p,
                        next_offset: next,
                        max_event: part.max_event,
                    },
                    expected: part.stored,
                });
            }
        }
        let mut keys: Vec<&CellKey> = self
            .cells
            .iter()
            .filter(|(_, c)| c.dirty)
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        for k in keys {
            let c = &self.cells[k];
            b.cells.push(CellWrite {
                row: CellRow {
                    region: k.region.as_str().to_string(),
                    resolution: self.s.code(k.res),
                    window_start: k.start,
                    window_end: c.end,
                    closed: c.closed,
                    partition: c.partition,
                    state: serde_json::to_string(&c.state).expect("cell state serialises"),
                    signal: c.signal.clone(),
                    revision: c.revision as i64,
                    alert_id: c.alert_id.clone(),
                    version: c.version + 1,
                },
                expected_version: c.version,
            });
        }
        for r in &self.regions_dirty {
            if let Some(st) = self.regions.get(r) {
                b.regions.push(RegionRow {
                    region: r.as_str().to_string(),
                    state: serde_json::to_string(st).expect("region state serialises"),
                });
            }
        }
        b.alerts = self.alert_writes.values().cloned().collect();
        let commit_id = rand::random::<i64>() & i64::MAX;
        b.outbox = self
            .outbox
            .iter()
            .map(|(_, o)| OutboxRow {
                commit_id,
                ..o.clone()
            })
            .collect();
        b
    }

    /// Records that `b` is durable: versions advance, closed cells leave memory.
    pub fn committed(&mut self, b: &CommitBatch) {
        for p in &b.partitions {
            if let Some(part) = self.parts.get_mut(&p.row.partition) {
                part.stored = Some(p.row.next_offset);
                part.dirty = false;
            }
        }
        for c in &b.cells {
            let (Ok(region), Some(res)) = (c.row.region.parse(), self.s.res_of(&c.row.resolution))
            else {
                continue;
            };
            let key = CellKey {
                region,
                res,
                start: c.row.window_start,
            };
            if let Some(cell) = self.cells.get_mut(&key) {
                cell.version = c.row.version;
                cell.dirty = false;
            }
        }
        // Memory stays bounded by regions × open windows: a closed cell comes back from the
        // store only if a late post needs it.
        self.cells
            .retain(|_, c| !c.closed || c.dirty || c.republish);
        self.closed = self.cells.values().filter(|c| c.closed).count();
        self.regions_dirty.clear();
        self.alert_writes.clear();
        self.outbox.clear();
        metrics::OPEN_CELLS.set(self.cells.len() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::tests::post;
    use crate::window::tests::settings;

    const T0: i64 = 1_793_520_000; // 2026-11-01T06:00:00Z, a window and hour boundary

    fn engine() -> Engine {
        let mut e = Engine::new(settings(), "posts.scored", [7; 32]);
        e.assign(&[0], vec![], vec![]);
        e
    }

    /// Feeds posts (author, hostility, time) of one region into partition 0 with rising offsets.
    fn feed(e: &mut Engine, region: Region, posts: &[(u32, f32, i64)], offset: &mut i64) {
        for (a, h, t) in posts {
            let p = post(region, *a, *h, *t);
            assert_eq!(e.admit(0, *offset), Admit::Apply);
            e.apply(0, *offset, Some(&p), Instant::now());
            *offset += 1;
        }
    }

    fn base_signals(b: &CommitBatch) -> Vec<RegionalSignal> {
        b.outbox
            .iter()
            .filter(|o| o.resolution == "5m")
            .map(|o| serde_json::from_str(&o.payload).unwrap())
            .collect()
    }

    #[test]
    fn windows_close_when_the_watermark_passes_their_end() {
        let mut e = engine();
        let mut off = 0;
        // 12 authors in 06:00–06:05.
        let first: Vec<_> = (0..12).map(|a| (a, 0.1, T0 + 10 + a as i64)).collect();
        feed(&mut e, Region::Abai, &first, &mut off);
        // Event time reaches 06:09:59: watermark 06:04:59 < 06:05 end → still open.
        feed(&mut e, Region::Abai, &[(1, 0.1, T0 + 599)], &mut off);
        assert!(e.prepare_commit(vec![]).outbox.is_empty());
        // 06:10:00 − 300 s lateness = 06:05:00 ≥ end → the first window closes.
        feed(&mut e, Region::Abai, &[(2, 0.1, T0 + 600)], &mut off);
        assert_eq!(e.closed_in_memory(), 1);
        let b = e.prepare_commit(vec![]);
        let sig = base_signals(&b);
        assert_eq!(sig.len(), 1);
        assert_eq!(sig[0].window.start.timestamp(), T0);
        assert_eq!(sig[0].n_posts, Some(12));
        assert_eq!(sig[0].revision, 0);
        assert!(!sig[0].suppressed);
        e.committed(&b);
        // The closed cell left memory; the open 06:05 and 06:10 windows, hour and day stay.
        assert_eq!(e.cells_in_memory(), 4);
        assert_eq!(e.closed_in_memory(), 0);
        assert_eq!(b.partitions[0].row.next_offset, off);
        assert_eq!(b.partitions[0].expected, None);
    }

    #[test]
    fn late_posts_within_lateness_are_on_time_and_later_ones_correct() {
        let mut e = engine();
        let mut off = 0;
        let authors: Vec<_> = (0..12).map(|a| (a, 0.1, T0 + 60)).collect();
        feed(&mut e, Region::Abai, &authors, &mut off);
        // Time moves to 06:08; a post for 06:01 is out of order but within lateness.
        feed(
            &mut e,
            Region::Abai,
            &[(20, 0.1, T0 + 480), (21, 0.9, T0 + 61)],
            &mut off,
        );
        assert_eq!(e.counters.late, 0);
        // Close the first window.
        feed(&mut e, Region::Abai, &[(22, 0.1, T0 + 700)], &mut off);
        let b = e.prepare_commit(vec![]);
        assert_eq!(base_signals(&b)[0].n_posts, Some(13));
        e.committed(&b);
        // Now a post for 06:02 is late: applied as a correction, published as revision 1.
        // The closed cell is not in memory any more: the role loads it from the store first.
        let late = post(Region::Abai, 23, 0.9, T0 + 120);
        let missing = e.missing(&[&late]);
        assert_eq!(missing.len(), 1, "only the closed 5-minute cell is missing");
        let stored: Vec<CellRow> = b
            .cells
            .iter()
            .filter(|c| c.row.resolution == "5m" && c.row.window_start == T0)
            .map(|c| c.row.clone())
            .collect();
        e.insert_rows(stored);
        e.apply(0, off, Some(&late), Instant::now());
        assert_eq!(e.counters.late, 1);
        let b = e.prepare_commit(vec![]);
        let sig = base_signals(&b);
        assert_eq!(sig.len(), 1);
        assert_eq!(sig[0].revision, 1);
        assert_eq!(sig[0].n_posts, Some(14));
        assert_eq!(sig[0].late_posts, Some(1));
        let cell = b
            .cells
            .iter()
            .find(|c| c.row.resolution == "5m" && c.row.window_start == T0)
            .unwrap();
        assert_eq!(cell.expected_version, 1);
        assert_eq!(cell.row.revision, 2);
        // The hour and day were still open: the post is on time there.
        assert!(b.outbox.iter().all(|o| o.resolution == "5m"));
    }

    #[test]
    fn posts_beyond_the_correction_horizon_are_dropped() {
        let mut e = engine();
        let mut off = 0;
        feed(
            &mut e,
            Region::Abai,
            &[(1, 0.1, T0 + 30 * 86_400)],
            &mut off,
        );
        feed(&mut e, Region::Abai, &[(2, 0.1, T0)], &mut off);
        assert_eq!(e.counters.too_late, 1);
        assert_eq!(e.counters.applied, 1);
        // Its offset still counts as handled.
        assert_eq!(e.prepare_commit(vec![]).partitions[0].row.next_offset, 2);
    }

    #[test]
    fn offsets_below_the_stored_position_are_skipped_and_a_gap_seeks_back() {
        let mut e = Engine::new(settings(), "posts.scored", [7; 32]);
        e.assign(
            &[0, 1],
            vec![PartitionRow {
                partition: 0,
                next_offset: 100,
                max_event: Some(T0),
            }],
            vec![],
        );
        assert_eq!(e.admit(0, 98), Admit::Skip);
        assert_eq!(e.admit(0, 99), Admit::Skip);
        assert_eq!(e.admit(0, 100), Admit::Apply);
        // Partition 1 has no stored position: anything goes.
        assert_eq!(e.admit(1, 5), Admit::Apply);
        let mut e = Engine::new(settings(), "posts.scored", [7; 32]);
        e.assign(
            &[0],
            vec![PartitionRow {
                partition: 0,
                next_offset: 100,
                max_event: None,
            }],
            vec![],
        );
        // The group's committed offset is ahead of the store (a restored backup): replay.
        assert_eq!(e.admit(0, 150), Admit::Seek(100));
        // Only once: if the broker cannot go back (retention), continue.
        assert_eq!(e.admit(0, 150), Admit::Apply);
    }

    #[test]
    fn memory_is_bounded_by_open_windows_not_posts() {
        let mut e = engine();
        let mut off = 0;
        let mut peak = 0;
        // Two days of posts, 20 a minute, over 4 regions.
        let regions = [Region::Abai, Region::Astana, Region::Almaty, Region::Ulytau];
        for minute in 0..(2 * 24 * 60) {
            for i in 0..20u32 {
                let r = regions[(i % 4) as usize];
                let t = T0 + minute * 60 + i as i64;
                let p = post(r, (minute as u32 * 7 + i) % 500, 0.1, t);
                e.apply(0, off, Some(&p), Instant::now());
                off += 1;
            }
            if minute % 10 == 0 {
                let b = e.prepare_commit(vec![]);
                e.committed(&b);
                peak = peak.max(e.cells_in_memory());
            }
        }
        // Per region: ≤ 3 open base windows (lateness 5 min), ≤ 2 hours, ≤ 2 days.
        assert!(peak <= regions.len() * 7, "peak cells {peak}");
    }

    #[test]
    fn idle_partitions_follow_the_others_watermark() {
        let mut s = settings();
        s.idle_secs = 0;
        let mut e = Engine::new(s, "posts.scored", [7; 32]);
        e.assign(&[0, 1], vec![], vec![]);
        let now = Instant::now();
        for a in 0..12u32 {
            let p = post(Region::Ulytau, a, 0.1, T0 + 5);
            e.apply(1, a as i64, Some(&p), now);
        }
        // Partition 0 moves on an hour; partition 1 stays silent.
        let p = post(Region::Abai, 1, 0.1, T0 + 3600);
        e.apply(0, 0, Some(&p), now);
        assert!(base_signals(&e.prepare_commit(vec![])).is_empty());
        e.tick(now);
        let b = e.prepare_commit(vec![]);
        let sig = base_signals(&b);
        assert_eq!(sig.len(), 1);
        assert_eq!(sig[0].region, Region::Ulytau);
    }

    #[test]
    fn outputs_the_purpose_does_not_list_are_not_produced() {
        for (drop, signals, alerts) in [("alerts", true, false), ("regional_signals", false, true)]
        {
            let mut s = settings();
            if drop == "alerts" {
                s.allow_alerts = false;
            } else {
                s.allow_signals = false;
            }
            let mut e = Engine::new(s, "posts.scored", [7; 32]);
            e.assign(&[0], vec![], vec![]);
            let mut off = 0;
            for w in 0..40i64 {
                let h = if (25..32).contains(&w) { 0.9 } else { 0.05 };
                let posts: Vec<_> = (0..20u32)
                    .map(|a| {
                        (
                            a,
                            if a % 2 == 0 { h } else { 0.05 },
                            T0 + w * 300 + a as i64,
                        )
                    })
                    .collect();
                feed(&mut e, Region::Abai, &posts, &mut off);
            }
            let b = e.prepare_commit(vec![]);
            assert_eq!(!b.outbox.is_empty(), signals, "without {drop}");
            assert_eq!(e.counters.alerts_raised > 0, alerts, "without {drop}");
        }
    }

    #[test]
    fn a_hostility_wave_raises_an_alert_only_in_its_region() {
        let mut e = engine();
        let mut off = 0i64;
        let regions = [
            Region::Abai,
            Region::Astana,
            Region::Karaganda,
            Region::Shymkent,
        ];
        let windows = 40;
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        use rand::Rng;
        let mut raised_in = Vec::new();
        for w in 0..windows {
            for (ri, r) in regions.iter().enumerate() {
                for i in 0..40u32 {
                    let t = T0 + w * 300 + i as i64 * 7;
                    let wave = *r == Region::Abai && (25..33).contains(&w);
                    let hostile_p = if wave { 0.5 } else { 0.03 };
                    let h = if rng.gen_bool(hostile_p) { 0.9 } else { 0.05 };
                    let a = ri as u32 * 1000 + rng.gen_range(0..300);
                    let p = post(*r, a, h, t);
                    e.apply(0, off, Some(&p), Instant::now());
                    off += 1;
                }
            }
            let b = e.prepare_commit(vec![]);
            for a in &b.alerts {
                if !raised_in.contains(&a.region) {
                    raised_in.push(a.region.clone());
                }
            }
            for s in base_signals(&b) {
                if s.region != Region::Abai {
                    assert_eq!(s.alert, AlertState::None, "{s:?}");
                }
            }
            e.committed(&b);
        }
        assert_eq!(raised_in, vec!["abai".to_string()]);
        assert_eq!(e.counters.alerts_raised, 1);
    }
}
