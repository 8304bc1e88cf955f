#!/usr/bin/env python3
"""Benchmark of the GPR and metal-detector processors on the embedded simulator's data.

Runs the simulator core (:class:`demining_sim.simulator.Simulator`) on a world (default
``demining_sim/worlds/training_field.sdf``; ``--world generated`` makes a 30 m x 20 m loam
field with :func:`demining_sim.generator.generate_world`, rocks included), drives lawnmower
lanes along x at y = 1, 2.8, 4.6, ... (the 2 m sensor boom 4 m ahead of base_link leads on
every lane; U-turns outside the field) at 0.4 m/s with the flail on, and feeds

* a :class:`PoseBuffer` with the true pose at 10 Hz (the simulator's ground truth), and
* :class:`GprProcessor` / :class:`MdProcessor` with every GPR / MD batch (10 Hz),

timing only the ``process`` calls with ``time.process_time``. Printed: CPU ms per batch for
each processor, batches per CPU second, and detection quality against ``world.items``: per
item whether a GPR and/or MD detection lies within 0.3 m, the depth error of the GPR
detection nearest each item, and false alarms (detections farther than 0.5 m from every
item; GPR detections near a simulated rock are counted apart, rocks being real reflectors).
The last line is a JSON object.

Reproduce: ``cd /work/main && python bench/perception_rate.py`` (``--lanes 3`` for a quick
check, ``--world generated`` for the generated field).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from demining_bringup.contract.datatypes import (  # noqa: E402
    GprScan, MdScan, ToolCommand, Twist2D, VehicleState)
from demining_perception.gpr.processing import GprParams, GprProcessor  # noqa: E402
from demining_perception.metal_detector.processing import MdParams, MdProcessor  # noqa: E402
from demining_perception.pose_buffer import PoseBuffer  # noqa: E402
from demining_sim.generator import generate_world  # noqa: E402
from demining_sim.simulator import GroundTruth, SimParams, Simulator  # noqa: E402
from demining_sim.vehicle import VehicleParams  # noqa: E402
from demining_bringup.contract.sdf import load_world  # noqa: E402
from demining_control.follower.pure_pursuit import (  # noqa: E402
    FollowerParams, FollowerStatus, PathFollower)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
DEFAULT_WORLD = os.path.join('demining_sim', 'worlds', 'training_field.sdf')
GENERATED_FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
SPEED_MPS = 0.4                 # working speed (shared parameter default)
FLAIL_RPS = 83.8                # 800 rpm (docs/sources.md)
TOOL_DEPTH_M = 0.15
SENSOR_OFFSET_M = 4.0           # boom ahead of base_link (shared parameter default)
FIRST_LANE_Y_M = 1.0
LANE_SPACING_M = 1.8            # 2 m boom, 0.2 m overlap
LANE_MARGIN_M = 0.5             # the boom runs this far past the field edge
TURN_OUT_M = 6.0                # U-turn loop beyond the lane end (base_link), m
DRAIN_PERIOD_S = 0.1
HIT_RADIUS_M = 0.3              # a detection this close to an item finds it
FA_RADIUS_M = 0.5               # a detection farther than this from every item is false
COVER_MARGIN_M = 0.9            # an item this close (across track) to a lane is covered
MAX_SIM_S = 20000.0
OBSTACLE_CLEARANCE_M = 0.5      # a lane's hull keeps this far from an obstacle's bounding circle
#: The benches' machine survives every blast: they drive a blind lawnmower to measure the
#: sensors and processors, and an AT mine under the flail (or a track) would disable the
#: simulated vehicle there and leave the rest of the field unscanned (the run then idled to
#: MAX_SIM_S). Avoiding AT mines is the stack's job, measured by bench/missions.py.
BLAST_PROOF_KG = 1e6


def bench_sim_params(seed: int) -> SimParams:
    """Simulator parameters of the perception benches: ``seed``, a blast-proof machine."""
    return SimParams(seed=seed, tool_blast_rating_kg=BLAST_PROOF_KG,
                     vehicle_blast_rating_kg=BLAST_PROOF_KG,
                     track_blast_rating_kg=BLAST_PROOF_KG)


def lanes(field: List[Tuple[float, float]], n_max: int) -> List[float]:
    """Lane y values covering the field's bounding box."""
    y1 = max(p[1] for p in field)
    out = []
    y = min(p[1] for p in field) + FIRST_LANE_Y_M
    while y <= y1 - FIRST_LANE_Y_M + 1e-9 and len(out) < n_max:
        out.append(round(y, 3))
        y += LANE_SPACING_M
    return out


def clear_lanes(world, lane_ys: List[float]) -> List[float]:
    """The lanes whose hull corridor (the whole route's x extent) misses every obstacle.

    The benches' lawnmower is blind (it measures the processors, not the planner): a lane
    through a tree or a wall pinned the machine against it until ``MAX_SIM_S`` (rugged_terrain:
    20,000 s simulated, 7 min of wall time per seed, its lanes after it never scanned). The
    items beside a dropped lane are not scored (they are not covered).
    """
    half = 0.5 * VehicleParams().width_m + OBSTACLE_CLEARANCE_M
    xs = [p[0] for p in world.field]
    reach = LANE_MARGIN_M + SENSOR_OFFSET_M + TURN_OUT_M + OBSTACLE_CLEARANCE_M
    x0, x1 = min(xs) - reach, max(xs) + reach
    return [y for y in lane_ys
            if not any(abs(o.y - y) < o.radius + half and x0 - o.radius <= o.x <= x1 + o.radius
                       for o in world.obstacles)]


def route(field: List[Tuple[float, float]], lane_ys: List[float]
          ) -> Tuple[List[Tuple[float, float]], List[Tuple[float, float, float]]]:
    """Base_link waypoints of the lawnmower with U-turns, and the lanes (y, x_from, x_to)."""
    x0 = min(p[0] for p in field) - LANE_MARGIN_M
    x1 = max(p[0] for p in field) + LANE_MARGIN_M
    pts: List[Tuple[float, float]] = []
    for k, y in enumerate(lane_ys):
        east = k % 2 == 0
        d = 1.0 if east else -1.0
        start = (x0 if east else x1) - d * SENSOR_OFFSET_M
        end = (x1 if east else x0) - d * SENSOR_OFFSET_M
        if k > 0:
            # Loop out beyond the lane start so the vehicle is straight before the boom enters.
            prev = lane_ys[k - 1]
            out_x = start - d * TURN_OUT_M
            pts += [(out_x, prev), (out_x, y)]
        pts += [(start - d * 1.0, y), (start, y), (end, y)]
    if lane_ys:
        last_east = (len(lane_ys) - 1) % 2 == 0
        pts.append((pts[-1][0] + (2.0 if last_east else -2.0), lane_ys[-1]))
    return pts, [(y, x0, x1) for y in lane_ys]


def drive(sim: Simulator, follower: 'Follower', poses: PoseBuffer):
    """Drive the lanes with the flail working; yield each step's simulator outputs.

    The truth poses of a step go into ``poses`` before the step is yielded: in the stack the
    pose of a batch's time is already in the buffer when the batch arrives.
    """
    tool = ToolCommand(FLAIL_RPS, 0.0, TOOL_DEPTH_M)
    while not follower.done and sim.t < MAX_SIM_S:
        tr = sim.truth
        sim.set_command(follower.command(tr.x, tr.y, tr.yaw))
        sim.set_tool_command(tool)
        sim.advance_to(sim.t + DRAIN_PERIOD_S)
        out = sim.drain()
        for o in out:
            if isinstance(o, GroundTruth):
                poses.add(VehicleState(stamp=o.stamp, x=o.x, y=o.y, yaw=o.yaw, v=o.v,
                                       omega=o.omega))
        yield out


class Follower:
    """The stack's path follower (:class:`PathFollower`: pure pursuit, pivots at corners) on
    the lawnmower's waypoints, every leg a work leg at ``speed_mps``.

    It used to chase the next waypoint from wherever the machine was: after a U-turn the
    heading towards a lane's far end left the boom, 4 m ahead, up to 0.5 m beside the lane
    for metres into the field, and items scored as covered (within ``COVER_MARGIN_M`` of a
    lane) were never under a sensor (bench/perception.py gen:dry_sand seed 7: a PMN 12 cm
    deep 0.3 m from the nearest GPR trace, counted as missed).
    """

    def __init__(self, path: List[Tuple[float, float]], speed_mps: float = SPEED_MPS) -> None:
        self._follower = PathFollower(FollowerParams(working_speed_mps=speed_mps))
        self._follower.set_path(np.array(path, dtype=float))

    @property
    def done(self) -> bool:
        """Whether the last waypoint is reached."""
        return self._follower.status is not FollowerStatus.FOLLOWING

    def command(self, x: float, y: float, yaw: float) -> Twist2D:
        """The velocity command at pose (x, y, yaw) in ``map``."""
        return self._follower.update(VehicleState(0.0, x, y, yaw), DRAIN_PERIOD_S)


def quality(world, sim: Simulator, gpr: list, md: list, lane_ys: List[float]) -> Dict:
    """Detection quality against the world's items (covered by the driven lanes)."""
    items = [it for it in world.items
             if min(abs(it.y - y) for y in lane_ys) <= COVER_MARGIN_M]
    all_xy = np.array([(it.x, it.y) for it in world.items]).reshape(-1, 2)
    t = sim.table
    rocks = np.stack([t.x[t.gpr_only], t.y[t.gpr_only]], axis=1) if np.any(t.gpr_only) \
        else np.zeros((0, 2))
    rows = []
    for it in items:
        g = [d for d in gpr if math.hypot(d.x - it.x, d.y - it.y) <= HIT_RADIUS_M]
        m = [d for d in md if math.hypot(d.x - it.x, d.y - it.y) <= HIT_RADIUS_M]
        best = min(g, key=lambda d: math.hypot(d.x - it.x, d.y - it.y)) if g else None
        rows.append({'name': it.name, 'kind': it.kind.value, 'depth': it.depth,
                     'metal_g': round(1000.0 * it.metal_mass, 1), 'gpr': bool(g),
                     'md': bool(m),
                     'gpr_depth_err_cm': (round(100.0 * (best.depth - it.depth), 2)
                                          if best else None)})

    def far(dets, pts):
        if not dets:
            return []
        xy = np.array([(d.x, d.y) for d in dets])
        if not len(pts):
            return list(range(len(dets)))
        dist = np.hypot(xy[:, None, 0] - pts[None, :, 0], xy[:, None, 1] - pts[None, :, 1])
        return list(np.flatnonzero(dist.min(axis=1) > FA_RADIUS_M))

    fa_gpr_idx = far(gpr, all_xy)
    not_rock = set(far([gpr[i] for i in fa_gpr_idx], rocks))
    fa_gpr = [gpr[fa_gpr_idx[j]] for j in sorted(not_rock)]
    fa_md = [md[i] for i in far(md, all_xy)]
    ap_err = [abs(r['gpr_depth_err_cm']) for r in rows
              if r['kind'] == 'AP' and r['gpr_depth_err_cm'] is not None]
    all_err = [abs(r['gpr_depth_err_cm']) for r in rows if r['gpr_depth_err_cm'] is not None]
    shallow = [d for d in fa_gpr if d.depth < 0.05]

    def found(kind, src):
        sel = [r for r in rows if r['kind'] == kind]
        return f"{sum(r[src] for r in sel)}/{len(sel)}"

    kinds = sorted({r['kind'] for r in rows})
    hazards = [r for r in rows if r['kind'] != 'clutter']
    return {
        'rows': rows,
        'items_covered': len(rows),
        'gpr_found': {k: found(k, 'gpr') for k in kinds},
        'md_found': {k: found(k, 'md') for k in kinds},
        'either_found_hazards': f"{sum(r['gpr'] or r['md'] for r in hazards)}/{len(hazards)}",
        'ap_median_abs_depth_err_cm': round(statistics.median(ap_err), 2) if ap_err else None,
        'median_abs_depth_err_cm': round(statistics.median(all_err), 2) if all_err else None,
        'gpr_detections': len(gpr),
        'md_detections': len(md),
        'gpr_false_alarms': len(fa_gpr),
        'gpr_false_alarms_shallow_lt_5cm': len(shallow),
        'gpr_near_rocks': len(fa_gpr_idx) - len(fa_gpr),
        'md_false_alarms': len(fa_md),
        'fa_gpr_depths_cm': sorted(round(100.0 * d.depth, 1) for d in fa_gpr),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--world', default=DEFAULT_WORLD,
                    help="world SDF, or 'generated' (30 m x 20 m loam field with rocks)")
    ap.add_argument('--seed', type=int, default=1, help='simulator (and generator) seed')
    ap.add_argument('--lanes', type=int, default=100, help='lanes driven (default: all)')
    ap.add_argument('--verbose', action='store_true', help='print every item row')
    args = ap.parse_args()
    cmdline = ('python bench/perception_rate.py ' + ' '.join(sys.argv[1:])).strip()
    print(f'reproduce: cd {os.path.abspath(ROOT)} && {cmdline}', flush=True)

    if args.world == 'generated':
        world = generate_world(GENERATED_FIELD, seed=args.seed, ap_per_100m2=1.0,
                               at_per_100m2=0.5, uxo_per_100m2=0.5, clutter_per_m2=0.05,
                               soil='loam', name='bench_generated')
    else:
        path = args.world if os.path.isabs(args.world) else os.path.join(ROOT, args.world)
        world = load_world(path)
    sim = Simulator(world, bench_sim_params(args.seed))
    lane_ys = clear_lanes(world, lanes(world.field, args.lanes))
    path, _ = route(world.field, lane_ys)
    print(f'world {world.name}: {len(world.items)} items, {len(sim.table) - len(world.items)} '
          f'rocks; lanes at y = {lane_ys}', flush=True)
    follower = Follower([world.vehicle_start[:2]] + path)

    gp, mp = GprParams(), MdParams()
    gpr_proc, md_proc = GprProcessor(gp), MdProcessor(mp)
    poses = PoseBuffer(history_s=gp.pose_history_s,
                       max_extrapolation_s=gp.max_pose_extrapolation_s)
    gpr_dets: list = []
    md_dets: list = []
    cpu = {'gpr': 0.0, 'md': 0.0}
    n_batches = {'gpr': 0, 'md': 0}
    wall0 = time.perf_counter()
    for out in drive(sim, follower, poses):
        for o in out:
            if isinstance(o, GprScan):
                c0 = time.process_time()
                dets = gpr_proc.process(o, poses)
                cpu['gpr'] += time.process_time() - c0
                n_batches['gpr'] += 1
                gpr_dets += dets
            elif isinstance(o, MdScan):
                c0 = time.process_time()
                dets = md_proc.process(o, poses)
                cpu['md'] += time.process_time() - c0
                n_batches['md'] += 1
                md_dets += dets
    wall = time.perf_counter() - wall0
    q = quality(world, sim, gpr_dets, md_dets, lane_ys)
    ms = {k: 1000.0 * cpu[k] / max(n_batches[k], 1) for k in cpu}
    print(f'simulated {sim.t:.0f} s in {wall:.1f} s wall; GPR {n_batches["gpr"]} batches '
          f'({gpr_proc.stats.traces} traces), MD {n_batches["md"]} batches', flush=True)
    print(f'CPU per batch: GPR {ms["gpr"]:.3f} ms, MD {ms["md"]:.3f} ms; '
          f'batches per CPU second: GPR {1000.0 / max(ms["gpr"], 1e-9):.0f}, '
          f'MD {1000.0 / max(ms["md"], 1e-9):.0f}; both processors use '
          f'{ms["gpr"] + ms["md"]:.2f} ms CPU per 10 Hz batch '
          f'({10.0 * (ms["gpr"] + ms["md"]):.1f} ms per simulated second)')
    for r in q['rows']:
        if args.verbose or r['kind'] != 'clutter':
            print(f"  {r['name']:22s} {r['kind']:7s} depth {100 * r['depth']:5.1f} cm  "
                  f"metal {r['metal_g']:7.1f} g  GPR {'yes' if r['gpr'] else ' no'}  "
                  f"MD {'yes' if r['md'] else ' no'}  depth err "
                  f"{r['gpr_depth_err_cm'] if r['gpr_depth_err_cm'] is not None else '-'} cm")
    print(f"found by GPR {q['gpr_found']}, by MD {q['md_found']}; hazards by either "
          f"{q['either_found_hazards']}; AP median |depth err| "
          f"{q['ap_median_abs_depth_err_cm']} cm (all items {q['median_abs_depth_err_cm']} cm)")
    print(f"false alarms (> {FA_RADIUS_M} m from every item): GPR {q['gpr_false_alarms']} "
          f"({q['gpr_false_alarms_shallow_lt_5cm']} shallower than 5 cm; depths cm "
          f"{q['fa_gpr_depths_cm']}), GPR near rocks {q['gpr_near_rocks']}, "
          f"MD {q['md_false_alarms']}")
    result = {
        'world': world.name,
        'seed': args.seed,
        'lanes': len(lane_ys),
        'sim_seconds': round(sim.t, 1),
        'gpr_batches': n_batches['gpr'],
        'md_batches': n_batches['md'],
        'gpr_cpu_ms_per_batch': round(ms['gpr'], 3),
        'md_cpu_ms_per_batch': round(ms['md'], 3),
        'gpr_batches_per_cpu_s': round(1000.0 / max(ms['gpr'], 1e-9), 1),
        'md_batches_per_cpu_s': round(1000.0 / max(ms['md'], 1e-9), 1),
        'cpu_ms_per_sim_s': round(10.0 * (ms['gpr'] + ms['md']), 2),
        # The GPR is given the stack's prior; its hyperbola fits may replace it.
        'soil_permittivity': world.soil.permittivity,
        'gpr_permittivity_in_use': round(gpr_proc.permittivity, 2),
        'gpr_permittivity_estimate': round(gpr_proc.permittivity_estimate[0], 2),
        'gpr_velocity_fits': gpr_proc.stats.velocity_fits,
    }
    result.update({k: v for k, v in q.items() if k not in ('rows', 'fa_gpr_depths_cm')})
    result['command'] = cmdline
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
