//! secp256k1 public-key recovery (Ethereum's `ecrecover`): the arguments are the 32-byte
//! message hash ‖ r (32) ‖ s (32) ‖ recovery id (1, parity of R's y); output: the 65-byte
//! uncompressed SEC1 public key, or one zero byte if there is none.
const std = @import("std");
const kiln = @import("kiln.zig");
comptime {
    _ = kiln;
}

const Curve = std.crypto.ecc.Secp256k1;
const Scalar = Curve.scalar.Scalar;

var result: [65]u8 = undefined;

fn recover(args: []const u8) ![65]u8 {
    if (args.len < 97) return error.TooShort;
    const hash = args[0..32];
    const r_bytes = args[32..64].*;
    const s_bytes = args[64..96].*;
    const v = args[96];
    if (v > 1) return error.BadRecoveryId;
    const r = try Scalar.fromBytes(r_bytes, .big);
    const s = try Scalar.fromBytes(s_bytes, .big);
    if (r.isZero() or s.isZero()) return error.ZeroScalar;
    // R: the point whose x is r and whose y has the given parity.
    const x = try Curve.Fe.fromBytes(r_bytes, .big);
    const y = try Curve.recoverY(x, v == 1);
    const big_r = try Curve.fromAffineCoordinates(.{ .x = x, .y = y });
    // Q = r⁻¹ (s·R − z·G) = (−z·r⁻¹)·G + (s·r⁻¹)·R.
    var wide: [48]u8 = @splat(0);
    @memcpy(wide[16..], hash);
    const z = Scalar.fromBytes48(wide, .big);
    const r_inv = r.invert();
    const u_1 = z.neg().mul(r_inv);
    const u_2 = s.mul(r_inv);
    const q = try Curve.mulDoubleBasePublic(
        Curve.basePoint,
        u_1.toBytes(.big),
        big_r,
        u_2.toBytes(.big),
        .big,
    );
    return q.toUncompressedSec1();
}

export fn entry(args: [*]const u8, len: usize) kiln.Output {
    result = recover(args[0..len]) catch {
        result[0] = 0;
        return kiln.output(result[0..1]);
    };
    return kiln.output(&result);
}
