#!/usr/bin/env bash
# Cross-checks the gate against wabt: every file under the given directories (not recursive;
# any name: fuzz corpus entries have none) or given as a file goes through
# `wasm-auth-check --validate-only` and `wasm-validate` with the gate's feature profile (MVP +
# mutable-globals, sign-extension, nontrapping-f2i, bulk-memory, multi-value: wabt's defaults
# minus reference types and SIMD). A disagreement is a bug in one of them, with two exceptions
# that are reported but do not fail:
#   - the gate refuses with "implementation limit" (its nesting and locals caps, on purpose);
#   - wabt 1.0.32's known gaps, where the spec is on the gate's side: data segment flags 3,
#     externref element segments with reference types disabled (see tests/conformance/run.ts),
#     an empty constant expression as a segment offset (the spec suite's elem.wast and
#     data.wast assert it invalid; wabt accepts it), and a data count section with a non-zero
#     count but no data section (the binary format requires the count to equal the number of
#     segments, 0 without a data section; wabt checks the count only when a data section follows),
#     and a function body whose last `end` closes a nested block instead of the function (wabt
#     checks only that the body's last opcode is `end`, not that every block was closed);
#   - a module wabt refuses only for the contents of a custom section (it parses the name section
#     and others; the spec leaves their errors to be ignored, and so does the gate): wabt accepts
#     it once `wasm-strip` has removed the custom sections.
# Then every module the gate accepts is metered (`--meter`) and the metered module must pass
# wasm-validate as well.
# Usage: crosscheck.sh WASM_AUTH_CHECK DIR_OR_FILE...   Exit 0 = agreement, 1 = disagreements.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 WASM_AUTH_CHECK DIR_OR_FILE..." >&2
	exit 2
fi
check=$1
shift
profile=(--disable-reference-types --disable-simd)
command -v wasm-validate >/dev/null || { echo "crosscheck: wasm-validate not found (apt-get install wabt)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

: > "$tmp/files"
for arg in "$@"; do
	if [ -d "$arg" ]; then
		find "$arg" -maxdepth 1 -type f ! -name '.*' -print0 >> "$tmp/files"
	elif [ -f "$arg" ]; then
		printf '%s\0' "$arg" >> "$tmp/files"
	fi
done
total=$(tr -cd '\0' < "$tmp/files" | wc -c)
if [ "$total" -eq 0 ]; then
	echo "crosscheck: no modules found in $*"
	exit 0
fi

# The gate: one process per batch; one line per file on stdout (accepted) or stderr (refused).
xargs -0 -n 256 "$check" --validate-only -- < "$tmp/files" > "$tmp/gate.out" 2> "$tmp/gate.err" || true
# wabt: one process per file, two at a time; "rc<TAB>path<TAB>first error line".
export tmp
# rc 3: refused for a custom section only (valid without them).
xargs -0 -P 2 -I{} sh -c '
	if msg=$(wasm-validate '"${profile[*]}"' "$1" 2>&1 >/dev/null); then
		printf "0\t%s\t\n" "$1"
	elif wasm-strip -o "$tmp/s.$$.wasm" "$1" 2>/dev/null && wasm-validate '"${profile[*]}"' "$tmp/s.$$.wasm" >/dev/null 2>&1; then
		printf "3\t%s\t%s\n" "$1" "$(printf "%s" "$msg" | head -n 1)"
	else
		printf "1\t%s\t%s\n" "$1" "$(printf "%s" "$msg" | head -n 1)"
	fi
	rm -f "$tmp/s.$$.wasm"' _ {} < "$tmp/files" > "$tmp/wabt.out"

awk -F'\t' -v gate_out="$tmp/gate.out" -v gate_err="$tmp/gate.err" '
	BEGIN {
		while ((getline line < gate_out) > 0) {
			i = index(line, ": valid: ")
			if (i) gate[substr(line, 1, i - 1)] = "ok"
		}
		prefix = "wasm-auth: cannot load policy "
		while ((getline line < gate_err) > 0) {
			if (index(line, prefix) != 1) continue
			rest = substr(line, length(prefix) + 1)
			i = index(rest, ": ")
			if (!i) continue
			gate[substr(rest, 1, i - 1)] = "no"
			why[substr(rest, 1, i - 1)] = substr(rest, i + 2)
		}
	}
	{
		path = $2
		wabt = ($1 == 0) ? "ok" : "no"
		if ($1 == 3 && gate[path] == "ok") { known++; custom++; next }
		if (!(path in gate)) {
			printf "NO VERDICT  %s: wasm-auth-check printed nothing for it\n", path
			bad++
			next
		}
		if (gate[path] == wabt) { agree++; next }
		if (gate[path] == "no" && why[path] ~ /implementation limit/) { limit++; next }
		if (gate[path] == "no" && why[path] ~ /malformed data segment kind|reference types \(externref segment\)|empty constant expression|data count and data section have inconsistent lengths|unexpected end of function body \(END opcode expected\)/) {
			known++
			next
		}
		bad++
		if (gate[path] == "ok") printf "DISAGREE    %s: gate accepts, wasm-validate rejects: %s\n", path, $3
		else printf "DISAGREE    %s: gate rejects (%s), wasm-validate accepts\n", path, why[path]
	}
	END {
		printf "crosscheck: %d modules: %d agree, %d gate-only implementation limits, %d known wabt gaps, %d disagreements\n", \
			NR, agree, limit, known, bad
		if (custom) printf "crosscheck: %d of the known wabt gaps refused only for a custom section\n", custom
		exit bad > 0 ? 1 : 0
	}' "$tmp/wabt.out" && status=0 || status=1

# The metered copies: every module the gate accepts is rewritten by wa_gate_meter (that is what
# the plugin runs), and wabt must find each rewrite valid too. Metering may refuse only a module
# that already exports the fuel global's reserved name.
grep ': valid: ' "$tmp/gate.out" | sed 's/: valid: .*//' | tr '\n' '\0' > "$tmp/accepted" || true
mkdir "$tmp/m"
xargs -0 -P 2 -I{} sh -c '
	out="$2/m/$(printf "%s" "$1" | md5sum | cut -c1-16).wasm"
	if ! err=$("$3" --validate-only --meter "$out" -- "$1" 2>&1 >/dev/null); then
		case "$err" in *"already exports __wasm_auth_fuel"*) exit 0 ;; esac
		printf "METER FAIL  %s: %s\n" "$1" "$err"
		exit 0
	fi
	if ! msg=$(wasm-validate '"${profile[*]}"' "$out" 2>&1 >/dev/null); then
		printf "METER BAD   %s: wasm-validate refuses the metered module: %s\n" "$1" "$(printf "%s" "$msg" | head -n 1)"
	fi
	rm -f "$out"' _ {} "$tmp" "$check" < "$tmp/accepted" > "$tmp/meter.out"
metered=$(tr -cd '\0' < "$tmp/accepted" | wc -c)
meter_bad=$(wc -l < "$tmp/meter.out")
cat "$tmp/meter.out"
echo "crosscheck: $metered metered modules: $((metered - meter_bad)) valid for wasm-validate, $meter_bad problems"
[ "$meter_bad" -eq 0 ] || status=1
exit "$status"
