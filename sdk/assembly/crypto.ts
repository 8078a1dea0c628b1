// SHA-256, HMAC-SHA-256 and PBKDF2-HMAC-SHA-256 computed by the host (native code, paid per
// byte and per iteration: docs/SECURITY.md, "Host function prices"), for challenge-response
// schemes such as SCRAM-SHA-256 (examples/scram). In AssemblyScript under the interpreter they
// would cost a hundred times more fuel.
import { host_hmac_sha256, host_pbkdf2_sha256, host_sha256 } from "./imports";

/** Bytes of a SHA-256 digest. */
export const SHA256_BYTES: i32 = 32;
/** The most bytes one argument may hold (WA_MAX_CRYPTO_INPUT_BYTES); above it the call refuses. */
export const CRYPTO_MAX_INPUT_BYTES: i32 = 1024 * 1024;
/** The most PBKDF2 iterations the host computes (WA_MAX_PBKDF2_SHA256_ITERATIONS). */
export const PBKDF2_SHA256_MAX_ITERATIONS: i32 = 20000;

/** SHA-256 of `data`; null when it is longer than {@link CRYPTO_MAX_INPUT_BYTES}. */
export function sha256(data: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(SHA256_BYTES);
  if (host_sha256(data.dataStart, <u32>data.length, out.dataStart) != 0) return null;
  return out;
}

/** HMAC-SHA-256 of `msg` under `key`; null when either is longer than {@link CRYPTO_MAX_INPUT_BYTES}. */
export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(SHA256_BYTES);
  if (host_hmac_sha256(key.dataStart, <u32>key.length, msg.dataStart, <u32>msg.length, out.dataStart) != 0) return null;
  return out;
}

/**
 * PBKDF2-HMAC-SHA-256 with a 32-byte output (SCRAM-SHA-256's SaltedPassword); null when
 * `iterations` is 0 or above {@link PBKDF2_SHA256_MAX_ITERATIONS}, or an input is too long.
 * Each iteration costs fuel (about 400 units): at the cap one call takes most of a request's
 * default budget, so derive keys at init (security_init) where you can.
 */
export function pbkdf2Sha256(password: Uint8Array, salt: Uint8Array, iterations: i32): Uint8Array | null {
  const out = new Uint8Array(SHA256_BYTES);
  if (host_pbkdf2_sha256(password.dataStart, <u32>password.length, salt.dataStart, <u32>salt.length, iterations, out.dataStart) != 0) return null;
  return out;
}

/** Whether a and b hold the same bytes, in time that depends on their length only. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  let d: u32 = 0;
  for (let i = 0; i < a.length; i++) d |= <u32>(unchecked(a[i]) ^ unchecked(b[i]));
  return d == 0;
}
