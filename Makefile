# mosquitto-wasm-auth: top-level targets. Each part adds its own rules in its .mk file;
# the targets below are the only entry points users need.
#   make            build plugin, checker, SDK host, default policy and examples
#   make run        build, then start a broker enforcing the default policy
#   make test       every test suite (C, as-pect, Node host, integration with a real broker)
#   make install    install the plugin, wasm-auth-check, the default and example policies (PREFIX, DESTDIR)
#   make uninstall  remove them again
#   make deb        build/deb/mosquitto-wasm-auth_VERSION_ARCH.deb (dpkg-deb)
#   make bench / bench-quick / fuzz
.DEFAULT_GOAL := all
.PHONY: all test run install uninstall deb bench bench-quick fuzz clean

BUILD    ?= build
NODE_BIN := node_modules/.bin
ASC      := $(NODE_BIN)/asc

include plugin-c/plugin.mk
include plugin-c/gate/gate.mk
include sdk/sdk.mk
include assembly/policy.mk
include examples/examples.mk
include tests/tests.mk
include tests/hostile/hostile.mk
include tests/soak/soak.mk
include bench/bench.mk
include fuzz/fuzz.mk
include packaging/packaging.mk

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

clean:
	rm -rf $(BUILD)
