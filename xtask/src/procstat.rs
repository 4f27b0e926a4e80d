//! CPU time and peak memory of a running process, from `/proc` (Linux).

use std::process::Command;

/// What `/proc/PID` says of a process at one moment.
pub struct ProcStat {
    /// User plus system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// The peak resident set size so far (`VmHWM`), in MiB.
    pub peak_rss_mib: f64,
}

impl ProcStat {
    /// Reads the figures of process `pid`.
    pub fn read(pid: u32) -> Result<Self, String> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
        // The command name may hold spaces: fields are counted after its closing parenthesis.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        #[allow(clippy::cast_precision_loss)]
        let cpu_seconds = (ticks(11) + ticks(12)) as f64 / clock_ticks_per_second();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read /proc/{pid}/status: {e}"))?;
        let peak_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        Ok(Self {
            cpu_seconds,
            peak_rss_mib: peak_kib / 1024.0,
        })
    }
}

/// `getconf CLK_TCK`, the unit of `/proc` CPU times (100 on every common Linux).
fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
