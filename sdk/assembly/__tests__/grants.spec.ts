import { Access, Fallback, Grants } from "../index";
import { str } from "../testing";

// The host reads a Grants object as the ABI's descriptor (docs/ABI.md, "Grants"): these specs
// read it the same way, at the object's address.
function count(g: Grants): u32 {
  return load<u32>(changetype<usize>(g));
}

function fallbacks(g: Grants): u32 {
  return load<u32>(changetype<usize>(g), 4);
}

function entry(g: Grants, i: i32): usize {
  return <usize>load<u32>(changetype<usize>(g), 8) + <usize>(i * 12);
}

function filter(g: Grants, i: i32): string {
  const e = entry(g, i);
  const bytes = <usize>load<u32>(changetype<usize>(g), 12);
  return String.UTF8.decodeUnsafe(bytes + <usize>load<u32>(e), <usize>load<u32>(e, 4));
}

describe("Grants", () => {
  it("starts empty, asking acl_check for everything", () => {
    const g = new Grants();
    expect(count(g)).toBe(0);
    expect(g.length).toBe(0);
    expect(fallbacks(g)).toBe(0x03030303);
  });

  it("lays out each grant as the host reads it: filter, access, deny, tier", () => {
    const g = new Grants()
      .allow("users/alice/#", Access.Read | Access.Write)
      .deny("users/alice/secret", Access.Read)
      .nextTier()
      .allow("public/#", Access.Read);
    expect(count(g)).toBe(3);
    expect(filter(g, 0)).toBe("users/alice/#");
    expect(load<u8>(entry(g, 0), 8)).toBe(3);
    expect(load<u8>(entry(g, 0), 9)).toBe(0);
    expect(load<u16>(entry(g, 0), 10)).toBe(0);
    expect(filter(g, 1)).toBe("users/alice/secret");
    expect(load<u8>(entry(g, 1), 8)).toBe(1);
    expect(load<u8>(entry(g, 1), 9)).toBe(1);
    expect(filter(g, 2)).toBe("public/#");
    expect(load<u16>(entry(g, 2), 10)).toBe(1);
  });

  it("sets one fallback byte per access", () => {
    const g = new Grants()
      .otherwise(Access.Read, Fallback.Deny)
      .otherwise(Access.Write, Fallback.Allow)
      .otherwise(Access.Subscribe, Fallback.Defer)
      .otherwise(Access.None, Fallback.Deny); // not an access with a fallback: ignored
    expect(fallbacks(g)).toBe(0x03020100);
  });

  it("keeps every filter intact while its buffers grow", () => {
    const g = new Grants();
    for (let i = 0; i < 300; i++) g.allow("t/" + i.toString() + "/#", Access.Read);
    g.addStr(str("from/a/str"), Access.Write, true);
    expect(count(g)).toBe(301);
    expect(filter(g, 0)).toBe("t/0/#");
    expect(filter(g, 299)).toBe("t/299/#");
    expect(filter(g, 300)).toBe("from/a/str");
    expect(load<u8>(entry(g, 300), 9)).toBe(1);
  });

  it("counts a tier only once it has grants", () => {
    const g = new Grants().nextTier().allow("a", Access.Read).nextTier().nextTier().allow("b", Access.Read);
    expect(load<u16>(entry(g, 0), 10)).toBe(0);
    expect(load<u16>(entry(g, 1), 10)).toBe(1);
  });
});
