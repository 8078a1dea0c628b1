// A compiled acl_file rule as the hot path reads it: acl.ts writes these records once per load,
// hot.ts reads a few fields of them per check. Everything a check would otherwise compute about
// a rule is here.

/**
 * One rule (RULE_BYTES). A topic whose first word `w` (little-endian, read past its end if
 * shorter) has `(w & mask) != key` cannot match; for literals up to 8 bytes the key test *is*
 * the literal comparison once the topic is known to be at least `len` bytes long.
 */
@unmanaged
export class Rule {
  /** The first min(len, 8) literal bytes every matching topic starts with. */
  key: u64;
  /** Keeps those bytes of a topic's first word (0: the filter has no literal prefix). */
  mask: u64;
  /**
   * Access bits (read 1, write 2; a deny rule has all eight: it applies to every access), and
   * F_CHECK_USER, F_CHECK_CLIENT, F_DENY (>> 8).
   */
  access: u16;
  /** S_GENERIC, S_PREFIX, S_EXACT or S_VALUE_PREFIX, plus S_LONG, plus F_CLIENT (>> SHAPE_SHIFT). */
  shape: u8;
  /** What a match decides: R_DENY or R_GRANT. */
  result: u8;
  /** Length of the filter's leading literal. */
  len: i32;
  /** Its offset in the byte arena (read only for literals longer than 8 bytes). */
  off: i32;
  /** The filter's program index in the code table (S_GENERIC only). */
  prog: i32;

  /**
   * `access`, `shape` and `result` as one word (flags: the F_* bits, shape << SHAPE_SHIFT,
   * result << RESULT_SHIFT): the hot path tests the access and takes the result from one load.
   */
  // @ts-ignore: decorator
  @inline get flags(): i32 {
    return load<i32>(changetype<usize>(this), offsetof<Rule>("access"));
  }
}

/** The rule record at `p`. */
// @ts-ignore: decorator
@inline
export function rule(p: usize): Rule {
  return changetype<Rule>(p);
}

/** Bytes per rule record. */
export const RULE_BYTES: i32 = offsetof<Rule>();
/**
 * Flag (S_VALUE_PREFIX): the substituted value is the client id (%c), not the username. In the
 * shape's byte (above its 3 bits), so hot.ts tells %u from %c rules with the shape's byte load.
 */
export const F_CLIENT: i32 = 0x80000;
/**
 * Position of the shape (3 bits) in the flags word: the third byte, which holds nothing else but
 * F_CLIENT, so hot.ts reads the shape with a byte load (flags byte 2 = record byte 18).
 */
export const SHAPE_SHIFT: i32 = 16;
/** The shape's bits, once shifted down. */
export const SHAPE_MASK: i32 = 7;
/** Position of the result (the top bits) in the flags word: what a match of the rule decides. */
export const RESULT_SHIFT: i32 = 24;
/** Result: deny. */
export const R_DENY: i32 = 0;
/** Result: grant. */
export const R_GRANT: i32 = 1;
/**
 * Flag of a grant: a pattern granting by it must check that the username holds no `+` or `#`
 * (CVE-2017-7650, see hot.ts). Not set when a %u value match proves it (hot.ts matches a value
 * only when it holds neither); meaningless for `topic` rules.
 */
export const F_CHECK_USER: i32 = 0x200;
/** The same for the client id (not set for a %c grant). */
export const F_CHECK_CLIENT: i32 = 0x400;
/** Flag of a deny rule (its result is R_DENY): one bit test decides with F_CHECK_USER's. */
export const F_DENY: i32 = 0x800;
/** Shape: any filter; run the program. */
export const S_GENERIC: i32 = 0;
/** Shape: literal text then "/#" (`public/#`). */
export const S_PREFIX: i32 = 1;
/** Shape: literal text only (`a/b`). */
export const S_EXACT: i32 = 2;
/** Shape: literal text, %u or %c, then "/#" (`users/%u/#`). */
export const S_VALUE_PREFIX: i32 = 3;
/** Added to S_PREFIX, S_EXACT or S_VALUE_PREFIX when the literal is longer than 8 bytes. */
export const S_LONG: i32 = 4;


// Filter programs ------------------------------------------------------------------------------
//
// A filter is stored as a short token program in an i32 table:
//   [dollar | count << 2, token...]      every token two i32s: [kind | len << 3, off]
// with token kinds
//   LIT        `len` literal bytes at `off` in the byte arena (may span levels: "a/b/")
//   LIT_HASH   the same, then the final "/#" (the "/" is not part of len)
//   PLUS       `runs` times a `+` level and a "/", then a `+` level, then `len` literal bytes at
//              `off` (the literal that follows, which starts with "/"; len 0 when none does):
//              [PLUS | len << 3 | runs << 19, off]
//   HASH       a whole `#` filter (only when the filter is just "#")
//   USER       the username bytes (`pattern` lines, and templates of `topic` rules: acl.ts)
//   CLIENT     the client id bytes (idem)
// and `dollar` saying whether the filter, as it reads after substitution, starts with `$`
// (0 no, 1 yes, 2 depends on the substituted value).

/** Token kind: literal bytes. */
export const T_LIT: i32 = 0;
/** Token kind: literal bytes, then the final "/#". */
export const T_LIT_HASH: i32 = 1;
/** Token kind: a `+` level. */
export const T_PLUS: i32 = 2;
/** Token kind: the filter "#". */
export const T_HASH: i32 = 3;
/** Token kind: the username (patterns). */
export const T_USER: i32 = 4;
/** Token kind: the client id (patterns). */
export const T_CLIENT: i32 = 5;

/** A PLUS token's literal length: bits 3..18 (a filter has at most 65,535 bytes). */
export const PLUS_LEN_MASK: i32 = 0xffff;
/** A PLUS token's run count (the "+/" levels before its own `+`): bits 19..31. */
export const PLUS_RUNS_SHIFT: i32 = 19;
