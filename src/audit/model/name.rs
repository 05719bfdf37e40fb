//! Interned names: the dotted paths, identifiers and keywords facts are made of.
//!
//! A service's facts live for the whole audit and repeat the same few thousand names
//! (`fastapi.Depends`, `logging.getLogger().info`, `timeout`) hundreds of thousands of times.
//! Each thread interns into its own table, so a repeated name costs one shared, reference
//! counted allocation instead of one allocation per occurrence. [`clear`] empties the calling
//! thread's table; names already handed out stay valid.

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use rustc_hash::FxHashSet;

/// An immutable, cheaply cloned string, equal by content.
#[derive(Clone, PartialOrd, Ord)]
pub struct Name(Arc<str>);

thread_local! {
    /// Off while facts are made that are dropped right after use: sharing buys nothing then.
    static SHARING: Cell<bool> = const { Cell::new(true) };
    // Const-initialised: no lazy-initialisation check on each of the many look-ups.
    static TABLE: RefCell<FxHashSet<Arc<str>>> =
        const { RefCell::new(FxHashSet::with_hasher(rustc_hash::FxBuildHasher)) };
}

impl Name {
    pub fn new(s: &str) -> Name {
        if !SHARING.with(Cell::get) {
            return Name(Arc::from(s));
        }
        TABLE.with_borrow_mut(|table| {
            if let Some(found) = table.get(s) {
                return Name(found.clone());
            }
            let name: Arc<str> = Arc::from(s);
            table.insert(name.clone());
            Name(name)
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
        Arc::as_ptr(&self.0).cast::<u8>() as usize
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
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.0 == *other.0
    }
}

impl Eq for Name {}

impl Hash for Name {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (*self.0).hash(state)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
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
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_allocation() {
        let a = Name::new("fastapi.Depends");
        let b = Name::from(String::from("fastapi.Depends"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, b);
        assert_eq!(a, "fastapi.Depends");
        assert_ne!(a, Name::new("fastapi.Security"));
        clear();
        let c = Name::new("fastapi.Depends");
        assert_eq!(a, c);
        assert_eq!(&*a, "fastapi.Depends");
        let d = unshared(|| Name::new("fastapi.Depends"));
        assert!(!Arc::ptr_eq(&a.0, &d.0));
        assert_eq!(a, d);
        // The table still hands out the name made after `clear`.
        assert!(Arc::ptr_eq(&c.0, &Name::new("fastapi.Depends").0));
    }
}
