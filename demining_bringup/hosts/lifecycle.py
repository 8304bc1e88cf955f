"""The lifecycle manager's plan, as Nav2's lifecycle manager: one order for both hosts.

Start-up configures every managed node in dependency order (the order of config/stack.yaml:
the simulator or drivers first, the mission manager last), then activates them in the same
order, so every consumer exists before its producers start to talk and the actuator path is
closed until the last node is up. Shut-down deactivates in reverse order (commands stop
first), cleans up in reverse order, then shuts every node down. A failed transition stops the
sequence and is reported with the node and the transition; the caller decides what follows.

No rclpy here: the deterministic host performs each step by a direct call, the ROS node
(:mod:`demining_bringup.lifecycle_manager_node`) by a ``lifecycle_msgs/ChangeState`` request.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Iterator, List, Optional, Sequence


class Transition(str, enum.Enum):
    """The lifecycle transitions the manager requests (lifecycle_msgs/Transition labels)."""

    CONFIGURE = 'configure'
    ACTIVATE = 'activate'
    DEACTIVATE = 'deactivate'
    CLEANUP = 'cleanup'
    SHUTDOWN = 'shutdown'


@dataclasses.dataclass(frozen=True)
class Step:
    """One transition of one node."""

    node: str
    transition: Transition


def startup_plan(nodes: Sequence[str]) -> List[Step]:
    """Configure all in order, then activate all in order."""
    return ([Step(n, Transition.CONFIGURE) for n in nodes]
            + [Step(n, Transition.ACTIVATE) for n in nodes])


def shutdown_plan(nodes: Sequence[str]) -> List[Step]:
    """Deactivate all in reverse order, clean up in reverse order, then shut down."""
    rev = list(reversed(nodes))
    return ([Step(n, Transition.DEACTIVATE) for n in rev]
            + [Step(n, Transition.CLEANUP) for n in rev]
            + [Step(n, Transition.SHUTDOWN) for n in rev])


class TransitionSequence:
    """Walks a plan one step at a time; the driver reports each step's outcome."""

    def __init__(self, plan: Sequence[Step]) -> None:
        """Start at the first step of ``plan``."""
        self._plan = list(plan)
        self._i = 0
        self.failed: Optional[Step] = None
        self.failure_reason = ''

    @property
    def done(self) -> bool:
        """True when every step succeeded or one failed."""
        return self.failed is not None or self._i >= len(self._plan)

    @property
    def ok(self) -> bool:
        """True when every step succeeded."""
        return self.failed is None and self._i >= len(self._plan)

    def next_step(self) -> Optional[Step]:
        """The step to perform now (None when done)."""
        return None if self.done else self._plan[self._i]

    def report(self, success: bool, reason: str = '') -> None:
        """Record the outcome of :meth:`next_step`."""
        step = self.next_step()
        if step is None:
            return
        if success:
            self._i += 1
        else:
            self.failed = step
            self.failure_reason = reason or 'transition refused'

    def __iter__(self) -> Iterator[Step]:
        """Iterate the remaining steps (the caller reports each)."""
        while not self.done:
            yield self.next_step()

    def describe_failure(self) -> str:
        """One line naming the node and the transition that failed."""
        if self.failed is None:
            return ''
        return (f'lifecycle: {self.failed.node} failed to {self.failed.transition.value}: '
                f'{self.failure_reason}')


__all__ = ['Step', 'Transition', 'TransitionSequence', 'shutdown_plan', 'startup_plan']
