// Checking a password against a mosquitto_passwd hash, as the `pw_verify` import does, with the
// plugin's parsing rules (plugin-c/pwhash.c):
//   $6$<salt>$<hash>          hash = SHA-512(password || salt)
//   $7$<iter>$<salt>$<hash>   hash = PBKDF2-HMAC-SHA512(password, salt, iter), 64 bytes
// salt and hash are standard base64 with optional '=' padding; the salt is 1..256 bytes, the
// hash exactly 64, iterations 1..1000000. The comparison is constant-time.
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

function iterationsOf(s: string): number {
  if (!/^[0-9]{1,9}$/.test(s)) return -1;
  const v = Number(s);
  return v >= 1 && v <= WA_MAX_PW_ITERATIONS ? v : -1;
}

/** 1 match, 0 no match, -1 unsupported or malformed hash. */
export function pwVerify(hash: string, password: Uint8Array): 1 | 0 | -1 {
  if (hash.length === 0 || hash[0] !== '$') return -1;
  const f = hash.split('$');
  let iterations = 0;
  let salt: Uint8Array<ArrayBuffer> | null;
  let want: Uint8Array<ArrayBuffer> | null;
  if (f.length === 4 && f[1] === '6') {
    salt = base64(f[2], WA_MAX_PW_SALT_BYTES);
    want = base64(f[3], DIGEST_BYTES + 1);
  } else if (f.length === 5 && f[1] === '7') {
    iterations = iterationsOf(f[2]);
    if (iterations < 0) return -1;
    salt = base64(f[3], WA_MAX_PW_SALT_BYTES);
    want = base64(f[4], DIGEST_BYTES + 1);
  } else {
    return -1;
  }
  if (salt === null || salt.length === 0 || want === null || want.length !== DIGEST_BYTES) return -1;
  const got = new Uint8Array(iterations === 0
    ? createHash('sha512').update(password).update(salt).digest()
    : pbkdf2Sync(password, salt, iterations, DIGEST_BYTES, 'sha512'));
  return timingSafeEqual(got, want) ? 1 : 0;
}
