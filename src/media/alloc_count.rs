//! Test-only: counts the heap allocations one thread makes, to prove that the per-packet media
//! paths allocate nothing (issue 16: malloc and free were 6 % of the server under load).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// `Some(n)` while the thread is counting; a const initialiser, so reading it never
    /// allocates (which the allocator itself could not survive).
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
    /// `Some(bytes)`, the largest single request, while the thread is measuring.
    static LARGEST: Cell<Option<usize>> = const { Cell::new(None) };
    /// `Some(bytes)` allocated minus freed, while the thread is measuring what it keeps.
    static RETAINED: Cell<Option<isize>> = const { Cell::new(None) };
}

fn retain(grown: isize) {
    let _ = RETAINED.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + grown));
        }
    });
}

struct Counting;

fn count(size: usize) {
    let _ = COUNT.try_with(|c| {
        if let Some(n) = c.get() {
            c.set(Some(n + 1));
        }
    });
    let _ = LARGEST.try_with(|c| {
        if let Some(largest) = c.get() {
            c.set(Some(largest.max(size)));
        }
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting touches only a
// thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        retain(layout.size() as isize);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        retain(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        retain(layout.size() as isize);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        retain(new_size as isize - layout.size() as isize);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns how many allocations (and reallocations) this thread made in it.
pub fn counting(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(Some(0)));
    f();
    COUNT.with(|c| c.replace(None)).unwrap_or(0)
}

/// Runs `f` and returns the largest single allocation (or reallocation) this thread asked for
/// in it, in bytes: to prove that input cannot make us reserve memory it does not contain.
pub fn largest(f: impl FnOnce()) -> usize {
    LARGEST.with(|c| c.set(Some(0)));
    f();
    LARGEST.with(|c| c.replace(None)).unwrap_or(0)
}

/// Runs `f` and returns how many bytes this thread allocated in it and has not freed: what
/// `f` left behind in the structures it fed, to prove that input cannot make them grow.
pub fn retained(f: impl FnOnce()) -> isize {
    RETAINED.with(|c| c.set(Some(0)));
    f();
    RETAINED.with(|c| c.replace(None)).unwrap_or(0)
}
