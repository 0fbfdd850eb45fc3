# Test plugins (host/internal/testplugins): small WAT modules, most of them broken or
# hostile on purpose, a well-behaved Go probe, and gofetch (net/http in a plugin). `make testplugins` builds them into
# $(TESTPLUGINS_DIR); the host's tests fail, naming this target, when one is missing.
TESTPLUGINS_SRC := host/internal/testplugins
TESTPLUGINS_WAT := $(filter-out $(TESTPLUGINS_SRC)/wat/lib.wat,$(wildcard $(TESTPLUGINS_SRC)/wat/*.wat))

TESTPLUGIN_TARGETS += $(TESTPLUGINS_WAT:$(TESTPLUGINS_SRC)/wat/%.wat=$(TESTPLUGINS_DIR)/%.wasm) \
	$(TESTPLUGINS_DIR)/probe.wasm $(TESTPLUGINS_DIR)/gofetch.wasm $(TESTPLUGINS_DIR)/invalid.wasm $(TESTPLUGINS_DIR)/noop_duplicate.wasm

# lib.wat is pasted into a module at its ";; include lib.wat" line.
$(TESTPLUGINS_DIR)/%.wasm: $(TESTPLUGINS_SRC)/wat/%.wat $(TESTPLUGINS_SRC)/wat/lib.wat | deps-wabt
	@mkdir -p $(@D)
	tmp=$$(mktemp --suffix=.wat) && trap 'rm -f "$$tmp"' EXIT && \
	sed '/;; include lib.wat/r $(TESTPLUGINS_SRC)/wat/lib.wat' $< > "$$tmp" && \
	wat2wasm -o $@ "$$tmp"

# invalid.wasm is not WebAssembly at all.
$(TESTPLUGINS_DIR)/invalid.wasm: $(TESTPLUGINS_SRC)/build.mk
	@mkdir -p $(@D)
	printf 'this is not a WebAssembly module\n' > $@

# noop_duplicate.wasm claims the plugin name of noop.wasm (and sorts after it).
$(TESTPLUGINS_DIR)/noop_duplicate.wasm: $(TESTPLUGINS_DIR)/noop.wasm
	cp $< $@

# go_plugin is defined by examples/go/build.mk, which the Makefile includes first.
$(eval $(call go_plugin,$(TESTPLUGINS_DIR)/probe.wasm,$(TESTPLUGINS_SRC)/probe))
$(eval $(call go_plugin,$(TESTPLUGINS_DIR)/gofetch.wasm,$(TESTPLUGINS_SRC)/gofetch))

# C test plugins, built with sdk/c like the C examples (examples/c/build.mk).
TESTPLUGIN_TARGETS += $(TESTPLUGINS_DIR)/gallery.wasm
$(TESTPLUGINS_DIR)/%.wasm: $(TESTPLUGINS_SRC)/c/%.c $(C_SDK) | deps-c
	@mkdir -p $(@D)
	$(WASI_CC) --target=wasm32-wasi -mexec-model=reactor $(WASI_CFLAGS) -Isdk/c -Wl,--strip-all \
		-o $@ $< sdk/c/futurecalls.c
