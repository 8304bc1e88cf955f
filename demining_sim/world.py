"""The plain world model every simulator part reads (field, terrain, soil, items, obstacles).

Coordinates are the ``map`` frame: ENU metres from the world's geographic origin
(SDF ``spherical_coordinates``), x east, y north, z up. Depths are positive down.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import List, Optional, Tuple

import numpy as np

Polygon = List[Tuple[float, float]]


class WorldError(ValueError):
    """A world file is missing, malformed or describes an impossible world."""


class ItemKind(str, enum.Enum):
    """Buried item kinds (the ``kind`` element of ``<demining:item>``)."""

    AP = 'AP'
    AT = 'AT'
    UXO = 'UXO'
    CLUTTER = 'clutter'


@dataclasses.dataclass
class GeoOrigin:
    """WGS84 origin of the map frame (SDF spherical_coordinates)."""

    latitude_deg: float
    longitude_deg: float
    elevation_m: float = 0.0
    heading_deg: float = 0.0


@dataclasses.dataclass
class Soil:
    """Soil electromagnetic properties (field-facts: soils table)."""

    name: str = 'loam'
    permittivity: float = 9.0          # relative
    conductivity: float = 0.01         # S/m
    magnetic_susceptibility: float = 1e-4   # SI, raises MD background (laterite ~1e-3)
    roughness_m: float = 0.02          # surface roughness, for GPR ground bounce jitter
    rock_density_per_m2: float = 0.0   # GPR clutter (rocks, roots) per m^2


@dataclasses.dataclass
class BuriedItem:
    """A mine, UXO or clutter object under the surface."""

    name: str
    kind: ItemKind
    x: float
    y: float
    depth: float                       # m, top of the object below the surface
    diameter: float = 0.1              # m
    height: float = 0.05               # m
    metal_mass: float = 0.002          # kg
    explosive_mass: float = 0.0        # kg
    permittivity: float = 3.0          # relative (TNT/plastic ~3)
    model: str = ''                    # e.g. PMN, TM-62M


@dataclasses.dataclass
class Obstacle:
    """Something the vehicle must not hit (tree, rock, ruin), as a vertical cylinder."""

    name: str
    x: float
    y: float
    radius: float
    height: float = 1.0
    kind: str = 'rock'


@dataclasses.dataclass
class Terrain:
    """Ground height: flat (``heights is None``) or a regular heightmap grid.

    ``heights[i, j]`` is the height at ``x = origin_x + j * resolution``,
    ``y = origin_y + i * resolution``.
    """

    heights: Optional[np.ndarray] = None
    origin_x: float = 0.0
    origin_y: float = 0.0
    resolution: float = 1.0
    flat_height: float = 0.0


@dataclasses.dataclass
class World:
    """Everything the simulator and the mission need to know about a minefield."""

    name: str
    origin: GeoOrigin
    field: Polygon                                  # hazard area, counter-clockwise
    exclusion_zones: List[Polygon] = dataclasses.field(default_factory=list)
    approach_lane: Optional[Polygon] = None
    soil: Soil = dataclasses.field(default_factory=Soil)
    terrain: Terrain = dataclasses.field(default_factory=Terrain)
    items: List[BuriedItem] = dataclasses.field(default_factory=list)
    obstacles: List[Obstacle] = dataclasses.field(default_factory=list)
    vehicle_start: Tuple[float, float, float] = (0.0, 0.0, 0.0)   # x, y, yaw
    source: str = ''                                # file it was read from
