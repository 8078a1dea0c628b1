# libFuzzer targets (clang, ASan + UBSan), the gate/wabt cross-check, and the soak test.
# Included by the top-level Makefile; paths are relative to the repo root.
#   make fuzz                       every target for FUZZ_SECONDS (default 60) each, then the
#                                   cross-check of the gate corpus against wasm-validate
#   make fuzz-ci                    the same, FUZZ_CI_SECONDS (default 20) each (part of make test
#                                   when clang is installed)
#   make fuzz-gate / fuzz-hook      one target
#   make fuzz-crosscheck            replay the gate corpus through wasm-auth-check --validate-only
#                                   and wasm-validate; any disagreement fails
#   make soak                       tests/soak: SOAK_CALLS (1M) hook calls, reload every 100k,
#                                   ASan/LeakSanitizer, RSS must stay flat
#   make soak-short                 the same with 100k calls (part of make test)
# Reproduce a finding: build/fuzz/gate_fuzz FILE, or `make fuzz-repro-hook FILE=...` (sets the
# policy list the hook target needs).
#
# The runtime and gate sources are compiled again here with clang and the sanitizers (plugin.mk's
# lists, not copies of them); wasm3 itself is compiled with clang but uninstrumented, as in
# plugin.mk's sanitizer build: its op handlers rely on tail calls that ASan's stack
# instrumentation defeats.
.PHONY: fuzz fuzz-ci fuzz-gate fuzz-hook fuzz-crosscheck fuzz-corpus fuzz-build fuzz-repro-hook \
        soak soak-short

FUZZ_CC         ?= clang
FUZZ_SECONDS    ?= 60
FUZZ_CI_SECONDS ?= 20
FUZZ_DIR        := $(BUILD)/fuzz
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS     := -std=c11 -Wall -Wextra -Werror -O1 -g $(FUZZ_SAN)
FUZZ_OBJ_CFLAGS := $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link
FUZZ_LDFLAGS    := -fsanitize=fuzzer $(FUZZ_SAN)
HAVE_FUZZ_CC    := $(shell command -v $(FUZZ_CC) >/dev/null 2>&1 && echo yes)

GATE_FUZZ := $(FUZZ_DIR)/gate_fuzz
HOOK_FUZZ := $(FUZZ_DIR)/hook_fuzz

# --- objects ------------------------------------------------------------------------------------
FUZZ_GATE_OBJS    := $(patsubst plugin-c/gate/%.c,$(FUZZ_DIR)/obj/gate/%.o,$(GATE_SRCS)) $(FUZZ_DIR)/obj/abi.o
FUZZ_RUNTIME_OBJS := $(patsubst %.c,$(FUZZ_DIR)/obj/rt/%.o,$(filter-out runtime/abi.c,$(RUNTIME_SRCS)))
FUZZ_WASM3_OBJS   := $(WASM3_CORE:%=$(FUZZ_DIR)/obj/wasm3/%.o)

$(FUZZ_DIR)/obj/gate/%.o: plugin-c/gate/%.c $(GATE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/abi.o: plugin-c/runtime/abi.c plugin-c/runtime/abi.h plugin-c/runtime/wa_limits.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/rt/runtime/engine_wasm3.o: plugin-c/runtime/engine_wasm3.c $(WASM3_SRC)/wasm3.h plugin-c/runtime/wasm3_config.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) $(ENGINE_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/rt/%.o: plugin-c/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/wasm3/%.o: $(WASM3_SRC)/wasm3.h plugin-c/runtime/wasm3_config.h plugin-c/runtime/wa_limits.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(WASM3_CFLAGS) -c $(WASM3_SRC)/$*.c -o $@

-include $(FUZZ_RUNTIME_OBJS:.o=.d)

# --- targets -------------------------------------------------------------------------------------
$(GATE_FUZZ): fuzz/gate_fuzz.c $(FUZZ_GATE_OBJS) $(GATE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c fuzz/gate_fuzz.c -o $(FUZZ_DIR)/obj/gate_fuzz.o
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $(FUZZ_DIR)/obj/gate_fuzz.o $(FUZZ_GATE_OBJS)

$(HOOK_FUZZ): fuzz/hook_fuzz.c $(FUZZ_RUNTIME_OBJS) $(FUZZ_GATE_OBJS) $(FUZZ_WASM3_OBJS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c fuzz/hook_fuzz.c -o $(FUZZ_DIR)/obj/hook_fuzz.o
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $(FUZZ_DIR)/obj/hook_fuzz.o $(FUZZ_RUNTIME_OBJS) $(FUZZ_GATE_OBJS) \
		$(FUZZ_WASM3_OBJS) $(RUNTIME_LDLIBS)

# --- policies and corpora ------------------------------------------------------------------------
# The hook target runs several policies: a byte-reading "echo" policy whose decision depends on
# every input byte (including invalid decisions), the hostile-suite policy (traps, loops,
# recursion, memory bomb, bad abort pointers on trigger words: their answer must be the failure
# decision), and the real ones when they are built.
FUZZ_ECHO_WASM    := $(FUZZ_DIR)/echo.wasm
HOSTILE_WASM      := $(HOSTILE_DIR)/hostile.wasm
FUZZ_HOOK_POLICIES ?= $(FUZZ_ECHO_WASM) $(HOSTILE_WASM) $(DEFAULT_POLICY_WASM) $(FIXTURE_DIR)/rules.wasm \
                      $(EXAMPLE_WASMS) $(FIXTURE_DIR)/hostile-auth.wasm
# Every policy gets the same option files (a policy ignores the options it does not read), so the
# default policy and the examples run with real users, ACL rules, PSK keys and JWT keys (the jwt
# example then runs every fuzzed password through jwt_verify).
FUZZ_FILES        := $(FUZZ_DIR)/files
FUZZ_POLICY_OPTS  := |password_file=$(FUZZ_FILES)/passwd|acl_file=$(FUZZ_FILES)/acl|psk_file=$(FUZZ_FILES)/psk|users_file=examples/json-users/users.json|jwt_key_file=tests/fixtures/jwt/jwks.json|scram_users_file=examples/scram/__tests__/fixtures/users.txt
fuzz_empty :=
fuzz_space := $(fuzz_empty) $(fuzz_empty)
FUZZ_HOOK_ENV      = WA_FUZZ_POLICIES="$(subst $(fuzz_space),:,$(strip $(addsuffix $(FUZZ_POLICY_OPTS),$(FUZZ_HOOK_POLICIES))))" \
                     WA_FUZZ_HOSTILE="$(HOSTILE_WASM)"

$(FUZZ_FILES)/.stamp:
	@mkdir -p $(@D)
	mosquitto_passwd -c -b $(@D)/passwd alice secret
	mosquitto_passwd -b $(@D)/passwd bob 'b0b pw'
	printf 'user alice\ntopic readwrite alice/#\ntopic read public/#\npattern readwrite users/%%u/#\n' > $(@D)/acl
	printf 'alice:00112233\nsensor-1:deadbeefcafe\n' > $(@D)/psk
	@touch $@

$(FUZZ_ECHO_WASM): fuzz/echo.wat
	@mkdir -p $(@D)
	wat2wasm $< -o $@

# Seeds: every module the tests build (fixtures, gate test modules, spec conformance modules,
# policies, generated hostile modules) for the gate; a handful of shaped requests for the hooks.
# libFuzzer adds what it finds to the first corpus directory; the seed directory is read-only input,
# and so is fuzz/regressions/ (inputs that once broke an invariant, kept so every run replays them).
FUZZ_GATE_CORPUS := $(FUZZ_DIR)/corpus/gate
FUZZ_HOOK_CORPUS := $(FUZZ_DIR)/corpus/hook
FUZZ_GATE_SEEDS  := $(FUZZ_DIR)/seeds/gate
FUZZ_HOOK_SEEDS  := $(FUZZ_DIR)/seeds/hook

fuzz-corpus: $(HOSTILE_FIXTURES) $(FUZZ_HOOK_POLICIES)
	@FUZZ_POLICY_COUNT=$(words $(FUZZ_HOOK_POLICIES)) fuzz/seeds.sh $(BUILD) $(FUZZ_GATE_SEEDS) $(FUZZ_HOOK_SEEDS)
	@mkdir -p $(FUZZ_GATE_CORPUS) $(FUZZ_HOOK_CORPUS) $(FUZZ_DIR)/artifacts

fuzz-build: $(GATE_FUZZ) $(HOOK_FUZZ) $(FUZZ_HOOK_POLICIES)

# -rss_limit_mb: the gate must not need more than this for any input (validate-only has no size
# cap, so this is what bounds it). -timeout: one input must not take seconds.
FUZZ_RUN_FLAGS := -rss_limit_mb=2048 -timeout=20 -max_len=65536 -print_final_stats=1
fuzz-gate: $(GATE_FUZZ) fuzz-corpus
	$(GATE_FUZZ) $(FUZZ_RUN_FLAGS) -max_total_time=$(or $(SECONDS_EACH),$(FUZZ_SECONDS)) \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/gate- $(FUZZ_GATE_CORPUS) $(FUZZ_GATE_SEEDS) fuzz/regressions/gate

fuzz-hook: $(HOOK_FUZZ) $(FUZZ_HOOK_POLICIES) $(FUZZ_FILES)/.stamp fuzz-corpus
	$(FUZZ_HOOK_ENV) $(HOOK_FUZZ) $(FUZZ_RUN_FLAGS) -max_total_time=$(or $(SECONDS_EACH),$(FUZZ_SECONDS)) \
		-artifact_prefix=$(FUZZ_DIR)/artifacts/hook- $(FUZZ_HOOK_CORPUS) $(FUZZ_HOOK_SEEDS) fuzz/regressions/hook

fuzz-repro-hook: $(HOOK_FUZZ) $(FUZZ_HOOK_POLICIES) $(FUZZ_FILES)/.stamp
	$(FUZZ_HOOK_ENV) $(HOOK_FUZZ) $(FILE)

fuzz-crosscheck: $(CHECK_BIN) fuzz-corpus
	fuzz/crosscheck.sh $(CHECK_BIN) $(FUZZ_GATE_CORPUS) $(FUZZ_GATE_SEEDS) fuzz/regressions/gate

fuzz:
	$(MAKE) fuzz-gate SECONDS_EACH=$(FUZZ_SECONDS)
	$(MAKE) fuzz-hook SECONDS_EACH=$(FUZZ_SECONDS)
	$(MAKE) fuzz-crosscheck

fuzz-ci:
	$(MAKE) fuzz-gate SECONDS_EACH=$(FUZZ_CI_SECONDS)
	$(MAKE) fuzz-hook SECONDS_EACH=$(FUZZ_CI_SECONDS)
	$(MAKE) fuzz-crosscheck

ifeq ($(HAVE_FUZZ_CC),yes)
test: fuzz-ci
else
test: fuzz-skipped
.PHONY: fuzz-skipped
fuzz-skipped:
	@echo "SKIPPED: fuzz-ci: $(FUZZ_CC) not found (apt-get install clang); the fuzzers did not run"
endif
