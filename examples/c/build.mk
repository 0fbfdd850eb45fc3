# C plugins: clang for wasm32-wasi (Debian's clang, lld, wasi-libc and the wasm32 compiler
# runtime), built as reactors with sdk/c.
WASI_CC ?= clang
WASI_CFLAGS ?= -O2 -std=c11 -Wall -Wextra -Werror
C_SDK := sdk/c/futurecalls.h sdk/c/futurecalls.c

PLUGIN_TARGETS += $(PLUGINS_DIR)/example_c.wasm $(PLUGINS_DIR)/drip_c.wasm

$(PLUGINS_DIR)/%_c.wasm: examples/c/%.c $(C_SDK) | deps-c
	$(WASI_CC) --target=wasm32-wasi -mexec-model=reactor $(WASI_CFLAGS) -Isdk/c -Wl,--strip-all \
		-o $@ $< sdk/c/futurecalls.c

.PHONY: deps-c
# deps-c installs the toolchain unless it can already link an empty reactor.
deps-c:
	@if ! echo 'int x;' | $(WASI_CC) --target=wasm32-wasi -mexec-model=reactor -x c -o /dev/null - 2>/dev/null; then \
		echo "installing clang, lld, wasi-libc and libclang-rt-14-dev-wasm32 (for C plugins)"; \
		if [ "$$(id -u)" != 0 ]; then echo "no wasm32-wasi C toolchain: install the Debian packages clang lld wasi-libc libclang-rt-14-dev-wasm32"; exit 1; fi; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends clang lld wasi-libc libclang-rt-14-dev-wasm32; \
	fi
