#!/bin/sh
# make bench-ir: callgrind instructions (Ir) per call for the in-process harness, the exact and
# repeatable view of the hot path (docs/BENCHMARKS.md, "Availability: what it costs"). Ir per acl_check include
# the harness loop (~22 Ir); the last line is the whole process's Ir for loading the default
# policy module alone (read, gate, metering, wasm3 load, start). The pyauth_* lines are the seed
# plugin, mosquitto_pyauth, running P in Python (bench/pyauth_policy_p.py) through its v4 entry
# points, built by ../shared/anchors/build-pyauth.sh (PYAUTH_SCRIPT overrides the path); when that
# is absent or fails, one line "pyauth skipped: REASON" stands for them.
# Usage: ir_table.sh BUILD_DIR [DATA_DIR]   BUILD_DIR: a checkout's build/ after `make all
# bench-tools`; DATA_DIR: policy P's files (default BUILD_DIR/bench/data), so two checkouts can be
# compared on the same data.
set -eu
b=$1
data=${2:-$b/bench/data}
here=$(cd "$(dirname "$0")" && pwd)
pyauth_script=${PYAUTH_SCRIPT:-$here/../../shared/anchors/build-pyauth.sh}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# name, the plugin, then the harness options for one configuration: prints "name Ir-per-call".
ir_of() {
	name=$1
	plugin=$2
	shift 2
	valgrind --tool=callgrind --collect-atstart=no --toggle-collect=inproc_measured \
		--callgrind-out-file="$out" "$b/bench/inproc" -l x --callgrind --acl-calls 12000 --auth-calls 0 \
		"$@" "$plugin" >/dev/null 2>&1 || return 1
	echo "$name $(($(sed -n 's/^totals: *//p' "$out") / 12000))"
}

# This project's plugin. Under valgrind a policy's init outlasts the default lifecycle time limit;
# the limit's value does not change the code path.
ir() {
	name=$1
	shift
	ir_of "$name" "$b/mosquitto_wasm_auth.so" -o wasm_timeout_ms=3600000 "$@"
}

default="-o wasm_module=$b/policies/default.wasm --acl-file-subscribe -o acl_file=$data/acl -o password_file=$data/passwd"
users="-o wasm_module=$b/examples/static-users.wasm -o password_file=$data/passwd -o wasm_acl_cache=off"
ir allow_all --no-verify -o wasm_module="$b/bench/allow-all.wasm"
# shellcheck disable=SC2086 # the option lists are split on purpose
{
	ir default_mix $default -o wasm_acl_cache=off
	ir default_L $default -o wasm_acl_cache=off --load-pair
	ir default_L_cache_on $default -o wasm_acl_cache=on -o wasm_acl_grants=off --load-pair
	ir default_L_grants $default -o wasm_acl_cache=on --load-pair
	ir default_cache_hit $default -o wasm_acl_cache=on -o wasm_acl_grants=off
	ir default_grants $default -o wasm_acl_cache=on
	ir default_W2_cache_off $default -o wasm_acl_cache=off --topics 100
	ir default_W2_cache_on $default -o wasm_acl_cache=on -o wasm_acl_grants=off --topics 100
	ir default_W2_grants $default -o wasm_acl_cache=on --topics 100
	ir default_W3_cache_off $default -o wasm_acl_cache=off --workload W3
	ir default_W3_cache_on $default -o wasm_acl_cache=on -o wasm_acl_grants=off --workload W3
	ir default_W3_grants $default -o wasm_acl_cache=on --workload W3
	ir default_W4_cache_off $default -o wasm_acl_cache=off --workload W4
	ir default_W4_cache_on $default -o wasm_acl_cache=on -o wasm_acl_grants=off --workload W4
	ir default_W4_grants $default -o wasm_acl_cache=on --workload W4
	ir static_users_mix $users
	ir static_users_L $users --load-pair
	ir static_users_W2_grants $users -o wasm_acl_cache=on --topics 100
}
ir policy_p_mix -o wasm_module="$b/bench/policy-p.wasm" -o password_file="$data/passwd"
valgrind --tool=callgrind --callgrind-out-file="$out" "$b/bench/inproc" -l x --acl-calls 0 --auth-calls 0 \
	-o wasm_module="$b/policies/default.wasm" "$b/mosquitto_wasm_auth.so" >/dev/null 2>&1
echo "init_default_module_process $(sed -n 's/^totals: *//p' "$out")"

if [ ! -f "$pyauth_script" ]; then
	echo "pyauth skipped: $pyauth_script not found"
elif ! log=$(bash "$pyauth_script" "$b/bench/pyauth" 2>&1); then
	echo "pyauth skipped: $pyauth_script failed: $(printf '%s\n' "$log" | tail -n 1)"
else
	py="-o pyauth_module=pyauth_policy_p -o password_file=$data/passwd"
	# shellcheck disable=SC2086 # the option list is split on purpose
	if ! (
		export PYTHONPATH="$here"
		ir_of pyauth_mix "$b/bench/pyauth/auth_plugin_pyauth.so" $py &&
			ir_of pyauth_L "$b/bench/pyauth/auth_plugin_pyauth.so" $py --load-pair
	); then
		echo "pyauth skipped: $b/bench/inproc could not run $b/bench/pyauth/auth_plugin_pyauth.so"
	fi
fi
