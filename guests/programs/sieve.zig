//! Counts the primes below the u64 n in the arguments (at most 2^20) with a sieve of
//! Eratosthenes; output: the count as u64.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var composite: [1 << 20]bool = undefined;
var result: [8]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    var n: u64 = 0;
    if (len >= 8) n = @min(std.mem.readInt(u64, args[0..8], .little), composite.len);
    @memset(composite[0..@intCast(n)], false);
    var count: u64 = 0;
    var i: u64 = 2;
    while (i < n) : (i += 1) {
        if (composite[@intCast(i)]) continue;
        count += 1;
        var j = i * i;
        while (j < n) : (j += i) composite[@intCast(j)] = true;
    }
    std.mem.writeInt(u64, &result, count, .little);
    return kiln.output(&result);
}
