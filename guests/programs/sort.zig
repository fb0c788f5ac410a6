//! Sorts the little-endian u64s of the arguments (heap sort, in place in a copy); output: the
//! sorted array.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var items: [16384]u64 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    const n = @min(len / 8, items.len);
    var i: usize = 0;
    while (i < n) : (i += 1) items[i] = std.mem.readInt(u64, args[i * 8 ..][0..8], .little);
    std.sort.heap(u64, items[0..n], {}, std.sort.asc(u64));
    i = 0;
    while (i < n) : (i += 1) items[i] = std.mem.nativeToLittle(u64, items[i]);
    return kiln.output(std.mem.sliceAsBytes(items[0..n]));
}
