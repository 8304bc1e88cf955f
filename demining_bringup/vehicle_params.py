"""Parameters shared by several nodes, declared once (the profile's ``/**`` section).

Each function returns a :func:`demining_bringup.parameters.param` field, so every schema that
needs, say, the tool width declares it with the same default, description and range: a value
one node accepts can never be refused by another.
"""

from __future__ import annotations

from typing import Any

from demining_bringup.parameters import param


def area_file() -> Any:
    """World SDF or GeoJSON hazard area: field polygon, exclusions, geographic origin."""
    return param('', 'world SDF or GeoJSON hazard area (field, exclusion zones, WGS84 origin)',
                 read_only=True)


def tool_width_m() -> Any:
    """Width processed by the flail (field-facts: 1.7-2.2 m)."""
    return param(2.0, 'width processed by the flail, m (field-facts: 1.7-2.2)', min=0.2,
                 max=10.0)


def tool_offset_x_m() -> Any:
    """Tool centre ahead of base_link."""
    return param(2.6, 'tool centre ahead of base_link, m', min=0.0, max=20.0)


def working_depth_m() -> Any:
    """Required processing depth (IMAS 09.50: national standards often ask 15 cm)."""
    return param(0.15, 'required processing depth, m (IMAS 09.50 national standards often ask '
                 '15 cm)', min=0.0, max=1.0)


def working_speed_mps() -> Any:
    """Forward speed while processing (field-facts: 0.3-1.5 km/h)."""
    return param(0.4, 'speed on work legs, m/s (field-facts: 0.3-1.5 km/h)', min=0.01, max=5.0)
