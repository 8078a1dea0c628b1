# Soak test (tests/soak/soak.c): hook calls with reloads in between, under AddressSanitizer and
# LeakSanitizer, RSS checked flat at every reload. Included by fuzz/fuzz.mk.
#   make soak          SOAK_CALLS (1M) calls, reload every SOAK_RELOAD_EVERY (100k)
#   make soak-short    100k calls, reload every 10k (part of make test)
.PHONY: soak soak-short

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

test: soak-short

-include $(SOAK_BIN).d
