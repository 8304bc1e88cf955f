"""The hazard area of a mission: field polygon, exclusion zones and geographic origin.

Read from a world SDF (simulation: the same file Gazebo loads) or from a GeoJSON file in
WGS84 (a real task: the polygon an operator exports from IMSMA or a GIS). Polygons come back
in the ``map`` frame (ENU metres from the origin), the field counter-clockwise.

A world's surveyed obstacles (``<demining:obstacle>``: trees, rocks, ruins) are exclusion zones
of its area, their footprint as the simulator collides with it: ground the machine can neither
drive through nor process, round which the planner keeps its own clearances (tool and hull)
and which the record reports as not processed. A GeoJSON area declares them as exclusion
polygons.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import List, Optional, Sequence, Tuple

from shapely.geometry import Polygon as ShapelyPolygon
from shapely.ops import unary_union

from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.sdf import load_world
from demining_bringup.contract.world import (MAX_SAFE_MARGIN_M, GeoOrigin, Polygon, WorldError,
                                             validate_polygon)


@dataclasses.dataclass
class HazardArea:
    """A hazard area in the map frame."""

    name: str
    field: Polygon
    exclusion_zones: List[Polygon]
    origin: GeoOrigin
    #: Safe (cleared) lanes from the start to the field edge.
    approach_lanes: List[Polygon] = dataclasses.field(default_factory=list)
    #: Ground outside the field declared safe to drive and turn on (default: none).
    safe_areas: List[Polygon] = dataclasses.field(default_factory=list)
    #: A belt this wide all round the field is declared safe, m (default: none).
    safe_margin_m: float = 0.0
    #: Mine-action ids for the completion report (IMAS 08.30), '' when the file has none.
    task_id: str = ''
    hazard_id: str = ''
    organisation: str = ''

    @property
    def area_m2(self) -> float:
        """Area of the field minus the exclusion zones, m^2."""
        return float(self.work_polygon().area)

    def work_polygon(self):
        """Return the shapely polygon that must be processed (field minus exclusions)."""
        poly = ShapelyPolygon(self.field)
        for zone in self.exclusion_zones:
            poly = poly.difference(ShapelyPolygon(zone))
        return poly

    def safe_ground(self):
        """Ground declared safe to drive on: approach lanes, safe areas, the safe margin.

        Exclusion zones are not safe, except where a safe area is declared over one (a road
        excluded from processing that the machine may cross). Empty by default: the machine
        then drives and turns only on ground it has processed (docs/worlds.md, "Safe ground").
        """
        parts = [ShapelyPolygon(p) for p in self.approach_lanes]
        if self.safe_margin_m > 0.0:
            field = ShapelyPolygon(self.field)
            parts.append(field.buffer(self.safe_margin_m, join_style='mitre').difference(field))
        geom = unary_union(parts) if parts else ShapelyPolygon()
        for zone in self.exclusion_zones:
            geom = geom.difference(ShapelyPolygon(zone))
        declared = [ShapelyPolygon(p) for p in self.safe_areas]
        return unary_union([geom] + declared) if declared else geom


#: ``role`` property values of GeoJSON polygons (``field`` when absent).
GEOJSON_ROLES = ('field', 'exclusion', 'approach_lane', 'safe')
#: Properties of the field feature (or members of the document) naming the task.
AREA_IDS = ('task_id', 'hazard_id', 'organisation')


def _text_id(path: str, key: str, value: object) -> str:
    """A mine-action id property as one line of text ('' when absent)."""
    if value is None:
        return ''
    if isinstance(value, (dict, list, bool)):
        raise WorldError(f'{path}: {key} must be text or a number, got {value!r}')
    return ' '.join(str(value).split())


def _geojson_polygons(doc: dict) -> List[Tuple[dict, list]]:
    """Return (properties, coordinates) of every Polygon in a GeoJSON document."""
    kind = doc.get('type')
    if kind == 'FeatureCollection':
        out = []
        for feat in doc.get('features', []):
            out.extend(_geojson_polygons(feat))
        return out
    if kind == 'Feature':
        geom = doc.get('geometry') or {}
        props = doc.get('properties') or {}
        if geom.get('type') == 'Polygon':
            return [(props, geom.get('coordinates', []))]
        if geom.get('type') == 'MultiPolygon':
            return [(props, c) for c in geom.get('coordinates', [])]
        return []
    if kind == 'Polygon':
        return [({}, doc.get('coordinates', []))]
    raise WorldError(f'unsupported GeoJSON type {kind!r}')


def geojson_ids(path: str) -> dict:
    """The mine-action ids of a GeoJSON area (``task_id``, ``hazard_id``, ``organisation``).

    Read from the first feature's properties (the field, in a file ``demine generate-world
    --geojson`` takes), else from members of the document; '' for each absent one.

    :raises WorldError: when the file cannot be read or an id is not text or a number.
    """
    try:
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise WorldError(f'{path}: cannot read GeoJSON ({exc})') from None
    if not isinstance(doc, dict):
        raise WorldError(f'{path}: not a GeoJSON object')
    feats = doc.get('features') if doc.get('type') == 'FeatureCollection' else [doc]
    fields = [f for f in feats or [] if isinstance(f, dict)
              and (f.get('properties') or {}).get('role', 'field') == 'field']
    props = (fields[0].get('properties') or {}) if fields else {}
    return {k: _text_id(path, k, props.get(k, doc.get(k))) for k in AREA_IDS}


def _load_geojson(path: str) -> HazardArea:
    try:
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
    except (OSError, ValueError) as exc:
        raise WorldError(f'{path}: cannot read GeoJSON ({exc})') from None
    polys = _geojson_polygons(doc)
    if not polys:
        raise WorldError(f'{path}: no Polygon in the GeoJSON file')
    fields = [p for p in polys if p[0].get('role', 'field') == 'field']
    if len(fields) != 1:
        raise WorldError(f'{path}: expected exactly one field polygon, found {len(fields)}')
    props, rings = fields[0]
    if not rings or len(rings[0]) < 3:
        raise WorldError(f'{path}: the field polygon has no exterior ring')
    origin_prop: Optional[Sequence[float]] = props.get('origin') or doc.get('origin')
    lon0, lat0 = rings[0][0][0], rings[0][0][1]
    origin = (GeoOrigin(float(origin_prop[0]), float(origin_prop[1]),
                        float(origin_prop[2]) if len(origin_prop) > 2 else 0.0)
              if origin_prop else GeoOrigin(float(lat0), float(lon0)))
    try:
        lc = LocalCartesian(origin.latitude_deg, origin.longitude_deg, origin.elevation_m)
    except ValueError as exc:
        raise WorldError(f'{path}: {exc}') from None

    def to_local(ring: list, what: str) -> Polygon:
        try:
            lon = [float(p[0]) for p in ring]
            lat = [float(p[1]) for p in ring]
        except (TypeError, ValueError, IndexError):
            raise WorldError(f'{path}: {what}: malformed coordinates') from None
        e, n, _ = lc.to_enu(lat, lon, origin.elevation_m)
        return validate_polygon(list(zip(e.tolist(), n.tolist())), f'{path}: {what}')

    field = to_local(rings[0], 'field')
    exclusions = [to_local(r, 'exclusion zone') for r in rings[1:]]
    exclusions += [to_local(r[0], 'exclusion zone') for p, r in polys
                   if p.get('role') == 'exclusion' and r]
    lanes = [to_local(r[0], 'approach lane') for p, r in polys
             if p.get('role') == 'approach_lane' and r]
    safe = [to_local(r[0], 'safe area') for p, r in polys if p.get('role') == 'safe' and r]
    unknown = sorted({str(p.get('role', 'field')) for p, _ in polys} - set(GEOJSON_ROLES))
    if unknown:
        raise WorldError(f'{path}: unknown polygon role(s) {", ".join(unknown)} (one of '
                         f'{", ".join(GEOJSON_ROLES)})')
    margin = props.get('safe_margin_m', 0.0)
    try:
        margin = float(margin)
    except (TypeError, ValueError):
        raise WorldError(f'{path}: safe_margin_m must be a number, got {margin!r}') from None
    if not (math.isfinite(margin) and 0.0 <= margin <= MAX_SAFE_MARGIN_M):
        raise WorldError(f'{path}: safe_margin_m must be within 0..{MAX_SAFE_MARGIN_M:g} m, '
                         f'got {margin!r}')
    name = str(props.get('name') or os.path.splitext(os.path.basename(path))[0])
    # the field feature's properties, else members of the document (a FeatureCollection's
    # foreign members, RFC 7946 section 6.1)
    ids = {k: _text_id(path, k, props.get(k, doc.get(k))) for k in AREA_IDS}
    return HazardArea(name=name, field=field, exclusion_zones=exclusions, origin=origin,
                      approach_lanes=lanes, safe_areas=safe, safe_margin_m=margin, **ids)


def load_area(path: str) -> HazardArea:
    """Load a hazard area from a world SDF or a GeoJSON file.

    :raises WorldError: with a one-line message naming the file and the problem.
    """
    if not path:
        raise WorldError('no hazard area file given (parameter area_file)')
    if not os.path.isfile(path):
        raise WorldError(f'{path}: no such file')
    if path.lower().endswith(('.geojson', '.json')):
        return _load_geojson(path)
    world = load_world(path)
    return HazardArea(name=world.name, field=list(world.field),
                      exclusion_zones=([list(z) for z in world.exclusion_zones]
                                       + [o.footprint() for o in world.obstacles]),
                      origin=world.origin,
                      approach_lanes=([list(world.approach_lane)] if world.approach_lane
                                      else []),
                      safe_areas=[list(z) for z in world.safe_areas],
                      safe_margin_m=world.safe_margin_m,
                      **{k: getattr(world, k) for k in AREA_IDS})
