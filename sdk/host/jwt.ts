// jwt_verify's work (docs/ABI.md, "JWT") for the Node host, step for step as plugin-c/runtime/jwt.c
// does it: the same strict base64url and JSON readers, the same key file rules and refusals, the
// same order of checks and the same messages, with node:crypto in place of libcrypto.
import { constants, createHmac, createPublicKey, timingSafeEqual, verify as cryptoVerify, X509Certificate, type KeyObject } from 'node:crypto';
import {
  JWT_BAD_SIGNATURE, JWT_EXPIRED, JWT_MALFORMED, JWT_NO_KEY, JWT_NOT_YET_VALID, JWT_UNSUPPORTED_ALG,
} from './abi.js';
import {
  WA_FUEL_HASH_32, WA_FUEL_JWT_ED25519, WA_FUEL_JWT_HMAC, WA_FUEL_JWT_P256, WA_FUEL_JWT_P384, WA_FUEL_JWT_RSA_1K2,
  WA_JWT_LOG_KID_BYTES, WA_JWT_MAX_KEYS, WA_JWT_MAX_KID_BYTES, WA_JWT_MAX_RSA_BITS, WA_JWT_MAX_SECRET_BYTES,
  WA_JWT_MAX_SIG_BYTES, WA_JWT_MIN_RSA_BITS, WA_JWT_MIN_SECRET_BYTES, WA_MAX_JWT_BYTES,
} from './limits.js';

const JSON_MAX_DEPTH = 32;

export const ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA'] as const;
export type Alg = typeof ALGS[number];
type Kind = 'oct' | 'rsa' | 'p256' | 'p384' | 'ed25519';

export interface JwtKey {
  kind: Kind;
  alg: Alg | null;
  kid: Uint8Array | null;
  bits: number;
  key: KeyObject | null;
  secret: Uint8Array | null;
}

export interface JwtToken {
  alg: Alg;
  kid: Uint8Array | null;
  signingLen: number;
  payload: Uint8Array;
  sig: Uint8Array;
}

/** A refusal: the guest's result and the warning's words. */
export class JwtFailure {
  constructor(readonly code: number, readonly detail: string) {}
}

function kindFor(alg: Alg): Kind {
  if (alg.startsWith('HS')) return 'oct';
  if (alg === 'ES256') return 'p256';
  if (alg === 'ES384') return 'p384';
  if (alg === 'EdDSA') return 'ed25519';
  return 'rsa';
}

function mdFor(alg: Alg): string | null {
  return alg === 'EdDSA' ? null : `sha${alg.slice(2)}`;
}

// Guest-chosen bytes in a message: printable ASCII, others '?', at most max bytes (jwt.c shown).
function shown(b: Uint8Array, max: number): string {
  let out = '';
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) out += b[i] >= 0x20 && b[i] < 0x7f ? String.fromCharCode(b[i]) : '?';
  return b.length > n ? out + '...' : out;
}

// ---- base64url ----

function b64Value(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26;
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52;
  if (c === 0x2d) return 62;
  if (c === 0x5f) return 63;
  return -1;
}

/** Decoded bytes, -1 if malformed, -2 if longer than cap (jwt.c b64url_decode). */
function b64url(s: Uint8Array, cap: number): Uint8Array | -1 | -2 {
  const len = s.length;
  if (len % 4 === 1) return -1;
  if (Math.floor(len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0) > cap) return -2;
  const out = new Uint8Array(Math.floor(len / 4) * 3 + (len % 4 ? len % 4 - 1 : 0));
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < len; i++) {
    const v = b64Value(s[i]);
    if (v < 0) return -1;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return -1;
  return out;
}

// ---- strict JSON ----

class Bad extends Error {}

interface Span { from: number; to: number }

class Json {
  p = 0;
  constructor(readonly b: Uint8Array, readonly end = b.length) {}

  ws(): void {
    while (this.p < this.end && (this.b[this.p] === 0x20 || this.b[this.p] === 0x09 || this.b[this.p] === 0x0a || this.b[this.p] === 0x0d)) this.p++;
  }

  hex4(at: number): number {
    if (this.end - at < 4) throw new Bad();
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const c = this.b[at + i];
      const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : c >= 0x41 && c <= 0x46 ? c - 0x41 + 10 : -1;
      if (d < 0) throw new Bad();
      v = (v << 4) | d;
    }
    return v;
  }

  utf8(): number {
    const b0 = this.b[this.p];
    if (b0 < 0x80) {
      this.p++;
      return b0;
    }
    let k: number, cp: number, min: number;
    if ((b0 & 0xe0) === 0xc0) [k, cp, min] = [1, b0 & 0x1f, 0x80];
    else if ((b0 & 0xf0) === 0xe0) [k, cp, min] = [2, b0 & 0x0f, 0x800];
    else if ((b0 & 0xf8) === 0xf0) [k, cp, min] = [3, b0 & 0x07, 0x10000];
    else throw new Bad();
    if (this.end - this.p <= k) throw new Bad();
    for (let i = 1; i <= k; i++) {
      if ((this.b[this.p + i] & 0xc0) !== 0x80) throw new Bad();
      cp = (cp << 6) | (this.b[this.p + i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Bad();
    this.p += k + 1;
    return cp;
  }

  /** A string at p, decoded to UTF-8 bytes. */
  string(): Uint8Array {
    if (this.p >= this.end || this.b[this.p] !== 0x22) throw new Bad();
    this.p++;
    const out: number[] = [];
    const put = (cp: number): void => {
      if (cp < 0x80) out.push(cp);
      else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
      else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    };
    while (this.p < this.end) {
      const c = this.b[this.p];
      if (c === 0x22) {
        this.p++;
        return Uint8Array.from(out);
      }
      if (c < 0x20) throw new Bad();
      if (c === 0x5c) {
        if (this.end - this.p < 2) throw new Bad();
        const e = this.b[this.p + 1];
        this.p += 2;
        let cp: number;
        switch (e) {
          case 0x22: case 0x5c: case 0x2f: cp = e; break;
          case 0x62: cp = 8; break;
          case 0x66: cp = 12; break;
          case 0x6e: cp = 10; break;
          case 0x72: cp = 13; break;
          case 0x74: cp = 9; break;
          case 0x75: {
            cp = this.hex4(this.p);
            this.p += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) throw new Bad();
            if (cp >= 0xd800 && cp <= 0xdbff) {
              if (this.end - this.p < 6 || this.b[this.p] !== 0x5c || this.b[this.p + 1] !== 0x75) throw new Bad();
              const lo = this.hex4(this.p + 2);
              if (lo < 0xdc00 || lo > 0xdfff) throw new Bad();
              this.p += 6;
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            break;
          }
          default: throw new Bad();
        }
        put(cp);
        continue;
      }
      put(this.utf8());
    }
    throw new Bad();
  }

  digits(): void {
    const s = this.p;
    while (this.p < this.end && this.b[this.p] >= 0x30 && this.b[this.p] <= 0x39) this.p++;
    if (this.p === s) throw new Bad();
  }

  number(): void {
    if (this.p < this.end && this.b[this.p] === 0x2d) this.p++;
    if (this.p < this.end && this.b[this.p] === 0x30) this.p++;
    else this.digits();
    if (this.p < this.end && this.b[this.p] === 0x2e) {
      this.p++;
      this.digits();
    }
    if (this.p < this.end && (this.b[this.p] === 0x65 || this.b[this.p] === 0x45)) {
      this.p++;
      if (this.p < this.end && (this.b[this.p] === 0x2b || this.b[this.p] === 0x2d)) this.p++;
      this.digits();
    }
  }

  literal(w: string): void {
    for (let i = 0; i < w.length; i++) if (this.b[this.p + i] !== w.charCodeAt(i) || this.p + i >= this.end) throw new Bad();
    this.p += w.length;
  }

  /** An object, validated whole; the spans of the wanted members (a wanted name twice: Bad). */
  object(depth: number, wanted: readonly string[] = []): Map<string, Span> {
    const found = new Map<string, Span>();
    if (depth > JSON_MAX_DEPTH || this.p >= this.end || this.b[this.p] !== 0x7b) throw new Bad();
    this.p++;
    this.ws();
    if (this.p < this.end && this.b[this.p] === 0x7d) {
      this.p++;
      return found;
    }
    for (;;) {
      this.ws();
      const name = Buffer.from(this.string()).toString('latin1');
      this.ws();
      if (this.p >= this.end || this.b[this.p] !== 0x3a) throw new Bad();
      this.p++;
      this.ws();
      const from = this.p;
      this.value(depth + 1);
      // Names compare as bytes (latin1 keeps each byte one char), as in jwt.c.
      if (wanted.includes(name)) {
        if (found.has(name)) throw new Bad();
        found.set(name, { from, to: this.p });
      }
      this.ws();
      if (this.p < this.end && this.b[this.p] === 0x2c) {
        this.p++;
        continue;
      }
      if (this.p < this.end && this.b[this.p] === 0x7d) {
        this.p++;
        return found;
      }
      throw new Bad();
    }
  }

  value(depth: number): void {
    if (this.p >= this.end) throw new Bad();
    switch (this.b[this.p]) {
      case 0x7b: this.object(depth); return;
      case 0x5b:
        if (depth > JSON_MAX_DEPTH) throw new Bad();
        this.p++;
        this.ws();
        if (this.p < this.end && this.b[this.p] === 0x5d) {
          this.p++;
          return;
        }
        for (;;) {
          this.ws();
          this.value(depth + 1);
          this.ws();
          if (this.p < this.end && this.b[this.p] === 0x2c) {
            this.p++;
            continue;
          }
          if (this.p < this.end && this.b[this.p] === 0x5d) {
            this.p++;
            return;
          }
          throw new Bad();
        }
      case 0x22: this.string(); return;
      case 0x74: this.literal('true'); return;
      case 0x66: this.literal('false'); return;
      case 0x6e: this.literal('null'); return;
      default: this.number();
    }
  }
}

/** A whole text that is one object: the wanted members' spans, or null. */
function document(b: Uint8Array, wanted: readonly string[]): Map<string, Span> | null {
  const j = new Json(b);
  try {
    j.ws();
    const m = j.object(1, wanted);
    j.ws();
    return j.p === b.length ? m : null;
  } catch (e) {
    if (e instanceof Bad) return null;
    throw e;
  }
}

/** A member's string value decoded, if it is a string of at most cap bytes. */
function spanString(b: Uint8Array, s: Span | undefined, cap: number): Uint8Array | null {
  if (s === undefined) return null;
  const j = new Json(b, s.to);
  j.p = s.from;
  try {
    const v = j.string();
    return v.length <= cap ? v : null;
  } catch (e) {
    if (e instanceof Bad) return null;
    throw e;
  }
}

function spanNumber(b: Uint8Array, s: Span): number | null {
  const c = b[s.from];
  if (c !== 0x2d && (c < 0x30 || c > 0x39)) return null;
  return Number(Buffer.from(b.subarray(s.from, s.to)).toString('latin1'));
}

const ascii = (b: Uint8Array | null): string => (b === null ? '' : Buffer.from(b).toString('latin1'));

// ---- keys ----

function classify(key: KeyObject): { kind: Kind; bits: number } | string {
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      if (bits < WA_JWT_MIN_RSA_BITS || bits > WA_JWT_MAX_RSA_BITS) return `RSA key of ${bits} bits (${WA_JWT_MIN_RSA_BITS} to ${WA_JWT_MAX_RSA_BITS} are accepted)`;
      return { kind: 'rsa', bits };
    }
    case 'ec': {
      const c = key.asymmetricKeyDetails?.namedCurve;
      if (c === 'prime256v1') return { kind: 'p256', bits: 0 };
      if (c === 'secp384r1') return { kind: 'p384', bits: 0 };
      return 'EC key on a curve other than P-256 and P-384';
    }
    case 'ed25519': return { kind: 'ed25519', bits: 0 };
    default: return 'key type not supported (RSA, EC P-256/P-384 and Ed25519 are)';
  }
}

function startsWith(b: Uint8Array, at: number, s: string): boolean {
  if (b.length - at < s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

function skipWs(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0a || b[i] === 0x0d)) i++;
  return i;
}

function parsePem(data: Uint8Array): JwtKey[] | string {
  const at = skipWs(data);
  const text = Buffer.from(data.subarray(at)).toString('latin1');
  let key: KeyObject | null = null;
  const block = (label: string): string | null => {
    const end = text.indexOf(`-----END ${label}-----`);
    return end < 0 ? null : text.slice(0, end + label.length + 14);
  };
  if (startsWith(data, at, '-----BEGIN PUBLIC KEY-----')) {
    const b = block('PUBLIC KEY');
    try {
      if (b !== null) key = createPublicKey({ key: b, format: 'pem' });
    } catch { key = null; }
  } else if (startsWith(data, at, '-----BEGIN CERTIFICATE-----')) {
    const b = block('CERTIFICATE');
    try {
      if (b !== null) key = new X509Certificate(b).publicKey;
    } catch { key = null; }
  } else {
    return 'PEM file whose first block is not a PUBLIC KEY or CERTIFICATE';
  }
  if (key === null) return 'invalid PEM public key or certificate';
  const c = classify(key);
  if (typeof c === 'string') return c;
  return [{ kind: c.kind, alg: null, kid: null, bits: c.bits, key, secret: null }];
}

const JWK_FIELDS = ['kty', 'kid', 'alg', 'use', 'n', 'e', 'crv', 'x', 'y', 'k'] as const;

function b64Field(b: Uint8Array, s: Span | undefined, cap: number): Uint8Array | null {
  const text = spanString(b, s, 1400);
  if (text === null) return null;
  const v = b64url(text, cap);
  return typeof v === 'number' ? null : v;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

/** One JWK: the key, null = skipped, a string = invalid. */
function parseJwk(b: Uint8Array, f: Map<string, Span>, index: number): JwtKey | null | string {
  const kty = ascii(spanString(b, f.get('kty'), 8));
  if (spanString(b, f.get('kty'), 8) === null) return `key ${index}: no kty`;
  if (f.has('use') && ascii(spanString(b, f.get('use'), 8)) !== 'sig') return null;
  let kid: Uint8Array | null = null;
  if (f.has('kid')) {
    kid = spanString(b, f.get('kid'), WA_JWT_MAX_KID_BYTES);
    if (kid === null) return `key ${index}: kid is not a string of at most ${WA_JWT_MAX_KID_BYTES} bytes`;
  }
  let alg: Alg | null = null;
  if (f.has('alg')) {
    const a = ascii(spanString(b, f.get('alg'), 8));
    if (!(ALGS as readonly string[]).includes(a) || spanString(b, f.get('alg'), 8) === null) return null;
    alg = a as Alg;
  }
  const crv = f.has('crv') ? spanString(b, f.get('crv'), 16) : null;
  const crvText = crv === null ? null : ascii(crv);
  let key: KeyObject | null = null;
  let kind: Kind;
  let bits = 0;
  let secret: Uint8Array | null = null;
  if (kty === 'oct') {
    const k = b64Field(b, f.get('k'), WA_JWT_MAX_SECRET_BYTES);
    if (k === null || k.length < WA_JWT_MIN_SECRET_BYTES) return `key ${index}: k is not base64url of ${WA_JWT_MIN_SECRET_BYTES} to ${WA_JWT_MAX_SECRET_BYTES} bytes`;
    kind = 'oct';
    secret = k;
  } else {
    if (kty === 'RSA') {
      const n = b64Field(b, f.get('n'), WA_JWT_MAX_RSA_BITS / 8 + 1);
      const e = b64Field(b, f.get('e'), 8);
      if (n === null || e === null || n.length === 0 || e.length === 0) return `key ${index}: n or e is not base64url of an RSA key of at most ${WA_JWT_MAX_RSA_BITS} bits`;
      try { key = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(e) }, format: 'jwk' }); } catch { key = null; }
    } else if (kty === 'EC') {
      const p384 = crvText === 'P-384';
      if (!(p384 || crvText === 'P-256')) return null;
      const size = p384 ? 48 : 32;
      const x = b64Field(b, f.get('x'), size);
      const y = b64Field(b, f.get('y'), size);
      if (x === null || y === null || x.length !== size || y.length !== size) return `key ${index}: x or y is not base64url of ${size} bytes`;
      try { key = createPublicKey({ key: { kty: 'EC', crv: crvText as string, x: b64u(x), y: b64u(y) }, format: 'jwk' }); } catch { key = null; }
    } else if (kty === 'OKP') {
      if (crvText !== 'Ed25519') return null;
      const x = b64Field(b, f.get('x'), 32);
      if (x === null || x.length !== 32) return `key ${index}: x is not base64url of 32 bytes`;
      try { key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(x) }, format: 'jwk' }); } catch { key = null; }
    } else {
      return null;
    }
    if (key === null) return `key ${index}: not a valid public key`;
    const c = classify(key);
    if (typeof c === 'string') return `key ${index}: ${c}`;
    kind = c.kind;
    bits = c.bits;
  }
  if (alg !== null && kindFor(alg) !== kind) return `key ${index}: alg ${alg} does not fit its kty`;
  return { kind, alg, kid, bits, key, secret };
}

function parseJwks(data: Uint8Array): JwtKey[] | string {
  const top = document(data, ['keys']);
  const keysSpan = top?.get('keys');
  if (top === null || keysSpan === undefined || data[keysSpan.from] !== 0x5b) return 'not a JWKS (a JSON object with a keys array)';
  const j = new Json(data, keysSpan.to);
  j.p = keysSpan.from + 1;
  j.ws();
  const keys: JwtKey[] = [];
  let index = 0;
  while (j.p < j.end && data[j.p] !== 0x5d) {
    let f: Map<string, Span>;
    try {
      if (data[j.p] !== 0x7b) throw new Bad();
      f = j.object(3, JWK_FIELDS);
    } catch (e) {
      if (!(e instanceof Bad)) throw e;
      return `key ${index}: not a JSON object with distinct members`;
    }
    if (keys.length === WA_JWT_MAX_KEYS) return `more than ${WA_JWT_MAX_KEYS} keys (WA_JWT_MAX_KEYS)`;
    const k = parseJwk(data, f, index);
    if (typeof k === 'string') return k;
    if (k !== null) keys.push(k);
    index++;
    j.ws();
    if (j.p < j.end && data[j.p] === 0x2c) j.p++;
    j.ws();
  }
  if (keys.length === 0) return 'no usable key (RSA, EC P-256/P-384, OKP Ed25519 or oct, use sig)';
  return keys;
}

/** A key file's keys (wa_jwt_keyset_parse), or why it is refused. */
export function parseKeyFile(data: Uint8Array): JwtKey[] | string {
  const at = skipWs(data);
  if (at < data.length && data[at] === 0x7b) return parseJwks(data);
  if (startsWith(data, at, '-----BEGIN ')) return parsePem(data);
  if (data.length < WA_JWT_MIN_SECRET_BYTES || data.length > WA_JWT_MAX_SECRET_BYTES) {
    return `HMAC secret of ${data.length} bytes (${WA_JWT_MIN_SECRET_BYTES} to ${WA_JWT_MAX_SECRET_BYTES} are accepted)`;
  }
  // Neither JSON nor PEM: the file's bytes are the HMAC secret, exactly.
  return [{ kind: 'oct', alg: null, kid: null, bits: 0, key: null, secret: data.slice() }];
}

/** True when the file is priced as a JWKS (WA_JWT_MAX_KEYS keys). */
export function isJwks(data: Uint8Array): boolean {
  const at = skipWs(data);
  return at < data.length && data[at] === 0x7b;
}

// ---- tokens ----

/** wa_jwt_parse: the token split and decoded, or a refusal. */
export function parseToken(tok: Uint8Array): JwtToken | JwtFailure {
  if (tok.length > WA_MAX_JWT_BYTES) return new JwtFailure(JWT_MALFORMED, `token of ${tok.length} bytes, above the cap of ${WA_MAX_JWT_BYTES} (WA_MAX_JWT_BYTES)`);
  const d1 = tok.indexOf(0x2e);
  const d2 = d1 < 0 ? -1 : tok.indexOf(0x2e, d1 + 1);
  if (d1 < 0 || d2 < 0 || tok.indexOf(0x2e, d2 + 1) >= 0 || d1 === 0 || d2 === d1 + 1) {
    return new JwtFailure(JWT_MALFORMED, 'not three base64url parts separated by dots');
  }
  const header = b64url(tok.subarray(0, d1), Math.floor(WA_MAX_JWT_BYTES * 3 / 4));
  if (typeof header === 'number') return new JwtFailure(JWT_MALFORMED, 'bad base64url in the header');
  const payload = b64url(tok.subarray(d1 + 1, d2), Math.floor(WA_MAX_JWT_BYTES * 3 / 4));
  if (typeof payload === 'number') return new JwtFailure(JWT_MALFORMED, 'bad base64url in the payload');
  const sig = b64url(tok.subarray(d2 + 1), WA_JWT_MAX_SIG_BYTES);
  if (sig === -2) return new JwtFailure(JWT_MALFORMED, `signature longer than ${WA_JWT_MAX_SIG_BYTES} bytes`);
  if (typeof sig === 'number') return new JwtFailure(JWT_MALFORMED, 'bad base64url in the signature');
  const f = document(header, ['alg', 'kid', 'crit']);
  if (f === null) return new JwtFailure(JWT_MALFORMED, 'header is not a JSON object with distinct alg, kid and crit');
  const algSpan = f.get('alg');
  const algName = spanString(header, algSpan, 16);
  if (algSpan === undefined || (algName === null && header[algSpan.from] !== 0x22)) return new JwtFailure(JWT_MALFORMED, 'header has no alg string');
  let kid: Uint8Array | null = null;
  if (f.has('kid')) {
    kid = spanString(header, f.get('kid'), WA_JWT_MAX_KID_BYTES);
    if (kid === null) return new JwtFailure(JWT_MALFORMED, `kid is not a string of at most ${WA_JWT_MAX_KID_BYTES} bytes`);
  }
  const name = ascii(algName);
  if (algName !== null && name === 'none') return new JwtFailure(JWT_UNSUPPORTED_ALG, 'alg none is never accepted');
  if (algName === null || !(ALGS as readonly string[]).includes(name)) {
    return new JwtFailure(JWT_UNSUPPORTED_ALG, `alg ${algName === null ? '(too long)' : shown(algName, 16)} is not supported`);
  }
  if (f.has('crit')) return new JwtFailure(JWT_UNSUPPORTED_ALG, 'crit header parameters are not supported');
  return { alg: name as Alg, kid, signingLen: d2, payload, sig };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** wa_jwt_select: the index of the key that verifies t, or a refusal. */
export function selectKey(keys: readonly JwtKey[], t: JwtToken): number | JwtFailure {
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k.kind !== kindFor(t.alg) || (k.alg !== null && k.alg !== t.alg)) continue;
    if (t.kid !== null && k.kid !== null && !sameBytes(k.kid, t.kid)) continue;
    return i;
  }
  if (t.kid !== null) return new JwtFailure(JWT_NO_KEY, `no key with kid "${shown(t.kid, WA_JWT_LOG_KID_BYTES)}" for alg ${t.alg}`);
  return new JwtFailure(JWT_NO_KEY, `no key for alg ${t.alg}`);
}

/** wa_jwt_price: fuel for checking t's signature with k. */
export function price(k: JwtKey, t: JwtToken): number {
  const hash = Math.floor((t.signingLen * WA_FUEL_HASH_32 + 31) / 32);
  switch (k.kind) {
    case 'oct': return hash + WA_FUEL_JWT_HMAC + Math.floor(((k.secret?.length ?? 0) * WA_FUEL_HASH_32 + 31) / 32);
    case 'rsa': {
      const r = Math.floor((k.bits + 1023) / 1024);
      return hash + r * r * WA_FUEL_JWT_RSA_1K2;
    }
    case 'p256': return hash + WA_FUEL_JWT_P256;
    case 'p384': return hash + WA_FUEL_JWT_P384;
    default: return hash + WA_FUEL_JWT_ED25519;
  }
}

/** wa_jwt_check_signature: true when the signature verifies. */
export function checkSignature(k: JwtKey, t: JwtToken, tok: Uint8Array): boolean {
  const input = tok.subarray(0, t.signingLen);
  const md = mdFor(t.alg);
  if (k.kind === 'oct') {
    const mac = createHmac(md as string, k.secret as Uint8Array).update(input).digest();
    return mac.length === t.sig.length && timingSafeEqual(new Uint8Array(mac), t.sig);
  }
  try {
    if (k.kind === 'p256' || k.kind === 'p384') {
      if (t.sig.length !== (k.kind === 'p384' ? 96 : 64)) return false;
      return cryptoVerify(md, input, { key: k.key as KeyObject, dsaEncoding: 'ieee-p1363' }, t.sig);
    }
    if (t.alg.startsWith('PS')) {
      return cryptoVerify(md, input, { key: k.key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, t.sig);
    }
    return cryptoVerify(md, input, k.key as KeyObject, t.sig);
  } catch {
    return false;
  }
}

/** wa_jwt_check_claims: null, or the refusal. now in seconds since the epoch. */
export function checkClaims(t: JwtToken, now: number, leeway: number): JwtFailure | null {
  if (leeway < 0) leeway = 0;
  const f = document(t.payload, ['exp', 'nbf']);
  if (f === null) return new JwtFailure(JWT_MALFORMED, 'claims are not a JSON object with distinct exp and nbf');
  const e = f.get('exp');
  const n = f.get('nbf');
  const exp = e === undefined ? null : spanNumber(t.payload, e);
  if (e !== undefined && exp === null) return new JwtFailure(JWT_MALFORMED, 'exp is not a number');
  const nbf = n === undefined ? null : spanNumber(t.payload, n);
  if (n !== undefined && nbf === null) return new JwtFailure(JWT_MALFORMED, 'nbf is not a number');
  if (exp !== null && now >= exp + leeway) return new JwtFailure(JWT_EXPIRED, `expired (now ${now}, leeway ${leeway} s)`);
  if (nbf !== null && now + leeway < nbf) return new JwtFailure(JWT_NOT_YET_VALID, `not yet valid (now ${now}, leeway ${leeway} s)`);
  return null;
}
