#!/usr/bin/env bash
# Writes the fuzzers' seed corpora (read-only inputs; libFuzzer keeps what it finds elsewhere).
#   gate: every module the build and the tests produce (fixtures, hostile suite, gate unit-test
#         modules, policies, examples), each up to 1 MiB (the fuzzer reads at most 64 KiB anyway).
#   hook: requests in hook_fuzz.c's layout for every hook, policy slot, flag and trigger word.
# Usage: [FUZZ_POLICY_COUNT=N] seeds.sh BUILD_DIR GATE_SEED_DIR HOOK_SEED_DIR
set -euo pipefail

build=$1
final_gate=$2
final_hook=$3
# Written aside and moved into place, so a fuzzer started meanwhile never sees a half-written set.
mkdir -p "$(dirname "$final_gate")" "$(dirname "$final_hook")"
gate=$(mktemp -d "$final_gate.XXXXXX")
hook=$(mktemp -d "$final_hook.XXXXXX")

n=0
for dir in "$build/fixtures" "$build/tests-c/fixtures" "$build/hostile" "$build/hostile/gen" \
           "$build/gate-tests/modules" "$build/policies" "$build/examples" "$build/fuzz"; do
	[ -d "$dir" ] || continue
	tag=$(printf '%s' "${dir#"$build"/}" | tr '/' '_')
	for f in "$dir"/*.wasm; do
		[ -f "$f" ] || continue
		[ "$(stat -c %s "$f")" -le 1048576 ] || continue
		cp "$f" "$gate/${tag}_$(basename "$f")"
		n=$((n + 1))
	done
done

# hook_fuzz layout: byte 0 = policy, byte 1 = hook | flags, byte 2 = access | qos << 3 |
# retain << 5 | oversize << 6, then clientid NUL username NUL password NUL topic NUL payload.
# Each field is a printf format (escapes like \377 allowed, no %): NULs survive only this way.
seed() { # name policy b1 b2 clientid username password topic payload
	local out="$hook/$1"
	shift
	{
		printf "\\$(printf %03o "$1")\\$(printf %03o "$2")\\$(printf %03o "$3")"
		printf "$4"; printf '\0'; printf "$5"; printf '\0'; printf "$6"; printf '\0'; printf "$7"; printf '\0'
		printf "$8"
	} > "$out"
}
m=0
for pol in $(seq 0 "$((${FUZZ_POLICY_COUNT:-8} - 1))"); do
	for h in 0 1 2 3; do
		seed "p${pol}h${h}-plain" "$pol" "$h" 2 client-1 alice secret sensors/room1/temp '{"t":21.5}'
		seed "p${pol}h${h}-defer-anon" "$pol" $((h | 0x20 | 0x40 | 0x80)) $((4 | 1 << 3)) c '' '' 'a/+/#' ''
		seed "p${pol}h${h}-binary" "$pol" "$h" $((1 | 2 << 3 | 1 << 5)) 'c\001\377' '\303\251' '\001\002\377' \
			'x/\342\202\254/y' 'P\377\377\377\377\010\000\000\000\020\000\000\000\004\000\000\000' 
		m=$((m + 3))
	done
	for w in spin calls recurse grow abortlen abort logbad wrap trap baddec badkey nonhex; do
		seed "p${pol}-${w}-unpwd" "$pol" 0 2 c "$w-user" pw t ''
		seed "p${pol}-${w}-acl" "$pol" 1 2 c good pw "$w/x" p
		seed "p${pol}-${w}-psk" "$pol" $((2 | 0x20)) 2 c "$w-id" pw hint ''
		m=$((m + 3))
	done
	seed "p${pol}-topic-65535" "$pol" 1 $((2 | 1 << 6)) c u p abc ''
	seed "p${pol}-topic-65536" "$pol" 1 $((2 | 2 << 6)) c u p abc ''
	seed "p${pol}-payload-cap" "$pol" 1 $((2 | 3 << 6)) c u p abc ''
	m=$((m + 3))
done
rm -rf "$final_gate" "$final_hook"
mv "$gate" "$final_gate"
mv "$hook" "$final_hook"
chmod 755 "$final_gate" "$final_hook"
echo "fuzz seeds: $n gate modules in $final_gate, $m hook requests in $final_hook"
