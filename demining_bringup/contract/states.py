"""State Enums of the contract: the values published on the stack's state topics.

Nodes compare and publish these members, never string literals; the codec turns them into the
``std_msgs/String`` payloads documented in docs/interfaces.md and refuses unknown strings.
"""

from __future__ import annotations

import enum


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
    STALL_RECOVERY = 'stall_recovery'
    LIFTING = 'lifting'


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
