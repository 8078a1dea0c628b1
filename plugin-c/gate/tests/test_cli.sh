#!/bin/sh
# wasm-auth-check as a command: exit codes, the summary line, the refusal line (the same text
# the plugin logs), --meter output. Uses modules test_gate wrote.
#   test_cli.sh CHECK_BIN MODULE_DIR WORK_DIR
set -eu
check=$1 mods=$2 work=$3
fail=0
mkdir -p "$work"

expect() { # expect NAME STATUS PATTERN -- ARGS...
	name=$1 want=$2 pattern=$3
	shift 4
	status=0
	"$check" "$@" >"$work/out" 2>"$work/err" || status=$?
	if [ "$status" != "$want" ] || ! grep -q -- "$pattern" "$work/out" "$work/err"; then
		echo "FAIL $name: exit $status (want $want), output:"; cat "$work/out" "$work/err"
		fail=1
	fi
}

# The same, and the whole output is that one line (errors in scripts and logs stay one line).
expect1() {
	expect "$@"
	if [ "$(cat "$work/out" "$work/err" | wc -l)" != 1 ]; then
		echo "FAIL $1: not one line:"; cat "$work/out" "$work/err"
		fail=1
	fi
}
printf 'not wasm\n' > "$work/not.wasm"

expect accepted 0 "^$mods/policy_ok.wasm: ok: hooks acl_check; 7 functions (1 imported); 1 memory pages; " -- "$mods/policy_ok.wasm"
expect refused 1 "^wasm-auth: cannot load policy $mods/import_unknown.wasm: import section: import mosquitto.foo not allowed: not a host function of this ABI (an SDK newer than this host?); allowed: the host functions listed in docs/ABI.md$" -- "$mods/import_unknown.wasm"
expect mixed 1 "cannot load policy $mods/no_buffer.wasm: " -- "$mods/policy_ok.wasm" "$mods/no_buffer.wasm"
expect validate_only 0 "^$mods/no_buffer.wasm: valid: " -- --validate-only "$mods/no_buffer.wasm"
expect1 missing 1 "^wasm-auth: cannot load policy $work/absent.wasm: No such file or directory$" -- "$work/absent.wasm"
expect directory 1 "^wasm-auth: cannot load policy $work: not a regular file$" -- "$work"
expect too_big 1 "^wasm-auth: cannot load policy $mods/policy_ok.wasm: the module is [0-9]* bytes, above the cap of 100 (wasm_max_module_bytes)$" -- --max-module-bytes 100 "$mods/policy_ok.wasm"
expect cap_option 1 "initial memory of 1 pages exceeds wasm_max_memory_pages 0" -- --max-memory-pages 0 "$mods/policy_ok.wasm"
expect1 usage 2 "^wasm-auth-check: unknown option --no-such-option (wasm-auth-check --help for usage)$" -- --no-such-option "$mods/policy_ok.wasm"
expect1 bad_number 2 "^wasm-auth-check: --max-memory-pages: \"x\" is not a whole number from 0 to 4294967295 (wasm-auth-check --help for usage)$" -- --max-memory-pages x "$mods/policy_ok.wasm"
expect1 no_value 2 "^wasm-auth-check: --max-globals needs a value (wasm-auth-check --help for usage)$" -- --max-globals
expect1 no_file 2 "^wasm-auth-check: no FILE.wasm given (wasm-auth-check --help for usage)$" -- --validate-only
expect1 not_wasm 1 "^wasm-auth: cannot load policy $work/not.wasm: header, offset 0x0: magic header not detected$" -- "$work/not.wasm"
expect1 abi_2 1 "^wasm-auth: cannot load policy $mods/abi_version_constant.wasm: built for ABI 16, this plugin speaks 1 " -- "$mods/abi_version_constant.wasm"
rm -f "$work/metered.wasm"
expect meter 0 ": ok: " -- --meter "$work/metered.wasm" "$mods/policy_ok.wasm"
expect metered_valid 0 ": valid: " -- --validate-only "$work/metered.wasm"
expect metered_reserved 1 "reserved for the host" -- "$work/metered.wasm"
[ "$fail" = 0 ] && echo "test_cli: ok"
exit $fail
