"""Progress of a scanning sensor along its direction of travel, from map positions (pure core).

The GPR and MD processors lay their readings out along the distance the sensor travelled: the
background windows, the stacks, the peak windows and the hyperbola fits all work in it. The
positions come from the ``map`` pose, which jumps by 1-3 cm at each RTK fix and whose heading
noise swings a boom 4 m ahead of base_link by as much across the track. Summing the length of
every step between readings turned that jitter into distance (a crawl through wet clay
"travelled" three times its progress), and taking each step against the last one's direction
for a reversal cut the GPR's scans at a quarter of a mission's traces.

:class:`AlongTrack` is a ratchet instead: a reading counts only once the sensor is
``min_step_m`` further along its (smoothed) direction of travel than the last reading used;
smaller moves, and sideways ones, are jitter and the reading is skipped. A move back, or
sideways, by ``break_m`` is a real reversal (the vehicle backs up) or a change of direction (a
pivot): the caller ends its scan there.
"""

from __future__ import annotations

import enum
import math
from typing import Optional, Tuple


#: Weight of the direction of travel against each new step's (which carries the pose's jitter):
#: a crawl's 1 cm steps are half jitter, and an even average let the direction swing 30-45 deg.
#: A turn of a boom on a 1-2 m radius changes it by under 1 deg per step: the lag is a few
#: degrees.
_DIR_MEMORY = 4.0


class Move(enum.Enum):
    """What a reading's position says about the sensor's travel."""

    STILL = 'still'             # not a step further along the track (stopped, or jitter)
    FORWARD = 'forward'         # progress along the direction of travel
    BREAK = 'break'             # reversed or turned: the scan ends here


#: What :meth:`AlongTrack.advance` returns for a reading that is no step further.
_STILL = (Move.STILL, 0.0)


class AlongTrack:
    """Distance along the direction of travel of one sensor (module docstring)."""

    def __init__(self, min_step_m: float, break_m: float) -> None:
        """Readings count every ``min_step_m``; a move of ``break_m`` back or sideways breaks."""
        self.min_step_m = float(min_step_m)
        self.break_m = max(float(break_m), self.min_step_m)
        #: Position of the last reading used (None: none yet).
        self.last: Optional[Tuple[float, float]] = None
        #: Unit vector of the direction of travel, smoothed over the steps (0: none yet).
        self.dir_x = self.dir_y = 0.0

    def advance(self, x: float, y: float) -> Tuple[Move, float]:
        """Judge a reading at ``(x, y)``; return the move and the distance it adds.

        FORWARD adds the progress along the direction of travel, BREAK the length of the step
        (the caller may add a gap); STILL adds nothing and leaves the last position as it is.
        """
        last = self.last
        if last is None:
            self.last = (x, y)
            return Move.FORWARD, 0.0
        # (Called for every reading of every channel: locals instead of attribute look-ups.)
        dx, dy = x - last[0], y - last[1]
        step = math.hypot(dx, dy)
        min_step = self.min_step_m
        if step < min_step:
            return _STILL
        ux, uy = dx / step, dy / step
        dir_x, dir_y = self.dir_x, self.dir_y
        along = dx * dir_x + dy * dir_y if (dir_x or dir_y) else step
        if along <= -self.break_m or (along < min_step and step >= self.break_m):
            self.last = (x, y)
            self.dir_x, self.dir_y = ux, uy
            return Move.BREAK, step
        if along < min_step:
            return _STILL
        self.last = (x, y)
        mx, my = _DIR_MEMORY * dir_x + ux, _DIR_MEMORY * dir_y + uy
        norm = math.hypot(mx, my)
        self.dir_x, self.dir_y = (mx / norm, my / norm) if norm > 0.0 else (ux, uy)
        return Move.FORWARD, along
