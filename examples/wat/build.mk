# Hand-written WAT plugins. The text format has no include, so lib.wat is pasted into each
# module at its ";; include lib.wat" line before wat2wasm assembles it. The features are
# limited to WebAssembly 1.0 (MVP), as the ABI promises.
WAT_FLAGS := --disable-bulk-memory --disable-reference-types --disable-multi-value \
	--disable-sign-extension --disable-saturating-float-to-int --disable-simd

PLUGIN_TARGETS += $(PLUGINS_DIR)/example_wat.wasm $(PLUGINS_DIR)/drip_wat.wasm

$(PLUGINS_DIR)/%_wat.wasm: examples/wat/%.wat examples/wat/lib.wat | deps-wabt
	tmp=$$(mktemp --suffix=.wat) && trap 'rm -f "$$tmp"' EXIT && \
	sed '/;; include lib.wat/r examples/wat/lib.wat' $< > "$$tmp" && \
	wat2wasm $(WAT_FLAGS) -o $@ "$$tmp"
