// Checking a password against a mosquitto_passwd hash, as the `pw_verify` import does:
//   $6$<salt>$<hash>          hash = SHA-512(password || salt)
//   $7$<iter>$<salt>$<hash>   hash = PBKDF2-HMAC-SHA512(password, salt, iter), 64 bytes
// salt and hash are base64; the comparison is constant-time.
import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SHA512_BYTES = 64;

function base64(s: string): Uint8Array<ArrayBuffer> | null {
  if (s.length === 0 || !BASE64.test(s)) return null;
  return new Uint8Array(Buffer.from(s, 'base64'));
}

/** 1 match, 0 no match, -1 unsupported or malformed hash. */
export function pwVerify(hash: string, password: Uint8Array): 1 | 0 | -1 {
  const parts = hash.split('$');
  let computed: Uint8Array<ArrayBuffer>;
  let expected: Uint8Array<ArrayBuffer> | null;
  if (parts.length === 4 && parts[0] === '' && parts[1] === '6') {
    const salt = base64(parts[2]);
    expected = base64(parts[3]);
    if (salt === null || expected === null) return -1;
    computed = new Uint8Array(createHash('sha512').update(password).update(salt).digest());
  } else if (parts.length === 5 && parts[0] === '' && parts[1] === '7') {
    if (!/^[1-9][0-9]{0,9}$/.test(parts[2])) return -1;
    const iterations = Number(parts[2]);
    if (iterations > 0x7fffffff) return -1;
    const salt = base64(parts[3]);
    expected = base64(parts[4]);
    if (salt === null || expected === null) return -1;
    computed = new Uint8Array(pbkdf2Sync(password, salt, iterations, SHA512_BYTES, 'sha512'));
  } else {
    return -1;
  }
  if (expected.length !== SHA512_BYTES) return -1;
  return timingSafeEqual(computed, expected) ? 1 : 0;
}
