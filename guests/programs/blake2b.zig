//! BLAKE2b-256 of the arguments.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var digest: [32]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    std.crypto.hash.blake2.Blake2b256.hash(args[0..len], &digest, .{});
    return kiln.output(&digest);
}
