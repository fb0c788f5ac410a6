//! fib(n) for the little-endian u64 n in the arguments, iteratively; output: fib(n) as u64.
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var result: [8]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    var n: u64 = 0;
    if (len >= 8) n = @import("std").mem.readInt(u64, args[0..8], .little);
    var a: u64 = 0;
    var b: u64 = 1;
    var i: u64 = 0;
    while (i < n) : (i += 1) {
        const t = a +% b;
        a = b;
        b = t;
    }
    @import("std").mem.writeInt(u64, &result, a, .little);
    return kiln.output(&result);
}
