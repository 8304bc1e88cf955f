"""mission package."""
