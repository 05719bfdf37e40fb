//! The parse arena (`svc::alloc`), with this test binary's global allocator the arena over
//! the system allocator: what lives in it, that it is reused, and what never goes there.

use std::panic::{AssertUnwindSafe, catch_unwind};

use svc::alloc::InArena;
use svc::audit::python::analyze;

/// A value built in the arena is readable while its `InArena` lives, and the next value
/// built on the thread reuses the same memory.
#[test]
fn a_tree_lives_in_the_arena_and_its_memory_is_reused() {
    let first = InArena::new(|| vec![String::from("first tree"); 64]);
    assert!(first.in_arena());
    assert!(first.iter().all(|s| s == "first tree"));
    let at = first.as_ptr() as usize;
    drop(first);
    let second = InArena::new(|| vec![String::from("second tree"); 64]);
    assert!(second.in_arena());
    assert_eq!(second.as_ptr() as usize, at, "the slot starts over");
    assert!(second.iter().all(|s| s == "second tree"));
}

/// What is allocated while a tree lives, outside the closure, is not the arena's: the next
/// tree cannot overwrite it.
#[test]
fn allocations_outside_the_closure_survive_the_next_tree() {
    let tree = InArena::new(|| vec![7u8; 4096]);
    let facts: Vec<String> = (0..100).map(|i| format!("fact {i}")).collect();
    drop(tree);
    let next = InArena::new(|| vec![0xFFu8; 1 << 20]);
    assert!(next.in_arena());
    assert!(next.iter().all(|b| *b == 0xFF));
    for (i, f) in facts.iter().enumerate() {
        assert_eq!(f, &format!("fact {i}"));
    }
}

/// A second tree built while one is alive on the same thread goes to the real allocator, so
/// that resetting one cannot free the other.
#[test]
fn a_nested_tree_is_not_put_in_the_arena() {
    let outer = InArena::new(|| vec![1u32; 256]);
    let inner = InArena::new(|| vec![2u32; 256]);
    assert!(outer.in_arena());
    assert!(!inner.in_arena());
    drop(inner);
    assert!(outer.iter().all(|v| *v == 1));
}

/// A panic while the arena is on retires the thread's slot: the payload (and anything the
/// unwinding skipped) may live there, so it is never reused.
#[test]
fn a_panic_in_the_arena_retires_the_slot() {
    let before = InArena::new(|| vec![3u8; 16]);
    assert!(before.in_arena());
    drop(before);
    let Err(payload) = catch_unwind(AssertUnwindSafe(|| {
        InArena::new(|| -> Vec<u8> { panic!("{}", String::from("a message built in the arena")) })
    })) else {
        panic!("the closure panics");
    };
    let after = InArena::new(|| vec![4u8; 16]);
    assert!(!after.in_arena());
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("a message built in the arena")
    );
}

/// A value bigger than the thread's slot spills to the real allocator and is dropped the
/// ordinary way (a reservation this size is address space only: nothing touches it).
#[test]
fn a_value_larger_than_the_slot_spills_to_the_real_allocator() {
    let big = InArena::new(|| {
        let small = vec![5u8; 32];
        let huge: Vec<u8> = Vec::with_capacity(768 << 20);
        (small, huge)
    });
    assert!(big.in_arena());
    assert!(big.spilled());
    assert_eq!(big.0, vec![5u8; 32]);
    assert!(big.1.capacity() >= 768 << 20);
    drop(big);
    let next = InArena::new(|| vec![6u8; 16]);
    assert!(next.in_arena());
    assert!(!next.spilled(), "the reset clears the spill");
}

/// The front end's facts do not point into the tree they came from: facts of a file parsed
/// in the arena equal those of the same file parsed outside it, after another file's tree has
/// reused (and, in debug builds, poisoned) the memory.
#[test]
fn facts_outlive_the_tree_they_were_extracted_from() {
    let source = r#"
import os
from fastapi import APIRouter, Depends, FastAPI

app = FastAPI(title="orders " "service")
router = APIRouter(prefix="/orders")
SECRET = os.getenv("ORDERS_SECRET", "literal-" "default")

@router.get("/{order_id}", dependencies=[Depends(lambda: None)])
async def get_order(order_id: int, q: str | None = None) -> dict:
    '''Docstring with a non-ASCII name: café.'''
    return {"id": order_id, "q": q, "k": [x for x in range(3)]}

app.include_router(router)
"#;
    let in_arena = analyze(source, "app.main", false).expect("parses");
    let other = "def f():\n    return [str(i) * 3 for i in range(1000)]\n".repeat(50);
    analyze(&other, "app.other", false).expect("parses");
    // Parsed while a tree is alive on this thread: outside the arena.
    let holder = InArena::new(|| vec![0u8; 8]);
    assert!(holder.in_arena());
    let outside = analyze(source, "app.main", false).expect("parses");
    drop(holder);
    assert_eq!(format!("{in_arena:?}"), format!("{outside:?}"));
}
