"""Seeded minefield generator: random or row-laid mines, UXO and clutter in a polygon.

``generate_world(polygon, seed=...)`` is deterministic for a seed (numpy ``default_rng``) and
places every item inside the field, outside the exclusion zones and with the requested spacing.
``add_arguments`` / ``run`` back the ``demine generate-world`` CLI verb.

Item properties come from the catalogue below; soils from the presets (figures and their
public sources: docs/sources.md, "Mines, UXO and clutter" and "Soils").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon as ShapelyPolygon

from demining_bringup.contract.world import (
    BuriedItem, GeoOrigin, ItemKind, Polygon, Soil, World, WorldError, validate_polygon,
    validate_world)


@dataclasses.dataclass(frozen=True)
class ItemSpec:
    """Physical properties of one catalogue model (docs/sources.md: mines and clutter table)."""

    model: str
    kind: ItemKind
    diameter: float                 # m, horizontal extent as laid
    height: float                   # m, vertical extent as laid
    metal_mass: float               # kg
    explosive_mass: float           # kg
    permittivity: float             # relative
    depth_range: Tuple[float, float]  # m, typical burial depth (top of object)


# Values: docs/sources.md (Jane's, ORDATA; metal masses our estimates); AP 0-15, AT 10-30 cm.
# Metallic clutter is given permittivity 80 as a "strong reflector" marker for the GPR model.
AP_DEPTH = (0.01, 0.15)
AT_DEPTH = (0.10, 0.30)
CATALOGUE: Dict[str, ItemSpec] = {s.model: s for s in (
    ItemSpec('PMN', ItemKind.AP, 0.112, 0.056, 0.004, 0.240, 3.0, AP_DEPTH),
    ItemSpec('PMN-2', ItemKind.AP, 0.125, 0.054, 0.003, 0.100, 3.0, AP_DEPTH),
    ItemSpec('PMA-1', ItemKind.AP, 0.140, 0.034, 0.0008, 0.200, 3.0, AP_DEPTH),
    ItemSpec('PMA-2', ItemKind.AP, 0.068, 0.061, 0.0008, 0.070, 3.0, AP_DEPTH),
    ItemSpec('VS-50', ItemKind.AP, 0.090, 0.045, 0.0006, 0.043, 3.0, AP_DEPTH),
    ItemSpec('TS-50', ItemKind.AP, 0.090, 0.045, 0.0005, 0.050, 3.0, AP_DEPTH),
    ItemSpec('TM-62M', ItemKind.AT, 0.320, 0.128, 1.8, 7.5, 3.0, AT_DEPTH),
    ItemSpec('TM-62P', ItemKind.AT, 0.320, 0.128, 0.03, 7.5, 3.0, AT_DEPTH),
    # 82 mm mortar round lying flat: 330 mm long, 82 mm across; ~2.5 kg steel, ~0.4 kg HE.
    ItemSpec('mortar-82mm', ItemKind.UXO, 0.330, 0.082, 2.5, 0.4, 3.0, (0.05, 0.40)),
    ItemSpec('shrapnel', ItemKind.CLUTTER, 0.040, 0.010, 0.020, 0.0, 80.0, (0.0, 0.20)),
    ItemSpec('can', ItemKind.CLUTTER, 0.070, 0.100, 0.030, 0.0, 80.0, (0.0, 0.15)),
    ItemSpec('wire', ItemKind.CLUTTER, 0.300, 0.005, 0.015, 0.0, 80.0, (0.0, 0.15)),
    ItemSpec('cartridge', ItemKind.CLUTTER, 0.012, 0.051, 0.009, 0.0, 80.0, (0.0, 0.15)),
    ItemSpec('nail', ItemKind.CLUTTER, 0.080, 0.004, 0.004, 0.0, 80.0, (0.0, 0.10)),
    # Non-metallic GPR clutter (docs/sources.md: rocks, roots, voids 5-30 cm).
    ItemSpec('rock', ItemKind.CLUTTER, 0.150, 0.100, 0.0, 0.0, 6.0, (0.02, 0.30)),
)}

DEFAULT_AP_MODELS = ('PMN', 'PMN-2', 'PMA-1', 'PMA-2', 'TS-50', 'VS-50')
DEFAULT_AT_MODELS = ('TM-62M', 'TM-62P')
DEFAULT_UXO_MODELS = ('mortar-82mm',)
DEFAULT_CLUTTER_MODELS = ('shrapnel', 'can', 'wire', 'cartridge', 'nail')

# docs/sources.md "Soils"; laterite: a magnetic tropical soil (susceptibility ~1e-3 SI raises the
# metal-detector background); its permittivity/conductivity are our estimate for moist laterite.
SOIL_PRESETS: Dict[str, Soil] = {
    'loam': Soil('loam', 9.0, 0.01, 1e-4, 0.02, 0.05),
    'dry_sand': Soil('dry_sand', 4.0, 0.001, 5e-5, 0.01, 0.02),
    'wet_clay': Soil('wet_clay', 20.0, 0.05, 2e-4, 0.02, 0.02),
    'laterite': Soil('laterite', 10.0, 0.02, 1e-3, 0.03, 0.2),
}

# A place with a real mine-action history (Bosnia and Herzegovina, near Brcko).
DEFAULT_ORIGIN = GeoOrigin(44.8725, 18.8090, 95.0, 0.0)
VEHICLE_STANDOFF_M = 8.0          # start this far west of the field's bounding box
MAX_DENSITY_PER_M2 = 20.0         # above this it is not a minefield but a depot
PLACEMENT_ATTEMPTS_PER_ITEM = 200
ROW_JITTER_ALONG_M = 0.25
ROW_JITTER_ACROSS_M = 0.15
POSITION_DECIMALS = 3             # mm: files stay readable and round-trip exactly


def make_item(model: str, name: str, x: float, y: float, depth: float,
              **overrides) -> BuriedItem:
    """A BuriedItem of a catalogue model at (x, y, depth); keyword overrides any property."""
    try:
        spec = CATALOGUE[model]
    except KeyError:
        raise WorldError(f'unknown catalogue model {model!r} '
                         f'(known: {", ".join(CATALOGUE)})') from None
    values = dict(name=name, kind=spec.kind, x=float(x), y=float(y), depth=float(depth),
                  diameter=spec.diameter, height=spec.height, metal_mass=spec.metal_mass,
                  explosive_mass=spec.explosive_mass, permittivity=spec.permittivity,
                  model=spec.model)
    values.update(overrides)
    return BuriedItem(**values)


def soil_preset(name: str) -> Soil:
    """A copy of a soil preset ('loam', 'dry_sand', 'wet_clay', 'laterite')."""
    try:
        return dataclasses.replace(SOIL_PRESETS[name])
    except KeyError:
        raise ValueError(f'unknown soil {name!r} (one of {", ".join(SOIL_PRESETS)})') from None


class _Spacer:
    """Minimum-distance bookkeeping on a uniform hash grid (O(1) per query)."""

    def __init__(self, cell: float) -> None:
        self.cell = max(cell, 1e-3)
        self.grid: Dict[Tuple[int, int], List[Tuple[float, float, float]]] = {}

    def ok(self, x: float, y: float, clearance: float, reach: float) -> bool:
        """True if (x, y) is at least max(clearance, other's clearance) from every point."""
        r = max(clearance, reach)
        ci, cj = int(math.floor(x / self.cell)), int(math.floor(y / self.cell))
        k = int(math.ceil(r / self.cell))
        for i in range(ci - k, ci + k + 1):
            for j in range(cj - k, cj + k + 1):
                for px, py, pc in self.grid.get((i, j), ()):
                    if math.hypot(px - x, py - y) < max(clearance, pc):
                        return False
        return True

    def add(self, x: float, y: float, clearance: float) -> None:
        key = (int(math.floor(x / self.cell)), int(math.floor(y / self.cell)))
        self.grid.setdefault(key, []).append((x, y, clearance))


def _sample_in(rng: np.random.Generator, region, bounds, n: int = 64) -> np.ndarray:
    """Up to ``n`` uniform candidate points inside ``region`` (rejection from the bbox)."""
    xmin, ymin, xmax, ymax = bounds
    pts = np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])
    inside = shapely.contains_xy(region, pts[:, 0], pts[:, 1])
    return pts[inside]


def _row_candidates(region, row_spacing: float, along_spacing: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Points on parallel rows along the long axis of the region's minimum rectangle.

    Returned in belt order: rows starting from a random row and moving outwards, each row
    from one end to the other, so taking the first N points lays a contiguous belt.
    """
    rect = region.minimum_rotated_rectangle
    corners = np.asarray(rect.exterior.coords)[:4]
    edges = np.diff(np.vstack([corners, corners[:1]]), axis=0)
    long_edge = edges[np.argmax(np.hypot(edges[:, 0], edges[:, 1]))]
    u = long_edge / np.hypot(*long_edge)           # along the rows
    v = np.array([-u[1], u[0]])                    # across the rows
    centre = np.asarray(rect.centroid.coords[0])
    rel = corners - centre
    su, sv = rel @ u, rel @ v
    offset_u = rng.uniform(0.0, along_spacing)
    offset_v = rng.uniform(0.0, row_spacing)
    across = np.arange(sv.min() + offset_v, sv.max(), row_spacing)
    along = np.arange(su.min() + offset_u, su.max(), along_spacing)
    if across.size == 0 or along.size == 0:
        return np.zeros((0, 2))
    first = int(rng.integers(across.size))
    row_order = np.argsort(np.abs(np.arange(across.size) - first), kind='stable')
    a, c = np.meshgrid(along, across[row_order])
    a = a + rng.uniform(-ROW_JITTER_ALONG_M, ROW_JITTER_ALONG_M, a.shape)
    c = c + rng.uniform(-ROW_JITTER_ACROSS_M, ROW_JITTER_ACROSS_M, c.shape)
    pts = centre + a.reshape(-1, 1) * u + c.reshape(-1, 1) * v
    inside = shapely.contains_xy(region, pts[:, 0], pts[:, 1])
    return pts[inside]


def _check_density(value: float, what: str, per: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f'{what} must be a number, got {value!r}') from None
    if not math.isfinite(v) or v < 0.0:
        raise ValueError(f'{what} must be a finite number >= 0 per {per}, got {value!r}')
    return v


def generate_world(field_polygon: Sequence[Tuple[float, float]], *, seed: int,
                   ap_per_100m2: float = 1.0, at_per_100m2: float = 0.0,
                   uxo_per_100m2: float = 0.0, clutter_per_m2: float = 0.05,
                   soil: str = 'loam', name: str = 'generated_field',
                   origin: Optional[GeoOrigin] = None, min_spacing_m: float = 1.0,
                   clutter_spacing_m: float = 0.25,
                   exclusion_zones: Sequence[Sequence[Tuple[float, float]]] = (),
                   pattern: str = 'random', row_spacing_m: float = 4.0,
                   row_mine_spacing_m: float = 2.0, edge_margin_m: float = 0.5,
                   ap_models: Sequence[str] = DEFAULT_AP_MODELS,
                   at_models: Sequence[str] = DEFAULT_AT_MODELS,
                   uxo_models: Sequence[str] = DEFAULT_UXO_MODELS,
                   clutter_models: Sequence[str] = DEFAULT_CLUTTER_MODELS) -> World:
    """Generate a flat minefield world, deterministic for ``seed``.

    Counts are ``round(density x hazard area)`` where the hazard area is the field minus the
    exclusion zones (densities: AP/AT/UXO per 100 m^2, clutter per m^2). Mines and UXO keep
    ``min_spacing_m`` from each other; clutter keeps ``clutter_spacing_m`` from everything.
    Items stay ``edge_margin_m`` inside the field and outside every exclusion zone.
    ``pattern='rows'`` lays the AP mines on rows ``row_spacing_m`` apart along the field's
    long axis, ``row_mine_spacing_m`` apart on a row (a defensive belt, docs/sources.md); AT, UXO
    and clutter are scattered at random in both patterns.

    Raises ValueError (WorldError for bad polygons) on invalid input or when the requested
    items do not fit.
    """
    rng = np.random.default_rng(int(seed))
    field = validate_polygon(field_polygon, 'field polygon')
    zones = [validate_polygon(z, f'exclusion zone {k + 1}')
             for k, z in enumerate(exclusion_zones)]
    densities = {
        ItemKind.AP: _check_density(ap_per_100m2, 'ap_per_100m2', '100 m^2') / 100.0,
        ItemKind.AT: _check_density(at_per_100m2, 'at_per_100m2', '100 m^2') / 100.0,
        ItemKind.UXO: _check_density(uxo_per_100m2, 'uxo_per_100m2', '100 m^2') / 100.0,
        ItemKind.CLUTTER: _check_density(clutter_per_m2, 'clutter_per_m2', 'm^2'),
    }
    for kind, d in densities.items():
        if d > MAX_DENSITY_PER_M2:
            raise ValueError(f'{kind.value} density {d:g}/m^2 is above '
                             f'{MAX_DENSITY_PER_M2:g}/m^2')
    for what, value in (('min_spacing_m', min_spacing_m),
                        ('clutter_spacing_m', clutter_spacing_m),
                        ('edge_margin_m', edge_margin_m)):
        if not math.isfinite(float(value)) or float(value) < 0.0:
            raise ValueError(f'{what} must be >= 0, got {value!r}')
    if pattern not in ('random', 'rows'):
        raise ValueError(f"pattern must be 'random' or 'rows', got {pattern!r}")
    if pattern == 'rows' and (row_spacing_m <= 0.0 or row_mine_spacing_m <= 0.0):
        raise ValueError('row_spacing_m and row_mine_spacing_m must be > 0')
    for models in (ap_models, at_models, uxo_models, clutter_models):
        for m in models:
            if m not in CATALOGUE:
                raise ValueError(f'unknown catalogue model {m!r}')
    soil_obj = soil_preset(soil)

    hazard = ShapelyPolygon(field)
    for z in zones:
        hazard = hazard.difference(ShapelyPolygon(z))
    placeable = hazard.buffer(-float(edge_margin_m)) if edge_margin_m > 0.0 else hazard
    if placeable.is_empty:
        raise ValueError('no room to place items: the field minus exclusion zones and the '
                         f'{edge_margin_m:g} m edge margin is empty')
    shapely.prepare(placeable)
    area = float(hazard.area)
    counts = {k: int(round(d * area)) for k, d in densities.items()}
    for kind, models in ((ItemKind.AP, ap_models), (ItemKind.AT, at_models),
                         (ItemKind.UXO, uxo_models), (ItemKind.CLUTTER, clutter_models)):
        if counts[kind] and not models:
            raise ValueError(f'{kind.value} items requested but no models given')

    spacer = _Spacer(max(min_spacing_m, clutter_spacing_m, 0.1))
    reach = max(min_spacing_m, clutter_spacing_m)
    bounds = placeable.bounds
    positions: Dict[ItemKind, List[Tuple[float, float]]] = {k: [] for k in ItemKind}

    def scatter(kind: ItemKind, clearance: float) -> None:
        attempts = PLACEMENT_ATTEMPTS_PER_ITEM * counts[kind] + 100
        while len(positions[kind]) < counts[kind] and attempts > 0:
            for x, y in _sample_in(rng, placeable, bounds):
                attempts -= 1
                if len(positions[kind]) >= counts[kind] or attempts <= 0:
                    break
                if spacer.ok(x, y, clearance, reach):
                    spacer.add(x, y, clearance)
                    positions[kind].append((x, y))
            attempts -= 1
        if len(positions[kind]) < counts[kind]:
            raise ValueError(f'could place only {len(positions[kind])} of {counts[kind]} '
                             f'{kind.value} items with the requested spacing: lower the '
                             'density or the spacing')

    if pattern == 'rows' and counts[ItemKind.AP]:
        for x, y in _row_candidates(placeable, row_spacing_m, row_mine_spacing_m, rng):
            if len(positions[ItemKind.AP]) >= counts[ItemKind.AP]:
                break
            if spacer.ok(x, y, min_spacing_m, reach):
                spacer.add(x, y, min_spacing_m)
                positions[ItemKind.AP].append((x, y))
        if len(positions[ItemKind.AP]) < counts[ItemKind.AP]:
            raise ValueError(f'rows hold only {len(positions[ItemKind.AP])} of '
                             f'{counts[ItemKind.AP]} AP mines: lower ap_per_100m2 or the '
                             'row spacings')
    # Biggest hazards first so the dense clutter cannot crowd them out.
    for kind in (ItemKind.AT, ItemKind.UXO, ItemKind.AP):
        if not positions[kind]:
            scatter(kind, min_spacing_m)
    scatter(ItemKind.CLUTTER, clutter_spacing_m)

    items: List[BuriedItem] = []
    prefix = {ItemKind.AP: 'ap', ItemKind.AT: 'at', ItemKind.UXO: 'uxo',
              ItemKind.CLUTTER: 'clutter'}
    model_lists = {ItemKind.AP: ap_models, ItemKind.AT: at_models,
                   ItemKind.UXO: uxo_models, ItemKind.CLUTTER: clutter_models}
    for kind in (ItemKind.AP, ItemKind.AT, ItemKind.UXO, ItemKind.CLUTTER):
        for k, (x, y) in enumerate(positions[kind]):
            model = model_lists[kind][int(rng.integers(len(model_lists[kind])))]
            lo, hi = CATALOGUE[model].depth_range
            depth = round(float(rng.uniform(lo, hi)), POSITION_DECIMALS)
            items.append(make_item(model, f'{prefix[kind]}_{k + 1:03d}',
                                   round(float(x), POSITION_DECIMALS),
                                   round(float(y), POSITION_DECIMALS), depth))

    xmin, ymin, _, _ = ShapelyPolygon(field).bounds
    world = World(name=name, origin=origin if origin is not None else DEFAULT_ORIGIN,
                  field=field, exclusion_zones=zones, soil=soil_obj, items=items,
                  vehicle_start=(round(xmin - VEHICLE_STANDOFF_M, POSITION_DECIMALS),
                                 round(ymin + 1.0, POSITION_DECIMALS), 0.0),
                  description=(f'Generated by demining_sim.generator (seed {int(seed)}, '
                               f'pattern {pattern}, soil {soil}).'))
    try:
        return validate_world(world)
    except WorldError as exc:
        raise ValueError(f'generated world is invalid: {exc}') from None


# ======================================================================================
# CLI (`demine generate-world`)
# ======================================================================================
def parse_polygon_text(text: str) -> Polygon:
    """Parse ``"x,y x,y ..."`` (map-frame metres) into a point list."""
    pts = []
    for token in text.replace(';', ' ').split():
        parts = token.split(',')
        if len(parts) != 2:
            raise ValueError(f'bad polygon vertex {token!r}: expected "x,y"')
        try:
            pts.append((float(parts[0]), float(parts[1])))
        except ValueError:
            raise ValueError(f'bad polygon vertex {token!r}: not numbers') from None
    return pts


def read_geojson_area(path: str, origin: Optional[GeoOrigin] = None
                      ) -> Tuple[Polygon, List[Polygon], GeoOrigin]:
    """Field, exclusion zones (interior rings) and origin from a GeoJSON polygon (WGS84).

    Accepts a Polygon geometry, a Feature or a FeatureCollection whose first feature is a
    Polygon. Without ``origin`` the map origin is the south-west corner of the polygon's
    bounding box, so map coordinates are positive.
    """
    from demining_bringup.contract.geo import LocalCartesian
    try:
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise WorldError(f'{path}: cannot read GeoJSON ({exc})') from None
    geom = doc
    if isinstance(geom, dict) and geom.get('type') == 'FeatureCollection':
        feats = geom.get('features') or []
        if not feats:
            raise WorldError(f'{path}: FeatureCollection has no features')
        geom = feats[0]
    if isinstance(geom, dict) and geom.get('type') == 'Feature':
        geom = geom.get('geometry')
    if not isinstance(geom, dict) or geom.get('type') != 'Polygon':
        raise WorldError(f'{path}: expected a GeoJSON Polygon (or a Feature holding one)')
    rings = geom.get('coordinates') or []
    if not rings:
        raise WorldError(f'{path}: Polygon has no coordinates')
    try:
        lonlat = [np.asarray(r, dtype=float)[:, :2] for r in rings]
    except (ValueError, IndexError, TypeError):
        raise WorldError(f'{path}: bad Polygon coordinates') from None
    if origin is None:
        outer = lonlat[0]
        origin = GeoOrigin(float(outer[:, 1].min()), float(outer[:, 0].min()), 0.0, 0.0)
    lc = LocalCartesian(origin.latitude_deg, origin.longitude_deg, origin.elevation_m)
    polys = []
    for ring in lonlat:
        e, n, _ = lc.to_enu(ring[:, 1], ring[:, 0], origin.elevation_m)
        polys.append([(round(float(a), POSITION_DECIMALS), round(float(b), POSITION_DECIMALS))
                      for a, b in zip(np.atleast_1d(e), np.atleast_1d(n))])
    return polys[0], polys[1:], origin


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``generate-world`` options to ``parser``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--polygon', help='field polygon in map metres: "x,y x,y x,y ..."')
    src.add_argument('--geojson', help='GeoJSON file with the field polygon (WGS84 lon/lat; '
                     'interior rings become exclusion zones)')
    parser.add_argument('--exclusion', action='append', default=[], metavar='"x,y ..."',
                        help='an exclusion zone polygon in map metres (repeatable)')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default 0)')
    parser.add_argument('--ap-density', type=float, default=1.0,
                        help='AP mines per 100 m^2 (default 1.0)')
    parser.add_argument('--at-density', type=float, default=0.0,
                        help='AT mines per 100 m^2 (default 0)')
    parser.add_argument('--uxo-density', type=float, default=0.0,
                        help='UXO per 100 m^2 (default 0)')
    parser.add_argument('--clutter-density', type=float, default=0.05,
                        help='clutter items per m^2 (default 0.05)')
    parser.add_argument('--soil', choices=sorted(SOIL_PRESETS), default='loam')
    parser.add_argument('--rock-density', type=float, default=None, metavar='PER_M2',
                        help='stones, roots and voids (GPR clutter the MD never hears) per '
                        'm^2, 0-100 (default: the soil preset\'s)')
    parser.add_argument('--pattern', choices=('random', 'rows'), default='random')
    parser.add_argument('--min-spacing', type=float, default=1.0,
                        help='minimum distance between mines/UXO, m (default 1.0)')
    parser.add_argument('--safe-margin', type=float, default=0.0, metavar='M',
                        help='declare a belt this wide round the field safe to drive and turn '
                        'on, m (default 0: nothing outside the field is safe)')
    parser.add_argument('--name', default='generated_field', help='world name')
    parser.add_argument('--origin', metavar='LAT,LON[,ELEV]',
                        help='map origin (default: a Bosnian site, or the GeoJSON '
                        'polygon\'s south-west corner)')
    parser.add_argument('-o', '--output', help='output SDF path (default ./<name>.sdf)')
    for flag, what in (('task-id', 'mine-action task id'), ('hazard-id', 'hazard (SHA/CHA) id'),
                       ('organisation', 'operating organisation')):
        parser.add_argument(f'--{flag}', default=None,
                            help=f'{what} written into the world for the completion report '
                            '(default: the GeoJSON area\'s property of that name, if any)')


def _parse_origin(text: str) -> GeoOrigin:
    parts = [p for p in text.replace(' ', '').split(',') if p]
    if len(parts) not in (2, 3):
        raise ValueError(f'bad --origin {text!r}: expected LAT,LON[,ELEV]')
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f'bad --origin {text!r}: not numbers') from None
    return GeoOrigin(vals[0], vals[1], vals[2] if len(vals) == 3 else 0.0, 0.0)


def run(args: argparse.Namespace) -> int:
    """Generate and write a world from parsed CLI arguments; print the path. Exit code."""
    from demining_bringup.contract.sdf import write_world
    try:
        origin = _parse_origin(args.origin) if args.origin else None
        if args.geojson:
            field, zones, origin = read_geojson_area(args.geojson, origin)
        else:
            field, zones = parse_polygon_text(args.polygon), []
        zones = list(zones) + [parse_polygon_text(z) for z in args.exclusion]
        world = generate_world(field, seed=args.seed, ap_per_100m2=args.ap_density,
                               at_per_100m2=args.at_density, uxo_per_100m2=args.uxo_density,
                               clutter_per_m2=args.clutter_density, soil=args.soil,
                               name=args.name, origin=origin, min_spacing_m=args.min_spacing,
                               exclusion_zones=zones, pattern=args.pattern)
        world.safe_margin_m = float(args.safe_margin)
        if args.rock_density is not None:
            world.soil.rock_density_per_m2 = float(args.rock_density)
        # the task's ids: the flags, else the GeoJSON area's (docs/worlds.md)
        from demining_bringup.contract.area import AREA_IDS, geojson_ids
        ids = geojson_ids(args.geojson) if args.geojson else {}
        for key in AREA_IDS:
            given = getattr(args, key, None)
            setattr(world, key, given if given is not None else ids.get(key, ''))
        from demining_bringup.contract.world import validate_world
        validate_world(world)
        out = args.output or os.path.join(os.getcwd(), f'{args.name}.sdf')
        path = write_world(world, out)
    except (ValueError, OSError) as exc:       # WorldError is a ValueError
        print(f'generate-world: error: {exc}', file=sys.stderr)
        return 2
    print(path)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Stand-alone entry point (``python -m demining_sim.generator ...``)."""
    parser = argparse.ArgumentParser(prog='generate-world', description=__doc__.split('\n')[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == '__main__':
    sys.exit(main())
