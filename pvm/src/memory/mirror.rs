//! Keeping a window's page protections in step with the access table ("mirroring"), within
//! per-window and process-wide budgets of host mappings, and never more permissive than the
//! table. A window is mirrored from the first run on it until reset; a pooled window may keep a
//! small layout's protections for the next user.

use super::{Access, Memory, MemoryError, Window};

/// A window with at most this many rights transitions keeps its protections while pooled, so
/// that the next user with the same layout (a service run again) needs no `mprotect` at all.
const KEEP_RIGHTS_TRANSITIONS: u32 = 16;
/// Windows an address space keeps besides the current one, each with a small layout's
/// protections: services run in turn then each find their layout in place (a few windows per
/// space cost address space only, 8 GiB each, and a handful of mappings).
const MAX_SPARE_WINDOWS: usize = 3;
/// Most changes of rights between neighbouring pages one window mirrors exactly. Each change can
/// cost a host mapping; beyond this the window makes every page inaccessible and each access
/// faults into the checked slow path instead.
const WINDOW_TRANSITION_BUDGET: u32 = 1024;
/// The same limit for all windows of the process together: half of the kernel's default
/// `vm.max_map_count` (65,530), leaving the rest to the host.
const PROCESS_TRANSITION_BUDGET: u32 = 32 * 1024;

/// Transitions charged by all windows that mirror rights exactly.
static PROCESS_TRANSITIONS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// How the window (if any) relates to the access table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mirror {
    /// Not in use by this `Memory`: the window's protections are those recorded in
    /// `Window::rights` (none at all for a new window).
    Off,
    /// The window has exactly the table's rights; `charged` transitions count against the
    /// process budget.
    Exact { charged: u32 },
    /// In use but entirely inaccessible: every access faults into the checked slow path.
    Degraded,
}

/// Source of window epochs.
static NEXT_WINDOW_EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Memory {
    /// The window generated code runs on, created on first use: `(context page, guest base)`.
    /// From now until reset its page rights follow every change of rights (or it degrades).
    pub(crate) fn window(&mut self) -> Result<(*mut u8, *mut u8), MemoryError> {
        if self.parts.window.is_none() {
            self.parts.window = Some(Window::new(self.parts.backing.fd())?);
            self.mirror = Mirror::Off;
            self.window_epoch = 0;
        }
        if self.mirror == Mirror::Off {
            self.start_mirroring();
        }
        if self.window_epoch == 0 && self.parts.window.is_some() {
            self.window_epoch =
                NEXT_WINDOW_EPOCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        match &self.parts.window {
            Some(window) => Ok((window.context(), window.guest_base())),
            None => Err(MemoryError(std::io::Error::other(
                "the guest window was lost after a failed mprotect",
            ))),
        }
    }

    /// Identifies the current use of the window: while it is unchanged (and non-zero), the
    /// addresses [`Memory::window`] returned stay valid. Changes whenever the window is
    /// unmapped, reset, or this `Memory` is another one.
    #[inline]
    pub(crate) fn window_epoch(&self) -> u64 {
        self.window_epoch
    }

    /// Whether the window has stopped mirroring rights (every access through it faults).
    pub fn window_degraded(&self) -> bool {
        self.mirror == Mirror::Degraded
    }

    /// Gives the (entirely inaccessible) window the current rights of every accessible page.
    fn start_mirroring(&mut self) {
        self.mirror = Mirror::Exact { charged: 0 };
        if !self.charge_transitions() {
            return self.degrade_window();
        }
        let desired = self.access_runs();
        let Some(window) = self.parts.window.as_mut() else {
            return;
        };
        // While mirroring, the window's rights follow the table instead of this record.
        let kept = std::mem::take(&mut window.rights);
        if kept == desired {
            return;
        }
        if self.switch_window(kept, &desired) {
            return;
        }
        let Some(window) = self.parts.window.as_mut() else {
            return;
        };
        if !window.rights.is_empty() && window.revoke_all().is_err() {
            return self.lose_window();
        }
        window.rights.clear();
        for (first, last, access) in desired {
            self.protect_window(first as usize, last as usize + 1, access as u8);
            if !matches!(self.mirror, Mirror::Exact { .. }) {
                return;
            }
        }
    }

    /// Instead of changing the current window's protections (`kept`, a layout another service
    /// may run with again), switches to a spare window that already has `desired`, or parks the
    /// current one and starts a fresh, entirely inaccessible window. True when a spare matched.
    /// Otherwise the current window is left with `kept` recorded in its `rights`.
    fn switch_window(
        &mut self,
        kept: Vec<(u32, u32, Access)>,
        desired: &[(u32, u32, Access)],
    ) -> bool {
        let spares = &mut self.parts.spare_windows;
        if let Some(i) = spares.iter().position(|w| w.rights == desired) {
            let mut matching = spares.swap_remove(i);
            release_parked_charge(&mut matching);
            matching.rights.clear();
            if let Some(current) = self.parts.window.replace(matching) {
                self.park(current, kept);
            }
            return true;
        }
        if !kept.is_empty() && spares.len() < MAX_SPARE_WINDOWS {
            if let Ok(fresh) = Window::new(self.parts.backing.fd()) {
                if let Some(current) = self.parts.window.replace(fresh) {
                    self.park(current, kept);
                }
                return false;
            }
        }
        if let Some(window) = self.parts.window.as_mut() {
            window.rights = kept;
        }
        false
    }

    /// Keeps `window` (whose protections are `kept`) as a spare, with nothing left in its
    /// context and its mappings charged to the process budget; unmaps it instead when that
    /// budget is spent.
    fn park(&mut self, mut window: Window, kept: Vec<(u32, u32, Access)>) {
        let Some(charge) = charge_parked(&kept) else {
            return;
        };
        window.parked_charge = charge;
        window.rights = kept;
        window.clear_context(super::CONTEXT_USED);
        self.parts.spare_windows.push(window);
    }

    /// Unmaps a window whose protections could not be brought down (the next run maps a new
    /// one), so it never grants more than the table.
    fn lose_window(&mut self) {
        self.release_charge();
        self.parts.window = None;
        self.mirror = Mirror::Off;
        self.window_epoch = 0;
    }

    /// Charges the current transition count against the budgets; false when over either.
    fn charge_transitions(&mut self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let Mirror::Exact { charged } = self.mirror else {
            return false;
        };
        let want = self.transitions;
        if want > WINDOW_TRANSITION_BUDGET {
            return false;
        }
        let charge = |total: u32| {
            let total = total - charged + want;
            (total <= PROCESS_TRANSITION_BUDGET).then_some(total)
        };
        if PROCESS_TRANSITIONS
            .fetch_update(Relaxed, Relaxed, charge)
            .is_err()
        {
            return false;
        }
        self.mirror = Mirror::Exact { charged: want };
        true
    }

    /// Mirrors new rights of pages `[first, end)` in the window when it mirrors exactly, or
    /// degrades it when that cannot be done within the mapping budgets.
    pub(super) fn protect_window(&mut self, first: usize, end: usize, access: u8) {
        if !matches!(self.mirror, Mirror::Exact { .. }) {
            return;
        }
        let access = match access {
            0 => Access::None,
            1 => Access::Read,
            _ => Access::Write,
        };
        let protected = self.charge_transitions()
            && self
                .parts
                .window
                .as_ref()
                .is_some_and(|w| w.protect(first, end, access).is_ok());
        if !protected {
            self.degrade_window();
        }
    }

    /// Makes the window entirely inaccessible while it stays in use. Should even that fail, the
    /// window is unmapped (the next run makes a new one), so it never grants more than the table.
    fn degrade_window(&mut self) {
        self.release_charge();
        self.mirror = Mirror::Degraded;
        if self
            .parts
            .window
            .as_ref()
            .is_some_and(|w| w.revoke_all().is_err())
        {
            self.lose_window();
        }
    }

    /// Ends mirroring. A window with few transitions keeps its protections, recorded in
    /// `Window::rights` for the next user; any other becomes entirely inaccessible.
    pub(super) fn stop_mirroring(&mut self) {
        let keep = matches!(self.mirror, Mirror::Exact { .. })
            && self.transitions <= KEEP_RIGHTS_TRANSITIONS;
        let rights = if keep { self.access_runs() } else { Vec::new() };
        let mirrored = self.mirror != Mirror::Off;
        if let Some(window) = self.parts.window.as_mut() {
            if keep {
                window.rights = rights;
            } else if mirrored {
                if window.revoke_all().is_err() {
                    return self.lose_window();
                }
                window.rights.clear();
            }
        }
        self.release_charge();
        self.mirror = Mirror::Off;
        self.window_epoch = 0;
    }

    fn release_charge(&mut self) {
        if let Mirror::Exact { charged } = self.mirror {
            PROCESS_TRANSITIONS.fetch_sub(charged, std::sync::atomic::Ordering::Relaxed);
            self.mirror = Mirror::Exact { charged: 0 };
        }
    }
}

/// Transitions a parked window with protections `kept` may hold (each run has two edges).
fn parked_transitions(kept: &[(u32, u32, Access)]) -> u32 {
    u32::try_from(kept.len() * 2).unwrap_or(u32::MAX)
}

/// Charges a parked window's transitions to the process budget: `None` when over it.
fn charge_parked(kept: &[(u32, u32, Access)]) -> Option<u32> {
    use std::sync::atomic::Ordering::Relaxed;
    let charge = parked_transitions(kept);
    PROCESS_TRANSITIONS
        .fetch_update(Relaxed, Relaxed, |total| {
            total
                .checked_add(charge)
                .filter(|&t| t <= PROCESS_TRANSITION_BUDGET)
        })
        .ok()
        .map(|_| charge)
}

/// Gives back what a parked window was charged (when it is used again or unmapped).
pub(super) fn release_parked_charge(window: &mut Window) {
    let charge = std::mem::take(&mut window.parked_charge);
    PROCESS_TRANSITIONS.fetch_sub(charge, std::sync::atomic::Ordering::Relaxed);
}
