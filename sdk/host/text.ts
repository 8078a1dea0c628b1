// Text crossing the host/guest boundary, converted the way the plugin does (plugin-c/runtime/text.c).

/**
 * UTF-16LE bytes to a string whose UTF-8 form fits in `capBytes - 1` bytes (the C side keeps room
 * for a NUL). Unpaired surrogates and an odd trailing byte become U+FFFD; the text is cut at a
 * character boundary when it does not fit.
 */
export function utf16leToText(b: Uint8Array, capBytes: number): string {
  let out = '';
  let used = 0;
  let i = 0;
  while (i < b.length) {
    let cp: number;
    if (i + 1 >= b.length) {
      cp = 0xfffd;
      i = b.length;
    } else {
      const u = b[i] | (b[i + 1] << 8);
      i += 2;
      if (u >= 0xd800 && u <= 0xdbff && i + 1 < b.length) {
        const lo = b[i] | (b[i + 1] << 8);
        if (lo >= 0xdc00 && lo <= 0xdfff) {
          cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
          i += 2;
        } else {
          cp = 0xfffd;
        }
      } else if (u >= 0xd800 && u <= 0xdfff) {
        cp = 0xfffd;
      } else {
        cp = u;
      }
    }
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (used + n >= capBytes) break;
    used += n;
    out += String.fromCodePoint(cp);
  }
  return out;
}

// What wa_text_sanitize_controls neutralises: C0 (NUL included), DEL, C1 (U+0080-U+009F), the
// bidirectional formatting characters U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069, and
// the line/paragraph separators U+2028, U+2029.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Each control character (C0, DEL, C1), bidi formatting character and Unicode line separator
 * becomes one '?', so guest text can neither forge, cut nor disguise log lines; other text stays.
 */
export function sanitizeControls(s: string): string {
  return s.replace(CONTROLS, '?');
}

/** True when `s` is non-empty and all hexadecimal digits. */
export function isHex(s: string): boolean {
  return /^[0-9a-fA-F]+$/.test(s);
}

/** A double as C's printf("%.17g") writes it (trace arguments, like the plugin). */
export function formatG17(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x < 0 ? '-inf' : 'inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  // 17 significant digits, correctly rounded, and the decimal exponent.
  const [mant, expText] = Math.abs(x).toExponential(16).split('e');
  const exp = Number(expText);
  const digits = mant.replace('.', '');
  const trim = (s: string): string => s.replace(/\.?0+$/, '');
  if (exp < -4 || exp >= 17) {
    const m = trim(`${digits[0]}.${digits.slice(1)}`);
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp < 0) return sign + trim(`0.${'0'.repeat(-exp - 1)}${digits}`);
  const intPart = digits.slice(0, exp + 1);
  const frac = digits.slice(exp + 1);
  return sign + (frac.length ? trim(`${intPart}.${frac}`) : intPart);
}
