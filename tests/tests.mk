# Integration tests against a real mosquitto, and the shared parity cases (every case through both
# the Node host and wa-call). Included by the top-level Makefile; paths relative to the repo root.
#   make test-integration                 everything below
#   make test-integration TESTS=reload    only build/js/tests/integration/reload.test.js
#   make test-cases                       only the shared parity cases
.PHONY: test-integration test-cases test-fixtures

MOSQUITTO        ?= /usr/sbin/mosquitto
TEST_CONCURRENCY ?= 4
FIXTURE_DIR      := $(BUILD)/fixtures
FIXTURE_WATS     := $(wildcard tests/fixtures/*.wat)
FIXTURE_AS       := $(wildcard tests/fixtures/assembly/*.ts)
FIXTURE_WASMS    := $(FIXTURE_WATS:tests/fixtures/%.wat=$(FIXTURE_DIR)/%.wasm) \
                    $(FIXTURE_AS:tests/fixtures/assembly/%.ts=$(FIXTURE_DIR)/%.wasm)

# ill-typed.wat is invalid on purpose (the gate must refuse it): assemble without checking.
$(FIXTURE_DIR)/ill-typed.wasm: tests/fixtures/ill-typed.wat
	@mkdir -p $(@D)
	wat2wasm --no-check $< -o $@

$(FIXTURE_DIR)/%.wasm: tests/fixtures/%.wat
	@mkdir -p $(@D)
	wat2wasm $< -o $@

# Fixture policies use the raw ABI and never free: the stub runtime keeps them small and simple.
$(FIXTURE_DIR)/%.wasm: tests/fixtures/assembly/%.ts node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(ASC) $< --outFile $@ --runtime stub --optimizeLevel 2

test-fixtures: $(FIXTURE_WASMS)

# The tests are compiled by the root tsconfig together with the SDK host: HOST_JS (sdk.mk) is
# that tsc run, and it depends on every .ts under tests/ too.
INTEGRATION_DEPS := $(PLUGIN_SO) $(WA_CALL_BIN) $(CHECK_BIN) $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS) \
                    $(HOST_JS) $(FIXTURE_WASMS)
TEST_ENV := BUILD=$(BUILD) PLUGIN_SO=$(PLUGIN_SO) WA_CALL_BIN=$(WA_CALL_BIN) CHECK_BIN=$(CHECK_BIN) \
            MOSQUITTO_BIN=$(MOSQUITTO)
# Left for the shell to expand: the files exist only once the prerequisites are built.
INTEGRATION_JS := $(if $(TESTS),$(TESTS:%=$(BUILD)/js/tests/integration/%.test.js),\
                  $(BUILD)/js/tests/integration/*.test.js $(BUILD)/js/tests/cases/cases.test.js)

# Each test file starts its own brokers on their own ports, so files run in parallel; most of
# the time is spent waiting on brokers, not CPU.
test-integration: $(INTEGRATION_DEPS)
	$(TEST_ENV) node --test --test-concurrency=$(TEST_CONCURRENCY) $(INTEGRATION_JS)

test-cases: $(WA_CALL_BIN) $(DEFAULT_POLICY_WASM) $(EXAMPLE_WASMS) $(HOST_JS) $(FIXTURE_WASMS)
	$(TEST_ENV) node --test $(BUILD)/js/tests/cases/cases.test.js

test: test-integration
