//! Bytes as `app/main.py` of a one-file project, through `svc audit`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = svc::audit::fuzzing::python(data);
});
