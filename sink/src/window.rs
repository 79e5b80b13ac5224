//! Event-time windows: tumbling base windows (default 5 minutes) rolled up to hours and local days,
//! and the settings the sink derives from the configuration and the policy.

use sarap_core::config::{AlertConfig, AnomalyConfig, RiskWeights, SinkConfig};
use sarap_core::Policy;
use serde::{Deserialize, Serialize};

/// The resolution of a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Res {
    /// The base tumbling window (`sink.window_minutes`).
    Base,
    /// Clock hours.
    Hour,
    /// Local days (`sink.day_offset_minutes` from UTC).
    Day,
}

/// What the sink needs to know, fixed at start-up: windows, privacy, risk and alerting.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base window length in seconds.
    pub base_secs: i64,
    /// Allowed lateness in seconds.
    pub lateness_secs: i64,
    /// How far behind the watermark a post may still correct a window, in seconds.
    pub max_correction_secs: i64,
    /// Seconds of silence after which a partition follows the others' watermark.
    pub idle_secs: u64,
    /// Offset of local days from UTC, in seconds.
    pub day_offset_secs: i64,
    /// `privacy.min_authors_per_cell` of the policy.
    pub k: u32,
    /// `privacy.laplace_epsilon` of the policy (0: no noise).
    pub epsilon: f64,
    /// Hostility probability at which a post counts as hostile.
    pub hostile_threshold: f32,
    /// Risk index weights.
    pub weights: RiskWeights,
    /// Baseline settings.
    pub anomaly: AnomalyConfig,
    /// Alert thresholds and hysteresis.
    pub alerts: AlertConfig,
    /// Hash of the policy in force, written into every signal.
    pub policy_hash: String,
    /// The policy's purpose allows publishing `regional_signals` (topic, API, gauges).
    pub allow_signals: bool,
    /// The policy's purpose allows raising `alerts`.
    pub allow_alerts: bool,
}

impl Settings {
    /// Settings from the `[sink]` section and the checked policy.
    pub fn new(cfg: &SinkConfig, policy: &Policy) -> Settings {
        Settings {
            base_secs: cfg.window_minutes as i64 * 60,
            lateness_secs: cfg.allowed_lateness_secs as i64,
            max_correction_secs: cfg.max_correction_days as i64 * 86_400,
            idle_secs: cfg.idle_partition_secs,
            day_offset_secs: cfg.day_offset_minutes as i64 * 60,
            k: policy.privacy.min_authors_per_cell,
            epsilon: policy.privacy.laplace_epsilon,
            hostile_threshold: cfg.hostile_threshold,
            weights: cfg.risk_weights,
            anomaly: cfg.anomaly,
            alerts: cfg.alerts,
            policy_hash: policy.hash(),
            allow_signals: policy.allows_output("regional_signals"),
            allow_alerts: policy.allows_output("alerts"),
        }
    }

    /// The resolutions maintained: the base window, hours (unless the base is an hour) and days.
    pub fn resolutions(&self) -> &'static [Res] {
        if self.base_secs >= 3600 {
            &[Res::Base, Res::Day]
        } else {
            &[Res::Base, Res::Hour, Res::Day]
        }
    }

    /// The stored code of a resolution: `5m`, `1h`, `1d`.
    pub fn code(&self, r: Res) -> String {
        match r {
            Res::Base if self.base_secs % 3600 == 0 => format!("{}h", self.base_secs / 3600),
            Res::Base => format!("{}m", self.base_secs / 60),
            Res::Hour => "1h".into(),
            Res::Day => "1d".into(),
        }
    }

    /// The resolution a stored code names, if any.
    pub fn res_of(&self, code: &str) -> Option<Res> {
        self.resolutions()
            .iter()
            .copied()
            .find(|r| self.code(*r) == code)
    }

    /// `[start, end)` in Unix seconds of the window of resolution `r` that contains `t`.
    pub fn window(&self, r: Res, t: i64) -> (i64, i64) {
        match r {
            Res::Base => {
                let s = t.div_euclid(self.base_secs) * self.base_secs;
                (s, s + self.base_secs)
            }
            Res::Hour => {
                let s = t.div_euclid(3600) * 3600;
                (s, s + 3600)
            }
            Res::Day => {
                // Local midnight: shift into local time, floor, shift back.
                let s =
                    (t + self.day_offset_secs).div_euclid(86_400) * 86_400 - self.day_offset_secs;
                (s, s + 86_400)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn settings() -> Settings {
        let policy =
            Policy::parse(include_str!("../../config/policy.toml"), "policy.toml").unwrap();
        Settings::new(&SinkConfig::default(), &policy)
    }

    fn ts(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn windows_tile_time_and_align() {
        let s = settings();
        assert_eq!(s.code(Res::Base), "5m");
        assert_eq!(s.res_of("1h"), Some(Res::Hour));
        let t = ts("2026-11-01T10:07:31Z");
        assert_eq!(
            s.window(Res::Base, t),
            (ts("2026-11-01T10:05:00Z"), ts("2026-11-01T10:10:00Z"))
        );
        // The end is exclusive: 10:10:00 starts the next window.
        assert_eq!(
            s.window(Res::Base, ts("2026-11-01T10:10:00Z")).0,
            ts("2026-11-01T10:10:00Z")
        );
        assert_eq!(
            s.window(Res::Base, ts("2026-11-01T10:09:59Z")).0,
            ts("2026-11-01T10:05:00Z")
        );
        assert_eq!(
            s.window(Res::Hour, t),
            (ts("2026-11-01T10:00:00Z"), ts("2026-11-01T11:00:00Z"))
        );
        // Local day in UTC+5: 2026-11-01 19:00 UTC is already 2 November locally.
        assert_eq!(
            s.window(Res::Day, t),
            (ts("2026-10-31T19:00:00Z"), ts("2026-11-01T19:00:00Z"))
        );
        assert_eq!(
            s.window(Res::Day, ts("2026-11-01T19:00:00Z")).0,
            ts("2026-11-01T19:00:00Z")
        );
        // Before the epoch too (div_euclid, not truncation).
        assert_eq!(s.window(Res::Base, -1), (-300, 0));
        // Every base window lies inside exactly one hour and one day.
        for k in 0..2000 {
            let t = ts("2026-11-01T00:00:00Z") + k * 97;
            let (bs, be) = s.window(Res::Base, t);
            let (hs, he) = s.window(Res::Hour, t);
            let (ds, de) = s.window(Res::Day, t);
            assert!(hs <= bs && be <= he && ds <= hs && he <= de);
            assert!(bs <= t && t < be);
        }
    }

    #[test]
    fn hourly_base_has_no_separate_hour_rollup() {
        let policy =
            Policy::parse(include_str!("../../config/policy.toml"), "policy.toml").unwrap();
        let cfg = SinkConfig {
            window_minutes: 60,
            ..SinkConfig::default()
        };
        let s = Settings::new(&cfg, &policy);
        assert_eq!(s.resolutions(), &[Res::Base, Res::Day]);
        assert_eq!(s.code(Res::Base), "1h");
    }
}
