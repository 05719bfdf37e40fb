//! Ctrl-C (SIGINT) and SIGTERM during `svc new`.
//!
//! Before anything is on disk, an interrupt ends the process at once (exit 130). While the
//! project is being written, it only raises a flag: the writer stops before its next file,
//! removes its temporary files and directories and returns
//! [`super::write::WriteError::Interrupted`]. Once the project is being moved (or, with
//! `--force`, its files renamed) into place the flag is read after the last rename, so the
//! target is always either untouched or complete. SIGKILL cannot be caught: see the README.

use std::sync::atomic::{AtomicBool, Ordering};

/// The shell's status for a process stopped by Ctrl-C (128 + SIGINT).
pub const EXIT_CODE: u8 = 130;

static WRITING: AtomicBool = AtomicBool::new(false);
static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Installs the handler; `interactive` also shows the cursor again, which Select and Confirm
/// prompts hide.
pub fn install(interactive: bool) {
    // Fails only if a handler is already installed, which is then in charge.
    let _ = ctrlc::set_handler(move || {
        if interactive {
            let term = dialoguer::console::Term::stderr();
            let _ = term.show_cursor();
            let _ = term.write_line("");
        }
        // SeqCst on both sides: either the writer sees the request at its next check, or
        // the handler sees no write in progress and exits before anything is on disk.
        REQUESTED.store(true, Ordering::SeqCst);
        if !WRITING.load(Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_CODE));
        }
    });
}

/// Whether an interrupt arrived.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// While one is alive, an interrupt is a request for the writer instead of an exit.
pub struct Deferred(());

impl Deferred {
    pub fn start() -> Self {
        WRITING.store(true, Ordering::SeqCst);
        Deferred(())
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        WRITING.store(false, Ordering::SeqCst);
    }
}
