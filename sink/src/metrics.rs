//! The sink's Prometheus metrics (default registry, served on `/metrics` by every role).
//!
//! Per-region gauges carry only what a published signal carries: they are set from signals
//! with numbers, never from suppressed cells, so `/metrics` cannot leak a cell below k.

use prometheus::{
    register_counter, register_counter_vec, register_gauge, register_gauge_vec, register_histogram,
    Counter, CounterVec, Gauge, GaugeVec, Histogram,
};
use std::sync::LazyLock;

fn must<T>(r: prometheus::Result<T>) -> T {
    r.expect("metric registers once")
}

/// Posts applied to a window after it closed (corrections).
pub static LATE: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_late_posts_total",
        "Posts that arrived after their window closed and were applied as a correction"
    ))
});
/// Posts older than the correction horizon, dropped.
pub static TOO_LATE: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_too_late_posts_total",
        "Posts older than sink.max_correction_days behind the watermark, dropped"
    ))
});
/// Messages on posts.scored that are not valid scored posts, by reason.
pub static BAD: LazyLock<CounterVec> = LazyLock::new(|| {
    must(register_counter_vec!(
        "sarap_sink_bad_messages_total",
        "Messages on the scored topic that are not valid scored posts (skipped), by reason",
        &["reason"]
    ))
});
/// Posts without a region.
pub static UNLOCATED: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_unlocated_posts_total",
        "Scored posts with region unknown, not aggregated"
    ))
});
/// Messages skipped because the store already covers their offset.
pub static SKIPPED: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_skipped_applied_total",
        "Redelivered messages skipped because the store already covers their offset"
    ))
});
/// Signals published, by resolution.
pub static PUBLISHED: LazyLock<CounterVec> = LazyLock::new(|| {
    must(register_counter_vec!(
        "sarap_sink_signals_total",
        "Signals published (first publications and corrections), by resolution",
        &["resolution"]
    ))
});
/// Base-window signals acknowledged on `signals.regional`, per region (suppressed included):
/// a region whose counter stops moving has gone silent.
pub static SIGNALS_PUBLISHED: LazyLock<CounterVec> = LazyLock::new(|| {
    must(register_counter_vec!(
        "sarap_signals_published_total",
        "Base-window signals acknowledged on signals.regional, per region (suppressed included)",
        &["region"]
    ))
});
/// Signals suppressed below k, by resolution.
pub static SUPPRESSED: LazyLock<CounterVec> = LazyLock::new(|| {
    must(register_counter_vec!(
        "sarap_sink_suppressed_total",
        "Signals published as suppressed (fewer distinct authors than the policy's k), by resolution",
        &["resolution"]
    ))
});
/// Alerts raised.
pub static ALERTS_RAISED: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_alerts_raised_total",
        "Alerts raised (each stays open until an analyst reviews it)"
    ))
});
/// Cells held in memory.
pub static OPEN_CELLS: LazyLock<Gauge> = LazyLock::new(|| {
    must(register_gauge!(
        "sarap_sink_cells_in_memory",
        "Cells held in memory: regions × open windows, plus closed ones until their commit"
    ))
});
/// Watermark per partition.
pub static WATERMARK: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_sink_watermark_seconds",
        "Event-time watermark (newest event time − allowed lateness) per input partition, Unix seconds",
        &["partition"]
    ))
});
/// Store transaction duration.
pub static COMMIT_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    must(register_histogram!(
        "sarap_sink_commit_seconds",
        "Duration of one store transaction (cells, offsets, baselines, alerts, outbox)",
        prometheus::exponential_buckets(0.0005, 2.0, 14).expect("valid buckets")
    ))
});
/// Store conflicts (another instance moved a partition or cell on).
pub static CONFLICTS: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_store_conflicts_total",
        "Commits refused because another writer moved a partition or cell on; state reloaded"
    ))
});
/// Seeks back to the store's position after the broker resumed beyond it.
pub static SEEKS: LazyLock<Counter> = LazyLock::new(|| {
    must(register_counter!(
        "sarap_sink_offset_seeks_total",
        "Seeks back to the store's position because the group's offset was ahead of the store"
    ))
});
/// Risk index of each region's latest published base window.
pub static REGION_RISK: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_risk",
        "Risk index (0..1) of the region's latest published base window",
        &["region"]
    ))
});
/// Anomaly score of each region's latest published base window.
pub static REGION_ANOMALY: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_anomaly",
        "Anomaly score (z against the region's own baseline) of its latest published base window",
        &["region"]
    ))
});
/// Alert level of each region.
pub static REGION_ALERT_LEVEL: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_alert_level",
        "Active alert level of the region: 0 none, 1 elevated, 2 high (review state via the API)",
        &["region"]
    ))
});
/// Posts in each region's latest published base window.
pub static REGION_POSTS: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_posts",
        "Posts in the region's latest published, unsuppressed base window",
        &["region"]
    ))
});
/// Hostility rate of each region's latest published base window.
pub static REGION_HOSTILITY: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_hostility_rate",
        "Share of hostile posts in the region's latest published, unsuppressed base window",
        &["region"]
    ))
});
/// Whether the region's latest base window was suppressed.
pub static REGION_SUPPRESSED: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_suppressed",
        "1 when the region's latest base window had fewer distinct authors than k",
        &["region"]
    ))
});
/// End of each region's latest published base window.
pub static REGION_WINDOW_END: LazyLock<GaugeVec> = LazyLock::new(|| {
    must(register_gauge_vec!(
        "sarap_region_window_end_seconds",
        "End of the region's latest published base window, Unix seconds (freshness)",
        &["region"]
    ))
});

/// Sets the per-region gauges from a published base-window signal and the region's alert level.
pub fn set_region(s: &sarap_core::RegionalSignal, alert_level: u8) {
    let r = s.region.as_str();
    REGION_WINDOW_END
        .with_label_values(&[r])
        .set(s.window.end.timestamp() as f64);
    REGION_ALERT_LEVEL
        .with_label_values(&[r])
        .set(alert_level as f64);
    REGION_SUPPRESSED
        .with_label_values(&[r])
        .set(if s.suppressed { 1.0 } else { 0.0 });
    if s.suppressed {
        // Keep the last unsuppressed numbers rather than publishing anything about this cell.
        return;
    }
    if let Some(v) = s.risk {
        REGION_RISK.with_label_values(&[r]).set(v as f64);
    }
    if let Some(v) = s.anomaly {
        REGION_ANOMALY.with_label_values(&[r]).set(v as f64);
    }
    if let Some(v) = s.n_posts {
        REGION_POSTS.with_label_values(&[r]).set(v as f64);
    }
    if let Some(v) = s.hostility_rate {
        REGION_HOSTILITY.with_label_values(&[r]).set(v as f64);
    }
}
