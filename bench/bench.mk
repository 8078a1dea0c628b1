# Benchmarks (docs/BENCHMARKS.md). Not part of `make test`.
#   make bench-quick   in-process harness only (< 60 s); last line:
#                      acl_check_ns=<default policy> example_ns=<hand-written AS> native_ns=<native C>
#   make bench         everything: in-process, callgrind, broker CPU (interleaved rounds),
#                      load/reload/RSS/size, the workloads W1-W4 (as make bench-workloads), the
#                      scale rows (as make bench-scale); prints a table, writes
#                      $(BENCH_DIR)/results.json and $(BENCH_DIR)/benchmarks.svg. Several minutes
#                      plus the two stages named (--skip workloads,scale leaves them out).
#   make bench BENCH_ARGS="--rounds 5 --msgs 400000 --cg-msgs 20000 --skip broker-callgrind"
#                      (an example; defaults and all flags: parseArgs in bench/run.ts)
#                      make bench and make bench-ir have rows for the seed pyauth when
#                      ../shared/anchors/build-pyauth.sh builds it ("pyauth skipped: REASON"
#                      otherwise); make bench also a table of it against the default policy.
#   make bench-workloads  broker workloads W1-W4 alone (docs/BENCHMARKS.md "Workloads"): marginal
#                      callgrind Ir per message and per ACL check for every configuration of P,
#                      the seed pyauth included when ../shared/anchors/build-pyauth.sh builds it;
#                      writes $(BENCH_DIR)/workloads.md and .json (~10 min). make bench runs them
#                      too (--skip workloads leaves them out). BENCH_WL_ARGS="--workloads W2,W4
#                      --wl-scale 2" selects workloads and multiplies their message counts.
#   make bench-scale   load time and RSS added of a real broker with 10,000, 100,000 and 1,000,000
#                      users (2 topic rules each): password_file + acl_file, dynamic-security, the
#                      default policy at the default caps and, at 1,000,000 users, at raised caps
#                      (docs/BENCHMARKS.md "Scale"); data generated once into
#                      $(BENCH_DIR)/scale/N/; writes $(BENCH_DIR)/scale.md and .json (~6 min, half
#                      of it at 1,000,000 users). BENCH_SCALE_ARGS="--users 10000,100000 --runs 1
#                      --timeout-s 60" or "--users 1000000 --configs wasm,wasm_caps
#                      --opt 1000000:wasm_max_memory_pages=1920" (flags: SCALE_USAGE in bench/scale.ts,
#                      or node build/js/bench/scale.js --help); make bench passes the same variable.
#   make bench-ir      callgrind Ir per call for the in-process configurations (exact, ~1 min)
#   make bench-reload  a bystander's slowest publish round trip (QoS 1, back to back) while a real
#                      broker reloads the default policy on SIGHUP, 10,000 and 100,000 users, 3 runs
#                      (~2 min); prints a markdown table (docs/BENCHMARKS.md "Reload under load").
#   make bench-login   logins (argon2id hashes) with wasm_login_thread off and on, on a real
#                      mosquitto 2.1 broker: login latency and a bystander's slowest round trip
#                      and a reload with those sessions connected (~1 min; docs/BENCHMARKS.md
#                      "Login thread")
#   make bench-json    JSON in a policy: the SDK's reader, assemblyscript-json and json-as (~1 min)
#   make bench-reload BENCH_RELOAD_ARGS="--base-build /path/to/previous/build"
#                      adds "before" rows: the plugin and default.wasm of another build tree (same
#                      layout: DIR/mosquitto_wasm_auth.so, DIR/policies/default.wasm). Without it
#                      (the default) only this build is measured. Other flags (--users 10000,
#                      --runs 5, --opt 100000:wasm_max_memory_pages=4096, ...): usage in bench/reload.ts
.PHONY: bench bench-quick bench-tools bench-ir bench-gate-v8 bench-reload bench-workloads bench-scale bench-login

DEFAULT_POLICY_WASM ?= $(BUILD)/policies/default.wasm
BENCH_DIR      := $(BUILD)/bench
BENCH_CFLAGS   := -std=c11 -Wall -Wextra -Werror -O2 -g
BENCH_INPROC   := $(BENCH_DIR)/inproc
BENCH_LOAD     := $(BENCH_DIR)/load
BENCH_WORKLOAD := $(BENCH_DIR)/workload
BENCH_NATIVE   := $(BENCH_DIR)/native_p.so
BENCH_GEN      := $(BENCH_DIR)/gen_data
BENCH_DATA     := $(BENCH_DIR)/data/passwd
BENCH_POLICY_P := $(BENCH_DIR)/policy-p.wasm
# In-process extras: P with the SDK's topic helpers, and allow-all (the plugin's fixed cost).
BENCH_EXTRA_WASMS := $(BENCH_DIR)/policy-p-sdk.wasm $(BENCH_DIR)/allow-all.wasm
BENCH_BIG      := $(BENCH_DIR)/big-policy.wasm
# Policy P as the hand-written AssemblyScript example (2): examples/static-users, which users copy
# (word-wise compares). $(BENCH_POLICY_P) is the same policy written byte by byte (an extra row).
BENCH_EXAMPLE_WASM ?= $(BUILD)/examples/static-users.wasm
BENCH_ARGS     ?=
BENCH_SCALE_ARGS ?=

# The harness defines the broker's functions itself (-rdynamic exports them to the plugin);
# libmosquitto supplies the topic helpers the broker also exports, so it must stay linked even
# though the harness calls none of them.
$(BENCH_INPROC): bench/inproc.c bench/broker_stub.c bench/broker_stub.h bench/zipf.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -rdynamic -o $@ bench/inproc.c bench/broker_stub.c \
		-Wl,--no-as-needed -lmosquitto -Wl,--as-needed -lcrypto -ldl -lm

$(BENCH_NATIVE): bench/native_plugin.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -fPIC -shared -o $@ $< -lcrypto

$(BENCH_LOAD): bench/load.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lmosquitto -lpthread

$(BENCH_WORKLOAD): bench/workload.c bench/zipf.h
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lmosquitto -lm

$(BENCH_GEN): bench/gen_data.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -lcrypto

$(BENCH_DATA): $(BENCH_GEN)
	@mkdir -p $(@D)
	$(BENCH_GEN) $(@D)

$(BENCH_DIR)/%.wasm: bench/assembly/%.ts $(wildcard bench/assembly/*.ts sdk/assembly/*.ts) asconfig.json $(SDK_TRANSFORM_JS) node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(ASC) $< $(POLICY_ASC_FLAGS) -o $@

$(BENCH_BIG): bench/gen_big_policy.sh
	@mkdir -p $(@D)
	bench/gen_big_policy.sh $@

bench-tools: $(BENCH_INPROC) $(BENCH_NATIVE) $(BENCH_LOAD) $(BENCH_WORKLOAD) $(BENCH_DATA) $(BENCH_POLICY_P) $(BENCH_BIG) \
             $(BENCH_EXTRA_WASMS)

bench-quick: $(BENCH_INPROC) $(BENCH_NATIVE) $(BENCH_DATA) $(BENCH_EXAMPLE_WASM) $(PLUGIN_SO) $(DEFAULT_POLICY_WASM)
	@bench/quick.sh $(BENCH_INPROC) $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(BENCH_EXAMPLE_WASM) \
		$(BENCH_NATIVE) $(BENCH_DIR)/data

bench: bench-tools $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(BENCH_EXAMPLE_WASM) $(HOST_JS)
	node $(BUILD)/js/bench/run.js --build $(BUILD) --plugin $(PLUGIN_SO) \
		--default-wasm $(DEFAULT_POLICY_WASM) --example-wasm $(BENCH_EXAMPLE_WASM) \
		--scale-args "$(BENCH_SCALE_ARGS)" $(BENCH_ARGS)

BENCH_WL_ARGS ?=

bench-workloads: $(BENCH_WORKLOAD) $(BENCH_NATIVE) $(BENCH_DATA) $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(HOST_JS)
	node $(BUILD)/js/bench/run.js --only-workloads --build $(BUILD) --plugin $(PLUGIN_SO) \
		--default-wasm $(DEFAULT_POLICY_WASM) $(BENCH_WL_ARGS)

bench-ir: bench-tools $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(BENCH_EXAMPLE_WASM)
	@bench/ir_table.sh $(BUILD)

# V8's side of the calibration of the bulk instructions' prices (bench/bulk-v8.ts); make
# bench-gate (plugin-c/gate/gate.mk) runs wasm3's and this.
bench-gate-v8: $(HOST_JS) $(GATE_WASM_JS) $(GATE_BULK_WASM)
	node $(BUILD)/js/bench/bulk-v8.js $(GATE_BULK_WASM)

bench-gate: bench-gate-v8

bench-scale: $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(HOST_JS)
	node $(BUILD)/js/bench/scale.js --build $(BUILD) --plugin $(PLUGIN_SO) \
		--default-wasm $(DEFAULT_POLICY_WASM) $(BENCH_SCALE_ARGS)

BENCH_RELOAD_ARGS ?=

bench-reload: $(PLUGIN_SO) $(DEFAULT_POLICY_WASM) $(HOST_JS)
	node $(BUILD)/js/bench/reload.js --build $(BUILD) --plugin $(PLUGIN_SO) \
		--default-wasm $(DEFAULT_POLICY_WASM) $(BENCH_RELOAD_ARGS)

# Logins with wasm_login_thread off and on, on a real mosquitto 2.1 broker with argon2id hashes
# (docs/BENCHMARKS.md "Login thread"; ~1 min). BENCH_LOGIN_ARGS="--logins 40".
bench-login: $(PLUGIN_SO_21) $(MOSQ21_STAMP) $(DEFAULT_POLICY_WASM) $(HOST_JS)
	MOSQUITTO_BIN=$(abspath $(MOSQ21_BIN)) node $(BUILD)/js/bench/login-latency.js --plugin $(abspath $(PLUGIN_SO_21)) \
		--default-wasm $(abspath $(DEFAULT_POLICY_WASM)) $(BENCH_LOGIN_ARGS)

# JSON in a policy: the SDK's reader against assemblyscript-json and json-as (installed into a
# temporary directory for the run; needs the npm registry); docs/BENCHMARKS.md "JSON data files".
.PHONY: bench-json
bench-json: $(HOST_JS) $(WA_CALL_BIN) $(CHECK_BIN)
	node $(BUILD)/js/bench/json.js
