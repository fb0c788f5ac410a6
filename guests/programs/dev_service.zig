//! The dev chain's genesis service (`counter`, id 1 in the `dev` chain spec).
//!
//! - refine (pc 0): arguments `E(core, item, service, ↕payload, H(package))`; the output is the
//!   payload with ASCII letters upper-cased ("hello" → "HELLO").
//! - accumulate (pc 5): arguments `E(slot, service, |operands|)`; reads the u64 storage item
//!   `counter` (absent: 0), adds 1, writes it back, logs `counter = N`, and outputs nothing.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var out_buffer: [4096]u8 = undefined;

export fn refine(args: [*]const u8, len: usize) kiln.Output {
    var reader = kiln.Reader{ .bytes = args[0..len] };
    _ = reader.natural() orelse return kiln.output(&.{});
    _ = reader.natural() orelse return kiln.output(&.{});
    _ = reader.natural() orelse return kiln.output(&.{});
    const payload = reader.blob() orelse return kiln.output(&.{});
    const n = @min(payload.len, out_buffer.len);
    for (payload[0..n], out_buffer[0..n]) |c, *o| o.* = std.ascii.toUpper(c);
    return kiln.output(out_buffer[0..n]);
}

const counter_key = "counter";
var message: [64]u8 = undefined;

export fn accumulate(args: [*]const u8, len: usize) kiln.Output {
    _ = args;
    _ = len;
    var value: [8]u8 = @splat(0);
    const found = kiln.host.read(kiln.this_service, counter_key, &value);
    var counter: u64 = 0;
    if (found == 8) counter = std.mem.readInt(u64, &value, .little);
    counter +%= 1;
    std.mem.writeInt(u64, &value, counter, .little);
    _ = kiln.host.write(counter_key, &value);
    const text = std.fmt.bufPrint(&message, "counter = {d}", .{counter}) catch message[0..0];
    _ = kiln.host.log(2, "counter", text);
    return kiln.output(&.{});
}
