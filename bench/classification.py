#!/usr/bin/env python3
"""Benchmark of the fused classification (AP / AT / UXO / clutter) on the simulator's data.

Runs the simulator core (:class:`demining_sim.simulator.Simulator`) on a world, drives the
lawnmower of ``bench/perception_rate.py`` (lanes along x, the 2 m sensor boom 4 m ahead of
base_link, 0.4 m/s, flail on), feeds the true pose into a :class:`PoseBuffer` at 10 Hz and every
GPR / MD batch through :class:`GprProcessor` / :class:`MdProcessor` into a
:class:`FusionCore` (re-classified every second like the node's publish timer). At the end
the confirmed fused tracks are matched one-to-one (nearest first, within 0.5 m) to the
world's items covered by the lanes, and a confusion matrix is printed: true kind (AP, AT, UXO,
metal clutter, rock = non-metal GPR clutter incl. the simulator's soil scatterers) x fused
kind, plus missed items and false tracks (matched to nothing).

Worlds (``--worlds``, comma separated): ``training_field`` (30 x 20 m, 5 AP, 7 metal clutter),
``mixed_field`` (limited to ``--mixed-ymax`` metres of its 50 x 40 m to stay quick: AT, UXO,
heavy clutter, rocks in dry sand), ``generated`` (a 30 x 20 m loam field from
:func:`demining_sim.generator.generate_world`, generator seed = simulator seed;
``generated:SOIL`` the same in another soil, e.g. ``generated:wet_clay``), or a path.
Several ``--seeds`` run each world again with other noise (and another generated field).
``shallow_at`` is the same field in laterite with 28 TM-62P mines laid 5 cm deep on a
staggered grid (every offset across the boom): flush-laid AT mines, which the GPR reads
AP-deep. ``at_track_lines`` is a 30 x 11 m loam field with 15 TM-62P mines (10-25 cm deep, five
beside every other lane), each 0.78 m off the lane's centre line: where the mv4_flail's
tracks run (gauge 1.6 m) and where ``bench/missions.py gen_at_uxo_lanes`` lays its AT mines,
between the boom's two outer coils and channels. ``--speed`` drives the lanes at another
speed (the mission's governed working speed is ~0.15 m/s; the MD reads a fuze there
differently). ``--repass`` drives the lanes a second time, half a lane over, back down the
field: every item (clutter survives the flail) is looked at again, as a mission's headland
passes, re-plans and re-cover passes look at it; a label that changes then is counted as the
missions see it (transient AT labels).

The last line is a JSON object with the figures. Reproduce:
``cd /work/main && python bench/classification.py`` (about 2-3 minutes on one core;
``--worlds training_field --seeds 1`` for a 40 s check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..')
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from perception_rate import (LANE_SPACING_M, SPEED_MPS, Follower, bench_sim_params,  # noqa
                             clear_lanes, drive, lanes, route)
from demining_bringup.contract.datatypes import GprScan, MdScan  # noqa: E402
from demining_perception.fusion.core import FusionCore, FusionParams, no_go_rule  # noqa: E402
from demining_perception.gpr.processing import GprParams, GprProcessor  # noqa: E402
from demining_perception.metal_detector.processing import MdParams, MdProcessor  # noqa: E402
from demining_perception.pose_buffer import PoseBuffer  # noqa: E402
from demining_sim.generator import generate_world, make_item  # noqa: E402
from demining_sim.simulator import SimParams, Simulator  # noqa: E402
from demining_bringup.contract.world import World  # noqa: E402
from demining_bringup.contract.sdf import load_world  # noqa: E402

WORLD_DIR = os.path.join(ROOT, 'demining_sim', 'worlds')
GENERATED_FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
MATCH_RADIUS_M = 0.5            # a fused track this close to an item is that item's
COVER_MARGIN_M = 0.9            # an item this close (across track) to a lane is covered
UPDATE_PERIOD_S = 1.0           # the fusion node's publish (re-classify) period
TRUE_ROWS = ('AP', 'AT', 'UXO', 'clutter', 'rock')
#: ``at_track_lines``: the field, its mines per lane, their offset from the lane's centre line
#: (about half the mv4_flail's 1.6 m track gauge) and their depth range, m.
TRACK_LINES_FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 11.0), (0.0, 11.0)]
TRACK_LINES_PER_LANE = 5
TRACK_LINES_OFFSET_M = 0.78
TRACK_LINES_DEPTH_M = (0.10, 0.25)
#: ``shallow_at``: TM-62P mines laid flush-ish (5 cm) in laterite, on a staggered grid across
#: the lanes (every lateral offset from the boom's centre): x from, step, count; y rows; depth.
SHALLOW_AT_X = (4.0, 3.0, 8)
SHALLOW_AT_ROWS_Y = (1.0, 2.3, 3.6, 4.9, 6.2, 7.5, 8.8)
SHALLOW_AT_STAGGER_M = 0.3
SHALLOW_AT_DEPTH_M = 0.05
FUSED_COLS = ('AP', 'AT', 'UXO', 'CLUTTER', 'UNKNOWN', 'missed')


def make_world(name: str, seed: int, mixed_ymax: float) -> World:
    """Load or generate a world; ``mixed_field`` is cut to ``y <= mixed_ymax``."""
    if name == 'at_track_lines':
        return at_track_lines(seed)
    if name == 'shallow_at':
        return shallow_at(seed)
    if name == 'generated' or name.startswith('generated:'):
        soil = name.partition(':')[2] or 'loam'
        return generate_world(GENERATED_FIELD, seed=seed, ap_per_100m2=2.0, at_per_100m2=0.5,
                              uxo_per_100m2=0.3, clutter_per_m2=0.1, soil=soil,
                              name=f'generated_{soil}_s{seed}' if soil != 'loam'
                              else f'generated_s{seed}')
    path = name if os.path.isabs(name) or name.endswith('.sdf') else \
        os.path.join(WORLD_DIR, name + '.sdf')
    world = load_world(path)
    if world.name == 'mixed_field' or os.path.basename(path).startswith('mixed_field'):
        xs = [p[0] for p in world.field]
        ys = [p[1] for p in world.field]
        y1 = min(max(ys), min(ys) + mixed_ymax)
        world.field = [(min(xs), min(ys)), (max(xs), min(ys)), (max(xs), y1), (min(xs), y1)]
    return world


def shallow_at(seed: int) -> World:
    """TM-62P mines 5 cm deep in laterite across the lanes (module docstring)."""
    world = generate_world(TRACK_LINES_FIELD, seed=seed, ap_per_100m2=0.0, clutter_per_m2=0.0,
                           soil='laterite', name=f'shallow_at_s{seed}')
    x0, step, count = SHALLOW_AT_X
    k = 0
    for i in range(count):
        for j, y in enumerate(SHALLOW_AT_ROWS_Y):
            if (i + j) % 2:
                continue
            world.items.append(make_item('TM-62P', f'at_{k}', x0 + step * i +
                                         SHALLOW_AT_STAGGER_M * j, y, SHALLOW_AT_DEPTH_M))
            k += 1
    return world


def at_track_lines(seed: int) -> World:
    """TM-62P mines under the tracks' lines of alternate bench lanes (module docstring)."""
    rng = np.random.default_rng(seed)
    world = generate_world(TRACK_LINES_FIELD, seed=seed, ap_per_100m2=0.0, clutter_per_m2=0.0,
                           soil='loam', name=f'at_track_lines_s{seed}')
    x0 = min(p[0] for p in TRACK_LINES_FIELD)
    length = max(p[0] for p in TRACK_LINES_FIELD) - x0
    lane_ys = lanes(TRACK_LINES_FIELD, 1000)
    k = 0
    # beside every other lane, alternately above and below it; as on a mission's lanes 1.8 m
    # apart, the next lane's boom edge then passes 0.02 m from the mine's centre
    for n, y in enumerate(lane_ys[::2]):
        side = 1.0 if n % 2 == 0 else -1.0
        for j in range(TRACK_LINES_PER_LANE):
            x = x0 + length * (j + 0.5) / TRACK_LINES_PER_LANE + rng.uniform(-0.3, 0.3)
            world.items.append(make_item('TM-62P', f'at_{k}', x,
                                         y + side * TRACK_LINES_OFFSET_M,
                                         float(rng.uniform(*TRACK_LINES_DEPTH_M))))
            k += 1
    return world


def true_kind(item) -> str:
    """Row of the confusion matrix for a world item."""
    if item.kind.value == 'clutter':
        return 'clutter' if item.metal_mass > 0.0 else 'rock'
    return item.kind.value


def note_at(fusion: FusionCore, ever_at: Dict[int, Tuple[float, float, float, str]],
            now: float, kind: str = 'AT') -> None:
    """Remember the published tracks labelled ``kind`` (AT, or UXO: both make a no-go zone)
    now: (time, x, y, evidence) of their first such label; the evidence says which rule made
    it AT (``no_go_rule``) and the track then."""
    for d in fusion.fused():
        if d.kind.name == kind and d.id not in ever_at:
            t = fusion.tracks.get(d.id)
            why = '' if t is None else \
                f'{no_go_rule(t, fusion.params)}: {track_note(fusion, d.id)}'
            ever_at[d.id] = (now, d.x, d.y, why)


def track_note(fusion: FusionCore, tid: int) -> str:
    """The evidence of a track (hits, half width, polarity, strength, posterior)."""
    t = fusion.tracks.get(tid)
    if t is None:
        return '(merged)'
    post = ' '.join(f'{v:.3f}' for v in t.posterior)
    return (f'hits {t.hits} gpr {t.gpr_hits} md {t.md_hits} r {100 * t.gpr_radius:.0f} cm '
            f'pol {t.polarity:+d} z {t.gpr_strength:.0f} metal {t.metal_g:.1f} g '
            f'post [{post}]')


def tool_reach_time(track: List[Tuple[float, float, float, float]], x: float, y: float,
                    p: SimParams) -> float:
    """First time the flail's strike zone covers ``(x, y)`` (inf when never)."""
    half_len, half_w = 0.5 * p.tool_strike_length_m, 0.5 * p.tool_width_m
    for t, vx, vy, yaw in track:
        c, s = math.cos(yaw), math.sin(yaw)
        along = (x - vx) * c + (y - vy) * s - p.tool_offset_x_m
        lateral = -(x - vx) * s + (y - vy) * c
        if abs(along) <= half_len and abs(lateral) <= half_w:
            return t
    return math.inf


def run_world(world: World, seed: int, verbose: bool, permittivity: str = 'given',
              speed_mps: float = SPEED_MPS, repass: bool = False,
              fusion_overrides: Optional[Dict[str, float]] = None) -> Dict:
    """Simulate one lawnmower mission and return the confusion matrix and details.

    ``permittivity``: 'given' tells the GPR processor the world's soil; 'prior' leaves it the
    stack default, a prior the processor's hyperbola fits may replace. ``speed_mps``: the
    lanes' driving speed. ``repass``: the lanes again, half a lane over. ``fusion_overrides``:
    fusion parameters other than the defaults.
    """
    sim = Simulator(world, bench_sim_params(seed))
    lane_ys = clear_lanes(world, lanes(world.field, 1000))
    if repass:
        # the lanes again, half a lane over, back down the field: every item is looked at on a
        # second pass, as a mission's headland passes, re-plans and re-cover passes do
        lane_ys = lane_ys + clear_lanes(world, [y + 0.5 * LANE_SPACING_M
                                                for y in reversed(lane_ys)])
    path, _ = route(world.field, lane_ys)
    follower = Follower([world.vehicle_start[:2]] + path, speed_mps)
    # The GPR processor is told the soil (an operator setting; the stack default is loam).
    gp = GprParams(soil_permittivity=world.soil.permittivity) if permittivity == 'given' \
        else GprParams()
    mp, fp = MdParams(), FusionParams(**(fusion_overrides or {}))
    gpr_proc, md_proc = GprProcessor(gp), MdProcessor(mp)
    poses = PoseBuffer(history_s=gp.pose_history_s,
                       max_extrapolation_s=gp.max_pose_extrapolation_s)
    xs = [p[0] for p in world.field]
    ys = [p[1] for p in world.field]
    fusion = FusionCore.from_bounds(fp, (min(xs), min(ys), max(xs), max(ys)))
    raw: List = []
    # Tracks published AT at any update (a no-go zone, once made, is permanent), with the
    # time of the first AT label.
    ever_at: Dict[int, Tuple[float, float, float, str]] = {}
    vehicle: List[Tuple[float, float, float, float]] = []
    next_update = UPDATE_PERIOD_S
    wall0 = time.perf_counter()
    for out in drive(sim, follower, poses):
        tr = sim.truth
        vehicle.append((sim.t, tr.x, tr.y, tr.yaw))
        # the boom's sweep, as the fusion node makes one per pose: the cells it passed lose
        # log-odds where nothing answered, and its odometer times the looks
        fusion.sweep(tr.x, tr.y, tr.yaw, sim.t)
        for o in out:
            if isinstance(o, GprScan):
                dets = gpr_proc.process(o, poses)
            elif isinstance(o, MdScan):
                dets = md_proc.process(o, poses)
            else:
                continue
            raw += dets
            fusion.add(dets, o.stamp)
        if sim.t >= next_update:
            fusion.update(sim.t)
            note_at(fusion, ever_at, sim.t)
            next_update += UPDATE_PERIOD_S
    fusion.update(sim.t + fp.gpr_wait_s)
    note_at(fusion, ever_at, sim.t + fp.gpr_wait_s)
    wall = time.perf_counter() - wall0
    # Score the hazard area only (lanes run past its edges, where the simulator's soil rocks
    # continue).
    fused = [d for d in fusion.fused()
             if min(xs) <= d.x <= max(xs) and min(ys) <= d.y <= max(ys)]

    # Items covered by the lanes (world items plus the simulator's soil scatterers as rocks).
    def covered(x: float, y: float) -> bool:
        return min(abs(y - ly) for ly in lane_ys) <= COVER_MARGIN_M and \
            min(xs) <= x <= max(xs)

    items: List[Tuple[str, str, float, float, object]] = [
        (it.name, true_kind(it), it.x, it.y, it) for it in world.items if covered(it.x, it.y)]
    t = sim.table
    for k in np.flatnonzero(t.gpr_only):
        if covered(float(t.x[k]), float(t.y[k])):
            items.append((f'soil_rock_{k}', 'rock', float(t.x[k]), float(t.y[k]), None))
    # One-to-one matching, nearest pairs first.
    pairs = []
    for i, (_, _, ix, iy, _) in enumerate(items):
        for j, d in enumerate(fused):
            dist = math.hypot(d.x - ix, d.y - iy)
            if dist <= MATCH_RADIUS_M:
                pairs.append((dist, i, j))
    pairs.sort()
    item_of: Dict[int, int] = {}
    track_of: Dict[int, int] = {}
    for dist, i, j in pairs:
        if i not in track_of and j not in item_of:
            track_of[i] = j
            item_of[j] = i
    matrix = {r: {c: 0 for c in FUSED_COLS} for r in TRUE_ROWS}
    rows = []
    for i, (name, kind, ix, iy, it) in enumerate(items):
        j = track_of.get(i)
        col = fused[j].kind.name if j is not None else 'missed'
        matrix[kind][col] += 1
        if it is not None:
            near_md = [d for d in raw if d.source == 'md'
                       and math.hypot(d.x - ix, d.y - iy) <= MATCH_RADIUS_M]
            near_gpr = [d for d in raw if d.source == 'gpr'
                        and math.hypot(d.x - ix, d.y - iy) <= MATCH_RADIUS_M]
            rows.append((name, kind, it, col, fused[j] if j is not None else None,
                         near_md, near_gpr))
    false_tracks = {c: 0 for c in FUSED_COLS[:-1]}
    for j, d in enumerate(fused):
        if j not in item_of:
            false_tracks[d.kind.name] += 1
    # Transient AT labels: every track published AT at any update (its no-go zone stays), by
    # the kind of the nearest item where it was labelled ('none': nothing within 0.5 m).
    every = [(true_kind(it), it.x, it.y) for it in world.items] + [
        ('rock', float(t.x[k]), float(t.y[k])) for k in np.flatnonzero(t.gpr_only)]
    at_labels = {r: 0 for r in TRUE_ROWS + ('none',)}
    at_label_notes = []
    for tid, (t_at, ax, ay, why) in sorted(ever_at.items()):
        if not (min(xs) <= ax <= max(xs) and min(ys) <= ay <= max(ys)):
            continue
        near = min(((math.hypot(ax - ix, ay - iy), k) for k, ix, iy in every),
                   default=(math.inf, 'none'))
        kind = near[1] if near[0] <= MATCH_RADIUS_M else 'none'
        at_labels[kind] += 1
        if kind not in ('AT', 'UXO'):
            at_label_notes.append((tid, t_at, ax, ay, kind, why))
    # Every AT mine must be AT before the flail reaches it.
    at_late, at_margins = 0, []
    for name, kind, ix, iy, it in items:
        if kind != 'AT':
            continue
        t_tool = tool_reach_time(vehicle, ix, iy, sim.p)
        t_at = min((v[0] for v in ever_at.values()
                    if math.hypot(v[1] - ix, v[2] - iy) <= MATCH_RADIUS_M), default=math.inf)
        if math.isfinite(t_tool):
            at_margins.append(t_tool - t_at)
            if t_at > t_tool:
                at_late += 1
    if verbose:
        for name, kind, it, col, d, near_md, near_gpr in rows:
            if kind == 'rock' and col == 'missed':
                continue
            md_s = ' '.join(f'[{m.strength:.1f}g c{m.confidence:.2f} d{100 * m.depth:.0f}]'
                            for m in near_md[:3])
            gpr_s = ' '.join(f'[r{100 * g.radius:.0f} c{g.confidence:.2f} d{100 * g.depth:.0f}'
                             f' p{g.polarity:+d} z{g.strength:.0f}]'
                             for g in near_gpr[:3])
            print(f'    {name:14s} {kind:7s} {it.model or "":11s} d {100 * it.depth:4.1f} cm '
                  f'{1000 * it.metal_mass:7.1f} g -> {col:8s} '
                  f'{"" if d is None else f"c {d.confidence:.2f}"}  MD {md_s}  '
                  f'GPR n{len(near_gpr)} {gpr_s}')
        for j, d in enumerate(fused):
            if j not in item_of:
                print(f'    false track {d.id} at ({d.x:.2f}, {d.y:.2f}) {d.kind.name} '
                      f'c {d.confidence:.2f} depth {100 * d.depth:.0f} cm '
                      f'{track_note(fusion, d.id)}')
        for tid, t_at, ax, ay, kind, why in at_label_notes:
            print(f'    AT label on {kind}: track {tid} at ({ax:.2f}, {ay:.2f}) t {t_at:.0f} s, '
                  f'then {why}; at the end {track_note(fusion, tid)}')
        for m in at_margins:
            print(f'    AT mine labelled AT {m:.1f} s before the flail reached it')
    return {'world': world.name, 'seed': seed, 'lanes': len(lane_ys),
            'sim_s': round(sim.t, 1), 'wall_s': round(wall, 1), 'matrix': matrix,
            'false_tracks': false_tracks, 'fused_tracks': len(fused),
            'at_labels': at_labels, 'at_late': at_late,
            'at_min_margin_s': round(min(at_margins), 1) if at_margins else None}


def summary(matrix: Dict[str, Dict[str, int]], false_tracks: Dict[str, int]) -> Dict:
    """Headline figures from a (summed) confusion matrix."""
    ap = matrix['AP']
    ap_found = sum(ap[c] for c in FUSED_COLS if c != 'missed')
    cl = matrix['clutter']
    cl_found = sum(cl[c] for c in FUSED_COLS if c != 'missed')
    hazards = [matrix[k] for k in ('AP', 'AT', 'UXO')]
    return {
        'ap_total': sum(ap.values()), 'ap_detected': ap_found,
        'ap_as_ap_or_unknown': ap['AP'] + ap['UNKNOWN'],
        'ap_as_clutter': ap['CLUTTER'],
        'hazards_as_clutter': sum(h['CLUTTER'] for h in hazards),
        'hazards_missed': sum(h['missed'] for h in hazards),
        'at_as_at': matrix['AT']['AT'], 'at_total': sum(matrix['AT'].values()),
        'uxo_as_uxo_or_at': matrix['UXO']['UXO'] + matrix['UXO']['AT'],
        'uxo_total': sum(matrix['UXO'].values()),
        'clutter_total': sum(cl.values()), 'clutter_detected': cl_found,
        'clutter_as_clutter': cl['CLUTTER'], 'clutter_as_at': cl['AT'],
        'clutter_as_ap': cl['AP'],
        'clutter_rejection': round(cl['CLUTTER'] / cl_found, 3) if cl_found else None,
        'rock_tracks': sum(matrix['rock'][c] for c in FUSED_COLS if c != 'missed'),
        'false_tracks': sum(false_tracks.values()),
    }


def print_matrix(title: str, matrix: Dict[str, Dict[str, int]],
                 false_tracks: Optional[Dict[str, int]] = None) -> None:
    """Print a confusion matrix (rows true kind, columns fused kind)."""
    print(title)
    print('  true \\ fused ' + ''.join(f'{c:>9s}' for c in FUSED_COLS))
    for r in TRUE_ROWS:
        print(f'  {r:12s} ' + ''.join(f'{matrix[r][c]:9d}' for c in FUSED_COLS))
    if false_tracks is not None:
        print(f'  {"false track":12s} ' + ''.join(f'{false_tracks[c]:9d}'
                                                  for c in FUSED_COLS[:-1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--worlds', default='training_field,mixed_field,generated',
                    help='comma-separated: training_field, mixed_field, generated, '
                    'generated:SOIL, at_track_lines, shallow_at or paths')
    ap.add_argument('--seeds', default='1,2', help='comma-separated simulator seeds')
    ap.add_argument('--mixed-ymax', type=float, default=12.0,
                    help='mixed_field is cut to this many metres from its south edge')
    ap.add_argument('--verbose', action='store_true', help='print every item and false track')
    ap.add_argument('--permittivity', choices=['given', 'prior'], default='given',
                    help="GPR soil permittivity: the world's ('given') or the stack default "
                    "estimated from hyperbola fits ('prior')")
    ap.add_argument('--fusion', action='append', default=[], metavar='NAME=VALUE',
                    help='a fusion parameter other than its default (repeatable), e.g. '
                    'gpr_look_gap_m=inf')
    ap.add_argument('--repass', action='store_true',
                    help='drive the lanes a second time, half a lane over (every item looked '
                    'at twice, as on a mission)')
    ap.add_argument('--speed', type=float, default=SPEED_MPS,
                    help=f'driving speed on the lanes, m/s (default {SPEED_MPS})')
    args = ap.parse_args()
    if not (math.isfinite(args.speed) and 0.02 <= args.speed <= 2.0):
        print('error: --speed must be within 0.02..2.0 m/s', file=sys.stderr)
        return 2
    overrides: Dict[str, float] = {}
    for item in args.fusion:
        name, _, value = item.partition('=')
        try:
            overrides[name] = float(value)
            FusionParams(**overrides)
        except (TypeError, ValueError) as exc:
            print(f'error: --fusion {item!r}: {exc}', file=sys.stderr)
            return 2
    cmdline = ('python bench/classification.py ' + ' '.join(sys.argv[1:])).strip()
    print(f'reproduce: cd {os.path.abspath(ROOT)} && {cmdline}', flush=True)
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
    per_world: Dict[str, Dict] = {}
    runs = []
    for name in [w.strip() for w in args.worlds.split(',') if w.strip()]:
        total = {r: {c: 0 for c in FUSED_COLS} for r in TRUE_ROWS}
        false_total = {c: 0 for c in FUSED_COLS[:-1]}
        at_total = {r: 0 for r in TRUE_ROWS + ('none',)}
        late, margins = 0, []
        for seed in seeds:
            world = make_world(name, seed, args.mixed_ymax)
            res = run_world(world, seed, args.verbose, args.permittivity, args.speed,
                            args.repass, overrides)
            runs.append({k: res[k] for k in ('world', 'seed', 'lanes', 'sim_s', 'wall_s',
                                             'fused_tracks')})
            print_matrix(f'{res["world"]} seed {seed}: {res["lanes"]} lanes, '
                         f'{res["sim_s"]:.0f} s simulated in {res["wall_s"]:.0f} s wall, '
                         f'{res["fused_tracks"]} fused tracks', res['matrix'],
                         res['false_tracks'])
            for r in TRUE_ROWS:
                for c in FUSED_COLS:
                    total[r][c] += res['matrix'][r][c]
            for c in false_total:
                false_total[c] += res['false_tracks'][c]
            for r in at_total:
                at_total[r] += res['at_labels'][r]
            late += res['at_late']
            if res['at_min_margin_s'] is not None:
                margins.append(res['at_min_margin_s'])
            print(f'  AT labels at any update, by the item where made: '
                  f'{json.dumps(res["at_labels"])}; AT mines labelled late: {res["at_late"]}, '
                  f'least margin before the flail {res["at_min_margin_s"]} s')
        if len(seeds) > 1:
            print_matrix(f'{name}: all seeds', total, false_total)
        per_world[name] = {'matrix': total, 'false_tracks': false_total,
                           'summary': summary(total, false_total)}
        sm = per_world[name]['summary']
        sm['transient_at'] = at_total
        sm['false_at_labels'] = sum(v for k, v in at_total.items() if k not in ('AT', 'UXO'))
        sm['at_labelled_late'] = late
        sm['at_min_margin_s'] = min(margins) if margins else None
        print(f'  {name}: {json.dumps(per_world[name]["summary"])}', flush=True)
    result = {'seeds': seeds, 'mixed_ymax': args.mixed_ymax,
              'worlds': {k: v['summary'] for k, v in per_world.items()},
              'matrices': {k: v['matrix'] for k, v in per_world.items()},
              'false_tracks': {k: v['false_tracks'] for k, v in per_world.items()},
              'runs': runs, 'command': cmdline}
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
