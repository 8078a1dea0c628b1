// SCRAM-SHA-256 (RFC 5802, RFC 7677) server side: message parsing and the proof check, without
// state. policy.ts keeps the exchanges between calls.
import { base64Decode, base64DecodedLength, base64Encode, base64EncodedLength } from "../../sdk/assembly";
import { constantTimeEqual, hmacSha256, sha256, SHA256_BYTES } from "../../sdk/assembly";

/** Longest SCRAM message this server reads; real ones are below 300 bytes. */
export const MAX_MESSAGE_BYTES = 1024;

export function b64(b: Uint8Array): string {
  const out = new Uint8Array(base64EncodedLength(b.length));
  base64Encode(b.dataStart, b.length, out.dataStart);
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>out.length);
}

/** The bytes of base64 text, or null when it is not base64. */
export function unb64(s: string): Uint8Array | null {
  const t = String.UTF8.encode(s);
  const n = base64DecodedLength(changetype<usize>(t), t.byteLength);
  if (n < 0) return null;
  const out = new Uint8Array(n > 0 ? n : 0);
  const tmp = new Uint8Array(n + 3);
  if (base64Decode(changetype<usize>(t), t.byteLength, tmp.dataStart) < 0) return null;
  memory.copy(out.dataStart, tmp.dataStart, <usize>n);
  return out;
}

export function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** A parsed client-first message. */
export class ClientFirst {
  constructor(
    public gs2: string, // "n,," or "y,,": what c= in client-final must encode
    public bare: string, // client-first-message-bare, for the AuthMessage
    public username: string,
    public nonce: string,
  ) {}
}

// Printable ASCII except ',' (RFC 5802 "printable"): what a nonce may hold.
function isNonce(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c == 0x2c) return false;
  }
  return true;
}

// saslname: "=2C" is ',' and "=3D" is '='; any other '=' is malformed (null).
function unescapeName(s: string): string | null {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charAt(i);
    if (c != "=") {
      out += c;
      continue;
    }
    const e = s.substr(i, 3);
    if (e == "=2C") out += ",";
    else if (e == "=3D") out += "=";
    else return null;
    i += 2;
  }
  return out;
}

/**
 * client-first-message: gs2-cbind-flag "n" or "y" (this server offers no channel binding), no
 * authzid, then "n=user,r=nonce" and nothing else (a mandatory extension "m=" is refused). Null
 * when malformed.
 */
export function parseClientFirst(msg: string): ClientFirst | null {
  if (msg.length > MAX_MESSAGE_BYTES) return null;
  let gs2: string;
  if (msg.startsWith("n,,")) gs2 = "n,,";
  else if (msg.startsWith("y,,")) gs2 = "y,,";
  else return null;
  const bare = msg.substring(3);
  const parts = bare.split(",");
  if (parts.length != 2 || !parts[0].startsWith("n=") || !parts[1].startsWith("r=")) return null;
  const name = unescapeName(parts[0].substring(2));
  const nonce = parts[1].substring(2);
  if (name === null || name.length == 0 || !isNonce(nonce)) return null;
  return new ClientFirst(gs2, bare, name, nonce);
}

/** A parsed client-final message. */
export class ClientFinal {
  constructor(
    public withoutProof: string, // client-final-message-without-proof, for the AuthMessage
    public channelBinding: string,
    public nonce: string,
    public proof: Uint8Array,
  ) {}
}

/** client-final-message: "c=...,r=...,p=..." exactly (no extensions). Null when malformed. */
export function parseClientFinal(msg: string): ClientFinal | null {
  if (msg.length > MAX_MESSAGE_BYTES) return null;
  const parts = msg.split(",");
  if (parts.length != 3 || !parts[0].startsWith("c=") || !parts[1].startsWith("r=") || !parts[2].startsWith("p=")) {
    return null;
  }
  const proof = unb64(parts[2].substring(2));
  if (proof === null || proof.length != SHA256_BYTES) return null;
  return new ClientFinal(parts[0] + "," + parts[1], parts[0].substring(2), parts[1].substring(2), proof);
}

/**
 * RFC 5802 section 3: the client's proof checks out when H(proof XOR HMAC(StoredKey,
 * AuthMessage)) == StoredKey. The ServerSignature (HMAC(ServerKey, AuthMessage)) when it does,
 * else null.
 */
export function verifyProof(storedKey: Uint8Array, serverKey: Uint8Array, authMessage: string, proof: Uint8Array): Uint8Array | null {
  const am = utf8(authMessage);
  const clientSignature = hmacSha256(storedKey, am);
  if (clientSignature === null || proof.length != SHA256_BYTES) return null;
  const clientKey = new Uint8Array(SHA256_BYTES);
  for (let i = 0; i < SHA256_BYTES; i++) clientKey[i] = proof[i] ^ clientSignature[i];
  const h = sha256(clientKey);
  if (h === null || !constantTimeEqual(h, storedKey)) return null;
  return hmacSha256(serverKey, am);
}
