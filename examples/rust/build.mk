# Rust plugins: a cargo workspace (examples/rust) on serde, built offline from the crates
# Debian packages (debian-registry.toml points cargo at /usr/share/cargo/registry).
# CARGO and RUSTC are Debian's: their wasm32-wasi standard library comes with
# libstd-rust-dev-wasm32, which a rustup toolchain found first on PATH may lack. With
# rustup and crates.io (Rust 1.78 or later), build with
#   make plugins CARGO=cargo RUSTC=rustc RUSTDOC=rustdoc RUST_TARGET=wasm32-wasip1 RUST_CARGO_CONFIG=
CARGO ?= /usr/bin/cargo
RUSTC ?= /usr/bin/rustc
RUSTDOC ?= /usr/bin/rustdoc
RUST_TARGET ?= wasm32-wasi
RUST_DIR := examples/rust
RUST_CARGO_CONFIG ?= --config debian-registry.toml
RUST_SDK := sdk/rust/Cargo.toml $(wildcard sdk/rust/src/*.rs)
# Debian's packaged crates the SDK and the examples depend on.
RUST_CRATES := librust-serde-dev librust-serde-derive-dev librust-serde-json-dev

PLUGIN_TARGETS += $(PLUGINS_DIR)/example_rust.wasm $(PLUGINS_DIR)/drip_rust.wasm

$(PLUGINS_DIR)/%_rust.wasm: $(RUST_DIR)/%/src/lib.rs $(RUST_DIR)/%/Cargo.toml $(RUST_DIR)/Cargo.toml $(RUST_DIR)/debian-registry.toml $(RUST_SDK) | deps-rust
	cd $(RUST_DIR) && RUSTC=$(RUSTC) $(CARGO) build $(RUST_CARGO_CONFIG) --release --target $(RUST_TARGET) -p $*_rust
	cp $(RUST_DIR)/target/$(RUST_TARGET)/release/$*_rust.wasm $@

.PHONY: deps-rust
# deps-rust installs Debian's cargo, Rust with its wasm32-wasi std, and the crates, unless
# RUSTC can already link an empty wasm32 library and cargo and the crates are there.
deps-rust:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	if ! echo '' | $(RUSTC) --target $(RUST_TARGET) --crate-type cdylib --crate-name probe --out-dir "$$tmp" - >/dev/null 2>&1 || \
		! command -v $(CARGO) >/dev/null 2>&1 || \
		{ [ -n "$(RUST_CARGO_CONFIG)" ] && ! ls -d $(addprefix /usr/share/cargo/registry/,serde-1.* serde_derive-1.* serde_json-1.*) >/dev/null 2>&1; }; then \
		echo "installing cargo, rustc, libstd-rust-dev-wasm32, lld and $(RUST_CRATES) (for Rust plugins)"; \
		if [ "$$(id -u)" != 0 ]; then echo "no wasm32-wasi Rust toolchain: install the Debian packages cargo rustc libstd-rust-dev-wasm32 lld $(RUST_CRATES)"; exit 1; fi; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends cargo rustc libstd-rust-dev-wasm32 lld $(RUST_CRATES); \
	fi

# The SDK's own tests (schemas, serde round trips) run natively with make test.
.PHONY: test-rust-sdk
test: test-rust-sdk
test-rust-sdk: | deps-rust
	cd sdk/rust && RUSTC=$(RUSTC) RUSTDOC=$(RUSTDOC) $(CARGO) test $(RUST_CARGO_CONFIG:debian-registry.toml=../../$(RUST_DIR)/debian-registry.toml) --target-dir ../../$(RUST_DIR)/target
