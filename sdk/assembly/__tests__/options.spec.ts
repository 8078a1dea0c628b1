import { Options, OptionFileError } from "../index";
import { options, setOptionFile, clearLogs, logCount, logMessage } from "../testing";

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

  it("says why a file could not be read, naming the option and its path", () => {
    clearLogs();
    expect(opts.readFile("nothing_file")).toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.Absent);
    expect(opts.lastFileError()).toBe("nothing_file: not set");
    expect(logCount()).toBe(0, "an option not set is not logged by the host");
    expect(opts.readTextFile("mode")).toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.NotFileOption);
    expect(opts.lastFileError()).toBe("mode: not a file option (only options whose name ends in _file name files a policy may read)");
    setOptionFile("gone_file", "sdk/assembly/__tests__/fixtures/does-not-exist");
    expect(opts.readFile("gone_file")).toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.NotFound);
    // The Options of this spec do not hold gone_file: the message names the key alone.
    expect(opts.lastFileError()).toBe("gone_file: not found");
    expect(logCount()).toBe(2);
    expect(logMessage(1)).toBe("option_file_size: option file gone_file (sdk/assembly/__tests__/fixtures/does-not-exist): not found");
    setOptionFile("users_file", "sdk/assembly/__tests__/fixtures");
    expect(opts.readFile("users_file")).toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.NotRegularFile);
    expect(opts.lastFileError()).toBe("users_file (sdk/assembly/__tests__/fixtures/users.txt): not a regular file");
    setOptionFile("users_file", "sdk/assembly/__tests__/fixtures/users.txt");
    expect(opts.readFile("users_file")).not.toBeNull();
    expect(opts.lastFileErrorCode()).toBe(OptionFileError.None);
    expect(opts.lastFileError()).toBeNull();
  });

  it("reads JSON, or says where it is wrong", () => {
    const o = options([["users_file", "sdk/assembly/__tests__/fixtures/users.json"], ["bad_file", "sdk/assembly/__tests__/fixtures/bad.json"]]);
    setOptionFile("users_file", "sdk/assembly/__tests__/fixtures/users.json");
    setOptionFile("bad_file", "sdk/assembly/__tests__/fixtures/bad.json");
    const v = o.readJson("users_file");
    expect(v).not.toBeNull();
    expect(v!.getArray("users")!.at(0)!.getString("name")).toBe("alice");
    expect(o.lastFileError()).toBeNull();
    expect(o.readJson("bad_file")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.Json);
    expect(o.lastFileError()).toBe("bad_file (sdk/assembly/__tests__/fixtures/bad.json): line 3, column 22: trailing ',' before '}'");
    expect(o.readJson("users_file", 1)).toBeNull();
    expect(o.lastFileError()).toBe("users_file (sdk/assembly/__tests__/fixtures/users.json): line 1, column 11: nesting deeper than 1 levels");
    expect(o.readJson("none_file")).toBeNull();
    expect(o.lastFileErrorCode()).toBe(OptionFileError.Absent);
  });
});
