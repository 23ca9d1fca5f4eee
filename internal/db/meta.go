package db

import (
	"context"
	"errors"
	"fmt"
)

// Meta reads a store-wide setting; ok is false when it is unset.
func (d *DB) Meta(ctx context.Context, key string) (value string, ok bool, err error) {
	err = Get(ctx, d.R, &value, "SELECT value FROM meta WHERE key = ?", key)
	if errors.Is(err, ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("db: read meta %s: %w", key, err)
	}
	return value, true, nil
}

// SetMeta writes a store-wide setting.
func SetMeta(ctx context.Context, q Q, key, value string) error {
	_, err := Exec(ctx, q, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	if err != nil {
		return fmt.Errorf("db: write meta %s: %w", key, err)
	}
	return nil
}
