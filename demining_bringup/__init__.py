"""demining_bringup package."""
