"""demining_control package."""
