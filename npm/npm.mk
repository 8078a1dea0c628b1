# npm packages for policy authors working outside this repository (docs/PACKAGES.md), and their
# end-to-end test. Included by the top-level Makefile.
#   make pack            BUILD/pack/: mosquitto-wasm-auth (SDK), @mosquitto-wasm-auth/host
#                        (Node host, gate.wasm, wasm-auth command), create-mosquitto-wasm-auth
#   make test-packages   pack, scaffold a project outside the repository from the tarballs,
#                        npm install/test/build/check it, and run its policy in a real broker
.PHONY: pack test-packages

PACK_DIR      := $(BUILD)/pack
# The root package.json's "version" (read without starting node on every make run).
PACK_VERSION  := $(shell sed -n 's/^  "version": "\([^"]*\)".*/\1/p' package.json)
PACKAGES_JS   := $(BUILD)/js/.npm.stamp
PACKAGES_SRC  := $(shell find npm -type f 2>/dev/null)
# The asc transform that checks hook signatures (sdk/transform, compiled to
# BUILD/js/sdk/transform/ by the SDK_TRANSFORM_JS rule): the SDK package ships it, and a
# scaffolded project's builds use it, when it is built; stage.js says so when it is not.
PACK_TRANSFORM_DEPS ?= $(SDK_TRANSFORM_JS) $(wildcard $(BUILD)/js/sdk/transform/*.js)

$(PACKAGES_JS): npm/tsconfig.json tsconfig.json node_modules/.package-lock.json $(filter %.ts,$(PACKAGES_SRC)) sdk/host/limits.ts
	$(NODE_BIN)/tsc -p npm/tsconfig.json
	@mkdir -p $(@D) && touch $@

# One stamp for the three tarballs: the staging script writes them together.
$(PACK_DIR)/.stamp: $(PACKAGES_JS) $(PACKAGES_SRC) $(SDK_AS_SRC) $(SDK_HOST_JS) $(GATE_WASM) asconfig.json package.json \
                    $(PACK_TRANSFORM_DEPS)
	@mkdir -p $(PACK_DIR)
	rm -f $(PACK_DIR)/*.tgz
	node $(BUILD)/js/npm/stage.js . $(BUILD) $(PACK_DIR)
	@touch $@

pack: $(PACK_DIR)/.stamp

test-packages: $(PACK_DIR)/.stamp $(PLUGIN_SO) $(HOST_JS)
	$(TEST_ENV) PACK_DIR=$(PACK_DIR) PACK_VERSION=$(PACK_VERSION) node --test $(BUILD)/js/tests/packages/*.test.js

test: test-packages
