//! Guest programs for the kernel's tests and benchmarks, in assembler text (standard programs
//! for [`crate::kernel::Kernel`]). Both start at pc 0 in the root (`φ0` = halt address) and in
//! children (`φ0` = 0), and branch on that.

/// Recursive Fibonacci where every call CREATEs a child VM from a copy of the root's CODE cap,
/// CALLs it with `n − 1` (then a fresh one with `n − 2`), and DROPs it. The root probes with
/// `ecalli 0` (host function `gas`) with the CALL's status in `φ7` and `fib(n)` in `φ8`, then
/// halts. fib(20) makes 21,890 children.
pub fn fib(n: u32) -> String {
    let create = "load_imm r7, 40\nload_imm r8, 50\nload_imm_64 r9, 0x10000000000\n\
                  load_imm r10, 0\necalli 257\n";
    let drop = "load_imm r7, 50\necalli 258\n";
    let call = "load_imm r11, -1\nload_imm r12, -1\necalli 50\n";
    format!(
        ".stack_size 4096
    branch_eq_imm r0, 0, child
    load_imm r7, 254
    load_imm r8, -1
    load_imm r9, 40
    load_imm r10, 0
    ecalli 259
    {create}load_imm r7, {n}
    {call}ecalli 0
    jump_ind r0, 0
child:
    branch_lt_u_imm r7, 2, base
    move_reg r2, r7
    {create}add_imm_64 r7, r2, -1
    {call}move_reg r3, r8
    {drop}{create}add_imm_64 r7, r2, -2
    {call}add_64 r3, r3, r8
    {drop}move_reg r7, r3
    load_imm r11, -1
    ecalli 256
    jump child
base:
    load_imm r11, -1
    ecalli 256
    jump child
"
    )
}

/// The root CALLs one child `count` times; the child REPLYs at once each time. Halts after.
pub fn call_reply_loop(count: u32) -> String {
    format!(
        ".stack_size 4096
    branch_eq_imm r0, 0, child
    load_imm r7, 254
    load_imm r8, 50
    load_imm r9, 0
    load_imm r10, 0
    ecalli 257
    load_imm r2, {count}
    fallthrough
again:
    load_imm r11, -1
    load_imm r12, -1
    ecalli 50
    add_imm_64 r2, r2, -1
    branch_ne_imm r2, 0, again
    jump_ind r0, 0
child:
    load_imm r11, -1
    ecalli 256
    jump child
"
    )
}
