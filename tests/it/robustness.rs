//! Bad input never crashes an audit: each bad file is one clear finding and the rest of the
//! repository is still audited.

use std::path::Path;

use svc::audit::{AuditOptions, audit};

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

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
        &[0x00, 0xff, 0xfe, 0x13, 0x37, 0x00, 0x80],
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
