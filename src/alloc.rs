//! A bump arena for syntax trees, inside the global allocator.
//!
//! A Python file's syntax tree is thousands of small allocations that all die together, a
//! few microseconds after the parse, once the facts are out. Made and freed one by one they
//! cost 5-6% of the audit's instructions on prefect-3.9.1 (jemalloc's malloc and free, and
//! the walk of `drop` over the tree). In the arena a tree is made by moving a cursor and is
//! freed by moving it back: the tree is never dropped, and the next file's tree reuses the
//! same, cache-warm memory.
//!
//! [`ArenaAlloc`] wraps the real allocator. Only [`InArena::new`] turns the arena on, for
//! its thread and for the length of one closure (the parse); everything else goes to the
//! inner allocator. The arena's memory is one reservation of address space, a slot per
//! thread, so "is this pointer in the arena" is one comparison, and freeing such a pointer
//! is nothing.
//!
//! What keeps it sound: nothing made in the arena may outlive the [`InArena`] that holds
//! the tree. The parser keeps no global state of its own (ruff_python_parser has no lazy
//! statics), the tree is only borrowed while facts are extracted (facts are made with the
//! arena off), and a panic inside the closure retires the thread's slot for good, since
//! its payload may live in the arena. Debug builds fill the memory they hand back with a
//! marker byte, so that anything that escaped would show up as garbage in the tests.
//!
//! Under an address-space or data limit, or strict overcommit, the arena stays off: the
//! reservation would come out of what the audit itself may allocate. `SVC_TIMINGS=1` says
//! whether it was on ([`describe`]).

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Address space per thread. A tree bigger than this (a source file near the 64 MiB size
/// limit) spills to the inner allocator and is dropped the ordinary way.
const SLOT: usize = 512 << 20;
/// Threads that get a slot; later threads parse without the arena.
const MAX_SLOTS: usize = 64;
/// Memory kept resident between files; above it pages go back to the system after each
/// file, so one huge file does not hold its tree's memory for the rest of the audit.
const KEEP: usize = 1 << 20;
/// Debug builds fill freed arena memory with this, so a use after reset reads garbage.
#[cfg(debug_assertions)]
const POISON: u8 = 0xA5;

/// The global allocator: `inner` for everything, the arena inside [`InArena::new`].
pub struct ArenaAlloc<A> {
    inner: A,
}

impl<A> ArenaAlloc<A> {
    pub const fn new(inner: A) -> Self {
        ArenaAlloc { inner }
    }
}

/// Start of the reservation (0 before it is made or when it could not be) and its length.
static BASE: AtomicUsize = AtomicUsize::new(0);
static LEN: AtomicUsize = AtomicUsize::new(0);
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
/// What became of the reservation, for `SVC_TIMINGS` ([`describe`]).
static OUTCOME: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(NOT_TRIED);
const NOT_TRIED: u8 = 0;
const RESERVED: u8 = 1;
const SCARCE: u8 = 2;
const REFUSED: u8 = 3;
/// Set by the first allocation through [`ArenaAlloc`]: when another allocator is the global
/// one (unit tests, fuzz targets), turning the arena on would mean nothing, and leaking a tree
/// would be a real leak.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// One thread's arena. Const-initialized and without `Drop`, so the allocator can read it at
/// any time, even while the thread starts or ends.
struct Local {
    /// Allocations go to the arena.
    on: Cell<bool>,
    /// A tree lives in the arena (between `InArena::new` and its drop).
    live: Cell<bool>,
    /// Some allocation of the current tree did not fit and went to the inner allocator.
    spilled: Cell<bool>,
    /// A panic left arena memory possibly referenced: the slot is never used again.
    retired: Cell<bool>,
    start: Cell<usize>,
    cursor: Cell<usize>,
    end: Cell<usize>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            on: Cell::new(false),
            live: Cell::new(false),
            spilled: Cell::new(false),
            retired: Cell::new(false),
            start: Cell::new(0),
            cursor: Cell::new(0),
            end: Cell::new(0),
        }
    };
}

fn in_arena(ptr: *mut u8) -> bool {
    let base = BASE.load(Ordering::Relaxed);
    (ptr as usize).wrapping_sub(base) < LEN.load(Ordering::Relaxed)
}

/// Bump-allocate from this thread's slot, if the arena is on and the layout fits.
fn bump(layout: Layout) -> Option<*mut u8> {
    LOCAL.with(|l| {
        if !l.on.get() {
            return None;
        }
        let start = l.cursor.get().checked_add(layout.align() - 1)? & !(layout.align() - 1);
        match start.checked_add(layout.size()) {
            Some(next) if next <= l.end.get() => {
                l.cursor.set(next);
                Some(start as *mut u8)
            }
            _ => {
                l.spilled.set(true);
                None
            }
        }
    })
}

/// Grow or shrink the arena's last allocation where it is.
fn grow_in_place(ptr: *mut u8, old: usize, new: usize) -> bool {
    LOCAL.with(|l| {
        let at = ptr as usize;
        // `at >= start`: a block of the slot below that ends where this one starts is not
        // this thread's to grow.
        if !l.on.get() || at < l.start.get() || at + old != l.cursor.get() {
            return false;
        }
        match at.checked_add(new) {
            Some(next) if next <= l.end.get() => {
                l.cursor.set(next);
                true
            }
            _ => false,
        }
    })
}

// SAFETY: every pointer handed out is either the inner allocator's (and goes back to it) or
// a bump allocation inside this thread's slot of the reservation, aligned as asked and not
// handed out again before `InArena` resets the slot, which happens only once the tree that
// owns the memory is gone.
unsafe impl<A: GlobalAlloc> GlobalAlloc for ArenaAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = bump(layout) {
            return p;
        }
        if !INSTALLED.load(Ordering::Relaxed) {
            INSTALLED.store(true, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = bump(layout) {
            // SAFETY: `p` is `layout.size()` bytes of the slot, just handed out.
            unsafe { std::ptr::write_bytes(p, 0, layout.size()) };
            return p;
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Arena memory is freed all at once, when the tree is done with.
        if !in_arena(ptr) {
            // SAFETY: not the arena's, so the inner allocator's.
            unsafe { self.inner.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) {
            // SAFETY: not the arena's, so the inner allocator's.
            return unsafe { self.inner.realloc(ptr, layout, new_size) };
        }
        // The last allocation grows or shrinks where it is; any other shrinks where it is too
        // (the tail is freed with the rest of the tree).
        if grow_in_place(ptr, layout.size(), new_size) || new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: `new_size` is nonzero and, rounded to the alignment, fits (the caller's
        // contract for realloc).
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as for `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are at least the smaller size, and distinct.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            }
        }
        new
    }
}

/// Reserve the address space once: a slot per thread that can run at once.
#[cfg(unix)]
fn reserve() -> bool {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        if address_space_is_scarce() {
            OUTCOME.store(SCARCE, Ordering::Relaxed);
            return;
        }
        let slots = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, MAX_SLOTS);
        let len = slots * SLOT;
        #[cfg(target_os = "linux")]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        #[cfg(not(target_os = "linux"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        // SAFETY: a new anonymous mapping, touching nothing that exists.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        // Refused (a strict overcommit policy, an address-space limit): no arena, every tree
        // goes to the inner allocator as before.
        if p == libc::MAP_FAILED {
            OUTCOME.store(REFUSED, Ordering::Relaxed);
        } else {
            LEN.store(len, Ordering::Relaxed);
            BASE.store(p as usize, Ordering::Release);
            OUTCOME.store(RESERVED, Ordering::Relaxed);
        }
    });
    BASE.load(Ordering::Acquire) != 0
}

/// Under an address-space or data limit (`ulimit -v`, `ulimit -d`) the reservation would take
/// from what the audit's own memory may use, and under strict overcommit (mode 2) it would be
/// charged in full: the arena stays off, and trees go to the inner allocator as before.
#[cfg(unix)]
fn address_space_is_scarce() -> bool {
    let limited = |resource| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the one struct it is given.
        let ok = unsafe { libc::getrlimit(resource, &mut limit) } == 0;
        !ok || limit.rlim_cur != libc::RLIM_INFINITY
    };
    let strict = std::fs::read_to_string("/proc/sys/vm/overcommit_memory")
        .is_ok_and(|mode| mode.trim() == "2");
    limited(libc::RLIMIT_AS) || limited(libc::RLIMIT_DATA) || strict
}

#[cfg(not(unix))]
fn reserve() -> bool {
    false
}

/// Whether the parse arena was used, and if not why: `SVC_TIMINGS` prints it.
pub fn describe() -> &'static str {
    if !INSTALLED.load(Ordering::Relaxed) {
        return "off (not the global allocator)";
    }
    match OUTCOME.load(Ordering::Relaxed) {
        RESERVED => "on",
        SCARCE => "off (an address-space or data limit, or strict overcommit)",
        REFUSED => "off (the system refused the reservation)",
        _ if cfg!(unix) => "not used (nothing parsed)",
        _ => "off (not supported on this system)",
    }
}

/// This thread's slot, claimed on first use; `false` when there is none to have.
fn claim_slot(l: &Local) -> bool {
    if l.end.get() != 0 {
        return true;
    }
    if !reserve() {
        return false;
    }
    let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
    if (slot + 1) * SLOT > LEN.load(Ordering::Relaxed) {
        return false;
    }
    let start = BASE.load(Ordering::Relaxed) + slot * SLOT;
    l.start.set(start);
    l.cursor.set(start);
    l.end.set(start + SLOT);
    true
}

/// Give the slot's memory back for the next tree.
fn reset(l: &Local) {
    let start = l.start.get();
    let used = l.cursor.get() - start;
    #[cfg(debug_assertions)]
    // SAFETY: the slot's used part is memory of this mapping that nothing references.
    unsafe {
        std::ptr::write_bytes(start as *mut u8, POISON, used.min(KEEP));
    }
    #[cfg(unix)]
    if used > KEEP {
        // SAFETY: returns pages of this thread's own slot, which nothing references; they
        // read as zero when touched again.
        unsafe {
            libc::madvise(
                (start + KEEP) as *mut libc::c_void,
                used - KEEP,
                libc::MADV_DONTNEED,
            );
        }
    }
    l.cursor.set(start);
    l.spilled.set(false);
    l.live.set(false);
}

/// A value (a syntax tree) built with this thread's arena on. Dropping it frees the whole
/// arena at once without running the value's destructor, unless part of it spilled to the
/// inner allocator, when it is dropped the ordinary way first.
///
/// Borrow the value only: anything moved out of it would point into memory the next tree
/// reuses.
pub struct InArena<T> {
    value: ManuallyDrop<T>,
    arena: bool,
}

impl<T> InArena<T> {
    /// Run `build` with the arena on for this thread, when it can be: the arena allocator is
    /// the global one, the thread has a slot and no other tree of this thread is alive.
    pub fn new(build: impl FnOnce() -> T) -> Self {
        let arena = INSTALLED.load(Ordering::Relaxed)
            && LOCAL.with(|l| {
                if l.live.get() || l.retired.get() || !claim_slot(l) {
                    return false;
                }
                l.live.set(true);
                l.on.set(true);
                true
            });
        if !arena {
            return InArena {
                value: ManuallyDrop::new(build()),
                arena: false,
            };
        }
        // A panic in `build` may leave its payload, or anything it unwound past, in the arena:
        // the slot is switched off and retired instead of being reused.
        struct Off;
        impl Drop for Off {
            fn drop(&mut self) {
                LOCAL.with(|l| {
                    l.on.set(false);
                    if std::thread::panicking() {
                        l.retired.set(true);
                    }
                });
            }
        }
        let off = Off;
        let value = build();
        drop(off);
        InArena {
            value: ManuallyDrop::new(value),
            arena: true,
        }
    }

    /// Whether the value lives in the arena (for tests).
    pub fn in_arena(&self) -> bool {
        self.arena
    }

    /// Whether part of the value did not fit in the slot and went to the inner allocator
    /// (for tests).
    pub fn spilled(&self) -> bool {
        self.arena && LOCAL.with(|l| l.spilled.get())
    }
}

impl<T> Deref for InArena<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Drop for InArena<T> {
    fn drop(&mut self) {
        if !self.arena {
            // SAFETY: dropped once, here; never used again.
            unsafe { ManuallyDrop::drop(&mut self.value) };
            return;
        }
        LOCAL.with(|l| {
            if l.spilled.get() {
                // Part of the value is the inner allocator's: free it (arena parts are no-ops).
                // SAFETY: dropped once, here; never used again.
                unsafe { ManuallyDrop::drop(&mut self.value) };
            }
            reset(l);
        });
    }
}
