package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// migrationFS holds the schema history: migrations/NNNN_name.sql, numbered
// from 1 without gaps. Migrations are forward only: once released, a file is
// never edited; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads and orders the migrations in fsys, refusing gaps and
// duplicates: a numbering mistake must fail the build's tests, not a
// customer's database.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, name := range names {
		base := path.Base(name)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must be NNNN_name.sql", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: expected version %d (numbers start at 1, no gaps or duplicates)", m.name, i+1)
		}
	}
	return ms, nil
}

// LatestSchemaVersion is the schema version this binary migrates to.
func LatestSchemaVersion() int {
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate brings db up to the newest migration in fsys. PRAGMA user_version
// is the authority (it changes atomically with the migration's transaction);
// schema_version keeps a human-readable history beside it. Each migration
// runs in its own IMMEDIATE transaction and re-reads the version inside it,
// so two processes opening a new file at once apply each migration once.
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS, now func() time.Time) error {
	ms, err := loadMigrations(fsys)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	latest := len(ms)
	cur, err := userVersion(ctx, db)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if cur > latest {
		return fmt.Errorf("migrate: %w: the file is at schema version %d, this binary knows up to %d",
			ErrSchemaTooNew, cur, latest)
	}
	for _, m := range ms[cur:] {
		if err := applyMigration(ctx, db, m, latest, now); err != nil {
			return fmt.Errorf("migrate to version %d (%s): %w", m.version, m.name, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration, latest int, now func() time.Time) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var cur int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&cur); err != nil {
		return classify(err)
	}
	switch {
	case cur > latest:
		return fmt.Errorf("%w: the file is at schema version %d, this binary knows up to %d", ErrSchemaTooNew, cur, latest)
	case cur >= m.version:
		return nil // another process got here first
	case cur != m.version-1:
		return fmt.Errorf("file is at schema version %d, cannot apply %d", cur, m.version)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return classify(err)
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return classify(err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, now().UnixMilli()); err != nil {
		return classify(err)
	}
	// PRAGMA takes no bound parameters; the version is an int we produced.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version)); err != nil {
		return classify(err)
	}
	return classify(tx.Commit())
}

func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", classify(err))
	}
	return v, nil
}

// SchemaVersion reports the schema version of the open database.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return userVersion(ctx, db.read)
}
