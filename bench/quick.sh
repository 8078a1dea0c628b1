#!/bin/sh
# make bench-quick: the in-process harness alone, for policy P as (1) the default policy (with
# acl_file semantics: SUBSCRIBE is not checked), (2) the hand-written AssemblyScript example and
# (3) the native C plugin. Last line:
#   acl_check_ns=<median (1)> example_ns=<median (2)> native_ns=<median (3)>
# Usage: quick.sh INPROC PLUGIN_SO DEFAULT_WASM EXAMPLE_WASM NATIVE_SO DATA_DIR
set -eu
inproc=$1 plugin=$2 default_wasm=$3 example_wasm=$4 native=$5 data=$6
calls=${BENCH_QUICK_CALLS:-1000000}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# wasm_acl_cache=off: the headline is the uncached cost of a policy call (the default policy opts
# in to the decision cache; docs/BENCHMARKS.md "Decision cache" has the cached figures).
"$inproc" -l default --acl-file-subscribe -o wasm_module="$default_wasm" -o wasm_acl_cache=off -o password_file="$data/passwd" \
	-o acl_file="$data/acl" --acl-calls "$calls" --auth-calls 200 "$plugin" | tee -a "$out"
"$inproc" -l example -o wasm_module="$example_wasm" -o wasm_acl_cache=off -o password_file="$data/passwd" \
	--acl-calls "$calls" --auth-calls 200 "$plugin" | tee -a "$out"
"$inproc" -l native -o password_file="$data/passwd" \
	--acl-calls "$calls" --auth-calls 200 "$native" | tee -a "$out"

# median_ns of the "acl_check" (policy P's request mix) line of one label, rounded.
median() {
	sed -n "s/.*\"label\":\"$1\",\"metric\":\"acl_check\",\"median_ns\":\([0-9.]*\).*/\1/p" "$out" |
		awk '{ printf "%d", $1 + 0.5 }'
}
echo "acl_check_ns=$(median default) example_ns=$(median example) native_ns=$(median native)"
