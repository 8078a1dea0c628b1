// The host's SHA-256 family through the SDK: known answers from FIPS 180-2, RFC 4231 (HMAC),
// RFC 7914 section 11 (PBKDF2-HMAC-SHA-256) and RFC 7677 section 3 (a whole SCRAM-SHA-256
// exchange's keys, proof and signature); the caps refused.
import { base64Encode, base64EncodedLength, constantTimeEqual, hmacSha256, pbkdf2Sha256, sha256, PBKDF2_SHA256_MAX_ITERATIONS } from "..";

function hex(b: Uint8Array | null): string {
  if (b === null) return "null";
  let s = "";
  for (let i = 0; i < b.length; i++) s += (<u32>b[i]).toString(16).padStart(2, "0");
  return s;
}

function text(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function bytesOf(n: i32, v: u8): Uint8Array {
  const b = new Uint8Array(n);
  b.fill(v);
  return b;
}

function b64(b: Uint8Array): string {
  const out = new Uint8Array(base64EncodedLength(b.length));
  base64Encode(b.dataStart, b.length, out.dataStart);
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>out.length);
}

describe("sha256", () => {
  it("gives FIPS 180-2's digests", () => {
    expect(hex(sha256(text("abc")))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex(sha256(new Uint8Array(0)))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
  it("refuses more than 1 MiB", () => {
    expect(sha256(new Uint8Array(1024 * 1024 + 1))).toBeNull();
    expect(sha256(new Uint8Array(1024 * 1024))).not.toBeNull();
  });
});

describe("hmacSha256", () => {
  it("gives RFC 4231's test cases 1, 2 and 6 (a key longer than a block)", () => {
    expect(hex(hmacSha256(bytesOf(20, 0x0b), text("Hi There")))).toBe("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect(hex(hmacSha256(text("Jefe"), text("what do ya want for nothing?")))).toBe("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    expect(hex(hmacSha256(bytesOf(131, 0xaa), text("Test Using Larger Than Block-Size Key - Hash Key First"))))
      .toBe("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  });
});

describe("pbkdf2Sha256", () => {
  it("gives RFC 7914's PBKDF2-HMAC-SHA-256 vector (its first 32 bytes)", () => {
    expect(hex(pbkdf2Sha256(text("passwd"), text("salt"), 1))).toBe("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc");
  });
  it("refuses 0 and more than the cap of iterations", () => {
    expect(pbkdf2Sha256(text("p"), text("s"), 0)).toBeNull();
    expect(pbkdf2Sha256(text("p"), text("s"), -1)).toBeNull();
    expect(pbkdf2Sha256(text("p"), text("s"), PBKDF2_SHA256_MAX_ITERATIONS + 1)).toBeNull();
  });
});

describe("SCRAM-SHA-256 (RFC 7677 section 3)", () => {
  it("derives the example's client proof and server signature", () => {
    const salt = new Uint8Array(16);
    const saltB64 = text("W22ZaJ0SNY7soEsUEjb6gQ==");
    // Decoded by hand to keep this spec about the hashes: the salt's 16 bytes.
    const raw: u8[] = [0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e, 0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81];
    for (let i = 0; i < 16; i++) salt[i] = raw[i];
    expect(b64(salt)).toBe(String.UTF8.decode(saltB64.buffer));
    const salted = pbkdf2Sha256(text("pencil"), salt, 4096)!;
    const clientKey = hmacSha256(salted, text("Client Key"))!;
    const storedKey = sha256(clientKey)!;
    const authMessage = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const signature = hmacSha256(storedKey, text(authMessage))!;
    const proof = new Uint8Array(32);
    for (let i = 0; i < 32; i++) proof[i] = clientKey[i] ^ signature[i];
    expect(b64(proof)).toBe("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    const serverKey = hmacSha256(salted, text("Server Key"))!;
    expect(b64(hmacSha256(serverKey, text(authMessage))!)).toBe("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
  });
});

describe("constantTimeEqual", () => {
  it("compares bytes and lengths", () => {
    expect(constantTimeEqual(text("abc"), text("abc"))).toBe(true);
    expect(constantTimeEqual(text("abc"), text("abd"))).toBe(false);
    expect(constantTimeEqual(text("abc"), text("ab"))).toBe(false);
  });
});
