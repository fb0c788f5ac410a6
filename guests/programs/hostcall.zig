//! Calls host function 100 (`log`'s id, answered by the embedder) n times for the u64 n in the
//! arguments, passing the loop counter; output: the wrapping sum of the answers.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var result: [8]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    var n: u64 = 0;
    if (len >= 8) n = std.mem.readInt(u64, args[0..8], .little);
    var sum: u64 = 0;
    var i: u64 = 0;
    while (i < n) : (i += 1) sum +%= kiln.hostCall(100, i, 0, 0, 0);
    std.mem.writeInt(u64, &result, sum, .little);
    return kiln.output(&result);
}
