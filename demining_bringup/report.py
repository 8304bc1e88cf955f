"""The clearance report of a mission run (IMAS 08.30 style completion record).

``write_report(record, run_dir)`` writes, into one run folder:

* ``summary.json``: the machine-readable figures (coverage, areas, time, rate, detections,
  detonations sensed, safety events): only what the machine knows (simulation truth goes to
  ``truth.json``, :mod:`demining_bringup.record`);
* ``report.md``: the human-readable completion report;
* ``coverage.png``: field, planned path, driven track, processed ground, detections and
  sensed detonations;
* ``detections.geojson`` and ``cleared_area.geojson``: WGS84 (lon, lat) features for IMSMA/GIS
  (RFC 7946: outer rings counter-clockwise, holes clockwise);
* ``clearance.kml`` and ``clearance.gpkg``: the hazard area, exclusion zones, cleared ground,
  no-go zones, detections and sensed detonations for mine-action information systems (KML 2.2,
  OGC GeoPackage 1.3.1: :mod:`demining_bringup.exports`).

The record is built from the mission journal by :mod:`demining_bringup.record`, which also
writes ``completion.json`` (IMAS 08.30 completion fields) and, in simulation, ``truth.json``.

Pure Python (numpy, shapely, matplotlib with the Agg backend): no rclpy. Every file is written
to a temporary name in the run folder, fsynced, made readable (0644) and renamed over the old
one, and the folder is fsynced after the rename: a crash leaves either the old file or the new
one, whole, never a half-written one. :func:`new_run_dir` creates a run folder no other run
shares. The fields of ``summary.json`` are documented in ``docs/report.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import io
import json
import math
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from shapely.geometry import MultiPolygon, Polygon as ShapelyPolygon, box
from shapely.geometry.polygon import orient
from shapely.affinity import affine_transform
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import Detection, DetectionKind, SimEvent
from demining_bringup.contract.files import FILE_MODE, atomic_write  # noqa: F401 (API)
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.states import departure_number
from demining_bringup.contract.world import GeoOrigin, Polygon

#: The files every run folder holds (the integration tests check this list).
REPORT_FILES = ('summary.json', 'report.md', 'coverage.png', 'detections.geojson',
                'cleared_area.geojson', 'clearance.kml', 'clearance.gpkg')
#: Version of the layout of ``summary.json`` (docs/report.md); 2 added ``schema_version`` and
#: ``simulated`` (version 1 had neither); 3 moved ``neutralised`` (simulation truth) to
#: ``truth.json`` and added ``ap_detonation_events``, ``runs`` and the ``interrupted`` outcome;
#: 6 added ``detonations_under_tracks`` and ``allowed_ground_departures``; 7
#: ``soil_permittivity`` (null in a record that has none).
SCHEMA_VERSION = 7
#: Permissions of every report file: readable by other users and services.
#: How a run folder is named: UTC time to the second, then ``-2``, ``-3``, ... when taken.
RUN_DIR_TIME_FORMAT = '%Y%m%dT%H%M%SZ'
_MAX_RUN_DIR_SUFFIX = 10_000
_SECONDS_PER_HOUR = 3600.0
_GEOJSON_DECIMALS = 8            # ~1 mm in latitude: enough for turning points
_CLEARED_SIMPLIFY_M = 0.05       # simplify the cleared boundary to 5 cm (half a grid cell)
_FIGURE_DPI = 110
_FIGURE_WIDTH_IN = 10.0
_FIGURE_MIN_HEIGHT_IN = 4.0
_FIGURE_MAX_HEIGHT_IN = 12.0
_FIGURE_MARGIN_M = 5.0           # headland shown around the field


@dataclasses.dataclass
class MissionRecord:
    """Everything a clearance report is made of (built by the mission manager)."""

    world_name: str
    field: Polygon
    origin: GeoOrigin
    exclusion_zones: List[Polygon] = dataclasses.field(default_factory=list)
    planned_path: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2)))
    trajectory: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 2)))
    processed: Optional[np.ndarray] = None          # bool grid, rows = y, columns = x
    processed_origin_x: float = 0.0
    processed_origin_y: float = 0.0
    processed_resolution: float = 0.1
    coverage_percent: float = 0.0
    area_field_m2: float = 0.0
    area_cleared_m2: float = 0.0
    detections: List[Detection] = dataclasses.field(default_factory=list)
    events: List[SimEvent] = dataclasses.field(default_factory=list)
    safety_events: List[Dict[str, Any]] = dataclasses.field(default_factory=list)
    start_stamp: float = 0.0
    end_stamp: float = 0.0
    outcome: str = 'complete'                # 'complete', 'aborted' or 'interrupted' (killed)
    reason: str = ''
    tool_width_m: float = 0.0
    working_depth_m: float = 0.0
    vehicle_profile: str = ''
    simulated: bool = True                           # a simulator stood in for the machine
    #: Completion-report fields (IMAS 08.30 style; demining_bringup.record), {} when unknown.
    completion: Dict[str, Any] = dataclasses.field(default_factory=dict)
    #: No-go discs (x, y, radius incl. the margin) round the AT/UXO tracks, map frame.
    no_go_zones: List[Tuple[float, float, float]] = dataclasses.field(default_factory=list)
    #: Distance the tool keeps from them (the planner's ``exclusion_clearance_m``), m.
    no_go_clearance_m: float = 0.0
    #: Each track's labels in order: id -> [(mission time, kind name), ...] ({}: unknown).
    labels: Dict[int, List[Tuple[float, str]]] = dataclasses.field(default_factory=dict)
    #: The soil permittivity the GPR read its depths with, as last published ({}: unknown):
    #: ``in_use``, ``prior``, ``estimate`` (None before any fit), ``fits``, ``estimated``.
    soil_permittivity: Dict[str, Any] = dataclasses.field(default_factory=dict)


def new_run_dir(parent: str, now: Optional[_dt.datetime] = None) -> str:
    """Create and return a run folder in ``parent`` that no other run shares.

    The name is the UTC time (``20261130T074811Z``); when that folder exists already (another
    run started in the same second, in this process or another), ``-2``, ``-3``, ... is
    appended. ``os.mkdir`` is atomic, so two runs can never both get the same folder.
    """
    stamp = (now or _dt.datetime.now(_dt.timezone.utc)).strftime(RUN_DIR_TIME_FORMAT)
    os.makedirs(parent, exist_ok=True)
    for n in range(1, _MAX_RUN_DIR_SUFFIX):
        path = os.path.join(parent, stamp if n == 1 else f'{stamp}-{n}')
        try:
            os.mkdir(path)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f'no free run folder for {stamp} in {parent}')


def cleared_polygon(record: MissionRecord):
    """Return the processed ground inside the field as a shapely geometry (map frame), less
    the exclusion zones and the no-go zones: a no-go zone is left for a manual or EOD team,
    and ground the tool processed there before the zone appeared is not to be released with
    the rest (bench/missions.py gen_random seed 66: a PMN-2 labelled AT at the edge of a
    processed strip, untouched by the flail, inside its zone and inside the cleared area)."""
    grid = record.processed
    if grid is None or not np.any(grid):
        return ShapelyPolygon()
    res = record.processed_resolution
    boxes = []
    # One rectangle per run of processed cells in a row keeps the union small and fast; the
    # union is done in integer cell units so neighbouring rows share exact edges.
    for row in range(grid.shape[0]):
        line = np.concatenate(([0], grid[row].astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(line))
        for start, stop in zip(edges[0::2], edges[1::2]):
            boxes.append(box(int(start), row, int(stop), row + 1))
    cells = affine_transform(unary_union(boxes), [res, 0.0, 0.0, res, record.processed_origin_x,
                                                  record.processed_origin_y])
    cleared = cells.intersection(ShapelyPolygon(record.field))
    for zone in record.exclusion_zones:
        cleared = cleared.difference(ShapelyPolygon(zone))
    if record.no_go_zones:
        from demining_control.coverage.no_go import disc_polygon
        cleared = cleared.difference(unary_union([disc_polygon(x, y, r)
                                                  for x, y, r in record.no_go_zones]))
    return cleared.simplify(_CLEARED_SIMPLIFY_M, preserve_topology=True)


def _polygons(geom) -> List[ShapelyPolygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, ShapelyPolygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for g in getattr(geom, 'geoms', []) if isinstance(g, ShapelyPolygon)]


def _ring_lonlat(lc: LocalCartesian, coords) -> List[List[float]]:
    xy = np.asarray(coords, dtype=float)
    lat, lon, _ = lc.to_geodetic(xy[:, 0], xy[:, 1], 0.0)
    return [[round(float(a), _GEOJSON_DECIMALS), round(float(b), _GEOJSON_DECIMALS)]
            for a, b in zip(np.atleast_1d(lon), np.atleast_1d(lat))]


def _lat_lon(lc: LocalCartesian, x: float, y: float) -> tuple:
    lat, lon, _ = lc.to_geodetic(x, y, 0.0)
    return round(float(lat), _GEOJSON_DECIMALS), round(float(lon), _GEOJSON_DECIMALS)


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


def _events(record: MissionRecord, *kinds: str) -> List[SimEvent]:
    return [e for e in record.events if e.kind in kinds]


def build_summary(record: MissionRecord) -> Dict[str, Any]:
    """Return the machine-readable summary (the content of ``summary.json``)."""
    lc = LocalCartesian(record.origin.latitude_deg, record.origin.longitude_deg,
                        record.origin.elevation_m)
    mission_time = max(0.0, record.end_stamp - record.start_stamp)
    rate = record.area_cleared_m2 / (mission_time / _SECONDS_PER_HOUR) if mission_time else 0.0

    def event_entry(e: SimEvent) -> Dict[str, Any]:
        # a sensed event whose position is unknown (NaN on the wire) keeps its place in the
        # record with null coordinates (JSON has no NaN)
        known = _finite(e.x, e.y)
        lat, lon = _lat_lon(lc, e.x, e.y) if known else (None, None)
        return {'stamp': round(e.stamp, 3), 'item_id': e.item_id, 'item_kind': e.item_kind,
                'x': round(e.x, 3) if known else None, 'y': round(e.y, 3) if known else None,
                'lat': lat, 'lon': lon, 'detail': e.detail}

    detections = []
    for d in record.detections:
        lat, lon = _lat_lon(lc, d.x, d.y)
        labels = record.labels.get(d.id, [])
        detections.append({'id': d.id, 'kind': d.kind.name, 'confidence': round(d.confidence, 3),
                           'x': round(d.x, 3), 'y': round(d.y, 3),
                           'depth_m': round(d.depth, 3), 'lat': lat, 'lon': lon,
                           'labels': [[round(t, 2), k] for t, k in labels]})
    at_events = _events(record, 'at_detonation')
    no_go_m2, processed_in_no_go_m2 = _no_go_areas(record)
    workable_m2 = max(0.0, record.area_field_m2 - no_go_m2)
    workable_pct = (100.0 * max(0.0, record.area_cleared_m2 - processed_in_no_go_m2)
                    / workable_m2 if workable_m2 > 0.0 else 0.0)
    no_go = []
    for x, y, r in record.no_go_zones:
        lat, lon = _lat_lon(lc, x, y)
        no_go.append({'x': round(x, 3), 'y': round(y, 3), 'radius_m': round(r, 3),
                      'lat': lat, 'lon': lon})
    return {
        'schema_version': SCHEMA_VERSION,
        'simulated': bool(record.simulated),
        'world': record.world_name,
        'vehicle_profile': record.vehicle_profile,
        'outcome': record.outcome,
        'reason': record.reason,
        'origin': dataclasses.asdict(record.origin),
        'area_field_m2': round(record.area_field_m2, 2),
        'area_cleared_m2': round(record.area_cleared_m2, 2),
        'coverage_percent': round(record.coverage_percent, 3),
        'area_no_go_m2': round(no_go_m2, 2),
        'coverage_workable_percent': round(min(100.0, workable_pct), 3),
        'no_go_zones': no_go,
        'mission_time_s': round(mission_time, 2),
        'clearance_rate_m2_per_h': round(rate, 1),
        'tool_width_m': record.tool_width_m,
        'working_depth_m': record.working_depth_m,
        'soil_permittivity': dict(record.soil_permittivity) or None,
        'detections': detections,
        'ap_detonation_events': [event_entry(e) for e in _events(record, 'ap_detonation')],
        'ap_detonations': len(_events(record, 'ap_detonation')),
        'detonations_under_tracks': sum(
            1 for e in _events(record, 'ap_detonation', 'at_detonation') if e.under_track),
        'at_detonations': len(at_events),
        'at_detonation_events': [event_entry(e) for e in at_events],
        'damage_events': [event_entry(e) for e in _events(record, 'damage', 'collision')],
        'safety_events': list(record.safety_events),
        'allowed_ground_departures': max(
            (departure_number(str(e.get('reason', ''))) for e in record.safety_events),
            default=0),
        'runs': len(record.completion.get('runs', [])) or 1,
        'files': list(REPORT_FILES),
    }


def _permittivity_text(summary: Dict[str, Any]) -> str:
    """The report's line on the GPR's soil permittivity: in use, and where it came from."""
    p = summary.get('soil_permittivity')
    if not p:
        return 'n/a'
    if p.get('estimated'):
        return (f'{p["in_use"]:.1f}, estimated from {p["fits"]} hyperbola fits '
                f'(prior {p["prior"]:.1f})')
    est = p.get('estimate')
    return f'{p["in_use"]:.1f}, the prior ' + (
        f'(estimate {est:.1f} from {p["fits"]} hyperbola fits, not in use)' if est is not None
        else '(no hyperbola fit)')


def _no_go_areas(record: MissionRecord) -> Tuple[float, float]:
    """Return the hazard area the machine leaves round the no-go zones and what it processed
    there, m^2.

    A no-go zone is ground left for a manual or EOD team (an AT mine or UXO is not processed
    by the machine), and the tool keeps ``no_go_clearance_m`` from it (the planner's
    clearance), so the record also gives the coverage of the rest: the ground the machine was
    to process. Processed ground there is what the tool did before the zone appeared.
    """
    if not record.no_go_zones:
        return 0.0, 0.0
    from demining_control.coverage.no_go import disc_polygon
    grow = max(0.0, record.no_go_clearance_m)
    discs = [(x, y, r + grow) for x, y, r in record.no_go_zones]
    region = ShapelyPolygon(record.field)
    for zone in record.exclusion_zones:
        region = region.difference(ShapelyPolygon(zone))
    left = unary_union([disc_polygon(*d) for d in discs])
    area = float(region.intersection(left).area)
    grid = record.processed
    if grid is None or not np.any(grid):
        return area, 0.0
    res = record.processed_resolution
    rows, cols = np.nonzero(grid)
    xs = record.processed_origin_x + (cols + 0.5) * res
    ys = record.processed_origin_y + (rows + 0.5) * res
    inside = np.zeros(len(xs), dtype=bool)
    for x, y, r in discs:
        inside |= np.hypot(xs - x, ys - y) <= r
    return area, float(np.count_nonzero(inside)) * res * res


def _geojson_detections(record: MissionRecord, lc: LocalCartesian) -> Dict[str, Any]:
    feats = []
    for d in record.detections:
        lat, lon = _lat_lon(lc, d.x, d.y)
        feats.append({'type': 'Feature',
                      'geometry': {'type': 'Point', 'coordinates': [lon, lat]},
                      'properties': {'id': d.id, 'kind': d.kind.name,
                                     'confidence': round(d.confidence, 3),
                                     'depth_m': round(d.depth, 3)}})
    for e in _events(record, 'neutralised', 'ap_detonation', 'at_detonation'):
        lat, lon = _lat_lon(lc, e.x, e.y) if _finite(e.x, e.y) else (None, None)
        feats.append({'type': 'Feature',
                      # RFC 7946 section 3.2: an unlocated feature has a null geometry
                      'geometry': ({'type': 'Point', 'coordinates': [lon, lat]}
                                   if lat is not None else None),
                      'properties': {'event': e.kind, 'item_id': e.item_id,
                                     'item_kind': e.item_kind, 'stamp': round(e.stamp, 3)}})
    return {'type': 'FeatureCollection', 'features': feats}


def _geojson_cleared(record: MissionRecord, lc: LocalCartesian, cleared) -> Dict[str, Any]:
    feats = []
    for poly in _polygons(cleared):
        # RFC 7946 section 3.1.6: outer rings counter-clockwise, holes clockwise. The map frame
        # is ENU (x east, y north) like (lon, lat), so orienting here orients the output.
        poly = orient(poly, sign=1.0)
        rings = [_ring_lonlat(lc, poly.exterior.coords)]
        rings += [_ring_lonlat(lc, r.coords) for r in poly.interiors]
        feats.append({'type': 'Feature', 'geometry': {'type': 'Polygon', 'coordinates': rings},
                      'properties': {'status': 'processed', 'area_m2': round(poly.area, 2),
                                     'depth_m': record.working_depth_m}})
    field = orient(ShapelyPolygon(record.field), sign=1.0)
    feats.append({'type': 'Feature',
                  'geometry': {'type': 'Polygon',
                               'coordinates': [_ring_lonlat(lc, field.exterior.coords)]},
                  'properties': {'status': 'hazard_area', 'name': record.world_name}})
    return {'type': 'FeatureCollection', 'features': feats}


_KIND_STYLE = {DetectionKind.AP: ('tab:orange', 'o'), DetectionKind.AT: ('tab:red', 's'),
               DetectionKind.UXO: ('tab:purple', 'D'), DetectionKind.CLUTTER: ('tab:gray', '.'),
               DetectionKind.UNKNOWN: ('tab:olive', 'o')}


def _save_png(fig, path: str) -> None:
    """Lay out a figure and write it to ``path`` as a PNG, whole (:func:`atomic_write`)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format='png', dpi=_FIGURE_DPI)
    atomic_write(path, buf.getvalue())


def render_coverage_png(record: MissionRecord, path: str) -> None:
    """Render field, path, track, processed ground, detections and events to a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt

    xs = [p[0] for p in record.field]
    ys = [p[1] for p in record.field]
    width_m = max(xs) - min(xs) + 2 * _FIGURE_MARGIN_M
    aspect = (max(ys) - min(ys) + 2 * _FIGURE_MARGIN_M) / width_m
    # Map on the left at its own aspect, legend on the right.
    fig, ax = plt.subplots(figsize=(_FIGURE_WIDTH_IN, min(_FIGURE_MAX_HEIGHT_IN, max(
        _FIGURE_MIN_HEIGHT_IN, 0.7 * _FIGURE_WIDTH_IN * aspect + 1.0))))
    try:
        if record.processed is not None and record.processed.size:
            h, w = record.processed.shape
            res = record.processed_resolution
            extent = (record.processed_origin_x, record.processed_origin_x + w * res,
                      record.processed_origin_y, record.processed_origin_y + h * res)
            ax.imshow(np.where(record.processed, 1.0, np.nan), origin='lower', extent=extent,
                      cmap='Greens', vmin=0.0, vmax=1.5, alpha=0.8, interpolation='nearest')
        fx, fy = zip(*(list(record.field) + [record.field[0]]))
        ax.plot(fx, fy, 'k-', lw=2, label='hazard area')
        for zone in record.exclusion_zones:
            zx, zy = zip(*(list(zone) + [zone[0]]))
            ax.fill(zx, zy, facecolor='none', edgecolor='k', hatch='//', lw=1)
        if len(record.planned_path):
            ax.plot(record.planned_path[:, 0], record.planned_path[:, 1], ':', color='tab:blue',
                    lw=0.8, label='planned path')
        if len(record.trajectory):
            ax.plot(record.trajectory[:, 0], record.trajectory[:, 1], '-', color='tab:blue',
                    lw=1.0, alpha=0.7, label='driven track')
        for kind, (color, marker) in _KIND_STYLE.items():
            pts = [(d.x, d.y) for d in record.detections if d.kind == kind]
            if pts:
                px, py = zip(*pts)
                ax.scatter(px, py, c=color, marker=marker, s=40, edgecolors='k',
                           linewidths=0.5, label=f'detection {kind.name}', zorder=5)
        for kinds, color, marker, label in ((('neutralised', 'ap_detonation'), 'k', 'x',
                                             'AP detonation'),
                                            (('at_detonation',), 'red', '*', 'AT detonation')):
            pts = [(e.x, e.y) for e in _events(record, *kinds)]
            if pts:
                px, py = zip(*pts)
                ax.scatter(px, py, c=color, marker=marker, s=70, label=label, zorder=6)
        ax.set_aspect('equal')
        ax.set_xlabel('x east [m] (map)')
        ax.set_ylabel('y north [m] (map)')
        ax.set_title(f'{record.world_name}: {record.coverage_percent:.1f} % processed, '
                     f'{record.outcome}')
        ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8)
        _save_png(fig, path)
    finally:
        plt.close(fig)


def render_mine_map_png(record: MissionRecord, values: np.ndarray, origin_x: float,
                        origin_y: float, resolution: float, path: str) -> None:
    """Render the fusion's mine-probability map (/mine_map: 0..100, -1 unknown) with the
    hazard area, exclusion zones, no-go discs and tracks, to a PNG.

    :raises ValueError: for an empty grid or a resolution that is not a positive number.
    """
    if np.asarray(values).ndim != 2 or not np.asarray(values).size or not (
            math.isfinite(resolution) and resolution > 0.0):
        raise ValueError('mine map: an empty grid or a bad resolution')
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    from matplotlib.patches import Circle
    v = np.asarray(values, dtype=float)
    h, w = v.shape
    extent = (origin_x, origin_x + w * resolution, origin_y, origin_y + h * resolution)
    aspect = (extent[3] - extent[2]) / max(extent[1] - extent[0], resolution)
    fig, ax = plt.subplots(figsize=(_FIGURE_WIDTH_IN, min(_FIGURE_MAX_HEIGHT_IN, max(
        _FIGURE_MIN_HEIGHT_IN, 0.7 * _FIGURE_WIDTH_IN * aspect + 1.0))))
    try:
        im = ax.imshow(np.where(v < 0, np.nan, v), origin='lower', extent=extent, cmap='magma_r',
                       vmin=0.0, vmax=100.0, interpolation='nearest')
        fig.colorbar(im, ax=ax, label='mine probability [%]', shrink=0.8)
        fx, fy = zip(*(list(record.field) + [record.field[0]]))
        ax.plot(fx, fy, 'c-', lw=1.5, label='hazard area')
        for zone in record.exclusion_zones:
            zx, zy = zip(*(list(zone) + [zone[0]]))
            ax.plot(zx, zy, 'c:', lw=1)
        for x, y, r in record.no_go_zones:
            ax.add_patch(Circle((x, y), r, fill=False, edgecolor='red', lw=1.5))
        for kind, (color, marker) in _KIND_STYLE.items():
            pts = [(d.x, d.y) for d in record.detections if d.kind == kind]
            if pts:
                px, py = zip(*pts)
                ax.scatter(px, py, c=color, marker=marker, s=40, edgecolors='w',
                           linewidths=0.5, label=f'track {kind.name}', zorder=5)
        ax.set_aspect('equal')
        ax.set_xlabel('x east [m] (map)')
        ax.set_ylabel('y north [m] (map)')
        ax.set_title(f'{record.world_name}: mine map (fusion), no-go zones in red')
        ax.legend(loc='upper left', bbox_to_anchor=(1.25, 1.0), fontsize=8)
        _save_png(fig, path)
    finally:
        plt.close(fig)


def _fmt(value: Optional[float], decimals: int) -> str:
    """A number to ``decimals``, or 'unknown' (a position the wire did not carry)."""
    return 'unknown' if value is None else f'{value:.{decimals}f}'


def _fmt_time(stamp: float) -> str:
    return f'{stamp:.1f} s'


def render_markdown(record: MissionRecord, summary: Dict[str, Any]) -> str:
    """Return the human-readable completion report."""
    lines = [
        f'# Clearance report: {record.world_name}',
        '',
        f'Generated {_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")} '
        'by the demining stack: ' + ('**simulated mission** (a simulator stood in for the '
                                     'machine and its sensors).' if record.simulated else
                                     'mission of the machine.'),
        '',
        '## Task',
        f'- Outcome: **{summary["outcome"]}**' + (f' ({record.reason})' if record.reason else ''),
        f'- Location: origin {record.origin.latitude_deg:.6f} N, '
        f'{record.origin.longitude_deg:.6f} E (WGS84), map frame ENU',
        f'- Hazard area: {summary["area_field_m2"]:.1f} m² '
        f'({len(record.exclusion_zones)} exclusion zones)',
        f'- Vehicle profile: {record.vehicle_profile or "n/a"}; tool width '
        f'{record.tool_width_m:.2f} m; required processing depth {record.working_depth_m:.2f} m',
        '',
        '## Result',
        '| figure | value |',
        '|---|---|',
        f'| processed area | {summary["area_cleared_m2"]:.1f} m² |',
        f'| coverage of the hazard area | {summary["coverage_percent"]:.2f} % |',
        f'| AT/UXO no-go zones (left for manual/EOD clearance) | {len(summary["no_go_zones"])}'
        f', {summary["area_no_go_m2"]:.1f} m² with the clearance round them |',
        f'| coverage of the hazard area outside them | '
        f'{summary["coverage_workable_percent"]:.2f} % |',
        f'| mission time | {summary["mission_time_s"]:.0f} s |',
        f'| soil permittivity of the GPR depths | {_permittivity_text(summary)} |',
        f'| clearance rate | {summary["clearance_rate_m2_per_h"]:.0f} m²/h |',
        f'| detections | {len(summary["detections"])} |',
        f'| AP detonations | {summary["ap_detonations"]} |',
        f'| detonations under a track (not the tool) | {summary["detonations_under_tracks"]} |',
        f'| motions that took the tracks off allowed ground (recorded, not refused; listed in '
        f'the safety events) | {summary["allowed_ground_departures"]} |',
        f'| AT detonations | {summary["at_detonations"]} |',
        f'| safety events | {len(summary["safety_events"])} |',
        '',
        '## Detonations sensed by the machine',
    ]
    sensed = summary['ap_detonation_events'] + summary['at_detonation_events']
    if sensed:
        lines += ['| time | kind | set off by | x [m] | y [m] | lat | lon |',
                  '|---|---|---|---|---|---|---|']
        for e in sorted(sensed, key=lambda e: e['stamp']):
            lines.append(f'| {_fmt_time(e["stamp"])} | {e["item_kind"] or "n/a"} | '
                         f'{e["detail"] or "n/a"} | {_fmt(e["x"], 2)} | {_fmt(e["y"], 2)} | '
                         f'{_fmt(e["lat"], 7)} | {_fmt(e["lon"], 7)} |')
    else:
        lines.append('None.')
    lines += ['', '## No-go zones (AT mine or UXO: marked, left for manual/EOD clearance)']
    if summary['no_go_zones']:
        lines += ['| x [m] | y [m] | radius [m] | lat | lon |', '|---|---|---|---|---|']
        for z in summary['no_go_zones']:
            lines.append(f'| {z["x"]:.2f} | {z["y"]:.2f} | {z["radius_m"]:.2f} | '
                         f'{_fmt(z["lat"], 7)} | {_fmt(z["lon"], 7)} |')
    else:
        lines.append('None.')
    lines += ['', '## Detections (sensor fusion)']
    if summary['detections']:
        lines += ['| id | kind | confidence | x [m] | y [m] | depth [m] |',
                  '|---|---|---|---|---|---|']
        for d in summary['detections']:
            lines.append(f'| {d["id"]} | {d["kind"]} | {d["confidence"]:.2f} | {d["x"]:.2f} | '
                         f'{d["y"]:.2f} | {d["depth_m"]:.2f} |')
    else:
        lines.append('None.')
    lines += ['', '## Safety and tool events']
    if record.safety_events:
        lines += ['| time | state | reason |', '|---|---|---|']
        for ev in record.safety_events:
            lines.append(f'| {_fmt_time(float(ev.get("stamp", 0.0)))} | {ev.get("state", "")} | '
                         f'{ev.get("reason", "")} |')
    else:
        lines.append('None.')
    residual = max(0.0, summary['area_field_m2'] - summary['area_cleared_m2'])
    lines += ['', '## Residual risk',
              f'Unprocessed ground inside the hazard area: {residual:.1f} m² '
              '(see `cleared_area.geojson`). IMAS 09.50: mechanical processing alone is not '
              'clearance; follow-up by manual or dog teams and quality sampling are required.',
              *_completion_lines(record.completion),
              '', '## Files', *[f'- `{name}`' for name in REPORT_FILES], '']
    return '\n'.join(lines)


def _completion_lines(c: Dict[str, Any]) -> List[str]:
    """The completion-report section (IMAS 08.30 style) of report.md."""
    if not c:
        return []
    lines = ['', '## Completion record (IMAS 08.30 style; `completion.json`)',
             f'- Task {c.get("task_id") or "n/a"}, hazard {c.get("hazard_id") or "n/a"}, '
             f'organisation {c.get("organisation") or "n/a"}',
             f'- Machine: {c.get("machine", "")}; processing depth '
             f'{c.get("processing_depth_m", 0.0):.2f} m',
             f'- Start {c.get("start_utc") or "n/a"}, end {c.get("end_utc") or "n/a"} (UTC), '
             f'{len(c.get("runs", []))} run(s)']
    ref = c.get('reference_point', {})
    lines.append(f'- Reference point: {ref.get("lat", 0.0):.7f}, {ref.get("lon", 0.0):.7f} '
                 f'({ref.get("description", "")})')
    lines += ['', '| turning point | lat | lon | from | bearing [deg] | distance [m] |',
              '|---|---|---|---|---|---|']
    for p in c.get('turning_points', []):
        lines.append(f'| {p["n"]} | {p["lat"]:.7f} | {p["lon"]:.7f} | {p["from"]} | '
                     f'{p["bearing_deg"]:.1f} | {p["distance_m"]:.2f} |')
    return lines


def write_report(record: MissionRecord, run_dir: str) -> Dict[str, Any]:
    """Write every report file into ``run_dir`` (created if needed); return the summary.

    Each file is replaced whole (:func:`atomic_write`), so writing the report again (a later
    terminal state, a rebuilt report) never leaves a mix of old and new content in one file.
    """
    os.makedirs(run_dir, exist_ok=True)
    lc = LocalCartesian(record.origin.latitude_deg, record.origin.longitude_deg,
                        record.origin.elevation_m)
    summary = build_summary(record)
    # The figures first: they are what matters if plotting fails on a broken install.
    atomic_write(os.path.join(run_dir, 'summary.json'),
                 json.dumps(summary, indent=2, allow_nan=False).encode())
    atomic_write(os.path.join(run_dir, 'detections.geojson'),
                 json.dumps(_geojson_detections(record, lc), indent=1).encode())
    cleared = cleared_polygon(record)
    atomic_write(os.path.join(run_dir, 'cleared_area.geojson'),
                 json.dumps(_geojson_cleared(record, lc, cleared), indent=1).encode())
    from demining_bringup.exports import write_exports
    write_exports(record, run_dir, cleared, record.no_go_zones)
    atomic_write(os.path.join(run_dir, 'report.md'),
                 render_markdown(record, summary).encode('utf-8'))
    render_coverage_png(record, os.path.join(run_dir, 'coverage.png'))
    return summary
