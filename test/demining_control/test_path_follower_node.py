"""The path follower component: it backs up when the supervisor refuses a forward work motion
for ground a stop left unprocessed (allowed ground), at most max_backups_here times a place."""

import numpy as np

from demining_bringup.contract.datatypes import SafetyEvent, VehicleState
from demining_bringup.contract.states import MissionState, SafetyState
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
