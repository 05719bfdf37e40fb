//! `svc new` under bad conditions: a read-only parent, a full disk, a process killed while it
//! writes. Whatever happens, the target is untouched or complete, and after an error or
//! SIGINT/SIGTERM no temporary directory is left next to it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::fault::{self, Finished, Locked, Tmpfs, entries, flat, run_bounded};

const LIMIT: Duration = Duration::from_secs(60);

/// Every file under `root` with its contents and mode, sorted: equal dumps, equal trees.
fn dump(root: &Path) -> Vec<(String, u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u32, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let mode = fs::symlink_metadata(&path).unwrap().permissions().mode();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                out.push((rel, mode, Vec::new()));
                walk(root, &path, out);
            } else {
                out.push((rel, mode, fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Temporary directories `svc new` leaves only when it cannot help it.
fn leftovers(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.starts_with(".svc-"))
        .collect()
}

/// A template of `files` plain files (copied, so rendering is quick and writing is most of
/// the run) plus a rendered one, and optionally one file of `big` bytes.
fn big_template(dir: &Path, files: usize, big: usize) -> PathBuf {
    let root = dir.join("tpl");
    fs::create_dir_all(&root).unwrap();
    fs::write(
        root.join("template.toml"),
        "[template]\nname = \"bulk\"\nversion = \"1\"\n",
    )
    .unwrap();
    fs::write(root.join("README.md.tera"), "# {{ name }}\n").unwrap();
    for i in 0..files {
        let sub = root.join(format!("pkg{}", i % 20));
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n")).unwrap();
    }
    if big > 0 {
        fs::write(root.join("big.bin"), vec![b'x'; big]).unwrap();
    }
    root
}

fn svc() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_svc"));
    cmd.env("NO_COLOR", "1")
        .env("SOURCE_DATE_EPOCH", "1900000000");
    cmd
}

fn assert_failed_cleanly(run: &Finished, message: &str) {
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.code(), 2, "stderr: {}", run.stderr);
    assert!(
        flat(&run.stderr).contains(message),
        "expected {message:?} in:\n{}",
        run.stderr
    );
}

#[test]
fn a_read_only_parent_is_an_error_and_nothing_changes() {
    let dir = fault::open_tempdir();
    let parent = dir.path().join("services");
    fs::create_dir_all(parent.join("existing/old")).unwrap();
    fs::write(parent.join("existing/old/keep.txt"), "mine").unwrap();
    fault::chmod(&parent.join("existing"), 0o755);
    fault::chmod(&parent.join("existing/old"), 0o755);
    let before = dump(&parent);
    let _locked = Locked::new(&parent, 0o555);

    // --force writes into `existing` itself, which only its owner may write in.
    for (target, extra, message) in [
        ("fresh", None, "cannot create a temporary directory in ."),
        ("existing", Some("--force"), "cannot create existing/"),
    ] {
        let mut cmd = fault::svc_unprivileged(dir.path());
        cmd.current_dir(&parent)
            .args(["new", target, "--variant", "_test", "--yes"])
            .args(extra);
        let run = run_bounded(&mut cmd, LIMIT);
        assert_failed_cleanly(&run, message);
        assert_failed_cleanly(&run, "Permission denied (os error 13)");
        assert_eq!(dump(&parent), before, "{target}");
    }
}

#[test]
fn a_full_disk_is_an_error_that_leaves_no_partial_target_and_frees_the_space() {
    let dir = tempfile::tempdir().unwrap();
    let template = big_template(dir.path(), 20, 1 << 20);
    let disk = dir.path().join("disk");
    fs::create_dir(&disk).unwrap();
    // A real full disk where mounting is allowed (root, as in CI); elsewhere a file size
    // limit, under which the write of the 1 MiB file fails with EFBIG instead of ENOSPC.
    let mounted = Tmpfs::mount(&disk, "256k");
    let run = |args: &[&str]| {
        let mut cmd = match mounted {
            Some(_) => svc(),
            None => {
                let mut cmd = Command::new("sh");
                cmd.args(["-c", r#"trap "" XFSZ; ulimit -f 128; exec "$0" "$@""#])
                    .arg(env!("CARGO_BIN_EXE_svc"))
                    .env("NO_COLOR", "1");
                cmd
            }
        };
        cmd.current_dir(&disk)
            .args(["new", "orders-api", "--yes", "--template"])
            .arg(&template)
            .args(args);
        run_bounded(&mut cmd, LIMIT)
    };
    let reason = match mounted {
        Some(_) => "No space left on device (os error 28)",
        None => "File too large (os error 27)",
    };

    let out = run(&[]);
    assert_failed_cleanly(&out, "cannot write");
    assert_failed_cleanly(&out, reason);
    assert!(entries(&disk).is_empty(), "{:?}", entries(&disk));

    // With --force, the project in the way is kept as it was.
    fs::create_dir(disk.join("orders-api")).unwrap();
    fs::write(disk.join("orders-api/keep.txt"), "mine").unwrap();
    let out = run(&["--force"]);
    assert_failed_cleanly(&out, reason);
    assert_eq!(entries(&disk), ["orders-api"]);
    assert_eq!(entries(&disk.join("orders-api")), ["keep.txt"]);

    if mounted.is_some() {
        // The space the failed runs took is back.
        fs::write(disk.join("filler"), vec![0u8; 200 << 10]).unwrap();
    }
}

/// Where a signal landed, as the aftermath shows.
#[derive(Debug, PartialEq)]
enum Landed {
    /// The target does not exist: the run was stopped before the move.
    BeforeTheMove,
    /// The run finished first, or was stopped after the move: the project is complete.
    AfterTheMove,
}

/// Starts `svc new` in `parent`, waits until its temporary directory appears (the write has
/// begun), waits `delay` more and sends `signal`; checks the aftermath against `reference`.
fn interrupt_once(
    template: &Path,
    parent: &Path,
    signal: &str,
    delay: Duration,
    reference: &[(String, u32, Vec<u8>)],
) -> Landed {
    /// A failed assertion must not leave the process running.
    struct Reaped(std::process::Child);
    impl Drop for Reaped {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    fs::create_dir_all(parent).unwrap();
    let child = svc()
        .current_dir(parent)
        .args(["new", "orders-api", "--yes", "--template"])
        .arg(template)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Reaped(child);
    let child = &mut child.0;
    let start = Instant::now();
    while leftovers(parent).is_empty() && child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < LIMIT, "svc new never started writing");
        std::thread::sleep(Duration::from_micros(200));
    }
    std::thread::sleep(delay);
    // Fails only when the child has exited already, which the aftermath shows.
    let _ = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status();
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "svc new did not stop on {signal}"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");

    let target = parent.join("orders-api");
    let landed = if target.exists() {
        assert!(
            dump(&target) == reference,
            "{signal} after {delay:?}: the target is incomplete"
        );
        Landed::AfterTheMove
    } else {
        Landed::BeforeTheMove
    };
    match signal {
        "KILL" => {
            // A temporary directory may stay behind: named so that users recognise it.
            for left in leftovers(parent) {
                assert!(left.starts_with(".svc-new-orders-api-"), "{left}");
            }
        }
        _ => {
            assert_eq!(
                leftovers(parent),
                Vec::<String>::new(),
                "{signal} {delay:?}"
            );
            match status.code() {
                Some(0) => assert_eq!(landed, Landed::AfterTheMove),
                Some(130) if landed == Landed::BeforeTheMove => assert!(
                    stderr.contains("interrupted; nothing was written to orders-api"),
                    "{stderr}"
                ),
                Some(130) => assert!(
                    stderr.contains("interrupted after the project was complete"),
                    "{stderr}"
                ),
                _ => panic!("{signal} after {delay:?}: {status:?}\n{stderr}"),
            }
        }
    }
    landed
}

#[test]
fn killed_mid_write_the_target_is_absent_or_complete() {
    let dir = tempfile::tempdir().unwrap();
    let template = big_template(dir.path(), 2_000, 0);
    let reference_parent = dir.path().join("reference");
    fs::create_dir(&reference_parent).unwrap();
    let mut cmd = svc();
    cmd.current_dir(&reference_parent)
        .args(["new", "orders-api", "--yes", "--template"])
        .arg(&template);
    let out = run_bounded(&mut cmd, LIMIT);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let reference = dump(&reference_parent.join("orders-api"));
    assert!(reference.len() > 2_000);

    let delays = [0, 2, 10, 40, 150, 1000].map(Duration::from_millis);
    for signal in ["KILL", "INT", "TERM"] {
        let mut stopped_before = 0;
        for (i, delay) in delays.iter().enumerate() {
            let parent = dir.path().join(format!("{signal}-{i}"));
            let landed = interrupt_once(&template, &parent, signal, *delay, &reference);
            stopped_before += usize::from(landed == Landed::BeforeTheMove);
            if signal != "KILL" {
                continue;
            }
            // Whatever SIGKILL left, the same command works again (with --force when the
            // project is already there).
            let mut again = svc();
            again
                .current_dir(&parent)
                .args(["new", "orders-api", "--yes", "--template"])
                .arg(&template);
            if landed == Landed::AfterTheMove {
                again.arg("--force");
            }
            let out = run_bounded(&mut again, LIMIT);
            assert_eq!(out.code(), 0, "{signal} {delay:?}: {}", out.stderr);
            assert!(dump(&parent.join("orders-api")) == reference);
            for left in leftovers(&parent) {
                assert!(left.starts_with(".svc-new-orders-api-"), "{left}");
            }
        }
        // The signal must have hit writes in progress, or this test proves nothing.
        assert!(
            stopped_before >= 2,
            "{signal}: only {stopped_before} of {} runs were stopped mid-write",
            delays.len()
        );
    }
}
