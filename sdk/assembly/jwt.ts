// JSON Web Tokens checked by the host (docs/ABI.md, "JWT"): signature, algorithm and key rules,
// exp and nbf are the host's work (native crypto); the policy gets the verified claims as JSON
// bytes in a buffer it owns and reads the members it needs in place, without building a tree.
import { Str } from "./str";
import { host_jwt_verify } from "./imports";
import { parseJson, JsonValue } from "./json";

/** Why {@link JwtVerifier.verify} refused a token: `jwt_verify`'s negative results. */
export enum JwtError {
  /** Not a compact JWS, bad base64url or JSON, a duplicated member, over {@link JWT_MAX_BYTES}. */
  Malformed = -1,
  /** The signature does not verify with the key chosen. */
  BadSignature = -2,
  /** alg "none", an unknown alg, or a crit header. */
  UnsupportedAlg = -3,
  /** The key file holds no key for this alg (and kid): also an HS* token against a public key. */
  NoKey = -4,
  /** The key option's keys are not loaded: not set, unreadable, invalid, or not loaded at init. */
  KeyFile = -5,
  /** now >= exp + leeway. */
  Expired = -6,
  /** now + leeway < nbf. */
  NotYetValid = -7,
}

/** The longest token the host reads (WA_MAX_JWT_BYTES); longer ones are Malformed. */
export const JWT_MAX_BYTES: i32 = 8192;
/** The most claims bytes a token of {@link JWT_MAX_BYTES} can carry: buffers this size never truncate. */
export const JWT_MAX_CLAIMS_BYTES: i32 = 6144;

// ---- reading the claims in place ----
// The host hands over only claims it parsed as strict JSON (RFC 8259), so these readers skip
// values without re-validating them; each still stops at the end of the bytes whatever they hold.

@inline function at(p: usize): u32 {
  return <u32>load<u8>(p);
}

function skipWs(p: usize, end: usize): usize {
  while (p < end) {
    const c = at(p);
    if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
    p++;
  }
  return p;
}

// p at '"': the position after the closing quote.
function skipString(p: usize, end: usize): usize {
  p++;
  while (p < end) {
    const c = at(p);
    if (c == 0x22) return p + 1;
    p += c == 0x5c ? 2 : 1;
  }
  return end;
}

// The position after the value at p.
function skipValue(p: usize, end: usize): usize {
  const c = at(p);
  if (c == 0x22) return skipString(p, end);
  if (c == 0x7b || c == 0x5b) {
    let depth = 0;
    while (p < end) {
      const d = at(p);
      if (d == 0x22) {
        p = skipString(p, end);
        continue;
      }
      if (d == 0x7b || d == 0x5b) depth++;
      else if (d == 0x7d || d == 0x5d) {
        depth--;
        if (depth == 0) return p + 1;
      }
      p++;
    }
    return end;
  }
  while (p < end) {
    const d = at(p);
    if (d == 0x2c || d == 0x7d || d == 0x5d || d == 0x20 || d == 0x09 || d == 0x0a || d == 0x0d) break;
    p++;
  }
  return p;
}

// The string value at p (at '"', ending at q after its closing quote) as a string; allocates.
function decodeString(p: usize, q: usize): string {
  let escaped = false;
  for (let i = p + 1; i < q - 1; i++) {
    if (at(i) == 0x5c) {
      escaped = true;
      break;
    }
  }
  if (!escaped) return String.UTF8.decodeUnsafe(p + 1, q - p - 2);
  const copy = new Uint8Array(<i32>(q - p));
  memory.copy(copy.dataStart, p, q - p);
  const v = parseJson(copy).value;
  if (v === null) return "";
  const s = (v as JsonValue).asString();
  return s !== null ? s : "";
}

// True when the member name at p..q (quotes included) is `name`: bytes compared in place unless
// either side needs decoding.
function nameIs(p: usize, q: usize, name: string): bool {
  const n = <i32>(q - p) - 2;
  let plain = n == name.length;
  for (let i = 0; plain && i < n; i++) {
    const c = at(p + 1 + <usize>i);
    const w = <u32>name.charCodeAt(i);
    if (c == 0x5c || c >= 0x80 || w >= 0x80) plain = false;
    else if (c != w) return false;
  }
  if (plain) return true;
  return decodeString(p, q) == name;
}

/**
 * The claims of a verified token: a view of its payload's JSON bytes (an object), read in place.
 * Lookups are of top-level members (or of a nested object's, through {@link object}); a member
 * that is absent or of another type gives null (NaN for numbers). The bytes live in the buffer
 * of the {@link JwtVerifier} (or of {@link verifyJwt}) that checked the token, until its next
 * verification.
 */
export class JwtClaims {
  constructor(
    /** Address of the first byte ('{'). */
    readonly ptr: usize,
    /** Number of bytes. */
    readonly len: i32,
  ) {}

  // The value of member `name`: its first byte, or 0 when absent.
  private find(name: string): usize {
    const end = this.ptr + <usize>this.len;
    let p = skipWs(this.ptr + 1, end);
    while (p < end && at(p) == 0x22) {
      const q = skipString(p, end);
      const hit = nameIs(p, q, name);
      p = skipWs(q, end);
      if (p >= end || at(p) != 0x3a) return 0;
      p = skipWs(p + 1, end);
      if (p >= end) return 0;
      if (hit) return p;
      p = skipWs(skipValue(p, end), end);
      if (p < end && at(p) == 0x2c) p = skipWs(p + 1, end);
    }
    return 0;
  }

  /** True when member `name` is present (whatever its value). */
  has(name: string): bool {
    return this.find(name) != 0;
  }

  /** Member `name` when it is a string; allocates. */
  string(name: string): string | null {
    const p = this.find(name);
    if (p == 0 || at(p) != 0x22) return null;
    return decodeString(p, skipString(p, this.ptr + <usize>this.len));
  }

  /**
   * True when member `name` is a string equal to `value`'s bytes (false for null): compares in
   * place, allocating only when the claim holds escapes. E.g. `claims.stringIs("sub", username)`.
   */
  stringIs(name: string, value: Str | null): bool {
    if (value === null) return false;
    const p = this.find(name);
    if (p == 0 || at(p) != 0x22) return false;
    const q = skipString(p, this.ptr + <usize>this.len);
    for (let i = p + 1; i < q - 1; i++) {
      if (at(i) == 0x5c) return decodeString(p, q) == value.toString();
    }
    return <u32>(q - p - 2) == value.len && memory.compare(p + 1, value.ptr, value.len) == 0;
  }

  /** Member `name` when it is a number (exp, iat...), else NaN. */
  number(name: string): f64 {
    const p = this.find(name);
    if (p == 0) return NaN;
    const c = at(p);
    if (c != 0x2d && (c < 0x30 || c > 0x39)) return NaN;
    const q = skipValue(p, this.ptr + <usize>this.len);
    return F64.parseFloat(String.UTF8.decodeUnsafe(p, q - p));
  }

  /** Member `name` when it is an array of strings only; allocates. */
  stringArray(name: string): string[] | null {
    const end = this.ptr + <usize>this.len;
    let p = this.find(name);
    if (p == 0 || at(p) != 0x5b) return null;
    const out = new Array<string>();
    p = skipWs(p + 1, end);
    while (p < end && at(p) != 0x5d) {
      if (at(p) != 0x22) return null;
      const q = skipString(p, end);
      out.push(decodeString(p, q));
      p = skipWs(q, end);
      if (p < end && at(p) == 0x2c) p = skipWs(p + 1, end);
    }
    return out;
  }

  /** Member `name` when it is an object, as claims of its own (e.g. an `acl` claim). */
  object(name: string): JwtClaims | null {
    const p = this.find(name);
    if (p == 0 || at(p) != 0x7b) return null;
    return new JwtClaims(p, <i32>(skipValue(p, this.ptr + <usize>this.len) - p));
  }

  /** The claims' JSON text; allocates. */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, <usize>this.len);
  }
}

/** What a verification gave: the claims, or why there are none. */
export class JwtResult {
  constructor(
    /** 0, or the {@link JwtError} that refused the token. */
    readonly error: i32,
    /** The verified claims; null when refused. */
    readonly claims: JwtClaims | null,
  ) {}

  /** True when the token verified. */
  get ok(): bool {
    return this.claims !== null;
  }
}

/**
 * Verifies tokens against the keys of one key option (a `*_file` plugin option naming a PEM
 * public key or certificate, a JWKS, or an HMAC secret file; docs/ABI.md, "JWT"). The option's
 * name is encoded once and the claims buffer ({@link JWT_MAX_CLAIMS_BYTES}) is allocated once:
 * a verification allocates only its small {@link JwtResult}.
 *
 * The host loads the keys only during `plugin_init` and `security_init`: call {@link load} there
 * (in `security_init` too, so that a reload re-reads the file), else every token is refused
 * with {@link JwtError.KeyFile}.
 */
export class JwtVerifier {
  // verifyJwt's verifier (a static field: compiled only into policies that call verifyJwt).
  static shared: JwtVerifier | null = null;
  private key: ArrayBuffer;
  private buf: ArrayBuffer = new ArrayBuffer(JWT_MAX_CLAIMS_BYTES);

  constructor(keyOption: string) {
    this.key = String.UTF8.encode(keyOption);
  }

  /** Switches to another key option (its keys loaded at init too); allocates its encoding. */
  setKeyOption(keyOption: string): void {
    this.key = String.UTF8.encode(keyOption);
  }

  /** Loads (at init) the keys: 0, or a negative {@link JwtError} (KeyFile; the host logged why). */
  load(): i32 {
    return host_jwt_verify(0, 0, changetype<usize>(this.key), <u32>this.key.byteLength, 0, changetype<usize>(this.buf), 0);
  }

  /**
   * Verifies `token` (e.g. the MQTT password), allowing `leewaySeconds` of clock difference for
   * exp and nbf. A null or empty token is Malformed without asking the host (an empty token is
   * how {@link load} asks for the keys). A refusal has been logged by the host, rate-limited.
   */
  verify(token: Str | null, leewaySeconds: i32 = 0): JwtResult {
    if (token === null || token.len == 0) return new JwtResult(JwtError.Malformed, null);
    const out = changetype<usize>(this.buf);
    const r = host_jwt_verify(token.ptr, token.len, changetype<usize>(this.key), <u32>this.key.byteLength, leewaySeconds, out, <u32>JWT_MAX_CLAIMS_BYTES);
    // 0 is "keys loaded, nothing verified"; claims are an object, at least "{}".
    if (r < 2) return new JwtResult(r < 0 ? r : JwtError.Malformed, null);
    return new JwtResult(0, new JwtClaims(out, min(r, JWT_MAX_CLAIMS_BYTES)));
  }
}

/** {@link JwtVerifier.load} for `keyOption`: call it in plugin_init / security_init. */
export function loadJwtKey(keyOption: string): i32 {
  return new JwtVerifier(keyOption).load();
}

/**
 * Verifies `token` with the keys of `keyOption` (loaded at init with {@link loadJwtKey}). The
 * claims live in one buffer shared by every call, until the next call; keep a
 * {@link JwtVerifier} instead to avoid encoding the option's name on each call.
 */
export function verifyJwt(token: Str | null, keyOption: string, leewaySeconds: i32 = 0): JwtResult {
  let v = JwtVerifier.shared;
  if (v === null) JwtVerifier.shared = v = new JwtVerifier(keyOption);
  else v.setKeyOption(keyOption);
  return v.verify(token, leewaySeconds);
}
