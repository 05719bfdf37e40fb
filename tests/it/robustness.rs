//! Bad input never crashes an audit: each bad file is one clear finding and the rest of the
//! repository is still audited.

use std::path::Path;

use svc::audit::{AuditOptions, audit};

use crate::util::write_file as write;

fn findings(dir: &Path) -> Vec<String> {
    let outcome = audit(&AuditOptions {
        paths: vec![dir.to_path_buf()],
        isolated: true,
        select: vec!["SV".into(), "print-call".into()],
        ..AuditOptions::default()
    })
    .unwrap();
    outcome
        .report
        .findings
        .iter()
        .map(|f| format!("{}:{} {}", f.path, f.line, f.name))
        .collect()
}

#[test]
fn deep_nesting_long_chains_binary_and_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "svc/pyproject.toml",
        b"[project]\nname = \"m\"\nversion = \"0\"\n",
    );
    write(
        d,
        "svc/main.py",
        b"from fastapi import FastAPI\n\napp = FastAPI()\nprint(1)\n",
    );
    // 10,000 nested brackets, a 20,000-term expression, 300 nested blocks.
    let deep = format!("x = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    write(d, "svc/deep_list.py", deep.as_bytes());
    let chain = format!("y = {}\n", vec!["1"; 20_000].join(" + "));
    write(d, "svc/long_chain.py", chain.as_bytes());
    let mut blocks = String::new();
    for i in 0..300 {
        blocks.push_str(&format!("{}if x:\n", "    ".repeat(i)));
    }
    blocks.push_str(&format!("{}pass\n", "    ".repeat(300)));
    write(d, "svc/deep_blocks.py", blocks.as_bytes());
    write(
        d,
        "svc/binary.py",
        [0x00, 0xff, 0xfe, 0x13, 0x37, 0x00, 0x80],
    );
    write(d, "svc/latin1.py", b"NAME = \"caf\xe9\"\n");
    write(d, "svc/broken.py", b"def f(:\n    pass\n");
    write(d, "svc/empty.py", b"");
    write(d, "svc/big.py", "value = 1\n".repeat(200_000).as_bytes());
    assert_eq!(
        findings(d),
        vec![
            "svc/binary.py:1 unreadable-file",
            "svc/broken.py:1 syntax-error",
            "svc/latin1.py:1 unreadable-file",
            "svc/main.py:4 print-call",
        ]
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_dangling_links_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "svc/pyproject.toml",
        b"[project]\nname = \"m\"\nversion = \"0\"\n",
    );
    write(
        d,
        "svc/main.py",
        b"from fastapi import FastAPI\n\napp = FastAPI()\nprint(1)\n",
    );
    std::os::unix::fs::symlink("..", d.join("svc/loop")).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.py", d.join("svc/dangling.py")).unwrap();
    assert_eq!(findings(d), vec!["svc/main.py:4 print-call"]);
}

#[test]
fn an_empty_repository_is_an_error_not_a_silent_success() {
    let dir = tempfile::tempdir().unwrap();
    let err = audit(&AuditOptions {
        paths: vec![dir.path().to_path_buf()],
        isolated: true,
        ..AuditOptions::default()
    })
    .err()
    .expect("an empty directory has nothing to audit");
    assert!(err.to_string().starts_with("no files to audit"), "{err}");
}

// The binary against faults: every case must end in exit code 0 or 1 with no panic, name
// the bad file, and still report `print-call` in the healthy sibling `svc/main.py`.

#[cfg(unix)]
mod binary {
    use std::fs;
    use std::path::Path;
    use std::process::Command;
    use std::time::Duration;

    use super::write;
    use crate::fault::{self, Finished, Locked, run_bounded};

    const HEALTHY: &str = "svc/main.py:4 print-call";

    /// A service whose `main.py` has one known finding.
    fn healthy_service(dir: &Path) {
        write(
            dir,
            "svc/pyproject.toml",
            b"[project]\nname = \"m\"\nversion = \"0\"\n",
        );
        write(
            dir,
            "svc/main.py",
            b"from fastapi import FastAPI\n\napp = FastAPI()\nprint(1)\n",
        );
    }

    fn audit_command(mut cmd: Command, dir: &Path) -> Command {
        cmd.arg("audit")
            .arg(dir)
            .args([
                "--isolated",
                "--format",
                "json",
                "--select",
                "SV,print-call",
            ])
            .env("NO_COLOR", "1");
        cmd
    }

    fn svc_audit(dir: &Path, limit: Duration) -> Finished {
        let cmd = Command::new(env!("CARGO_BIN_EXE_svc"));
        run_bounded(&mut audit_command(cmd, dir), limit)
    }

    /// `path:line name: message` of every finding in a JSON report.
    fn findings(run: &Finished) -> Vec<String> {
        let report: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{e}: not a JSON report:\n{}\n{}", run.stdout, run.stderr));
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                format!(
                    "{}:{} {}: {}",
                    f["path"].as_str().unwrap(),
                    f["line"],
                    f["name"].as_str().unwrap(),
                    f["message"].as_str().unwrap()
                )
            })
            .collect()
    }

    fn assert_has(found: &[String], prefix: &str) {
        assert!(
            found.iter().any(|f| f.starts_with(prefix)),
            "no {prefix:?} in {found:#?}"
        );
    }

    #[test]
    fn a_50_mb_python_file_is_audited_with_exact_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        healthy_service(d);
        // ~46,000 functions with docstrings: many statements, few nodes per byte.
        let doc: String = (0..16)
            .map(|j| format!("    line {j:02} of the documentation of this function, padded.\n"))
            .collect();
        let mut text = String::with_capacity(51 << 20);
        let mut i = 0;
        let mut middle = 0;
        while text.len() < 50 << 20 {
            text.push_str(&format!(
                "def handler_{i}(value):\n    \"\"\"\n{doc}    \"\"\"\n    return value + {i}\n\n\n"
            ));
            if i == 20_000 {
                text.push_str("print(\"middle\")\n");
                middle = text.lines().count();
            }
            i += 1;
        }
        text.push_str("print(\"end\")\n");
        let end = text.lines().count();
        assert!(end > 1_000_000, "{end} lines");
        write(d, "svc/huge.py", text.as_bytes());
        drop(text);

        let run = svc_audit(d, Duration::from_secs(180));
        run.assert_audited();
        assert_eq!(
            findings(&run)
                .iter()
                .map(|f| f.split(": ").next().unwrap())
                .collect::<Vec<_>>(),
            [
                format!("svc/huge.py:{middle} print-call"),
                format!("svc/huge.py:{end} print-call"),
                HEALTHY.to_string(),
            ]
        );
    }

    #[test]
    fn a_50_mb_syntax_error_is_one_finding() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        healthy_service(d);
        // One string literal that never ends: a single token of 50 MB.
        let mut text = b"x = 1\ny = \"\"\"".to_vec();
        text.resize(50 << 20, b'a');
        write(d, "svc/huge.py", &text);
        drop(text);

        let run = svc_audit(d, Duration::from_secs(180));
        run.assert_audited();
        assert_eq!(run.code(), 1);
        assert_eq!(
            findings(&run),
            [
                "svc/huge.py:2 syntax-error: syntax error: missing closing quote in string literal",
                &format!("{HEALTHY}: `print()` in service code writes unstructured output"),
            ]
        );
    }

    #[test]
    fn malformed_files_of_every_kind_are_named_and_the_rest_is_audited() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        healthy_service(d);
        let files: &[(&str, &[u8])] = &[
            ("svc/bom.py", b"\xef\xbb\xbfprint(2)\n"),
            ("svc/truncated_utf8.py", b"x = \"\xe2\x82\"\n"),
            ("svc/utf16.py", b"\xff\xfep\x00r\x00"),
            ("svc/nul.py", b"x = 1\x00\nprint(3)\n"),
            ("svc/tabs.py", b"if True:\n\tx = 1\n        y = 2\n"),
            ("svc/crlf.py", b"\r\nprint(4)\r\n"),
            ("svc/Dockerfile", b"\x00\x01\x02\xff"),
            ("svc/deploy/k8s.yaml", b"a: [1, 2\nb: {"),
            ("svc/deploy/bad.yaml", b"\xff\xfe"),
        ];
        for (rel, bytes) in files {
            write(d, rel, bytes);
        }
        let run = svc_audit(d, Duration::from_secs(60));
        run.assert_audited();
        let found: Vec<String> = findings(&run)
            .iter()
            .map(|f| f.split(": ").next().unwrap().to_string())
            .collect();
        assert_eq!(
            found,
            [
                "svc/Dockerfile:1 unreadable-file",
                "svc/bom.py:1 print-call",
                "svc/crlf.py:2 print-call",
                "svc/deploy/bad.yaml:1 unreadable-file",
                "svc/deploy/k8s.yaml:2 syntax-error",
                "svc/main.py:4 print-call",
                "svc/nul.py:1 syntax-error",
                "svc/tabs.py:3 syntax-error",
                "svc/truncated_utf8.py:1 unreadable-file",
                "svc/utf16.py:1 unreadable-file",
            ]
        );
    }

    #[test]
    fn unreadable_files_and_directories_are_named_with_the_reason() {
        let dir = fault::open_tempdir();
        let d = dir.path();
        healthy_service(d);
        write(d, "svc/secret.py", b"print(2)\n");
        write(d, "svc/locked/hidden.py", b"print(3)\n");
        for p in ["svc", "svc/locked"] {
            fault::chmod(&d.join(p), 0o755);
        }
        for p in ["svc/main.py", "svc/pyproject.toml"] {
            fault::chmod(&d.join(p), 0o644);
        }
        let _file = Locked::new(&d.join("svc/secret.py"), 0o000);
        let _dir = Locked::new(&d.join("svc/locked"), 0o000);

        let cmd = fault::svc_unprivileged(d);
        let run = run_bounded(&mut audit_command(cmd, d), Duration::from_secs(60));
        run.assert_audited();
        assert_eq!(
            findings(&run),
            [
                format!("{HEALTHY}: `print()` in service code writes unstructured output"),
                "svc/secret.py:1 unreadable-file: cannot read the file: Permission denied (os error 13)"
                    .to_string(),
            ]
        );
        let locked = fs::canonicalize(d.join("svc/locked")).unwrap();
        let locked = locked.display();
        assert!(
            run.stderr.contains(&format!(
                "svc: warning: not audited: {locked}: Permission denied (os error 13)"
            )),
            "{}",
            run.stderr
        );
    }

    #[test]
    fn fifos_sockets_links_and_directories_named_like_sources_cannot_hang_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        healthy_service(d);
        let mkfifo = |rel: &str| {
            let ok = Command::new("mkfifo").arg(d.join(rel)).status().unwrap();
            assert!(ok.success(), "mkfifo {rel}");
        };
        // Nobody ever writes to them: opening one for reading would wait forever.
        mkfifo("svc/app.py");
        mkfifo("svc/Dockerfile");
        std::os::unix::fs::symlink(d.join("svc/missing.py"), d.join("svc/x.py")).unwrap();
        std::os::unix::fs::symlink("loop.py", d.join("svc/loop.py")).unwrap();
        write(d, "svc/y.py/inside.py", b"print(2)\n");
        let _socket = std::os::unix::net::UnixListener::bind(d.join("svc/sock.py")).unwrap();

        let run = svc_audit(d, Duration::from_secs(30));
        run.assert_audited();
        assert_eq!(
            findings(&run)
                .iter()
                .map(|f| f.split(": ").next().unwrap())
                .collect::<Vec<_>>(),
            [HEALTHY, "svc/y.py/inside.py:1 print-call"]
        );
        let warnings: Vec<&str> = run
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("svc: warning: not audited: "))
            .collect();
        assert_eq!(
            warnings,
            [
                "svc/Dockerfile: a named pipe (FIFO), not a regular file",
                "svc/app.py: a named pipe (FIFO), not a regular file",
                "svc/loop.py: a broken symbolic link",
                "svc/sock.py: a socket, not a regular file",
                "svc/x.py: a broken symbolic link",
            ],
            "{}",
            run.stderr
        );
    }

    /// The walk skips FIFOs, but one can take a file's place before it is read.
    #[test]
    fn a_fifo_in_place_of_a_listed_file_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("app.py");
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(svc::audit::source::read_regular(&fifo)));
        let read = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("reading a FIFO blocked");
        let err = read.expect_err("a FIFO is not a source file");
        assert_eq!(err.to_string(), "it is not a regular file any more");
        let dir_err = svc::audit::source::read_regular(dir.path()).unwrap_err();
        assert_eq!(dir_err.to_string(), "it is a directory now");
    }

    /// Files rewritten, truncated, appended to, deleted, re-created, turned into directories
    /// and FIFOs while the audit runs: some runs report them, none crashes or hangs, and the
    /// healthy file is always audited.
    #[test]
    fn files_changing_during_the_audit() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_owned();
        healthy_service(&d);
        let stop = Arc::new(AtomicBool::new(false));
        let changes = Arc::new(AtomicUsize::new(0));
        let churn = {
            let (stop, changes, d) = (stop.clone(), changes.clone(), d.clone());
            std::thread::spawn(move || {
                let body = "def f(x):\n    return x\n".repeat(2_000);
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    for i in 0..8 {
                        let file = d.join(format!("svc/churn/m{i}.py"));
                        let sub = d.join(format!("svc/churn/pkg{i}"));
                        let _ =
                            match (round + i) % 8 {
                                // Never open a FIFO left in place for writing: that blocks.
                                0 => {
                                    let _ = fs::remove_file(&file);
                                    fs::create_dir_all(file.parent().unwrap()).and_then(|()| {
                                        fs::write(&file, format!("{body}print(1)\n"))
                                    })
                                }
                                1 => fs::OpenOptions::new()
                                    .write(true)
                                    .open(&file)
                                    .and_then(|f| f.set_len(7)),
                                2 => fs::OpenOptions::new().append(true).open(&file).and_then(
                                    |mut f| std::io::Write::write_all(&mut f, b"\xff\xfe def (:\n"),
                                ),
                                3 => fs::remove_file(&file),
                                4 => fs::create_dir_all(file.join("inner.py"))
                                    .and_then(|()| fs::create_dir_all(&sub))
                                    .and_then(|()| fs::write(sub.join("a.py"), &body)),
                                5 => fs::remove_dir_all(&file)
                                    .and_then(|()| fs::remove_dir_all(&sub)),
                                6 => Command::new("mkfifo").arg(&file).status().map(drop),
                                _ => fs::remove_file(&file),
                            };
                        changes.fetch_add(1, Ordering::Relaxed);
                    }
                    round += 1;
                }
            })
        };
        let mut reported_changing = 0;
        for _ in 0..20 {
            let run = svc_audit(&d, Duration::from_secs(30));
            run.assert_audited();
            let found = findings(&run);
            assert_has(&found, HEALTHY);
            reported_changing += found.iter().filter(|f| f.contains("/churn/")).count();
        }
        stop.store(true, Ordering::Relaxed);
        churn.join().unwrap();
        assert!(
            changes.load(Ordering::Relaxed) > 100,
            "the tree hardly changed"
        );
        assert!(reported_changing > 0, "no run saw a changing file");
    }
}
