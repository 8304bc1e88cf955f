"""The ROS host's lockstep: simulated time waits for the control loop, not for a busy process."""

import math

import pytest

pytest.importorskip('rclpy')

from demining_bringup.hosts.ros import Lockstep  # noqa: E402

LEAD_S = 0.3
TIMEOUT_S = 2.0
GAP_S = 0.05
TICK_S = 0.01


def _ticks(lock, start, seconds):
    """Call the lockstep every tick for ``seconds`` of wall time; return the last limit."""
    n = int(round(seconds / TICK_S))
    return [lock.limit(start + (i + 1) * TICK_S) for i in range(n)][-1], start + n * TICK_S


def test_the_simulation_leads_the_slowest_input_by_the_lead():
    lock = Lockstep(LEAD_S, TIMEOUT_S, GAP_S)
    assert lock.limit(0.0) == math.inf           # no input yet: not pacing
    lock.mark('cmd_vel', 10.0, 0.0)
    lock.mark('localization', 9.5, 0.0)
    assert lock.limit(0.01) == pytest.approx(9.5 + LEAD_S)


def test_an_input_silent_for_the_timeout_no_longer_holds_the_clock():
    lock = Lockstep(LEAD_S, TIMEOUT_S, GAP_S)
    lock.mark('cmd_vel', 10.0, 0.0)
    limit, _ = _ticks(lock, 0.0, TIMEOUT_S - 0.1)
    assert limit == pytest.approx(10.0 + LEAD_S)
    limit, _ = _ticks(lock, TIMEOUT_S - 0.1, 0.2)
    assert limit == math.inf                     # a crashed node must not freeze time


def test_a_blocked_process_is_not_a_silent_control_loop():
    # One process: a 3 s callback blocks the clock source and the controllers alike.
    lock = Lockstep(LEAD_S, TIMEOUT_S, GAP_S)
    lock.mark('cmd_vel', 10.0, 0.0)
    limit, wall = _ticks(lock, 0.0, 0.5)
    assert lock.limit(wall + 3.0) == pytest.approx(10.0 + LEAD_S)
    lock.mark('cmd_vel', 10.1, wall + 3.01)
    assert lock.limit(wall + 3.02) == pytest.approx(10.1 + LEAD_S)


def test_disabled_pacing_never_limits():
    lock = Lockstep(0.0, TIMEOUT_S, GAP_S)
    lock.mark('cmd_vel', 1.0, 0.0)
    assert lock.limit(0.5) == math.inf
