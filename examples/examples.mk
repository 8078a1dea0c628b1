# Example policies (examples/NAME/policy.ts -> build/examples/NAME.wasm). Included by the
# top-level Makefile after assembly/policy.mk (which defines POLICY_ASC_FLAGS, POLICY_SDK_SRC and
# test-policies; the examples' specs and .wasm-level tests run there).

EXAMPLE_NAMES := $(patsubst examples/%/policy.ts,%,$(wildcard examples/*/policy.ts))
EXAMPLE_WASMS := $(EXAMPLE_NAMES:%=$(BUILD)/examples/%.wasm)

$(BUILD)/examples/%.wasm: examples/%/policy.ts $(POLICY_SDK_SRC) asconfig.json $(SDK_TRANSFORM_JS) node_modules/.package-lock.json
	@mkdir -p $(@D)
	$(ASC) $< $(POLICY_ASC_FLAGS) -o $@

all: $(EXAMPLE_WASMS)

test-policies: $(EXAMPLE_WASMS)
