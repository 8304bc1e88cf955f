#!/usr/bin/env python3
"""The mission scoreboard: whole missions on the deterministic host, scored against the truth.

A mission is (world file, vehicle profile, seed, optional fault scenario). Each one runs the
stack's resolved components (``config/stack.yaml`` + profile, as ``demine run --backend core``)
on :class:`demining_bringup.hosts.deterministic.DeterministicHost`, in a fresh Python process,
and becomes one row of metrics read from the report and from the simulator's truth. Missions are
independent tasks of a dask.distributed cluster: a ``LocalCluster`` (one single-threaded worker
process per core) by default, ``--scheduler ADDRESS`` for a real one. Each task starts its
mission in a child interpreter (``missions.py --child``), so missions share no module state, a
hung mission is killed at its wall-time limit and a crashed one becomes a row, never the end of
the scoreboard. A real cluster's workers need the stack installed and this checkout at the same
path.

Mission set (default): every shipped world (``demining_sim/worlds/*.sdf``) plus a family of
generated fields (:data:`FAMILIES`: a rectangle, a non-convex L with AP rows, a notched field
with an exclusion zone, AT mines and UXO laid on the planner's lanes under the track lines, a
40 m approach lane, a sloped heightmap, people walking across the field, and ``gen_random``:
a new field per seed, its polygon, soil, densities, ruin, lane hazards, approach lane and
slope all drawn from the seed, :func:`random_family`), each for seeds 1..``--seeds``; a
generated field's layout uses the mission seed too. ``--worlds DIR`` runs every
``*.sdf`` of DIR instead; ``--quick`` is the CI set (the training field and one small generated
field with an AT mine on a lane and a person crossing, seed 1; < 5 min on 2 cores).

Metrics of a row (definitions):

* ``completed``: the mission state is ``complete``; ``mission_state`` the state at the end;
  ``outcome`` one of complete, aborted, deadlock, crashed (a component raised: the mission was
  aborted, as ``demine run`` does), timeout (wall-time limit) or error (the mission could not be
  run; ``error`` says why).
* ``coverage_pct``: processed share of the hazard area (report; the mission's grid otherwise);
  ``coverage_workable_pct`` the same outside the AT/UXO no-go zones (report), the ground the
  machine was to process (issue 7 asks >= 99.5 % of it).
* ``no_go_zones``: no-go discs the mission drew (report); ``false_no_go_zones`` those with no AT
  mine or UXO of the simulator's truth inside (:func:`mission_metrics.false_no_go_zones`: a
  false AT/UXO label, ground sent to a manual team for nothing).
* ``at_detonations``: from the report's summary (counted from /sim/events when there is none).
* ``hazards_under_tracks``: mines and UXO a track reached before the tool (set off, damaged,
  pushed or thrown by a track: :func:`mission_metrics.hazards_under_tracks`), what footprint
  violations cost.
* ``people_incidents``: a person (an actor of kind ``person``) inside the people monitor's work
  safety distance of the tool (``flail_safety_distance_m`` of the profile) while a rotor turned
  faster than ``flail_running_speed_radps`` or the vehicle moved, each approach once
  (:class:`mission_metrics.PeopleMonitor`, from the simulator's truth every tick), plus any event
  of a person-hit kind (:data:`mission_metrics.PERSON_HIT_KINDS`; none is emitted today);
  ``first_people_incident`` the first (time, name, distance). A person near a machine that has
  stopped is no incident: the simulator's ``intrusion`` events (within
  ``intrusion_distance_m`` of the vehicle, every actor kind, animals too) are in ``intrusions``.
* ``footprint_violations``: control ticks (the host's /clock ticks, 10 Hz) at which any corner
  of a track's ground-contact patch lies on ground that is not allowed (issue 7): neither
  processed nor declared safe, or in an exclusion zone (an obstacle's footprint included) that
  no safe area is declared over. Patches: two rectangles ``track_length_m`` x
  ``track_width_m`` centred ``+-track_gauge_m/2`` beside base_link (the profile's gauge and
  width as the simulator uses them), placed at the simulator's truth pose; each corner is taken
  half a grid cell inside its patch so the grid's quantisation alone cannot flag a track
  running exactly along the processed strip's edge. Processed: ground the tool really processed
  (the simulator's truth raster, :data:`TRUTH_RESOLUTION_M` cells): a mine is safe under a
  track only where the tool has been, whatever the record says.
  ``footprint_violations_recorded`` counts the same ticks judged on the mission's
  processed-ground grid instead (what the record certifies and the supervisor enforces): it
  adds the ticks a track edge sits on a sliver the localisation error shifted out of the
  record (training_field: 0 ticks on the ground, 3,317 on the record, along the lanes).
  Declared safe: the area's
  :meth:`~demining_bringup.contract.area.HazardArea.safe_ground` (approach lane, safe areas,
  safe margin round the field); ground outside the field counts like any other: a track there
  that the area does not declare safe is a violation. No-go zones are not in the rule here:
  ``at_detonations`` and the report's zones judge them. The hull box (6 x 2.2 m, the
  simulator's collision footprint) is not used: it does not bear on the ground, and its front
  corners are ahead of the flail by design, so it would flag every working tick.
  ``footprint_violations_by_motion``: the ticks by how the machine moved (JSON: forward,
  reverse, pivot, standing; a machine standing with a track on such ground adds a tick every
  step, the moving ones say which motion took it there). ``footprint_violation_m2``: the
  ground a track pressed while it was not allowed (the patches' sample points in 0.25 m
  cells): the exposure, which the tick count mixes with dwell and speed. ``first_violation``
  gives the first (t, x, y). ``time_by_motion_s``: simulated seconds by how the machine
  moved, every tick (JSON, the same four kinds): where the mission's time went. With
  ``--out`` each run folder gets
  ``footprint.png``: where the violations were, over the ground really processed, and
  ``footprint_violations.csv``: every violation tick (t, x, y, motion), to find which part of
  the mission (a re-plan's file in ``plan_requests/``) put the tracks there.
* ``processed_before_scan_pct``: share of the hazard-field ground the tool really processed
  (the simulator's truth raster) that the GPR/MD boom's swath (``sensor_width_m``,
  ``sensor_offset_x_m`` ahead, the simulator's truth pose every tick) had not passed over
  before (:class:`mission_metrics.ScanLeadMonitor`; ``processed_before_scan_m2`` the area):
  ground without the sensors' guard against an AT mine. The summary gives its maximum; with
  ``--out`` the run folder's ``processed_before_scan.csv`` lists each tick that processed such
  ground (t, base_link's x and y, m^2), to find the motion that did.
* ``tracks_on_unscanned_m2``: hazard-field ground a track pressed (the patches' sample points in
  0.25 m cells, the truth pose every tick) before the boom's swath or the tool had passed over
  it, outside declared safe ground (:class:`mission_metrics.UnscannedTrackMonitor`): where a
  mine is one no sensor could have found (2ca6838's full set: a TM-62P in gen_random seed 1
  and a mortar round in gen_at_uxo_lanes seed 1 went off there, both in a pivot). The summary
  sums it; ``tracks_on_unscanned_by_motion`` gives the ticks by how the machine moved and
  ``first_unscanned_track`` the first (t, x, y); with ``--out`` the run folder's
  ``tracks_on_unscanned.csv`` lists every tick and ``footprint.png`` marks them.
* ``suspects_under_tracks``: detected suspects (AP or unknown tracks) a motion put a track
  on before the tool had processed them, as the safety supervisor recorded (or, with
  ``suspect_track_enforce``, refused) them: a known hazard pressed, where
  ``hazards_under_tracks`` counts the mines a track really reached (a trial laterite field: a
  TM-62P seen at the boom's edge was an unknown for 300 s before a pivot set it off).
* ``deadlock``: the mission was neither complete nor aborted at the simulated-time limit:
  ``--sim-time-limit``, by default the mission manager's own time limit (the area to process
  at its ``min_clearance_rate_m2_per_h`` plus margin, or its ``max_mission_time_s``) from the
  mission's start + 30 min: the stack did not end the mission within its own bound.
* ``mines_left_active_in_processed_ground``: truth: mine items (AP, AT, UXO; not clutter) that
  are neither destroyed nor detonated (the simulator's item fates, ``Simulator.item_fates``:
  untouched, damaged, thrown aside or pushed deeper mines are live) and whose position at the
  end (where a thrown mine landed) lies in a processed cell of the hazard field of the
  mission's grid, outside the report's no-go zones (left for a manual or EOD team, not
  released as processed: ``demining_bringup.report.cleared_polygon``).
* ``rate_vs_limit``: clearance rate (m^2/h: processed area over mission time, the report's
  figure) divided by ``tool_width_m x working_speed_mps x 3600`` (resolved parameters).
* ``rtf``: simulated s / wall s of the mission (host start to shut-down); ``wall_s`` that wall
  time; ``task_wall_s`` the whole task (child process, world generation).

Output: one line per finished mission, then the last line of stdout is one JSON object with
exactly the keys of :data:`mission_metrics.SUMMARY_KEYS` (sums over rows; an errored row counts
as a mission and nowhere else). ``--out DIR`` keeps ``runs/<mission>/`` (report, world, log,
``truth.json``: every item's fate, :func:`demining_sim.truth.truth_document`),
``missions.csv``, ``missions.json`` and ``scoreboard.png``; with ``--record-fusion`` each run
folder also keeps its fusion's inputs, which ``bench/fusion_replay.py`` replays through a
changed fusion in seconds.

Reproduce: ``.venv/bin/pip install -r requirements/bench.txt`` then
``.venv/bin/python bench/missions.py --quick`` (or ``--out /tmp/scoreboard``, ``--seeds 3``,
``--worlds DIR``, ``--scheduler tcp://host:8786``, ``--list``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from bench import mission_metrics as mm  # noqa: E402

#: This script, run by every task as ``python missions.py --child`` (a fresh interpreter).
SCRIPT = os.path.abspath(__file__)
#: Prefix of the child's result line on stdout.
ROW_PREFIX = 'MISSION-ROW '
DEFAULT_PROFILE = 'mv4_flail'
DEFAULT_SEEDS = 2
#: Wall time per mission: the longest shipped mission (rugged_terrain, ~5.5 h simulated) at
#: the slowest measured RTF (~7) takes ~47 min.
DEFAULT_MISSION_TIMEOUT_S = 3600.0
#: Extra wall time a child gets beyond its own limit before it is killed, s.
KILL_GRACE_S = 120.0
#: Hard cap of simulated time whatever the mission's own limit, s.
HARD_SIM_CAP_S = 48 * 3600.0
#: Distance from the field's edge at which the people family's people appear, m: beyond the
#: people monitor's flail stop radius (``flail_safety_distance_m`` 50 m + ``flail_stop_margin_m``
#: 10 m, demining_control/safety/people_zones.py) plus the machine's reach beyond the edge
#: (it turns outside the field where the surroundings are declared safe).
PEOPLE_START_M = 80.0
#: Cell of the simulator's truth raster of processed ground in a scoreboard mission, m: the
#: mission grid's (mission_manager ``processed_resolution_m``), so the tracks are judged on
#: what the tool really processed at the resolution the record keeps (the simulator's
#: default, 0.25 m, would flag or pass a track edge by its own quantisation).
TRUTH_RESOLUTION_M = 0.1
#: Newly processed ground is looked for this far beyond the tool's strip at each tick, m
#: (the simulator stamps up to two of its cells behind the strike zone).
TOOL_WINDOW_MARGIN_M = 0.5
#: How the footprint map marks a violation tick by the motion that made it (matplotlib marker
#: and size); '' is a tick whose motion was not given.
_FOOTPRINT_MARKERS = (('forward', 'o', 5), ('reverse', 's', 6), ('pivot', 'x', 14),
                      ('standing', '.', 3), ('', 'o', 5))
#: Columns of missions.csv, in order.
ROW_FIELDS = ('mission', 'world', 'family', 'profile', 'seed', 'scenario', 'outcome',
              'completed', 'mission_state', 'reason', 'deadlock', 'error', 'coverage_pct',
              'coverage_workable_pct', 'no_go_zones', 'false_no_go_zones',
              'at_detonations', 'ap_detonations', 'people_incidents', 'first_people_incident',
              'intrusions',
              'collisions', 'footprint_violations', 'hazards_under_tracks',
              'suspects_under_tracks', 'footprint_violations_recorded',
              'footprint_violations_by_motion',
              'time_by_motion_s',
              'footprint_violation_m2',
              'footprint_ticks', 'first_violation',
              'mines_total', 'mines_left_active', 'mines_left_active_in_processed_ground',
              'processed_before_scan_m2', 'processed_before_scan_pct',
              'tracks_on_unscanned_m2', 'tracks_on_unscanned_by_motion', 'first_unscanned_track',
              'rate_m2_per_h',
              'rate_limit_m2_per_h', 'rate_vs_limit', 'sim_s',
              'sim_time_limit_s', 'wall_s', 'rtf', 'task_wall_s', 'failed_nodes',
              'world_path', 'run_dir')

Polygon = List[Tuple[float, float]]


# ============================================================================================
# Generated fields
# ============================================================================================

@dataclasses.dataclass(frozen=True)
class Family:
    """A generated field: a polygon and generator settings, plus optional extras."""

    name: str
    description: str
    field: Tuple[Tuple[float, float], ...]
    soil: str = 'loam'
    ap_per_100m2: float = 1.0
    at_per_100m2: float = 0.0
    uxo_per_100m2: float = 0.0
    clutter_per_m2: float = 0.05
    pattern: str = 'random'
    exclusions: Tuple[Tuple[Tuple[float, float], ...], ...] = ()
    min_spacing_m: float = 1.5
    on_lanes: Tuple[str, ...] = ()          # catalogue models laid under the track lines
    approach_m: float = 0.0                 # approach lane ending at the field (0: default)
    slope: bool = False                     # heightmap: tilted plane and a bump
    people: bool = False                    # people (and a dog) walk across the field
    random_shape: bool = False              # every setting above drawn from the seed


#: Approach lane of a generated field that names none, m: the machine is delivered on a lane
#: to the field's edge, and the generator starts it 8 m west of the field
#: (``demining_sim.generator.VEHICLE_STANDOFF_M``); the lane reaches 2 m behind that. Without
#: it the ground the machine starts and drives in on is declared nowhere, and issue 7's rule
#: (a track only on processed or declared safe ground) counts every start as a violation.
DEFAULT_APPROACH_M = 10.0


def _rect(w: float, h: float) -> Tuple[Tuple[float, float], ...]:
    return ((0.0, 0.0), (w, 0.0), (w, h), (0.0, h))


#: The generated families of the default set (and ``quick``/``tiny`` for CI and tests).
FAMILIES: Dict[str, Family] = {f.name: f for f in (
    Family('gen_rect_loam', 'rectangle 24 x 16 m, loam, scattered AP', _rect(24.0, 16.0),
           ap_per_100m2=1.5),
    Family('gen_lshape_sand_rows', 'non-convex L (444 m^2), dry sand, AP in rows',
           ((0.0, 0.0), (30.0, 0.0), (30.0, 10.0), (12.0, 10.0), (12.0, 22.0), (0.0, 22.0)),
           soil='dry_sand', ap_per_100m2=2.0, pattern='rows', min_spacing_m=1.0),
    Family('gen_notch_clay_exclusion', 'notched U field with an excluded ruin, wet clay',
           ((0.0, 0.0), (28.0, 0.0), (28.0, 20.0), (18.0, 20.0), (18.0, 10.0), (10.0, 10.0),
            (10.0, 20.0), (0.0, 20.0)),
           soil='wet_clay', exclusions=(((3.0, 3.0), (7.0, 3.0), (7.0, 6.0), (3.0, 6.0)),)),
    Family('gen_at_uxo_lanes', 'laterite 24 x 18 m, AT and UXO scattered and on the lanes',
           _rect(24.0, 18.0), soil='laterite', at_per_100m2=0.3, uxo_per_100m2=0.3,
           min_spacing_m=2.0, on_lanes=('TM-62M', 'TM-62P', 'mortar-82mm')),
    Family('gen_long_approach', '20 x 14 m field at the end of a 40 m approach lane',
           _rect(20.0, 14.0), approach_m=40.0),
    Family('gen_slope', '24 x 18 m on a heightmap: 8 deg along y, 4 deg along x, a bump',
           _rect(24.0, 18.0), slope=True),
    Family('gen_people', '20 x 14 m, two people and a dog cross while the machine works',
           _rect(20.0, 14.0), people=True),
    Family('gen_random', 'a new field per seed: polygon, soil, densities, a ruin, AT mines '
           'and UXO on the lanes, approach length, slope (:func:`random_family`)',
           _rect(1.0, 1.0), random_shape=True),
    Family('quick_mixed', '14 x 10 m, an AT mine on a lane, a person crossing (CI set)',
           _rect(14.0, 10.0), ap_per_100m2=2.0, on_lanes=('TM-62M',), people=True),
    Family('tiny', '6 x 4 m, one AP mine (tests)', _rect(6.0, 4.0), ap_per_100m2=4.0,
           clutter_per_m2=0.0, min_spacing_m=1.0),
)}
#: Families of the default set, in order.
DEFAULT_FAMILIES = ('gen_rect_loam', 'gen_lshape_sand_rows', 'gen_notch_clay_exclusion',
                    'gen_at_uxo_lanes', 'gen_long_approach', 'gen_slope', 'gen_people',
                    'gen_random')
#: Soils a random field draws from (demining_sim.generator.soil_preset).
RANDOM_SOILS = ('loam', 'dry_sand', 'wet_clay', 'laterite')
#: Catalogue models a random field may lay on its lanes (none, AT mines, a plastic AT mine
#: and a mortar round).
RANDOM_ON_LANES = ((), ('TM-62M',), ('TM-62P', 'mortar-82mm'), ('TM-62M', 'TM-62P'))
#: Radius range of a random field's corners from its centre, m (fields of ~100-600 m^2: a
#: mission of 10-40 simulated minutes).
RANDOM_RADIUS_M = (7.0, 15.0)
#: Smallest area of a random field, m^2 (smaller draws are drawn again).
RANDOM_MIN_AREA_M2 = 80.0
#: Width of a random field's approach lane, m (the vehicle is ~2.2 m wide).
RANDOM_LANE_WIDTH_M = 3.0
#: Shortest field edge an approach lane may end on, m.
RANDOM_LANE_MIN_EDGE_M = 4.0
QUICK_WORLDS = ('training_field',)
QUICK_FAMILIES = ('quick_mixed',)


def _lane_items(world, models: Sequence[str], seed: int) -> List[Any]:
    """Items of ``models`` laid under the track lines of the planner's work stretches."""
    from demining_control.coverage.planner import CoverageParams, plan_coverage
    from demining_sim.generator import CATALOGUE, make_item
    gauge = 1.6                      # the mv4_flail profile's track gauge, m
    plan = plan_coverage(world.field, world.exclusion_zones, world.vehicle_start[:2],
                         CoverageParams())
    # the tool's stretches: lanes, and the straight legs of the headland passes (a small field
    # without safe surroundings may be all headland)
    stretches = [(ln.tool_start, ln.tool_end) for ln in plan.lanes] + [
        (a, b) for loop in plan.headland for a, b in zip(loop[:-1], loop[1:])]
    lanes = [(a, b) for a, b in stretches if math.dist(a, b) > 4.0]
    hazard = world.hazard_polygon().buffer(-0.5)
    out = []
    for k, model in enumerate(models):
        if not lanes:
            break
        first = (seed + k * max(1, len(lanes) // max(1, len(models)))) % len(lanes)
        side = 1.0 if k % 2 == 0 else -1.0           # left, then right track line
        frac = 0.3 + 0.4 * ((seed * 7 + k * 3) % 10) / 10.0
        # the other track line when this one runs outside the hazard (a pass along the edge),
        # then the next stretch (a bulb's legs at a corner lie outside on both sides)
        for i in range(len(lanes)):
            (x0, y0), (x1, y1) = lanes[(first + i) % len(lanes)]
            length = math.hypot(x1 - x0, y1 - y0)
            ux, uy = (x1 - x0) / length, (y1 - y0) / length
            spots = [(x0 + frac * length * ux - s * (gauge / 2.0) * uy,
                      y0 + frac * length * uy + s * (gauge / 2.0) * ux) for s in (side, -side)]
            inside = [xy for xy in spots if hazard.contains(_point(*xy))]
            if inside:
                x, y = inside[0]
                break
        else:
            continue
        lo, hi = CATALOGUE[model].depth_range
        depth = round(lo + (hi - lo) * 0.3, 3)
        out.append(make_item(model, f'lane_{k + 1:02d}_{model.lower().replace("-", "")}',
                             round(x, 3), round(y, 3), depth))
    return out


def _point(x: float, y: float):
    from shapely.geometry import Point
    return Point(x, y)


def _slope_terrain(field: Sequence[Tuple[float, float]]):
    """A 65 x 65 heightmap (1 m) centred on the field: a tilted plane plus a bump."""
    import numpy as np
    from demining_bringup.contract.world import Terrain
    xs = [p[0] for p in field]
    ys = [p[1] for p in field]
    cx, cy = (min(xs) + max(xs)) / 2.0, (min(ys) + max(ys)) / 2.0
    n, res = 65, 1.0
    ox, oy = round(cx - 32.0, 3), round(cy - 32.0, 3)
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    x, y = ox + jj * res, oy + ii * res
    z = (math.tan(math.radians(4.0)) * (x - ox) + math.tan(math.radians(8.0)) * (y - oy)
         + 0.8 * np.exp(-((x - cx) ** 2 + (y - cy - 3.0) ** 2) / (2.0 * 4.0 ** 2)))
    return Terrain(heights=np.round(z, 3), origin_x=ox, origin_y=oy, resolution=res)


def _people_scenario(field: Sequence[Tuple[float, float]]) -> Dict[str, Any]:
    """Two people cross the field and a dog roams near it (demining_sim/faults.py format).

    The people walk in from beyond the work safety distance of any point of the field
    (:data:`PEOPLE_START_M`): one who appeared inside it would be an incident no stack could
    prevent (the farmer once appeared 41 m from the running flail).
    """
    xs = [p[0] for p in field]
    ys = [p[1] for p in field]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    ym = (y0 + y1) / 2.0
    far = PEOPLE_START_M
    return {'actors': [
        {'name': 'farmer', 'kind': 'person', 'start': 60.0, 'speed_mps': 1.2,
         'path': [[x0 - far, ym], [x1 + far, ym]]},
        {'name': 'child', 'kind': 'person', 'start': 400.0, 'speed_mps': 0.9,
         'path': [[(x0 + x1) / 2.0, y1 + far], [(x0 + x1) / 2.0, y0 - far]]},
        # a stray dog roams round the site for five minutes and goes (its loop lies within the
        # flail's stop radius: roaming all day, it would hold the machine until the abort)
        {'name': 'dog', 'kind': 'animal', 'start': 200.0, 'speed_mps': 2.0, 'loop': True,
         'until': 500.0,
         'path': [[x0 - 20.0, y0 - 10.0], [x1 + 10.0, y1 + 10.0], [x0 - 20.0, y1 + 10.0]]},
    ]}


def random_family(seed: int) -> Family:
    """A field no one tuned on, drawn from ``seed``: ground the stack has never seen.

    A star-shaped polygon of 4-9 corners at a random orientation (concave corners, narrow
    necks and slivers included), one of the soils, AP, AT, UXO and clutter densities, a ruin
    (an exclusion zone) in two draws of five, AT mines or UXO laid on the lanes in three of
    four, a 6-45 m approach lane ending on a field edge, the slope heightmap in one of four.
    The item layout draws from the mission seed as every family's does.
    """
    from shapely.geometry import Polygon as ShapelyPolygon, box
    from shapely import affinity
    rng = random.Random(f'gen_random/{int(seed)}')
    while True:
        corners = rng.randint(4, 9)
        angles = sorted(rng.uniform(0.0, 2.0 * math.pi) for _ in range(corners))
        radius = rng.uniform(*RANDOM_RADIUS_M)
        pts = [(radius * rng.uniform(0.45, 1.0) * math.cos(a),
                radius * rng.uniform(0.45, 1.0) * math.sin(a)) for a in angles]
        poly = ShapelyPolygon(pts)
        if poly.is_valid and poly.area >= RANDOM_MIN_AREA_M2:
            break
    x0, y0 = poly.bounds[:2]
    field = tuple((round(x - x0, 3), round(y - y0, 3)) for x, y in pts)
    poly = ShapelyPolygon(field)
    exclusions: Tuple[Tuple[Tuple[float, float], ...], ...] = ()
    if rng.random() < 0.4:
        cx, cy = poly.representative_point().coords[0]
        ruin = affinity.rotate(box(cx - rng.uniform(1.0, 2.5), cy - rng.uniform(1.0, 2.5),
                                   cx + rng.uniform(1.0, 2.5), cy + rng.uniform(1.0, 2.5)),
                               rng.uniform(0.0, 90.0), origin=(cx, cy))
        if poly.buffer(-1.0).contains(ruin):
            exclusions = (tuple((round(x, 3), round(y, 3))
                                for x, y in list(ruin.exterior.coords)[:-1]),)
    soil = rng.choice(RANDOM_SOILS)
    ap, clutter = round(rng.uniform(0.5, 2.0), 2), round(rng.uniform(0.02, 0.15), 3)
    at, uxo = rng.choice((0.0, 0.2, 0.4)), rng.choice((0.0, 0.2))
    on_lanes = rng.choice(RANDOM_ON_LANES)
    approach = round(rng.uniform(6.0, 45.0), 1)
    slope = rng.random() < 0.25
    text = (f'random field, seed {int(seed)}: {corners} corners, {poly.area:.0f} m^2, {soil}, '
            f'AP {ap}/100 m^2, AT {at}, UXO {uxo}, clutter {clutter}/m^2'
            + (', a ruin' if exclusions else '')
            + (f', on the lanes: {", ".join(on_lanes)}' if on_lanes else '')
            + f', approach {approach} m' + (', sloped' if slope else ''))
    return dataclasses.replace(FAMILIES['gen_random'], description=text, field=field,
                               soil=soil, ap_per_100m2=ap, at_per_100m2=at,
                               uxo_per_100m2=uxo, clutter_per_m2=clutter,
                               exclusions=exclusions, on_lanes=on_lanes, approach_m=approach,
                               slope=slope, min_spacing_m=1.5)


def _edge_lane(field: Sequence[Tuple[float, float]], length: float):
    """An approach lane ``length`` long ending on the field's most westward-facing edge
    (at least :data:`RANDOM_LANE_MIN_EDGE_M` long) whose lane stays off the field; and the
    vehicle's start on it, facing the field. None when no edge has room."""
    from shapely.geometry import Polygon as ShapelyPolygon
    poly = ShapelyPolygon(field)
    ccw = poly.exterior.is_ccw
    pts = list(field)
    edges = []
    for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
        e = math.hypot(bx - ax, by - ay)
        if e < RANDOM_LANE_MIN_EDGE_M:
            continue
        # the outward normal (right of a counter-clockwise ring)
        nx, ny = ((by - ay) / e, -(bx - ax) / e) if ccw else (-(by - ay) / e, (bx - ax) / e)
        edges.append(((ax + bx) / 2.0, (ay + by) / 2.0, nx, ny))
    half = RANDOM_LANE_WIDTH_M / 2.0
    for mx, my, nx, ny in sorted(edges, key=lambda e: e[2]):     # westward-facing first
        tx, ty = -ny, nx
        lane = [(mx - half * tx, my - half * ty), (mx + half * tx, my + half * ty),
                (mx + half * tx + length * nx, my + half * ty + length * ny),
                (mx - half * tx + length * nx, my - half * ty + length * ny)]
        if ShapelyPolygon(lane).intersection(poly).area < 1e-6:
            start = (mx + (length - 2.0) * nx, my + (length - 2.0) * ny,
                     math.atan2(-ny, -nx))
            return [(round(x, 3), round(y, 3)) for x, y in lane], \
                (round(start[0], 3), round(start[1], 3), round(start[2], 4))
    return None


def generate_family(name: str, seed: int):
    """(World, scenario dict or None) of a generated family for ``seed``."""
    from demining_sim.generator import generate_world
    fam = FAMILIES[name]
    if fam.random_shape:
        fam = random_family(seed)
    world = generate_world(
        list(fam.field), seed=int(seed), ap_per_100m2=fam.ap_per_100m2,
        at_per_100m2=fam.at_per_100m2, uxo_per_100m2=fam.uxo_per_100m2,
        clutter_per_m2=fam.clutter_per_m2, soil=fam.soil, name=fam.name,
        min_spacing_m=fam.min_spacing_m, pattern=fam.pattern,
        exclusion_zones=[list(z) for z in fam.exclusions])
    world.description = f'{fam.description} (bench/missions.py, seed {int(seed)}).'
    xmin, ymin, _, _ = world.bounds()
    approach = fam.approach_m if fam.approach_m > 0.0 else DEFAULT_APPROACH_M
    lane = _edge_lane(world.field, approach) if fam.random_shape else None
    if lane is not None:
        world.approach_lane, world.vehicle_start = lane
    else:
        world.approach_lane = [(xmin - approach, ymin - 0.5), (xmin, ymin - 0.5),
                               (xmin, ymin + 2.5), (xmin - approach, ymin + 2.5)]
        world.vehicle_start = (round(xmin - approach + 2.0, 3), ymin + 1.0, 0.0)
    if fam.on_lanes:
        extra = _lane_items(world, fam.on_lanes, int(seed))
        keep = []
        for it in world.items:
            near = min((math.hypot(it.x - e.x, it.y - e.y) for e in extra), default=math.inf)
            if near > (fam.min_spacing_m if it.is_hazard else 0.5):
                keep.append(it)
        world.items = keep + extra
    if fam.slope:
        world.terrain = _slope_terrain(world.field)
    scenario = _people_scenario(world.field) if fam.people else None
    return world, scenario


# ============================================================================================
# The mission set
# ============================================================================================

def mission_label(world: str, profile: str, seed: int, scenario: str = '') -> str:
    """A file-name-safe unique name of a mission."""
    parts = [world, os.path.splitext(os.path.basename(profile))[0], f's{seed}']
    if scenario:
        parts.append(os.path.splitext(os.path.basename(scenario))[0])
    return re.sub(r'[^A-Za-z0-9_.-]+', '_', '__'.join(parts))


def build_specs(ns: argparse.Namespace) -> List[Dict[str, Any]]:
    """The missions the arguments ask for, as plain dicts (what a task receives)."""
    from demining_sim.worlds_index import find_world, list_worlds
    seeds = ns.seeds if ns.seeds is not None else (1 if ns.quick else DEFAULT_SEEDS)
    sources: List[Tuple[str, str, str]] = []          # (name, world path, family)
    if ns.worlds:
        for f in sorted(os.listdir(ns.worlds)):
            if f.endswith('.sdf'):
                sources.append((f[:-4], os.path.abspath(os.path.join(ns.worlds, f)), ''))
    else:
        worlds = QUICK_WORLDS if ns.quick else tuple(list_worlds())
        families = QUICK_FAMILIES if ns.quick else DEFAULT_FAMILIES
        sources += [(w, find_world(w), '') for w in worlds]
        sources += [(f, '', f) for f in families]
    scenario = os.path.abspath(ns.scenario) if ns.scenario else ''
    specs = []
    for name, path, family in sources:
        for profile in ns.profile or [DEFAULT_PROFILE]:
            for seed in range(1, seeds + 1):
                label = mission_label(name, profile, seed, scenario)
                specs.append({
                    'mission': label, 'world': name, 'world_path': path, 'family': family,
                    'profile': profile, 'seed': seed, 'scenario': scenario,
                    'sim_time_limit_s': ns.sim_time_limit,
                    'wall_time_limit_s': ns.mission_timeout,
                    'run_dir': (os.path.join(os.path.abspath(ns.out), 'runs', label)
                                if ns.out else ''),
                    'script': SCRIPT, 'repo': REPO,
                    'record_fusion': bool(getattr(ns, 'record_fusion', False))})
    if ns.only:
        specs = [s for s in specs if re.search(ns.only, s['mission'])]
    return specs


# ============================================================================================
# One mission (in the child process)
# ============================================================================================

def base_row(spec: Dict[str, Any]) -> Dict[str, Any]:
    """A row with the mission's identity and every metric missing."""
    row: Dict[str, Any] = {k: None for k in ROW_FIELDS}
    for k in ('mission', 'world', 'family', 'profile', 'seed', 'scenario', 'world_path',
              'run_dir'):
        row[k] = spec.get(k)
    row.update(outcome='error', completed=False, deadlock=False, error='')
    return row


def error_row(spec: Dict[str, Any], error: str, outcome: str = 'error',
              task_wall_s: Optional[float] = None) -> Dict[str, Any]:
    """A row for a mission that could not be run (or was killed)."""
    row = base_row(spec)
    row.update(outcome=outcome, error=error, task_wall_s=task_wall_s)
    return row


def _merge_scenarios(paths_or_docs: Sequence[Any]) -> Dict[str, Any]:
    """One scenario of several: their faults and actors, and their ``setup`` (the later
    one's keys win; ``setup.parameters`` merged node by node, so a ``--scenario``'s parameter
    overrides reach a family's missions too, which dropped them)."""
    import yaml
    out: Dict[str, Any] = {'faults': [], 'actors': [], 'setup': {}}
    for item in paths_or_docs:
        if isinstance(item, str):
            with open(item, encoding='utf-8') as f:
                doc = yaml.safe_load(f) or {}
        else:
            doc = item
        for key in ('faults', 'actors'):
            out[key] += list(doc.get(key) or [])
        setup = doc.get('setup') or {}
        params = {**(out['setup'].get('parameters') or {})}
        for node, values in (setup.get('parameters') or {}).items():
            params[node] = {**params.get(node, {}), **values}
        out['setup'].update(setup)
        if params:
            out['setup']['parameters'] = params
    return {k: v for k, v in out.items() if v}


def prepare_world(spec: Dict[str, Any], run_dir: str) -> Tuple[str, str]:
    """World SDF and scenario YAML paths of the mission (a generated one is written)."""
    import yaml
    from demining_bringup.contract.sdf import write_world
    world_path = spec.get('world_path') or ''
    scenario = spec.get('scenario') or ''
    if spec.get('family'):
        world, fam_scenario = generate_family(spec['family'], int(spec['seed']))
        world_path = write_world(world, os.path.join(run_dir, 'world.sdf'))
        if fam_scenario is not None:
            merged = _merge_scenarios([fam_scenario] + ([scenario] if scenario else []))
            scenario = os.path.join(run_dir, 'scenario.yaml')
            with open(scenario, 'w', encoding='utf-8') as f:
                yaml.safe_dump(merged, f, sort_keys=False)
    return world_path, scenario


def _resolve(world_path: str, profile: str, seed: int, scenario: str, run_dir: str):
    from demining_bringup import stack as st
    desc = st.load_stack()
    given = {'world': world_path, 'seed': int(seed), 'run_dir': run_dir, 'profile': profile,
             'scenario': scenario}
    args = st.resolve_arguments(desc, given)
    if args.get('scenario') and not os.path.isfile(args['scenario']):
        raise st.ConfigError(f'scenario file {args["scenario"]!r} not found')
    # a scenario's parameter overrides (``setup.parameters``), as the fault campaign applies
    # them: checked against the schemas like the profile's own
    params = st.with_overrides(st.load_profile(args['profile']),
                               st.scenario_file_overrides(args.get('scenario') or ''))
    nodes = st.resolve_stack(desc, args, params)
    st.check_profile(nodes, params)
    for node in nodes:
        if node.name == 'simulator':
            node.parameters['processed_truth_resolution_m'] = TRUTH_RESOLUTION_M
    return nodes


def _node_param(nodes, name: str, default: float) -> float:
    for n in nodes:
        if name in n.parameters:
            return float(n.parameters[name])
    return default


def truth_items(sim) -> List[mm.TruthItem]:
    """The world's items as the simulator knows them now (its item fates, not the world)."""
    return mm.truth_items_from_fates(sim.item_fates())


def write_truth(sim, grid, run_dir: str) -> str:
    """Write the simulator's item fates as ``run_dir/truth.json`` (judged on the mission grid)."""
    from demining_sim.truth import write_truth_json
    return write_truth_json(os.path.join(run_dir, 'truth.json'), sim.item_fates(),
                            lambda xs, ys: mm.in_processed_hazard(grid, xs, ys))


def write_violations(path: str, where: Sequence[Tuple[float, float, float]],
                     motions: Sequence[str]) -> str:
    """Write every footprint-violation tick as CSV rows t_s, x_m, y_m, motion; return path."""
    with open(path, 'w', newline='', encoding='utf-8') as fh:
        out = csv.writer(fh)
        out.writerow(('t_s', 'x_m', 'y_m', 'motion'))
        for (t, x, y), motion in zip(where, motions):
            out.writerow((round(t, 2), round(x, 3), round(y, 3), motion))
    return path


def write_rows(path: str, header: Sequence[str], rows: Sequence[Sequence[float]]) -> str:
    """Write ``rows`` of numbers (rounded to the millimetre) under ``header`` as CSV; return
    path."""
    with open(path, 'w', newline='', encoding='utf-8') as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows([round(v, 3) for v in row] for row in rows)
    return path


def render_footprint(path: str, area: Any, truth: Any, track: Sequence[Tuple[float, float]],
                     where: Sequence[Tuple[float, float, float]], title: str,
                     motions: Sequence[str] = (), unscanned: Any = None,
                     blind: Sequence[Tuple[float, float, float]] = ()) -> str:
    """A map of one mission's footprint violations: where the tracks were on ground that was
    not allowed (coloured by time; the marker says how the machine moved, ``motions``), over
    the ground the tool really processed, the field, its exclusion zones, the declared safe
    ground and the driven track; ``unscanned`` (cells of ``truth``'s raster): ground the tool
    processed before the sensor boom had scanned it (:class:`mission_metrics.ScanLeadMonitor`),
    in purple; ``blind`` ((t, x, y) of base_link): ticks at which a track pressed ground no
    sensor had passed over (:class:`mission_metrics.UnscannedTrackMonitor`), black rings."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    from shapely.geometry import Polygon as ShapelyPolygon

    fig, ax = plt.subplots(figsize=(10, 8))
    depth = np.asarray(truth.depth)
    ny, nx = depth.shape
    ax.imshow(depth > 0.0, origin='lower', cmap='Greens', vmin=0.0, vmax=1.6, alpha=0.7,
              extent=(truth.x0, truth.x0 + nx * truth.res, truth.y0, truth.y0 + ny * truth.res))
    if unscanned is not None and np.asarray(unscanned).any():
        ax.imshow(np.ma.masked_where(~np.asarray(unscanned, dtype=bool), np.ones((ny, nx))),
                  origin='lower', cmap='Purples', vmin=0.0, vmax=1.2, alpha=0.8,
                  extent=(truth.x0, truth.x0 + nx * truth.res, truth.y0,
                          truth.y0 + ny * truth.res))
    safe = area.safe_ground()
    for g in getattr(safe, 'geoms', [safe]):
        if not g.is_empty:
            ax.fill(*g.exterior.xy, color='#90caf9', alpha=0.35, lw=0)
    ring = list(area.field) + [area.field[0]]
    ax.plot([p[0] for p in ring], [p[1] for p in ring], 'k-', lw=1.2)
    for zone in area.exclusion_zones:
        ax.fill(*ShapelyPolygon(zone).exterior.xy, color='#616161', alpha=0.6, lw=0)
    if len(track):
        xy = np.asarray(track)
        ax.plot(xy[:, 0], xy[:, 1], '-', color='#1565c0', lw=0.5)
    if len(where):
        w = np.asarray(where)
        kinds = np.asarray(list(motions) if len(motions) == len(w) else [''] * len(w))
        t0, t1 = float(w[:, 0].min()), float(w[:, 0].max())
        sc = None
        for kind, marker, size in _FOOTPRINT_MARKERS:
            sel = kinds == kind
            if sel.any():
                sc = ax.scatter(w[sel, 1], w[sel, 2], c=w[sel, 0], s=size, marker=marker,
                                cmap='autumn', vmin=t0, vmax=t1, zorder=3,
                                label=f'{kind or "tick"} ({int(sel.sum())})')
        fig.colorbar(sc, ax=ax, label='violation at simulated time, s')
    if len(blind):
        b = np.asarray(blind)
        ax.scatter(b[:, 1], b[:, 2], s=40, facecolors='none', edgecolors='k', lw=0.8, zorder=4,
                   label=f'track on unscanned ground ({len(b)})')
    if len(where) or len(blind):
        ax.legend(loc='upper right', fontsize=8, title='motion (ticks)', title_fontsize=8)
    ax.set_aspect('equal')
    ax.set_xlabel('x (east), m')
    ax.set_ylabel('y (north), m')
    ax.set_title(f'{title}: {len(where)} violation ticks (green: processed; purple: processed '
                 'before the boom scanned it; blue: declared safe; grey: excluded)', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _fly(nodes, run_dir: str, sim_time_limit: Optional[float],
         wall_time_limit: Optional[float], render: bool = False,
         record_fusion: bool = False) -> Dict[str, Any]:
    """Host the nodes until the mission ends or a limit; return the row's metrics.

    ``render``: also draw the footprint map (``footprint.png``) in ``run_dir``.
    ``record_fusion``: keep the fusion's inputs there (``bench/fusion_replay.py``).
    """
    from demining_bringup.contract import topics
    from demining_bringup.contract.area import load_area
    from demining_bringup.contract.states import MissionState
    from demining_bringup.deterministic_runner import backstop_limit_s, hosted
    from demining_bringup.hosts.deterministic import ComponentFailure, DeterministicHost
    from demining_bringup.results import read_summary

    start = time.monotonic()
    host = DeterministicHost(hosted(nodes))
    seen: Dict[str, Any] = {'state': MissionState.IDLE, 'report': None, 'events': [],
                            'truth_items': []}
    host.tap(topics.MISSION_STATE, lambda s: seen.__setitem__('state', s))
    host.tap(topics.MISSION_REPORT, lambda p: seen.__setitem__('report', p))
    host.tap(topics.SIM_EVENTS, seen['events'].append)
    out: Dict[str, Any] = {}
    failed: List[str] = []
    recorder = None
    grid = None             # the mission's processed-ground grid, once the host is up
    try:
        host.startup()
        if record_fusion:
            from bench.fusion_replay import FusionRecorder
            recorder = FusionRecorder(host.runtimes['fusion'].component.core)
        sim = host.runtimes['simulator'].component.sim
        mission = host.runtimes['mission_manager'].component.mission
        grid = mission.grid
        world = sim.world
        geometry = mm.TrackGeometry(sim.p.track_gauge_m, sim.p.track_width_m,
                                    sim.p.track_length_m)
        # Allowed ground as the area file declares it (issue 7: approach lanes, safe areas,
        # the safe margin; exclusion zones and obstacles kept out), the geometry the planner
        # and the supervisor are given.
        area = load_area(world.source)
        safe_ground = area.safe_ground()
        safe = None if safe_ground.is_empty else mm.rasterised(
            mm.polygons_contain([safe_ground]), mission.grid)
        keep_out = mm.rasterised(mm.polygons_contain(area.exclusion_zones), mission.grid) \
            if area.exclusion_zones else None
        # Judged on what the tool really processed (the simulator's truth): a track on
        # ground the record counts as processed but the tool missed (localisation error)
        # is the danger; the record's own view is kept beside it.
        footprint = mm.FootprintMonitor(mission.grid, geometry, safe,
                                        processed=mm.truth_processed(sim.processed),
                                        field_only=False, keep_out=keep_out)
        recorded = mm.FootprintMonitor(mission.grid, geometry, safe, field_only=False,
                                       keep_out=keep_out)
        sp = sim.p
        scan = mm.ScanLeadMonitor(sim.processed, sp.sensor_offset_x_m, sp.sensor_width_m,
                                  sp.tool_offset_x_m,
                                  0.5 * max(sp.tool_width_m, sp.tool_strike_length_m)
                                  + TOOL_WINDOW_MARGIN_M, in_field=lambda xs, ys:
                                  mm.in_hazard_field(mission.grid, xs, ys))
        blind = mm.UnscannedTrackMonitor(
            scan, geometry, lambda xs, ys: mm.in_hazard_field(mission.grid, xs, ys), safe)
        zones = host.runtimes['people_monitor'].component.zones.params \
            if 'people_monitor' in host.runtimes else None
        people = None if zones is None else mm.PeopleMonitor(
            zones.flail_safety_distance_m, zones.tool_offset_x_m, zones.flail_running_speed_radps)
        flags = {'timeout': False, 'deadlock': False, 'limit': 0.0}

        def limit() -> float:
            if sim_time_limit is not None:
                return float(sim_time_limit)
            return backstop_limit_s(mission.time_limit_s, mission.start_stamp)

        track: List[Tuple[float, float]] = []

        def on_tick(t: float) -> None:
            tr = sim.truth
            if render:
                track.append((tr.x, tr.y))
            footprint.check(t, tr.x, tr.y, tr.yaw, tr.v, tr.omega)
            recorded.check(t, tr.x, tr.y, tr.yaw)
            scan.check(tr.x, tr.y, tr.yaw, t)
            blind.check(t, tr.x, tr.y, tr.yaw, tr.v, tr.omega)
            if people is not None and sim.actors.actors:
                present = ((a.spec.name, *pos) for a in sim.actors.actors
                           if a.spec.kind in mm.PERSON_KINDS
                           and (pos := a.position(t)) is not None)
                people.check(t, tr.x, tr.y, tr.yaw, tr.v,
                             (sim.tools.flail.speed, sim.tools.tiller.speed), present)

        def until() -> bool:
            if seen['state'].terminal:
                return True
            if wall_time_limit is not None and time.monotonic() - start > wall_time_limit:
                flags['timeout'] = True
                return True
            flags['limit'] = limit()
            if host.now >= flags['limit']:
                flags['deadlock'] = True
                return True
            return False

        try:
            host.run(until, sim_time_limit_s=HARD_SIM_CAP_S, on_tick=on_tick)
            if not seen['state'].terminal and not flags['timeout']:
                flags['deadlock'] = True
        except ComponentFailure as exc:
            failed = [exc.name]
            out['error'] = f'node {exc}'
            try:
                host.call(topics.MISSION_ABORT)
            except ComponentFailure as again:
                out['error'] += f'; abort failed: {again}'
        sim_s = round(float(host.now), 2)
        items = seen['truth_items'] = truth_items(sim)
        write_truth(sim, mission.grid, run_dir)
        if render:
            render_footprint(os.path.join(run_dir, 'footprint.png'), area, sim.processed,
                             track, footprint.where, os.path.basename(run_dir),
                             footprint.motions, scan.unscanned, blind.where)
            write_violations(os.path.join(run_dir, 'footprint_violations.csv'),
                             footprint.where, footprint.motions)
            write_violations(os.path.join(run_dir, 'tracks_on_unscanned.csv'), blind.where,
                             blind.motions)
            write_rows(os.path.join(run_dir, 'processed_before_scan.csv'),
                       ('t_s', 'x_m', 'y_m', 'm2'), scan.where)
        done_m2, unscanned_m2 = scan.areas_m2(
            lambda xs, ys: mm.in_hazard_field(mission.grid, xs, ys))
        out.update(
            sim_s=sim_s, sim_time_limit_s=round(flags['limit'], 1),
            footprint_violations=footprint.violations, footprint_ticks=footprint.ticks,
            footprint_violations_by_motion=json.dumps(footprint.by_motion),
            time_by_motion_s=json.dumps({k: round(v, 1)
                                         for k, v in footprint.seconds_by_motion.items()}),
            footprint_violation_m2=round(footprint.violation_m2, 2),
            footprint_violations_recorded=recorded.violations,
            suspects_under_tracks=mm.suspects_under_tracks(mission.safety_events),
            people_near_hazard=0 if people is None else people.incidents,
            first_people_incident=None if people is None else people.first,
            first_violation=(None if footprint.first is None
                             else [round(v, 2) for v in footprint.first]),
            mines_total=sum(1 for it in items if it.kind in mm.HAZARD_KINDS),
            mines_left_active=sum(1 for it in items
                                  if it.kind in mm.HAZARD_KINDS and it.active),
            mines_left_active_in_processed_ground=mm.mines_left_active_in_processed_ground(
                items, grid),
            processed_before_scan_m2=round(unscanned_m2, 2),
            processed_before_scan_pct=(round(100.0 * unscanned_m2 / done_m2, 2)
                                       if done_m2 > 0.0 else None),
            tracks_on_unscanned_m2=round(blind.area_m2, 2),
            tracks_on_unscanned_by_motion=json.dumps(blind.by_motion),
            first_unscanned_track=(None if blind.first is None
                                   else [round(v, 2) for v in blind.first]),
            coverage_pct=round(float(mission.grid.coverage_percent()), 3),
            processed_m2=float(mission.grid.processed_area_m2()),
            start_stamp=mission.start_stamp, reason=getattr(mission, 'reason', ''))
    finally:
        host.shutdown()
        if recorder is not None:
            from bench.fusion_replay import RECORDING
            recorder.save(os.path.join(run_dir, RECORDING))
    wall = time.monotonic() - start
    state = seen['state']
    events = seen['events']
    # a mission stopped at its wall-time limit publishes no report while it runs: its stack
    # writes the record as it shuts down, into the run folder
    summary = read_summary(seen['report'] or run_dir)
    mission_s = None
    if summary is not None:
        out['coverage_pct'] = float(summary['coverage_percent'])
        zones = [(z['x'], z['y'], z['radius_m']) for z in summary.get('no_go_zones', [])]
        out.update(coverage_workable_pct=summary.get('coverage_workable_percent'),
                   no_go_zones=len(zones),
                   false_no_go_zones=mm.false_no_go_zones(zones, seen['truth_items']))
        if grid is not None:
            # the record's processed ground leaves the no-go zones out (report.cleared_polygon)
            out['mines_left_active_in_processed_ground'] = \
                mm.mines_left_active_in_processed_ground(seen['truth_items'], grid, zones)
        rate = float(summary['clearance_rate_m2_per_h'])
        out['at_detonations'] = int(summary['at_detonations'])
    else:
        if out.get('start_stamp') is not None:
            mission_s = out['sim_s'] - float(out['start_stamp'])
        rate = (out['processed_m2'] / (mission_s / 3600.0)) if mission_s else None
        out['at_detonations'] = mm.count_events(events, 'at_detonation')
    width = _node_param(nodes, 'tool_width_m', 2.0)
    speed = _node_param(nodes, 'working_speed_mps', 0.4)
    ratio = mm.rate_vs_limit(rate, width, speed)
    value = getattr(state, 'value', str(state))
    if failed:
        outcome = 'crashed'
    elif value in ('complete', 'aborted'):
        outcome = value
    elif flags['timeout']:
        outcome = 'timeout'
        out['error'] = f'wall-time limit {wall_time_limit:g} s reached at {out["sim_s"]:.0f} s ' \
                       'simulated'
    else:
        outcome = 'deadlock'
    out.update(
        outcome=outcome, mission_state=value, completed=value == 'complete',
        deadlock=outcome == 'deadlock', failed_nodes=failed,
        ap_detonations=mm.count_events(events, 'ap_detonation'),
        hazards_under_tracks=mm.hazards_under_tracks(events),
        collisions=mm.count_events(events, 'collision'),
        intrusions=mm.count_events(events, 'intrusion'),
        people_incidents=out.pop('people_near_hazard', 0)
        + sum(1 for ev in events if mm.is_people_incident(ev)),
        rate_m2_per_h=None if rate is None else round(rate, 1),
        rate_limit_m2_per_h=round(mm.rate_limit_m2_per_h(width, speed), 1),
        rate_vs_limit=None if ratio is None else round(ratio, 4),
        wall_s=round(wall, 2), rtf=round(out['sim_s'] / wall, 2) if wall > 0 else None,
        run_dir=seen['report'] or run_dir)
    for k in ('processed_m2', 'start_stamp'):
        out.pop(k, None)
    return out


def run_mission(spec: Dict[str, Any]) -> Dict[str, Any]:
    """Run one mission in this process and return its row (never raises)."""
    t0 = time.monotonic()
    row = base_row(spec)
    keep = bool(spec.get('run_dir'))
    run_dir = os.path.abspath(spec['run_dir']) if keep else tempfile.mkdtemp(prefix='mission-')
    try:
        if keep and os.path.exists(os.path.join(run_dir, 'journal.sqlite')):
            # A campaign's mission starts afresh: in an earlier campaign's folder the stack
            # resumed that mission's journal (a completed quick_mixed resumed, sat 1,800 s
            # and was scored with yesterday's first half).
            logging.getLogger('bench.missions').warning(
                'removing the earlier run in %s (a campaign starts its missions afresh)',
                run_dir)
            shutil.rmtree(run_dir)
        os.makedirs(run_dir, exist_ok=True)
        world_path, scenario = prepare_world(spec, run_dir)
        row['world_path'] = world_path
        nodes = _resolve(world_path, spec.get('profile') or DEFAULT_PROFILE,
                         int(spec.get('seed', 1)), scenario, run_dir)
        row.update(_fly(nodes, run_dir, spec.get('sim_time_limit_s'),
                        spec.get('wall_time_limit_s'), render=keep,
                        record_fusion=keep and bool(spec.get('record_fusion'))))
    except Exception as exc:  # noqa: BLE001 - a mission that raises is a row, not a crash
        row.update(outcome='error', completed=False,
                   error=f'{type(exc).__name__}: {exc}'.strip())
        logging.getLogger('bench.missions').error(traceback.format_exc())
    finally:
        if not keep:
            shutil.rmtree(run_dir, ignore_errors=True)
            row['run_dir'] = ''
    row['task_wall_s'] = round(time.monotonic() - t0, 2)
    return row


def child_main() -> int:
    """``missions.py --child``: one mission, spec on stdin, row on the last stdout line."""
    from demining_bringup.hosts.deterministic import ConsoleHandler
    # the components' lines stamped with the simulated time, as the CLI prints them
    logging.basicConfig(level=logging.WARNING, handlers=[ConsoleHandler()])
    spec = json.loads(sys.stdin.read())
    row = run_mission(spec)
    sys.stdout.write(ROW_PREFIX + json.dumps(row) + '\n')
    sys.stdout.flush()
    return 0


# ============================================================================================
# One mission as a task (in a dask worker)
# ============================================================================================

def mission_task(spec: Dict[str, Any]) -> Dict[str, Any]:
    """The dask task: run the mission in a fresh interpreter; return its row (never raises).

    The child gets the mission's wall-time limit plus :data:`KILL_GRACE_S` before it is killed
    (the mission itself stops at its limit and still reports its metrics).
    """
    t0 = time.monotonic()
    script = spec.get('script') or SCRIPT
    limit = spec.get('wall_time_limit_s')
    kill_after = None if limit is None else float(limit) + KILL_GRACE_S
    if not os.path.isfile(script):
        return error_row(spec, f'{script} not found on this worker (a cluster worker needs '
                         'this checkout at the same path)')
    env = dict(os.environ, MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
    try:
        proc = subprocess.run([sys.executable, script, '--child'], input=json.dumps(spec),
                              capture_output=True, text=True, timeout=kill_after,
                              cwd=spec.get('repo') or REPO, env=env)
    except subprocess.TimeoutExpired:
        return error_row(spec, f'killed after {kill_after:g} s wall (mission hung)',
                         'timeout', round(time.monotonic() - t0, 2))
    except OSError as exc:
        return error_row(spec, f'cannot start the mission process: {exc}',
                         task_wall_s=round(time.monotonic() - t0, 2))
    row = None
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(ROW_PREFIX):
            try:
                row = json.loads(line[len(ROW_PREFIX):])
            except ValueError:
                row = None
            break
    log_tail = '\n'.join(proc.stderr.strip().splitlines()[-5:])
    if row is None:
        row = error_row(spec, f'mission process exited with code {proc.returncode}'
                        + (f': {log_tail}' if log_tail else ''))
    row['task_wall_s'] = round(time.monotonic() - t0, 2)
    if spec.get('run_dir'):
        try:
            os.makedirs(spec['run_dir'], exist_ok=True)
            with open(os.path.join(spec['run_dir'], 'mission.log'), 'w',
                      encoding='utf-8') as f:
                f.write(proc.stderr)
        except OSError:
            pass
    return row


# ============================================================================================
# The scoreboard (client side)
# ============================================================================================

def progress_line(done: int, total: int, row: Dict[str, Any]) -> str:
    """One line for a finished mission: world, seed, outcome, coverage, wall time."""
    cov = row.get('coverage_pct')
    wall = row.get('wall_s') if row.get('wall_s') is not None else row.get('task_wall_s')
    text = (f'[{done:>{len(str(total))}}/{total}] {row.get("world")} seed {row.get("seed")} '
            f'({row.get("profile")}): {row.get("outcome")}, coverage '
            + (f'{cov:.1f} %' if isinstance(cov, (int, float)) else '-')
            + (f', {wall:.1f} s wall' if isinstance(wall, (int, float)) else ''))
    if isinstance(row.get('rtf'), (int, float)):
        text += f', rtf {row["rtf"]:.0f}'
    counted = ('at_detonations', 'people_incidents', 'footprint_violations',
               'hazards_under_tracks', 'mines_left_active_in_processed_ground')
    extras = [f'{k} {row[k]}' for k in counted if isinstance(row.get(k), int) and row[k]]
    if extras:
        text += ' [' + ', '.join(extras) + ']'
    if row.get('error'):
        text += f' -- {str(row["error"]).splitlines()[0][:160]}'
    return text


def _client(ns: argparse.Namespace):
    from dask.distributed import Client, LocalCluster
    if ns.scheduler:
        return Client(ns.scheduler, timeout=ns.connect_timeout), None
    cluster = LocalCluster(n_workers=ns.workers or os.cpu_count() or 1, threads_per_worker=1,
                           processes=True, dashboard_address=None,
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


def run_all(specs: List[Dict[str, Any]], ns: argparse.Namespace,
            say: Callable[[str], None]) -> List[Dict[str, Any]]:
    """Submit every mission as a dask task; rows in the order of ``specs`` (never raises)."""
    rows: Dict[int, Dict[str, Any]] = {}
    client = cluster = None
    try:
        import cloudpickle
        from dask.distributed import as_completed
        module = sys.modules.get(mission_task.__module__)
        if module is not None and mission_task.__module__ != '__main__':
            cloudpickle.register_pickle_by_value(module)     # workers need not import it
        client, cluster = _client(ns)
        say(f'dask: {client.scheduler.address}, '
            f'{len(client.scheduler_info().get("workers", {}))} workers')
        futures = {}
        for k, spec in enumerate(specs):
            fut = client.submit(mission_task, spec, key=f'mission-{k}-{spec["mission"]}',
                                pure=False, retries=0)
            futures[fut] = k
        for fut in as_completed(list(futures)):
            k = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker is a row too
                row = error_row(specs[k], f'task failed: {type(exc).__name__}: {exc}')
            rows[k] = row
            say(progress_line(len(rows), len(specs), row))
    except KeyboardInterrupt:
        say('interrupted: the missions not finished are error rows')
    except Exception as exc:  # noqa: BLE001 - no cluster: every mission is an error row
        say(f'dask: {type(exc).__name__}: {exc}')
    finally:
        for closer in (client, cluster):
            if closer is not None:
                try:
                    closer.close()
                except Exception:  # noqa: BLE001 - shutting down anyway
                    pass
    for k, spec in enumerate(specs):
        if k not in rows:
            rows[k] = error_row(spec, 'not run (no cluster, interrupted or lost)')
    return [rows[k] for k in range(len(specs))]


def write_table(rows: Sequence[Dict[str, Any]], summary: Dict[str, Any], out: str) -> None:
    """missions.csv (one row per mission) and missions.json (summary and rows)."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'missions.csv'), 'w', newline='', encoding='utf-8') as f:
        w = csv.DictWriter(f, fieldnames=list(ROW_FIELDS), extrasaction='ignore')
        w.writeheader()
        for r in rows:
            w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v)
                        for k, v in r.items()})
    with open(os.path.join(out, 'missions.json'), 'w', encoding='utf-8') as f:
        json.dump({'summary': summary, 'rows': list(rows)}, f, indent=1)


_COLOURS = {'complete': '#2e7d32', 'aborted': '#ef6c00', 'deadlock': '#6a1b9a',
            'crashed': '#c62828', 'timeout': '#455a64', 'error': '#000000'}


def render_figure(rows: Sequence[Dict[str, Any]], summary: Dict[str, Any], path: str) -> str:
    """One PNG summarising the scoreboard (coverage, rate, safety counts, footprint)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np

    labels = [f'{r.get("world")} s{r.get("seed")}' for r in rows]
    y = np.arange(len(rows))
    colours = [_COLOURS.get(str(r.get('outcome')), '#9e9e9e') for r in rows]

    def values(key: str) -> np.ndarray:
        return np.array([float(r[key]) if isinstance(r.get(key), (int, float))
                         and not isinstance(r.get(key), bool) else np.nan for r in rows])

    height = max(4.0, 0.32 * len(rows) + 2.5)
    fig, axes = plt.subplots(1, 4, figsize=(18, height), sharey=True)
    ax = axes[0]
    ax.barh(y, np.nan_to_num(values('coverage_pct')), color=colours)
    ax.axvline(99.0, color='k', lw=0.8, ls='--')
    ax.set_xlim(0, 100)
    ax.set_xlabel('coverage, %')
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in _COLOURS.values()]
    fig.legend(handles, list(_COLOURS), loc='lower center', ncol=len(_COLOURS), fontsize=8,
               title='outcome', title_fontsize=8)
    ax = axes[1]
    ax.barh(y, np.nan_to_num(values('rate_vs_limit')), color='#1565c0')
    ax.axvline(1.0, color='k', lw=0.8, ls='--')
    ax.set_xlabel('clearance rate / limit (tool width x working speed)')
    ax = axes[2]
    keys = (('at_detonations', 'AT detonations', '#c62828'),
            ('people_incidents', 'people incidents', '#ef6c00'),
            ('hazards_under_tracks', 'hazards under tracks', '#1565c0'),
            ('mines_left_active_in_processed_ground', 'live mines in processed ground',
             '#6a1b9a'))
    h = 0.8 / len(keys)
    for n, (key, name, colour) in enumerate(keys):
        ax.barh(y - 0.4 + h * (n + 0.5), np.nan_to_num(values(key)), height=h, color=colour,
                label=name)
    ax.set_xlabel('count')
    ax.legend(fontsize=7, loc='best')
    ax = axes[3]
    ax.barh(y, np.nan_to_num(values('footprint_violations')), color='#37474f')
    ax.set_xlabel('footprint violations, control ticks')
    fig.suptitle('mission scoreboard: ' + ', '.join(f'{k} {v}' for k, v in summary.items()),
                 fontsize=9, wrap=True)
    fig.tight_layout(rect=(0.0, 0.1 if len(rows) < 6 else 0.05, 1.0, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(
        prog='missions.py', description='Mission scoreboard: whole missions on the '
        'deterministic host as dask tasks; the last stdout line is a JSON summary.')
    p.add_argument('--quick', action='store_true',
                   help='CI set: training_field + one small generated field, seed 1')
    p.add_argument('--worlds', metavar='DIR',
                   help='run every *.sdf of DIR instead of the shipped and generated worlds')
    p.add_argument('--seeds', type=int, metavar='N',
                   help=f'seeds 1..N per world (default {DEFAULT_SEEDS}; 1 with --quick)')
    p.add_argument('--profile', action='append', metavar='NAME',
                   help=f'vehicle profile (repeatable; default {DEFAULT_PROFILE})')
    p.add_argument('--scenario', metavar='YAML',
                   help='fault scenario for every mission (merged with a family\'s actors)')
    p.add_argument('--out', metavar='DIR',
                   help='keep run folders, missions.csv/.json and scoreboard.png here')
    p.add_argument('--scheduler', metavar='ADDRESS',
                   help='dask scheduler of a running cluster (default: a LocalCluster)')
    p.add_argument('--workers', type=int, metavar='N',
                   help='LocalCluster worker processes (default: the number of cores)')
    p.add_argument('--connect-timeout', type=float, default=30.0, metavar='S',
                   help='seconds to wait for --scheduler (default 30)')
    p.add_argument('--sim-time-limit', type=float, metavar='S',
                   help='simulated-time limit per mission (default: the mission manager\'s '
                   'own time limit + 30 min)')
    p.add_argument('--mission-timeout', type=float, default=DEFAULT_MISSION_TIMEOUT_S,
                   metavar='S', help='wall-time limit per mission '
                   f'(default {DEFAULT_MISSION_TIMEOUT_S:g})')
    p.add_argument('--only', metavar='REGEX',
                   help='run only the missions whose name matches REGEX (see --list)')
    p.add_argument('--record-fusion', action='store_true',
                   help='keep each mission\'s fusion inputs in its run folder (with --out), '
                   'for bench/fusion_replay.py')
    p.add_argument('--list', action='store_true', help='print the missions and exit')
    p.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    ns = p.parse_args(argv)
    if ns.seeds is not None and ns.seeds < 1:
        p.error('--seeds must be >= 1')
    if ns.workers is not None and ns.workers < 1:
        p.error('--workers must be >= 1')
    if ns.record_fusion and not ns.out:
        p.error('--record-fusion needs --out (the recordings are kept in the run folders)')
    for name in ('sim_time_limit', 'mission_timeout'):
        value = getattr(ns, name)
        if value is not None and not (math.isfinite(value) and value > 0.0):
            p.error(f'--{name.replace("_", "-")} must be a positive number')
    if ns.worlds is not None:
        if not os.path.isdir(ns.worlds):
            p.error(f'--worlds {ns.worlds}: not a folder')
        if not any(f.endswith('.sdf') for f in os.listdir(ns.worlds)):
            p.error(f'--worlds {ns.worlds}: no *.sdf file in it')
        if ns.quick:
            p.error('--quick and --worlds exclude each other')
    if ns.only is not None:
        try:
            re.compile(ns.only)
        except re.error as exc:
            p.error(f'--only {ns.only!r}: {exc}')
    if ns.scenario is not None and not os.path.isfile(ns.scenario):
        p.error(f'--scenario {ns.scenario}: no such file')
    return ns


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the scoreboard; the last line of stdout is its JSON summary."""
    ns = parse_args(argv)
    if ns.child:
        return child_main()
    t0 = time.monotonic()

    def say(line: str) -> None:
        print(line, flush=True)

    try:
        specs = build_specs(ns)
    except Exception as exc:  # noqa: BLE001 - bad input: one line, exit 2
        print(f'missions.py: error: {exc}', file=sys.stderr)
        return 2
    if ns.list:
        for s in specs:
            say(f'{s["mission"]}  {s["world_path"] or "generated: " + s["family"]}')
        return 0
    if not specs:
        print('missions.py: error: no mission matches --only', file=sys.stderr)
        return 2
    which = 'quick set' if ns.quick else f'worlds of {ns.worlds}' if ns.worlds else 'full set'
    say(f'{len(specs)} missions ({which}), '
        f'{"scheduler " + ns.scheduler if ns.scheduler else "local cluster"}')
    rows = run_all(specs, ns, say)
    summary = mm.aggregate(rows, time.monotonic() - t0)
    if ns.out:
        try:
            write_table(rows, summary, ns.out)
            png = render_figure(rows, summary, os.path.join(ns.out, 'scoreboard.png'))
            say(f'table {os.path.join(ns.out, "missions.csv")}, figure {png}')
        except Exception as exc:  # noqa: BLE001 - the JSON line comes whatever happens
            print(f'missions.py: cannot write {ns.out}: {type(exc).__name__}: {exc}',
                  file=sys.stderr)
    summary['wall_s'] = round(time.monotonic() - t0, 1)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
