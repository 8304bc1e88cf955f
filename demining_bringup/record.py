"""The mission record rebuilt from the journal: the report, the completion record, the truth.

:func:`rebuild_report` reads a run folder's ``journal.sqlite``
(:mod:`demining_bringup.contract.journal`) and writes every report file from it. The mission
manager calls it when the mission ends, and ``demine report RUN_DIR`` at any time later, also
on a journal a kill cut off (the report then says ``interrupted``), so both give the same report.

What goes where:

* the machine's record (``summary.json``, ``report.md``, the GeoJSON files, ``coverage.png``):
  only what the machine knows: its processed ground, its tracks, the no-go zones, the
  detonations and impacts it sensed, its safety events;
* ``completion.json``: the completion-report fields in the style of IMAS 08.30 (task and hazard
  id, organisation, machine and profile, UTC start and end, processing depth, boundary turning
  points and the reference point in WGS84 with bearings and distances, residual risk);
* ``truth.json`` (simulated runs only, marked as simulation truth): each item's fate
  (neutralised, detected, left_active, missed), the mines left active in processed ground and
  the false alarms per square metre, from the world file and the simulator's truth events.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from shapely.geometry import Polygon as ShapelyPolygon

from demining_bringup.contract.datatypes import NO_GO_KINDS, DetectionKind, SoilPermittivity
from demining_bringup.contract.errors import JournalError
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.journal import (JournalContent, destroyed_items, file_sha256,
                                               journal_path, read_journal)
from demining_bringup.contract.states import MissionState
from demining_bringup.contract.world import GeoOrigin, ItemKind, WorldError
from demining_bringup.contract import vehicle_params
from demining_bringup.report import atomic_write, write_report, MissionRecord
from demining_bringup.results import RunResult
from demining_control.coverage.processed import ProcessedGrid

#: The simulation-truth file of a run folder (simulated runs only).
TRUTH_FILE = 'truth.json'
#: The completion record (IMAS 08.30 style) of a run folder.
COMPLETION_FILE = 'completion.json'
#: The fusion's mine map as last journaled (when the journal holds one).
MINE_MAP_IMAGE = 'mine_map.png'
#: Outcome of a mission whose journal ends before a terminal state (killed, crashed).
INTERRUPTED = 'interrupted'
#: A track this close to an item detected it, m: the fusion's association radius (0.35 m)
#: plus the localisation error a track carries (EKF position sigma ~0.1-0.2 m, twice).
MATCH_RADIUS_M = 0.75
#: Item kinds that are explosive hazards (clutter is not).
HAZARD_KINDS = (ItemKind.AP, ItemKind.AT, ItemKind.UXO)
#: Track kinds that declare a hazard (a CLUTTER track declares none: never a false alarm).
_HAZARD_TRACKS = (DetectionKind.AP, DetectionKind.AT, DetectionKind.UXO,
                  DetectionKind.UNKNOWN)
_DECIMALS = 8                    # ~1 mm in latitude
_DEPTH_PERCENTILE = 0.05         # the depth the tool reached in all but 5 % of its samples
_IMAS_0830 = ('IMAS 08.30 Post-clearance documentation (completion report fields); IMAS 09.50 '
              'Mechanical demining (mechanical processing alone is not clearance)')


def _json_number(value: float, decimals: Optional[int] = None) -> Optional[float]:
    """``value`` (rounded), or None for NaN/inf (a position the wire did not carry)."""
    if not math.isfinite(value):
        return None
    return round(value, decimals) if decimals is not None else value


def _terminal(state: str) -> bool:
    return state in {s.value for s in MissionState if s.terminal}


#: Journal meta key of the GPR's soil permittivity (:func:`soil_permittivity_record`).
SOIL_PERMITTIVITY_KEY = 'soil_permittivity'


def soil_permittivity_record(p: SoilPermittivity) -> Dict[str, Any]:
    """The journal's and the report's form of a :class:`SoilPermittivity` (JSON)."""
    est = float(p.estimate)
    return {'in_use': round(float(p.in_use), 2), 'prior': round(float(p.prior), 2),
            'estimate': round(est, 2) if math.isfinite(est) else None, 'fits': int(p.fits),
            'estimated': bool(p.estimated)}


def load_record(run_dir: str) -> Tuple[MissionRecord, JournalContent, ProcessedGrid]:
    """The mission record of a run folder, from its journal.

    :raises JournalError: when the journal is missing, corrupt or inconsistent.
    """
    content = read_journal(journal_path(run_dir))
    meta = content.meta
    try:
        area = meta['area']
        params = meta['parameters']
        field = [tuple(map(float, p)) for p in area['field']]
        zones = [[tuple(map(float, p)) for p in z] for z in area['exclusion_zones']]
        origin = GeoOrigin(**area['origin'])
        grid = ProcessedGrid(field, zones, float(params['processed_resolution_m']),
                             float(params['tool_width_m']), float(params['tool_offset_x_m']))
    except (KeyError, TypeError, ValueError) as exc:
        raise JournalError(f'{journal_path(run_dir)}: incomplete meta data '
                           f'({type(exc).__name__}: {exc})') from None
    if content.processed is not None:
        if content.processed.shape != grid.processed.shape:
            raise JournalError(f'{journal_path(run_dir)}: processed grid '
                               f'{content.processed.shape} does not fit the area')
        grid.processed = content.processed.copy()
    region = ShapelyPolygon(field)
    for z in zones:
        region = region.difference(ShapelyPolygon(z))
    tr = content.transitions
    starts = [t['stamp'] for t in tr if t['state'] == MissionState.PLANNING.value]
    start = starts[0] if starts else (tr[0]['stamp'] if tr else 0.0)
    if tr and _terminal(tr[-1]['state']):
        outcome, reason, end = tr[-1]['state'], tr[-1]['reason'], tr[-1]['stamp']
    else:
        outcome, end = INTERRUPTED, content.last_stamp
        reason = (f'interrupted: the journal ends at {content.last_stamp:.0f} s of mission time '
                  f'in state {content.last_state or "idle"} (the run was killed or crashed; '
                  'this report was rebuilt from the journal)')
    if len(content.segments) > 1 and not reason.startswith('interrupted'):
        reason += f' (over {len(content.segments)} runs: resumed after a restart)'
    record = MissionRecord(
        world_name=str(meta.get('world_name', '')), field=field, origin=origin,
        exclusion_zones=zones, planned_path=content.planned_path,
        trajectory=content.trajectory[:, :2].copy(),
        processed=(grid.processed & grid.mask).copy(), processed_origin_x=grid.origin_x,
        processed_origin_y=grid.origin_y, processed_resolution=grid.resolution,
        coverage_percent=grid.coverage_percent(), area_field_m2=float(region.area),
        area_cleared_m2=grid.processed_area_m2(), detections=list(content.tracks),
        # what a blast or impact sensor reports: when and where, not which simulated item
        events=[dataclasses.replace(e, item_id='', item_kind='') for e in content.machine_events],
        safety_events=list(content.safety_events),
        start_stamp=float(start), end_stamp=float(end), outcome=outcome, reason=reason,
        tool_width_m=float(params.get('tool_width_m', 0.0)),
        working_depth_m=float(params.get('working_depth_m', 0.0)),
        vehicle_profile=str(meta.get('vehicle_profile', '')),
        simulated=bool(meta.get('simulated', True)))
    # every zone the live mission drew (also round a track re-labelled since), then the
    # current tracks (a journal older than the no_go table)
    record.no_go_zones = no_go_discs([*content.no_go_tracks, *record.detections], params)
    record.labels = dict(content.labels)
    kept = meta.get(SOIL_PERMITTIVITY_KEY)
    record.soil_permittivity = dict(kept) if isinstance(kept, dict) else {}
    record.no_go_clearance_m = _param(params, 'exclusion_clearance_m',
                                      vehicle_params.exclusion_clearance_m())
    record.completion = completion_record(record, content)
    return record, content, grid


def _param(params: Dict[str, Any], name: str, descriptor: Any) -> float:
    """A journaled parameter as a float; the shared descriptor's default when absent or bad."""
    default = float(descriptor.default)
    try:
        return float(params.get(name, default))
    except (TypeError, ValueError):
        return default


def no_go_discs(tracks, params: Dict[str, Any]) -> List[Tuple[float, float, float]]:
    """The no-go discs the planner and the supervisor drew round the AT/UXO tracks.

    ``tracks`` in the order the mission saw them: the zones grow as the planner's do.
    """
    from demining_control.coverage.no_go import NoGoZones
    margin = _param(params, 'no_go_margin_m', vehicle_params.no_go_margin_m())
    zones = NoGoZones(margin)
    zones.update(tracks)
    return list(zones.discs)


def no_go_entries(record: MissionRecord, content: JournalContent,
                  wgs84: Callable[[float, float], Dict[str, float]]) -> List[Dict[str, Any]]:
    """One entry per no-go zone of the record: where, how large, which track made it and how.

    ``kind`` is the label that made the zone, ``label_now`` the track's label at the end
    (a zone stays when its track is re-labelled, :mod:`demining_control.coverage.no_go`;
    ``none``: the track was dropped), so a reader sees which zones the fusion later doubted.
    """
    now = {d.id: d.kind.name for d in record.detections}
    makers = [*content.no_go_tracks,
              *(d for d in record.detections if d.kind in NO_GO_KINDS)]
    out = []
    for x, y, r in record.no_go_zones:
        maker = min(makers, key=lambda d: math.hypot(d.x - x, d.y - y), default=None)
        entry = {**wgs84(x, y), 'x': round(x, 3), 'y': round(y, 3), 'zone_radius_m': round(r, 2)}
        if maker is not None:
            entry.update(id=maker.id, kind=maker.kind.name, radius_m=round(maker.radius, 2),
                         label_now=now.get(maker.id, 'none'))
        out.append(entry)
    return out


def _bearing_distance(a: Tuple[float, float], b: Tuple[float, float]) -> Tuple[float, float]:
    """Bearing (degrees clockwise from north; the map frame is ENU) and distance a -> b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    return (math.degrees(math.atan2(dx, dy)) % 360.0, math.hypot(dx, dy))


def _achieved_depth(content: JournalContent) -> Dict[str, Any]:
    """The measured tool depth while it processed (the journal's tool samples), m.

    IMAS 09.50 asks that the processing depth be verified; the median and the 5th percentile of
    the sampled depth while working say how deep the tool really went.
    """
    depths = sorted(t['depth'] for t in content.tool if t['working'])
    if not depths:
        return {'samples': 0, 'median': None, 'p05': None}
    return {'samples': len(depths), 'median': round(depths[len(depths) // 2], 3),
            'p05': round(depths[int(_DEPTH_PERCENTILE * (len(depths) - 1))], 3)}


def completion_record(record: MissionRecord, content: JournalContent) -> Dict[str, Any]:
    """The completion-report fields (IMAS 08.30 style) of a mission."""
    meta = content.meta
    o = record.origin
    lc = LocalCartesian(o.latitude_deg, o.longitude_deg, o.elevation_m)

    def wgs84(x: float, y: float) -> Dict[str, float]:
        lat, lon, _ = lc.to_geodetic(x, y, 0.0)
        return {'lat': round(float(lat), _DECIMALS), 'lon': round(float(lon), _DECIMALS)}

    ref = (0.0, 0.0)
    points = []
    prev = ref
    for n, (x, y) in enumerate(record.field, start=1):
        bearing, dist = _bearing_distance(prev, (x, y))
        points.append({'n': n, **wgs84(x, y), 'x': round(x, 3), 'y': round(y, 3),
                       'from': 'reference point' if n == 1 else f'turning point {n - 1}',
                       'bearing_deg': round(bearing, 1), 'distance_m': round(dist, 2)})
        prev = (x, y)
    tr = content.transitions
    starts = [t['utc'] for t in tr if t['state'] == MissionState.PLANNING.value]
    end_utc = (tr[-1]['utc'] if tr and _terminal(tr[-1]['state'])
               else (content.segments[-1]['last_utc'] if content.segments else ''))

    no_go = no_go_entries(record, content, wgs84)
    unprocessed = max(0.0, record.area_field_m2 - record.area_cleared_m2)
    # the profile's name (config/vehicles/<name>.yaml), not the path it was read from
    profile = (os.path.splitext(os.path.basename(record.vehicle_profile))[0]
               or 'unknown profile')
    return {
        'standard': _IMAS_0830,
        'task_id': str(meta.get('task_id', '')), 'hazard_id': str(meta.get('hazard_id', '')),
        'organisation': str(meta.get('organisation', '')),
        'machine': (f'simulated machine ({profile})' if record.simulated else profile),
        'vehicle_profile': record.vehicle_profile, 'simulated': record.simulated,
        'hazard_area': record.world_name,
        'start_utc': starts[0] if starts else (content.segments[0]['started_utc']
                                               if content.segments else ''),
        'end_utc': end_utc, 'outcome': record.outcome,
        'runs': [{'started_utc': s['started_utc'], 'last_utc': s['last_utc'],
                  'mission_time_from_s': round(s['offset_s'], 2),
                  'mission_time_to_s': round(s['last_stamp'], 2)} for s in content.segments],
        'processing_depth_m': record.working_depth_m,
        'processing_depth_achieved_m': _achieved_depth(content),
        'reference_point': {**wgs84(*ref), 'description': 'origin of the map frame (the '
                            "world's geographic origin); turning point 1 is given from it"},
        'turning_points': points,
        'area_m2': round(record.area_field_m2, 2),
        'processed_m2': round(record.area_cleared_m2, 2),
        'residual_risk': {
            'unprocessed_m2': round(unprocessed, 2),
            'no_go_zones': no_go,
            'statement': (f'{unprocessed:.1f} m^2 of the hazard area is unprocessed and '
                          f'{len(no_go)} AT/UXO no-go zone(s) were left for manual clearance. '
                          'Mechanical processing alone is not clearance (IMAS 09.50): '
                          'follow-up by manual or dog teams and quality sampling are required '
                          'before release.')},
    }


def truth_record(record: MissionRecord, content: JournalContent,
                 grid: ProcessedGrid) -> Dict[str, Any]:
    """Simulation truth: each item's fate, mines left active in processed ground, false alarms.

    Items come from the world file the journal names, if it still has the journal's SHA-256.
    """
    from demining_bringup.contract.sdf import load_world
    meta = content.meta
    path = str(meta.get('area_file', ''))
    out: Dict[str, Any] = {
        'simulation_truth': True,
        'warning': 'SIMULATION GROUND TRUTH: known only to the simulator, never to the '
                   'machine; not part of the clearance record',
        'world_file': path, 'world_sha256': meta.get('world_sha256', '')}
    events = content.truth_events + content.machine_events
    gone = set(destroyed_items(events))
    out['neutralised'] = [{'stamp': round(e.stamp, 3), 'kind': e.kind, 'item_id': e.item_id,
                           'item_kind': e.item_kind, 'x': _json_number(e.x, 3),
                           'y': _json_number(e.y, 3), 'detail': e.detail}
                          for e in sorted(events, key=lambda e: e.stamp)
                          if e.kind in ('neutralised', 'ap_detonation')]
    out['truth_events'] = [{k: _json_number(v) if isinstance(v, float) else v
                            for k, v in dataclasses.asdict(e).items()}
                           for e in content.truth_events]
    if file_sha256(path) != meta.get('world_sha256') or not path:
        out['items'] = None
        out['error'] = 'the world file is missing or changed since the run: no item fates'
        return out
    try:
        world = load_world(path)
    except (WorldError, OSError) as exc:
        out['items'] = None
        out['error'] = f'cannot read the world: {exc}'
        return out
    tracks = list(record.detections)
    res = grid.resolution

    def processed_at(x: float, y: float) -> bool:
        # the record's processed ground: its no-go zones are left for a manual or EOD team
        # (demining_bringup.report.cleared_polygon)
        i = int(math.floor((x - grid.origin_x) / res))
        j = int(math.floor((y - grid.origin_y) / res))
        return (0 <= j < grid.height and 0 <= i < grid.width and bool(grid.processed[j, i])
                and bool(grid.mask[j, i]) and not any(
                    math.hypot(x - zx, y - zy) <= zr for zx, zy, zr in record.no_go_zones))

    items = []
    for it in world.items:
        detected = any(math.hypot(d.x - it.x, d.y - it.y) <= MATCH_RADIUS_M for d in tracks
                       if d.kind is not DetectionKind.CLUTTER)
        in_processed = processed_at(it.x, it.y)
        if it.name in gone:
            fate = 'neutralised'
        elif detected:
            fate = 'detected'
        elif in_processed:
            fate = 'left_active'
        else:
            fate = 'missed'
        items.append({'item_id': it.name, 'kind': it.kind.value, 'x': round(it.x, 3),
                      'y': round(it.y, 3), 'depth_m': round(it.depth, 3), 'fate': fate,
                      'detected': detected, 'in_processed_ground': in_processed})
    hazards = [it for it in world.items if it.kind in HAZARD_KINDS]
    false_alarms = [d for d in tracks if d.kind in _HAZARD_TRACKS and not any(
        math.hypot(d.x - it.x, d.y - it.y) <= MATCH_RADIUS_M for it in hazards)]
    fates: Dict[str, int] = {}
    for e in items:
        fates[e['fate']] = fates.get(e['fate'], 0) + 1
    # the simulator's own record of each item (detonated, destroyed, thrown aside, pushed
    # deeper, ...: demining_sim.truth), carried by its events, judged on the record's grid
    from demining_sim.truth import FATE_KEY, fates_from_events, truth_document
    physics = truth_document(fates_from_events(world.items, events),
                             lambda xs, ys: np.array([processed_at(x, y)
                                                      for x, y in zip(xs, ys)], dtype=bool))
    out['item_fates'] = physics.pop('items')
    out.update({
        'items': items, 'fates': fates,
        'mines_left_active_in_processed_ground': sum(
            1 for e, it in zip(items, world.items)
            if it.kind in HAZARD_KINDS and e['fate'] != 'neutralised'
            and e['in_processed_ground']),
        'false_alarms': len(false_alarms),
        'false_alarms_per_m2': (round(len(false_alarms) / record.area_field_m2, 6)
                                if record.area_field_m2 > 0 else None),
        'false_alarm_area': 'the hazard area (field minus exclusion zones), m^2',
        'match_radius_m': MATCH_RADIUS_M})
    # counts every simulator knows (no item touched yet: all intact and live)
    out.update({k: physics[k] for k in ('mines_total', 'mines_live', 'mines_moved',
                                        'mines_by_state')})
    if any(e.extra and FATE_KEY in e.extra for e in events):
        # the simulator's fates decide what is live where (a thrown mine counts where it
        # landed); without them (an older simulator) the events above decide
        out.update(physics)
    return out


def rebuild_report(run_dir: str) -> Dict[str, Any]:
    """Write every report file of ``run_dir`` from its journal; return the summary.

    :raises JournalError: when the journal is missing, corrupt or inconsistent.
    """
    record, content, grid = load_record(run_dir)
    summary = write_report(record, run_dir)
    m = content.mine_map
    if m is not None and m.values.size and m.resolution > 0.0:
        from demining_bringup.report import render_mine_map_png
        render_mine_map_png(record, m.values, m.origin_x, m.origin_y, m.resolution,
                            os.path.join(run_dir, MINE_MAP_IMAGE))
    atomic_write(os.path.join(run_dir, COMPLETION_FILE),
                 json.dumps(record.completion, indent=2, allow_nan=False).encode())
    if record.simulated:
        atomic_write(os.path.join(run_dir, TRUTH_FILE),
                     json.dumps(truth_record(record, content, grid), indent=1,
                                allow_nan=False).encode())
    return summary


def report_if_missing(result: RunResult, progress: Callable[[str], None]) -> RunResult:
    """``result``, with the report rebuilt from the run folder's journal when the mission
    manager wrote none (it was unreachable or killed before it could: a DDS run under load,
    a crashed process). The journal is committed as the mission goes, so the record is kept;
    the report's outcome is then ``interrupted``, with where the journal ends.
    """
    if result.summary is not None or not os.path.exists(journal_path(result.run_dir)):
        return result
    try:
        summary = rebuild_report(result.run_dir)
    except (JournalError, OSError) as exc:
        progress(f'no report: the journal could not be read ({exc})')
        return result
    progress('the mission manager wrote no report: rebuilt from the mission journal '
             f'({summary["outcome"]})')
    return dataclasses.replace(result, summary=summary)


def read_truth(run_dir: Optional[str]) -> Optional[dict]:
    """The run folder's truth.json (None when there is none)."""
    try:
        with open(os.path.join(run_dir or '', TRUTH_FILE), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


__all__ = ['COMPLETION_FILE', 'INTERRUPTED', 'MATCH_RADIUS_M', 'MINE_MAP_IMAGE',
           'SOIL_PERMITTIVITY_KEY', 'TRUTH_FILE', 'completion_record', 'load_record',
           'read_truth', 'rebuild_report', 'report_if_missing', 'soil_permittivity_record',
           'truth_record']
