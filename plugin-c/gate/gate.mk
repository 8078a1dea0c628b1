# The module gate (plugin-c/gate/): validator, ABI rules, fuel metering, and wasm-auth-check.
# GATE_OBJS is what the runtime's static archive must contain (plugin.mk's archives name it);
# CHECK_BIN is the gate as a command.
#   make test-gate    unit tests (ASan/UBSan), metering run in wasm3, the CLI, and the spec
#                     conformance suite (WASM_TESTSUITE, skipped with a message when absent)
#   make bench-gate   metering overhead in wasm3 (ns per loop iteration and per call), and the
#                     calibration of the bulk instructions' prices (ns per unit of fuel)
.PHONY: test-gate install-check gate bench-gate

GATE_DIR    := plugin-c/gate
GATE_BUILD  := $(BUILD)/gate
GATE_SRCS   := $(addprefix $(GATE_DIR)/,reader.c module.c body.c rules.c explain.c gate.c meter.c)
GATE_OBJS   := $(patsubst $(GATE_DIR)/%.c,$(GATE_BUILD)/%.o,$(GATE_SRCS))
GATE_HDRS   := $(GATE_DIR)/gate.h $(GATE_DIR)/gate_internal.h plugin-c/runtime/abi.h plugin-c/runtime/wa_limits.h
# No -I: headers are included by relative path.
GATE_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -fvisibility=hidden
CHECK_BIN   := $(BUILD)/bin/wasm-auth-check

all: $(CHECK_BIN)
gate: $(CHECK_BIN)

$(GATE_BUILD)/%.o: $(GATE_DIR)/%.c $(GATE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(GATE_BUILD)/abi.o: plugin-c/runtime/abi.c plugin-c/runtime/abi.h plugin-c/runtime/wa_limits.h
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

# The command itself lives with the other tools (plugin-c/tools/).
$(GATE_BUILD)/check_main.o: plugin-c/tools/check_main.c $(GATE_HDRS) plugin-c/runtime/module_file.h
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(GATE_BUILD)/module_file.o: plugin-c/runtime/module_file.c plugin-c/runtime/module_file.h
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(CHECK_BIN): $(GATE_BUILD)/check_main.o $(GATE_BUILD)/module_file.o $(GATE_OBJS) $(GATE_BUILD)/abi.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

install: install-check
install-check: $(CHECK_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(CHECK_BIN) $(DESTDIR)$(PREFIX)/bin/wasm-auth-check
	$(STRIP) --strip-unneeded --remove-section=.comment $(DESTDIR)$(PREFIX)/bin/wasm-auth-check

# --- tests ---------------------------------------------------------------------------------------
WASM_TESTSUITE ?= ../shared/wasm-testsuite
GATE_TEST_DIR  := $(BUILD)/gate-tests
GATE_TEST_SRC  := plugin-c/gate/tests
GATE_SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# The conformance runner is TypeScript. tsc (project config) builds it into build/js with
# everything else; this compiles just that file too, so test-gate does not depend on the rest
# of the project's TypeScript compiling.
GATE_CONFORMANCE_TS := tests/conformance/run.ts
GATE_CONFORMANCE_JS := $(GATE_TEST_DIR)/js/run.js

$(GATE_CONFORMANCE_JS): $(GATE_CONFORMANCE_TS) node_modules/.package-lock.json
	$(NODE_BIN)/tsc --strict --target ES2022 --module NodeNext --moduleResolution NodeNext \
		--types node --skipLibCheck --outDir $(@D) $(GATE_CONFORMANCE_TS)

# The gate compiled from source with the sanitizers: a pure C test, no wasm3.
$(GATE_TEST_DIR)/test_gate: $(GATE_TEST_SRC)/test_gate.c $(GATE_TEST_SRC)/mb.h $(GATE_SRCS) $(GATE_HDRS) plugin-c/runtime/abi.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -g $(GATE_SAN_FLAGS) -o $@ $< $(GATE_SRCS) plugin-c/runtime/abi.c

# Metered modules executed by the plugin's interpreter, with the plugin's wasm3 configuration.
$(GATE_TEST_DIR)/%: $(GATE_TEST_SRC)/%.c $(GATE_TEST_SRC)/meter_wasm3.h $(GATE_TEST_SRC)/mb.h \
		$(GATE_OBJS) $(GATE_BUILD)/abi.o $(WASM3_LIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g $(ENGINE_CFLAGS) -o $@ $< $(GATE_OBJS) $(GATE_BUILD)/abi.o \
		$(WASM3_LIB) -lm

# Bulk-instruction fixtures for the fuel prices (test_meter here, sdk/host/test/fuel.test.ts).
GATE_BULK_WASM := $(GATE_TEST_DIR)/bulk.wasm $(GATE_TEST_DIR)/bulk_table.wasm

$(GATE_TEST_DIR)/%.wasm: $(GATE_TEST_SRC)/%.wat
	@mkdir -p $(@D)
	wat2wasm $< -o $@

test-gate: $(GATE_TEST_DIR)/test_gate $(GATE_TEST_DIR)/test_meter $(CHECK_BIN) $(GATE_CONFORMANCE_JS) $(GATE_BULK_WASM)
	@rm -rf $(GATE_TEST_DIR)/modules && mkdir -p $(GATE_TEST_DIR)/modules
	GATE_TEST_OUT=$(GATE_TEST_DIR)/modules $(GATE_TEST_DIR)/test_gate
	$(GATE_TEST_DIR)/test_meter $(GATE_BULK_WASM)
	$(GATE_TEST_SRC)/test_cli.sh $(CHECK_BIN) $(GATE_TEST_DIR)/modules $(GATE_TEST_DIR)/cli
	node $(GATE_CONFORMANCE_JS) --check $(CHECK_BIN) --suite $(WASM_TESTSUITE) --out $(BUILD)/conformance \
		--cross $(GATE_TEST_DIR)/modules

test: test-gate

bench-gate: $(GATE_TEST_DIR)/bench_meter $(GATE_TEST_DIR)/bulk.wasm
	$(GATE_TEST_DIR)/bench_meter --bulk $(GATE_TEST_DIR)/bulk.wasm
