# The default policy (assembly/): mosquitto's password_file + acl_file as a wasm policy, its
# tests, and `make run`. Included by the top-level Makefile; paths relative to the repo root.
#   make test-policies      as-pect specs of assembly/ and examples/, then the .wasm-level tests
#                           (tests/policies/*.test.ts) through the Node host
#   make run                a broker on 127.0.0.1:$(RUN_PORT) enforcing the default policy
.PHONY: test-policies run

DEFAULT_POLICY_WASM := $(BUILD)/policies/default.wasm
POLICY_AS_SRC       := $(wildcard assembly/*.ts assembly/load/*.ts assembly/check/*.ts)
# Every policy build depends on the SDK sources it compiles in.
POLICY_SDK_SRC      := $(wildcard sdk/assembly/*.ts)
# asconfig.json's release target: -O3, incremental runtime (frees on reload; the hot path never
# allocates, so the collector never runs there), assertions kept; the hook-signature transform.
POLICY_ASC_FLAGS    := --config asconfig.json --target release $(ASC_TRANSFORM)

$(DEFAULT_POLICY_WASM): $(POLICY_AS_SRC) $(POLICY_SDK_SRC) asconfig.json $(SDK_TRANSFORM_JS) node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(ASC) assembly/index.ts $(POLICY_ASC_FLAGS) -o $@

all: $(DEFAULT_POLICY_WASM)

test: test-policies

# examples/examples.mk adds $(EXAMPLE_WASMS) to the prerequisites.
# plugin-c's test_grants compares the default policy's and static-users' grants with their acl_check.
test-c: $(DEFAULT_POLICY_WASM) $(BUILD)/examples/static-users.wasm

test-policies: $(HOST_JS) $(DEFAULT_POLICY_WASM)
	ASPECT_SUITES=policies,examples $(NODE_BIN)/asp --config as-pect.config.js \
		--as-config sdk/as-pect.asconfig.json --summary --no-logo
	BUILD=$(BUILD) DEFAULT_POLICY_WASM=$(DEFAULT_POLICY_WASM) node --test $(BUILD)/js/tests/policies/

# --- make run ----------------------------------------------------------------------------------
RUN_PORT ?= 1883
RUN_DIR  ?= $(BUILD)/run

run: $(PLUGIN_SO) $(DEFAULT_POLICY_WASM)
	assembly/run/run.sh "$(RUN_DIR)" "$(RUN_PORT)" "$(abspath $(PLUGIN_SO))" "$(abspath $(DEFAULT_POLICY_WASM))"
