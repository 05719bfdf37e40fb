//! Bytes as a YAML file next to a service (SAM, Kubernetes or compose), through `svc audit`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = svc::audit::fuzzing::yaml(data);
});
