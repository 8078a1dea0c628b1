# Soak test (tests/soak/soak.c): hook calls with reloads in between, under AddressSanitizer and
# LeakSanitizer, RSS checked flat at every reload.
#   make soak          SOAK_CALLS (1M) calls, reload every SOAK_RELOAD_EVERY (100k)
#   make soak-short    100k calls, reload every 10k (part of make test)
#   make soak-valgrind the plain (-O2) runtime, wasm3 included, under valgrind's memcheck:
#                      SOAK_VALGRIND_CALLS (10k) calls, reload every 1k; any error or leak fails
#                      (RSS is valgrind's own there and not judged). A few minutes.
.PHONY: soak soak-short soak-valgrind

SOAK_DIR          := $(BUILD)/soak
SOAK_BIN          := $(SOAK_DIR)/soak
SOAK_CALLS        ?= 1000000
SOAK_RELOAD_EVERY ?= 100000
# A small quarantine: ASan's default (256 MiB of freed blocks held back) would fill slowly and
# read as RSS growth; 16 MiB still catches use-after-free soon after the free.
SOAK_ASAN_OPTIONS := detect_leaks=1:quarantine_size_mb=16:abort_on_error=0
SOAK_POLICIES     := $(DEFAULT_POLICY_WASM) $(BUILD)/fuzz/echo.wasm $(HOSTILE_DIR)/hostile.wasm

# plugin.mk's sanitizer build of the runtime (our code with ASan + UBSan, wasm3 uninstrumented).
$(SOAK_BIN): tests/soak/soak.c $(BUILD)/libwasm_auth_runtime_san.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(BUILD)/libwasm_auth_runtime_san.a $(RUNTIME_LDLIBS)

$(SOAK_DIR)/passwd:
	@mkdir -p $(@D)
	mosquitto_passwd -c -b $@ alice secret

soak: $(SOAK_BIN) $(SOAK_DIR)/passwd $(SOAK_POLICIES)
	ASAN_OPTIONS=$(SOAK_ASAN_OPTIONS) $(SOAK_BIN) $(SOAK_CALLS) $(SOAK_RELOAD_EVERY) $(SOAK_DIR) $(SOAK_POLICIES)

soak-short: $(SOAK_BIN) $(SOAK_DIR)/passwd $(SOAK_POLICIES)
	ASAN_OPTIONS=$(SOAK_ASAN_OPTIONS) $(SOAK_BIN) 100000 10000 $(SOAK_DIR) $(SOAK_POLICIES)

# ASan leaves wasm3 uninstrumented (see plugin.mk); memcheck sees wasm3's heap too.
SOAK_PLAIN_BIN      := $(SOAK_DIR)/soak-plain
SOAK_VALGRIND_CALLS ?= 10000
$(SOAK_PLAIN_BIN): tests/soak/soak.c $(RUNTIME_LIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O1 -g -o $@ $< $(RUNTIME_LIB) $(RUNTIME_LDLIBS)

soak-valgrind: $(SOAK_PLAIN_BIN) $(SOAK_DIR)/passwd $(SOAK_POLICIES)
	SOAK_RSS_CHECK=0 valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--show-leak-kinds=definite,indirect \
		$(SOAK_PLAIN_BIN) $(SOAK_VALGRIND_CALLS) $$(( $(SOAK_VALGRIND_CALLS) / 10 )) $(SOAK_DIR) $(SOAK_POLICIES)

test: soak-short

-include $(SOAK_BIN).d
