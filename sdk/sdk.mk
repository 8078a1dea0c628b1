# SDK: the AssemblyScript library policies import (sdk/assembly), its as-pect specs, and the Node
# host (sdk/host) that runs a policy .wasm offline with the plugin's ABI and failure semantics.
#   make test-as     as-pect specs of the SDK (sdk/assembly/__tests__)
#   make test-host   node:test tests of the Node host (sdk/host/test), incl. parity with the C side
#   make test-transform  the asc transform that checks hook signatures (sdk/transform), on wrong
#                    and right policies (tests/transform)
.PHONY: test-as test-host test-transform

HOST_JS         := $(BUILD)/js/.stamp
# The Node host alone (sdk/host/tsconfig.json): what the SDK's own tests need, so they do not
# depend on the rest of the tree compiling.
SDK_HOST_JS     := $(BUILD)/js/.sdk-host.stamp
SDK_HOST_SRC    := $(shell find sdk/host -name '*.ts' -not -path '*/fixtures/*' 2>/dev/null)
SDK_AS_SRC      := $(wildcard sdk/assembly/*.ts)
# tsc compiles every TypeScript file tsconfig.json includes (the host, tests/, bench/) in one go.
HOST_TS_SRC     := $(shell find sdk/host tests bench -name '*.ts' -not -path '*/fixtures/*' -not -path '*/assembly/*' 2>/dev/null)
SDK_FIXTURE_DIR := $(BUILD)/sdk-fixtures
SDK_FIXTURES    := $(patsubst sdk/host/test/fixtures/%.ts,$(SDK_FIXTURE_DIR)/%.wasm,$(wildcard sdk/host/test/fixtures/*.ts))
SDK_ORACLE      := $(SDK_FIXTURE_DIR)/topic-oracle
ASP             := $(NODE_BIN)/asp
# The asc transform (sdk/transform) that checks hook signatures; every policy built with
# POLICY_ASC_FLAGS loads it. Given on the command line, not in asconfig.json: asc reads
# asconfig.json from the current directory even without --config, and resolves a relative
# "transform" entry in it to a bare module name (not found) unless the config's path is absolute.
# The raw-ABI fixtures (tests/fixtures/assembly, plugin-c/tests/fixtures) are built without it.
SDK_TRANSFORM_JS  := $(BUILD)/js/.sdk-transform.stamp
SDK_TRANSFORM_SRC := $(wildcard sdk/transform/*.ts)
ASC_TRANSFORM     := --transform $(abspath $(BUILD))/js/sdk/transform/index.js

$(HOST_JS): tsconfig.json node_modules/.package-lock.json $(HOST_TS_SRC)
	$(NODE_BIN)/tsc -p tsconfig.json
	@mkdir -p $(dir $@) && touch $@

$(SDK_HOST_JS): tsconfig.json sdk/host/tsconfig.json node_modules/.package-lock.json $(SDK_HOST_SRC)
	$(NODE_BIN)/tsc -p sdk/host/tsconfig.json
	@mkdir -p $(dir $@) && touch $@

$(SDK_TRANSFORM_JS): tsconfig.json sdk/transform/tsconfig.json node_modules/.package-lock.json $(SDK_TRANSFORM_SRC)
	$(NODE_BIN)/tsc -p sdk/transform/tsconfig.json
	@mkdir -p $(dir $@) && touch $@

# Test policies for the host tests, built like real policies (asconfig.json, release target).
$(SDK_FIXTURE_DIR)/%.wasm: sdk/host/test/fixtures/%.ts $(SDK_AS_SRC) asconfig.json $(SDK_TRANSFORM_JS) node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	$(ASC) $< --config asconfig.json --target release $(ASC_TRANSFORM) -o $@

# The gate's bulk-instruction fixtures (plugin-c/gate/tests/*.wat), for fuel.test.ts.
SDK_WAT_FIXTURES := $(SDK_FIXTURE_DIR)/bulk.wasm $(SDK_FIXTURE_DIR)/bulk_table.wasm
$(SDK_WAT_FIXTURES): $(SDK_FIXTURE_DIR)/%.wasm: plugin-c/gate/tests/%.wat
	@mkdir -p $(dir $@)
	wat2wasm $< -o $@

# libmosquitto's own topic matching, the reference for the topic tests.
$(SDK_ORACLE): sdk/host/test/topic_oracle.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -o $@ $< -lmosquitto

all: $(HOST_JS) $(SDK_HOST_JS) $(SDK_TRANSFORM_JS)

test: test-as test-host test-transform

# as-pect specs of the SDK only; policies' specs run in test-policies (ASPECT_SUITES, as-pect.config.js).
test-as: $(SDK_HOST_JS)
	ASPECT_SUITES=sdk $(ASP) --config as-pect.config.js --as-config sdk/as-pect.asconfig.json --summary --no-logo

# wa-call and wasm-auth-check are prerequisites so the parity tests run instead of skipping.
test-host: $(SDK_HOST_JS) $(SDK_FIXTURES) $(SDK_WAT_FIXTURES) $(SDK_ORACLE) $(WA_CALL_BIN) $(CHECK_BIN)
	SDK_FIXTURE_DIR=$(SDK_FIXTURE_DIR) WA_CALL_BIN=$(WA_CALL_BIN) CHECK_BIN=$(CHECK_BIN) \
		node --test $(BUILD)/js/sdk/host/test/*.test.js

# Compiles tests/transform/assembly/*.ts with asc and asconfig.json, and loads the transform the
# ways an installed SDK offers it.
test-transform: $(SDK_TRANSFORM_JS) $(HOST_JS)
	node --test $(BUILD)/js/tests/transform/

# The gate compiled to WebAssembly, which the Node host runs (GATE_WASM).
include sdk/host/gate.mk
