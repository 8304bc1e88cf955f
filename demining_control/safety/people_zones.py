"""People monitor (pure core): protective zones around the vehicle and the running flail.

In the manner of Nav2's collision monitor, zones are polygons in ``base_link``: a person in the
**stop** polygon stops the vehicle and the rotors, one in the **slow** polygon caps the speed.
While the flail turns (measured speed above ``flail_running_speed_radps``, or no fresh tool
state: assumed turning) a circle of ``flail_safety_distance_m`` + ``flail_stop_margin_m``
around the flail centre is a stop zone too (IMAS 10.20: nobody inside the risk-assessed safety
distance of a working machine; the margin covers detection, confirmation, the supervisor's
period and the rotor run-down at a walking pace). A stop for the flail keeps that circle in
force until the zone is clear, so a stopped flail does not clear the zone by itself.

Detections are confirmed before they count, as a tracker would: a detection within
``association_gate_m`` (+ ``association_gate_per_m`` per metre of range) of a track updates it;
a track counts as a person once it has ``confirm_hits`` hits within ``confirm_window_s`` and is
dropped ``track_timeout_s`` after its last hit. Isolated false alarms therefore never stop the
machine. No people-sensor scan for ``sensor_timeout_s`` is a stop ("people sensor stale").

The output (:class:`demining_bringup.contract.datatypes.PeopleZone`) goes up at once and comes
down only after the lower zone has held for ``clear_hold_s`` (stop -> slow or clear, slow ->
clear): work resumes only after the area has been clear for the hold time.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

from shapely.geometry import Point, Polygon

from demining_bringup.contract import vehicle_params
from demining_bringup.contract.datatypes import PeopleZone, PlanarPoints, ToolState
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract.states import ZoneState

XY = Tuple[float, float]


@dataclasses.dataclass(frozen=True)
class PeopleZoneParams:
    """Parameters of the people monitor (docs/sources.md, section 8)."""

    stop_polygon: List[float] = param(
        [-7.0, -5.0, 9.0, -5.0, 9.0, 5.0, -7.0, 5.0],
        'stop polygon in base_link, x1, y1, x2, y2, ... m (hull, flail and boom + ~4 m)')
    slow_polygon: List[float] = param(
        [-15.0, -12.0, 20.0, -12.0, 20.0, 12.0, -15.0, 12.0],
        'slow-down polygon in base_link, x1, y1, x2, y2, ... m')
    flail_safety_distance_m: float = param(
        50.0, 'work safety distance around the running flail, m (IMAS 10.20: set by risk '
        'assessment; 50 m is our default, docs/sources.md section 8)', min=0.0, max=1000.0)
    flail_stop_margin_m: float = param(
        10.0, 'the flail stops when a person is this much farther than the safety distance, m '
        '(walking 1.5 m/s x detection, confirmation and ~1.5 s run-down, with reserve)',
        min=0.0, max=200.0)
    flail_running_speed_radps: float = param(
        2.0, 'the flail counts as running above this measured speed, rad/s', min=0.0,
        max=100.0)
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    tool_state_timeout_s: float = param(0.5, 'tool state older than this: flail assumed '
                                        'running, s', min=0.05, max=60.0)
    clear_hold_s: float = param(5.0, 'a lower zone must hold this long before the output '
                                'comes down (stop -> clear: work resumes), s', min=0.0,
                                max=600.0)
    sensor_timeout_s: float = param(0.5, 'no people-sensor scan for this long is a stop, s',
                                    min=0.05, max=60.0)
    confirm_hits: int = param(3, 'hits a track needs within confirm_window_s to count',
                              min=1, max=100)
    confirm_window_s: float = param(0.5, 'window of the confirmation, s', min=0.0, max=60.0)
    track_timeout_s: float = param(1.0, 'a track is dropped this long after its last hit, s',
                                   min=0.05, max=60.0)
    association_gate_m: float = param(3.0, 'a detection this close to a track updates it, m',
                                      min=0.1, max=50.0)
    association_gate_per_m: float = param(0.05, 'extra gate per metre of range, m/m', min=0.0,
                                          max=1.0)

    def __post_init__(self) -> None:
        """Check the polygons."""
        for name in ('stop_polygon', 'slow_polygon'):
            polygon_of(getattr(self, name), name)


def polygon_of(flat: Sequence[float], name: str = 'polygon') -> Polygon:
    """A shapely polygon from ``[x1, y1, x2, y2, ...]``; ParamError when it is no polygon."""
    vals = [float(v) for v in flat]
    if len(vals) < 6 or len(vals) % 2:
        raise ParamError(f'{name}: needs at least 3 points as x1, y1, x2, y2, ... '
                         f'({len(vals)} values)')
    poly = Polygon(list(zip(vals[0::2], vals[1::2])))
    if not poly.is_valid or poly.area <= 0.0:
        raise ParamError(f'{name}: not a simple polygon with an area')
    return poly


@dataclasses.dataclass
class Track:
    """A confirmed-or-not person candidate in base_link."""

    x: float
    y: float
    hits: List[float]
    last: float
    #: Once confirmed, a track counts until it is dropped (it may miss a few scans).
    confirmed: bool = False

    def hit(self, x: float, y: float, t: float, p: PeopleZoneParams) -> None:
        """Update with a detection at ``t``; confirm on enough hits within the window."""
        self.x, self.y, self.last = x, y, t
        self.hits = [h for h in self.hits if t - h <= p.confirm_window_s + 1e-9] + [t]
        if len(self.hits) >= p.confirm_hits:
            self.confirmed = True


class PeopleZones:
    """The zone logic (see the module docstring)."""

    def __init__(self, params: Optional[PeopleZoneParams] = None) -> None:
        """Start in STOP ("waiting for the people sensor") until a scan arrives."""
        self.configure(params or PeopleZoneParams())
        self.tracks: List[Track] = []
        self.scan_stamp: Optional[float] = None
        self.tool_state: Optional[ToolState] = None
        self.tool_stamp: Optional[float] = None
        self.zone = ZoneState.STOP
        self.reason = 'people zone stop: waiting for the people sensor'
        self.nearest_m = math.inf
        self._lower_since: Optional[float] = None
        self._flail_latched = False
        #: Every output change: {'stamp', 'zone', 'reason'}.
        self.transitions: List[dict] = []

    def configure(self, params: PeopleZoneParams) -> None:
        """Set the parameters (polygons rebuilt)."""
        self.params = params
        self._stop = polygon_of(params.stop_polygon, 'stop_polygon')
        self._slow = polygon_of(params.slow_polygon, 'slow_polygon')

    # -- inputs ----------------------------------------------------------------------------

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """The measured tool state (whether the flail turns)."""
        self.tool_state, self.tool_stamp = ts, now

    def on_scan(self, scan: PlanarPoints, now: float) -> None:
        """One people-sensor scan (base_link): associate, start and drop tracks."""
        p = self.params
        t = now
        self.scan_stamp = now
        free = list(self.tracks)
        for x, y in scan.points:
            gate = p.association_gate_m + p.association_gate_per_m * math.hypot(x, y)
            best, best_d = None, gate
            for tr in free:
                d = math.hypot(tr.x - x, tr.y - y)
                if d <= best_d:
                    best, best_d = tr, d
            if best is None:
                track = Track(x, y, [], t)
                track.hit(x, y, t, p)
                self.tracks.append(track)
            else:
                free.remove(best)
                best.hit(x, y, t, p)
        self.tracks = [tr for tr in self.tracks if t - tr.last <= p.track_timeout_s]

    # -- evaluation ------------------------------------------------------------------------

    def flail_running(self, now: float) -> bool:
        """Measured flail speed above the threshold; True when the tool state is stale."""
        ts = self.tool_state
        if ts is None or self.tool_stamp is None or \
                now - self.tool_stamp > self.params.tool_state_timeout_s:
            return True
        return not math.isfinite(ts.flail_speed) or \
            ts.flail_speed > self.params.flail_running_speed_radps

    def people(self, now: float) -> List[XY]:
        """Confirmed people (base_link) at ``now``."""
        p = self.params
        return [(tr.x, tr.y) for tr in self.tracks
                if now - tr.last <= p.track_timeout_s and tr.confirmed]

    def raw_zone(self, now: float) -> Tuple[ZoneState, str, float, int]:
        """The zone from the current inputs alone (no hold): (zone, reason, nearest, count)."""
        p = self.params
        people = self.people(now)
        nearest = min((math.hypot(x, y) for x, y in people), default=math.inf)
        if self.scan_stamp is None or now - self.scan_stamp > p.sensor_timeout_s:
            return ZoneState.STOP, 'people zone stop: people sensor stale', nearest, len(people)
        flail_zone = self.flail_running(now) or self._flail_latched
        radius = p.flail_safety_distance_m + p.flail_stop_margin_m
        for x, y in sorted(people, key=lambda q: math.hypot(*q)):
            if self._stop.covers(Point(x, y)):
                return (ZoneState.STOP, f'people zone stop: person {math.hypot(x, y):.1f} m '
                        'from the vehicle, in the stop polygon', nearest, len(people))
        if flail_zone:
            for x, y in people:
                d = math.hypot(x - p.tool_offset_x_m, y)
                if d <= radius:
                    return (ZoneState.STOP, f'people zone stop: person {d:.1f} m from the '
                            'flail, inside the work safety distance '
                            f'({p.flail_safety_distance_m:g} m + {p.flail_stop_margin_m:g} m '
                            'margin)', nearest, len(people))
        for x, y in people:
            if self._slow.covers(Point(x, y)):
                return (ZoneState.SLOW, f'people zone slow: person {math.hypot(x, y):.1f} m '
                        'from the vehicle, in the slow-down polygon', nearest, len(people))
        return ZoneState.CLEAR, 'people zone clear', nearest, len(people)

    def update(self, now: float) -> PeopleZone:
        """Judge at ``now``: up at once, down after ``clear_hold_s``; return the verdict."""
        zone, reason, nearest, count = self.raw_zone(now)
        self.nearest_m = nearest
        if zone.level >= self.zone.level:
            self._lower_since = None
            if zone is ZoneState.STOP and self.flail_running(now):
                # the work safety distance stays in force until the zone is clear
                self._flail_latched = True
            self._set(zone, reason, now)
        else:
            if self._lower_since is None:
                self._lower_since = now
            held = now - self._lower_since
            if held + 1e-9 >= self.params.clear_hold_s:
                self._lower_since = None
                self._flail_latched = False
                self._set(zone, f'{reason} for {self.params.clear_hold_s:g} s', now)
        return PeopleZone(now, self.zone.value, self.reason, nearest, count)

    def _set(self, zone: ZoneState, reason: str, now: float) -> None:
        changed = zone is not self.zone
        self.zone, self.reason = zone, reason
        if changed:
            self.transitions.append({'stamp': float(now), 'zone': zone.value, 'reason': reason})
            del self.transitions[:-10_000]


__all__ = ['PeopleZoneParams', 'PeopleZones', 'Track', 'polygon_of']
