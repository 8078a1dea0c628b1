// Password checks against mosquitto_passwd hashes, done by the host (native crypto, constant-time
// compare) so policies never carry their own hashing code.
import { Str } from "./str";
import { host_pw_verify } from "./imports";

/**
 * True when `password` matches `hash`, a mosquitto_passwd entry's hash part (`$7$iterations$salt$hash`
 * PBKDF2-SHA512, `$6$salt$hash` SHA512 or `$argon2id$v=19$m=..,t=..,p=..$salt$hash`). False for a
 * null password, a malformed hash or one above the host's cost caps (docs/ABI.md, `pw_verify`).
 * Encodes `hash` on every call; keep a {@link PasswordHash} for hashes checked repeatedly.
 */
export function verifyPassword(hash: string, password: Str | null): bool {
  if (password === null) return false;
  const h = String.UTF8.encode(hash);
  return host_pw_verify(changetype<usize>(h), <u32>h.byteLength, password.ptr, password.len) == 1;
}

/**
 * True when `password` matches the mosquitto_passwd hash text of `hashLen` bytes at `hashPtr`
 * (`$7$...`, `$6$...` or `$argon2id$...`, UTF-8). False for a null password or a malformed hash. No allocation.
 */
export function verifyPasswordAt(hashPtr: usize, hashLen: i32, password: Str | null): bool {
  if (password === null) return false;
  return host_pw_verify(hashPtr, <u32>hashLen, password.ptr, password.len) == 1;
}

/** A mosquitto_passwd hash kept UTF-8 encoded, for repeated checks without allocation. */
export class PasswordHash {
  private utf8: ArrayBuffer;

  /** Encodes `hash` (e.g. `$7$101$salt$hash`) once. */
  constructor(hash: string) {
    this.utf8 = String.UTF8.encode(hash);
  }

  /**
   * Copies the `n` bytes at `p` (a hash already in UTF-8, e.g. read from a password file)
   * without decoding them into a string first; allocates.
   */
  static fromBytes(p: usize, n: i32): PasswordHash {
    const h = new PasswordHash("");
    const b = new ArrayBuffer(n);
    memory.copy(changetype<usize>(b), p, <usize>n);
    h.utf8 = b;
    return h;
  }

  /** True when `password` matches; false for null or when the hash is malformed. */
  verify(password: Str | null): bool {
    if (password === null) return false;
    return host_pw_verify(changetype<usize>(this.utf8), <u32>this.utf8.byteLength, password.ptr, password.len) == 1;
  }
}
