//! Ed25519 verification: the arguments are public key (32) ‖ signature (64) ‖ message;
//! output: one byte, 1 if the signature is valid, else 0.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

var result: [1]u8 = undefined;

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    result[0] = 0;
    if (len < 96) return kiln.output(&result);
    const Ed25519 = std.crypto.sign.Ed25519;
    const key = Ed25519.PublicKey.fromBytes(args[0..32].*) catch return kiln.output(&result);
    const sig = Ed25519.Signature.fromBytes(args[32..96].*);
    sig.verify(args[96..len], key) catch return kiln.output(&result);
    result[0] = 1;
    return kiln.output(&result);
}
