# AssemblyScript plugins: the assemblyscript compiler from npm, at the version pinned in
# package-lock.json, with the SDK's compiler options (asconfig.json extends the SDK's).
AS_DIR := examples/assemblyscript
AS_SDK := sdk/assemblyscript/assembly/index.ts sdk/assemblyscript/asconfig.json

PLUGIN_TARGETS += $(PLUGINS_DIR)/example_as.wasm $(PLUGINS_DIR)/drip_as.wasm

$(PLUGINS_DIR)/%_as.wasm: $(AS_DIR)/assembly/%.ts $(AS_DIR)/asconfig.json $(AS_SDK) $(AS_DIR)/node_modules/.package-lock.json
	cd $(AS_DIR) && node_modules/.bin/asc assembly/$*.ts -o $(abspath $@)

# npm ci installs the pinned compiler when node_modules is missing or older than the lock.
$(AS_DIR)/node_modules/.package-lock.json: $(AS_DIR)/package-lock.json | deps-node
	cd $(AS_DIR) && npm ci --no-audit --no-fund
	touch $@

.PHONY: deps-node
# deps-node installs Node.js and npm when npm is missing. The compiler asks for Node 20;
# Debian 12's Node 18 builds these examples all the same, with a warning.
deps-node:
	$(call apt_install,npm,nodejs npm)
