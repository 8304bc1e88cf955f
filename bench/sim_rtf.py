#!/usr/bin/env python3
"""Benchmark of the embedded simulator core: real-time factor and memory over a mission.

Generates a 1-ha (100 m x 100 m) minefield with realistic densities (1 AP mine per 100 m^2,
a few AT mines and UXO, 2.4 metal clutter items per m^2 as logged by HALO Trust in Cambodia,
rocks from the loam preset: docs/sources.md), then drives a lawnmower pattern (lanes 2 m apart
at 0.4 m/s, flail at 800 rpm and 20 cm) with the full sensor suite (GPR 8 x 25 traces/s of
256 samples, MD 8 x 50 readings/s, GNSS, IMU, odometry, tool states, ground truth) on one
core, no DDS. The outputs are drained and dropped every 0.1 s as the node would.

Phase 1 times the first ``--seconds`` simulated seconds (the RTF figure); the run then
continues at the same fidelity to ``--mission-seconds`` (default 2 h) to show memory stays
flat. RSS is read from /proc/self/status. The last line is a JSON object.

Reproduce: ``cd /work/main && python bench/sim_rtf.py`` (``--quick`` for a 60 s check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import List, Tuple

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from demining_bringup.contract.datatypes import SimEvent, ToolCommand, Twist2D  # noqa: E402
from demining_sim.generator import generate_world  # noqa: E402
from demining_sim.simulator import SimParams, Simulator  # noqa: E402

FIELD = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
LANE_SPACING_M = 2.0
SPEED_MPS = 0.4                 # working speed (shared parameter default)
FLAIL_RPS = 83.8                # 800 rpm (docs/sources.md)
DEPTH_M = 0.2
LOOKAHEAD_M = 2.0
HEADING_GAIN = 1.5
DRAIN_PERIOD_S = 0.1
PROGRESS_PERIOD_S = 600.0


def rss_mb() -> float:
    """Resident set size of this process, MB."""
    with open('/proc/self/status', encoding='ascii') as fh:
        for line in fh:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024.0
    return float('nan')


def lawnmower(start: Tuple[float, float]) -> List[Tuple[float, float]]:
    """Waypoints: from the start onto the first lane, then lanes along x, 2 m apart."""
    pts = [start]
    y = 1.0
    east = True
    while y < 100.0:
        xs = (0.0, 100.0) if east else (100.0, 0.0)
        pts += [(xs[0], y), (xs[1], y)]
        y += LANE_SPACING_M
        east = not east
    return pts


class Follower:
    """A minimal pure-pursuit follower on the true pose (the bench measures the simulator)."""

    def __init__(self, path: List[Tuple[float, float]]) -> None:
        self.path = path
        self.i = 1

    def command(self, x: float, y: float, yaw: float) -> Twist2D:
        while self.i < len(self.path) - 1 and math.hypot(
                self.path[self.i][0] - x, self.path[self.i][1] - y) < LOOKAHEAD_M:
            self.i += 1
        if self.i >= len(self.path) - 1 and math.hypot(
                self.path[-1][0] - x, self.path[-1][1] - y) < LOOKAHEAD_M:
            self.i = 1                       # start the field again (long missions)
        tx, ty = self.path[self.i]
        err = math.atan2(ty - y, tx - x) - yaw
        err = (err + math.pi) % (2.0 * math.pi) - math.pi
        v = SPEED_MPS * max(0.0, math.cos(err))
        return Twist2D(v, HEADING_GAIN * err)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=600.0,
                    help='simulated seconds timed for the RTF figure (default 600)')
    ap.add_argument('--mission-seconds', type=float, default=7200.0,
                    help='total simulated seconds for the memory check (default 7200 = 2 h)')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--clutter-per-m2', type=float, default=2.4)
    ap.add_argument('--quick', action='store_true', help='60 s timed, 300 s mission')
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.mission_seconds = 60.0, 300.0
    args.mission_seconds = max(args.mission_seconds, args.seconds)
    cmdline = 'python bench/sim_rtf.py ' + ' '.join(sys.argv[1:])
    print(f'reproduce: cd {os.getcwd()} && {cmdline.strip()}', flush=True)

    t0 = time.perf_counter()
    world = generate_world(FIELD, seed=args.seed, ap_per_100m2=1.0, at_per_100m2=0.05,
                           uxo_per_100m2=0.05, clutter_per_m2=args.clutter_per_m2,
                           soil='loam', name='bench_1ha')
    sim = Simulator(world, SimParams(seed=args.seed))
    build_s = time.perf_counter() - t0
    kinds = {}
    for it in world.items:
        kinds[it.kind.value] = kinds.get(it.kind.value, 0) + 1
    print(f'world: 1 ha, {len(world.items)} items {kinds}, '
          f'{len(sim.table) - len(world.items)} rocks; built in {build_s:.1f} s', flush=True)
    follower = Follower(lawnmower(world.vehicle_start[:2]))
    rss_start = rss_mb()
    print(f'rss at start: {rss_start:.1f} MB', flush=True)

    events = {}
    outputs = 0
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    timed = None
    rss_timed = None
    next_progress = PROGRESS_PERIOD_S
    tool = ToolCommand(FLAIL_RPS, 0.0, DEPTH_M)
    while sim.t < args.mission_seconds - 1e-9:
        tr = sim.truth
        sim.set_command(follower.command(tr.x, tr.y, tr.yaw))
        sim.set_tool_command(tool)
        sim.advance_to(sim.t + DRAIN_PERIOD_S)
        out = sim.drain()
        outputs += len(out)
        for o in out:
            if isinstance(o, SimEvent):
                events[o.kind] = events.get(o.kind, 0) + 1
        if timed is None and sim.t >= args.seconds - 1e-9:
            timed = (sim.t, time.perf_counter() - wall0, time.process_time() - cpu0)
            rss_timed = rss_mb()
            print(f'timed phase: {timed[0]:.0f} sim s in {timed[1]:.2f} s wall '
                  f'({timed[2]:.2f} s CPU): rtf {timed[0] / timed[1]:.1f} '
                  f'(CPU-time rtf {timed[0] / timed[2]:.1f}), rss {rss_timed:.1f} MB',
                  flush=True)
        if sim.t >= next_progress - 1e-9:
            wall = time.perf_counter() - wall0
            print(f'  t={sim.t:6.0f} s  pos=({tr.x:5.1f}, {tr.y:5.1f})  rtf so far '
                  f'{sim.t / wall:6.1f}  rss {rss_mb():6.1f} MB  outputs {outputs}  '
                  f'events {events}', flush=True)
            next_progress += PROGRESS_PERIOD_S
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    rss_end = rss_mb()
    print(f'mission: {sim.t:.0f} sim s ({sim.t / 3600:.2f} h) at full sensor fidelity in '
          f'{wall:.1f} s wall: rtf {sim.t / wall:.1f}; rss start {rss_start:.1f} MB, after '
          f'{timed[0]:.0f} s {rss_timed:.1f} MB, end {rss_end:.1f} MB; dropped outputs '
          f'{sim.dropped_outputs}', flush=True)
    result = {
        'rtf': round(timed[0] / timed[1], 1),
        'rtf_cpu_time': round(timed[0] / timed[2], 1),
        'sim_seconds': round(timed[0], 1),
        'wall_seconds': round(timed[1], 2),
        'mission_sim_seconds': round(sim.t, 1),
        'mission_wall_seconds': round(wall, 1),
        'mission_rtf': round(sim.t / wall, 1),
        'mission_cpu_seconds': round(cpu, 1),
        'rss_start_mb': round(rss_start, 1),
        'rss_after_timed_mb': round(rss_timed, 1),
        'rss_end_mb': round(rss_end, 1),
        'items': len(world.items),
        'rocks': len(sim.table) - len(world.items),
        'outputs': outputs,
        'events': events,
        'full_fidelity_mission': True,
        'command': cmdline.strip(),
    }
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
