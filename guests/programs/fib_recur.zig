//! Recursive Fibonacci through the kernel: every call to `fib(n)` with n ≥ 2 spawns two child
//! VMs from the program's own CODE cap (each given a one-page stack as a DATA cap), CALLs them
//! with n − 1 and n − 2, and DROPs them. The argument is the u64 n; output: fib(n) as u64.
//! Linked with entry `_start`: the root (`ra` = halt address) goes to `entry`, a child (`ra` =
//! 0) maps the stack it was given at 0x100000, runs `child` and REPLYs with its result.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

// The root copies its CODE (254) and UNTYPED (253) caps to slots 40 and 41, which every child
// inherits through CREATE's mask.
const code_slot = 40;
const untyped_slot = 41;
const child_slot = 50;
const stack_slot = 60;
const root_untyped_slot = 253;
const root_code_slot = 254;

export fn _start() callconv(.naked) noreturn {
    asm volatile (
        \\ bnez ra, 1f
        \\ mv s1, a0
        \\ li a0, 255
        \\ li a1, 0x100
        \\ li a2, 2
        \\ .insn i 0x0B, 0, x0, x0, 261
        \\ li sp, 0x101000
        \\ mv a0, s1
        \\ call child
        \\ li a4, -1
        \\ .insn i 0x0B, 0, x0, x0, 256
        \\ ebreak
        \\1:
        \\ tail entry
    );
}

/// One child spawned, called with `n` and dropped: its result.
fn spawn(n: u64) u64 {
    if (kiln.kernel.retype(untyped_slot, 1, stack_slot) != 0) @trap();
    if (kiln.kernel.create(code_slot, child_slot, 1 << code_slot | 1 << untyped_slot, 0) != 0) @trap();
    var result: u64 = 0;
    if (kiln.kernel.call(child_slot, n, stack_slot, kiln.kernel.none, &result) != 0) @trap();
    if (kiln.kernel.drop(child_slot) != 0) @trap();
    return result;
}

fn fib(n: u64) u64 {
    if (n < 2) return n;
    return spawn(n - 1) +% spawn(n - 2);
}

export fn child(n: u64) u64 {
    return fib(n);
}

var output_bytes: [8]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    var n: u64 = 0;
    if (len >= 8) n = std.mem.readInt(u64, args[0..8], .little);
    _ = kiln.kernel.grant(root_code_slot, kiln.kernel.none, code_slot, false);
    _ = kiln.kernel.grant(root_untyped_slot, kiln.kernel.none, untyped_slot, false);
    std.mem.writeInt(u64, &output_bytes, fib(n), .little);
    return kiln.output(&output_bytes);
}
