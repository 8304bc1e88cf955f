"""Parameters shared by several nodes, declared once (the profile's ``/**`` section).

Each function returns a :func:`demining_bringup.contract.parameters.param` field, so every
schema that needs, say, the tool width declares it with the same default, description and
range: a value one node accepts can never be refused by another.
"""

from __future__ import annotations

from typing import Any

from demining_bringup.contract.parameters import param


def area_file() -> Any:
    """World SDF or GeoJSON hazard area: field polygon, exclusions, geographic origin."""
    return param('', 'world SDF or GeoJSON hazard area (field, exclusion zones, WGS84 origin)',
                 read_only=True)


def resume_dir() -> Any:
    """Run folder of a crashed mission to continue from its journal ('' for a new mission)."""
    return param('', "run folder of an interrupted mission to resume from its journal "
                 "('' for a new mission)", read_only=True)


def tool_width_m() -> Any:
    """Width processed by the flail (docs/sources.md: 1.7-2.2 m)."""
    return param(2.0, 'width processed by the flail, m (docs/sources.md: 1.7-2.2)', min=0.2,
                 max=10.0)


def tool_offset_x_m() -> Any:
    """Tool centre ahead of base_link."""
    return param(2.6, 'tool centre ahead of base_link, m', min=0.0, max=20.0)


def working_depth_m() -> Any:
    """Required processing depth (IMAS 09.50: national standards often ask 15 cm)."""
    return param(0.15, 'required processing depth, m (IMAS 09.50 national standards often ask '
                 '15 cm)', min=0.0, max=1.0)


def working_speed_mps() -> Any:
    """Forward speed while processing (Juneja 2016, docs/sources.md: 0.3-1.5 km/h)."""
    return param(0.4, 'speed on work legs, m/s (docs/sources.md: 0.3-1.5 km/h)', min=0.01, max=5.0)


def flail_speed_radps() -> Any:
    """Flail rotor target speed: 800 rpm (docs/sources.md: flail rotors turn 400-900 rpm)."""
    return param(83.8, 'flail rotor target speed, rad/s (800 rpm; docs/sources.md)', min=0.0,
                 max=200.0)


def ready_speed_fraction() -> Any:
    """Share of the target rotor speed at which the flail counts as at speed."""
    return param(0.9, 'the flail is at speed above this fraction of its target speed',
                 min=0.1, max=1.0)


def depth_tolerance_m() -> Any:
    """How close to the working depth the tool counts as at depth."""
    return param(0.02, 'the tool is at depth within this of the working depth, m', min=0.001,
                 max=0.2)


def no_go_margin_m() -> Any:
    """Margin around a detected AT mine or UXO that nothing of the machine may enter."""
    return param(1.0, 'no-go margin around a detected AT mine or UXO (anti-handling devices, AP '
                 'mines laid beside AT mines: docs/sources.md), m', min=0.0, max=20.0)


def footprint_rear_m() -> Any:
    """The machine's footprint behind base_link (hull)."""
    return param(3.0, 'machine footprint behind base_link (hull), m', min=0.0, max=20.0)


def footprint_front_m() -> Any:
    """The machine's footprint ahead of base_link (the flail and its hammers)."""
    return param(3.3, 'machine footprint ahead of base_link (the flail with its hammers), m',
                 min=0.0, max=20.0)


def footprint_half_width_m() -> Any:
    """Half the machine's footprint width (hull, flail)."""
    return param(1.1, 'half the machine footprint width (hull, flail), m', min=0.1, max=10.0)


def track_gauge_m() -> Any:
    """Track centre-to-centre distance."""
    return param(1.6, 'track centre-to-centre distance, m', min=0.3, max=5.0)


def track_width_m() -> Any:
    """Width of one track."""
    return param(0.35, 'width of one track, m', min=0.05, max=2.0)


def track_length_m() -> Any:
    """Ground contact length of a track, centred on base_link."""
    return param(4.0, 'ground contact length of a track (centred on base_link), m', min=0.5,
                 max=20.0)


def geofence_margin_m() -> Any:
    """How far the machine may go beyond allowed ground (field, declared safe ground)."""
    return param(10.0, 'the geofence is the field and the declared safe ground (approach lanes, '
                 'safe areas, safe margin) grown by this, m: localisation noise at the start '
                 'and lane ends; a plan that leaves it is refused', min=0.0, max=1000.0)


def sensor_offset_x_m() -> Any:
    """Centre of the GPR/MD boom ahead of base_link (the sensors go first)."""
    return param(4.0, 'GPR/MD boom centre ahead of base_link, m', min=0.0, max=20.0)


def sensor_width_m() -> Any:
    """Width covered by the GPR/MD arrays (docs/sources.md: about the tool width)."""
    return param(2.0, 'width covered by the GPR/MD arrays, m', min=0.1, max=10.0)
