//! Bytes as the Dockerfile of a service, through `svc audit`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = svc::audit::fuzzing::dockerfile(data);
});
