# The module gate (plugin-c/gate/): validator, ABI rules, fuel metering, and wasm-auth-check.
# GATE_OBJS is what the runtime's static archive must contain (plugin.mk consumes it);
# CHECK_BIN is the gate as a command.
.PHONY: test-gate install-check gate

GATE_DIR    := plugin-c/gate
GATE_BUILD  := $(BUILD)/gate
GATE_SRCS   := $(addprefix $(GATE_DIR)/,reader.c module.c body.c rules.c gate.c meter.c)
GATE_OBJS   := $(patsubst $(GATE_DIR)/%.c,$(GATE_BUILD)/%.o,$(GATE_SRCS))
GATE_HDRS   := $(GATE_DIR)/gate.h $(GATE_DIR)/gate_internal.h plugin-c/abi.h plugin-c/limits.h
# No -I: headers are included by relative path (plugin-c/limits.h must not shadow <limits.h>).
GATE_CFLAGS := -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -fvisibility=hidden
CHECK_BIN   := $(BUILD)/bin/wasm-auth-check

all: $(CHECK_BIN)
gate: $(CHECK_BIN)

$(GATE_BUILD)/%.o: $(GATE_DIR)/%.c $(GATE_HDRS)
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(GATE_BUILD)/abi.o: plugin-c/abi.c plugin-c/abi.h plugin-c/limits.h
	@mkdir -p $(@D)
	$(CC) $(GATE_CFLAGS) $(CPPFLAGS) -c $< -o $@

$(CHECK_BIN): $(GATE_BUILD)/check_main.o $(GATE_OBJS) $(GATE_BUILD)/abi.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^

# plugin.mk is read before this file, so its archive rules saw GATE_OBJS empty: add them here
# (their recipes archive $^, which includes prerequisites from every rule).
$(RUNTIME_LIB) $(BUILD)/libwasm_auth_runtime_san.a: $(GATE_OBJS)

install: install-check
install-check: $(CHECK_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(CHECK_BIN) $(DESTDIR)$(PREFIX)/bin/wasm-auth-check
