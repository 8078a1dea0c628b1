# mosquitto-wasm-auth: top-level targets. Each part adds its own rules in its .mk file;
# the targets below are the only entry points users need.
#   make            build plugin, checker, SDK host, default policy and examples
#   make run        build, then start a broker enforcing the default policy
#   make test       every test suite (C, as-pect, Node host, integration with real brokers: 2.0.11, 2.1.2)
#   make install    install the plugin, wasm-auth-check, the default and example policies (PREFIX, DESTDIR)
#   make uninstall  remove them again
#   make deb        build/deb/mosquitto-wasm-auth_VERSION_ARCH.deb (dpkg-deb)
#   make pack       npm packages for policy authors in build/pack/ (docs/PACKAGES.md)
#   make bench / bench-quick / fuzz
#   make format     apply .clang-format to every C file (make format-check, part of make test, checks)
.DEFAULT_GOAL := all
# Prerequisites written $$(VAR) are expanded once every .mk file is read: a rule may then name
# variables a later file defines (plugin.mk's archives and gate.mk's GATE_OBJS).
.SECONDEXPANSION:
.PHONY: all test run install uninstall deb pack bench bench-quick fuzz clean format format-check

BUILD    ?= build
NODE_BIN := node_modules/.bin
ASC      := $(NODE_BIN)/asc

include plugin-c/plugin.mk
include plugin-c/gate/gate.mk
include sdk/sdk.mk
include assembly/policy.mk
include examples/examples.mk
include tests/tests.mk
include tests/mosquitto21.mk
include tests/hostile/hostile.mk
include tests/soak/soak.mk
include bench/bench.mk
include fuzz/fuzz.mk
include packaging/packaging.mk
include npm/npm.mk

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf $(BUILD)

# One C style (.clang-format) for every C file of the repository.
CLANG_FORMAT ?= clang-format-14
C_SOURCES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	$(CLANG_FORMAT) -i $(C_SOURCES)

format-check:
	@if ! command -v $(CLANG_FORMAT) >/dev/null 2>&1; then \
		echo "format-check: SKIPPED ($(CLANG_FORMAT) not installed)"; \
	else \
		$(CLANG_FORMAT) --dry-run -Werror $(C_SOURCES) && echo "format-check: every C file follows .clang-format"; \
	fi

test: format-check
