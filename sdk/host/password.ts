// Checking a password against a mosquitto_passwd hash, as the `pw_verify` import does, with the
// plugin's parsing rules (plugin-c/runtime/pwhash.c):
//   $6$<salt>$<hash>          hash = SHA-512(password || salt)
//   $7$<iter>$<salt>$<hash>   hash = PBKDF2-HMAC-SHA512(password, salt, iter), 64 bytes
// salt and hash are standard base64 with optional '=' padding; the salt is 1..256 bytes, the
// hash exactly 64, iterations 1..999999999, of which at most WA_MAX_PW_ITERATIONS are computed:
// a well-formed hash asking for more never matches. The comparison is constant-time. Parsing and
// checking are separate so the host can charge for the iterations before computing them.
import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { WA_MAX_PW_ITERATIONS, WA_MAX_PW_SALT_BYTES } from './limits.js';

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

/** A parsed hash; iterations 0 for $6$ (one SHA-512). */
export interface PwHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  digest: Uint8Array<ArrayBuffer>;
}

/** pwParse: unsupported or malformed hash. */
export const PW_MALFORMED = -1;
/** pwParse: a well-formed $7$ hash asking for more than WA_MAX_PW_ITERATIONS. */
export const PW_TOO_COSTLY = -2;

/**
 * The hash parsed (status 0), or status PW_MALFORMED, or PW_TOO_COSTLY (hash.iterations says
 * how many), as plugin-c/runtime/pwhash.c's wa_pw_parse. No hashing.
 */
export function pwParse(hash: string): { status: 0 | -1 | -2; hash: PwHash | null } {
  const bad = { status: PW_MALFORMED as -1, hash: null };
  if (hash.length === 0 || hash[0] !== '$') return bad;
  const f = hash.split('$');
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

/** 1 match, 0 no match, -1 when the hash is above the iteration cap (never computed). */
export function pwCheck(h: PwHash, password: Uint8Array): 1 | 0 | -1 {
  if (h.iterations > WA_MAX_PW_ITERATIONS) return -1;
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
