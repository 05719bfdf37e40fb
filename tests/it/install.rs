//! Installing from source: install.sh and the build profiles behind it. install.sh once ran
//! 26 minutes without a word on a busy 2-core machine (fat LTO, one codegen unit, `--quiet`).

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// install.sh with a stand-in `cargo` (and `cc`, `make`) first on PATH: what it prints before
/// the build, and what it asks cargo for.
#[cfg(unix)]
#[test]
fn install_sh_says_how_long_up_front_and_lets_cargo_show_its_progress() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    let install_root = tmp.path().join("root");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(install_root.join("bin")).unwrap();
    let args_file = tmp.path().join("cargo-args");
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "cargo",
        &format!(
            "echo \"$*\" > '{}'\necho '   Compiling svc (stand-in)' >&2\n\
             printf '#!/bin/sh\\necho svc 0.1.0\\n' > \"$CARGO_INSTALL_ROOT/bin/svc\"\n\
             chmod +x \"$CARGO_INSTALL_ROOT/bin/svc\"",
            args_file.display()
        ),
    );
    script("cc", "exit 0");
    script("make", "exit 0");
    let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let out = std::process::Command::new("bash")
        .arg(root().join("install.sh"))
        .env("PATH", path)
        .env("CARGO_INSTALL_ROOT", &install_root)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let args = std::fs::read_to_string(&args_file).unwrap();
    assert_eq!(args.trim(), "install --path . --locked --force");
    // The expected time comes before the first line of cargo's progress.
    let estimate = stderr
        .find("A first build takes about 5 minutes on an idle 2-core machine")
        .unwrap_or_else(|| panic!("no time estimate: {stderr}"));
    let progress = stderr.find("Compiling svc (stand-in)").unwrap();
    assert!(estimate < progress, "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(svc 0.1.0)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `cargo install` (install.sh, and the Rust pre-commit hook) builds `release`: cargo's
/// defaults, quick to build. Fat LTO lives in `dist`, for release artefacts and benchmarks.
#[test]
fn release_profile_is_cargos_default_and_dist_is_fat_lto() {
    let manifest: toml_edit::DocumentMut = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let profiles = manifest["profile"].as_table().unwrap();
    let release = profiles.get("release").and_then(|r| r.as_table());
    assert!(
        release.is_none_or(|r| r.get("lto").is_none() && r.get("codegen-units").is_none()),
        "{release:?}"
    );
    let dist = &profiles["dist"];
    assert_eq!(dist["inherits"].as_str(), Some("release"));
    assert_eq!(dist["lto"].as_str(), Some("fat"));
    assert_eq!(dist["codegen-units"].as_integer(), Some(1));

    // The benchmarks' figures were measured with fat LTO: their default build must stay it.
    let bench = std::fs::read_to_string(root().join("bench/svc_binary.py")).unwrap();
    assert!(
        bench.contains(r#"["cargo", "build", "--profile", "dist"]"#),
        "{bench}"
    );
    assert!(!bench.contains("\"--release\""), "{bench}");
}
