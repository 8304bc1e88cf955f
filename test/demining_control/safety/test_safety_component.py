"""The safety supervisor component without DDS: reset, resume and inspection on /safety/events."""

import pytest
from std_msgs.msg import String

from demining_bringup.contract import topics
from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.datatypes import (SafetyEvent, SimEvent, ToolCommand, ToolState,
                                                 Twist2D, VehicleState)
from demining_bringup.contract.states import MissionState, SafetyState
from demining_bringup.contract.wire import wires
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.safety_supervisor_node import SafetySupervisorComponent


@pytest.fixture
def safety(area_file):
    out = []
    rt = ComponentRuntime(SafetySupervisorComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    # the people monitor is tested in test_people_zones.py, the IMU limits in
    # test_machine_limits, allowed ground in test_allowed_ground.py (the machine stands on
    # undeclared ground west of this area's field)
    rt.configure({'area_file': area_file, 'people_monitor_required': False,
                  'imu_required': False, 'allowed_ground_check': False})
    rt.activate(0.0)
    return rt, out


def feed(rt, now, v=0.0):
    """Every input fresh: the vehicle on the headland (moving at ``v``), the tool working, the
    mission clearing."""
    rt.deliver('heartbeat', None, now)
    rt.deliver('cmd', Twist2D(0.4, 0.0), now)
    rt.deliver('tool_cmd', ToolCommand(83.8, 0.0, 0.15), now)
    rt.deliver('pose', VehicleState(now, -5.0, 10.0, 0.0, v=v), now)
    rt.deliver('tool_state', ToolState(now, 83.8, 0.0, 0.15), now)
    rt.deliver('mission', MissionState.CLEARING, now)
    rt.fire('control', now)


def last_cmd(out):
    return [v for p, v in out if p == 'cmd_vel'][-1]


def test_the_inspection_ack_wire_decodes_text_and_refuses_empty():
    w = wires()[topics.SAFETY_INSPECTION_ACK]
    assert w.decode(w.encode('  chains checked ', 0.0)) == 'chains checked'
    for empty in ('', '  \n'):
        with pytest.raises(DecodeError):
            w.decode(String(data=empty))


def test_reset_resume_and_inspection_go_on_safety_events(safety):
    rt, out = safety
    feed(rt, 1.0)
    assert last_cmd(out).v == pytest.approx(0.4)
    rt.deliver('event', SimEvent(1.5, 'at_detonation', 'tm62', 'AT', 5.0, 6.0), 1.5)
    assert last_cmd(out) == Twist2D()
    feed(rt, 2.0)
    assert rt.call('reset', 2.1) == (True, 'reset: waiting for inspection acknowledgement '
                                           'and resume')
    for t in (2.2, 2.3, 5.0):
        feed(rt, t)
        assert last_cmd(out) == Twist2D()            # a reset never restarts the machine
    ok, msg = rt.call('resume', 5.1)
    assert not ok and 'needs an inspection acknowledgement' in msg
    rt.deliver('inspection_ack', 'hull and tracks inspected', 5.2)
    feed(rt, 5.3)
    assert last_cmd(out) == Twist2D()                # an acknowledgement is no resume either
    assert rt.call('resume', 5.4) == (
        True, 'resumed by operator after inspection: "hull and tracks inspected"')
    assert last_cmd(out).v == pytest.approx(0.4)
    events = [(e.state, e.reason) for p, e in out if p == 'events']
    assert events[-5:] == [
        (SafetyState.ESTOP, 'at_detonation at (5.0, 6.0)'),
        (SafetyState.PROTECTIVE_STOP, 'reset: waiting for inspection acknowledgement and resume'),
        (SafetyState.PROTECTIVE_STOP, 'resume refused: at_detonation at (5.0, 6.0) needs an '
                                      'inspection acknowledgement (safety/inspection_ack) first'),
        (SafetyState.PROTECTIVE_STOP, 'inspection acknowledged: "hull and tracks inspected"'),
        (SafetyState.OK, 'resumed by operator after inspection: "hull and tracks inspected"'),
    ]
    assert all(isinstance(e, SafetyEvent) for p, e in out if p == 'events')
    diag = rt.diagnostics(5.5)[2]
    assert diag['awaiting_resume'] is False and diag['inspection_due'] == ''
