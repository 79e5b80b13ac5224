//! Each region's baseline of its own risk index, the anomaly score against it, and alert levels
//! with hysteresis.
//!
//! - Baseline: for the first `warmup_windows` published windows, the plain mean and variance
//!   (Welford); after that an exponentially weighted mean and variance with `ewma_alpha`.
//! - Anomaly: `z = (risk − mean) / max(std, min_std)`, judged against the past only (the window
//!   is scored before it updates the baseline). None during warm-up.
//! - Windows scoring `z ≥ raise_z` while no alert is active are left out of the baseline, so the
//!   start of a wave cannot inflate the variance it is measured against; while an alert is
//!   active the baseline keeps learning at a quarter of the rate, so a lasting change is
//!   eventually absorbed and the alert can clear.
//! - Hysteresis: `raise_windows` consecutive windows with `z ≥ raise_z` and `risk ≥ min_risk`
//!   raise level 1 (level 2 from `z ≥ high_z`); an active alert clears only after
//!   `clear_windows` consecutive windows with `z < clear_z`.

use crate::window::Settings;
use serde::{Deserialize, Serialize};

/// A region's baseline and alert state, stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RegionState {
    /// Windows observed.
    pub n: u32,
    /// Mean of the risk index.
    pub mean: f64,
    /// Variance of the risk index.
    pub var: f64,
    /// Consecutive windows at or above the raise threshold (while no alert is active).
    pub above: u32,
    /// Consecutive windows below the clear threshold (while an alert is active).
    pub below: u32,
    /// Current level: 0 none, 1 elevated, 2 high.
    pub level: u8,
    /// The active alert, if any.
    pub alert: Option<ActiveAlert>,
}

/// The alert a region has active, as the sink keeps it between windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActiveAlert {
    /// Alert id: region and the start of the window that raised it.
    pub id: String,
    /// Highest level reached.
    pub max_level: u8,
    /// Start of the window that raised it, Unix seconds.
    pub window_start: i64,
    /// End of the window that raised it, Unix seconds.
    pub window_end: i64,
    /// Risk index of the raising window.
    pub risk: f64,
    /// Anomaly score of the raising window.
    pub anomaly: f64,
    /// Highest anomaly score during the alert.
    pub peak_anomaly: f64,
    /// When it was raised (wall clock), Unix seconds.
    pub raised_at: i64,
}

/// What one window did to a region's alerting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// No alert before or after.
    Quiet,
    /// An alert was raised with this window.
    Raised,
    /// An active alert continues (its level may have risen).
    Continued,
    /// The active alert cleared with this window.
    Cleared,
}

/// The anomaly score and the alert transition of one window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// z-score against the baseline; None during warm-up.
    pub anomaly: Option<f64>,
    /// What happened to the alert.
    pub transition: Transition,
}

/// Share of `ewma_alpha` used while an alert is active.
const ACTIVE_DAMPING: f64 = 0.25;

impl RegionState {
    /// Scores one published window's risk, updates hysteresis and the baseline.
    pub fn observe(&mut self, risk: f64, s: &Settings) -> Observation {
        let a = &s.anomaly;
        let al = &s.alerts;
        let warm = self.n >= a.warmup_windows;
        let z = warm.then(|| (risk - self.mean) / self.var.max(0.0).sqrt().max(a.min_std));
        let was_active = self.level > 0;
        let mut transition = if was_active {
            Transition::Continued
        } else {
            Transition::Quiet
        };
        if let Some(z) = z {
            if !was_active {
                if z >= al.raise_z && risk >= al.min_risk {
                    self.above += 1;
                } else {
                    self.above = 0;
                }
                if self.above >= al.raise_windows {
                    self.level = if z >= al.high_z { 2 } else { 1 };
                    self.above = 0;
                    self.below = 0;
                    transition = Transition::Raised;
                }
            } else {
                if z >= al.high_z {
                    self.level = 2;
                }
                if z < al.clear_z {
                    self.below += 1;
                } else {
                    self.below = 0;
                }
                if self.below >= al.clear_windows {
                    self.level = 0;
                    self.below = 0;
                    transition = Transition::Cleared;
                }
            }
        }
        // Baseline update, after scoring.
        if !warm {
            // Welford: equal weights while the baseline forms.
            let n = self.n as f64 + 1.0;
            let d = risk - self.mean;
            self.mean += d / n;
            let m2 = self.var * self.n as f64 + d * (risk - self.mean);
            self.var = m2 / n;
        } else {
            let outlier = !was_active && z.is_some_and(|z| z >= al.raise_z);
            if !outlier {
                let alpha = if was_active {
                    a.ewma_alpha * ACTIVE_DAMPING
                } else {
                    a.ewma_alpha
                };
                let d = risk - self.mean;
                self.mean += alpha * d;
                self.var = (1.0 - alpha) * (self.var + alpha * d * d);
            }
        }
        self.n = self.n.saturating_add(1);
        Observation {
            anomaly: z,
            transition,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::tests::settings;
    use rand::{Rng, SeedableRng};

    fn calm(rng: &mut impl Rng) -> f64 {
        0.12 + rng.gen_range(-0.03..0.03)
    }

    #[test]
    fn calm_series_never_alerts_and_warmup_has_no_score() {
        let s = settings();
        let mut st = RegionState::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for i in 0..2000 {
            let o = st.observe(calm(&mut rng), &s);
            assert_eq!(o.anomaly.is_none(), i < s.anomaly.warmup_windows);
            assert_eq!(o.transition, Transition::Quiet, "window {i}");
        }
        assert!((st.mean - 0.12).abs() < 0.02);
    }

    #[test]
    fn a_wave_raises_once_escalates_and_clears_with_hysteresis() {
        let s = settings();
        let mut st = RegionState::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        for _ in 0..30 {
            st.observe(calm(&mut rng), &s);
        }
        // One hot window alone does not raise (raise_windows = 2).
        assert_eq!(st.observe(0.5, &s).transition, Transition::Quiet);
        assert_eq!(st.observe(calm(&mut rng), &s).transition, Transition::Quiet);
        // A sustained wave raises on its second window, at level 2 (far above the baseline).
        assert_eq!(st.observe(0.45, &s).transition, Transition::Quiet);
        let o = st.observe(0.5, &s);
        assert_eq!(o.transition, Transition::Raised);
        assert!(o.anomaly.unwrap() >= s.alerts.high_z);
        assert_eq!(st.level, 2);
        let mut raised = 0;
        for _ in 0..6 {
            let o = st.observe(0.5, &s);
            assert_eq!(o.transition, Transition::Continued);
            raised += 1;
        }
        assert_eq!(raised, 6);
        // Back to calm: clears only after clear_windows (3) calm windows.
        let mut seq = Vec::new();
        for _ in 0..5 {
            seq.push(st.observe(calm(&mut rng), &s).transition);
        }
        assert_eq!(
            &seq[..3],
            &[
                Transition::Continued,
                Transition::Continued,
                Transition::Cleared
            ]
        );
        assert_eq!(st.level, 0);
        assert_eq!(seq[3], Transition::Quiet);
    }

    #[test]
    fn high_anomaly_with_low_risk_does_not_raise() {
        let s = settings();
        let mut st = RegionState::default();
        for _ in 0..30 {
            st.observe(0.01, &s);
        }
        // z is huge (min_std floor 0.03 → z ≈ 4.7) but risk is below min_risk.
        for _ in 0..5 {
            let o = st.observe(0.15, &s);
            assert!(o.anomaly.unwrap() > s.alerts.raise_z);
            assert_eq!(o.transition, Transition::Quiet);
        }
    }
}
