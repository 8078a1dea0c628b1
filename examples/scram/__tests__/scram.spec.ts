// scram: the SCRAM-SHA-256 exchange of RFC 7677 section 3 (user "user", password "pencil",
// fixtures/users.txt) through ext_auth_start and ext_auth_continue, with the proof computed here
// from the server-first the policy sent; refusals and their rate-limited log line.
import { ext_auth_continue, ext_auth_start, on_disconnect, security_init, unpwd_check } from "../policy";
import { AuthDecision, Decision, hmacSha256, pbkdf2Sha256, sha256 } from "../../../sdk/assembly";
import { authDataOut, clearAuthData, clearLogs, logCount, logMessage, options, setClock, setOptionFile, str } from "../../../sdk/assembly/testing";
import { b64, unb64, utf8 } from "../scram";

const FILE = "examples/scram/__tests__/fixtures/users.txt";
const METHOD = "SCRAM-SHA-256";
const CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
const BARE = "n=user,r=" + CLIENT_NONCE;

// client-final for `serverFirst`, as a client with this password computes it.
function clientFinal(serverFirst: string, password: string): string {
  const parts = serverFirst.split(",");
  const salted = pbkdf2Sha256(utf8(password), unb64(parts[1].substring(2))!, I32.parseInt(parts[2].substring(2)))!;
  const clientKey = hmacSha256(salted, utf8("Client Key"))!;
  const withoutProof = "c=biws," + parts[0];
  const signature = hmacSha256(sha256(clientKey)!, utf8(BARE + "," + serverFirst + "," + withoutProof))!;
  const proof = new Uint8Array(32);
  for (let i = 0; i < 32; i++) proof[i] = clientKey[i] ^ signature[i];
  return withoutProof + ",p=" + b64(proof);
}

function serverSignature(serverFirst: string, password: string, final: string): string {
  const parts = serverFirst.split(",");
  const salted = pbkdf2Sha256(utf8(password), unb64(parts[1].substring(2))!, 4096)!;
  const withoutProof = final.substring(0, final.lastIndexOf(",p="));
  return "v=" + b64(hmacSha256(hmacSha256(salted, utf8("Server Key"))!, utf8(BARE + "," + serverFirst + "," + withoutProof))!);
}

function start(clientid: string, msg: string): AuthDecision {
  clearAuthData();
  return ext_auth_start(str(clientid), str(METHOD), str(msg));
}

function cont(clientid: string, msg: string): AuthDecision {
  clearAuthData();
  return ext_auth_continue(str(clientid), str(METHOD), str(msg));
}

function refusals(): string[] {
  const out: string[] = [];
  for (let i = 0; i < logCount(); i++) {
    const m = logMessage(i)!;
    if (m.includes(" refused: ")) out.push(m);
  }
  return out;
}

describe("scram", () => {
  beforeAll(() => {
    setOptionFile("scram_users_file", FILE);
    clearLogs();
    expect(security_init(options([["scram_users_file", FILE]]), false)).toBe(true);
    expect(logMessage(0)).toBe("scram: 2 users");
  });

  it("runs RFC 7677's exchange: server-first, then server-final for the right proof", () => {
    expect(start("c1", "n,," + BARE)).toBe(AuthDecision.Continue);
    const serverFirst = authDataOut();
    expect(serverFirst.startsWith("r=" + CLIENT_NONCE)).toBe(true);
    expect(serverFirst.endsWith(",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")).toBe(true);
    // 18 random bytes after the client's nonce: 24 base64 characters.
    expect(serverFirst.indexOf(",s=")).toBe(2 + CLIENT_NONCE.length + 24);
    const final = clientFinal(serverFirst, "pencil");
    expect(cont("c1", final)).toBe(AuthDecision.Allow);
    expect(authDataOut()).toBe(serverSignature(serverFirst, "pencil", final));
    // The exchange is over: the same message again has none to continue.
    expect(cont("c1", final)).toBe(AuthDecision.Deny);
  });

  it("gives each exchange its own nonce", () => {
    start("c2", "n,," + BARE);
    const a = authDataOut();
    start("c3", "n,," + BARE);
    expect(authDataOut()).not.toBe(a);
    on_disconnect(str("c2"), null);
    on_disconnect(str("c3"), null);
  });

  it("refuses a wrong password, and an unknown user only at the proof", () => {
    setClock(1000000.0);
    clearLogs();
    start("c4", "n,," + BARE);
    expect(cont("c4", clientFinal(authDataOut(), "not-pencil"))).toBe(AuthDecision.Deny);
    expect(refusals()).toStrictEqual(["scram: client c4 refused: wrong proof (wrong password or unknown user)"]);
    setClock(1002000.0);
    expect(start("c5", "n,,n=nobody,r=" + CLIENT_NONCE)).toBe(AuthDecision.Continue);
    const fake = authDataOut();
    expect(fake.includes(",i=4096")).toBe(true);
    // The made-up salt is stable for the name: asking again does not reveal that it is made up.
    start("c6", "n,,n=nobody,r=" + CLIENT_NONCE);
    expect(authDataOut().substring(fake.indexOf(",s="))).toBe(fake.substring(fake.indexOf(",s=")));
    expect(cont("c5", clientFinal(fake, "pencil"))).toBe(AuthDecision.Deny);
    on_disconnect(str("c6"), null);
    setClock(NaN);
  });

  it("refuses malformed messages with one log line a second, counting the others", () => {
    setClock(2000000.0);
    clearLogs();
    expect(start("g1", "p=tls-unique,,n=user,r=x")).toBe(AuthDecision.Deny);
    expect(start("g2", "n,,n=user")).toBe(AuthDecision.Deny);
    expect(start("g3", "n,,n=us=er,r=x")).toBe(AuthDecision.Deny);
    expect(start("g4", "n,,n=user,r=x,m=ext")).toBe(AuthDecision.Deny);
    expect(cont("g5", "c=biws,r=x,p=AAAA")).toBe(AuthDecision.Deny);
    expect(refusals()).toStrictEqual(["scram: client g1 refused: malformed client-first message"]);
    setClock(2001000.0);
    start("g6", "n,," + BARE);
    expect(cont("g6", "garbage\u0000")).toBe(AuthDecision.Deny);
    expect(refusals()[1]).toBe("scram: client g6 refused: malformed client-final message (4 more refusals not logged)");
    setClock(2002000.0);
    start("g7", "n,," + BARE);
    const sf = authDataOut();
    const final = clientFinal(sf, "pencil");
    expect(cont("g7", final.replace("r=" + CLIENT_NONCE, "r=other"))).toBe(AuthDecision.Deny);
    expect(refusals()[2]).toBe("scram: client g7 refused: channel binding or nonce mismatch");
    setClock(NaN);
  });

  it("defers other methods, refuses password logins, defers anonymous ones", () => {
    expect(ext_auth_start(str("o1"), str("PLAIN"), str("x"))).toBe(AuthDecision.Defer);
    expect(unpwd_check(str("user"), str("pencil"))).toBe(Decision.Deny);
    expect(unpwd_check(null, null)).toBe(Decision.Defer);
  });
});
