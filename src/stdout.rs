//! Writing a command's output to standard output.

use std::io::{self, BufWriter, Write};

/// Run `write` on standard output through one buffer, flushed at the end, and treat a reader
/// that went away (`svc audit | head`) as success.
///
/// Standard output is line buffered: a report or a pretty-printed JSON document of a thousand
/// lines would otherwise be a thousand writes.
pub fn write_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
