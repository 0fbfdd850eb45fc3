# Go example plugins, built with the standard toolchain as WebAssembly reactors
# (GOOS=wasip1 GOARCH=wasm, -buildmode=c-shared) on top of the Go SDK in sdk/go.
# A plugin is rebuilt when its own sources, the SDK, the ABI package or go.mod change.
GO_PLUGIN_DEPS := $(filter-out %_test.go,$(wildcard sdk/go/*.go sdk/go/fchttp/*.go abi/*.go)) go.mod go.sum

# go_plugin defines the rule that builds the Go main package in $(2) into $(1).
define go_plugin
$(1): $(filter-out %_test.go,$(wildcard $(2)/*.go)) $(GO_PLUGIN_DEPS)
	@mkdir -p $$(@D)
	$$(GO_WASM) -o $$@ ./$(2)
endef

PLUGIN_TARGETS += $(PLUGINS_DIR)/example.wasm $(PLUGINS_DIR)/drip.wasm $(PLUGINS_DIR)/kinds.wasm $(PLUGINS_DIR)/webhook.wasm
$(eval $(call go_plugin,$(PLUGINS_DIR)/example.wasm,examples/go/example))
$(eval $(call go_plugin,$(PLUGINS_DIR)/drip.wasm,examples/go/drip))
$(eval $(call go_plugin,$(PLUGINS_DIR)/kinds.wasm,examples/go/kinds))
$(eval $(call go_plugin,$(PLUGINS_DIR)/webhook.wasm,examples/go/webhook))
