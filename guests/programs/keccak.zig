//! keccak-f[1600] on the 200-byte state in the arguments (little-endian lanes), applied
//! `rounds` times for the u64 in bytes 200..208 (default 1); output: the state.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var state: [200]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    @memset(&state, 0);
    @memcpy(state[0..@min(len, 200)], args[0..@min(len, 200)]);
    var times: u64 = 1;
    if (len >= 208) times = std.mem.readInt(u64, args[200..208], .little);
    var k = std.crypto.core.keccak.KeccakF(1600).init(state);
    var i: u64 = 0;
    while (i < times) : (i += 1) k.permute();
    k.extractBytes(&state);
    return kiln.output(&state);
}
