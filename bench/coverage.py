#!/usr/bin/env python3
"""Coverage-planning bench: this stack's planner against a peer, on shapes it was not built on.

For every area (the shapes of :mod:`demining_sim.shapes`, and the shipped worlds' fields) the
stack's planner plans from the start pose with the area's declared safe ground (the approach
lane, safe areas), and the plan is replayed by :func:`demining_control.coverage.allowed.
check_path` as the follower drives it: tool strip swept on work legs, the tracks' swept
footprint checked against allowed ground (processed or declared safe, never a keep-out zone).

The peer is the PyPI ``coverage-path-planner`` (a C++ boustrophedon planner for robot mowers,
CaSSAndRA project; benchmark-only, never a dependency): lines at the same spacing and angle,
the same number of border laps, exclusion zones as obstacles. It models a tool centred on the
robot, so its path is scored with the tool at base_link (``tool_offset_x_m`` 0) by the same
check; the peer is not footprint-aware and its track figures are shown, not compared.

Figures per area: coverage of the workable ground (field minus keep-out zones and their
clearance) the machine can reach from its start (cut-off ground is reported, not counted),
metres and entries of track/tool in keep-out zones, metres of path with a track outside
allowed ground and their count (``footprint_violations``), of which those on unprocessed
ground of the field itself (``field_violations``: confirmed hazardous ground, where a bench
mission counts its footprint violations), path length, turns, planning time,
the length ratio to the peer, and the re-plan time around a new no-go zone. ``lead_ins``:
back-ups before a tool lowering whose band ahead the boom had not seen
(``lead_ins_outside``: those whose tracks back out of the field onto ground not declared safe;
``lead_ins_scanned``: those whose tracks back onto the field's ground the boom scanned);
``blind_lowerings`` and ``blind_lead_m2``: lowerings no back-up fits, and their unseen ground
(:mod:`demining_control.coverage.lead_in`). ``blind_track_m2`` and ``blind_track_stretches``:
ground of the field the tracks press before the tool processed it or the sensor boom swept
it (mostly the rear track corners in a pivot), where a mine is one no sensor could have found;
the check uses the planned machine's tracks, tool and boom (``--profile``). ``blind_pivots``:
the pivots the plan itself reports sweeping such ground (:func:`demining_control.coverage.
lead_in.blind_pivots`, what the planner node logs).

Re-plan: on the cratered field (5 ha, 25 craters), a 10 ha field with 25 craters and the
rotated 10 ha rectangle (``--quick``: the small cratered field and the field cut by a road), the
ground of the first 40 % of the plan's lanes counts as processed and a new no-go disc (an AT
mine, radius + margin) appears on the next lane. Timed is the coverage planner node's response
(``replan_mode`` repair): the path repaired round the zone from where the machine is
(:mod:`demining_control.coverage.repair`), or, when no repair is clear, the remaining ground
re-planned in full. ``repair_fallbacks`` counts those; ``full_replan_p95_ms`` is the full
re-plan's time on every trial, for reference. Every path a trial yields is checked as the plans
are (``check_path``, untimed): the keep-out is the exclusion zones and the new zone's polygon,
the allowed ground the lanes processed before and the declared safe ground.
``repair_keep_out_entries``, ``repair_footprint_violations``, ``repair_field_violations``: of
the path the node drives after its response (the repaired path, or the full re-plan it fell
back to); ``full_replan_*``: the same of each trial's full re-plan, for reference;
``remaining_*``: of the old path from the machine's waypoint as it was (through the new zone:
its keep-out entries are the zone's, its violations the old plan's). A line per trial gives
them (``no-go paths``).

Last line: one JSON object: ``footprint_violations`` (sum), ``field_violations`` (sum),
``keep_out_entries`` (sum), ``lead_ins``, ``blind_lowerings``, ``blind_lead_m2``,
``blind_track_m2``, ``blind_track_stretches``, ``blind_pivots`` (sums),
``min_coverage_reachable_pct``, ``max_length_vs_peer``, ``max_plan_s`` (wall time; and
``max_plan_cpu_s``, the planner process's CPU time, on a shared host), ``replan_p95_ms``,
``repair_fallbacks``, ``full_replan_p95_ms``, ``repair_keep_out_entries`` (must be 0),
``repair_footprint_violations``, ``repair_field_violations``, the same three of
``full_replan_`` and of ``remaining_`` (sums over the re-plan trials), ``areas``.
``--png FILE`` renders every plan (the tracks' violations marked).

``--replay FILE...`` plans the plan requests a mission kept (``<run_dir>/plan_requests/``,
:mod:`demining_control.coverage.requests`) again instead and measures each the same way, the
ground processed before it counting as allowed: one JSON line per request, then their sums
(with ``blind_pivots``, ``blind_pivot_m2`` and ``start_pivot_m2``: the plan's pivots that sweep
the tracks over ground nothing has looked at, the pivot from the machine's facing onto the
first leg included, and that first pivot's share; ``suspects_pressed``: the suspects the
request knew that a track presses on ground not allowed before the tool processed them, each
once, as the safety supervisor records them).

Usage: ``bench/coverage.py [--quick] [--png FILE] [--resolution M] [--profile NAME]
[--replay FILE...]``
(``pip install -r requirements/bench.txt`` first for the peer).
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from demining_bringup.contract.area import HazardArea, load_area  # noqa: E402
from demining_bringup.contract.errors import ConfigError  # noqa: E402
from demining_bringup.contract.parameters import ParamError, from_dict  # noqa: E402
from demining_bringup.contract.sdf import load_world  # noqa: E402
from demining_control.coverage.allowed import (ContactParams, check_path,  # noqa: E402
                                               contact_for, geofence)
from demining_control.coverage.no_go import disc_polygon  # noqa: E402
from demining_control.coverage.planner import (CoverageParams, PlanningError,  # noqa: E402
                                               classify_work, lane_strips, plan_coverage)
from demining_control.coverage.requests import read_request  # noqa: E402
from demining_control.coverage.repair import (RepairGeometry, allowed_router,  # noqa: E402
                                              repair_path)
from demining_bringup.stack import (load_profile, load_stack, resolve_arguments,  # noqa: E402
                                    resolve_stack)
from demining_sim import shapes  # noqa: E402

#: The follower's work reach (path_follower work_reach_m): tool lowered within it of the field.
WORK_REACH_M = 4.0
#: A TM-62 (0.16 m radius) plus the default no-go margin (1.0 m), m.
NO_GO_RADIUS_M = 1.16
#: Share of the plan's lanes taken as processed before the new no-go zone appears.
REPLAN_DONE_SHARE = 0.4
#: The coverage planner node's back_out_max_m and the profiles' geofence_margin_m, m.
BACK_OUT_MAX_M = 10.0
GEOFENCE_MARGIN_M = 10.0
#: Re-plan trials per field (--quick: fewer).
REPLAN_TRIALS = 5
REPLAN_TRIALS_QUICK = 3


def _areas(quick: bool) -> Dict[str, HazardArea]:
    out: Dict[str, HazardArea] = {}
    worlds = sorted(glob.glob(os.path.join(os.path.dirname(HERE), 'demining_sim', 'worlds',
                                           '*.sdf')))
    for path in worlds[:2] if quick else worlds:
        area = load_area(path)
        start = load_world(path).vehicle_start
        out[area.name] = (area, start)
    makers = shapes.SHAPES
    if quick:
        makers = {'curved_strip': lambda: shapes.curved_strip(150.0, 12.0, 600.0),
                  'split_by_road': lambda: shapes.split_by_road(60.0, 40.0),
                  'cratered_field': lambda: shapes.cratered_field(80.0, 60.0, 6)}
    for name, make in makers.items():
        s = make()
        area = HazardArea(name=name, field=s.field, exclusion_zones=s.exclusion_zones,
                          origin=None, approach_lanes=[s.approach_lane] if s.approach_lane
                          else [], safe_areas=s.safe_areas)
        out[name] = (area, s.start)
    return out


def _peer(area: HazardArea, start, params: CoverageParams, angle: float, laps: int):
    """The peer's path (N x 2) or None when it is not installed; and its planning time."""
    try:
        import coverage_path_planner as cpp
    except ImportError:
        return None, 0.0
    field = Polygon(area.field)
    env = cpp.Environment(cpp.Polygon([cpp.Point(x, y) for x, y in area.field]))
    for zone in area.exclusion_zones:
        clipped = Polygon(zone).intersection(field)
        for g in getattr(clipped, 'geoms', [clipped]):
            if isinstance(g, Polygon) and g.area > 0.0:
                env.addObstacle(cpp.Polygon([cpp.Point(x, y) for x, y in g.exterior.coords[:-1]]))
    s = cpp.PathSettings()
    s.pattern = 'lines'
    s.offset = params.lane_spacing_m
    s.angle = angle
    s.distanceToBorder = 0.5 * params.tool_width_m - (params.tool_width_m - s.offset)
    s.mowArea = True
    s.mowBorder = laps > 0
    s.borderLaps = laps
    s.mowBorderCcw = True
    s.mowExclusionsBorder = True
    s.exclusionsBorderLaps = 1
    entry = field.exterior.interpolate(field.exterior.project(Point(start[:2])))
    inside = field.buffer(-0.5 * params.tool_width_m)
    entry = inside.exterior.interpolate(inside.exterior.project(entry))
    t0 = time.perf_counter()
    result = cpp.PathService().computeFullTask(env, s, cpp.Point(entry.x, entry.y))
    dt = time.perf_counter() - t0
    pts = [(p.x, p.y) for p in result.path.getPoints()]
    return np.asarray([start[:2]] + pts, dtype=float), dt


#: The safety figures of a re-plan's path (:func:`_check_replan`), summed over the trials.
REPLAN_CHECK_KEYS = ('footprint_violations', 'field_violations', 'keep_out_entries')


@dataclasses.dataclass
class ReplanTrial:
    """One no-go trial: its response, and the safety figures of the paths it yields.

    ``repair``: the path the node drives after the response (the repaired path, or the full
    re-plan it fell back to); ``full_replan``: the full re-plan of that trial, for reference;
    ``remaining``: the old path from the machine's waypoint as it was (it runs through the new
    zone: its keep-out entries are the zone's; its field violations are the old plan's).
    Each: :data:`REPLAN_CHECK_KEYS` -> count.
    """

    response_ms: float
    full_ms: float
    fell_back: bool
    repair: Dict[str, int]
    full_replan: Dict[str, int]
    remaining: Dict[str, int]


def _check_replan(path: np.ndarray, work, area: HazardArea, keep_out: List[List[Tuple]],
                  allowed, contact: ContactParams) -> Dict[str, int]:
    """The safety figures of a re-plan's path (x, y, facing), checked as the plans are:
    :data:`REPLAN_CHECK_KEYS` -> count (stretches)."""
    check = check_path(path, work, area.field, keep_out, allowed, contact)
    return {'footprint_violations': len(check.violations),
            'field_violations': len(check.field_violations),
            'keep_out_entries': len(check.keep_out_at)}


def _replan_trials(area: HazardArea, start, params: CoverageParams, trials: int,
                   contact: ContactParams) -> List[ReplanTrial]:
    """Responses round a new no-go disc on the lane after 40 % of the lanes, and their paths'
    safety figures.

    As the coverage planner node responds (``replan_mode`` repair): the path from the
    machine's waypoint is repaired (the router over the processed ground built in the time);
    when no repair is clear, the remaining ground is re-planned in full, and that is the time.
    Every path is then checked (:func:`_check_replan`, untimed) against the keep-out the node
    plans round (the exclusion zones and the new zone's polygon, as the node grows the disc:
    :func:`~demining_control.coverage.no_go.disc_polygon`), on the ground allowed then (the
    lanes processed before, and the declared safe ground).
    """
    safe = area.safe_ground()
    fence = geofence(area.field, safe, GEOFENCE_MARGIN_M)
    plan = plan_coverage(area.field, area.exclusion_zones, start[:2], params, safe_ground=safe,
                         start_yaw=start[2] if len(start) > 2 else None)
    path = np.column_stack([plan.waypoints, plan.facing])
    work = np.asarray(plan.work, dtype=bool)
    geometry = RepairGeometry.of(params, BACK_OUT_MAX_M)
    lanes = plan.lanes
    out: List[ReplanTrial] = []
    for k in range(trials):
        done = max(1, int(REPLAN_DONE_SHARE * len(lanes)) + k)
        if done >= len(lanes):
            break
        processed = lane_strips(lanes[:done], plan.headland, params.tool_width_m)
        nxt = lanes[done]
        mid = (0.5 * (nxt.tool_start[0] + nxt.tool_end[0]),
               0.5 * (nxt.tool_start[1] + nxt.tool_end[1]))
        disc = (mid[0], mid[1], NO_GO_RADIUS_M)
        zone = list(disc_polygon(*disc).exterior.coords)[:-1]
        here = lanes[done - 1].end
        at = int(np.argmin(np.hypot(path[:, 0] - here[0], path[:, 1] - here[1])))
        keep_out = [Polygon(z) for z in area.exclusion_zones] + [Polygon(zone)]
        allowed = unary_union([processed, safe])

        def router():
            return allowed_router(params, geometry, allowed, keep_out, fence)
        t0 = time.perf_counter()
        rep = repair_path(path, work, at, path[at], [disc], geometry, router, fence=fence)
        t1 = time.perf_counter()
        full = plan_coverage(area.field, area.exclusion_zones, here, params,
                             processed=processed, safe_ground=safe, no_go_zones=[zone])
        t2 = time.perf_counter()
        rings = [*area.exclusion_zones, zone]
        full_check = _check_replan(np.column_stack([full.waypoints, full.facing]), full.work,
                                   area, rings, allowed, contact)
        out.append(ReplanTrial(
            response_ms=1000.0 * ((t1 - t0) + (t2 - t1 if rep is None else 0.0)),
            full_ms=1000.0 * (t2 - t1), fell_back=rep is None,
            repair=full_check if rep is None else _check_replan(rep.path, rep.work, area,
                                                                rings, allowed, contact),
            full_replan=full_check,
            remaining=_check_replan(path[at:], work[at:], area, rings, allowed, contact)))
    return out


def _panels(n: int, cols: int, width: float, height: float):
    """A figure of ``n`` panels, ``cols`` a row at most (the unused ones hidden): (figure,
    the ``n`` axes)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cols = min(cols, n)
    rows_n = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(width * cols, height * rows_n),
                             squeeze=False)
    axes = list(np.ravel(axes))
    for ax in axes[n:]:
        ax.axis('off')
    return fig, axes[:n]


def _save(fig, path: str) -> None:
    """Lay out, write and close a figure of :func:`_panels`."""
    import matplotlib.pyplot as plt
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _render(rows: List[dict], path: str) -> None:
    fig, axes = _panels(len(rows), 3, 6.0, 5.0)
    for ax, row in zip(axes, rows):
        area, xy = row['_area'], row['_xy']
        ax.fill(*Polygon(area.field).exterior.xy, color='#f3e3c3')
        for z in area.exclusion_zones:
            ax.fill(*Polygon(z).exterior.xy, color='#bbbbbb')
        for lane in area.approach_lanes:
            ax.fill(*Polygon(lane).exterior.xy, color='#cfe8cf')
        ax.plot(xy[:, 0], xy[:, 1], lw=0.5, color='#1f4e79')
        v = np.asarray(row['_violations']).reshape(-1, 2)
        if len(v):
            ax.plot(v[:, 0], v[:, 1], 'x', color='#c00000', ms=4)
        ax.set_title(f"{row['area']}: {row['coverage_pct']:.2f} %, "
                     f"{row['footprint_violations']} violations", fontsize=9)
        ax.set_aspect('equal')
    _save(fig, path)


def _fill(ax, geom, **style) -> None:
    """Fill every polygon of a shapely geometry (holes drawn over in white)."""
    if geom is None or geom.is_empty:
        return
    for g in getattr(geom, 'geoms', [geom]):
        if isinstance(g, Polygon):
            ax.fill(*g.exterior.xy, **style)
            for hole in g.interiors:
                ax.fill(*hole.xy, color='white')


def _render_replays(drawn: List[tuple], path: str) -> None:
    """Draw each replayed plan: the field, the ground processed before it (green), declared
    safe ground (pale green), keep-out zones (grey), work legs (blue), transits (orange), the
    start and the field violations (red crosses)."""
    fig, axes = _panels(len(drawn), 2, 7.0, 6.0)
    for ax, (name, req, plan, check) in zip(axes, drawn):
        _fill(ax, Polygon(req.field), color='#f3e3c3')
        _fill(ax, req.safe_ground, color='#e2f0d9')
        _fill(ax, req.processed, color='#9fd39f')
        for zone in [*req.exclusion_zones, *req.no_go_zones]:
            _fill(ax, Polygon(zone), color='#999999')
        xy = np.asarray(plan.waypoints)
        for k in range(len(xy) - 1):
            ax.plot(xy[k:k + 2, 0], xy[k:k + 2, 1], lw=0.8,
                    color='#1f4e79' if plan.work[k] else '#e07b00')
        ax.plot(*req.start, 'o', color='black', ms=5)
        v = np.asarray(check.field_violations).reshape(-1, 2)
        if len(v):
            ax.plot(v[:, 0], v[:, 1], 'x', color='#c00000', ms=7, mew=2)
        ax.set_title(f'{os.path.basename(name)} at {req.stamp:.0f} s: '
                     f'{len(check.field_violations)} field violations '
                     f'({check.field_outside_allowed_m:.1f} m)', fontsize=9)
        ax.set_aspect('equal')
    _save(fig, path)


def replay(paths: List[str], resolution_m: float, png: Optional[str] = None) -> int:
    """Plan each request file again and measure the plan (one JSON line each, then the sum).

    The ground processed before the request counts as allowed (with the declared safe
    ground); the keep-out zones are its exclusion and no-go zones. ``png``: every re-plan is
    drawn there (:func:`_render_replays`). Exit 2 on a file that is not a plan request, 0
    otherwise (a request the planner refuses is counted, not fatal).
    """
    try:
        requests = [(path, read_request(path)) for path in paths]
    except ValueError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    total = {'requests': len(requests), 'refused': 0, 'footprint_violations': 0,
             'field_violations': 0, 'field_outside_allowed_m': 0.0, 'keep_out_entries': 0,
             'lead_ins': 0, 'blind_lowerings': 0, 'blind_lead_m2': 0.0, 'blind_track_m2': 0.0,
             'blind_track_stretches': 0, 'blind_pivots': 0, 'blind_pivot_m2': 0.0,
             'start_pivot_m2': 0.0, 'suspects_pressed': 0, 'unplanned_m2': 0.0,
             'length_m': 0.0, 'plan_cpu_s': 0.0}
    drawn = []
    for path, req in requests:
        c0 = time.process_time()
        try:
            plan = req.plan()
        except PlanningError as exc:
            total['refused'] += 1
            print(json.dumps({'file': path, 'refused': str(exc)}))
            continue
        cpu = time.process_time() - c0
        allowed = unary_union([g for g in (req.safe_ground, req.processed)
                               if g is not None and not g.is_empty])
        xy = np.column_stack([plan.waypoints, plan.facing])
        check = check_path(xy, plan.work, req.field,
                           [*req.exclusion_zones, *req.no_go_zones], allowed,
                           contact_for(req.params, resolution_m), suspects=req.suspects)
        row = {'file': path, 'stamp': req.stamp, 'start': [round(v, 2) for v in req.start],
               'length_m': round(check.length_m, 1), 'turns': check.turns,
               'footprint_violations': len(check.violations),
               'field_violations': len(check.field_violations),
               'field_outside_allowed_m': round(check.field_outside_allowed_m, 1),
               'keep_out_entries': len(check.keep_out_at),
               'unplanned_m2': round(plan.unplanned_m2, 1),
               'lead_ins': len(plan.lead_ins.added),
               'blind_lowerings': len(plan.lead_ins.blind),
               'blind_lead_m2': round(sum(a for _, a in plan.lead_ins.blind), 2),
               'blind_track_m2': round(check.blind_track_m2, 2),
               'blind_track_stretches': len(check.blind_track_at),
               'blind_pivots': len(plan.lead_ins.blind_pivots),
               'blind_pivot_m2': round(sum(a for _, a in plan.lead_ins.blind_pivots), 2),
               'start_pivot_m2': round(plan.lead_ins.start_pivot[1], 2)
               if plan.lead_ins.start_pivot else 0.0,
               'suspects': len(req.suspects),
               'suspects_pressed': len(check.suspects_pressed),
               'plan_cpu_s': round(cpu, 3)}
        print(json.dumps(row))
        drawn.append((path, req, plan, check))
        for key in ('footprint_violations', 'field_violations', 'field_outside_allowed_m',
                    'keep_out_entries', 'lead_ins', 'blind_lowerings', 'blind_lead_m2',
                    'blind_track_m2', 'blind_track_stretches', 'blind_pivots',
                    'blind_pivot_m2', 'start_pivot_m2', 'suspects_pressed', 'unplanned_m2',
                    'length_m', 'plan_cpu_s'):
            total[key] += row[key]
    for key in ('field_outside_allowed_m', 'blind_lead_m2', 'blind_track_m2',
                'blind_pivot_m2', 'start_pivot_m2', 'unplanned_m2', 'length_m', 'plan_cpu_s'):
        total[key] = round(total[key], 1)
    if png and drawn:
        _render_replays(drawn, png)
    print(json.dumps(total))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    """Run the bench; print one line per area, then the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='small versions of the shapes (CI)')
    ap.add_argument('--png', help='render every plan (or, with --replay, every re-plan) to '
                    'this PNG file')
    ap.add_argument('--resolution', type=float, default=0.2,
                    help='cell size of the allowed-ground check, m (default 0.2)')
    ap.add_argument('--profile', metavar='NAME|YAML',
                    help="plan with the coverage planner's parameters as the stack resolves "
                         "them for a vehicle profile (e.g. mv4_flail); default: the planner's "
                         'defaults')
    ap.add_argument('--replay', nargs='+', metavar='FILE',
                    help='plan these plan requests again (a mission\'s '
                         'run_dir/plan_requests/plan_NNN.json) and measure them instead')
    args = ap.parse_args(argv)
    if not (math.isfinite(args.resolution) and 0.02 <= args.resolution <= 1.0):
        print('error: --resolution must be within 0.02..1.0 m', file=sys.stderr)
        return 2
    if args.replay:
        return replay(args.replay, args.resolution, args.png)
    params = CoverageParams()
    if args.profile:
        try:
            # the planner node's parameters as the stack resolves them for this profile
            stack = load_stack()
            resolved = resolve_arguments(stack, {'profile': args.profile})
            node = next(n for n in resolve_stack(stack, resolved,
                                                 load_profile(resolved['profile']))
                        if n.name == 'coverage_planner')
            params = from_dict(CoverageParams, node.parameters, where='coverage_planner',
                               allow_unknown=True)
        except (ConfigError, ParamError) as exc:
            print(f'error: --profile {args.profile}: {exc}', file=sys.stderr)
            return 2
    contact = contact_for(params, args.resolution)
    peer_contact = contact_for(params, args.resolution, tool_offset_x_m=0.0)
    rows = []
    areas = _areas(args.quick)
    for k, (name, (area, start)) in enumerate(areas.items(), start=1):
        safe = area.safe_ground()
        t0, c0 = time.perf_counter(), time.process_time()
        plan = plan_coverage(area.field, area.exclusion_zones, start[:2], params,
                             safe_ground=safe, start_yaw=start[2] if len(start) > 2 else None)
        plan_s = time.perf_counter() - t0
        # CPU time too: on a shared host the wall time also counts other processes' turns
        plan_cpu_s = time.process_time() - c0
        xy = np.column_stack([plan.waypoints, plan.facing])
        work = classify_work(plan.waypoints, area.field, WORK_REACH_M)
        # the ground it can reach: what the plan reports cut off is not counted
        cut = unary_union([g for g, reason in plan.unplanned if 'cut off' in reason]) \
            if plan.unplanned else Polygon()
        cut_rings = [list(g.exterior.coords)[:-1] for g in getattr(cut, 'geoms', [cut])
                     if not g.is_empty] if not cut.is_empty else []
        keep = list(area.exclusion_zones) + cut_rings
        ours = check_path(xy, work, area.field, area.exclusion_zones, safe, contact,
                          clearance_m=params.exclusion_clearance_m)
        reach = check_path(xy, work, area.field, keep, safe, contact,
                           clearance_m=params.exclusion_clearance_m) if cut_rings else ours
        row = {'area': name, 'area_m2': round(Polygon(area.field).area),
               'coverage_pct': round(reach.coverage_pct, 2),
               'footprint_violations': len(ours.violations),
               'outside_allowed_m': round(ours.outside_allowed_m, 1),
               'field_violations': len(ours.field_violations),
               'field_outside_allowed_m': round(ours.field_outside_allowed_m, 1),
               'keep_out_entries': len(ours.keep_out_at), 'keep_out_m': round(ours.keep_out_m, 1),
               'length_m': round(ours.length_m), 'turns': ours.turns, 'plan_s': round(plan_s, 3),
               'plan_cpu_s': round(plan_cpu_s, 3),
               'unreached_m2': round(plan.unplanned_m2, 1),
               'headland_passes': len(plan.headland),
               'lead_ins': len(plan.lead_ins.added),
               'lead_ins_outside': len(plan.lead_ins.outside),
               'lead_ins_scanned': len(plan.lead_ins.scanned),
               'blind_lowerings': len(plan.lead_ins.blind),
               'blind_lead_m2': round(sum(a for _, a in plan.lead_ins.blind), 2),
               'blind_track_m2': round(ours.blind_track_m2, 2),
               'blind_track_stretches': len(ours.blind_track_at),
               'blind_pivots': len(plan.lead_ins.blind_pivots),
               '_area': area, '_xy': plan.waypoints, '_violations': ours.violations}
        laps = len(plan.headland) and max(1, params.auto_headland_passes())
        peer_xy, peer_s = _peer(area, start, params, plan.lane_angle_rad, laps)
        if peer_xy is not None and len(peer_xy) > 2:
            peer = check_path(peer_xy, None, area.field, keep, safe, peer_contact,
                              clearance_m=params.exclusion_clearance_m)
            row.update({'peer_length_m': round(peer.length_m),
                        'peer_coverage_pct': round(peer.coverage_pct, 2),
                        'peer_turns': peer.turns, 'peer_keep_out_entries': len(peer.keep_out_at),
                        'peer_plan_s': round(peer_s, 3),
                        'length_vs_peer': round(ours.length_m / max(peer.length_m, 1e-9), 3)})
            if cut_rings:
                # the peer covers ground this planner reports cut off: no like-for-like length
                del row['length_vs_peer']
        rows.append(row)
        print(f'[{k}/{len(areas)}] ' + json.dumps({k2: v for k2, v in row.items()
                                                   if not k2.startswith('_')}), flush=True)
    replans: List[float] = []
    full_replans: List[float] = []
    fallbacks = 0
    # the re-plans' paths checked as the plans are: (repaired or fallen back to), full, old
    checked: Dict[str, Dict[str, int]] = {
        part: dict.fromkeys(REPLAN_CHECK_KEYS, 0)
        for part in ('repair', 'full_replan', 'remaining')}
    trials = REPLAN_TRIALS_QUICK if args.quick else REPLAN_TRIALS
    fields = ([('cratered_field', areas['cratered_field']),
               ('split_by_road', areas['split_by_road'])] if args.quick else [
        ('cratered_field', areas['cratered_field']),
        ('cratered_10ha', (lambda s: (HazardArea('cratered_10ha', s.field, s.exclusion_zones,
                                                 None, [s.approach_lane]), s.start))(
            shapes.cratered_field(400.0, 250.0, 25))),
        ('rotated_rectangle', areas['rotated_rectangle'])])
    for name, (area, start) in fields:
        done = _replan_trials(area, start, params, trials, contact)
        times = [t.response_ms for t in done]
        full = [t.full_ms for t in done]
        fell = sum(t.fell_back for t in done)
        replans += times
        full_replans += full
        fallbacks += fell
        for t in done:
            for part in checked:
                for key in REPLAN_CHECK_KEYS:
                    checked[part][key] += getattr(t, part)[key]
        print(f'no-go response {name}: ' + ', '.join(f'{t:.0f}' for t in times) + ' ms '
              f'({fell} of {len(times)} repairs fell back to a full re-plan; a full re-plan: '
              + ', '.join(f'{t:.0f}' for t in full) + ' ms)', flush=True)
        for k, t in enumerate(done):
            print(f'no-go paths {name} trial {k}: ' + json.dumps(
                {'fell_back': t.fell_back, 'repair': t.repair, 'full_replan': t.full_replan,
                 'remaining': t.remaining}), flush=True)
    if args.png:
        _render(rows, args.png)
        print(f'plans: {args.png}')
    ratios = [r['length_vs_peer'] for r in rows if 'length_vs_peer' in r]
    summary = {
        'areas': len(rows),
        'footprint_violations': int(sum(r['footprint_violations'] for r in rows)),
        'field_violations': int(sum(r['field_violations'] for r in rows)),
        'keep_out_entries': int(sum(r['keep_out_entries'] for r in rows)),
        'lead_ins': int(sum(r['lead_ins'] for r in rows)),
        'lead_ins_outside': int(sum(r['lead_ins_outside'] for r in rows)),
        'lead_ins_scanned': int(sum(r['lead_ins_scanned'] for r in rows)),
        'blind_lowerings': int(sum(r['blind_lowerings'] for r in rows)),
        'blind_lead_m2': round(float(sum(r['blind_lead_m2'] for r in rows)), 1),
        'blind_track_m2': round(float(sum(r['blind_track_m2'] for r in rows)), 1),
        'blind_track_stretches': int(sum(r['blind_track_stretches'] for r in rows)),
        'blind_pivots': int(sum(r['blind_pivots'] for r in rows)),
        'min_coverage_reachable_pct': min(r['coverage_pct'] for r in rows),
        'max_length_vs_peer': max(ratios) if ratios else None,
        'max_plan_s': max(r['plan_s'] for r in rows),
        'max_plan_cpu_s': max(r['plan_cpu_s'] for r in rows),
        'replan_p95_ms': round(float(np.percentile(replans, 95)), 1) if replans else None,
        'repair_fallbacks': fallbacks,
        'full_replan_p95_ms': round(float(np.percentile(full_replans, 95)), 1)
        if full_replans else None,
    }
    summary.update({f'{part}_{key}': checked[part][key]
                    for part in checked for key in REPLAN_CHECK_KEYS})
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
