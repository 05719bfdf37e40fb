//! The `SVC_TIMINGS` profiler: how long each phase of an audit took, on stderr.

pub(crate) fn timings_enabled() -> bool {
    std::env::var_os("SVC_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `SVC_TIMINGS=1` prints how long each phase of an audit took, on stderr: the first thing
/// to look at when an audit is slow (BENCHMARKS.md).
pub(crate) struct Timer {
    last: Option<(std::time::Instant, f64)>,
}

impl Timer {
    pub(crate) fn start() -> Timer {
        Timer {
            last: timings_enabled().then(|| (std::time::Instant::now(), cpu_seconds())),
        }
    }

    pub(crate) fn mark(&mut self, phase: &str) {
        if let Some((last, last_cpu)) = self.last {
            let (now, cpu) = (std::time::Instant::now(), cpu_seconds());
            let wall = (now - last).as_secs_f64();
            // CPU time over wall time: how many cores the phase kept busy.
            let cores = (cpu - last_cpu) / wall;
            eprintln!(
                "svc: timing: {phase}: {:.1} ms{}{}",
                wall * 1e3,
                if cores.is_finite() {
                    format!(", {cores:.2} cores")
                } else {
                    String::new()
                },
                resident().map_or(String::new(), |kib| format!(
                    ", resident {} MiB",
                    kib / 1024
                ))
            );
            self.last = Some((now, cpu));
        }
    }
}

/// CPU time of the process's live threads in seconds (Linux; NaN elsewhere). Threads that
/// have ended (the walker's) are not counted.
fn cpu_seconds() -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return f64::NAN;
    };
    let nanos: u64 = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    nanos as f64 / 1e9
}

/// The process's resident memory in KiB (Linux), for the timings.
fn resident() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
