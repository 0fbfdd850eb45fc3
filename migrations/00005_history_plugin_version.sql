-- The plugin version each attempt ran on: the manifest's version of the module that
-- served it. Plugins are swapped while the host runs (hot reload), so the history says
-- which version ran each attempt. NULL for calls removed without running and for
-- attempts recorded before this column existed.

-- +goose Up
ALTER TABLE future_call_history ADD COLUMN plugin_version text;

-- +goose Down
ALTER TABLE future_call_history DROP COLUMN plugin_version;
