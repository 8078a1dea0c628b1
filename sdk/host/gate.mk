# The module gate as WebAssembly, for the Node host (sdk/host/gate.ts): the gate's own C sources
# (GATE_SRCS, plugin-c/gate/gate.mk) plus plugin-c/gate/gate_wasm.c's flat entry points, built
# with clang for wasm32-wasi (Debian packages clang-14, lld-14, wasi-libc,
# libclang-rt-14-dev-wasm32). Included by sdk/sdk.mk, after gate.mk and the host's rules.
#   GATE_WASM     build/gate.wasm
#   GATE_WASM_JS  the copy next to the compiled host (build/js/sdk/host/), where gate.ts finds it
WASM_CC         ?= clang-14
GATE_WASM       := $(BUILD)/gate.wasm
GATE_WASM_JS    := $(BUILD)/js/sdk/host/gate.wasm
# A reactor (no main; _initialize sets up libc). The gate's heap grows as it needs; its C stack
# is 1 MiB (it keeps its big structures on the heap).
GATE_WASM_FLAGS := --target=wasm32-wasi -mexec-model=reactor -std=c11 -Wall -Wextra -Werror -O2 \
                   -Wl,-z,stack-size=1048576 -Wl,--strip-debug

$(GATE_WASM): $(GATE_DIR)/gate_wasm.c $(GATE_SRCS) plugin-c/runtime/abi.c $(GATE_HDRS) sdk/host/gate.mk
	@mkdir -p $(@D)
	$(WASM_CC) $(GATE_WASM_FLAGS) -o $@ $(GATE_DIR)/gate_wasm.c $(GATE_SRCS) plugin-c/runtime/abi.c

$(GATE_WASM_JS): $(GATE_WASM)
	@mkdir -p $(@D)
	cp $< $@

all: $(GATE_WASM_JS)

# Every target that runs the compiled host depends on one of these stamps; order-only, so that a
# rebuilt gate does not recompile the TypeScript.
$(HOST_JS) $(SDK_HOST_JS): | $(GATE_WASM_JS)
