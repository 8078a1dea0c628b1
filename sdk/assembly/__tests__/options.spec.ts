import { Options } from "../index";
import { options, setOptionFile } from "../testing";

let opts: Options = options([]);

describe("Options", () => {
  beforeEach(() => {
    opts = options([
      ["wasm_module", "/etc/mosquitto/policy.wasm"],
      ["users_file", "sdk/assembly/__tests__/fixtures/users.txt"],
      ["mode", "strict"],
      ["mode", "lenient"],
      ["greeting", "grüß dich"],
    ]);
  });

  it("lists entries in configuration order", () => {
    expect(opts.count).toBe(5);
    expect(opts.keyAt(0).equals("wasm_module")).toBe(true);
    expect(opts.valueAt(2).equals("strict")).toBe(true);
    expect(opts.keyAt(4).toString()).toBe("greeting");
  });

  it("looks keys up, the last occurrence winning", () => {
    expect(opts.has("mode")).toBe(true);
    expect(opts.has("mod")).toBe(false);
    expect(opts.get("mode")).toBe("lenient");
    expect(opts.get("greeting")).toBe("grüß dich");
    expect(opts.get("missing")).toBeNull();
    expect(opts.indexOf("mode")).toBe(3);
    const s = opts.getStr("wasm_module");
    expect(s).not.toBeNull();
    expect(s!.endsWith(".wasm")).toBe(true);
  });

  it("traps on an out-of-range index", () => {
    expect(() => { opts.keyAt(5); }).toThrow();
    expect(() => { opts.valueAt(-1); }).toThrow();
  });

  it("reads the file an option names", () => {
    setOptionFile("users_file", "sdk/assembly/__tests__/fixtures/users.txt");
    const text = opts.readTextFile("users_file");
    expect(text).not.toBeNull();
    expect(text!.startsWith("alice:")).toBe(true);
    const raw = opts.readFile("users_file");
    expect(raw!.length).toBe(String.UTF8.byteLength(text!));
  });

  it("reads nothing for unknown keys, keys not ending in _file, or missing files", () => {
    expect(opts.readFile("nothing_file")).toBeNull();
    setOptionFile("mode", "sdk/assembly/__tests__/fixtures/users.txt");
    expect(opts.readFile("mode")).toBeNull();
    setOptionFile("gone_file", "sdk/assembly/__tests__/fixtures/does-not-exist");
    expect(opts.readFile("gone_file")).toBeNull();
  });

  it("reads an empty file as zero bytes", () => {
    setOptionFile("empty_file", "sdk/assembly/__tests__/fixtures/empty.txt");
    const b = opts.readFile("empty_file");
    expect(b).not.toBeNull();
    expect(b!.length).toBe(0);
  });
});
