//! The allocator every program that trains networks runs on: mimalloc, with purging of freed memory off.
//!
//! candle allocates a fresh buffer per op. On glibc malloc that turns into page faults (benches, tests and examples
//! ran the sorting MLP at 12.7 ms per step against 6.0 in the binary on mimalloc); and mimalloc's default purging
//! returns freed 2 MB pages to the OS only to fault them in again on the next step (8-12% of samples). Setting
//! `purge_delay` to -1 (mimalloc's `MIMALLOC_PURGE_DELAY=-1`) removed 94% of the page faults. The allocator is
//! declared here, in the crate every training program links, so that the binary, benches, examples and tests all
//! measure the same thing.
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

/// mimalloc's `mi_option_purge_delay` (the same index in its v2 and v3 headers).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// mimalloc with `purge_delay = -1`, set before the first allocation is served.
#[derive(Debug)]
pub struct TrainingAllocator;

static CONFIGURED: AtomicBool = AtomicBool::new(false);

impl TrainingAllocator {
    #[inline(always)]
    fn configure() {
        if !CONFIGURED.load(Ordering::Relaxed) {
            CONFIGURED.store(true, Ordering::Relaxed);
            // SAFETY: `mi_option_set` only stores an integer in mimalloc's option table; it does not allocate, so
            // calling it from inside the allocator cannot recurse. Racing first calls store the same value.
            unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
        }
    }

    /// mimalloc's current purge delay in milliseconds (-1: freed memory is never returned to the OS).
    pub fn purge_delay() -> i64 {
        Self::configure();
        // SAFETY: reads one option value; no preconditions.
        unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) as i64 }
    }
}

// SAFETY: every method forwards to mimalloc, which upholds `GlobalAlloc`'s contract; `configure` does not allocate.
unsafe impl GlobalAlloc for TrainingAllocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        mimalloc::MiMalloc.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        mimalloc::MiMalloc.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        mimalloc::MiMalloc.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::configure();
        mimalloc::MiMalloc.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: TrainingAllocator = TrainingAllocator;

#[cfg(test)]
mod tests {
    #[test]
    fn purging_is_off() {
        let v = vec![0u8; 1 << 20];
        drop(v);
        assert_eq!(super::TrainingAllocator::purge_delay(), -1);
    }
}
