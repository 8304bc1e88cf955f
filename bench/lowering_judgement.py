#!/usr/bin/env python3
"""Benchmark: the coverage planner node judging each tool lowering again as the machine comes
to it (``CoveragePlannerComponent._check_lowering``), on a field driven off its plan.

The node plans a rectangle (``--width`` x ``--height`` m; default 100 x 100, 1 ha) for a
vehicle profile's machine (the stack's coverage_planner parameters for ``--profile``) and is
fed the poses of a machine that follows its path waypoint by waypoint, ``--offset`` m to the
left of its facing (a path follower's cross-track error), at 10 Hz, with a processed grid of
nothing processed (every band is judged against the boom's sweep alone). Each judgement is
timed (process CPU); a lowering whose band the offset boom missed gets a back-up, and the
machine then follows the new path.

The last line is a JSON object: ``lowerings_judged``, ``back_ups_added``,
``blind_lowerings_left``, ``p50_ms``, ``p99_ms``, ``max_ms`` (per judgement), ``poses``,
``wall_s``.

Reproduce: ``.venv/bin/python bench/lowering_judgement.py`` (1 ha, ~1 min) or ``--quick``
(30 x 20 m, seconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

from demining_bringup.contract.datatypes import Grid, VehicleState  # noqa: E402
from demining_bringup.contract.geo import LocalCartesian  # noqa: E402
from demining_bringup.contract.parameters import ParamError  # noqa: E402
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog  # noqa: E402
from demining_bringup.stack import (ConfigError, load_profile, load_stack,  # noqa: E402
                                    resolve_arguments, resolve_stack)
from demining_control.coverage_planner_node import CoveragePlannerComponent  # noqa: E402

#: Where the field's south-west corner lies (any origin: the area is in local metres).
ORIGIN = (45.0, 16.0)
#: Start this far west of the field, on its south-west corner's y + 1 m, facing east, m.
START_BACK_M = 5.0
#: Pose period of the harness, s (the localisation's 10 Hz).
POSE_PERIOD_S = 0.1
#: Cell of the processed grid fed to the node, m (the mission manager's).
GRID_RES_M = 0.1
#: Grid margin round the field, m.
GRID_MARGIN_M = 10.0
#: Progress lines every this many poses.
PROGRESS_EVERY = 2000


def _area_file(folder: str, width: float, height: float) -> str:
    """A GeoJSON rectangle ``width`` x ``height`` m with its south-west corner at ORIGIN."""
    lc = LocalCartesian(ORIGIN[0], ORIGIN[1], 0.0)
    ring = [(0.0, 0.0), (width, 0.0), (width, height), (0.0, height), (0.0, 0.0)]
    lat, lon, _ = lc.to_geodetic([p[0] for p in ring], [p[1] for p in ring],
                                 [0.0] * len(ring))
    doc = {'type': 'Feature', 'properties': {'name': 'bench', 'origin': list(ORIGIN)},
           'geometry': {'type': 'Polygon',
                        'coordinates': [[[float(a), float(b)] for a, b in zip(lon, lat)]]}}
    path = os.path.join(folder, 'area.geojson')
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f)
    return path


def _planner_parameters(profile: str) -> dict:
    """The coverage_planner node's parameters as the stack resolves them for ``profile``."""
    stack = load_stack()
    resolved = resolve_arguments(stack, {'profile': profile})
    node = next(n for n in resolve_stack(stack, resolved, load_profile(resolved['profile']))
                if n.name == 'coverage_planner')
    return dict(node.parameters)


def run(width: float, height: float, offset: float, profile: str, max_poses: int) -> dict:
    """Drive the node's path ``offset`` m off it; the figures of the JSON line."""
    times = []
    real = CoveragePlannerComponent._check_lowering

    def timed(self, pose, now):
        judged, path = self._judged, self.path
        t0 = time.process_time()
        real(self, pose, now)
        if self._judged != judged or self.path is not path:
            times.append(time.process_time() - t0)

    with tempfile.TemporaryDirectory() as folder:
        params = _planner_parameters(profile)
        params.update(area_file=_area_file(folder, width, height), resume_dir='',
                      plan_requests_dir='')
        rt = ComponentRuntime(CoveragePlannerComponent, sink=lambda port, value: None,
                              log=RecordingLog())
        rt.component._check_lowering = timed.__get__(rt.component)
        rt.configure(params)
        rt.activate(0.0)
        rt.deliver('pose', VehicleState(0.0, -START_BACK_M, 1.0, 0.0), 0.0)
        c = rt.component
        if c.error:
            raise RuntimeError(c.error)
        cols = int(math.ceil((width + 2 * GRID_MARGIN_M) / GRID_RES_M))
        rows = int(math.ceil((height + 2 * GRID_MARGIN_M) / GRID_RES_M))
        rt.deliver('processed', Grid(0.0, np.zeros((rows, cols), dtype=np.int8),
                                     -GRID_MARGIN_M, -GRID_MARGIN_M, GRID_RES_M), 0.0)
        path, j, poses = c.path, 0, 0
        t0 = time.perf_counter()
        while poses < max_poses:
            if c.path is not path:
                path, j = c.path, 1
            if j >= len(path):
                break
            x, y, yaw = path[j]
            j += 1
            t = POSE_PERIOD_S * (poses + 1)
            rt.deliver('pose', VehicleState(t, float(x) - offset * math.sin(yaw),
                                            float(y) + offset * math.cos(yaw), float(yaw)), t)
            poses += 1
            if poses % PROGRESS_EVERY == 0:
                print(f'{poses} poses, {len(times)} lowerings judged, '
                      f'{c.late_lead_ins} back-ups', file=sys.stderr, flush=True)
        wall = time.perf_counter() - t0
    ms = 1e3 * np.asarray(times) if times else np.zeros(1)
    return {'lowerings_judged': len(times), 'back_ups_added': c.late_lead_ins,
            'blind_lowerings_left': c.late_blind,
            'p50_ms': round(float(np.percentile(ms, 50)), 1),
            'p99_ms': round(float(np.percentile(ms, 99)), 1),
            'max_ms': round(float(ms.max()), 1), 'poses': poses, 'wall_s': round(wall, 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--quick', action='store_true', help='a 30 x 20 m field')
    ap.add_argument('--width', type=float, default=100.0, help='field width, m (default 100)')
    ap.add_argument('--height', type=float, default=100.0, help='field height, m (default 100)')
    ap.add_argument('--offset', type=float, default=0.3,
                    help='cross-track offset of the driven poses, m (default 0.3)')
    ap.add_argument('--profile', default='mv4_flail', help='vehicle profile (default mv4_flail)')
    ap.add_argument('--max-poses', type=int, default=200000,
                    help='stop after this many poses (default 200000)')
    args = ap.parse_args(argv)
    width, height = (30.0, 20.0) if args.quick else (args.width, args.height)
    if not (width > 0 and height > 0 and math.isfinite(args.offset)):
        print('error: --width and --height must be positive, --offset finite', file=sys.stderr)
        return 2
    try:
        out = run(width, height, args.offset, args.profile, args.max_poses)
    except (ConfigError, ParamError, RuntimeError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 2
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
