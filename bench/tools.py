#!/usr/bin/env python3
"""Tool-control benchmark: rotor speed, depth held and stall recovery for every tool profile.

For each vehicle profile (``mv4_flail``, ``tiller``, ``flail_tiller``: their resolved
simulator, tool-controller and path-follower parameters, ``config/stack.yaml`` + profile) and
each world (``training_field``: flat loam; ``rugged_terrain``: a heightmap with slopes to 20
deg), the simulator core (:class:`demining_sim.simulator.Simulator`, every sensor on) is driven
at 10 Hz by the stack's own cores: the tool controller
(:class:`demining_control.tools.controller.ToolController`: governed speed, rotor PI, ground
following from the ride-height sensor, stall handling) and the path follower
(:class:`demining_control.follower.pure_pursuit.PathFollower`, which obeys the governed speed on
work legs and tells the controller the leg) on the true pose. The path: three 1.8 m-spaced work
lanes across the field joined by transit turns (the tool is raised on them). Two disturbances
per run: a stony patch (``PATCH_LOAD_FACTOR`` x the rotors' soil load for ``PATCH_S``, a load
step) and a jam (a ``rotor_stall`` fault on every rotor for ``JAM_S``, recovered by lift,
reverse where the drive can, spin-up, retry).

Figures, over the ground the record would certify (the controller working on a work leg with
the measured tool at speed and within ``depth_tolerance_m`` of the working depth, as the
mission manager marks it):

* ``depth_held_pct``: share of that ground (distance-weighted) whose true effective depth
  (the simulator's: the tool's depth below the local ground, and for a flail alone its reach
  at the strike density of the moment, ``GroundContact.tool_passes``) is at least the required
  ``working_depth_m``; ``depth_rms_error_m``: RMS of effective minus required depth;
* ``rpm_error_pct_p95``: 95th percentile of |measured - target| / target of every rotor while
  working (the load step and the lowering included);
* ``stall_recoveries``: jams recovered (back to work), with their recovery times.

The last line of stdout is one JSON object: ``depth_held_pct`` (worst row), ``depth_held_pct``
per world (``depth_held_pct_by_world``, worst profile), ``depth_rms_error_m`` (worst),
``rpm_error_pct_p95`` (worst), ``stall_recoveries`` (total), ``stall_recovery_s_max``,
``profiles`` (every row's figures). Reproduce: ``.venv/bin/python bench/tools.py``
(``--profiles tiller``, ``--worlds training_field`` for a subset).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from demining_bringup import stack as st  # noqa: E402
from demining_bringup.contract.datatypes import ToolState, VehicleState  # noqa: E402
from demining_bringup.contract.parameters import from_dict, schema_of  # noqa: E402
from demining_bringup.contract.sdf import load_world  # noqa: E402
from demining_bringup.contract.states import ToolPhase  # noqa: E402
from demining_control.follower.pure_pursuit import FollowerParams, PathFollower  # noqa: E402
from demining_control.tools.controller import ToolController, ToolParams  # noqa: E402
from demining_sim.faults import Fault, FaultKind, Scenario  # noqa: E402
from demining_sim.ground_processing import ToolView  # noqa: E402
from demining_sim.simulator import SimParams, Simulator  # noqa: E402

PROFILES = ('mv4_flail', 'tiller', 'flail_tiller')
#: World name -> (kind, lanes' x range, first lane's y): lanes clear of the rugged world's
#: trees and rocks (tree_1 at (16, 12), tree_3 at (46, 22)).
WORLDS = {'training_field': ('flat', (3.0, 27.0), 5.0),
          'rugged_terrain': ('rugged', (4.0, 36.0), 17.0)}
LANES = 3
LANE_SPACING_M = 1.8
CONTROL_DT = 0.1
#: When the jam and the stony patch come (simulated s; the tool works on lane 1 by then).
JAM_AT_S = 60.0
JAM_S = 2.0
PATCH_AT_S = 100.0
PATCH_S = 20.0
PATCH_LOAD_FACTOR = 1.4
#: A run ends after this much simulated time whatever happens, s.
MAX_SIM_S = 2400.0


def node_params(profile: str, world: str) -> Dict[str, Dict[str, Any]]:
    """The resolved parameters of every node for ``profile`` in ``world``."""
    stack = st.load_stack()
    args = st.resolve_arguments(stack, {'world': world, 'profile': profile})
    nodes = st.resolve_stack(stack, args, st.load_profile(args['profile']))
    return {n.name: n.parameters for n in nodes}


def typed(cls, params: Dict[str, Any]):
    """Build a parameter dataclass from the keys of ``params`` it declares."""
    names = set(schema_of(cls))
    return from_dict(cls, {k: v for k, v in params.items() if k in names})


def lanes(x_range: Tuple[float, float], y0: float) -> Tuple[np.ndarray, List[bool]]:
    """Waypoints of LANES boustrophedon lanes along x with transit turns; work flags per leg."""
    x0, x1 = x_range
    pts: List[Tuple[float, float]] = []
    work: List[bool] = []
    for i in range(LANES):
        y = y0 + i * LANE_SPACING_M
        a, b = (x0, x1) if i % 2 == 0 else (x1, x0)
        if pts:
            # a transit turn beyond the lane end (the tool up), then onto the next lane
            ahead = 1.0 if i % 2 == 1 else -1.0
            pts.append((a + 3.0 * ahead, pts[-1][1]))
            work[-1] = False
            work.append(False)
            pts.append((a + 3.0 * ahead, y))
            work.append(False)
        # waypoints every metre, as the planner's (the follower searches a window ahead)
        for x in np.linspace(a, b, int(abs(b - a)) + 1):
            pts.append((float(x), y))
            work.append(True)
    return np.array(pts), work


@dataclasses.dataclass
class Row:
    """One profile on one world."""

    profile: str
    world: str
    kind: str
    depth_held_pct: float
    depth_rms_error_m: float
    rpm_error_pct_p95: float
    governed_speed_mps: float
    soil_hardness_est: float
    stalls: int
    stall_recoveries: int
    stall_recovery_s: List[float]
    certified_m: float
    sim_s: float
    wall_s: float


def run(profile: str, world_name: str) -> Row:
    """Drive the lanes with the profile's tool and follower on one world."""
    kind, x_range, y0 = WORLDS[world_name]
    params = node_params(profile, world_name)
    sp = typed(SimParams, params['simulator'])
    tp = typed(ToolParams, params['tool_controller'])
    fp = typed(FollowerParams, params['path_follower'])
    world = load_world(st.find_world(world_name))
    path, work = lanes(x_range, y0)
    start_yaw = 0.0
    world = dataclasses.replace(world, vehicle_start=(path[0][0] - 0.5, path[0][1], start_yaw))
    jam = Fault(FaultKind.ROTOR_STALL, at=JAM_AT_S, duration=JAM_S, tool='both')
    sim = Simulator(world, sp, Scenario(faults=(jam,)))
    ctl = ToolController(tp)
    fol = PathFollower(fp)
    fol.set_path(path, work)
    flail_load = sim.tools.flail.soil_torque_per_m
    tiller_load = sim.tools.tiller.soil_torque_per_m
    targets = [(w, i) for i, w in enumerate((tp.flail_speed_radps, tp.tiller_speed_radps))
               if w > 0.0]
    ts = ToolState(0.0)
    rpm_err: List[float] = []
    depth_err: List[float] = []
    held = total = 0.0
    speeds: List[float] = []
    t = 0.0
    wall = time.perf_counter()
    while fol.status.value == 'following' and t < MAX_SIM_S:
        tr = sim.truth
        patch = PATCH_AT_S <= t < PATCH_AT_S + PATCH_S
        factor = PATCH_LOAD_FACTOR if patch else 1.0
        sim.tools.flail.soil_torque_per_m = flail_load * factor
        sim.tools.tiller.soil_torque_per_m = tiller_load * factor
        cmd_tool = ctl.update(ts, True, CONTROL_DT, fol.leg, abs(tr.v), t)
        fol.speed_limit_mps = ctl.speed_limit_mps
        twist = fol.update(VehicleState(stamp=t, x=tr.x, y=tr.y, yaw=tr.yaw, v=tr.v),
                           CONTROL_DT)
        sim.set_command(twist)
        sim.set_tool_command(cmd_tool)
        t += CONTROL_DT
        sim.advance_to(t)
        for out in sim.drain():
            if isinstance(out, ToolState):
                ts = out
        # what the record would certify, and what the ground really got
        tr = sim.truth
        certified = (ctl.phase is ToolPhase.WORKING and fol.leg.value == 'work'
                     and ts.depth >= tp.working_depth_m - tp.depth_tolerance_m
                     and ts.flail_speed >= tp.ready_speed_fraction * tp.flail_speed_radps)
        if not certified:
            continue
        tools = sim.tools
        view = ToolView(tools.depth, tools.flail.speed, tools.flail.processing,
                        tools.tiller.speed,
                        tools.tiller.processing and tp.tiller_speed_radps > 0.0)
        passes = sim.contact.tool_passes(tr.v, view, tools.ground_offset_m)
        depth = max((p.reach_m for p in passes), default=0.0)
        step = abs(tr.v) * CONTROL_DT
        total += step
        held += step if depth >= tp.working_depth_m else 0.0
        depth_err.append(depth - tp.working_depth_m)
        speeds.append(abs(tr.v))
        measured = (ts.flail_speed, ts.tiller_speed)
        for target, i in targets:
            rpm_err.append(abs(measured[i] - target) / target * 100.0)
    wall = time.perf_counter() - wall
    return Row(profile, world_name, kind,
               depth_held_pct=100.0 * held / total if total > 0.0 else 0.0,
               depth_rms_error_m=float(np.sqrt(np.mean(np.square(depth_err))))
               if depth_err else math.nan,
               rpm_error_pct_p95=float(np.percentile(rpm_err, 95)) if rpm_err else math.nan,
               governed_speed_mps=float(np.mean(speeds)) if speeds else 0.0,
               soil_hardness_est=ctl.governor.hardness, stalls=ctl.stall_count,
               stall_recoveries=ctl.recoveries,
               stall_recovery_s=[round(x, 1) for x in ctl.recovery_times],
               certified_m=total, sim_s=t, wall_s=wall)


def main(argv: Sequence[str] = ()) -> int:
    """Run every profile on every world; print one line per row and the JSON summary."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--profiles', nargs='+', default=list(PROFILES))
    ap.add_argument('--worlds', nargs='+', default=list(WORLDS), choices=list(WORLDS))
    args = ap.parse_args(list(argv))
    rows: List[Row] = []
    for profile in args.profiles:
        for world in args.worlds:
            r = run(profile, world)
            rows.append(r)
            print(f'{r.profile:13s} {r.world:15s} depth held {r.depth_held_pct:6.2f} % '
                  f'rms {r.depth_rms_error_m * 1000:5.1f} mm  rpm err p95 '
                  f'{r.rpm_error_pct_p95:5.2f} %  governed {r.governed_speed_mps:.3f} m/s '
                  f'(soil {r.soil_hardness_est:.2f})  stalls {r.stalls} recovered '
                  f'{r.stall_recoveries} in {r.stall_recovery_s} s  certified '
                  f'{r.certified_m:.0f} m  sim {r.sim_s:.0f} s wall {r.wall_s:.0f} s',
                  flush=True)
    by_world: Dict[str, float] = {}
    for r in rows:
        by_world[r.kind] = min(by_world.get(r.kind, math.inf), r.depth_held_pct)
    recov = [x for r in rows for x in r.stall_recovery_s]
    summary = {
        'depth_held_pct': min(r.depth_held_pct for r in rows),
        'depth_held_pct_by_world': by_world,
        'depth_rms_error_m': max(r.depth_rms_error_m for r in rows),
        'rpm_error_pct_p95': max(r.rpm_error_pct_p95 for r in rows),
        'stall_recoveries': sum(r.stall_recoveries for r in rows),
        'stall_recovery_s_max': max(recov) if recov else None,
        'profiles': {f'{r.profile}/{r.world}': dataclasses.asdict(r) for r in rows},
    }
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    raise SystemExit(main(sys.argv[1:]))
