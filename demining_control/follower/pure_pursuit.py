"""Path follower for a skid-steer vehicle: pure pursuit between corners, pivots at corners.

ros2_control style: :meth:`PathFollower.configure` takes the parameters, :meth:`set_path` the
waypoints, :meth:`update` a vehicle state and returns a :class:`Twist2D`.

Why corners are special: lanes overlap by only 0.2 m, so cutting into the next lane or leaving a
lane at an angle would leave strips unprocessed. The follower therefore treats every waypoint
where the path turns by more than ``corner_angle_rad`` as a stop: the lookahead point never turns
the corner (it runs on along the leg's line, so the heading holds up to it), the vehicle slows
down before it (and before the start of a work leg, where the tool
lowers), never faster than covers the way there in ``keep_out_horizon_s`` (the time over which
the safety supervisor places a command's footprint: a faster command would overrun the corner
in its judgement and be refused near a keep-out zone), must reach it within
``corner_tolerance_m``, no more than ``pivot_reach_m`` short of it along the leg (the planner
judged the pivot's sweep at the corner point), and then pivots in place (skid steer) until
it faces the next leg (hysteresis: start pivoting above ``pivot_threshold_rad``, stop below
``pivot_exit_rad``), never faster than turns to that heading in ``keep_out_horizon_s`` either
(the supervisor swings the footprint on as far as the command would turn it). Where the path
retraces itself (a turn sharper than ``reverse_turn_rad``: backing out of a lane that ends at
an exclusion zone) the vehicle does not pivot (that would swing the tool into the zone and the
tracks over unprocessed ground) but reverses up to the next corner. Progress along the path is
a monotonic index searched in a window ahead, so the follower can never skip a lane when two
lanes pass close.

On work legs the lookahead is long (``work_lookahead_m``: gentle corrections keep the flail
inside the boom's swath) except where the path bends: there it shortens until the path within
it keeps within ``bend_tolerance_m`` of a straight line, so arcs and passes round a no-go zone
are not cut towards what they pass.

Work legs are driven at no more than :attr:`PathFollower.speed_limit_mps`, the tool
controller's governed speed (the required depth and strike density for the measured soil,
/tool/speed_limit); :attr:`PathFollower.leg` says how the current leg is driven (work, transit,
reverse), so the tool is down on work legs only.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from typing import Optional, Sequence, Set, Tuple

import numpy as np

from demining_bringup.contract.datatypes import Twist2D, VehicleState
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params
from demining_bringup.contract.states import FollowerStatus, LegKind

_EPS = 1e-9
#: Segments whose projections lie this close count as equally near: the first is kept, m.
_SAME_DISTANCE_M = 1e-6
#: A corner whose turn is below ``pivot_threshold_rad`` (driven as an arc) counts as reached
#: when the machine passes abreast of it within this distance beside it, m (about the tool's
#: half width: farther off, the machine is off its strip and drives to the corner point).
_SOFT_CORNER_OFFSET_M = 1.0
#: The work lookahead is shortened in steps of this much where the path ahead bends, m
#: (``bend_tolerance_m``): a few tries a tick, only where a bend lies ahead.
_LOOKAHEAD_STEP_M = 0.5


@dataclasses.dataclass(frozen=True)
class FollowerParams:
    """Parameters of the path follower."""

    working_speed_mps: float = vehicle_params.working_speed_mps()
    transit_speed_mps: float = param(0.8, 'speed on transit legs, m/s', min=0.01, max=5.0)
    min_speed_mps: float = param(0.15, 'lowest speed when slowing down before a corner, m/s',
                                 min=0.01, max=5.0)
    lookahead_m: float = param(1.5, 'pure-pursuit lookahead distance, m', min=0.2, max=20.0)
    # The sensor boom runs 1.4 m ahead of the flail (config/vehicles/mv4_flail.yaml): a heading
    # error e turns the boom's swath against the flail's strip by 1.4 e at the same ground, so
    # a quick correction of a small offset makes the flail process ground the boom never
    # scanned (bench/missions.py gen_at_uxo_lanes: 0.1 rad after a corner put the boom 0.28 m
    # aside and the flail onto a TM-62P at the swath's edge). A lookahead about the boom's
    # distance ahead keeps work-leg corrections below ~0.04 rad for the corner tolerance.
    work_lookahead_m: float = param(4.0, 'pure-pursuit lookahead on work legs, m (gentle '
                                    'corrections keep the flail inside the boom\'s swath)',
                                    min=0.2, max=20.0)
    # The work lookahead runs on round corners driven as arcs and round bends below
    # corner_angle_rad, and pure pursuit cuts a bend by about a quarter of the lookahead times
    # its turn: 0.34 m inside a 0.45 rad corner, 0.3-0.6 m inside a re-plan's pass round a
    # no-go zone (0.36-0.4 rad every 1.6-2.2 m), towards the zone the pass keeps clear of (the
    # planner judges the footprint on the path itself; bench/missions.py gen_people seed 64:
    # a pin beside an AT zone). Where the path within the lookahead, behind and ahead, strays
    # farther than this from the straight line between its ends, the lookahead is shortened
    # until it does not, down to lookahead_m (:meth:`PathFollower._work_lookahead`): on a
    # straight leg it stays work_lookahead_m.
    bend_tolerance_m: float = param(0.1, 'largest distance of the path within the work '
                                    'lookahead (behind and ahead) from the line between its '
                                    'ends; a path bending farther shortens the lookahead '
                                    '(down to lookahead_m), m', min=0.01, max=2.0)
    slowdown_distance_m: float = param(1.0, 'start slowing down this far before a corner, m',
                                       min=0.0, max=50.0)
    corner_angle_rad: float = vehicle_params.corner_angle_rad()
    corner_tolerance_m: float = param(0.15, 'distance at which a corner counts as reached, m',
                                      min=0.01, max=2.0)
    # The coverage planner judges a pivot's sweep at the corner point: its footprint keeps
    # clear of the keep-out zones there, the rear by as little as a few centimetres. Pivoted
    # corner_tolerance_m short of it on the leg into it, the hull's rear swung 0.15 m nearer
    # the zone behind (bench/missions.py gen_at_uxo_lanes seed 65: a run-in's pivot planned
    # 5 cm clear of a TM-62M's no-go zone was refused, and every re-plan pinned the machine
    # again until the mission was aborted). Past the point the front nears what lies ahead,
    # where the planner keeps STOP_MARGIN_M.
    pivot_reach_m: float = param(0.02, 'a corner the machine pivots at is reached no more than '
                                 'this short of its point along the leg into it (and within '
                                 'corner_tolerance_m of it), m', min=0.005, max=2.0)
    pivot_threshold_rad: float = vehicle_params.pivot_threshold_rad()
    pivot_exit_rad: float = param(0.03, 'heading error that ends a pivot, rad', min=0.001,
                                  max=1.0)
    pivot_gain: float = param(1.5, 'yaw rate per rad of heading error while pivoting, 1/s',
                              min=0.1, max=20.0)
    max_yaw_rate: float = param(0.4, 'largest commanded yaw rate, rad/s', min=0.01, max=5.0)
    keep_out_horizon_s: float = vehicle_params.keep_out_horizon_s()
    goal_tolerance_m: float = param(0.3, 'distance to the last waypoint that ends the path, m',
                                    min=0.01, max=5.0)
    reverse_turn_rad: float = vehicle_params.reverse_turn_rad()
    reverse_speed_mps: float = param(0.3, 'speed when backing out along a processed lane, m/s',
                                     min=0.01, max=2.0)
    search_window_m: float = param(5.0, 'how far ahead of the current progress the nearest '
                                   'path point is searched, m', min=0.5, max=100.0)

    def __post_init__(self) -> None:
        """Cross-field checks."""
        if self.pivot_exit_rad >= self.pivot_threshold_rad:
            raise ParamError('pivot_exit_rad must be below pivot_threshold_rad')
        if self.min_speed_mps > self.working_speed_mps:
            raise ParamError('min_speed_mps must not exceed working_speed_mps')
        if self.pivot_reach_m > self.corner_tolerance_m:
            raise ParamError('pivot_reach_m must not exceed corner_tolerance_m')


def _wrap(a: float) -> float:
    return math.atan2(math.sin(a), math.cos(a))


class PathFollower:
    """Pure pursuit with pivot turns and monotonic progress (see the module docstring)."""

    def __init__(self, params: Optional[FollowerParams] = None) -> None:
        """Create an idle follower; :meth:`configure` may be called again later."""
        self.configure(params or FollowerParams())
        #: Forward speed limit on work legs from the tool (None: none known), m/s.
        self.speed_limit_mps: Optional[float] = None
        #: Corners rolled past and reversed to so far, and the last overrun, m.
        self.corner_returns = 0
        self.last_overrun_m = 0.0
        self.clear()

    def configure(self, params: FollowerParams) -> None:
        """Set the parameters (keeps the path and progress)."""
        self.params = params

    def clear(self) -> None:
        """Forget the path (status ``idle``)."""
        self._xy = np.zeros((0, 2))
        self._work = np.zeros(0, dtype=bool)
        self._s = np.zeros(0)
        self._corners = np.zeros(0, dtype=int)
        self._reverse = np.zeros(0, dtype=bool)
        self._lists()
        self._seg = 0
        self._kept: Optional[np.ndarray] = None     # indices of set_path's poses kept
        self._raw_n = 0                             # and how many it was given
        self._pivoting = False
        #: The corner whose point the machine aims at, once it came abreast of it beside the
        #: leg (:meth:`_target`), or -1.
        self._corner_aim = -1
        self._soft: Set[int] = set()
        self.status = FollowerStatus.IDLE
        self.cross_track_m = 0.0
        self.heading_error_rad = 0.0

    def set_path(self, xy: np.ndarray, work: Optional[Sequence[bool]] = None) -> None:
        """Start following ``xy``; ``work[i]`` marks the leg i -> i+1 as a work leg.

        ``xy`` is N x 2 positions, or N x 3 positions and the machine's facing on the leg from
        each (the planner's: a facing opposite to the leg's direction means that leg is driven
        in reverse). Without facings, a run that retraces the path (a turn sharper than
        ``reverse_turn_rad``) is driven in reverse. Consecutive duplicate points are dropped.
        A path of fewer than two distinct points is ``done`` at once. Non-finite points raise
        ValueError.
        """
        xy = np.asarray(xy, dtype=float)
        facing = xy[:, 2] if xy.ndim == 2 and xy.shape[1] == 3 else None
        xy = xy[:, :2] if facing is not None else xy.reshape(-1, 2)
        if not np.isfinite(xy).all() or (facing is not None and not np.isfinite(facing).all()):
            raise ValueError('path has non-finite points')
        w = (np.ones(len(xy), dtype=bool) if work is None
             else np.asarray(work, dtype=bool).reshape(-1))
        if len(w) != len(xy):
            raise ValueError('work flags and waypoints differ in length')
        self.clear()
        keep = np.ones(len(xy), dtype=bool)
        if len(xy):
            keep[1:] = np.hypot(*np.diff(xy, axis=0).T) > 1e-6
            xy, w = xy[keep], w[keep]
            facing = facing[keep] if facing is not None else None
        self._xy, self._work = xy, w
        self._kept, self._raw_n = np.flatnonzero(keep), len(keep)
        if len(xy) < 2:
            self.status = FollowerStatus.DONE if len(xy) else FollowerStatus.IDLE
            return
        d = np.diff(xy, axis=0)
        self._s = np.concatenate([[0.0], np.cumsum(np.hypot(d[:, 0], d[:, 1]))])
        heading = np.arctan2(d[:, 1], d[:, 0])
        turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
        corners = np.nonzero(turn > self.params.corner_angle_rad)[0] + 1
        self._corners = np.concatenate([corners, [len(xy) - 1]]).astype(int)
        #: corners driven as an arc (a turn below the pivot threshold): passed, not aimed at
        self._soft = {int(c) for c in corners if turn[c - 1] <= self.params.pivot_threshold_rad}
        self._heading = heading
        self._reverse = np.zeros(len(heading), dtype=bool)
        if facing is not None:
            # the planner says how each leg is driven: facing against the leg is reverse
            self._reverse = np.abs(np.angle(np.exp(1j * (facing[:-1] - heading)))) > 0.5 * math.pi
        else:
            # a run from a corner that retraces the path to the next corner is driven in reverse
            bounds = list(self._corners)
            for c, nxt in zip(bounds[:-1], bounds[1:]):
                if turn[c - 1] > self.params.reverse_turn_rad:
                    self._reverse[c:nxt] = True
        self._lists()
        self.status = FollowerStatus.FOLLOWING

    def _lists(self) -> None:
        """The path's points, arc lengths and corners as python lists, for the control tick.

        The tick's progress search works on a few segments: on python floats it is the same
        arithmetic as on arrays (test_pure_pursuit.py holds it to them), without numpy's
        per-call overhead on tiny arrays.
        """
        self._xy_list = self._xy.tolist()
        self._s_list = self._s.tolist()
        self._corner_list = self._corners.tolist()
        self._heading_list = self._heading.tolist() if len(self._xy) > 1 else []
        self._reverse_list = self._reverse.tolist()

    def set_work(self, work: Sequence[bool]) -> bool:
        """Replace the work flags of the path given to :meth:`set_path` (one per pose it had),
        keeping the progress; False (flags unchanged) when they do not fit that path."""
        w = np.asarray(work, dtype=bool).reshape(-1)
        if self._kept is None or len(w) != self._raw_n:
            return False
        self._work = w[self._kept]
        return True

    def work_current_leg(self) -> bool:
        """Make the forward transit being driven a work leg up to its next corner (the tool
        goes down); False when not on a forward transit."""
        if self.leg is not LegKind.TRANSIT:
            return False
        seg = min(self._seg, len(self._work) - 1)
        self._work = self._work.copy()
        self._work[seg:max(self._next_corner(), seg + 1)] = True
        return True

    def back_up(self, x: float, y: float, yaw: float, distance_m: float) -> bool:
        """Insert a back-up of ``distance_m`` and the return to here before the rest of the path.

        For a work leg interrupted by a stop that lifted the tool while the machine rolled on:
        the strip the tool skipped lies behind it, and the tracks may not roll over it (allowed
        ground). Backing up on the ground the tracks came over lets the tool, lowered again,
        process the strip before the tracks reach it. Returns False (path unchanged) when not
        following a forward work leg.
        """
        if (self.status is not FollowerStatus.FOLLOWING or not self.on_work_leg
                or self._reverse[min(self._seg, len(self._reverse) - 1)]
                or not all(math.isfinite(v) for v in (x, y, yaw, distance_m))
                or distance_m <= 0.0):
            return False
        seg = self._seg
        here = np.array([[x, y]])
        back = here - distance_m * np.array([[math.cos(yaw), math.sin(yaw)]])
        rest = self._xy[seg + 1:]
        facing = np.where(self._reverse, self._heading + math.pi, self._heading)[seg:]
        xy = np.vstack([here, back, here, rest])
        yaws = np.concatenate([[yaw, yaw, facing[0]], facing[1:], [facing[-1]]])
        work = np.concatenate([[True, True, True], self._work[seg + 1:]])
        return self._reroute(xy, yaws, work)

    @property
    def progress_index(self) -> int:
        """Index of the path segment the vehicle is on (monotonic)."""
        return self._seg

    @property
    def on_work_leg(self) -> bool:
        """Whether the current segment is a work leg."""
        return bool(len(self._work) and self._work[min(self._seg, len(self._work) - 1)])

    @property
    def leg(self) -> LegKind:
        """How the current leg is driven (the tool is down on work legs only, and not while
        the vehicle pivots onto one)."""
        if self.status is not FollowerStatus.FOLLOWING or len(self._reverse) == 0:
            return LegKind.NONE
        if self._pivoting:
            return LegKind.PIVOT
        seg = min(self._seg, len(self._reverse) - 1)
        if self._reverse[seg]:
            return LegKind.REVERSE
        return LegKind.WORK if self.on_work_leg else LegKind.TRANSIT

    def _next_corner(self) -> int:
        corners = self._corner_list
        return corners[min(bisect.bisect_left(corners, self._seg + 1), len(corners) - 1)]

    def _next_work_start(self) -> float:
        """Arc length of the next work leg's start ahead of a transit (inf: none, or on one).

        A work leg is entered slowly, as a corner is: the tool lowers on it, and the
        supervisor's interlock holds the machine only once the tool line is over the field.
        Entered at the transit speed, the braking (0.8 m/s at 0.5 m/s^2: 0.64 m) carried the
        raised tool past a run-in whose lowering came late (a rotor spinning up again after a
        command gap on a loaded machine) and left the field's first 0.2-0.5 m unprocessed.
        """
        if self.on_work_leg:
            return math.inf
        ahead = np.flatnonzero(self._work[self._seg:len(self._s) - 1])
        return float(self._s[self._seg + ahead[0]]) if len(ahead) else math.inf

    def _return_to_corner(self, p: np.ndarray, yaw: float) -> bool:
        """Before a pivot at a corner the machine rolled past: reverse to the corner first.

        A pivot where the machine stands after overrunning the corner starts the next lane as
        far off its line as the overrun: lanes overlap by 0.2 m, and the gentle work-leg
        correction (``work_lookahead_m``) takes metres, so the overrun is a strip left
        unprocessed. Actuator and control lag cause it (a loaded machine's DDS run: 0.25 m at
        0.3-0.6 s of lag after a transit at 0.8 m/s). The machine backs straight up on the
        ground its tracks just came over, tool raised, and pivots at the corner. The overrun
        shows while the pivot begins (the machine still rolls when it is commanded): it is
        judged until the machine has turned ``pivot_threshold_rad`` off the incoming leg, so
        the reverse needs no pivot back. Once per corner: a corner reached in reverse is not
        returned to again. Returns whether the path was changed.
        """
        c = self._seg
        if c == 0 or c not in self._corners or self._reverse[c - 1]:
            return False
        h = float(self._heading[c - 1])
        if abs(_wrap(yaw - h)) >= self.params.pivot_threshold_rad:
            return False
        off = p - self._xy[c]
        along = float(off @ np.array([math.cos(h), math.sin(h)]))
        if along <= self.params.corner_tolerance_m:
            return False
        self.corner_returns += 1
        self.last_overrun_m = along
        facing = np.where(self._reverse, self._heading + math.pi, self._heading)
        xy = np.vstack([p, self._xy[c:]])
        yaws = np.concatenate([[h], facing[c:], [facing[-1]]])
        work = np.concatenate([[False], self._work[c:]])
        return self._reroute(xy, yaws, work)

    def _reroute(self, xy: np.ndarray, yaws: np.ndarray, work: np.ndarray) -> bool:
        """Follow a path of the follower's own making; whether it is being followed."""
        self.set_path(np.column_stack([xy, yaws]), work)
        self._kept = None           # another path now: flags for the old one do not fit
        return self.status is FollowerStatus.FOLLOWING

    def _projection(self, px: float, py: float, seg: int) -> Tuple[float, float]:
        """(distance, arc length) of the point's projection onto segment ``seg``.

        Python floats: the 2-vector dot products summed as numpy sums them, numpy's hypot
        (math's differs in the last bit).
        """
        xy = self._xy_list
        (ax, ay), (bx, by) = xy[seg], xy[seg + 1]
        abx, aby = bx - ax, by - ay
        L2 = abx * abx + aby * aby
        t = 0.0
        if L2 > _EPS:
            t = ((px - ax) * abx + (py - ay) * aby) / L2
            t = 0.0 if t < 0.0 else (1.0 if t > 1.0 else t)
        return (float(np.hypot(px - (ax + t * abx), py - (ay + t * aby))),
                self._s_list[seg] + t * math.sqrt(L2))

    def _advance(self, p: np.ndarray, yaw: Optional[float] = None) -> float:
        """Move the progress index forward (never past the next corner); return arc length.
        ``yaw``: the machine's heading (None: taken as facing along the leg)."""
        px, py = float(p[0]), float(p[1])
        corner = self._next_corner()
        # the corner must be reached before the progress may pass it
        if self._seg + 1 == corner and corner < len(self._xy_list) - 1 and (
                self._reached(px, py, corner, yaw) or self._passed_soft(px, py, corner)):
            self._seg = corner
            corner = self._next_corner()
        # the window starts where the vehicle is along its segment (not at the segment's
        # start, which a lane longer than the window never leaves); that projection is also
        # the search's first candidate
        best_k = self._seg
        best_d, best_arc = self._projection(px, py, best_k)
        s_limit = best_arc + self.params.search_window_m
        # the segments from here to the corner that start within the window (the arc length
        # grows along the path); the nearest wins, the first of those within a micrometre
        last = max(best_k + 1, bisect.bisect_right(self._s_list, s_limit, 0, corner))
        for k in range(best_k + 1, last):
            d, arc = self._projection(px, py, k)
            if d < best_d - _SAME_DISTANCE_M:
                best_d, best_k, best_arc = d, k, arc
        self._seg = best_k
        self.cross_track_m = best_d
        return best_arc

    def _short_of(self, px: float, py: float, corner: int) -> Tuple[float, float]:
        """(how far ``corner`` lies ahead along the leg into it, how far the point is beside
        that leg's line), m (:meth:`set_path` keeps no leg of no length)."""
        ax, ay = self._xy_list[corner - 1]
        bx, by = self._xy_list[corner]
        length = math.hypot(bx - ax, by - ay)
        if length <= _EPS:
            return 0.0, 0.0
        ux, uy = (bx - ax) / length, (by - ay) / length
        return (bx - px) * ux + (by - py) * uy, abs((px - bx) * uy - (py - by) * ux)

    def _reached(self, px: float, py: float, corner: int, yaw: Optional[float]) -> bool:
        """Whether the machine reached ``corner``: within ``corner_tolerance_m`` of its point
        and, where it pivots there, no more than ``pivot_reach_m`` short of it along the leg
        (the planner judged the pivot's sweep at the point: :class:`FollowerParams`).

        Not along a leg the machine (heading ``yaw``) would have to pivot onto first: one
        shorter than the tolerance, its direction a few centimetres of the pose's noise. A way
        back along the driven trail began with a 0.1 m leg 0.58 rad off the machine's heading
        (a pose correction); driven, the follower pivoted onto it and then back, a sweep no
        one had judged, into a TM-62M's no-go zone (bench/missions.py gen_at_uxo_lanes seed
        65, pinned). Such a leg is passed as before: the corner is reached within the
        tolerance.
        """
        cx, cy = self._xy_list[corner]
        if np.hypot(px - cx, py - cy) > self.params.corner_tolerance_m:
            return False
        if corner in self._soft or \
                self._short_of(px, py, corner)[0] <= self.params.pivot_reach_m:
            return True
        if yaw is None:
            return False
        leg = corner - 1
        facing = self._heading_list[leg] + (math.pi if self._reverse_list[leg] else 0.0)
        return abs(_wrap(facing - yaw)) > self.params.pivot_threshold_rad

    def _passed_soft(self, px: float, py: float, corner: int) -> bool:
        """Whether the machine came abreast of ``corner``, one driven as an arc, within
        :data:`_SOFT_CORNER_OFFSET_M` beside it.

        The follower does not pivot at a turn below ``pivot_threshold_rad``: with the gentle
        work-leg lookahead it drifts to the inside of a run of such corners (a re-plan's pass
        round a no-go zone, 0.39-0.40 rad every 1-2 m: 0.41 m) and missed the next one by more
        than ``corner_tolerance_m``. Driving back to a missed corner's point was a pivot of
        1.46 rad whose tracks swept 2.1 m out over ground no sensor had passed over and set
        off a TM-62P (bench/missions.py gen_at_uxo_lanes seed 2 at 5e078c9); passed, the
        corner is taken as reached and the machine steers on along the next leg.
        """
        if corner not in self._soft:
            return False
        short, beside = self._short_of(px, py, corner)
        return short <= 0.5 * self.params.corner_tolerance_m and beside <= _SOFT_CORNER_OFFSET_M

    def _point_at(self, s: float) -> Tuple[float, float]:
        """The path's point at arc length ``s`` (clamped to its first and last segment).

        Python floats (:meth:`_lists`): the same arithmetic as on the arrays, element by
        element, and ``bisect_left`` is ``np.searchsorted``'s left side; called up to a dozen
        times a control tick.
        """
        s_list = self._s_list
        i = min(max(bisect.bisect_left(s_list, s) - 1, 0), len(s_list) - 2)
        seg_len = s_list[i + 1] - s_list[i]
        t = (s - s_list[i]) / seg_len if seg_len > _EPS else 0.0
        (ax, ay), (bx, by) = self._xy_list[i], self._xy_list[i + 1]
        return ax + t * (bx - ax), ay + t * (by - ay)

    def _stop_from(self, corner: int) -> int:
        """The first corner from ``corner`` on that stops the lookahead point: corners driven
        as arcs do not (it runs on round them along the path, so the machine cuts each a
        little instead of drifting off a run of them); the corner aimed at, a pivoted corner
        and the path's end do."""
        last = len(self._xy_list) - 1
        while corner in self._soft and corner < last and self._corner_aim != corner:
            corner = self._corner_list[bisect.bisect_right(self._corner_list, corner)]
        return corner

    def _target(self, p: np.ndarray, s: float, lookahead: float,
                corner: int) -> Sequence[float]:
        """The lookahead point: ``lookahead`` along the path, never past the next corner's
        stop, but on the line of the leg into it while the machine is still short of it.

        Clamped at the corner point itself, the point would come ever closer as the machine
        does, and the last metres would turn a few centimetres of cross-track error into a
        heading swing: 8 cm 1.5 m before a corner swung 0.1 rad. The tracks run 4 m behind
        the flail and only 2.5 cm inside its strip's edges (config/vehicles/mv4_flail.yaml),
        so such a swing puts a track on ground the flail passed beside (bench/missions.py
        gen_at_uxo_lanes seed 2: a TM-62P 10 cm outside the strip, under the right track at
        the corner). On the leg's line the correction stays as gentle as on the leg; the
        corner is reached when the machine passes within ``corner_tolerance_m`` of it (at a
        pivot, no more than ``pivot_reach_m`` short of it along the leg). Past
        it without having reached it (farther off the leg than that), the corner point is
        the aim, as it always was, and stays the aim until the corner is reached: the pose's
        noise moves a machine standing abreast of the corner back and forth across that
        line, and the aim swung between the corner point beside it and the leg's line ahead
        (1.1 rad apart 0.23 m off the leg), each swing a pivot the other way (bench/missions.py
        gen_slope: 750 s of pivots on the spot, the transit held by the interlock between).
        """
        corner = self._stop_from(corner)
        if self._corner_aim == corner:
            return self._xy_list[corner]
        if s + lookahead <= self._s_list[corner]:
            return self._point_at(s + lookahead)
        a, b = self._xy[corner - 1], self._xy[corner]
        along = b - a
        length = float(np.hypot(*along))
        if length <= _EPS:
            return self._xy_list[corner]
        u = along / length
        short = float((b - p) @ u)          # how far the corner still lies ahead
        # abreast of it: nearer, a machine within the tolerance beside the leg would turn to
        # the point before it reached the corner (:meth:`_reached`)
        if short <= min(0.5 * self.params.corner_tolerance_m, self.params.pivot_reach_m):
            self._corner_aim = corner
            return self._xy_list[corner]
        return (b + (lookahead - short) * u).tolist()

    def _work_lookahead(self, s: float, corner: int) -> float:
        """The lookahead on a work leg at arc length ``s``: ``work_lookahead_m``, shortened in
        steps of :data:`_LOOKAHEAD_STEP_M` (down to ``lookahead_m``) while the path within the
        lookahead behind and ahead strays more than ``bend_tolerance_m`` from the straight line
        between its ends (:class:`FollowerParams`).

        Ahead, the path runs to :meth:`_target`'s lookahead point (on round corners driven as
        arcs, along the leg into the next pivoted corner); behind, back to the last corner
        pivoted at (the pivot turned the machine onto the leg). Pure pursuit answers a bend
        over about a lookahead on either side: it turns a lookahead before it and, the bend
        behind, closes the heading it lags by over a lookahead more (0.25 m outside the
        leg after a 0.45 rad corner with the work lookahead back at once).
        """
        pr = self.params
        corner = self._stop_from(corner)
        if self._corner_aim == corner:
            return pr.work_lookahead_m
        s_stop = self._s_list[corner]
        k = bisect.bisect_left(self._corner_list, self._seg + 1) - 1
        while k >= 0 and self._corner_list[k] in self._soft:
            k -= 1
        s_pivot = self._s_list[self._corner_list[k]] if k >= 0 else 0.0
        # the path's points strictly inside the longest window (python floats, as in
        # :meth:`_projection`: the arrays' arithmetic element by element, every control tick)
        lo = bisect.bisect_right(self._s_list, max(s - pr.work_lookahead_m, s_pivot))
        hi = bisect.bisect_left(self._s_list, min(s + pr.work_lookahead_m, s_stop), lo)
        if hi <= lo:
            return pr.work_lookahead_m
        points = list(zip(self._s_list[lo:hi], self._xy_list[lo:hi]))
        (ax, ay), (stop_x, stop_y) = self._xy_list[corner - 1], self._xy_list[corner]
        ux, uy = stop_x - ax, stop_y - ay
        norm = max(float(np.hypot(ux, uy)), _EPS)
        ux, uy = ux / norm, uy / norm
        lookahead = pr.work_lookahead_m
        while lookahead > pr.lookahead_m:
            s_from, s_to = max(s - lookahead, s_pivot), s + lookahead
            x0, y0 = self._point_at(s_from)
            if s_to <= s_stop:
                x1, y1 = self._point_at(s_to)
            else:
                x1, y1 = stop_x + (s_to - s_stop) * ux, stop_y + (s_to - s_stop) * uy
            cx, cy = x1 - x0, y1 - y0
            length = float(np.hypot(cx, cy))
            inside = [(x - x0, y - y0) for arc, (x, y) in points if s_from < arc < s_to]
            if length <= _EPS or not inside:
                break
            # each point's distance compared, not their maximum's: a NaN fails as numpy's
            # maximum of them did
            if all(abs(ix * cy - iy * cx) / length <= pr.bend_tolerance_m
                   for ix, iy in inside):
                break
            lookahead = max(lookahead - _LOOKAHEAD_STEP_M, pr.lookahead_m)
        return lookahead

    def update(self, state: VehicleState, dt: float) -> Twist2D:
        """Return the velocity command for ``state``; zero when idle, done or on bad input."""
        del dt  # the law is static; dt is part of the controller interface
        pr = self.params
        if self.status is not FollowerStatus.FOLLOWING:
            return Twist2D()
        if not all(math.isfinite(v) for v in (state.x, state.y, state.yaw)):
            return Twist2D()
        p = np.array([state.x, state.y])
        px, py = float(p[0]), float(p[1])
        s = self._advance(p, state.yaw)
        corner = self._next_corner()
        last = len(self._xy) - 1
        goal_x, goal_y = self._xy_list[last]
        if corner == last and np.hypot(px - goal_x, py - goal_y) <= pr.goal_tolerance_m:
            self.status = FollowerStatus.DONE
            return Twist2D()
        s_corner = self._s_list[corner]
        lookahead = self._work_lookahead(s, corner) if self.on_work_leg else pr.lookahead_m
        target_x, target_y = self._target(p, s, lookahead, corner)
        to_x, to_y = target_x - px, target_y - py
        dist_target = float(np.hypot(to_x, to_y))
        if dist_target < 0.5 * pr.corner_tolerance_m:
            # at the corner point itself: aim along the next leg (pivot towards it)
            seg = min(corner, last - 1)
            desired = float(self._heading[seg])
        else:
            desired = math.atan2(to_y, to_x)
        seg_now = min(corner, last - 1) if dist_target < 0.5 * pr.corner_tolerance_m \
            else self._seg
        reverse = bool(self._reverse[seg_now])
        # reversing: steer the rear as if it were the front (a virtual vehicle facing back)
        facing = state.yaw + math.pi if reverse else state.yaw
        alpha = _wrap(desired - facing)
        self.heading_error_rad = alpha
        # A pivot close to the path turns onto the leg itself, not towards the lookahead
        # point: the corner is reached within corner_tolerance_m, and facing a point beside
        # the leg leaves a heading error that the first metres then correct, swinging the
        # boom's swath off the flail's strip (work_lookahead_m). Farther off the path the
        # lookahead point is faced (aligned with the leg, the offset would start a new pivot).
        # A pivot starts and ends on the same angle: started on the lookahead point's and
        # ended on the leg's, it flipped with a work leg at every tick where the two differ
        # (0.2 m off a leg, facing along it, 0.33 m before a corner: the tool never lowered,
        # the interlock held the work leg, and the machine stood until the mission was
        # aborted; bench/missions.py gen_notch_clay_exclusion seed 2). The leg's direction
        # is the aim only where it and the lookahead point's agree within a pivot's start;
        # beside a close corner or past one the point is faced and driven to. Their
        # difference depends on the position only, so a pivot does not change the aim.
        turn = alpha
        leg_turn = _wrap(float(self._heading[seg_now]) - facing)
        if self.cross_track_m <= 2.0 * pr.corner_tolerance_m and \
                abs(_wrap(alpha - leg_turn)) <= pr.pivot_threshold_rad:
            turn = leg_turn
        if self._pivoting and abs(turn) < pr.pivot_exit_rad:
            self._pivoting = False
        elif not self._pivoting and abs(turn) > pr.pivot_threshold_rad:
            self._pivoting = True
        if self._pivoting and self._return_to_corner(p, state.yaw):
            self._pivoting = False
            return self.update(state, 0.0)
        if self._pivoting:
            # As on a leg (below): held keep_out_horizon_s, the command turns no further than
            # the heading it pivots to. Faster, the supervisor sees the footprint swing past
            # it, into the zone the turn stops short of, and refuses the pivot at every try
            # (bench/missions.py gen_random seed 3: 0.4 rad/s, 0.52 rad before the heading of a
            # way out of a zone's reach, held 2 s, swept 0.8 rad; pinned six times, aborted).
            rate = min(pr.max_yaw_rate, pr.pivot_gain * abs(turn),
                       max(abs(turn), pr.pivot_exit_rad) / pr.keep_out_horizon_s)
            return Twist2D(0.0, math.copysign(rate, turn))
        v_max = pr.working_speed_mps if self.on_work_leg else pr.transit_speed_mps
        if self.on_work_leg and self.speed_limit_mps is not None:
            v_max = min(v_max, max(self.speed_limit_mps, 0.0))
        if reverse:
            v_max = min(v_max, pr.reverse_speed_mps)
        work_start = self._next_work_start()
        to_corner = max(0.0, min(s_corner, work_start) - s)
        if pr.slowdown_distance_m > 0.0:
            v = max(min(pr.min_speed_mps, v_max),
                    v_max * min(1.0, to_corner / pr.slowdown_distance_m))
        else:
            v = v_max
        # The safety supervisor judges a command as if held keep_out_horizon_s: faster than
        # the way to the next stop takes in that time, it sees the footprint overrun the stop
        # into the zone the path stops short of, and refuses the command at every try
        # (mixed_field seed 1: 0.8 m/s 1.5 m before a corner whose footprint came within
        # 0.1 m of a no-go zone; pinned until the mission ended). Below min_speed_mps too:
        # held 2 s, its 0.15 m/s overran such a corner by 0.3 m. The corner counts as reached
        # within corner_tolerance_m, so the speed stays above that over the horizon; a corner
        # pivoted at is reached pivot_reach_m short of its point, so there that is the floor.
        # (short of the next stop, a corner: not a work leg's start, an arc or the path's end)
        pivot_ahead = s <= s_corner <= work_start and corner < last and corner not in self._soft
        floor = pr.pivot_reach_m if pivot_ahead else pr.corner_tolerance_m
        v = min(v, max(to_corner, floor) / pr.keep_out_horizon_s)
        ld = max(dist_target, _EPS)
        curvature = 2.0 * math.sin(alpha) / ld
        # np.clip's result (it only selects: NaN and signed zeros pass as they are)
        omega = float(min(max(v * curvature, -pr.max_yaw_rate), pr.max_yaw_rate))
        return Twist2D(-v if reverse else v, omega)
