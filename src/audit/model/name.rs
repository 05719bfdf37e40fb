//! Interned names: the dotted paths, identifiers and keywords facts are made of.
//!
//! A service's facts live for the whole audit and repeat the same few thousand names
//! (`fastapi.Depends`, `logging.getLogger().info`, `timeout`) hundreds of thousands of times.
//! Each thread interns into its own table, so a repeated name is stored once.
//!
//! A name is an [`ArcStr`]: one pointer to a single allocation holding the length, a
//! reference count and the bytes. An interned name is marked static (leaked): an audit is one
//! process and its facts live until it exits, so its copies and drops touch no reference
//! count, and only distinct texts take memory. Names made while sharing is off (the facts of a
//! file checked on its own and dropped at once) are counted and freed as usual, so that a
//! repository of loose code does not fill the table, or memory, with names nobody keeps.
//! [`clear`] empties the calling thread's table; names already handed out stay valid.

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arcstr::ArcStr;
use rustc_hash::FxHashSet;

/// An immutable string, equal by content, one pointer wide.
#[derive(Clone)]
pub struct Name(ArcStr);

thread_local! {
    /// Off while facts are made that are dropped right after use: sharing buys nothing then.
    static SHARING: Cell<bool> = const { Cell::new(true) };
    // Const-initialised: no lazy-initialisation check on each of the many look-ups.
    static TABLE: RefCell<FxHashSet<Name>> =
        const { RefCell::new(FxHashSet::with_hasher(rustc_hash::FxBuildHasher)) };
}

/// Names a thread's table holds before it first grows.
const TABLE_START: usize = 1 << 14;

impl Name {
    pub fn new(s: &str) -> Name {
        if !SHARING.with(Cell::get) {
            return Name(ArcStr::from(s));
        }
        TABLE.with_borrow_mut(|table| {
            if let Some(found) = table.get(s) {
                return found.clone();
            }
            // A service's thread interns thousands of names: growing the table from empty
            // rehashed it a dozen times (0.6% of a prefect-3.9.1 run).
            if table.capacity() == 0 {
                table.reserve(TABLE_START);
            }
            let text = ArcStr::from(s);
            text.leak();
            let name = Name(text);
            table.insert(name.clone());
            name
        })
    }

    /// The name spelled by `parts` one after another, without building a string for it
    /// when it is already interned.
    pub fn concat(parts: &[&str]) -> Name {
        thread_local! {
            static BUF: RefCell<String> = const { RefCell::new(String::new()) };
        }
        BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            for p in parts {
                buf.push_str(p);
            }
            Name::new(&buf)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address of the text: equal for names interned by the same thread, and never
    /// equal for different texts while both names live. A cheap key for memos.
    pub fn id(&self) -> usize {
        self.0.as_ptr() as usize
    }
}

/// Run `f` with names made on this thread not shared through the table: for facts that are
/// dropped as soon as they are checked (a file outside every service).
pub fn unshared<R>(f: impl FnOnce() -> R) -> R {
    let before = SHARING.with(|s| s.replace(false));
    let out = f();
    SHARING.with(|s| s.set(before));
    out
}

/// Forget the names interned on this thread (they stay valid where they are held).
pub fn clear() {
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        table.clear();
        table.shrink_to_fit();
    });
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        ArcStr::ptr_eq(&self.0, &other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl PartialOrd for Name {
    fn partial_cmp(&self, other: &Name) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Name {
    fn cmp(&self, other: &Name) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<&str> for Name {
    fn from(s: &str) -> Name {
        Name::new(s)
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name::new(&s)
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name::new(s)
    }
}

impl Default for Name {
    fn default() -> Name {
        Name::new("")
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation() {
        let a = Name::new("fastapi.Depends");
        let b = Name::from(String::from("fastapi.Depends"));
        assert_eq!(a.id(), b.id());
        assert_eq!(a, b);
        assert_eq!(a, "fastapi.Depends");
        assert_ne!(a, Name::new("fastapi.Security"));
        clear();
        let c = Name::new("fastapi.Depends");
        assert_ne!(a.id(), c.id());
        assert_eq!(a, c);
        assert_eq!(&*a, "fastapi.Depends");
        // The table hands out the name made after `clear`.
        assert_eq!(c.id(), Name::new("fastapi.Depends").id());
        let d = unshared(|| Name::new("fastapi.Depends"));
        assert_ne!(a.id(), d.id());
        assert_eq!(a, d);
        assert!(ArcStr::is_static(&a.0));
        assert!(!ArcStr::is_static(&d.0));
    }

    #[test]
    fn names_of_every_length_read_back() {
        let long = "x".repeat(1 << 16);
        let texts = ["", "a", "abcdefg", "abcdefgh", "abcdefghi", "é.ü", &long];
        let names: Vec<Name> = texts.iter().map(|t| Name::new(t)).collect();
        let many: Vec<Name> = (0..20_000).map(|i| Name::from(format!("n{i}"))).collect();
        for (t, n) in texts.iter().zip(&names) {
            assert_eq!(n.as_str(), *t);
        }
        for (i, n) in many.iter().enumerate() {
            assert_eq!(n.as_str(), format!("n{i}"));
        }
        assert!(Name::new("b") > Name::new("a"));
        let moved = std::thread::spawn(move || many[19_999].to_string())
            .join()
            .unwrap();
        assert_eq!(moved, "n19999");
    }
}
