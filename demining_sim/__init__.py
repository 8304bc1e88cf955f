"""demining_sim package."""
