//! Kiln's guest SDK: host calls, the entry convention, and the memory functions the compiler
//! expects. Import it with `const kiln = @import("kiln.zig");` and `comptime { _ = kiln; }`.
const std = @import("std");

/// What an entry point returns: a byte range of guest memory (`a0`, `a1`), which the PVM
/// reports as the output when the entry returns (it returns to the halt address).
pub const Output = extern struct {
    ptr: [*]const u8,
    len: usize,
};

/// An output of `bytes`, which must outlive the call (a global, or the arguments).
pub fn output(bytes: []const u8) Output {
    return .{ .ptr = bytes.ptr, .len = bytes.len };
}

/// `read`/`lookup`/`info` service argument meaning "this service".
pub const this_service: u64 = std.math.maxInt(u64);

/// Decodes the Gray Paper's encodings from an argument buffer.
pub const Reader = struct {
    bytes: []const u8,
    pos: usize = 0,

    /// A variable-length natural `E(x)`: a prefix byte with `l` leading ones, then `l`
    /// little-endian bytes (`l` = 8: the prefix carries nothing). `null` past the end.
    pub fn natural(self: *Reader) ?u64 {
        if (self.pos >= self.bytes.len) return null;
        const first = self.bytes[self.pos];
        self.pos += 1;
        const l: u4 = @intCast(@clz(~first));
        if (self.pos + l > self.bytes.len) return null;
        var value: u64 = 0;
        var i: u4 = 0;
        while (i < l) : (i += 1) value |= @as(u64, self.bytes[self.pos + i]) << @as(u6, @intCast(8 * @as(u32, i)));
        self.pos += l;
        if (l < 8) {
            const top: u64 = first & ((@as(u8, 0x80) >> @as(u3, @intCast(l))) -% 1);
            value |= top << @as(u6, @intCast(8 * @as(u32, l)));
        }
        return value;
    }

    /// A length-prefixed blob `↕x`.
    pub fn blob(self: *Reader) ?[]const u8 {
        const n = self.natural() orelse return null;
        if (n > self.bytes.len - self.pos) return null;
        const start = self.pos;
        self.pos += @intCast(n);
        return self.bytes[start..self.pos];
    }
};

/// Host call `id` with up to four arguments (`a0`..`a3`); returns `a0`. The linker turns the
/// `custom-0` instruction into `ecalli id`.
pub inline fn hostCall(comptime id: u12, a0: u64, a1: u64, a2: u64, a3: u64) u64 {
    return asm volatile (std.fmt.comptimePrint(".insn i 0x0B, 0, x0, x0, {d}", .{id})
        : [ret] "={a0}" (-> u64),
        : [a0] "{a0}" (a0),
          [a1] "{a1}" (a1),
          [a2] "{a2}" (a2),
          [a3] "{a3}" (a3),
        : .{ .memory = true });
}

/// GP host functions by name, with the GP 0.7 numbering (Kiln's default profile, `jam-0.7`).
/// Each returns `φ7` (a value or one of GP's result codes, `NONE` = 2⁶⁴−1 … `HUH` = 2⁶⁴−9).
pub const host = struct {
    /// Remaining gas.
    pub fn gas() u64 {
        return hostCall(0, 0, 0, 0, 0);
    }
    /// `fetch`: copies part of item `selector` (`index`) into `out`; returns its full length.
    pub fn fetch(out: []u8, offset: u64, selector: u64, index: u64) u64 {
        return hostCall5(1, @intFromPtr(out.ptr), offset, out.len, selector, index);
    }
    /// `lookup`: the preimage of the 32-byte hash at `hash` for service `service`, into `out`.
    pub fn lookup(service: u64, hash: *const [32]u8, out: []u8) u64 {
        return hostCall5(2, service, @intFromPtr(hash), @intFromPtr(out.ptr), 0, out.len);
    }
    /// `read`: storage value of `key` for service `service`, into `out`; returns its length.
    pub fn read(service: u64, key: []const u8, out: []u8) u64 {
        return hostCall6(3, service, @intFromPtr(key.ptr), key.len, @intFromPtr(out.ptr), 0, out.len);
    }
    /// `write`: sets storage `key` to `value`; returns the previous length.
    pub fn write(key: []const u8, value: []const u8) u64 {
        return hostCall(4, @intFromPtr(key.ptr), key.len, @intFromPtr(value.ptr), value.len);
    }
    /// `log` (JIP-1): `message` at `level` for `target`.
    pub fn log(level: u64, target: []const u8, message: []const u8) u64 {
        return hostCall5(100, level, @intFromPtr(target.ptr), target.len, @intFromPtr(message.ptr), message.len);
    }
};

/// Host call `id` with five arguments (`a0`..`a4`).
pub inline fn hostCall5(comptime id: u12, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64) u64 {
    return hostCall6(id, a0, a1, a2, a3, a4, 0);
}

/// Host call `id` with six arguments (`a0`..`a5`).
pub inline fn hostCall6(comptime id: u12, a0: u64, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) u64 {
    return asm volatile (std.fmt.comptimePrint(".insn i 0x0B, 0, x0, x0, {d}", .{id})
        : [ret] "={a0}" (-> u64),
        : [a0] "{a0}" (a0),
          [a1] "{a1}" (a1),
          [a2] "{a2}" (a2),
          [a3] "{a3}" (a3),
          [a4] "{a4}" (a4),
          [a5] "{a5}" (a5),
        : .{ .memory = true });
}

// The memory functions compiled code calls. Written as plain loops with runtime safety off;
// `noinline` keeps the compiler from turning them back into calls to themselves.

export fn memcpy(noalias dest: ?[*]u8, noalias src: ?[*]const u8, len: usize) callconv(.c) ?[*]u8 {
    @setRuntimeSafety(false);
    copyForward(dest.?, src.?, len);
    return dest;
}

export fn memmove(dest: ?[*]u8, src: ?[*]const u8, len: usize) callconv(.c) ?[*]u8 {
    @setRuntimeSafety(false);
    if (@intFromPtr(dest) <= @intFromPtr(src)) {
        copyForward(dest.?, src.?, len);
    } else {
        var i: usize = len;
        while (i > 0) {
            i -= 1;
            dest.?[i] = src.?[i];
        }
    }
    return dest;
}

export fn memset(dest: ?[*]u8, c: c_int, len: usize) callconv(.c) ?[*]u8 {
    @setRuntimeSafety(false);
    const byte: u8 = @truncate(@as(c_uint, @bitCast(c)));
    var i: usize = 0;
    while (i < len) : (i += 1) dest.?[i] = byte;
    return dest;
}

export fn memcmp(a: ?[*]const u8, b: ?[*]const u8, len: usize) callconv(.c) c_int {
    @setRuntimeSafety(false);
    var i: usize = 0;
    while (i < len) : (i += 1) {
        if (a.?[i] != b.?[i]) return @as(c_int, a.?[i]) - @as(c_int, b.?[i]);
    }
    return 0;
}

noinline fn copyForward(dest: [*]u8, src: [*]const u8, len: usize) void {
    @setRuntimeSafety(false);
    var i: usize = 0;
    while (i < len) : (i += 1) dest[i] = src[i];
}

// 128-bit shifts by a variable amount, which compiled code calls for `u128` arithmetic (the
// compiler lowers shifts by constants itself, so these do not call themselves).

export fn __ashlti3(a: i128, b: i32) callconv(.c) i128 {
    @setRuntimeSafety(false);
    const x: u128 = @bitCast(a);
    const lo: u64 = @truncate(x);
    const hi: u64 = @truncate(x >> 64);
    const n: u32 = @as(u32, @bitCast(b)) & 127;
    var new_lo: u64 = 0;
    var new_hi: u64 = 0;
    if (n >= 64) {
        new_hi = lo << @intCast(n - 64);
    } else if (n > 0) {
        new_hi = (hi << @intCast(n)) | (lo >> @intCast(64 - n));
        new_lo = lo << @intCast(n);
    } else {
        new_hi = hi;
        new_lo = lo;
    }
    return @bitCast((@as(u128, new_hi) << 64) | new_lo);
}

export fn __lshrti3(a: i128, b: i32) callconv(.c) i128 {
    @setRuntimeSafety(false);
    const x: u128 = @bitCast(a);
    const lo: u64 = @truncate(x);
    const hi: u64 = @truncate(x >> 64);
    const n: u32 = @as(u32, @bitCast(b)) & 127;
    var new_lo: u64 = 0;
    var new_hi: u64 = 0;
    if (n >= 64) {
        new_lo = hi >> @intCast(n - 64);
    } else if (n > 0) {
        new_lo = (lo >> @intCast(n)) | (hi << @intCast(64 - n));
        new_hi = hi >> @intCast(n);
    } else {
        new_hi = hi;
        new_lo = lo;
    }
    return @bitCast((@as(u128, new_hi) << 64) | new_lo);
}

/// The capability kernel's operations (`docs/kernel.md`). Each returns the status in `φ7`;
/// `second` receives `φ8`.
pub const kernel = struct {
    /// `ecalli id` with `φ7..φ12` = `args`; returns `φ7` and stores `φ8` in `second`.
    pub inline fn invoke(comptime id: u32, args: [6]u64, second: *u64) u64 {
        return asm volatile (std.fmt.comptimePrint(".insn i 0x0B, 0, x0, x0, {d}\n\tsd a1, 0(t0)", .{id})
            : [ret] "={x10}" (-> u64),
            : [a0] "{x10}" (args[0]),
              [a1] "{x11}" (args[1]),
              [a2] "{x12}" (args[2]),
              [a3] "{x13}" (args[3]),
              [a4] "{x14}" (args[4]),
              [a5] "{x15}" (args[5]),
              [second] "{x5}" (second),
            : .{ .memory = true, .x11 = true, .x12 = true, .x13 = true, .x14 = true, .x15 = true });
    }

    /// `u64::MAX`: no cap / all gas / this VM's own table.
    pub const none: u64 = std.math.maxInt(u64);

    /// CREATE a VM from the CODE cap in `code` into slot `dest`, copying the caps of slots
    /// 0..63 set in `mask`, entering at pc `entry`.
    pub fn create(code: u64, dest: u64, mask: u64, entry: u64) u64 {
        var unused: u64 = 0;
        return invoke(257, .{ code, dest, mask, entry, 0, 0 }, &unused);
    }

    /// CALL the VM in `slot` with `arg` in `φ7`, passing the cap in slot `pass` (or `none`) and
    /// at most `gas`; returns the status, and the callee's `φ7` in `result`.
    pub fn call(comptime slot: u32, arg: u64, pass: u64, gas: u64, result: *u64) u64 {
        return invoke(slot, .{ arg, 0, 0, 0, pass, gas }, result);
    }

    /// GRANT: copy (`move` false) or move the cap in `src` to slot `dest` of the VM whose
    /// HANDLE is in `target` (`none`: this VM).
    pub fn grant(src: u64, target: u64, dest: u64, move: bool) u64 {
        var unused: u64 = 0;
        return invoke(259, .{ src, target, dest, @intFromBool(move), 0, 0 }, &unused);
    }

    /// DROP the cap in `slot`.
    pub fn drop(slot: u64) u64 {
        var unused: u64 = 0;
        return invoke(258, .{ slot, 0, 0, 0, 0, 0 }, &unused);
    }

    /// RETYPE `pages` of the budget (UNTYPED in `untyped`) into a DATA cap in `dest`.
    pub fn retype(untyped: u64, pages: u64, dest: u64) u64 {
        var unused: u64 = 0;
        return invoke(264, .{ untyped, pages, dest, 0, 0, 0 }, &unused);
    }
};
