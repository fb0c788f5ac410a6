//! The numbers of the kernel ABI (`docs/kernel.md`): operation ids, statuses, well-known slots,
//! gas costs and limits.

/// `ecalli` ids at or above this are kernel operations (`ecalli OP_BASE + op`); below it they
/// invoke the capability in that slot.
pub const OP_BASE: u32 = 256;

/// Operation numbers (`ecalli OP_BASE + op`).
pub mod op {
    /// Return to the caller.
    pub const REPLY: u32 = 0;
    /// A new VM from a CODE cap.
    pub const CREATE: u32 = 1;
    /// Destroy a cap (a HANDLE's VM with everything it owns).
    pub const DROP: u32 = 2;
    /// Copy or move a cap into a child's or this VM's table.
    pub const GRANT: u32 = 3;
    /// Withdraw every CALLABLE made from a HANDLE.
    pub const REVOKE: u32 = 4;
    /// Map a DATA cap into this VM's address space.
    pub const MAP: u32 = 5;
    /// Unmap a DATA cap.
    pub const UNMAP: u32 = 6;
    /// Split an unmapped DATA cap in two.
    pub const SPLIT: u32 = 7;
    /// Pages of the budget into a new DATA cap.
    pub const RETYPE: u32 = 8;
    /// A CODE cap from a code blob in this VM's memory.
    pub const COMPILE: u32 = 9;
    /// The type of the cap in a slot.
    pub const INSPECT: u32 = 10;
}

/// What a CALL returns in the caller's `φ7` when the callee stops.
pub mod status {
    /// The callee replied.
    pub const OK: u64 = 0;
    /// The callee halted (finished).
    pub const HALT: u64 = 1;
    /// The callee panicked (finished).
    pub const PANIC: u64 = 2;
    /// The callee page-faulted (`φ8` = page address); calling it again retries the access.
    pub const FAULT: u64 = 3;
    /// The callee ran out of gas; calling it again retries.
    pub const OOG: u64 = 4;
}

/// Cap types as INSPECT reports them.
pub mod cap_type {
    /// Nothing in the slot.
    pub const EMPTY: u64 = 0;
    /// A page budget.
    pub const UNTYPED: u64 = 1;
    /// Pages of the backing store.
    pub const DATA: u64 = 2;
    /// A compiled program.
    pub const CODE: u64 = 3;
    /// The owning reference to a VM.
    pub const HANDLE: u64 = 4;
    /// A call-only reference to a VM.
    pub const CALLABLE: u64 = 5;
    /// A host function.
    pub const PROTOCOL: u64 = 6;
}

/// Where a cap passed with CALL or REPLY arrives.
pub const IPC_SLOT: u8 = 255;
/// The root VM's CODE cap of its own program.
pub const ROOT_CODE_SLOT: u8 = 254;
/// The root VM's UNTYPED cap (the invocation's page budget).
pub const ROOT_UNTYPED_SLOT: u8 = 253;
/// "None" for optional register arguments (cap to pass, gas limit, own table).
pub const NONE: u64 = u64::MAX;

/// Gas of every kernel operation and of invoking a slot that is not a host function.
pub const OP_GAS: u64 = 10;
/// Bytes of a COMPILE blob per extra gas unit.
pub const COMPILE_BYTES_PER_GAS: u64 = 16;

/// VMs that may exist at once in one invocation (the root included).
pub const MAX_VMS: usize = 65_535;
/// VMs on the call stack at most (the root included).
pub const MAX_CALL_DEPTH: usize = 1_024;
/// Programs (CODE caps made by COMPILE, plus the root's) per invocation.
pub const MAX_CODES: usize = 256;
/// Default page budget of an invocation (64 MiB).
pub const DEFAULT_PAGE_BUDGET: u32 = 16_384;
/// Default limit of VMs owning an address space at once (the root included).
pub const DEFAULT_MAX_ADDRESS_SPACES: usize = 256;
/// Default limit of code-blob bytes COMPILE takes per invocation (16 MiB).
pub const DEFAULT_MAX_COMPILED_BYTES: u64 = 16 << 20;
/// Pages below this (64 KiB) are never mapped.
pub const FIRST_MAPPABLE_PAGE: u64 = 16;
/// Pages of the 4 GiB address space.
pub const ADDRESS_SPACE_PAGES: u64 = 1 << 20;
