import { JwtError, JwtVerifier, JwtClaims, loadJwtKey, verifyJwt, JWT_MAX_BYTES, Str } from "../index";
import { options, setOptionFile, str, clearLogs, logCount, logMessage } from "../testing";

// Real tokens and keys: tests/fixtures/jwt (signed by node:crypto, see its make.mjs); the same
// file drives the plugin's and the Node host's tests.
const DIR = "tests/fixtures/jwt/";
const FILES = ["hs.secret", "rsa.pem", "rsa4096.pem", "p256.pem", "p384.pem", "ed25519.pem", "jwks.json"];

class Fixture {
  constructor(public name: string, public want: string, public file: string, public token: string) {}
}

function fixtures(): Fixture[] {
  setOptionFile("tokens_file", DIR + "tokens.txt");
  const text = options([["tokens_file", DIR + "tokens.txt"]]).readTextFile("tokens_file");
  const out = new Array<Fixture>();
  if (text === null) return out;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i].split(" ");
    if (f.length == 4) out.push(new Fixture(f[0], f[1], f[2], f[3]));
  }
  return out;
}

function token(name: string): Str {
  const all = fixtures();
  for (let i = 0; i < all.length; i++) if (all[i].name == name) return str(all[i].token);
  throw new Error("no fixture " + name);
}

function codeOf(want: string): i32 {
  if (want == "OK") return 0;
  if (want == "MALFORMED") return JwtError.Malformed;
  if (want == "BAD_SIGNATURE") return JwtError.BadSignature;
  if (want == "UNSUPPORTED_ALG") return JwtError.UnsupportedAlg;
  if (want == "NO_KEY") return JwtError.NoKey;
  if (want == "EXPIRED") return JwtError.Expired;
  if (want == "NOT_YET_VALID") return JwtError.NotYetValid;
  return 99;
}

describe("verifyJwt", () => {
  beforeAll(() => {
    for (let i = 0; i < FILES.length; i++) setOptionFile(FILES[i] + "_file", DIR + FILES[i]);
    for (let i = 0; i < FILES.length; i++) expect(loadJwtKey(FILES[i] + "_file")).toBe(0);
  });

  it("gives every fixture token its expected result, each refusal logged once", () => {
    const all = fixtures();
    expect(all.length).toBeGreaterThanOrEqual(40);
    for (let i = 0; i < all.length; i++) {
      const f = all[i];
      clearLogs();
      const r = verifyJwt(str(f.token), f.file + "_file");
      expect(r.error).toBe(codeOf(f.want), f.name);
      expect(r.ok).toBe(f.want == "OK", f.name);
      expect(logCount()).toBe(f.want == "OK" ? 0 : 1, f.name);
    }
  });

  it("reads the claims in place", () => {
    const v = new JwtVerifier("rsa.pem_file");
    const r = v.verify(token("rs256"));
    expect(r.ok).toBe(true);
    const c = r.claims!;
    expect(c.string("sub")).toBe("alice");
    expect(c.stringIs("sub", str("alice"))).toBe(true);
    expect(c.stringIs("sub", str("alic"))).toBe(false);
    expect(c.stringIs("sub", null)).toBe(false);
    expect(c.stringIs("exp", str("4102444800"))).toBe(false);
    expect(c.number("exp")).toBe(4102444800);
    expect(isNaN(c.number("sub"))).toBe(true);
    expect(isNaN(c.number("nope"))).toBe(true);
    expect(c.string("name")).toBe("Alïce");
    expect(c.string("exp")).toBeNull();
    expect(c.has("acl")).toBe(true);
    expect(c.has("pub")).toBe(false); // nested members are not top-level ones
    const groups = c.stringArray("groups")!;
    expect(groups.length).toBe(2);
    expect(groups[1]).toBe("b\n");
    const acl = c.object("acl")!;
    expect(acl.stringArray("pub")![0]).toBe("data/%u/#");
    expect(acl.stringArray("sub")![0]).toBe("cmd/%c");
    expect(acl.stringArray("all")![0]).toBe("shared/+");
    expect(acl.stringArray("nope")).toBeNull();
    expect(c.stringArray("sub")).toBeNull();
    expect(c.object("sub")).toBeNull();
    expect(c.toString().startsWith("{\"sub\":\"alice\"")).toBe(true);
  });

  it("reads claims with escapes, nesting and odd spacing", () => {
    const json = "{ \"a\" : [1, {\"x\": \"}\"}], \"s\\u0075b\" : \"b\\u00f6b\", \"n\":-1.5e2 ,\"e\":[] }";
    const b = String.UTF8.encode(json);
    const c = new JwtClaims(changetype<usize>(b), b.byteLength);
    expect(c.string("sub")).toBe("böb");
    expect(c.stringIs("sub", str("böb"))).toBe(true);
    expect(c.number("n")).toBe(-150);
    expect(c.stringArray("e")!.length).toBe(0);
    expect(c.stringArray("a")).toBeNull();
    expect(c.has("x")).toBe(false);
  });

  it("refuses null, empty and oversized tokens", () => {
    clearLogs();
    expect(verifyJwt(null, "rsa.pem_file").error).toBe(JwtError.Malformed);
    expect(verifyJwt(str(""), "rsa.pem_file").error).toBe(JwtError.Malformed);
    expect(logCount()).toBe(0); // refused by the SDK: an empty token would only load the keys
    expect(verifyJwt(str("A".repeat(JWT_MAX_BYTES + 1)), "rsa.pem_file").error).toBe(JwtError.Malformed);
    expect(logMessage(0)).toBe("jwt_verify (rsa.pem_file): token of 8193 bytes, above the cap of 8192 (WA_MAX_JWT_BYTES)");
  });

  it("refuses keys that were never set, and logs why", () => {
    clearLogs();
    expect(loadJwtKey("unset_file")).toBe(JwtError.KeyFile);
    expect(verifyJwt(token("rs256"), "unset_file").error).toBe(JwtError.KeyFile);
    expect(logMessage(0)).toBe("jwt_verify (unset_file): option not set");
    setOptionFile("bad_file", DIR + "private.pem");
    expect(loadJwtKey("bad_file")).toBe(JwtError.KeyFile);
    expect(logMessage(2)).toBe("jwt_verify (bad_file): key file " + DIR + "private.pem: PEM file whose first block is not a PUBLIC KEY or CERTIFICATE");
  });
});
