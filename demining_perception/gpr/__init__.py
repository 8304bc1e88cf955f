"""gpr package."""
