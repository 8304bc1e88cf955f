"""People and animals walking into the hazard area on scheduled paths (ground truth only).

An actor appears at its ``start`` time at the first point of its path, walks the polyline at
``speed_mps`` and disappears at the end (or starts over when ``loop``), or at ``until`` when
given: a stray dog roams round a work site for a while, it does not circle a running flail
all day (a looping actor without ``until`` stays for the whole run). An ``intrusion`` event
is raised when an actor comes within ``intrusion_distance_m`` of the vehicle, once per
approach: it re-arms when the actor is again farther than the distance plus a hysteresis.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import SimEvent
from demining_sim.faults import ActorSpec

# An actor must retreat this much beyond the intrusion distance before it can intrude again.
_HYSTERESIS_M = 2.0


@dataclasses.dataclass
class ActorState:
    """Where an actor is now (map frame)."""

    name: str
    kind: str
    x: float
    y: float


class Actor:
    """One scheduled walker."""

    def __init__(self, spec: ActorSpec) -> None:
        """Precompute the path's cumulative length."""
        self.spec = spec
        pts = np.asarray(spec.path, dtype=float).reshape(-1, 2)
        self._pts = pts
        seg = np.hypot(np.diff(pts[:, 0]), np.diff(pts[:, 1])) if len(pts) > 1 else np.zeros(0)
        self._cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self._cum[-1])
        self.intruding = False

    def position(self, t: float) -> Optional[Tuple[float, float]]:
        """Position at ``t``, or None when the actor is not in the scene."""
        s = self.spec
        if t < s.start or (s.until is not None and t > s.until):
            return None
        walked = (t - s.start) * s.speed_mps
        if self.length <= 0.0:
            return (float(self._pts[0, 0]), float(self._pts[0, 1]))
        if walked > self.length:
            if not s.loop:
                return None
            walked = walked % self.length
        x = float(np.interp(walked, self._cum, self._pts[:, 0]))
        y = float(np.interp(walked, self._cum, self._pts[:, 1]))
        return (x, y)


class Actors:
    """All actors of a scenario; :meth:`update` returns their states and new intrusions."""

    def __init__(self, specs: Sequence[ActorSpec], intrusion_distance_m: float) -> None:
        """Track ``specs`` against the vehicle with the given intrusion distance."""
        self.actors = [Actor(s) for s in specs]
        self.distance = float(intrusion_distance_m)

    def update(self, t: float, vehicle_x: float, vehicle_y: float
               ) -> Tuple[List[ActorState], List[SimEvent]]:
        """States of the actors present at ``t`` and intrusion events that begin now."""
        states: List[ActorState] = []
        events: List[SimEvent] = []
        for a in self.actors:
            pos = a.position(t)
            if pos is None:
                a.intruding = False
                continue
            states.append(ActorState(a.spec.name, a.spec.kind, pos[0], pos[1]))
            d = math.hypot(pos[0] - vehicle_x, pos[1] - vehicle_y)
            if not a.intruding and d <= self.distance:
                a.intruding = True
                events.append(SimEvent(stamp=t, kind='intrusion', item_id=a.spec.name,
                                       item_kind=a.spec.kind, x=pos[0], y=pos[1],
                                       detail=f'{a.spec.kind} {d:.1f} m from the vehicle'))
            elif a.intruding and d > self.distance + _HYSTERESIS_M:
                a.intruding = False
        return states, events
