# Rust plugins, built with rustc alone: no cargo, no crates.io. RUSTC is Debian's rustc,
# whose libstd-rust-dev-wasm32 brings the wasm32-wasi standard library that a rustup
# toolchain found first on PATH may lack. With rustup and Rust 1.78 or later, use
# RUSTC=rustc RUST_TARGET=wasm32-wasip1.
RUSTC ?= /usr/bin/rustc
RUST_TARGET ?= wasm32-wasi
RUST_FLAGS := --target $(RUST_TARGET) --edition 2021 -C opt-level=s
RUST_SDK := $(wildcard sdk/rust/src/*.rs)

PLUGIN_TARGETS += $(PLUGINS_DIR)/example_rust.wasm $(PLUGINS_DIR)/drip_rust.wasm

# The SDK is compiled into a scratch directory for each plugin: it takes a second.
$(PLUGINS_DIR)/%_rust.wasm: examples/rust/%/src/lib.rs $(RUST_SDK) | deps-rust
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(RUSTC) $(RUST_FLAGS) --crate-type rlib --crate-name futurecalls --out-dir "$$tmp" sdk/rust/src/lib.rs && \
	$(RUSTC) $(RUST_FLAGS) -C lto -C strip=symbols --crate-type cdylib --crate-name $*_rust \
		--extern futurecalls="$$tmp/libfuturecalls.rlib" -o $@ $<

.PHONY: deps-rust
# deps-rust installs Debian's Rust and its wasm32-wasi std unless RUSTC can already link
# an empty wasm32 library.
deps-rust:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	if ! echo '' | $(RUSTC) --target $(RUST_TARGET) --crate-type cdylib --crate-name probe --out-dir "$$tmp" - >/dev/null 2>&1; then \
		echo "installing rustc, libstd-rust-dev-wasm32 and lld (for Rust plugins)"; \
		if [ "$$(id -u)" != 0 ]; then echo "no wasm32-wasi Rust toolchain: install the Debian packages rustc libstd-rust-dev-wasm32 lld"; exit 1; fi; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends rustc libstd-rust-dev-wasm32 lld; \
	fi
