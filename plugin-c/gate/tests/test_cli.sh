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

expect accepted 0 "^$mods/policy_ok.wasm: ok: hooks acl_check; 7 functions (1 imported); 1 memory pages; " -- "$mods/policy_ok.wasm"
expect refused 1 "^wasm-auth: cannot load policy $mods/import_unknown.wasm: import section: import mosquitto.foo not allowed: not a host function of this ABI (an SDK newer than this host?); allowed: mosquitto.{topic_matches_sub,log,client_id,client_address,client_protocol_version,pw_verify,option_file_size,option_file_read} env.{abort,trace,seed,Date.now}$" -- "$mods/import_unknown.wasm"
expect mixed 1 "cannot load policy $mods/no_buffer.wasm: " -- "$mods/policy_ok.wasm" "$mods/no_buffer.wasm"
expect validate_only 0 "^$mods/no_buffer.wasm: valid: " -- --validate-only "$mods/no_buffer.wasm"
expect missing 1 "^wasm-auth: cannot load policy $work/absent.wasm: No such file or directory$" -- "$work/absent.wasm"
expect directory 1 "^wasm-auth: cannot load policy $work: not a regular file$" -- "$work"
expect too_big 1 "^wasm-auth: cannot load policy $mods/policy_ok.wasm: the module is [0-9]* bytes, above the cap of 100 (wasm_max_module_bytes)$" -- --max-module-bytes 100 "$mods/policy_ok.wasm"
expect cap_option 1 "initial memory of 1 pages exceeds wasm_max_memory_pages 0" -- --max-memory-pages 0 "$mods/policy_ok.wasm"
expect usage 2 "usage: wasm-auth-check" -- --no-such-option "$mods/policy_ok.wasm"
rm -f "$work/metered.wasm"
expect meter 0 ": ok: " -- --meter "$work/metered.wasm" "$mods/policy_ok.wasm"
expect metered_valid 0 ": valid: " -- --validate-only "$work/metered.wasm"
expect metered_reserved 1 "reserved for the host" -- "$work/metered.wasm"
[ "$fail" = 0 ] && echo "test_cli: ok"
exit $fail
