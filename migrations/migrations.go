// Package migrations holds the database schema as SQL files, applied in order by goose
// (github.com/pressly/goose/v3) at start-up. FS embeds them into the host binary.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql
var FS embed.FS
