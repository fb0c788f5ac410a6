//! Reuse of guest address spaces: creating one costs several system calls and, with a window,
//! 12 GiB of address space, so released ones are reset and kept for the next instance.

use std::sync::Mutex;

use super::Parts;

/// Idle address spaces kept at most (each holds a file descriptor and address space only).
const MAX_IDLE: usize = 32;

static IDLE: Mutex<Vec<Parts>> = Mutex::new(Vec::new());

/// An idle, reset address space, if one is pooled.
pub(super) fn take() -> Option<Parts> {
    IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop()
}

/// Keeps `parts` (already reset) for reuse, or frees it when the pool is full.
pub(super) fn give(parts: Parts) {
    let rejected = {
        let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(parts);
            None
        } else {
            Some(parts)
        }
    };
    // Unmapped outside the lock.
    drop(rejected);
}
