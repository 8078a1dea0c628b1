# The integration suite against a second broker: Mosquitto 2.1.2, built from the source in
# ../shared/mosquitto-2.1.2 (read-only: built out of tree). Included by the top-level Makefile
# after tests/tests.mk; paths relative to the repo root.
#   make mosquitto-2.1            build/mosquitto-2.1/: broker, mosquitto_passwd, mosquitto_ctrl,
#                                 mosquitto_pub/sub and the dynamic-security plugin (20-40 s on 2 cores)
#   make test-integration-2.1     the integration suite (make test-integration) with that broker
#   make test-integration-2.1 TESTS=dynsec    one file, as with test-integration
#   make plugin-2.1               build/2.1/mosquitto_wasm_auth.so: the plugin built against 2.1.2's
#                                 headers (per-subscriber on_message_out, on_subscribe; README)
# test-integration-2.1 loads that build in 2.1.2; without TESTS it then runs MOSQ21_COMPAT_TESTS
# with the 2.0 build (build/mosquitto_wasm_auth.so) in 2.1.2, and with the 2.1 build in the 2.0
# broker (MOSQUITTO): each build must keep loading in the other broker.
# Without ../shared/mosquitto-2.1.2, cmake, libcjson-dev or a C++ compiler (2.1.2's CMake project
# asks for one), test-integration-2.1 prints one
# "test-integration-2.1: SKIPPED (reason)" line and succeeds: a user's machine never needs it.
# The suite runs with 2.1.2's own tools first on PATH (mosquitto_passwd writes 2.1's $7$1000$
# lines, mosquitto_ctrl administers 2.1's dynamic-security plugin), as a 2.1 installation would.
.PHONY: mosquitto-2.1 test-integration-2.1 plugin-2.1

MOSQ21_SRC    ?= ../shared/mosquitto-2.1.2
MOSQ21_DIR    := $(BUILD)/mosquitto-2.1
MOSQ21_BIN    := $(MOSQ21_DIR)/src/mosquitto
MOSQ21_DYNSEC := $(MOSQ21_DIR)/plugins/dynamic-security/mosquitto_dynamic_security.so
MOSQ21_PATH   := $(abspath $(MOSQ21_DIR)/apps/mosquitto_passwd):$(abspath $(MOSQ21_DIR)/apps/mosquitto_ctrl):$(abspath $(MOSQ21_DIR)/client)
MOSQ21_STAMP  := $(MOSQ21_DIR)/.built
MOSQ21_TARGETS := mosquitto mosquitto_passwd mosquitto_ctrl mosquitto_pub mosquitto_sub mosquitto_dynamic_security
# The flags of ../shared/notes/mosquitto-2.1.md; the plugins nothing here loads are left out
# (persist-sqlite would need libsqlite3-dev). WITH_ARGON2 when libargon2-dev is installed (2.1.2's
# CMake finds the library but leaves the define commented out), so that its mosquitto_passwd
# writes `-H argon2id` hashes for tests/integration/argon2.test.ts; its default stays $7$.
MOSQ21_ARGON2 := $(shell echo '\#include <argon2.h>' | $(CC) -E -x c - >/dev/null 2>&1 && echo -DCMAKE_C_FLAGS=-DWITH_ARGON2)
# The HTTP API listener (libmicrohttpd-dev), as distributions build 2.1: its logins come from
# libmicrohttpd's thread (tests/integration/http-api.test.ts).
MOSQ21_HTTP_API := $(shell echo '\#include <microhttpd.h>' | $(CC) -E -x c - >/dev/null 2>&1 && echo -DWITH_HTTP_API=ON)
MOSQ21_CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release -DWITH_TESTS=OFF -DWITH_DOCS=OFF -DWITH_CTRL_SHELL=OFF \
                      -DWITH_WEBSOCKETS=OFF -DWITH_PLUGIN_PERSIST_SQLITE=OFF -DWITH_PLUGIN_EXAMPLES=OFF \
                      -DWITH_PLUGIN_SPARKPLUG_AWARE=OFF $(MOSQ21_ARGON2) $(MOSQ21_HTTP_API)

# Why the 2.1 suite cannot run here (empty: it can). Only asked for by the targets below.
mosq21_skip = $(shell \
	if [ ! -f $(MOSQ21_SRC)/CMakeLists.txt ]; then echo "$(MOSQ21_SRC) is absent"; \
	elif ! command -v cmake >/dev/null 2>&1; then echo "cmake is not installed"; \
	elif ! echo '\#include <cjson/cJSON.h>' | $(CC) -E -x c - >/dev/null 2>&1; then echo "libcjson-dev is not installed"; \
	elif ! command -v c++ >/dev/null 2>&1; then echo "no C++ compiler (c++), which 2.1.2's CMake project asks for"; \
	fi)

# The flags the build was configured with, rewritten only when they change (libargon2-dev
# installed since), so that such a build is configured and built again.
MOSQ21_FLAGS := $(MOSQ21_DIR)/.cmake-flags
$(MOSQ21_FLAGS): mosq21-flags-check
	@:
.PHONY: mosq21-flags-check
mosq21-flags-check:
	@mkdir -p $(MOSQ21_DIR); echo '$(MOSQ21_CMAKE_FLAGS)' | cmp -s - $(MOSQ21_FLAGS) || echo '$(MOSQ21_CMAKE_FLAGS)' >$(MOSQ21_FLAGS)

$(MOSQ21_DIR)/Makefile: $(MOSQ21_FLAGS)
	@mkdir -p $(BUILD)
	cmake -S $(MOSQ21_SRC) -B $(MOSQ21_DIR) $(MOSQ21_CMAKE_FLAGS) >$(BUILD)/mosquitto-2.1.cmake.log \
		|| { cat $(BUILD)/mosquitto-2.1.cmake.log; exit 1; }
	@touch $@

# Parallel through make's jobserver: `make -j2 mosquitto-2.1` builds on 2 cores.
$(MOSQ21_STAMP): $(MOSQ21_DIR)/Makefile
	+$(MAKE) -C $(MOSQ21_DIR) --no-print-directory $(MOSQ21_TARGETS)
	@$(MOSQ21_BIN) -h 2>/dev/null | head -1
	@touch $@

mosquitto-2.1:
	@reason='$(mosq21_skip)'; if [ -n "$$reason" ]; then echo "mosquitto-2.1: cannot build ($$reason)"; exit 1; fi
	+@$(MAKE) --no-print-directory $(MOSQ21_STAMP)

# --- the plugin against 2.1.2's headers --------------------------------------------------------
# Only plugin.c includes mosquitto's headers (plugin-c/broker/mosq.h derives WA_MOSQ_21 from
# them): the same runtime archive, one object compiled with 2.1.2's include directory ahead of
# /usr/include. Needs only the source's include/, not the broker build.
PLUGIN_SO_21  := $(BUILD)/2.1/mosquitto_wasm_auth.so
PLUGIN_OBJ_21 := $(BUILD)/2.1/obj/plugin.o

$(PLUGIN_OBJ_21): plugin-c/broker/plugin.c plugin-c/plugin.mk tests/mosquitto21.mk
	@mkdir -p $(@D)
	$(CC) $(filter-out -fvisibility=hidden,$(WA_CFLAGS)) -I$(MOSQ21_SRC)/include -c $< -o $@

$(PLUGIN_SO_21): $(PLUGIN_OBJ_21) $(RUNTIME_LIB) plugin-c/broker/plugin.map
	$(CC) -shared $(filter-out -MMD -MP,$(WA_CFLAGS)) -o $@ $(PLUGIN_OBJ_21) $(RUNTIME_LIB) $(RUNTIME_LDLIBS) \
		-Wl,--version-script=plugin-c/broker/plugin.map

-include $(PLUGIN_OBJ_21:.o=.d)

# In the same make graph as everything else (no recursive make: `make -j2 all plugin-2.1` must
# not build the runtime archive twice at once).
ifneq ($(wildcard $(MOSQ21_SRC)/include/mosquitto/broker.h),)
plugin-2.1: $(PLUGIN_SO_21)
else
plugin-2.1:
	@echo "plugin-2.1: SKIPPED ($(MOSQ21_SRC) is absent)"
endif

# The suite's files run again with the 2.0 build (one binary for both brokers stays supported).
MOSQ21_COMPAT_TESTS := connect subscriber-views

TEST_ENV_21 := BUILD=$(BUILD) PLUGIN_SO=$(PLUGIN_SO_21) PLUGIN_HEADERS=2.1 WA_CALL_BIN=$(WA_CALL_BIN) CHECK_BIN=$(CHECK_BIN) \
               MOSQUITTO_BIN=$(abspath $(MOSQ21_BIN)) DYNSEC_SO=$(abspath $(MOSQ21_DYNSEC)) PATH=$(MOSQ21_PATH):$$PATH
# The parity cases (tests/cases) do not start a broker: test-integration runs them once.
INTEGRATION_JS_21 := $(if $(TESTS),$(TESTS:%=$(BUILD)/js/tests/integration/%.test.js),\
                     $(BUILD)/js/tests/integration/*.test.js)

# The broker build is a recursive make, so it only starts once the skip check has passed.
test-integration-2.1: $(INTEGRATION_DEPS)
	@reason='$(mosq21_skip)'; if [ -n "$$reason" ]; then echo "test-integration-2.1: SKIPPED ($$reason)"; exit 0; fi; \
	$(MAKE) --no-print-directory $(MOSQ21_STAMP) $(PLUGIN_SO_21) || exit $$?; \
	echo "test-integration-2.1: the integration suite against $$($(MOSQ21_BIN) -h 2>/dev/null | head -1), plugin $(PLUGIN_SO_21)"; \
	t0=$$(date +%s); \
	$(TEST_ENV_21) node --test --test-concurrency=$(TEST_CONCURRENCY) $(INTEGRATION_JS_21); rc=$$?; \
	if [ $$rc -eq 0 ] && [ -z '$(TESTS)' ]; then \
		echo "test-integration-2.1: $(MOSQ21_COMPAT_TESTS) with the 2.0 build $(PLUGIN_SO)"; \
		$(TEST_ENV_21) PLUGIN_SO=$(PLUGIN_SO) PLUGIN_HEADERS=2.0 node --test --test-concurrency=$(TEST_CONCURRENCY) \
			$(MOSQ21_COMPAT_TESTS:%=$(BUILD)/js/tests/integration/%.test.js); rc=$$?; \
	fi; \
	if [ $$rc -eq 0 ] && [ -z '$(TESTS)' ]; then \
		echo "test-integration-2.1: $(MOSQ21_COMPAT_TESTS) with the 2.1 build in $$($(MOSQUITTO) -h 2>/dev/null | head -1)"; \
		$(TEST_ENV) PLUGIN_SO=$(PLUGIN_SO_21) PLUGIN_HEADERS=2.1 node --test --test-concurrency=$(TEST_CONCURRENCY) \
			$(MOSQ21_COMPAT_TESTS:%=$(BUILD)/js/tests/integration/%.test.js); rc=$$?; \
	fi; \
	echo "test-integration-2.1: exit $$rc after $$(( $$(date +%s) - t0 ))s"; exit $$rc

test: test-integration-2.1

# make install, with the plugin built against 2.1.2's headers in place of the 2.0 build
# (MOSQ21_SRC=/path/to/mosquitto-2.1.x for another 2.1 source tree).
.PHONY: install-2.1
install-2.1: install $(PLUGIN_SO_21)
	install -m 0644 $(PLUGIN_SO_21) $(DESTDIR)$(PLUGIN_INSTALL_DIR)/mosquitto_wasm_auth.so
	$(STRIP) --strip-unneeded --remove-section=.comment $(DESTDIR)$(PLUGIN_INSTALL_DIR)/mosquitto_wasm_auth.so
