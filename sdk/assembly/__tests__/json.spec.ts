import { parseJson, parseJsonString, JsonValue, JsonKind, JsonResult } from "../json";

function ok(text: string): JsonValue {
  const r = parseJsonString(text);
  const err = r.error;
  if (err !== null) throw new Error("unexpected error: " + err.toString());
  return r.value!;
}

function error(r: JsonResult): string {
  expect(r.value).toBeNull();
  const err = r.error;
  expect(err).not.toBeNull();
  return err!.toString();
}

function errorOf(text: string): string {
  return error(parseJsonString(text));
}

function bytes(list: i32[]): Uint8Array {
  const b = new Uint8Array(list.length);
  for (let i = 0; i < list.length; i++) b[i] = <u8>list[i];
  return b;
}

// `prefix` + raw bytes + `suffix`: for data that is not valid UTF-8.
function raw(prefix: string, list: i32[], suffix: string): Uint8Array {
  const a = Uint8Array.wrap(String.UTF8.encode(prefix));
  const c = Uint8Array.wrap(String.UTF8.encode(suffix));
  const out = new Uint8Array(a.length + list.length + c.length);
  out.set(a, 0);
  out.set(bytes(list), a.length);
  out.set(c, a.length + list.length);
  return out;
}

describe("parseJson", () => {
  it("reads every kind of value", () => {
    const v = ok(' \n{"a": [1, -2.5e3, 0, true, false, null], "s": "x\\"y\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00", "o": {}}\n');
    expect(v.kind).toBe(JsonKind.Object);
    expect(v.length).toBe(3);
    expect(v.keys()).toStrictEqual(["a", "s", "o"]);
    const a = v.getArray("a")!;
    expect(a.length).toBe(6);
    expect(a.at(0)!.asNumber()).toBe(1);
    expect(a.at(0)!.asI32()).toBe(1);
    expect(a.at(1)!.asNumber()).toBe(-2500);
    expect(a.at(1)!.asI32(-1)).toBe(-2500);
    expect(a.at(3)!.asBool()).toBe(true);
    expect(a.at(4)!.isBool()).toBe(true);
    expect(a.at(4)!.asBool()).toBe(false);
    expect(a.at(5)!.isNull()).toBe(true);
    expect(a.at(6)).toBeNull();
    expect(a.at(-1)).toBeNull();
    expect(v.getString("s")).toBe("x\"y\\/\b\f\n\r\té😀");
    expect(v.getObject("o")!.length).toBe(0);
    expect(v.get("missing")).toBeNull();
  });

  it("answers null, NaN or false when asked for another kind", () => {
    const v = ok('{"n": 1.5, "s": "t"}');
    expect(v.getString("n")).toBeNull();
    expect(v.getArray("s")).toBeNull();
    expect(v.getObject("n")).toBeNull();
    expect(isNaN(v.get("s")!.asNumber())).toBe(true);
    expect(v.get("n")!.asI32(7)).toBe(7);
    expect(v.get("s")!.asBool()).toBe(false);
    expect(v.at(0)!.asNumber()).toBe(1.5);
    expect(v.nameAt(1)).toBe("s");
    expect(v.get("n")!.get("x")).toBeNull();
    expect(v.get("n")!.keys().length).toBe(0);
  });

  it("looks members up in big objects through an index", () => {
    let text = "{";
    for (let i = 0; i < 100; i++) text += (i ? "," : "") + '"k' + i.toString() + '": ' + i.toString();
    const v = ok(text + "}");
    expect(v.length).toBe(100);
    expect(v.get("k0")!.asI32()).toBe(0);
    expect(v.get("k99")!.asI32()).toBe(99);
    expect(v.indexOf("k57")).toBe(57);
    expect(v.has("k100")).toBe(false);
  });

  it("reads top-level scalars and skips a byte order mark", () => {
    expect(ok("42").asI32()).toBe(42);
    expect(ok('"x"').asString()).toBe("x");
    const r = parseJson(raw("", [0xef, 0xbb, 0xbf], '{"a":1}'));
    expect(r.error).toBeNull();
    expect(r.value!.get("a")!.asI32()).toBe(1);
  });

  it("names the line and column of the first error", () => {
    expect(errorOf('{\n  "a": 1,\n  "b" 2\n}')).toBe("line 3, column 7: expected ':' after member name \"b\", found '2'");
    expect(errorOf("[1, 2,]")).toBe("line 1, column 7: trailing ',' before ']'");
    expect(errorOf('{"a": 1,}')).toBe("line 1, column 9: trailing ',' before '}'");
    expect(errorOf("[1 2]")).toBe("line 1, column 4: expected ',' or ']' after an array item, found '2'");
    expect(errorOf('{"a": 1 "b": 2}')).toBe("line 1, column 9: expected ',' or '}' after an object member, found '\"'");
    expect(errorOf("{a: 1}")).toBe("line 1, column 2: expected a member name in double quotes, found 'a'");
    expect(errorOf('{"a": 1} x')).toBe("line 1, column 10: unexpected 'x' after the JSON value");
    expect(errorOf("")).toBe("line 1, column 1: no JSON value (the data is empty or only whitespace)");
    expect(errorOf("[")).toBe("line 1, column 2: unexpected end of data: expected a value");
    expect(errorOf('{"a"')).toBe("line 1, column 5: expected ':' after member name \"a\", found end of data");
    expect(errorOf("[tru]")).toBe("line 1, column 2: expected a value (object, array, string, number, true, false or null), found 't'");
    expect(errorOf("// comment\n1")).toBe("line 1, column 1: expected a value (object, array, string, number, true, false or null), found '/'");
  });

  it("refuses repeated member names, which tools resolve differently", () => {
    expect(errorOf('{"a": 1, "a": 2}')).toBe("line 1, column 10: member name \"a\" repeated in one object");
    let text = "{";
    for (let i = 0; i < 20; i++) text += '"k' + i.toString() + '": 0, ';
    expect(errorOf(text + '"k3": 1}')).toBe("line 1, column 192: member name \"k3\" repeated in one object");
  });

  it("reads numbers by the grammar", () => {
    expect(ok("-0").asNumber()).toBe(-0.0);
    expect(ok("1E2").asNumber()).toBe(100);
    expect(ok("1e-2").asNumber()).toBe(0.01);
    expect(ok("2147483648").asI32(-1)).toBe(-1);
    expect(ok("-2147483648").asI32()).toBe(-2147483648);
    expect(ok("999999999999999").asNumber()).toBe(999999999999999.0);
    expect(ok("12345678901234567890").asNumber()).toBe(12345678901234567890.0);
    expect(ok("-12.5e-1").asNumber()).toBe(-1.25);
    expect(errorOf("01")).toBe("line 1, column 2: invalid number: no leading zeros");
    expect(errorOf("-")).toBe("line 1, column 2: invalid number: expected a digit after '-'");
    expect(errorOf("1.")).toBe("line 1, column 3: invalid number: expected a digit after '.'");
    expect(errorOf("1e+")).toBe("line 1, column 4: invalid number: expected a digit in the exponent");
    expect(errorOf("[1e999]")).toBe("line 1, column 2: number out of range");
    expect(errorOf("+1")).toBe("line 1, column 1: expected a value (object, array, string, number, true, false or null), found '+'");
  });

  it("refuses bad strings: controls, escapes, surrogates", () => {
    expect(errorOf('["a\nb"]')).toBe("line 1, column 4: control character U+000A in a string (write it as an escape, e.g. \\n)");
    expect(errorOf('["\\x"]')).toBe("line 1, column 4: invalid escape: '\\' followed by 'x' (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    expect(errorOf('["\\u12G4"]')).toBe("line 1, column 3: invalid \\u escape: expected 4 hexadecimal digits");
    expect(errorOf('["\\ud800"]')).toBe("line 1, column 3: unpaired surrogate \\uD800 in a string");
    expect(errorOf('["\\udc00\\ud800"]')).toBe("line 1, column 3: unpaired surrogate \\uDC00 in a string");
    expect(errorOf('["\\ud800\\u0041"]')).toBe("line 1, column 3: unpaired surrogate \\uD800 in a string");
    expect(errorOf('["abc')).toBe("line 1, column 2: unterminated string");
    expect(errorOf('["abc\\')).toBe("line 1, column 6: unterminated string");
  });

  it("refuses invalid UTF-8 instead of swallowing the bytes after it", () => {
    // 0xC3 then '"': AssemblyScript's own decoder would eat the quote.
    expect(error(parseJson(raw('["a', [0xc3], '", "b"]')))).toBe(
      "line 1, column 4: invalid UTF-8 in a string (byte 0xC3 not followed by a continuation byte)");
    expect(error(parseJson(raw('["', [0xff], '"]')))).toBe("line 1, column 3: invalid UTF-8 in a string (byte 0xFF)");
    expect(error(parseJson(raw('["', [0xc0, 0xaf], '"]')))).toBe("line 1, column 3: invalid UTF-8 in a string (byte 0xC0)");
    expect(error(parseJson(raw('["', [0xe0, 0x80, 0xaf], '"]')))).toBe(
      "line 1, column 3: invalid UTF-8 in a string (an overlong form, a surrogate or a code point above U+10FFFF)");
    expect(error(parseJson(raw('["', [0xed, 0xa0, 0x80], '"]')))).toBe(
      "line 1, column 3: invalid UTF-8 in a string (an overlong form, a surrogate or a code point above U+10FFFF)");
    expect(error(parseJson(raw('["', [0xf4, 0x90, 0x80, 0x80], '"]')))).toBe(
      "line 1, column 3: invalid UTF-8 in a string (an overlong form, a surrogate or a code point above U+10FFFF)");
    expect(error(parseJson(raw('["', [0xe2, 0x82], '')))).toBe(
      "line 1, column 3: invalid UTF-8 in a string (a sequence cut short by the end of data)");
    expect(error(parseJson(raw("[", [0xe2, 0x82, 0xac], "]")))).toBe(
      "line 1, column 2: expected a value (object, array, string, number, true, false or null), found byte 0xE2");
    const v = parseJson(raw('["', [0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80], '"]'));
    expect(v.value!.at(0)!.asString()).toBe("€😀");
  });

  it("stops deep nesting and long strings at their limits", () => {
    expect(errorOf("[".repeat(65) + "]".repeat(65))).toBe("line 1, column 65: nesting deeper than 64 levels");
    expect(ok("[".repeat(64) + "]".repeat(64)).length).toBe(1);
    expect(errorOf('{"a":'.repeat(100000) + "1" + "}".repeat(100000))).toBe("line 1, column 321: nesting deeper than 64 levels");
    expect(error(parseJsonString("[[[1]]]", 2))).toBe("line 1, column 3: nesting deeper than 2 levels");
    const long = '"' + "x".repeat(65536) + '"';
    expect(errorOf(long)).toBe("line 1, column 1: string longer than 65535 bytes");
    expect(ok('"' + "x".repeat(65535) + '"').asString()!.length).toBe(65535);
    expect(error(parseJsonString('["\\u00e9\\u00e9"]', 64, 3))).toBe("line 1, column 2: string longer than 3 bytes");
  });
});
