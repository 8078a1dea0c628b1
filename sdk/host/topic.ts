// mosquitto_topic_matches_sub() with exactly mosquitto 2.0's answers, including for malformed
// filters: the match walks filter and topic together and validates only what it passes over, so
// an early mismatch answers 0 ("no match") for a filter that is malformed further on, and a later
// one answers -1. A test compares this function with libmosquitto itself on generated inputs.

const SLASH = 0x2f;
const PLUS = 0x2b;
const HASH = 0x23;
const DOLLAR = 0x24;

export type TopicMatch = 1 | 0 | -1;

function isWildcard(c: number): boolean {
  return c === PLUS || c === HASH;
}

// A wildcard must be a whole level: after '/' or at the start, before '/' or at the end ('#' only at the end).
function fillsLevel(sub: Uint8Array, i: number): boolean {
  if (i > 0 && sub[i - 1] !== SLASH) return false;
  if (i + 1 < sub.length && (sub[i] === HASH || sub[i + 1] !== SLASH)) return false;
  return true;
}

// The topic must hold no wildcard from `from` on: then `answer`, else invalid.
function restOfTopic(topic: Uint8Array, from: number, answer: TopicMatch): TopicMatch {
  for (let i = from; i < topic.length; i++) if (isWildcard(topic[i])) return -1;
  return answer;
}

/**
 * 1 when `topic` matches the filter `sub`, 0 when not, -1 when the filter or the topic is invalid
 * (empty, a misplaced wildcard that the walk reaches, a wildcard in the topic, an embedded NUL,
 * which a C string could not carry). Both are UTF-8 bytes.
 */
export function topicMatchesSub(sub: Uint8Array, topic: Uint8Array): TopicMatch {
  if (sub.length === 0 || topic.length === 0) return -1;
  if (sub.includes(0) || topic.includes(0)) return -1;
  // Topics beginning with '$' are only matched by filters that begin with '$' too.
  if ((sub[0] === DOLLAR) !== (topic[0] === DOLLAR)) return 0;

  const at = (b: Uint8Array, i: number): number => (i < b.length ? b[i] : 0);
  let s = 0;
  let t = 0;
  while (s < sub.length) {
    const sc = sub[s];
    const tc = at(topic, t);
    if (isWildcard(tc)) return -1;

    if (t < topic.length && sc === tc) {
      // Topic's last byte with the filter going on as exactly "/#": "a" matches "a/#".
      if (t + 1 === topic.length && s + 3 === sub.length && sub[s + 1] === SLASH && sub[s + 2] === HASH) return 1;
      s++;
      t++;
      if (s === sub.length && t === topic.length) return 1;
      // Topic ends with '/', filter with "/+": the empty last level matches.
      if (t === topic.length && s + 1 === sub.length && sub[s] === PLUS) return fillsLevel(sub, s) ? 1 : -1;
      continue;
    }
    if (sc === PLUS) {
      if (!fillsLevel(sub, s)) return -1;
      s++;
      for (; t < topic.length && topic[t] !== SLASH; t++) if (isWildcard(topic[t])) return -1;
      if (s === sub.length && t === topic.length) return 1;
      continue;
    }
    if (sc === HASH) {
      if (!fillsLevel(sub, s)) return -1;
      return restOfTopic(topic, t, 1);
    }
    // Topic used up right after a '+' level, filter going on with "/#": "a/b" matches "a/+/#".
    if (t === topic.length && s > 0 && sub[s - 1] === PLUS && sc === SLASH && at(sub, s + 1) === HASH) return 1;
    // No match; still invalid if a '#' further on is not the last byte.
    for (let i = s; i < sub.length; i++) if (sub[i] === HASH && i + 1 < sub.length) return -1;
    return 0;
  }
  return restOfTopic(topic, t, 0);
}

/** topic.c wa_filter_valid: what mosquitto accepts as a subscription filter (UTF-8 not checked). */
export function validFilter(f: Uint8Array): boolean {
  if (f.length === 0) return false;
  for (let i = 0; i < f.length; i++) {
    const starts = i === 0 || f[i - 1] === 0x2f;
    const ends = i + 1 === f.length || f[i + 1] === 0x2f;
    if (f[i] === 0) return false;
    if (f[i] === 0x2b && !(starts && ends)) return false;
    if (f[i] === 0x23 && !(starts && i + 1 === f.length)) return false;
  }
  return true;
}
