"""Which detected suspect the tool is about to work (pure core).

A chain flail engages an item with probability ``1 - exp(-n / n_e)``, ``n`` the strikes on it,
and the strikes per m^2 are ``hammers x f_rot / (v x W)`` (GICHD 2004, "A Study of Mechanical
Application in Demining"): halving the forward speed doubles them and, in the depth law the
stack shares with the simulator (:mod:`demining_bringup.contract.tool_physics`), the depth the
strikes loosen. In trials a flail leaves about 10 % of AP mines live, thrown aside, buried
deeper or damaged (Minerats 1996): a mine the flail passes without engaging is then under the
tracks, which follow in the tool's strip (bench/missions.py gen_lshape_sand_rows seed 66: a
PMA-2 tracked as unknown 5 s before the flail passed it, untouched, went off under the right
track). Where the fusion already tracks a suspect in the strip ahead, the pass over it is made
slower, as an operator would.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Tuple

XY = Tuple[float, float]


def suspect_at_tool(x: float, y: float, yaw: float, suspects: Iterable[XY], *,
                    tool_offset_x_m: float, half_width_m: float, ahead_m: float,
                    behind_m: float) -> Optional[XY]:
    """The nearest suspect (x, y, map frame) in the tool's strip from ``behind_m`` behind its
    line to ``ahead_m`` ahead of it, for the machine at (``x``, ``y``) facing ``yaw`` (the
    tool's line ``tool_offset_x_m`` ahead of base_link, ``half_width_m`` to each side); None
    when there is none."""
    c, s = math.cos(yaw), math.sin(yaw)
    best: Optional[Tuple[float, XY]] = None
    for sx, sy in suspects:
        dx, dy = sx - x, sy - y
        along = c * dx + s * dy - tool_offset_x_m
        side = -s * dx + c * dy
        if -behind_m <= along <= ahead_m and abs(side) <= half_width_m:
            if best is None or abs(along) < best[0]:
                best = (abs(along), (sx, sy))
    return None if best is None else best[1]
