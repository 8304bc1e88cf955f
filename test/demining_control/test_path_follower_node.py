"""The path follower component: it backs up when the supervisor refuses a forward work motion
for ground a stop left unprocessed (allowed ground), at most max_backups_here times a place."""

import math

import numpy as np

from demining_bringup.contract.datatypes import PlanStatus, SafetyEvent, VehicleState
from demining_bringup.contract.states import INTERLOCK_HOLD, LegKind, MissionState, SafetyState
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.path_follower_node import PathFollowerComponent
from demining_control.safety.supervisor import ALLOWED_GROUND_STOP

REFUSED = SafetyEvent(0.0, SafetyState.PROTECTIVE_STOP.value,
                      ALLOWED_GROUND_STOP + ' (forward: neither processed, ...)')


def test_a_refused_forward_work_motion_makes_the_follower_back_up(area_file):
    out = []
    log = RecordingLog()
    rt = ComponentRuntime(PathFollowerComponent, sink=lambda p, v: out.append((p, v)), log=log)
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    path = np.array([[-2.0, 10.0, 0.0], [28.0, 10.0, 0.0]])
    rt.deliver('path', path, 0.0)
    rt.deliver('mission', MissionState.CLEARING, 0.0)

    def step(t, x):
        rt.deliver('pose', VehicleState(t, x, 10.0, 0.0), t)
        rt.fire('control', t)
        return [v for p, v in out if p == 'cmd'][-1]

    assert step(0.1, 5.0).v > 0.0
    rt.deliver('safety', SafetyEvent(0.2, 'protective_stop', 'people zone stop: test'), 0.2)
    assert step(0.3, 5.0).v > 0.0                    # other stops change nothing
    rt.deliver('safety', REFUSED, 0.4)
    assert step(0.5, 5.0).v < 0.0                    # backing up
    # driven back and forward again: refused again at the same place, a second back-up, and
    # no third one (it then stands on its plan: the stop and the mission decide)
    backups = []
    for _ in range(3):
        x, t = 5.0, 1.0
        for _k in range(200):
            cmd = step(t, x)
            x += cmd.v * 0.1
            t += 0.1
            if x >= 5.0 and cmd.v > 0.0:
                break
        rt.deliver('safety', REFUSED, t)
        backups.append(len([line for line in log.lines if line[1].startswith('backing up')]))
    assert backups == [2, 2, 2], backups
    assert any('again after backing up' in line[1] for line in log.lines)


def _legs_along(rt, out, path, t0=1.0):
    """Drive the path (the pose moved to each pose in turn, facing along the leg it starts:
    no pivot, which raises the tool whatever the leg); the leg published at each."""
    legs = []
    for i, (x, y, _) in enumerate(path[:-1]):
        yaw = math.atan2(path[i + 1][1] - y, path[i + 1][0] - x)
        t = t0 + 0.1 * i
        rt.deliver('pose', VehicleState(t, x + 0.01 * np.cos(yaw), y + 0.01 * np.sin(yaw), yaw),
                   t)
        rt.fire('control', t)
        legs.append([v for p, v in out if p == 'leg'][-1])
    return legs


#: A lane along y = 10 (a work leg, from 2 m outside the field to 2 m beyond it), then a
#: transit that curves round outside the field's east edge within work_reach_m of it (the
#: transit round a no-go zone near the edge that got a buried tiller stuck).
_TURN = np.array([[-2.0, 10.0, 0.0], [10.0, 10.0, 0.0], [20.0, 10.0, 0.0], [32.0, 10.0, 0.0],
                  [33.0, 9.0, -0.8], [33.5, 7.0, -1.3], [33.0, 5.0, -1.8], [32.0, 4.0, -2.4]])


def _follower(area_file):
    out = []
    rt = ComponentRuntime(PathFollowerComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({'area_file': area_file, 'corner_angle_rad': 3.0})
    rt.activate(0.0)
    rt.deliver('mission', MissionState.CLEARING, 0.0)
    return rt, out


def test_the_planners_work_legs_keep_the_tool_up_on_a_transit_near_the_field(area_file):
    status = PlanStatus(0.0, 'planned', waypoints=len(_TURN), work=[(0, 3)])
    # the status first, or the path first (two latched topics: either may come first)
    for first in ('status', 'path'):
        rt, out = _follower(area_file)
        if first == 'status':
            rt.deliver('plan_status', status, 0.0)
        rt.deliver('path', _TURN, 0.0)
        if first == 'path':
            rt.deliver('plan_status', status, 0.0)
        legs = _legs_along(rt, out, _TURN)
        assert legs[:3] == [LegKind.WORK] * 3 and legs[3:] == [LegKind.TRANSIT] * 4, first
    # a status for another path (another length) is not applied: the field decides
    rt, out = _follower(area_file)
    rt.deliver('plan_status', PlanStatus(0.0, 'planned', waypoints=5, work=[(0, 5)]), 0.0)
    rt.deliver('path', _TURN, 0.0)
    assert _legs_along(rt, out, _TURN)[3:] == [LegKind.WORK] * 4


def test_a_transit_the_interlock_holds_is_driven_with_the_tool_down(area_file):
    """Planner and supervisor judged a transit's tool line against edges centimetres apart:
    the interlock held it for good (no progress, quick_mixed aborted at 22 %). On the
    supervisor's word the follower lowers the tool for that leg."""
    out = []
    log = RecordingLog()
    rt = ComponentRuntime(PathFollowerComponent, sink=lambda p, v: out.append((p, v)), log=log)
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    rt.deliver('path', np.array([[2.0, 10.0, 0.0], [20.0, 10.0, 0.0]]), 0.0)
    rt.deliver('plan_status', PlanStatus(0.0, 'planned', '', [], [], 2, []), 0.0)
    rt.deliver('mission', MissionState.CLEARING, 0.0)
    rt.deliver('pose', VehicleState(0.1, 3.0, 10.0, 0.0), 0.1)
    rt.fire('control', 0.1)
    assert [v for p, v in out if p == 'leg'][-1] is LegKind.TRANSIT
    rt.deliver('safety', SafetyEvent(0.2, SafetyState.OK.value,
                                     INTERLOCK_HOLD + ': the tool is not working ...'), 0.2)
    rt.fire('control', 0.3)
    assert [v for p, v in out if p == 'leg'][-1] is LegKind.WORK
    assert any('driving it as a work leg' in line[1] for line in log.lines)
