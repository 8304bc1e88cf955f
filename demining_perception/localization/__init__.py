"""localization package."""
