//! The SIGSEGV / SIGBUS handler that turns a faulting guest access in generated code into an
//! exit.
//!
//! Installed once per process. Each thread publishes the context of the run it is executing
//! (if any) in a thread-local; a fault is ours only when that thread is in a run, the faulting
//! instruction is a listed guest access of that run's code, and the address lies in that run's
//! window. Then the handler records the instruction, points the saved instruction pointer at the
//! code's exit path (which stores the registers, still the values before the access: x86 commits
//! nothing of a faulting instruction) and returns. The handler makes no GP decision: the host
//! re-executes the access under the memory rules. Every other fault goes to the handler that was
//! installed before ours, or gets the default action.

use std::cell::Cell;
use std::sync::OnceLock;

use super::context::{exit, Trap, VmContext, CONTEXT_BELOW_GUEST};
use crate::memory::window::{CONTEXT_SPAN, WINDOW_SPAN};

const SIGNALS: [libc::c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

thread_local! {
    /// The context of the run this thread is executing, or null.
    static ACTIVE: Cell<*mut VmContext> = const { Cell::new(std::ptr::null_mut()) };
}

/// The handlers that were installed before ours, per entry of `SIGNALS`.
static PREVIOUS: OnceLock<[libc::sigaction; 2]> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();

/// Installs the handler (once per process).
pub(super) fn install() -> std::io::Result<()> {
    let result = INSTALLED.get_or_init(|| {
        // SAFETY: plain sigaction calls with valid, zero-initialised structures.
        unsafe {
            let mut previous: [libc::sigaction; 2] = std::mem::zeroed();
            for (slot, &signal) in previous.iter_mut().zip(SIGNALS.iter()) {
                if libc::sigaction(signal, std::ptr::null(), slot) != 0 {
                    return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
                }
            }
            let _ = PREVIOUS.set(previous);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            for &signal in &SIGNALS {
                if libc::sigaction(signal, &action, std::ptr::null_mut()) != 0 {
                    return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
                }
            }
            Ok(())
        }
    });
    (*result).map_err(std::io::Error::from_raw_os_error)
}

/// Marks this thread as running generated code on `ctx` until the guard is dropped.
pub(super) fn enter_run(ctx: *mut VmContext) -> RunGuard {
    let previous = ACTIVE.with(|active| active.replace(ctx));
    RunGuard { previous }
}

/// Restores the thread's previous run context when a run ends.
pub(super) struct RunGuard {
    previous: *mut VmContext,
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        ACTIVE.with(|active| active.set(self.previous));
    }
}

extern "C" fn on_fault(signal: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    // SAFETY: the kernel passes valid `info` and `uctx` to an SA_SIGINFO handler.
    unsafe {
        if !redirect(info, uctx) {
            chain(signal, info, uctx);
        }
    }
}

/// Redirects a fault of the current run's guest access to its exit path.
unsafe fn redirect(info: *mut libc::siginfo_t, uctx: *mut libc::c_void) -> bool {
    // SAFETY: `info` is valid. Only faults raised by the CPU (positive codes such as
    // SEGV_MAPERR / SEGV_ACCERR / BUS_ADRERR) carry a fault address; sent signals do not.
    if unsafe { (*info).si_code } <= 0 {
        return false;
    }
    let Ok(ctx) = ACTIVE.try_with(|active| active.get()) else {
        return false;
    };
    if ctx.is_null() {
        return false;
    }
    // SAFETY: a non-null ACTIVE points at the context of this thread's current run.
    let context = unsafe { &mut *ctx };
    // SAFETY: `uctx` is the ucontext_t the kernel saved for this signal.
    let uc = unsafe { &mut *uctx.cast::<libc::ucontext_t>() };
    let rip = uc.uc_mcontext.gregs[libc::REG_RIP as usize] as u64;
    let Some(offset) = rip.checked_sub(context.code_base) else {
        return false;
    };
    if offset >= context.code_len {
        return false;
    }
    // SAFETY: the run's trap table, alive for the whole run.
    let traps: &[Trap] =
        unsafe { std::slice::from_raw_parts(context.trap_table, context.trap_table_len as usize) };
    let Ok(found) = traps.binary_search_by_key(&(offset as u32), |t| t.native) else {
        return false;
    };
    let window = ctx as u64 + CONTEXT_BELOW_GUEST as u64 - CONTEXT_SPAN as u64;
    // SAFETY: `info` is valid; for SIGSEGV / SIGBUS it carries the faulting address.
    let address = unsafe { (*info).si_addr() } as u64;
    if address < window || address >= window + WINDOW_SPAN as u64 {
        return false;
    }
    context.exit = exit::STEP;
    context.exit_index = traps[found].index;
    uc.uc_mcontext.gregs[libc::REG_RIP as usize] = context.fault_exit as i64;
    true
}

/// Hands a fault that is not ours to the previous handler, or restores the default action (the
/// faulting instruction then runs again and gets it).
unsafe fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, uctx: *mut libc::c_void) {
    let slot = usize::from(signal != libc::SIGSEGV);
    if let Some(previous) = PREVIOUS.get() {
        let previous = &previous[slot];
        let handler = previous.sa_sigaction;
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            // SAFETY: the previous handler was installed with these signatures by its owner.
            unsafe {
                if previous.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(handler);
                    f(signal, info, uctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(handler);
                    f(signal);
                }
            }
            return;
        }
    }
    // SAFETY: `info` is valid (see `redirect`).
    let sent = unsafe { (*info).si_code } <= 0;
    let ignored = PREVIOUS
        .get()
        .is_some_and(|p| p[slot].sa_sigaction == libc::SIG_IGN);
    if sent && ignored {
        return;
    }
    // The default action: for a fault, returning re-executes the faulting instruction, which
    // then gets it; a sent signal is raised again (it stays blocked until this handler returns).
    // SAFETY: resetting the disposition with a zeroed structure; `raise` is async-signal-safe.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &default, std::ptr::null_mut());
        if sent {
            libc::raise(signal);
        }
    }
}
