# SDK: the AssemblyScript library policies import (sdk/assembly), its as-pect specs, and the Node
# host (sdk/host) that runs a policy .wasm offline with the plugin's ABI and failure semantics.
.PHONY: test-as test-host

HOST_JS        := $(BUILD)/js/.stamp
SDK_AS_SRC     := $(wildcard sdk/assembly/*.ts)
# tsc compiles every TypeScript file tsconfig.json includes (the host, tests/, bench/) in one go.
HOST_TS_SRC    := $(shell find sdk/host tests bench -name '*.ts' -not -path '*/fixtures/*' -not -path '*/assembly/*' 2>/dev/null)
SDK_FIXTURE_DIR := $(BUILD)/sdk-fixtures
SDK_FIXTURES   := $(patsubst sdk/host/test/fixtures/%.ts,$(SDK_FIXTURE_DIR)/%.wasm,$(wildcard sdk/host/test/fixtures/*.ts))
ASP            := $(NODE_BIN)/asp

$(HOST_JS): tsconfig.json node_modules/.package-lock.json $(HOST_TS_SRC)
	$(NODE_BIN)/tsc -p tsconfig.json
	@mkdir -p $(dir $@) && touch $@

# Test policies for the host tests, built like real policies (asconfig.json, release target).
$(SDK_FIXTURE_DIR)/%.wasm: sdk/host/test/fixtures/%.ts $(SDK_AS_SRC) asconfig.json node_modules/.package-lock.json
	@mkdir -p $(dir $@)
	$(ASC) $< --config asconfig.json --target release -o $@

all: $(HOST_JS)

test: test-as test-host

# as-pect specs of the SDK only; policies' specs run in test-policies (ASPECT_SUITES, as-pect.config.js).
test-as: $(HOST_JS)
	ASPECT_SUITES=sdk $(ASP) --config as-pect.config.js --as-config sdk/as-pect.asconfig.json --summary --no-logo

test-host: $(HOST_JS) $(SDK_FIXTURES)
	SDK_FIXTURE_DIR=$(SDK_FIXTURE_DIR) node --test $(BUILD)/js/sdk/host/test/
