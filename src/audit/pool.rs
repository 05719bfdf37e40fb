//! The thread pool that parses and runs the rules: threads with deep stacks, started with
//! what the process may have.

use crate::audit::error::AuditError;

/// Syntax trees are walked (and dropped) recursively: a 10,000-deep nesting of brackets or a
/// 20,000-term expression needs far more than the default 2 MiB thread stack. Stacks are
/// reserved address space, so a large one costs memory only when a file needs it.
const WORKER_STACK: usize = 512 << 20;

/// The thread pool that parses: threads with deep stacks. Started by [`load`] (which says
/// when it cannot be): only call this after it.
pub(crate) fn deep_pool() -> &'static rayon::ThreadPool {
    try_deep_pool().expect("the parser threads were started before")
}

/// The parser pool, started on first use with as many threads and as deep stacks as the
/// process may have: under an address-space or process limit (`ulimit -v`, a container's
/// pids limit) fewer threads, then smaller stacks; an error only when not one thread starts.
pub(crate) fn try_deep_pool() -> Result<&'static rayon::ThreadPool, AuditError> {
    static POOL: std::sync::OnceLock<Result<rayon::ThreadPool, String>> =
        std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let wanted = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        let (pool, threads, stack) = start_pool(wanted, stack_budget(), build_deep_pool)?;
        if threads < wanted || stack < WORKER_STACK {
            eprintln!(
                "svc: warning: memory or process limit: {threads} of {wanted} parser threads, \
                 with {} MiB stacks{}: the audit may be slower{}",
                stack >> 20,
                match stack < WORKER_STACK {
                    true => format!(" instead of {} MiB", WORKER_STACK >> 20),
                    false => String::new(),
                },
                match stack < WORKER_STACK {
                    true => ", and very deeply nested code may overflow them",
                    false => "",
                },
            );
        }
        Ok(pool)
    })
    .as_ref()
    .map_err(|e| AuditError::Threads(e.clone()))
}

/// Stack sizes tried, deepest first: a smaller stack only limits how deeply nested the code
/// it can audit may be.
const FALLBACK_STACKS: [usize; 4] = [WORKER_STACK, WORKER_STACK / 4, WORKER_STACK / 16, 8 << 20];

/// Start a pool with `build(threads, stack)`: `wanted` threads with the deepest stack, else
/// half as many, ... one; then the same with smaller stacks. Stacks are reserved address
/// space: under a `budget` of it only what fits is tried (the smallest pool in any case).
/// The pool and what it got, or the last error.
fn start_pool<P, E: std::fmt::Display>(
    wanted: usize,
    budget: Option<usize>,
    mut build: impl FnMut(usize, usize) -> Result<P, E>,
) -> Result<(P, usize, usize), String> {
    let smallest = FALLBACK_STACKS[FALLBACK_STACKS.len() - 1];
    let mut last = String::from("no thread could be started");
    for stack in FALLBACK_STACKS {
        let mut threads = wanted.max(1);
        loop {
            let fits = budget.is_none_or(|b| threads.saturating_mul(stack) <= b);
            if fits || (threads == 1 && stack == smallest) {
                match build(threads, stack) {
                    Ok(pool) => return Ok((pool, threads, stack)),
                    Err(e) => last = e.to_string(),
                }
            }
            if threads == 1 {
                break;
            }
            threads /= 2;
        }
    }
    Err(last)
}

/// Address space the parser threads' stacks may take under an address-space limit
/// (`ulimit -v`): half of what the limit leaves, the rest for the audit's memory. None
/// without a limit (or off Linux).
fn stack_budget() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let limit: usize = limits
        .lines()
        .find(|l| l.starts_with("Max address space"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let used_kib: usize = status
        .lines()
        .find(|l| l.starts_with("VmSize:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(limit.saturating_sub(used_kib << 10) / 2)
}

/// One attempt at the pool. A failed one stops the threads it started: they are waited for,
/// so that the next attempt has their stacks' address space back.
fn build_deep_pool(threads: usize, stack: usize) -> Result<rayon::ThreadPool, String> {
    let started = std::sync::Mutex::new(Vec::new());
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .spawn_handler(|thread| {
            let handle = std::thread::Builder::new()
                .name(format!("svc-parse-{}", thread.index()))
                .stack_size(stack)
                .spawn(|| thread.run())?;
            started.lock().expect("pool start lock").push(handle);
            Ok(())
        })
        .build();
    match built {
        // The threads run until the process exits.
        Ok(pool) => Ok(pool),
        Err(e) => {
            for handle in started.into_inner().expect("pool start lock") {
                let _ = handle.join();
            }
            Err(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool of `threads` threads with `stack`-byte stacks, as the fake builds below record.
    type Started = (usize, usize);

    #[test]
    fn the_pool_falls_back_to_fewer_threads_then_smaller_stacks() {
        // Room for 500 MiB of stacks (unknown to svc): four, two, one of 512 MiB fail, and
        // four of 128 MiB; two of 128 MiB start.
        let mut tried = Vec::new();
        let (started, threads, stack) = start_pool(4, None, |threads, stack| {
            tried.push((threads, stack >> 20));
            match threads * stack <= 500 << 20 {
                true => Ok::<Started, String>((threads, stack)),
                false => Err("Resource temporarily unavailable".to_string()),
            }
        })
        .unwrap();
        assert_eq!(tried, [(4, 512), (2, 512), (1, 512), (4, 128), (2, 128)]);
        assert_eq!((threads, stack), (2, 128 << 20));
        assert_eq!(started, (2, 128 << 20));

        // A known budget of address space: what cannot fit is not even tried.
        let mut tried = Vec::new();
        let (_, threads, stack) = start_pool(8, Some(300 << 20), |threads, stack| {
            tried.push((threads, stack >> 20));
            Ok::<Started, String>((threads, stack))
        })
        .unwrap();
        assert_eq!(tried, [(2, 128)]);
        assert_eq!((threads, stack), (2, 128 << 20));

        // Below every candidate: the smallest is tried anyway.
        let (_, threads, stack) =
            start_pool(8, Some(1 << 20), |t, s| Ok::<Started, String>((t, s))).unwrap();
        assert_eq!((threads, stack), (1, 8 << 20));
    }

    #[test]
    fn a_pool_that_cannot_start_is_an_error_naming_why() {
        let mut attempts = 0;
        let err = start_pool(3, None, |_, _| {
            attempts += 1;
            Err::<Started, _>("Resource temporarily unavailable (os error 11)")
        })
        .unwrap_err();
        // 3, 1 thread(s) for each of the four stack sizes.
        assert_eq!(attempts, 8);
        assert_eq!(err, "Resource temporarily unavailable (os error 11)");
        let shown = AuditError::Threads(err).to_string();
        assert_eq!(
            shown,
            "cannot start the audit's threads: Resource temporarily unavailable (os error 11)"
        );
    }
}
