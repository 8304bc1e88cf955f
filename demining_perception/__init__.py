"""demining_perception package."""
