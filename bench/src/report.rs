//! A run's results: JSON (everything measured) and Markdown (the tables of
//! docs/benchmarks.md: targets first, then each figure).

use std::fmt::Write as _;

use serde::Serialize;

use crate::figures::coalescing::{Coalescing, Day};
use crate::figures::decode::{Decode, Pass};
use crate::figures::latency::Latency;
use crate::figures::mass_update::{peak, MassUpdate};
use crate::figures::reader_kafka::ReaderKafka;
use crate::machine::Machine;
use crate::stats::thousands;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub mode: String,
    pub rows: u64,
    pub decode: Option<Decode>,
    pub reader_kafka: Option<ReaderKafka>,
    pub latency: Option<Latency>,
    pub mass_update: Option<MassUpdate>,
    pub coalescing: Option<Coalescing>,
    /// `/proc/loadavg` before each figure: what else the machine was doing.
    pub load_averages: Vec<(String, String)>,
    /// Figures that failed, with the error.
    pub errors: Vec<(String, String)>,
    pub finished_at: Option<String>,
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn cores(list: &[(String, f64)]) -> String {
    list.iter()
        .map(|(n, c)| format!("{n} {c:.2}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Report {
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(
            md,
            "Run of {} ({} mode, {} users), on {}.\n",
            m.started_at,
            self.mode,
            thousands(self.rows as f64),
            m.line()
        );
        if !self.load_averages.is_empty() {
            let _ = writeln!(
                md,
                "Load average (1, 5, 15 min) before each figure: {}.\n",
                self.load_averages
                    .iter()
                    .map(|(f, l)| format!("{f} {l}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        md.push_str(&self.targets());
        if let Some(d) = &self.decode {
            md.push_str(&decode_md(d));
        }
        if let Some(r) = &self.reader_kafka {
            let _ = writeln!(
                md,
                "### 2. Reader → Kafka\n\n| run | rows | seconds | rows/s published and acknowledged | peak RSS | CPU (cores) |\n|---|---:|---:|---:|---:|---|"
            );
            for run in [
                Some(&r.reader),
                r.reader_jemalloc.as_ref(),
                r.broker_ceiling.as_ref(),
            ]
            .into_iter()
            .flatten()
            {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | **{}** | {} | {} |",
                    run.label,
                    thousands(run.rows as f64),
                    run.secs,
                    thousands(run.rows_per_s),
                    if run.peak_rss_mib > 0.0 {
                        format!("{:.1} MiB", run.peak_rss_mib)
                    } else {
                        "–".into()
                    },
                    cores(&run.cpu_cores)
                );
            }
            let _ = writeln!(
                md,
                "\n{} partitions, {} compression, idempotent producer with `acks=all`, at most 10,000 messages in flight; the broker is the local stack's tansu (SQLite storage).\n",
                r.partitions, r.compression
            );
        }
        if let Some(l) = &self.latency {
            let _ = writeln!(
                md,
                "### 3. End-to-end latency (commit → applied), {} s per rate after a {} s warm-up\n\n| rate | HubSpot limit | changes | achieved rate | HubSpot p50 / p99 / max (ms) | MySQL p50 / p99 / max (ms) | of which commit → produced, → on the topic p50 / p99 (ms) | not applied (HubSpot / MySQL) | HubSpot calls | CPU (cores) |\n|---|---:|---:|---:|---|---|---|---|---:|---|",
                l.duration_secs, l.warm_up_secs
            );
            for r in &l.runs {
                let _ = writeln!(
                    md,
                    "| {} | {}/10 s | {} | {}/s | {} / **{}** / {} | {} / **{}** / {} | {} / {}, {} / {} | {} / {} | {} | {} |",
                    r.label,
                    thousands(r.hubspot_limit as f64),
                    thousands(r.measured_changes as f64),
                    thousands(r.achieved_rate),
                    r.hubspot.p50_ms,
                    r.hubspot.p99_ms,
                    r.hubspot.max_ms,
                    r.mysql.p50_ms,
                    r.mysql.p99_ms,
                    r.mysql.max_ms,
                    r.produced.p50_ms,
                    r.produced.p99_ms,
                    r.on_topic.p50_ms,
                    r.on_topic.p99_ms,
                    r.hubspot_missing,
                    r.mysql_missing,
                    thousands(r.hubspot_calls as f64),
                    cores(&r.cpu_cores)
                );
            }
            md.push('\n');
        }
        if let Some(u) = &self.mass_update {
            let _ = writeln!(
                md,
                "### 4. Mass update of {} users\n\n| | reader | sink hubspot | sink crm |\n|---|---:|---:|---:|\n| peak RSS (max of VmHWM and 100 ms VmRSS samples) | {:.1} MiB | {:.1} MiB | {:.1} MiB |\n| done after the commit | {:.1} s | {:.1} s | {:.1} s |\n\nThe UPDATE itself took {:.1} s in MariaDB. HubSpot batch calls: **{}** (minimum {}; by route: {}; 429s: {}). Contacts in the simulator: {}; rows in the target: {}. CPU meanwhile (cores): {}.\n",
                thousands(u.rows as f64),
                peak(&u.reader_rss),
                peak(&u.hubspot_sink_rss),
                peak(&u.mysql_sink_rss),
                u.reader_secs,
                u.hubspot_drain_secs,
                u.mysql_drain_secs,
                u.update_secs,
                thousands(u.hubspot_calls.batch_calls as f64),
                thousands(u.minimum_calls as f64),
                routes(&u.hubspot_calls.by_route),
                u.hubspot_calls.rate_limited,
                thousands(u.contacts as f64),
                thousands(u.target_rows as f64),
                cores(&u.cpu_cores)
            );
        }
        if let Some(c) = &self.coalescing {
            let _ = writeln!(
                md,
                "### 5. Coalescing: a day of {} users\n\n| day | changed users | change events (users / details) | HubSpot calls | minimum (users/100) | one call per event |\n|---|---:|---:|---:|---:|---:|",
                thousands(c.users as f64)
            );
            for d in [&c.streamed, &c.backlog] {
                md.push_str(&day_row(d));
            }
            let _ = writeln!(
                md,
                "\nThe initial sync of the {} users (not counted above) took {} calls.\n",
                thousands(c.users as f64),
                thousands(c.initial_sync_calls as f64)
            );
        }
        for (figure, error) in &self.errors {
            let _ = writeln!(md, "**{figure} failed:** {error}\n");
        }
        md
    }

    fn targets(&self) -> String {
        let mut md =
            String::from("### Targets\n\n| target | goal | measured | |\n|---|---|---|---|\n");
        if let Some(d) = &self.decode {
            let best = d
                .peers
                .iter()
                .map(|p| p.pass.rows_per_s)
                .fold(0.0, f64::max);
            if let Some(ratio) = d.ratio {
                let _ = writeln!(
                    md,
                    "| decode vs the Python peer | ≥ 10× | {ratio:.1}× ({} vs {} rows/s) | {} |",
                    thousands(d.ours.rows_per_s),
                    thousands(best),
                    verdict(ratio >= 10.0)
                );
            }
        }
        if let Some(r) = &self.reader_kafka {
            let _ = writeln!(
                md,
                "| reader → Kafka | ≥ 100,000 rows/s | {} rows/s{} | {} |",
                thousands(r.reader.rows_per_s),
                r.broker_ceiling
                    .as_ref()
                    .map(|c| format!(" (the broker alone takes {}/s)", thousands(c.rows_per_s)))
                    .unwrap_or_default(),
                verdict(r.reader.rows_per_s >= 100_000.0)
            );
        }
        if let Some(l) = &self.latency {
            if let Some(r) = l
                .runs
                .iter()
                .find(|r| r.target_rate == 1_000 && r.hubspot_limit > 100)
            {
                let worst = r.hubspot.p99_ms.max(r.mysql.p99_ms);
                let _ = writeln!(
                    md,
                    "| p99 at 1,000 changes/s | < 1 s | HubSpot {} ms, MySQL {} ms | {} |",
                    r.hubspot.p99_ms,
                    r.mysql.p99_ms,
                    verdict(worst < 1000.0 && r.hubspot_missing == 0 && r.mysql_missing == 0)
                );
            }
        }
        if let Some(u) = &self.mass_update {
            let peaks = [
                peak(&u.reader_rss),
                peak(&u.hubspot_sink_rss),
                peak(&u.mysql_sink_rss),
            ];
            let _ = writeln!(
                md,
                "| peak RSS per process, {}-row mass update | < 64 MiB | reader {:.1}, sink hubspot {:.1}, sink crm {:.1} MiB | {} |",
                thousands(u.rows as f64),
                peaks[0],
                peaks[1],
                peaks[2],
                verdict(peaks.iter().all(|p| *p < 64.0))
            );
            let _ = writeln!(
                md,
                "| HubSpot calls, mass update | ≤ 1.05 × users/100 | {} for {} | {} |",
                thousands(u.hubspot_calls.batch_calls as f64),
                thousands(u.minimum_calls as f64),
                verdict(u.hubspot_calls.batch_calls as f64 <= 1.05 * u.minimum_calls as f64)
            );
        }
        if let Some(c) = &self.coalescing {
            for d in [&c.backlog, &c.streamed] {
                let _ = writeln!(
                    md,
                    "| HubSpot calls, a day ({}) | ≤ 1.05 × changed users/100 | {} for {} ({} events) | {} |",
                    d.mode,
                    d.calls.batch_calls,
                    d.minimum_calls,
                    d.events,
                    verdict(d.calls.batch_calls as f64 <= 1.05 * d.minimum_calls as f64)
                );
            }
        }
        md.push('\n');
        md
    }
}

fn routes(r: &std::collections::BTreeMap<String, u64>) -> String {
    r.iter()
        .map(|(k, v)| format!("`{k}` {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn day_row(d: &Day) -> String {
    format!(
        "| {} | {} | {} ({} / {}) | **{}** ({}) | {} | {} |\n",
        d.mode,
        d.changed_users,
        d.events,
        d.users_table_events,
        d.cim_table_events,
        d.calls.batch_calls,
        routes(&d.calls.by_route),
        d.minimum_calls,
        d.events
    )
}

fn pass_row(name: &str, p: &Pass) -> String {
    format!(
        "| {name} | {} | **{}** | {} | {:.1} | {:.2} | {} |\n",
        p.secs,
        thousands(p.rows_per_s),
        thousands(p.events_per_s),
        p.mib_per_s,
        p.cpu_cores,
        p.server_cpu_cores
            .map(|c| format!("{c:.2}"))
            .unwrap_or_else(|| "–".into())
    )
}

fn decode_md(d: &Decode) -> String {
    let mut md = format!(
        "### 1. Binlog decode, no Kafka\n\n{} rows in {} transactions of 1,000; {} binlog events ({} rows events), {:.0} MiB of binlog.\n\n| decoder | seconds | rows/s | events/s | MiB/s | decoder CPU (cores) | mariadbd CPU (cores) |\n|---|---:|---:|---:|---:|---:|---:|\n",
        thousands(d.source.rows as f64),
        thousands(d.source.rows.div_ceil(1000) as f64),
        thousands(d.binlog_events as f64),
        thousands(d.row_events as f64),
        d.source.binlog_bytes as f64 / 1_048_576.0
    );
    md.push_str(&pass_row("cdc_source_mysql::BinlogReader", &d.ours));
    md.push_str(&pass_row(
        "… + JSON encoding of each event",
        &d.ours_with_json,
    ));
    if let Some(p) = &d.ours_jemalloc {
        md.push_str(&pass_row(
            "BinlogReader, jemalloc preloaded (experiment, not the shipped binary)",
            p,
        ));
    }
    for p in &d.peers {
        md.push_str(&pass_row(
            &format!("{} (Python), {}", p.library, p.label),
            &p.pass,
        ));
    }
    for e in &d.peer_errors {
        let _ = writeln!(md, "| mysql-replication (Python) | failed: {e} | | | | | |");
    }
    if let Some(r) = d.ratio {
        let _ = writeln!(
            md,
            "\nRatio (rows/s, ours / the faster peer pass): **{r:.1}×**."
        );
    }
    md.push('\n');
    md
}
