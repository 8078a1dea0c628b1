// Checking a password against a mosquitto_passwd hash, as the `pw_verify` import does, with the
// plugin's parsing rules (plugin-c/runtime/pwhash.c):
//   $6$<salt>$<hash>          hash = SHA-512(password || salt)
//   $7$<iter>$<salt>$<hash>   hash = PBKDF2-HMAC-SHA512(password, salt, iter), 64 bytes
//   $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>   hash = Argon2id, 4..64 bytes
// salt and hash are standard base64 with optional '=' padding; the salt is 1..256 bytes (8..256
// for Argon2), the $6$/$7$ hash exactly 64, numbers 1..999999999. A well-formed hash above a cost
// cap (WA_MAX_PW_ITERATIONS; WA_MAX_PW_ARGON2_KIB for m x t, WA_MAX_PW_ARGON2_LANES) is never
// computed and never matches. The comparison is constant-time. Parsing and checking are separate
// so the host can charge for the work before doing it. Node 20 has no Argon2: @noble/hashes'
// (pure JS, synchronous as an import must be; 4-7x slower than libargon2, and V8 cannot interrupt
// it, which is why the Node host does not enforce wasm_timeout_ms).
import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { argon2id } from '@noble/hashes/argon2.js';
import { WA_MAX_PW_ARGON2_KIB, WA_MAX_PW_ARGON2_LANES, WA_MAX_PW_ITERATIONS, WA_MAX_PW_SALT_BYTES } from './limits.js';

const DIGEST_BYTES = 64;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// Strict decoder: null when a character is outside the alphabet, leftover bits are not zero, a
// single character would end a group, or the result is longer than cap.
function base64(s: string, cap: number): Uint8Array<ArrayBuffer> | null {
  let end = s.length;
  while (end > 0 && s[end - 1] === '=') end--;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const v = ALPHABET.indexOf(s[i]);
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (out.length === cap) return null;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6 || (acc & ((1 << bits) - 1)) !== 0) return null;
  return new Uint8Array(out);
}

// 1..999999999 (at most 9 digits), or -1; the cap is the caller's to check.
function iterationsOf(s: string): number {
  if (!/^[0-9]{1,9}$/.test(s)) return -1;
  const v = Number(s);
  return v >= 1 ? v : -1;
}

/** $argon2id$'s parameters: m (KiB), t (passes), p (lanes). */
export interface Argon2Params {
  kib: number;
  passes: number;
  lanes: number;
}

/** A parsed hash; iterations 0 for $6$ (one SHA-512) and for $argon2id$ (argon2 set). */
export interface PwHash {
  iterations: number;
  argon2?: Argon2Params;
  salt: Uint8Array<ArrayBuffer>;
  digest: Uint8Array<ArrayBuffer>;
}

/** pwParse: unsupported or malformed hash. */
export const PW_MALFORMED = -1;
/** pwParse: a well-formed hash above a cost cap (hash says which: iterations, or argon2). */
export const PW_TOO_COSTLY = -2;

// libargon2's structural limits (argon2.h): the hash is malformed outside them.
const ARGON2_MAX_LANES = 0xffffff;
const ARGON2_MIN_SALT_BYTES = 8;
const ARGON2_MIN_OUT_BYTES = 4;

/** Above a cap: m x t over WA_MAX_PW_ARGON2_KIB, or p over WA_MAX_PW_ARGON2_LANES. */
export function argon2TooCostly(a: Argon2Params): boolean {
  return a.kib * a.passes > WA_MAX_PW_ARGON2_KIB || a.lanes > WA_MAX_PW_ARGON2_LANES;
}

// f: the hash split at '$' (6 fields, f[1] "argon2id"), as pwhash.c's argon2_parse.
function argon2Parse(f: string[]): { status: 0 | -1 | -2; hash: PwHash | null } {
  const bad = { status: PW_MALFORMED as -1, hash: null };
  if (f[2] !== 'v=19') return bad;
  const m = /^m=([^,]*),t=([^,]*),p=(.*)$/s.exec(f[3]);
  if (m === null) return bad;
  const [kib, passes, lanes] = [iterationsOf(m[1]), iterationsOf(m[2]), iterationsOf(m[3])];
  if (kib < 0 || passes < 0 || lanes < 0 || lanes > ARGON2_MAX_LANES || kib < 8 * lanes) return bad;
  const salt = base64(f[4], WA_MAX_PW_SALT_BYTES);
  const want = base64(f[5], DIGEST_BYTES + 1);
  if (salt === null || salt.length < ARGON2_MIN_SALT_BYTES || want === null || want.length < ARGON2_MIN_OUT_BYTES
    || want.length > DIGEST_BYTES) return bad;
  const argon2 = { kib, passes, lanes };
  return { status: argon2TooCostly(argon2) ? PW_TOO_COSTLY : 0, hash: { iterations: 0, argon2, salt, digest: want } };
}

/**
 * The hash parsed (status 0), or status PW_MALFORMED, or PW_TOO_COSTLY (hash.iterations or
 * hash.argon2 says how costly), as plugin-c/runtime/pwhash.c's wa_pw_parse. No hashing.
 */
export function pwParse(hash: string): { status: 0 | -1 | -2; hash: PwHash | null } {
  const bad = { status: PW_MALFORMED as -1, hash: null };
  if (hash.length === 0 || hash[0] !== '$') return bad;
  const f = hash.split('$');
  if (f.length === 6 && f[1] === 'argon2id') return argon2Parse(f);
  let iterations = 0;
  let salt: Uint8Array<ArrayBuffer> | null;
  let want: Uint8Array<ArrayBuffer> | null;
  if (f.length === 4 && f[1] === '6') {
    salt = base64(f[2], WA_MAX_PW_SALT_BYTES);
    want = base64(f[3], DIGEST_BYTES + 1);
  } else if (f.length === 5 && f[1] === '7') {
    iterations = iterationsOf(f[2]);
    if (iterations < 0) return bad;
    salt = base64(f[3], WA_MAX_PW_SALT_BYTES);
    want = base64(f[4], DIGEST_BYTES + 1);
  } else {
    return bad;
  }
  if (salt === null || salt.length === 0 || want === null || want.length !== DIGEST_BYTES) return bad;
  return { status: iterations > WA_MAX_PW_ITERATIONS ? PW_TOO_COSTLY : 0, hash: { iterations, salt, digest: want } };
}

/** 1 match, 0 no match, -1 when the hash is above a cost cap (never computed). */
export function pwCheck(h: PwHash, password: Uint8Array): 1 | 0 | -1 {
  if (h.iterations > WA_MAX_PW_ITERATIONS || (h.argon2 !== undefined && argon2TooCostly(h.argon2))) return -1;
  if (h.argon2 !== undefined) {
    const a = h.argon2;
    const got = argon2id(password, h.salt, { t: a.passes, m: a.kib, p: a.lanes, dkLen: h.digest.length, version: 0x13 });
    return timingSafeEqual(got, h.digest) ? 1 : 0;
  }
  const got = new Uint8Array(h.iterations === 0
    ? createHash('sha512').update(password).update(h.salt).digest()
    : pbkdf2Sync(password, h.salt, h.iterations, DIGEST_BYTES, 'sha512'));
  return timingSafeEqual(got, h.digest) ? 1 : 0;
}

/** 1 match, 0 no match (also for a hash above the iteration cap), -1 unsupported or malformed hash. */
export function pwVerify(hash: string, password: Uint8Array): 1 | 0 | -1 {
  const p = pwParse(hash);
  if (p.status === PW_TOO_COSTLY) return 0;
  if (p.status !== 0 || p.hash === null) return -1;
  return pwCheck(p.hash, password);
}

/** pw_verify's warning for a hash above a cost cap (pwParse's PW_TOO_COSTLY): the cap's name. */
export function pwCapWarning(h: PwHash): string {
  const a = h.argon2;
  if (a === undefined) {
    return `pw_verify: a $7$ hash asks for ${h.iterations} PBKDF2 iterations, above the cap `
      + `of ${WA_MAX_PW_ITERATIONS} (WA_MAX_PW_ITERATIONS): no match`;
  }
  if (a.lanes > WA_MAX_PW_ARGON2_LANES) {
    return `pw_verify: an $argon2id$ hash asks for ${a.lanes} lanes, above the cap of ${WA_MAX_PW_ARGON2_LANES} `
      + '(WA_MAX_PW_ARGON2_LANES): no match';
  }
  return `pw_verify: an $argon2id$ hash asks for m=${a.kib} KiB x t=${a.passes}, above the cap of `
    + `${WA_MAX_PW_ARGON2_KIB} KiB (WA_MAX_PW_ARGON2_KIB): no match`;
}
