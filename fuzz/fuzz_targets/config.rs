//! Bytes as `svc.toml`, then as pyproject.toml with `[tool.svc]`, through `svc audit`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = svc::audit::fuzzing::config(data);
});
