"""The plain world model every simulator part reads (field, terrain, soil, items, obstacles).

Coordinates are the ``map`` frame: ENU metres from the world's geographic origin
(SDF ``spherical_coordinates``), x east, y north, z up. Depths are positive down.

The SDF reader and writer (``load_world``, ``write_world``) live in
:mod:`demining_bringup.contract.sdf`, which imports this module (never the other way round).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon as ShapelyPolygon

Polygon = List[Tuple[float, float]]

# Heights loaded from a 16-bit PNG differ from the float array they were written from by at
# most half a grey level; two terrains closer than this are "the same ground".
HEIGHT_EQUALITY_TOLERANCE_M = 1e-3


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
    """Soil electromagnetic properties (docs/sources.md: soils table)."""

    name: str = 'loam'
    permittivity: float = 9.0          # relative
    conductivity: float = 0.01         # S/m
    magnetic_susceptibility: float = 1e-4   # SI, raises MD background (laterite ~1e-3)
    roughness_m: float = 0.02          # surface roughness, for GPR ground bounce jitter
    rock_density_per_m2: float = 0.0   # GPR clutter (rocks, roots) per m^2


@dataclasses.dataclass
class BuriedItem:
    """A mine, UXO or clutter object under the surface.

    ``diameter`` is the horizontal extent and ``height`` the vertical extent of the object as it
    lies (an 82 mm mortar round lying flat: diameter 0.33, height 0.082).
    """

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

    @property
    def is_hazard(self) -> bool:
        """True for items that explode (AP, AT, UXO), False for clutter."""
        return self.kind != ItemKind.CLUTTER


class ObstacleShape(str, enum.Enum):
    """Collision shape of an obstacle in the SDF file."""

    CYLINDER = 'cylinder'
    BOX = 'box'


@dataclasses.dataclass
class Obstacle:
    """Something the vehicle must not hit (tree, rock, ruin), as a vertical cylinder.

    Boxes (``shape == 'box'``, ``length`` along the obstacle's yawed x axis, ``width`` across)
    keep ``radius`` as their bounding circle so code that only knows cylinders stays safe.
    """

    name: str
    x: float
    y: float
    radius: float
    height: float = 1.0
    kind: str = 'rock'
    shape: str = ObstacleShape.CYLINDER.value
    length: float = 0.0                # m, box only
    width: float = 0.0                 # m, box only
    yaw: float = 0.0                   # rad, box only

    def contains(self, x, y, margin: float = 0.0):
        """True where (x, y) lies inside the obstacle grown by ``margin`` (vectorised)."""
        dx = np.asarray(x, dtype=float) - self.x
        dy = np.asarray(y, dtype=float) - self.y
        if self.shape != ObstacleShape.BOX.value:
            return np.hypot(dx, dy) <= self.radius + margin
        c, s = math.cos(self.yaw), math.sin(self.yaw)
        u = c * dx + s * dy
        v = -s * dx + c * dy
        return (np.abs(u) <= self.length / 2.0 + margin) & (np.abs(v) <= self.width / 2.0 + margin)

    def footprint(self, segments: int = 16) -> List[Tuple[float, float]]:
        """The ground the obstacle stands on, counter-clockwise: its box, or a polygon of
        ``segments`` sides round its circle (circumscribed: it holds the whole circle)."""
        if self.shape == ObstacleShape.BOX.value and self.length > 0.0 and self.width > 0.0:
            c, s = math.cos(self.yaw), math.sin(self.yaw)
            hl, hw = 0.5 * self.length, 0.5 * self.width
            return [(self.x + c * u - s * v, self.y + s * u + c * v)
                    for u, v in ((-hl, -hw), (hl, -hw), (hl, hw), (-hl, hw))]
        r = self.radius / math.cos(math.pi / segments)
        return [(self.x + r * math.cos(2.0 * math.pi * k / segments),
                 self.y + r * math.sin(2.0 * math.pi * k / segments)) for k in range(segments)]


@dataclasses.dataclass(eq=False)
class Terrain:
    """Ground height: flat (``heights is None``) or a regular heightmap grid.

    ``heights[i, j]`` is the height at ``x = origin_x + j * resolution``,
    ``y = origin_y + i * resolution``. Outside the grid the edge value continues (clamped), so
    the vehicle never drives off a cliff at the map border.
    """

    heights: Optional[np.ndarray] = None
    origin_x: float = 0.0
    origin_y: float = 0.0
    resolution: float = 1.0
    flat_height: float = 0.0

    def __eq__(self, other: object) -> bool:
        """Compare grids with HEIGHT_EQUALITY_TOLERANCE_M (PNG quantisation), the rest exactly."""
        if not isinstance(other, Terrain):
            return NotImplemented
        if (self.heights is None) != (other.heights is None):
            return False
        if self.heights is None:
            return self.flat_height == other.flat_height
        a = np.asarray(self.heights, dtype=float)
        b = np.asarray(other.heights, dtype=float)
        return (a.shape == b.shape
                and bool(np.allclose(a, b, rtol=0.0, atol=HEIGHT_EQUALITY_TOLERANCE_M))
                and math.isclose(self.origin_x, other.origin_x, abs_tol=1e-9)
                and math.isclose(self.origin_y, other.origin_y, abs_tol=1e-9)
                and math.isclose(self.resolution, other.resolution, rel_tol=1e-12))

    @property
    def is_flat(self) -> bool:
        """True when the ground is the plane z = flat_height."""
        return self.heights is None

    def extent(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the grid; infinite for flat ground."""
        if self.heights is None:
            return (-math.inf, -math.inf, math.inf, math.inf)
        rows, cols = self.heights.shape
        return (self.origin_x, self.origin_y,
                self.origin_x + (cols - 1) * self.resolution,
                self.origin_y + (rows - 1) * self.resolution)

    def _cell(self, x, y):
        """Grid cell indices and fractional offsets of (x, y), clamped to the grid."""
        rows, cols = self.heights.shape
        fx = np.clip((np.asarray(x, dtype=float) - self.origin_x) / self.resolution,
                     0.0, cols - 1.0)
        fy = np.clip((np.asarray(y, dtype=float) - self.origin_y) / self.resolution,
                     0.0, rows - 1.0)
        j0 = np.minimum(np.floor(fx).astype(int), cols - 2)
        i0 = np.minimum(np.floor(fy).astype(int), rows - 2)
        return i0, j0, fx - j0, fy - i0

    def height_at(self, x, y):
        """Ground height (m) at (x, y), bilinear between grid nodes; scalars or arrays."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        if self.heights is None:
            return np.full(np.broadcast(x, y).shape, float(self.flat_height))[()]
        h = self.heights
        i0, j0, tx, ty = self._cell(x, y)
        z00 = h[i0, j0]
        z01 = h[i0, j0 + 1]
        z10 = h[i0 + 1, j0]
        z11 = h[i0 + 1, j0 + 1]
        return ((z00 * (1.0 - tx) + z01 * tx) * (1.0 - ty)
                + (z10 * (1.0 - tx) + z11 * tx) * ty)[()]

    def gradient_at(self, x, y):
        """(dz/dx, dz/dy) of the bilinear surface at (x, y); zero outside the grid and when flat.

        On a grid line the gradient of the cell above/right is returned (one-sided).
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast(x, y).shape
        if self.heights is None:
            zero = np.zeros(shape)[()]
            return zero, zero
        h = self.heights
        xmin, ymin, xmax, ymax = self.extent()
        i0, j0, tx, ty = self._cell(x, y)
        z00 = h[i0, j0]
        z01 = h[i0, j0 + 1]
        z10 = h[i0 + 1, j0]
        z11 = h[i0 + 1, j0 + 1]
        dzdx = ((z01 - z00) * (1.0 - ty) + (z11 - z10) * ty) / self.resolution
        dzdy = ((z10 - z00) * (1.0 - tx) + (z11 - z01) * tx) / self.resolution
        # Clamped height is constant outside the grid, so its slope is zero there.
        dzdx = np.where((x < xmin) | (x > xmax), 0.0, dzdx)
        dzdy = np.where((y < ymin) | (y > ymax), 0.0, dzdy)
        return np.broadcast_to(dzdx, shape)[()], np.broadcast_to(dzdy, shape)[()]

    def slope_deg_at(self, x, y):
        """Steepest slope (degrees from horizontal) at (x, y)."""
        gx, gy = self.gradient_at(x, y)
        return np.degrees(np.arctan(np.hypot(gx, gy)))


def polygon_area(points: Sequence[Tuple[float, float]]) -> float:
    """Signed area of a simple polygon (shoelace; positive when counter-clockwise)."""
    if len(points) < 3:
        return 0.0
    p = np.asarray(points, dtype=float)
    x, y = p[:, 0], p[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


@dataclasses.dataclass
class World:
    """Everything the simulator and the mission need to know about a minefield."""

    name: str
    origin: GeoOrigin
    field: Polygon                                  # hazard area, counter-clockwise
    exclusion_zones: List[Polygon] = dataclasses.field(default_factory=list)
    approach_lane: Optional[Polygon] = None
    # Ground outside the field the task declares safe to drive and turn on (cleared land, a
    # road verge): polygons, and a margin all round the field (default: none, docs/worlds.md).
    safe_areas: List[Polygon] = dataclasses.field(default_factory=list)
    safe_margin_m: float = 0.0
    soil: Soil = dataclasses.field(default_factory=Soil)
    terrain: Terrain = dataclasses.field(default_factory=Terrain)
    items: List[BuriedItem] = dataclasses.field(default_factory=list)
    obstacles: List[Obstacle] = dataclasses.field(default_factory=list)
    vehicle_start: Tuple[float, float, float] = (0.0, 0.0, 0.0)   # x, y, yaw
    description: str = ''                           # free text (<demining:description>)
    # Mine-action ids for the completion report (IMAS 08.30: task and hazard ids, organisation;
    # <demining:task_id>, <demining:hazard_id>, <demining:organisation> in the area).
    task_id: str = ''
    hazard_id: str = ''
    organisation: str = ''
    # Where it was read from: bookkeeping, not part of the world (ignored by ==).
    source: str = dataclasses.field(default='', compare=False)

    # -- geometry helpers -------------------------------------------------------------
    def field_polygon(self) -> ShapelyPolygon:
        """The hazard field as a shapely polygon."""
        return ShapelyPolygon(self.field)

    def hazard_polygon(self):
        """Field minus exclusion zones (what must be processed), as a shapely geometry."""
        geom = self.field_polygon()
        for zone in self.exclusion_zones:
            geom = geom.difference(ShapelyPolygon(zone))
        return geom

    def contains(self, x, y):
        """True where (x, y) is inside the field polygon (boundary included); vectorised."""
        return shapely.intersects_xy(self.field_polygon(), np.asarray(x, float),
                                     np.asarray(y, float))[()]

    def in_exclusion(self, x, y):
        """True where (x, y) is inside any exclusion zone (boundary included); vectorised."""
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        out = np.zeros(np.broadcast(x, y).shape, dtype=bool)
        for zone in self.exclusion_zones:
            out |= shapely.intersects_xy(ShapelyPolygon(zone), x, y)
        return out[()]

    def in_hazard(self, x, y):
        """True where (x, y) must be processed: in the field and in no exclusion zone."""
        return np.logical_and(self.contains(x, y), np.logical_not(self.in_exclusion(x, y)))[()]

    def field_area_m2(self) -> float:
        """Area of the field polygon (m^2)."""
        return abs(polygon_area(self.field))

    def hazard_area_m2(self) -> float:
        """Area to process: field minus exclusion zones (m^2)."""
        return float(self.hazard_polygon().area)

    def bounds(self) -> Tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) of the field polygon."""
        p = np.asarray(self.field, dtype=float)
        return (float(p[:, 0].min()), float(p[:, 1].min()),
                float(p[:, 0].max()), float(p[:, 1].max()))

    def height_at(self, x, y):
        """Ground height at (x, y) (shortcut for ``terrain.height_at``)."""
        return self.terrain.height_at(x, y)

    # -- item helpers -----------------------------------------------------------------
    def items_of_kind(self, *kinds: ItemKind) -> List[BuriedItem]:
        """Items whose kind is one of ``kinds``."""
        wanted = {ItemKind(k) for k in kinds}
        return [it for it in self.items if it.kind in wanted]

    def hazards(self) -> List[BuriedItem]:
        """Mines and UXO (everything but clutter)."""
        return [it for it in self.items if it.is_hazard]

    def item(self, name: str) -> BuriedItem:
        """The item called ``name`` (KeyError if none)."""
        for it in self.items:
            if it.name == name:
                return it
        raise KeyError(name)


# Sanity bounds a world must respect; anything beyond them is a typo, not a minefield.
MAX_ITEM_DEPTH_M = 3.0
MAX_ITEM_SIZE_M = 3.0
MAX_ITEM_MASS_KG = 1000.0
MAX_PERMITTIVITY = 100.0
MAX_CONDUCTIVITY_S_PER_M = 10.0
MAX_ITEM_DISTANCE_FROM_FIELD_M = 100.0
MAX_COORDINATE_M = 50_000.0
MAX_OBSTACLE_SIZE_M = 100.0
#: Largest declared safe margin round a field, m (a wider safe belt is better a polygon).
MAX_SAFE_MARGIN_M = 100.0
MIN_POLYGON_AREA_M2 = 1e-6
RESERVED_MODEL_NAMES = ('vehicle', 'hazard_area', 'ground_plane', 'terrain')


def _finite(value, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise WorldError(f'{what}: not a number ({value!r})') from None
    if not math.isfinite(v):
        raise WorldError(f'{what}: not finite ({value!r})')
    return v


def _in_range(value, lo: float, hi: float, what: str, lo_open: bool = False) -> float:
    v = _finite(value, what)
    if v < lo or v > hi or (lo_open and v == lo):
        bracket = '(' if lo_open else '['
        raise WorldError(f'{what} = {v:g} is outside {bracket}{lo:g}, {hi:g}]')
    return v


def validate_polygon(points, what: str = 'polygon') -> Polygon:
    """Check a polygon and return it counter-clockwise without a repeated closing vertex.

    Raises WorldError for fewer than 3 points, non-finite or absurd coordinates,
    self-intersection or zero area.
    """
    try:
        pts = [(float(p[0]), float(p[1])) for p in points]
    except (TypeError, ValueError, IndexError):
        raise WorldError(f'{what}: expected (x, y) pairs') from None
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    for x, y in pts:
        _in_range(x, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{what} x')
        _in_range(y, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{what} y')
    if len(pts) < 3:
        raise WorldError(f'{what} has {len(pts)} point(s), needs at least 3')
    poly = ShapelyPolygon(pts)
    if poly.convex_hull.area < MIN_POLYGON_AREA_M2:
        raise WorldError(f'{what} has zero area (all points on a line)')
    if not poly.is_valid or abs(poly.area) < MIN_POLYGON_AREA_M2:
        reason = shapely.is_valid_reason(poly)
        raise WorldError(f'{what} is not a simple polygon (self-intersecting?): {reason}')
    if polygon_area(pts) < 0.0:
        pts = [pts[0]] + pts[:0:-1]        # keep the first vertex, reverse the rest
    return pts


def validate_world(world: World) -> World:
    """Check every value of ``world`` against the format's rules, normalising polygons.

    Polygons are made counter-clockwise in place. Raises WorldError with a one-line message
    naming the offending element; returns ``world`` for chaining.
    """
    if not world.name or not str(world.name).strip():
        raise WorldError('world name is empty')
    o = world.origin
    _in_range(o.latitude_deg, -90.0, 90.0, 'spherical_coordinates latitude_deg')
    _in_range(o.longitude_deg, -180.0, 180.0, 'spherical_coordinates longitude_deg')
    _in_range(o.elevation_m, -1000.0, 10000.0, 'spherical_coordinates elevation')
    if _finite(o.heading_deg, 'spherical_coordinates heading_deg') != 0.0:
        # The map frame is ENU (REP-103/105); a heading would rotate Gazebo's world frame.
        raise WorldError(f'spherical_coordinates heading_deg = {o.heading_deg:g}: must be 0 '
                         '(the map frame is ENU)')
    world.field = validate_polygon(world.field, 'field polygon')
    world.exclusion_zones = [validate_polygon(z, f'exclusion zone {k + 1}')
                             for k, z in enumerate(world.exclusion_zones)]
    if world.approach_lane is not None:
        world.approach_lane = validate_polygon(world.approach_lane, 'approach_lane polygon')
    world.safe_areas = [validate_polygon(z, f'safe area {k + 1}')
                        for k, z in enumerate(world.safe_areas)]
    _in_range(world.safe_margin_m, 0.0, MAX_SAFE_MARGIN_M, 'safe_margin')
    s = world.soil
    _in_range(s.permittivity, 1.0, MAX_PERMITTIVITY, 'soil permittivity')
    _in_range(s.conductivity, 0.0, MAX_CONDUCTIVITY_S_PER_M, 'soil conductivity')
    _in_range(s.magnetic_susceptibility, 0.0, 1.0, 'soil magnetic_susceptibility')
    _in_range(s.roughness_m, 0.0, 1.0, 'soil roughness')
    _in_range(s.rock_density_per_m2, 0.0, 100.0, 'soil rock_density')
    _validate_terrain(world.terrain)
    names = set(RESERVED_MODEL_NAMES)
    field = world.field_polygon()
    for it in world.items:
        where = f'item {it.name!r}'
        if not it.name:
            raise WorldError('an item has an empty name')
        if it.name in names:
            raise WorldError(f'duplicate or reserved model name {it.name!r}')
        names.add(it.name)
        try:
            it.kind = ItemKind(it.kind)
        except ValueError:
            raise WorldError(f'{where}: unknown kind {it.kind!r} '
                             f'(one of {", ".join(k.value for k in ItemKind)})') from None
        x = _in_range(it.x, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{where} x')
        y = _in_range(it.y, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{where} y')
        _in_range(it.depth, 0.0, MAX_ITEM_DEPTH_M, f'{where} depth')
        _in_range(it.diameter, 0.0, MAX_ITEM_SIZE_M, f'{where} diameter', lo_open=True)
        _in_range(it.height, 0.0, MAX_ITEM_SIZE_M, f'{where} height', lo_open=True)
        _in_range(it.metal_mass, 0.0, MAX_ITEM_MASS_KG, f'{where} metal_mass')
        _in_range(it.explosive_mass, 0.0, MAX_ITEM_MASS_KG, f'{where} explosive_mass')
        _in_range(it.permittivity, 1.0, MAX_PERMITTIVITY, f'{where} permittivity')
        distance = field.exterior.distance(shapely.Point(x, y)) if not field.covers(
            shapely.Point(x, y)) else 0.0
        if distance > MAX_ITEM_DISTANCE_FROM_FIELD_M:
            raise WorldError(f'{where} at ({x:g}, {y:g}) is {distance:.0f} m outside the field '
                             f'(limit {MAX_ITEM_DISTANCE_FROM_FIELD_M:g} m)')
    for ob in world.obstacles:
        where = f'obstacle {ob.name!r}'
        if not ob.name:
            raise WorldError('an obstacle has an empty name')
        if ob.name in names:
            raise WorldError(f'duplicate or reserved model name {ob.name!r}')
        names.add(ob.name)
        _in_range(ob.x, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{where} x')
        _in_range(ob.y, -MAX_COORDINATE_M, MAX_COORDINATE_M, f'{where} y')
        if ob.shape != ObstacleShape.BOX.value:
            _in_range(ob.radius, 0.0, MAX_OBSTACLE_SIZE_M, f'{where} radius', lo_open=True)
        _in_range(ob.height, 0.0, MAX_OBSTACLE_SIZE_M, f'{where} height', lo_open=True)
        _finite(ob.yaw, f'{where} yaw')
        if ob.shape == ObstacleShape.BOX.value:
            _in_range(ob.length, 0.0, MAX_OBSTACLE_SIZE_M, f'{where} length', lo_open=True)
            _in_range(ob.width, 0.0, MAX_OBSTACLE_SIZE_M, f'{where} width', lo_open=True)
            ob.radius = 0.5 * math.hypot(ob.length, ob.width)     # bounding circle
        elif ob.shape != ObstacleShape.CYLINDER.value:
            raise WorldError(f'{where}: unknown shape {ob.shape!r} (cylinder or box)')
    if len(world.vehicle_start) != 3:
        raise WorldError('vehicle_start must be (x, y, yaw)')
    vx, vy, vyaw = world.vehicle_start
    _in_range(vx, -MAX_COORDINATE_M, MAX_COORDINATE_M, 'vehicle start x')
    _in_range(vy, -MAX_COORDINATE_M, MAX_COORDINATE_M, 'vehicle start y')
    _finite(vyaw, 'vehicle start yaw')
    return world


def _validate_terrain(t: Terrain) -> None:
    _finite(t.flat_height, 'terrain flat_height')
    if t.heights is None:
        return
    h = np.asarray(t.heights)
    if h.ndim != 2 or h.shape[0] < 2 or h.shape[1] < 2:
        raise WorldError(f'heightmap must be a 2-D grid of at least 2x2, got shape {h.shape}')
    if not np.all(np.isfinite(h)):
        raise WorldError('heightmap contains non-finite heights')
    _in_range(t.resolution, 0.0, 1000.0, 'heightmap resolution', lo_open=True)
    _finite(t.origin_x, 'heightmap origin x')
    _finite(t.origin_y, 'heightmap origin y')
