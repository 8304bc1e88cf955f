"""State Enums of the contract: the values published on the stack's state topics.

Nodes compare and publish these members, never string literals; the codec turns them into the
``std_msgs/String`` payloads documented in docs/interfaces.md and refuses unknown strings.
"""

from __future__ import annotations

import enum
import math
from typing import Optional, Tuple


class MissionState(str, enum.Enum):
    """Mission state, as published on /mission/state."""

    IDLE = 'idle'
    PLANNING = 'planning'
    CLEARING = 'clearing'
    COMPLETE = 'complete'
    ABORTED = 'aborted'

    @property
    def terminal(self) -> bool:
        """True for the states a mission never leaves (the run ends, the report is due)."""
        return self in (MissionState.COMPLETE, MissionState.ABORTED)


class SafetyState(str, enum.Enum):
    """Supervisor state, as published on /safety/state."""

    OK = 'ok'
    PROTECTIVE_STOP = 'protective_stop'
    ESTOP = 'estop'


class PlanState(str, enum.Enum):
    """The coverage planner's state, as published on coverage/status."""

    WAITING = 'waiting'     # no plan yet (no pose, or planning)
    PLANNED = 'planned'     # a path is published
    REFUSED = 'refused'     # no path: the area cannot be planned safely (the reason says why)
    COMPLETE = 'complete'   # the path is driven and nothing more will be planned (reason: left)


class CmdSource(str, enum.Enum):
    """Which input the command mux passes on (/cmd_vel/mux/source)."""

    NONE = 'none'
    AUTO = 'auto'
    TELEOP = 'teleop'


class ZoneState(str, enum.Enum):
    """People-monitor zone, as published on /safety/people_zone (ordered: clear < slow < stop)."""

    CLEAR = 'clear'
    SLOW = 'slow'
    STOP = 'stop'

    @property
    def level(self) -> int:
        """0 clear, 1 slow, 2 stop."""
        return ('clear', 'slow', 'stop').index(self.value)


#: Reasons on /safety/events that start with this report a people-zone transition (the mission
#: record keeps them even when the safety state itself does not change).
PEOPLE_ZONE_EVENT_PREFIX = 'people zone'
#: Head of the supervisor's events about allowed ground that change no state (a motion
#: leaving it recorded, not refused; the start note saying so): the record keeps them.
ALLOWED_GROUND_EVENT_PREFIX = 'allowed ground'
#: Head of the event of one motion leaving allowed ground, recorded and not refused.
ALLOWED_GROUND_RECORDED = f'{ALLOWED_GROUND_EVENT_PREFIX} not enforced (recorded only)'
_DEPARTURE_TAG = 'departure'

#: Protective-stop causes of the safety supervisor that refuse a motion because the machine's
#: predicted footprint would enter keep-out ground. One source: the supervisor raises them, the
#: coverage planner re-plans round the zone when they pin the machine (no dead end).
NO_GO_AHEAD = 'no-go zone ahead (detected AT mine or UXO)'
EXCLUSION_AHEAD = 'exclusion zone ahead'
#: ... and because a track would press a detected suspect (AP or unknown) the tool has not
#: processed (in a pivot, a transit or a lead-in over unprocessed ground).
HAZARD_UNDER_TRACK = 'a track would press a detected AP or unknown track on unprocessed ground'
KEEP_OUT_CAUSES = (NO_GO_AHEAD, EXCLUSION_AHEAD, HAZARD_UNDER_TRACK)
#: Protective-stop cause of a slope above the work limits (vehicle and tool stopped), and the
#: reason of the OK state while autonomy reverses straight out of it. One source: the
#: supervisor raises them, the coverage planner marks the ground too steep and re-plans round
#: it (no dead end: gen_slope stood 900 s on a bump and was aborted).
SLOPE_STOP = 'slope above the work limit'
SLOPE_RECOVERY = 'slope recovery: reversing straight out at creep speed, tool lifted'
#: Reason of the OK state while autonomy turns back where it pivoted into a slope stop
#: (issue 7: after a pivot, straight back is ground the machine never drove).
SLOPE_UNDO_PIVOT = ('slope recovery: turning back where it pivoted at creep yaw rate, tool '
                    'lifted')
#: Protective-stop cause head of a motion whose tracks would leave allowed ground (processed or
#: declared safe): the supervisor raises it, the path follower backs up on it.
ALLOWED_GROUND_STOP = 'tracks would leave allowed ground'
#: Safety event head of a forward motion the processed-ground interlock has held (the tool is
#: not working over unprocessed ground ahead): the supervisor raises it, the path follower
#: lowers the tool on a transit it holds (no dead end between the two).
INTERLOCK_HOLD = 'tool interlock holding forward motion'
#: Safety event head of an operator's pivot held while the tool is in the ground (a turned
#: working flail sweeps ground the sensor boom never scanned).
PIVOT_HOLD = 'pivot held'


class FollowerStatus(str, enum.Enum):
    """Path-follower status, as published on /follower/status."""

    IDLE = 'idle'
    FOLLOWING = 'following'
    DONE = 'done'


class ToolPhase(str, enum.Enum):
    """What the tool controller is doing (its /diagnostics)."""

    IDLE = 'idle'
    SPIN_UP = 'spin_up'
    LOWERING = 'lowering'
    WORKING = 'working'
    RAISED = 'raised'                  # rotors at speed, tool up: transit, reversing
    STALL_RECOVERY = 'stall_recovery'
    LIFTING = 'lifting'
    FEEDBACK_LOST = 'feedback_lost'    # no fresh tool state: tool up, rotors to idle


class ToolEventKind(str, enum.Enum):
    """Kinds of the tool controller's events, as recorded from /tool/events."""

    STALL = 'stall'                    # a rotor stalled: tool lifted
    RECOVERED = 'recovered'            # rotors back at speed after a stall: lowering again
    FEEDBACK_LOST = 'feedback_lost'    # no fresh tool state: tool lifted, rotors to idle
    FEEDBACK_BACK = 'feedback_back'    # tool state fresh again


class LegKind(str, enum.Enum):
    """How the path follower drives the current leg, as published on /follower/leg."""

    NONE = 'none'          # no path, or not moving along one
    WORK = 'work'          # forward over ground to process: tool down
    TRANSIT = 'transit'    # outside the work: tool raised
    REVERSE = 'reverse'    # backing out over processed ground: tool raised
    #: turning in place: tool raised. A working flail swept through a pivot covers an arc
    #: 2.6-3 m out that the sensor boom, 4 m out, never scanned: an AT mine there goes off
    #: under it (bench/missions.py gen_at_uxo_lanes seed 1: a TM-62M with no track at all).
    PIVOT = 'pivot'


class LifecycleState(str, enum.Enum):
    """The primary states of a managed (lifecycle) node, as in ROS 2's node lifecycle design."""

    UNCONFIGURED = 'unconfigured'
    INACTIVE = 'inactive'
    ACTIVE = 'active'
    FINALIZED = 'finalized'


class DiagLevel(enum.IntEnum):
    """Levels of a diagnostic status (the values of diagnostic_msgs/DiagnosticStatus)."""

    OK = 0
    WARN = 1
    ERROR = 2
    STALE = 3


def allowed_ground_departure(what: str, x: float, y: float, number: int) -> str:
    """The event text of the ``number``-th motion leaving allowed ground (recorded only).

    ``what``: which motion and why; ``x``, ``y``: base_link in the map frame, m.
    """
    return f'{ALLOWED_GROUND_RECORDED}: {what} at ({x:.1f}, {y:.1f}) [{_DEPARTURE_TAG} {number}]'


def suspect_under_track(x: float, y: float) -> str:
    """The event text of a motion passed on (recorded, not refused) whose tracks pressed the
    detected suspect at (``x``, ``y``) on ground not allowed, map frame, m."""
    return f'{ALLOWED_GROUND_RECORDED}: {HAZARD_UNDER_TRACK} at ({x:.1f}, {y:.1f})'


def hazard_refusal(x: float, y: float) -> str:
    """The protective-stop cause refusing a motion whose tracks would press the detected
    suspect at (``x``, ``y``) (map frame, m): :data:`HAZARD_UNDER_TRACK` and where, so that
    the coverage planner answers that suspect, not the one nearest the machine
    (:func:`hazard_position`)."""
    return f'{HAZARD_UNDER_TRACK} at ({x:.1f}, {y:.1f})'


def hazard_position(reason: str) -> Optional[Tuple[float, float]]:
    """The suspect's position a reason names (:func:`hazard_refusal`, among other causes),
    else None (no such cause, or one without a position)."""
    head = f'{HAZARD_UNDER_TRACK} at ('
    k = reason.find(head)
    if k < 0:
        return None
    inner = reason[k + len(head):].partition(')')[0]
    try:
        x, y = (float(v) for v in inner.split(','))
    except ValueError:
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None


def departure_number(reason: str) -> int:
    """The running number of a departure event (:func:`allowed_ground_departure`), else 0."""
    if not reason.startswith(ALLOWED_GROUND_RECORDED):
        return 0
    head, _, tail = reason.rpartition(f'[{_DEPARTURE_TAG} ')
    number = tail.rstrip(']')
    return int(number) if head and number.isdigit() else 0
