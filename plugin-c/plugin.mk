# The C plugin: wasm3 (fetched from crates.io), the policy runtime (plugin-c/runtime/), the
# mosquitto glue (plugin-c/broker/), wa-call (plugin-c/tools/) and the C unit tests. Included by the
# top-level Makefile; paths are relative to the repo root.
#
#   make WASM3_SRC=/path/to/wasm3/source     use a wasm3 checkout instead of fetching
#   make MOSQUITTO_SRC=/path/to/mosquitto    mosquitto headers from a source tree, not /usr/include
#   make install PREFIX=/usr DESTDIR=...     install the plugin into mosquitto's plugin directory
#
# Others link the runtime as: $(RUNTIME_LIB) $(RUNTIME_LDLIBS), headers from plugin-c/runtime/
# (included by relative path).
.PHONY: test-c install-plugin wasm3-fetch

CC       ?= cc
STRIP    ?= strip
PREFIX   ?= /usr
DESTDIR  ?=
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null)
PLUGIN_INSTALL_DIR := $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))

PLUGIN_SO      := $(BUILD)/mosquitto_wasm_auth.so
WA_CALL_BIN    := $(BUILD)/bin/wa-call
RUNTIME_LIB    := $(BUILD)/libwasm_auth_runtime.a
RUNTIME_LDLIBS := -lcrypto -largon2 -lm -lpthread

# --- wasm3 -------------------------------------------------------------------------------------
# wasm3 v0.9.0 as shipped in crates.io's wasm3x-sys 0.2.1 (docs/WASM3.md). The .crate's sha256 is
# pinned: a mismatch stops the build.
WASM3_CRATE         := wasm3x-sys
WASM3_CRATE_VERSION := 0.2.1
WASM3_CRATE_SHA256  := 348492b8c2fb4902087770a26c3500e12b375e687a6d7f4155b7953a26ff8f7c
WASM3_FETCHED       := $(BUILD)/wasm3/source
WASM3_SRC           ?= $(WASM3_FETCHED)
# Only the interpreter core: no WASI, uvwasi, tracer, libc API or extensions.
WASM3_CORE := m3_bind m3_code m3_compile m3_core m3_env m3_exec m3_function m3_info m3_module \
              m3_parse m3_validate
WASM3_OBJS := $(WASM3_CORE:%=$(BUILD)/obj/wasm3/%.o)
WASM3_LIB  := $(BUILD)/libwasm3.a
# wasm3 is third-party code: its own (relaxed) warning level, -O2 so the op handlers become tail
# calls, the shared configuration header force-included. -fno-plt: libc calls on the hot path
# (memset/memcpy in every function entry, strlen/memcpy per request field) go through the GOT
# directly instead of a PLT stub (docs/BENCHMARKS.md, "Hot path": -11 instructions per acl_check;
# -O3 and LTO were measured too and are not worth it).
WASM3_CFLAGS := -std=gnu11 -O2 -g -fPIC -fno-plt -fvisibility=hidden -w \
                -include plugin-c/runtime/wasm3_config.h -I$(WASM3_SRC)

$(WASM3_FETCHED)/wasm3.h: plugin-c/fetch-wasm3.sh plugin-c/plugin.mk
	plugin-c/fetch-wasm3.sh $(WASM3_CRATE) $(WASM3_CRATE_VERSION) $(WASM3_CRATE_SHA256) \
		$(BUILD)/wasm3-fetch $(WASM3_FETCHED)
	@touch $@

wasm3-fetch: $(WASM3_SRC)/wasm3.h

# plugin.mk itself: a change of WASM3_CFLAGS rebuilds wasm3.
$(BUILD)/obj/wasm3/%.o: $(WASM3_SRC)/wasm3.h plugin-c/runtime/wasm3_config.h plugin-c/runtime/wa_limits.h plugin-c/plugin.mk
	@mkdir -p $(@D)
	$(CC) $(WASM3_CFLAGS) -c $(WASM3_SRC)/$*.c -o $@

$(WASM3_LIB): $(WASM3_OBJS)
	@rm -f $@
	ar rcs $@ $^

# --- our code ----------------------------------------------------------------------------------
ifneq ($(MOSQUITTO_SRC),)
MOSQ_CPPFLAGS := -I$(MOSQUITTO_SRC)/include -I$(MOSQUITTO_SRC)/lib -I$(MOSQUITTO_SRC)
endif

# The engine's watchdog state (thread-local) is touched once per guest call. In a dlopen'ed object the
# default (gnu) TLS dialect makes that a __tls_get_addr call; TLS descriptors (gnu2) resolve to
# a two-instruction stub when the dynamic loader could place the block in the static TLS surplus
# and fall back to the dynamic path otherwise, so unlike -ftls-model=initial-exec it is safe for
# a plugin. Only where the compiler knows the dialect (x86; other targets use descriptors already).
TLS_DIALECT := $(shell $(CC) -mtls-dialect=gnu2 -x c -c /dev/null -o /dev/null 2>/dev/null && echo -mtls-dialect=gnu2)
# -flto for our own code (not wasm3's): the plugin's per-request path crosses several small
# files (plugin.c -> auth.c / policy.c -> engine_wasm3.c, acl_cache.c) whose accessors and
# helpers only inline across files at link time: -10 Ir per acl_check, -28 per cache hit
# (docs/BENCHMARKS.md, "Hot path"). Fat objects: wa-call, the tests and the benchmarks link the
# same archive without LTO; a compiler without fat LTO objects (clang) builds without LTO.
WA_LTO     := $(shell $(CC) -Werror -flto=auto -ffat-lto-objects -x c -c /dev/null -o /dev/null 2>/dev/null && \
                echo -flto=auto -ffat-lto-objects)
WA_CFLAGS  := -std=c11 -Wall -Wextra -Werror -O2 -g -fPIC -fno-plt -fvisibility=hidden -MMD -MP $(WA_LTO) $(TLS_DIALECT)
# engine_wasm3.c reads wasm3's internal structs: same configuration header, wasm3's headers as
# system headers (their style is not ours to warn about).
ENGINE_CFLAGS := -include plugin-c/runtime/wasm3_config.h -isystem $(WASM3_SRC)

# By concern: runtime/ (the policy runtime: ABI, engine, host functions, loading, limits), broker/
# (what only a broker needs: the decision cache and the breaker; plugin.c is the plugin itself),
# gate/ (the module gate, gate.mk), tools/ (wa-call and wasm-auth-check's main).
RUNTIME_SRCS := $(addprefix runtime/,abi.c abi_marshal.c auth.c engine_wasm3.c grants.c hostfns.c jwt.c log.c module_file.c \
                crypto.c options.c policy.c pwhash.c raw_thread.c stats.c text.c topic.c watchdog.c worker.c) broker/acl_cache.c broker/breaker.c \
                broker/sessions.c broker/jsonl.c broker/record.c broker/metrics.c broker/topic_leak.c broker/audit.c broker/shadow.c \
                broker/login.c
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(BUILD)/obj/plugin-c/%.o)

# GATE_OBJS (the gate's objects, compiled -fPIC) comes from plugin-c/gate/gate.mk, read after this
# file: $$(GATE_OBJS) is expanded once it is (.SECONDEXPANSION, top-level Makefile).
$(RUNTIME_LIB): $(RUNTIME_OBJS) $$(GATE_OBJS) $(WASM3_OBJS)
	@rm -f $@
	ar rcs $@ $^

# plugin.mk itself: a change of flags rebuilds our objects too.
$(BUILD)/obj/plugin-c/runtime/engine_wasm3.o: plugin-c/runtime/engine_wasm3.c $(WASM3_SRC)/wasm3.h plugin-c/runtime/wasm3_config.h plugin-c/plugin.mk
	@mkdir -p $(@D)
	$(CC) $(WA_CFLAGS) $(ENGINE_CFLAGS) -c $< -o $@

# plugin.c defines the three entry points mosquitto looks up: default visibility for it.
$(BUILD)/obj/plugin-c/broker/plugin.o: plugin-c/broker/plugin.c plugin-c/plugin.mk
	@mkdir -p $(@D)
	$(CC) $(filter-out -fvisibility=hidden,$(WA_CFLAGS)) $(MOSQ_CPPFLAGS) -c $< -o $@

$(BUILD)/obj/plugin-c/%.o: plugin-c/%.c plugin-c/plugin.mk
	@mkdir -p $(@D)
	$(CC) $(WA_CFLAGS) -c $< -o $@

# Only the mosquitto_plugin_* entry points leave the .so; the runtime and wasm3 stay private so
# they cannot clash with the broker or other plugins.
$(PLUGIN_SO): $(BUILD)/obj/plugin-c/broker/plugin.o $(RUNTIME_LIB) plugin-c/broker/plugin.map
	$(CC) -shared $(filter-out -MMD -MP,$(WA_CFLAGS)) -o $@ $(BUILD)/obj/plugin-c/broker/plugin.o $(RUNTIME_LIB) $(RUNTIME_LDLIBS) \
		-Wl,--version-script=plugin-c/broker/plugin.map

$(WA_CALL_BIN): $(BUILD)/obj/plugin-c/tools/wa_call.o $(RUNTIME_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(RUNTIME_LDLIBS)

all: $(PLUGIN_SO) $(WA_CALL_BIN)

# Stripped as Debian strips shared libraries (the build keeps -g for debugging in the tree).
install-plugin: $(PLUGIN_SO)
	install -d $(DESTDIR)$(PLUGIN_INSTALL_DIR)
	install -m 0644 $(PLUGIN_SO) $(DESTDIR)$(PLUGIN_INSTALL_DIR)/mosquitto_wasm_auth.so
	$(STRIP) --strip-unneeded --remove-section=.comment $(DESTDIR)$(PLUGIN_INSTALL_DIR)/mosquitto_wasm_auth.so

install: install-plugin

# --- C unit tests ------------------------------------------------------------------------------
# Our code again with AddressSanitizer and UBSan (wasm3 itself stays uninstrumented: it relies on
# tail calls, which ASan's stack instrumentation defeats).
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
TEST_CFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -MMD -MP $(SAN_FLAGS)
C_TESTS := test_acl_cache test_extauth test_topic test_pwhash test_text test_marshal test_options test_hostfns test_runtime \
           test_grants test_jwt test_sessions test_record test_metrics test_topic_leak test_audit test_shadow test_watchdog \
           test_login
C_TEST_BINS := $(C_TESTS:%=$(BUILD)/tests-c/%)
SAN_RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(BUILD)/obj-san/plugin-c/%.o)
C_TEST_FIXTURES := $(patsubst plugin-c/tests/fixtures/%.ts,$(BUILD)/tests-c/fixtures/%.wasm,\
                   $(wildcard plugin-c/tests/fixtures/*.ts))

$(BUILD)/obj-san/plugin-c/runtime/engine_wasm3.o: plugin-c/runtime/engine_wasm3.c $(WASM3_SRC)/wasm3.h plugin-c/runtime/wasm3_config.h
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(ENGINE_CFLAGS) -c $< -o $@

$(BUILD)/obj-san/plugin-c/%.o: plugin-c/%.c
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(BUILD)/libwasm_auth_runtime_san.a: $(SAN_RUNTIME_OBJS) $$(GATE_OBJS) $(WASM3_OBJS)
	@rm -f $@
	ar rcs $@ $^

# test_topic compares against libmosquitto's matcher: only this test links -lmosquitto.
$(BUILD)/tests-c/test_topic: LDLIBS_EXTRA := -lmosquitto
$(BUILD)/tests-c/%: plugin-c/tests/%.c plugin-c/tests/check.h $(BUILD)/libwasm_auth_runtime_san.a
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) $(MOSQ_CPPFLAGS) -o $@ $< $(BUILD)/libwasm_auth_runtime_san.a \
		$(RUNTIME_LDLIBS) $(LDLIBS_EXTRA)

$(BUILD)/tests-c/fixtures/%.wasm: plugin-c/tests/fixtures/%.ts node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(ASC) $< -o $@ --runtime incremental -O2

test-c: $(C_TEST_BINS) $(C_TEST_FIXTURES) $(WA_CALL_BIN) $(PLUGIN_SO)
	@set -e; for t in $(C_TEST_BINS); do echo "== $$t"; \
		WA_TEST_FIXTURES=$(BUILD)/tests-c/fixtures WA_CALL=$(WA_CALL_BIN) \
		WA_DEFAULT_POLICY=$(BUILD)/policies/default.wasm WA_STATIC_USERS=$(BUILD)/examples/static-users.wasm $$t; done

test: test-c

# How many fuel units each host function's work is worth on this machine (docs/SECURITY.md,
# "Host function prices"): the measurements behind the WA_FUEL_* prices in wa_limits.h.
CALIBRATE_BIN := $(BUILD)/bin/calibrate_hostfns
$(CALIBRATE_BIN): plugin-c/tests/calibrate_hostfns.c $(RUNTIME_LIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror -O2 -g $(ENGINE_CFLAGS) -o $@ $< $(RUNTIME_LIB) $(RUNTIME_LDLIBS)

.PHONY: calibrate
calibrate: $(CALIBRATE_BIN)
	$(CALIBRATE_BIN)

-include $(RUNTIME_OBJS:.o=.d) $(SAN_RUNTIME_OBJS:.o=.d) $(BUILD)/obj/plugin-c/broker/plugin.d \
         $(BUILD)/obj/plugin-c/tools/wa_call.d $(C_TEST_BINS:=.d)
