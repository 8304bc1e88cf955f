"""Tests of every safety supervisor transition and the command filter."""

import math

import pytest
from shapely.geometry import Polygon

from demining_bringup.contract.datatypes import (SimEvent, ToolCommand, ToolState, Twist2D,
                                                 VehicleState)
from demining_bringup.contract.states import INTERLOCK_HOLD, PIVOT_HOLD, CmdSource
from demining_control.safety.supervisor import (WAITING_FOR_INSPECTION, WAITING_FOR_RESUME,
                                                SafetyInputs, SafetyParams, SafetyState,
                                                SafetySupervisor)

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
WORK = ToolCommand(83.8, 0.0, 0.15)


def fresh_inputs(now, x=-5.0, y=10.0, yaw=0.0, v=0.4, omega=0.0, ready=True, clearing=True):
    """All inputs fresh at ``now``; the vehicle on the headland by default."""
    ts = ToolState(now, 83.8 if ready else 10.0, 0.0, 0.15 if ready else 0.0)
    return SafetyInputs(cmd=Twist2D(v, omega), cmd_stamp=now, tool_cmd=WORK, tool_cmd_stamp=now,
                        heartbeat_stamp=now, pose=VehicleState(now, x, y, yaw), pose_stamp=now,
                        tool_state=ts, tool_state_stamp=now, mission_clearing=clearing)


def states(sup):
    return [t['state'] for t in sup.transitions]


def test_starts_stopped_then_ok_with_clamped_commands():
    sup = SafetySupervisor(FIELD)
    assert sup.state is SafetyState.PROTECTIVE_STOP
    state, cmd, tool = sup.update(SafetyInputs(), 0.0)
    assert state is SafetyState.PROTECTIVE_STOP and (cmd.v, cmd.omega) == (0.0, 0.0)
    assert tool == ToolCommand()       # no tool command seen: rotors off, tool up
    state, cmd, tool = sup.update(fresh_inputs(1.0, v=3.0, omega=-2.0), 1.0)
    assert state is SafetyState.OK
    assert (cmd.v, cmd.omega) == (1.0, -0.5)      # max_speed_mps, max_yaw_rate
    assert tool == WORK
    assert states(sup) == ['protective_stop', 'ok']


def test_heartbeat_timeout_and_recovery():
    sup = SafetySupervisor(FIELD)
    inp = fresh_inputs(10.0)
    sup.update(inp, 10.0)
    inp = fresh_inputs(11.2)
    inp.heartbeat_stamp = 10.0                     # 1.2 s old > 1.0 s
    state, cmd, tool = sup.update(inp, 11.2)
    assert state is SafetyState.PROTECTIVE_STOP and cmd.v == 0.0
    assert tool == WORK                            # rotors may keep spinning
    assert 'heartbeat' in sup.reason
    state, cmd, _ = sup.update(fresh_inputs(11.3), 11.3)
    assert state is SafetyState.OK and cmd.v == pytest.approx(0.4)
    assert states(sup)[-2:] == ['protective_stop', 'ok']
    assert sup.transitions[-2]['stamp'] == 11.2


@pytest.mark.parametrize('field, value, text', [
    ('pose_stamp', 9.0, 'localisation stale'),
    ('cmd_stamp', 9.0, 'motion command stale'),
    ('tool_cmd_stamp', 9.0, 'tool command stale'),
    ('pose', None, 'localisation stale'),
])
def test_stale_inputs_stop(field, value, text):
    sup = SafetySupervisor(FIELD)
    inp = fresh_inputs(10.0)
    setattr(inp, field, value)
    state, cmd, _ = sup.update(inp, 10.0)
    assert state is SafetyState.PROTECTIVE_STOP and cmd.v == 0.0 and text in sup.reason


def test_nan_command_stops():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    state, cmd, _ = sup.update(fresh_inputs(1.1, v=float('nan')), 1.1)
    assert state is SafetyState.PROTECTIVE_STOP and (cmd.v, cmd.omega) == (0.0, 0.0)
    assert 'not finite' in sup.reason
    inp = fresh_inputs(1.2)
    inp.tool_cmd = ToolCommand(float('inf'), 0.0, 0.1)
    state, _, tool = sup.update(inp, 1.2)
    assert state is SafetyState.PROTECTIVE_STOP and tool == ToolCommand()
    assert sup.update(fresh_inputs(1.3), 1.3)[0] is SafetyState.OK


def test_geofence():
    sup = SafetySupervisor(FIELD, SafetyParams(geofence_margin_m=8.0))
    assert sup.update(fresh_inputs(1.0, x=-7.9), 1.0)[0] is SafetyState.OK
    state, cmd, _ = sup.update(fresh_inputs(1.1, x=-8.1), 1.1)
    assert state is SafetyState.PROTECTIVE_STOP and 'geofence' in sup.reason and cmd.v == 0.0
    assert sup.update(fresh_inputs(1.2, x=-7.0), 1.2)[0] is SafetyState.OK


def test_estop_latches_and_resets_only_when_released():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    inp = fresh_inputs(2.0)
    inp.estop_pressed = True
    state, cmd, tool = sup.update(inp, 2.0)
    assert state is SafetyState.ESTOP and cmd.v == 0.0
    assert tool == ToolCommand(0.0, 0.0, 0.0)       # rotors stop, tool lifted
    ok, msg = sup.reset(inp, 3.0)
    assert not ok and 'still pressed' in msg and sup.state is SafetyState.ESTOP
    inp = fresh_inputs(4.0)                          # released, but latched
    assert sup.update(inp, 4.0)[0] is SafetyState.ESTOP
    ok, _ = sup.reset(inp, 5.0)
    assert ok
    # IEC 60204-1 / ISO 13850: a reset does not restart the machine, however long it waits
    for t in (5.1, 5.2, 30.0):
        state, cmd, tool = sup.update(fresh_inputs(t), t)
        assert state is SafetyState.PROTECTIVE_STOP and sup.reason == WAITING_FOR_RESUME
        assert (cmd.v, cmd.omega) == (0.0, 0.0) and tool == ToolCommand()
    ok, msg = sup.resume(fresh_inputs(31.0), 31.0)
    assert ok and msg == 'resumed by operator'
    state, cmd, tool = sup.update(fresh_inputs(31.1), 31.1)
    assert state is SafetyState.OK and cmd.v == pytest.approx(0.4) and tool == WORK
    # every transition and every operator action, with its reason
    assert [(t['state'], t['reason']) for t in sup.transitions[-4:]] == [
        ('estop', 'operator e-stop'),
        ('estop', 'reset refused: operator e-stop still pressed: release it first'),
        ('protective_stop', WAITING_FOR_RESUME), ('ok', 'resumed by operator')]


def test_at_detonation_latches_estop():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    assert not sup.on_event(SimEvent(1.5, 'ap_detonation', x=3.0, y=4.0), 1.5)
    assert sup.state is SafetyState.OK                 # a flail is built for AP blasts
    assert sup.on_event(SimEvent(2.0, 'at_detonation', 'm7', 'AT', 5.0, 6.0), 2.0)
    state, cmd, tool = sup.update(fresh_inputs(2.1), 2.1)
    assert state is SafetyState.ESTOP and cmd.v == 0.0 and tool.flail_speed == 0.0
    assert 'at_detonation' in sup.reason
    assert sup.on_event(SimEvent(2.2, 'damage'), 2.2)
    assert sup.reset(fresh_inputs(3.0), 3.0)[0]
    state, cmd, tool = sup.update(fresh_inputs(3.1), 3.1)
    assert state is SafetyState.PROTECTIVE_STOP and cmd.v == 0.0 and tool == ToolCommand()
    assert sup.reason == WAITING_FOR_INSPECTION


def test_resume_after_a_detonation_needs_an_inspection_acknowledgement():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    # an acknowledgement before the event does not count for it
    assert sup.acknowledge_inspection('earlier check', 1.5) == (
        True, 'inspection acknowledged: "earlier check" (none due)')
    sup.on_event(SimEvent(2.0, 'at_detonation', 'm7', 'AT', 5.0, 6.0), 2.0)
    ok, msg = sup.resume(fresh_inputs(2.5), 2.5)
    assert not ok and 'reset it first' in msg and sup.state is SafetyState.ESTOP
    assert sup.reset(fresh_inputs(3.0), 3.0) == (True, WAITING_FOR_INSPECTION)
    ok, msg = sup.resume(fresh_inputs(3.1), 3.1)
    assert not ok and 'at_detonation at (5.0, 6.0) needs an inspection acknowledgement' in msg
    assert sup.update(fresh_inputs(3.2), 3.2)[1].v == 0.0
    assert sup.acknowledge_inspection('   ', 3.3)[0] is False      # empty: refused
    ok, msg = sup.acknowledge_inspection(' tracks, hull and flail chains checked: OK ', 3.4)
    assert ok and msg == 'inspection acknowledged: "tracks, hull and flail chains checked: OK"'
    assert sup.reason == WAITING_FOR_RESUME
    assert sup.update(fresh_inputs(3.5), 3.5)[1].v == 0.0          # ack alone: no motion
    ok, msg = sup.resume(fresh_inputs(3.6), 3.6)
    assert ok and msg == ('resumed by operator after inspection: '
                          '"tracks, hull and flail chains checked: OK"')
    assert sup.state is SafetyState.OK and sup.reason == msg
    assert sup.update(fresh_inputs(3.7), 3.7)[1].v == pytest.approx(0.4)
    assert [i['text'] for i in sup.inspections] == [
        'earlier check', 'tracks, hull and flail chains checked: OK']
    # a second detonation needs a new acknowledgement
    sup.on_event(SimEvent(4.0, 'damage'), 4.0)
    sup.reset(fresh_inputs(4.1), 4.1)
    assert not sup.resume(fresh_inputs(4.2), 4.2)[0]


def test_resume_is_refused_while_a_stop_cause_is_present():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    sup.trigger_estop('operator e-stop', 1.1)
    sup.reset(fresh_inputs(1.2), 1.2)
    inp = fresh_inputs(2.0)
    inp.heartbeat_stamp = 0.0
    ok, msg = sup.resume(inp, 2.0)
    assert not ok and msg == 'resume refused: operator heartbeat lost'
    assert sup.awaiting_resume and sup.update(inp, 2.0)[0] is SafetyState.PROTECTIVE_STOP
    inp = fresh_inputs(2.1)
    inp.estop_pressed = True
    assert not sup.resume(inp, 2.1)[0]
    assert sup.update(inp, 2.1)[0] is SafetyState.ESTOP           # pressed again: latched
    assert sup.resume(fresh_inputs(2.2), 2.2)[0] is False         # reset first


def test_reset_and_resume_without_a_latch_change_nothing():
    sup = SafetySupervisor(FIELD)
    assert sup.update(fresh_inputs(1.0), 1.0)[0] is SafetyState.OK
    assert sup.reset(fresh_inputs(1.1), 1.1) == (True, 'reset: nothing to reset (state ok)')
    assert sup.resume(fresh_inputs(1.2), 1.2) == (True, 'resume: nothing to resume (state ok)')
    assert sup.update(fresh_inputs(1.3), 1.3)[1].v == pytest.approx(0.4)
    # a protective stop (no latch) still recovers by itself: no resume needed
    inp = fresh_inputs(2.0)
    inp.heartbeat_stamp = 0.0
    assert sup.update(inp, 2.0)[0] is SafetyState.PROTECTIVE_STOP
    assert sup.update(fresh_inputs(2.1), 2.1)[0] is SafetyState.OK


def test_processed_ground_interlock():
    sup = SafetySupervisor(FIELD)
    # tool over the field (base at x=-1, tool at x=1.6), not ready: no forward motion
    state, cmd, _ = sup.update(fresh_inputs(1.0, x=-1.0, ready=False, omega=0.1), 1.0)
    assert state is SafetyState.OK and cmd.v == 0.0 and cmd.omega == pytest.approx(0.1)
    assert sup.interlock_active
    # reversing (onto processed ground) is allowed
    assert sup.update(fresh_inputs(1.1, x=-1.0, v=-0.3, ready=False), 1.1)[1].v == \
        pytest.approx(-0.3)
    # tool ready: forward allowed
    assert sup.update(fresh_inputs(1.2, x=-1.0), 1.2)[1].v == pytest.approx(0.4)
    # on the headland with the tool outside the field: the tool may still spin up
    assert sup.update(fresh_inputs(1.3, x=-5.0, ready=False), 1.3)[1].v == pytest.approx(0.4)
    # not clearing (e.g. driving home after completion): no interlock
    assert sup.update(fresh_inputs(1.4, x=5.0, ready=False, clearing=False), 1.4)[1].v == \
        pytest.approx(0.4)
    # a stale tool state is not ready
    inp = fresh_inputs(1.5, x=5.0)
    inp.tool_state_stamp = 0.0
    assert sup.update(inp, 1.5)[1].v == 0.0


def test_a_held_interlock_is_said_once_a_hold():
    """A transit held by the interlock for good (its tool line over unprocessed ground, the
    tool raised) stood until the no-progress abort: after interlock_hold_note_s the hold is
    said on /safety/events so the path follower can lower the tool."""
    sup = SafetySupervisor(FIELD)
    hold = sup.params.interlock_hold_note_s
    t = 1.0
    while t < 1.0 + hold - 0.05:
        sup.update(fresh_inputs(t, x=-1.0, ready=False), t)
        t += 0.1
    assert sup.interlock_active and not any(n.startswith(INTERLOCK_HOLD) for n in sup.notes)
    for _ in range(30):
        sup.update(fresh_inputs(t, x=-1.0, ready=False), t)
        t += 0.1
    said = [n for n in sup.notes if n.startswith(INTERLOCK_HOLD)]
    assert len(said) == 1
    # released (the tool works), then held again: a new hold, said again after its own wait
    sup.notes.clear()
    sup.update(fresh_inputs(t, x=-1.0), t)
    t += 0.1
    for _ in range(int(hold / 0.1) + 5):
        sup.update(fresh_inputs(t, x=-1.0, ready=False), t)
        t += 0.1
    assert len([n for n in sup.notes if n.startswith(INTERLOCK_HOLD)]) == 1


def test_the_interlock_lets_a_transit_over_processed_ground_pass_with_the_tool_up():
    """A transit the planner routes over processed ground has the tool raised: the tracks
    follow onto ground that needs no tool, so forward motion passes; where the tool line
    reaches unprocessed ground it stops."""
    import numpy as np
    from demining_control.safety.supervisor import SafetyParams
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    grid = np.zeros((200, 300), dtype=np.int8)          # the 30 x 20 m field at 0.1 m
    grid[:, :60] = 100                                  # processed up to x = 6 m
    sup.on_processed(grid, 0.0, 0.0, 0.1)
    # base at x = 2, tool (2.6 m ahead) at 4.6 over processed ground: passes
    assert sup.update(fresh_inputs(1.0, x=2.0, ready=False), 1.0)[1].v == pytest.approx(0.4)
    assert not sup.interlock_active
    # base at x = 4, tool at 6.6 over unprocessed ground: the interlock holds
    assert sup.update(fresh_inputs(1.1, x=4.0, ready=False), 1.1)[1].v == 0.0
    assert sup.interlock_active


def test_transitions_have_stamps_and_reasons():
    sup = SafetySupervisor(FIELD)
    sup.update(fresh_inputs(1.0), 1.0)
    sup.update(fresh_inputs(1.1, x=math.nan), 1.1)
    for t in sup.transitions:
        assert set(t) == {'stamp', 'state', 'reason'} and t['reason']


def test_the_footprint_is_kept_out_of_exclusion_zones_unless_declared_safe():
    ruin = [(10.0, 8.0), (14.0, 8.0), (14.0, 12.0), (10.0, 12.0)]
    sup = SafetySupervisor(FIELD, exclusion_zones=[ruin])
    sup.update(fresh_inputs(0.0, x=5.0, v=0.0), 0.0)
    # heading east at the ruin: the flail (3.3 m ahead) would be in it within the horizon
    state, cmd, _ = sup.update(fresh_inputs(1.0, x=6.5, v=0.4), 1.0)
    assert state is SafetyState.PROTECTIVE_STOP and cmd.v == 0.0
    assert sup.reason == 'exclusion zone ahead'
    # backing away is allowed, and so is driving past it on the other side of the field
    state, cmd, _ = sup.update(fresh_inputs(2.0, x=6.5, v=-0.3), 2.0)
    assert state is SafetyState.OK and cmd.v < 0.0
    state, _, _ = sup.update(fresh_inputs(3.0, x=6.5, y=3.0, v=0.4), 3.0)
    assert state is SafetyState.OK
    # the same zone declared safe to drive (a road): no stop
    road = SafetySupervisor(FIELD, safe_ground=Polygon(ruin), exclusion_zones=[ruin])
    road.update(fresh_inputs(0.0, x=5.0, v=0.0), 0.0)
    state, _, _ = road.update(fresh_inputs(1.0, x=6.5, v=0.4), 1.0)
    assert state is SafetyState.OK


def test_the_interlock_asks_no_tool_for_the_tool_lines_part_off_the_field():
    """Near the field's edge, without declared safe ground round it, the tool line reaches
    past the edge: that part is no ground the tool must process first. A transit with the
    tool raised along processed ground by the edge passes (it stood for 30 min)."""
    import numpy as np
    from demining_control.safety.supervisor import SafetyParams
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    grid = np.zeros((200, 300), dtype=np.int8)
    grid[:20, :] = 100                                  # a processed strip y 0..2 m
    sup.on_processed(grid, 0.0, 0.0, 0.1)
    # heading south-east from y = 2.2: the tool line (2.6 m ahead) crosses the edge y = 0
    inp = fresh_inputs(1.0, x=10.0, y=2.2, yaw=-1.12, ready=False)
    assert sup.update(inp, 1.0)[1].v == pytest.approx(0.4)
    # the same with unprocessed field ground under the tool: held
    grid[:, :] = 0
    sup2 = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    sup2.on_processed(grid, 0.0, 0.0, 0.1)
    assert sup2.update(fresh_inputs(1.0, x=10.0, y=2.2, yaw=-1.12, ready=False), 1.0)[1].v == 0


def test_a_pivot_over_unprocessed_ground_waits_for_the_tool_to_lift():
    """A pivot swings the flail sideways over ground the boom never scanned: while the tool
    is in the ground the turn is held (forward motion and a raised tool pass)."""
    import numpy as np
    from demining_control.safety.supervisor import SafetyParams
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    grid = np.zeros((200, 300), dtype=np.int8)
    grid[:, :60] = 100                                  # processed up to x = 6 m
    sup.on_processed(grid, 0.0, 0.0, 0.1)
    # base at x = 8, the flail at 10.6 over unprocessed ground, still 0.15 m deep
    state, cmd, _ = sup.update(fresh_inputs(1.0, x=8.0, v=0.0, omega=0.3), 1.0)
    assert state is SafetyState.OK and cmd.omega == 0.0 and sup.pivot_hold
    # lifted: the pivot goes on
    inp = fresh_inputs(1.1, x=8.0, v=0.0, omega=0.3)
    inp.tool_state = ToolState(1.1, 83.8, 0.0, 0.01)
    assert sup.update(inp, 1.1)[1].omega == pytest.approx(0.3) and not sup.pivot_hold
    # working forward with a curve passes
    assert sup.update(fresh_inputs(1.2, x=8.0, v=0.3, omega=0.1), 1.2)[1].omega == \
        pytest.approx(0.1)


def test_a_pivot_is_held_while_the_tool_is_in_the_ground_over_any_ground():
    """Over processed ground too: the working tool marks its own sweep processed as it
    turns, so judged by the ground under it a pivot that began over processed ground swung
    the flail on through the arc the boom never scanned (2.6 m arcs round every corner of a
    12 x 8 m field)."""
    import numpy as np
    from demining_control.safety.supervisor import SafetyParams
    sup = SafetySupervisor(FIELD, SafetyParams(allowed_ground_check=True))
    grid = np.zeros((200, 300), dtype=np.int8)
    grid[:, :60] = 100                                  # processed up to x = 6 m
    sup.on_processed(grid, 0.0, 0.0, 0.1)
    # base at x = 3, the flail at 5.6 over processed ground, 0.15 m deep, then turning on
    for k, yaw in enumerate((0.0, 0.05, 0.1)):
        t = 1.0 + 0.1 * k
        state, cmd, _ = sup.update(fresh_inputs(t, x=3.0, yaw=yaw, v=0.0, omega=0.3), t)
        assert state is SafetyState.OK and cmd.omega == 0.0 and sup.pivot_hold
    held = [n for n in sup.notes if n.startswith(PIVOT_HOLD)]
    assert not held                     # autonomy: the follower's pivot leg lifts the tool
    # an operator's pivot is held too, and told why, once a hold
    for t in (1.3, 1.4):
        inp = fresh_inputs(t, x=3.0, v=0.0, omega=0.3)
        inp.cmd_source = CmdSource.TELEOP.value
        assert sup.update(inp, t)[1].omega == 0.0
    assert len([n for n in sup.notes if n.startswith(PIVOT_HOLD)]) == 1
    # lifted: the pivot goes on
    inp = fresh_inputs(1.5, x=3.0, v=0.0, omega=0.3)
    inp.tool_state = ToolState(1.5, 83.8, 0.0, 0.01)
    assert sup.update(inp, 1.5)[1].omega == pytest.approx(0.3) and not sup.pivot_hold
