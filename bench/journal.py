#!/usr/bin/env python3
"""Benchmark of the mission journal: what writing the record as the mission goes costs.

Drives the mission manager's core (:class:`demining_control.mission.manager.MissionManager`)
and its journal (:class:`demining_bringup.contract.journal.JournalWriter`) the way the mission
manager component does, without the rest of the stack: a lawnmower over a 1-ha field
(100 m x 100 m, lanes 1.8 m apart at 0.4 m/s, the tool working), poses and tool states at 10 Hz,
a growing track list (one track per 10 m^2 processed, the newest ones changing), and every
``--period`` seconds the tracks, the processed grid and a commit, as the component's
``journal_commit`` timer; the fusion's mine map (the field plus a 3 m margin at 0.1 m, swept
ground lowered under the sensor boom, a bump at each new track) each period, written by the
journal every ``journal_map_period_s``. Only the journal's calls are timed for its cost; the
core's own cost per simulated second is printed beside it for scale.

Figures: time per commit (mean, p99, max), the journal's CPU share of mission time, rows and
bytes written per mission hour, and the most a SIGKILL can lose (one period). The last line
is a JSON object.

Reproduce: ``.venv/bin/python bench/journal.py`` (``--mission-seconds 600`` for a quick check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import sys
import tempfile
import time
from typing import List

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))

import numpy as np  # noqa: E402

from demining_bringup.contract.datatypes import (Detection, DetectionKind,  # noqa: E402
                                                 ToolState, VehicleState)
from demining_bringup.contract.journal import (GridGeometry, JournalWriter,  # noqa: E402
                                               journal_path)
from demining_control.mission.manager import MissionManager, MissionParams  # noqa: E402

FIELD = [(0.0, 0.0), (100.0, 0.0), (100.0, 100.0), (0.0, 100.0)]
LANE_SPACING_M = 1.8            # 2.0 m flail, 10 % overlap (the planner's default)
SPEED_MPS = 0.4                 # working speed (shared parameter default)
POSE_RATE_HZ = 10.0             # /localization/odometry and /tool/joint_states
FLAIL_RADPS = 83.8              # 800 rpm (docs/sources.md)
DEPTH_M = 0.2
M2_PER_TRACK = 10.0             # 1 AP per 100 m^2 and clutter: ~0.1 tracks per m^2 processed
CHANGING_TRACKS = 5             # the newest tracks still change between periods
MAP_MARGIN_M = 3.0              # the fusion's map_margin_m default
MAP_RESOLUTION_M = 0.1          # the fusion's resolution_m default
BOOM_HALF_WIDTH_M = 1.25        # half the sensor boom's width (2.5 m array)
PRIOR_PERCENT = 1               # the fusion's prior, as /mine_map prints it
SWEPT_PERCENT = 0               # a cell swept without a hit
TRACK_PERCENT = 60              # a cell at a track


def lawnmower(t: float) -> tuple:
    """Pose (x, y, yaw) at time t on 100 m lanes 1.8 m apart (pivot turns are instant)."""
    s = SPEED_MPS * t
    lane = int(s // 100.0)
    along = s - lane * 100.0
    y = 0.9 + lane * LANE_SPACING_M
    if lane % 2 == 0:
        return along - 2.6, y, 0.0
    return 100.0 - along + 2.6, y, math.pi


def run(mission_s: float, period_s: float, folder: str) -> dict:
    """Run ``mission_s`` simulated seconds; return the figures."""
    m = MissionManager(FIELD, [], MissionParams())
    g = m.grid
    j = JournalWriter(journal_path(folder), {'bench': True}, GridGeometry(
        g.origin_x, g.origin_y, g.resolution, g.width, g.height), period_s, 0.5,
        reach_m=m.params.tool_offset_x_m + 0.5 * m.params.tool_width_m)
    m.journal = j
    m.update(0.0)
    m.on_path(np.array([[0.0, 0.0], [100.0, 0.0]]), 0.0)
    field_m2 = g.field_area_m2()
    commit_s: List[float] = []
    journal_s = 0.0
    core_s = 0.0
    tracks: List[Detection] = []
    dt = 1.0 / POSE_RATE_HZ
    next_commit = period_s
    side = int(round((100.0 + 2 * MAP_MARGIN_M) / MAP_RESOLUTION_M))
    mine_map = np.full((side, side), PRIOR_PERCENT, dtype=np.int8)
    n = int(mission_s * POSE_RATE_HZ)
    for k in range(1, n + 1):
        t = k * dt
        x, y, yaw = lawnmower(t)
        ts = ToolState(t, FLAIL_RADPS, 0.0, DEPTH_M)
        c0 = time.perf_counter()
        m.on_tool_state(ts, t)
        m.on_pose(VehicleState(t, x, y, yaw))
        working = m.tool_working(t)
        c1 = time.perf_counter()
        j.tool(t, ts.flail_speed, ts.depth, working)
        j.pose(t, x, y, yaw)
        c2 = time.perf_counter()
        core_s += c1 - c0
        journal_s += c2 - c1
        if t + 1e-9 >= next_commit:
            next_commit += period_s
            want = int(g.processed_area_m2() / M2_PER_TRACK)
            while len(tracks) < want:
                tracks.append(Detection(x, y + 0.5, 0.1, 0.5, DetectionKind.AP,
                                        id=len(tracks) + 1))
            for i in range(max(0, len(tracks) - CHANGING_TRACKS), len(tracks)):
                d = tracks[i]
                tracks[i] = Detection(d.x, d.y, d.depth, min(1.0, d.confidence + 0.01),
                                      d.kind, id=d.id)
            # the fusion's map: swept band under the boom, the newest tracks bumped
            i = int((x + MAP_MARGIN_M) / MAP_RESOLUTION_M)
            jr = int((y + MAP_MARGIN_M) / MAP_RESOLUTION_M)
            r = int(BOOM_HALF_WIDTH_M / MAP_RESOLUTION_M)
            mine_map[max(0, jr - r):jr + r, max(0, i - r):i + r] = SWEPT_PERCENT
            for d in tracks[-CHANGING_TRACKS:]:
                mine_map[min(side - 1, int((d.y + MAP_MARGIN_M) / MAP_RESOLUTION_M)),
                         min(side - 1, int((d.x + MAP_MARGIN_M) / MAP_RESOLUTION_M))] = \
                    TRACK_PERCENT
            c3 = time.perf_counter()
            m.on_detections(tracks)
            area = g.processed_area_m2()        # the core's figure (also /mission/progress)
            c4 = time.perf_counter()
            j.tracks(t, tracks)
            j.progress(t, g.processed, 100.0 * area / field_m2, area)
            j.mine_map(t, mine_map, -MAP_MARGIN_M, -MAP_MARGIN_M, MAP_RESOLUTION_M)
            j.commit(t)
            c5 = time.perf_counter()
            core_s += c4 - c3
            commit_s.append(c5 - c4)
            journal_s += c5 - c4
    j.close(mission_s)
    path = journal_path(folder)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    con = sqlite3.connect(path)
    rows = sum(con.execute(f'SELECT COUNT(*) FROM {t}').fetchone()[0]
               for t in ('transitions', 'safety_events', 'events', 'tracks', 'trajectory',
                         'tool', 'paths', 'progress', 'processed_tiles', 'mine_map_tiles'))
    map_bytes = con.execute('SELECT COALESCE(SUM(LENGTH(cells)), 0) FROM '
                            'mine_map_tiles').fetchone()[0]
    con.close()
    per_h = 3600.0 / mission_s
    ms = np.asarray(commit_s) * 1e3
    return {
        'mission_s': mission_s, 'commit_period_s': period_s, 'commits': len(commit_s),
        'grid_cells': int(g.width * g.height), 'tracks_at_end': len(tracks),
        'mine_map_cells': int(mine_map.size), 'mine_map_tile_bytes_at_end': int(map_bytes),
        'coverage_percent_at_end': round(g.coverage_percent(), 2),
        'commit_ms_mean': round(float(ms.mean()), 3),
        'commit_ms_p99': round(float(np.percentile(ms, 99)), 3),
        'commit_ms_max': round(float(ms.max()), 3),
        'journal_cpu_percent_of_mission_time': round(100.0 * journal_s / mission_s, 4),
        'core_cpu_ms_per_sim_s': round(1e3 * core_s / mission_s, 3),
        'journal_cpu_ms_per_sim_s': round(1e3 * journal_s / mission_s, 3),
        'rows_per_mission_hour': int(rows * per_h),
        'bytes_per_mission_hour': int(size * per_h),
        'max_loss_on_sigkill_s': period_s,
    }


def main() -> int:
    """Parse arguments, run, print the figures (last line JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--mission-seconds', type=float, default=3600.0,
                    help='simulated mission length, s (default 1 h)')
    ap.add_argument('--period', type=float, default=1.0, help='commit period, s')
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = run(ns.mission_seconds, ns.period, folder)
    for k, v in out.items():
        print(f'{k:40s} {v}')
    print(json.dumps(out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
