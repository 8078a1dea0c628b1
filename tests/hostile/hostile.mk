# The hostile-module suite (tests/hostile/): every case through a real broker and through the
# Node host.
#   make test-hostile          the suite (part of make test)
#   make hostile-modules       only build the fixtures and generate the big/malformed modules
.PHONY: test-hostile hostile-modules

HOSTILE_DIR      ?= $(BUILD)/hostile
HOSTILE_WATS     := $(wildcard tests/hostile/fixtures/*.wat)
HOSTILE_FIXTURES := $(HOSTILE_WATS:tests/hostile/fixtures/%.wat=$(HOSTILE_DIR)/%.wasm)
HOSTILE_GEN_DIR  := $(HOSTILE_DIR)/gen
HOSTILE_JS       := $(BUILD)/js/tests/hostile

$(HOSTILE_DIR)/%.wasm: tests/hostile/fixtures/%.wat
	@mkdir -p $(@D)
	wat2wasm $< -o $@

# The generated modules (8 MiB module, 100k functions, malformed sections...) are written again
# by the tests themselves; this copy feeds the fuzzers' seed corpus.
$(HOSTILE_DIR)/.stamp: $(HOSTILE_FIXTURES) $(HOST_JS)
	node $(HOSTILE_JS)/generate.js $(HOSTILE_GEN_DIR)
	@touch $@

hostile-modules: $(HOSTILE_DIR)/.stamp

# Files run in parallel (each starts its own brokers); inside a file, cases run one after another.
# The cross-check test also reads the other modules the build makes: build them first.
test-hostile: $(PLUGIN_SO) $(CHECK_BIN) $(WA_CALL_BIN) $(HOST_JS) $(HOSTILE_FIXTURES) \
              $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS) $(FIXTURE_WASMS) $(BUILD)/fuzz/echo.wasm
	$(TEST_ENV) HOSTILE_DIR=$(HOSTILE_DIR) node --test --test-concurrency=$(TEST_CONCURRENCY) $(HOSTILE_JS)/*.test.js

test: test-hostile
