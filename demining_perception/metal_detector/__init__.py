"""metal_detector package."""
