"""Property-based tests (hypothesis) of the safety supervisor core.

For any sequence of inputs, times, events and operator actions (reset, resume, inspection
acknowledgement) the supervisor must hold its safety properties:

* outputs are always finite and within ``max_speed_mps`` / ``max_yaw_rate``;
* e-stop always wins: a pressed e-stop or a latching event (AT detonation, damage) stops at once;
* no motion (and no tool) while latched (ESTOP);
* no motion when any required input is missing, stale or not finite, or the pose is outside the
  geofence;
* a reset alone never produces motion: after any latch, motion needs an accepted resume, and a
  resume is accepted only after a reset, with the e-stop released and, after a detonation or
  damage event, an inspection acknowledgement received after that event.

The oracle is written independently of the implementation (distance to the field rectangle
instead of shapely's buffer, its own latch bookkeeping). Example counts are bounded so the suite
stays fast.
"""

import math

import numpy as np

from hypothesis import given, settings
from hypothesis import strategies as st

from demining_bringup.contract.datatypes import (SimEvent, ToolCommand, ToolState, Twist2D,
                                                 VehicleState)
from demining_control.safety.supervisor import (SafetyInputs, SafetyParams, SafetyState,
                                                SafetySupervisor)

X0, Y0, X1, Y1 = 0.0, 0.0, 30.0, 20.0
FIELD = [(X0, Y0), (X1, Y0), (X1, Y1), (X0, Y1)]
PARAMS = SafetyParams()
LATCHING = ('at_detonation', 'damage')
NAN, INF = float('nan'), float('inf')

# -- strategies ------------------------------------------------------------------------------

#: Input ages, s: fresh, within every timeout, beyond the pose/command timeouts (0.5 s),
#: beyond the heartbeat timeout (1.0 s); None: never received; nan: a broken stamp.
ages = st.one_of(st.sampled_from([0.0, 0.05, 0.2, 0.45, 0.55, 0.9, 1.1, 3.0]),
                 st.floats(0.0, 5.0), st.none(), st.just(NAN))
finite_or_not = st.one_of(st.floats(-20.0, 20.0), st.sampled_from([NAN, INF, -INF]))
#: Positions: in the field, on the headland, outside the fence, or not finite.
coords = st.one_of(st.floats(-15.0, 45.0), st.sampled_from([NAN, INF]))
event_kinds = st.sampled_from(['at_detonation', 'damage', 'ap_detonation', 'neutralised',
                               'collision', 'intrusion'])
ack_texts = st.one_of(st.sampled_from(['', '   ', 'hull, tracks and chains inspected']),
                      st.text(max_size=12))


#: An operator's recovery (each step judged), with or without the inspection acknowledgement:
#: the paths to a resume, made reachable.
RECOVERY = [('estop', False), ('fresh', None), ('reset', None),
            ('ack', 'hull, tracks and chains inspected'), ('fresh', None), ('resume', None)]
RECOVERY_WITHOUT_ACK = [a for a in RECOVERY if a[0] != 'ack']

actions = st.one_of(
    # weights: "everything fresh" and the recovery come up often enough to reach motion
    st.just(('fresh', None)), st.just(('fresh', None)), st.just(('fresh', None)),
    st.tuples(st.just('recover'), st.booleans()),
    st.tuples(st.just('pose'), st.tuples(coords, coords, st.floats(-4.0, 4.0), ages)),
    st.tuples(st.just('cmd'), st.tuples(finite_or_not, finite_or_not, ages)),
    st.tuples(st.just('tool_cmd'), st.tuples(finite_or_not, ages)),
    st.tuples(st.just('tool_state'), st.tuples(st.booleans(), ages)),
    st.tuples(st.just('heartbeat'), ages),
    st.tuples(st.just('estop'), st.booleans()),
    st.tuples(st.just('clearing'), st.booleans()),
    st.tuples(st.just('event'), st.tuples(event_kinds, coords, coords)),
    st.tuples(st.just('reset'), st.none()),
    st.tuples(st.just('resume'), st.none()),
    st.tuples(st.just('ack'), ack_texts),
)
#: Time steps, s (0: several things happen at one instant).
steps = st.lists(st.tuples(st.sampled_from([0.0, 0.05, 0.1, 0.1, 0.3, 0.6, 1.2, 4.0]),
                           actions, st.booleans()),
                 min_size=1, max_size=40)

# -- oracle ----------------------------------------------------------------------------------


def _stamp(age, now):
    return None if age is None else now - age


def _stale(stamp, now, timeout):
    return stamp is None or not math.isfinite(stamp) or now - stamp > timeout


def _finite(*values):
    return all(math.isfinite(v) for v in values)


def _outside_fence(x, y):
    """Farther from the field rectangle than the geofence margin (shapely's buffer is inside)."""
    dx = max(X0 - x, 0.0, x - X1)
    dy = max(Y0 - y, 0.0, y - Y1)
    return math.hypot(dx, dy) > PARAMS.geofence_margin_m + 1e-6


def _must_not_move(inp, now):
    """Why the supervisor must output zero motion now (None: it may move)."""
    p = PARAMS
    if _stale(inp.heartbeat_stamp, now, p.heartbeat_timeout_s):
        return 'heartbeat stale'
    if inp.pose is None or _stale(inp.pose_stamp, now, p.localization_timeout_s):
        return 'pose stale'
    if not _finite(inp.pose.x, inp.pose.y, inp.pose.yaw):
        return 'pose not finite'
    if _outside_fence(inp.pose.x, inp.pose.y):
        return 'outside the geofence'
    if inp.cmd is None or _stale(inp.cmd_stamp, now, p.command_timeout_s):
        return 'command stale'
    if not _finite(inp.cmd.v, inp.cmd.omega):
        return 'command not finite'
    if inp.tool_cmd is None or _stale(inp.tool_cmd_stamp, now, p.command_timeout_s):
        return 'tool command stale'
    if not _finite(inp.tool_cmd.flail_speed, inp.tool_cmd.tiller_speed, inp.tool_cmd.depth):
        return 'tool command not finite'
    return None


class Model:
    """The latch bookkeeping the properties need, kept apart from the supervisor's."""

    def __init__(self):
        self.latched = False          # an e-stop latch not yet reset
        self.needs_resume = False     # latched since the last accepted resume
        self.inspection_due = False   # a latching event not yet acknowledged
        self.pressed = False

    def latch(self):
        self.latched = self.needs_resume = True


def _apply(sup, inp, model, action, now):
    """Apply one action to the inputs or the supervisor; check what the action returns."""
    kind, arg = action
    if kind == 'fresh':
        inp.cmd, inp.cmd_stamp = Twist2D(0.4, 0.1), now
        inp.tool_cmd, inp.tool_cmd_stamp = ToolCommand(83.8, 0.0, 0.15), now
        inp.heartbeat_stamp = now
        # the vehicle moves as it was last told (no slip, no runaway: tested below)
        inp.pose, inp.pose_stamp = VehicleState(now, -5.0, 10.0, 0.0, v=sup.last_v), now
        inp.tool_state, inp.tool_state_stamp = ToolState(now, 83.8, 0.0, 0.15), now
    elif kind == 'pose':
        x, y, yaw, age = arg
        inp.pose, inp.pose_stamp = VehicleState(now, x, y, yaw, v=sup.last_v), _stamp(age, now)
    elif kind == 'cmd':
        v, omega, age = arg
        inp.cmd, inp.cmd_stamp = Twist2D(v, omega), _stamp(age, now)
    elif kind == 'tool_cmd':
        speed, age = arg
        inp.tool_cmd, inp.tool_cmd_stamp = ToolCommand(speed, 0.0, 0.15), _stamp(age, now)
    elif kind == 'tool_state':
        ready, age = arg
        inp.tool_state = ToolState(now, 83.8 if ready else 5.0, 0.0, 0.15 if ready else 0.0)
        inp.tool_state_stamp = _stamp(age, now)
    elif kind == 'heartbeat':
        inp.heartbeat_stamp = _stamp(arg, now)
    elif kind == 'estop':
        inp.estop_pressed = model.pressed = arg
    elif kind == 'clearing':
        inp.mission_clearing = arg
    elif kind == 'event':
        ev_kind, x, y = arg
        latched = sup.on_event(SimEvent(now, ev_kind, 'item', 'AT', x, y), now)
        assert latched == (ev_kind in LATCHING)
        if latched:
            model.latch()
            model.inspection_due = True
            # e-stop always wins: a blast stops at once, before any timer tick
            assert sup.state is SafetyState.ESTOP
    elif kind == 'reset':
        ok, msg = sup.reset(inp, now)
        assert msg
        if model.latched:
            assert ok == (not model.pressed), msg
            if ok:
                model.latched = False
                # a reset alone never restarts: still stopped, waiting for the resume
                assert sup.state is SafetyState.PROTECTIVE_STOP, msg
    elif kind == 'resume':
        ok, msg = sup.resume(inp, now)
        assert msg
        if ok and model.needs_resume:
            # accepted only after a reset, released, inspected, with every input fine
            assert not model.latched and not model.pressed, msg
            assert not model.inspection_due, msg
            assert _must_not_move(inp, now) is None, msg
            model.needs_resume = False
        if not ok:
            # a machine-limit stop (here: a pose jump) also waits for a resume
            assert model.needs_resume or sup.limit_latch is not None, \
                f'refused without a latch: {msg}'
    elif kind == 'ack':
        ok, msg = sup.acknowledge_inspection(arg, now)
        assert ok == bool(arg.strip()), msg
        if ok:
            model.inspection_due = False


def _check_outputs(sup, inp, model, now, state, cmd, tool):
    p = PARAMS
    # always finite and within the limits
    assert _finite(cmd.v, cmd.omega, tool.flail_speed, tool.tiller_speed, tool.depth)
    assert abs(cmd.v) <= p.max_speed_mps and abs(cmd.omega) <= p.max_yaw_rate
    assert state is sup.state
    moving = cmd.v != 0.0 or cmd.omega != 0.0
    # e-stop always wins
    if inp.estop_pressed:
        assert state is SafetyState.ESTOP and not moving and tool == ToolCommand()
    # nothing moves or turns while latched
    if state is SafetyState.ESTOP:
        assert not moving and tool == ToolCommand()
    # no motion on a missing, stale or bad input
    why = _must_not_move(inp, now)
    assert not (moving and why), why
    # a reset alone never produces motion: a latch holds everything until a resume
    if model.needs_resume:
        assert not moving and tool == ToolCommand(), (state, sup.reason)
        assert state is not SafetyState.OK
    if moving:
        assert state is SafetyState.OK


@settings(max_examples=200, deadline=None)
@given(steps)
def test_supervisor_safety_properties(sequence):
    sup = SafetySupervisor(FIELD, PARAMS)
    inp = SafetyInputs()
    model = Model()
    now = 100.0
    for dt, action, judge in sequence:
        expanded = ([(dt, action, judge)] if action[0] != 'recover' else
                    [(0.05, a, True) for a in (RECOVERY if action[1] else RECOVERY_WITHOUT_ACK)])
        for dt, action, judge in expanded:
            now += dt
            _apply(sup, inp, model, action, now)
            if judge or action[0] in ('estop', 'reset', 'resume'):
                if inp.estop_pressed:
                    model.latch()
                state, cmd, tool = sup.update(inp, now)
                _check_outputs(sup, inp, model, now, state, cmd, tool)


#: Operator actions after a latch, in any order and number, without a resume.
no_resume = st.lists(st.one_of(st.just(('reset', None)), st.tuples(st.just('ack'), ack_texts),
                               st.tuples(st.just('estop'), st.booleans()),
                               st.just(('fresh', None))),
                     max_size=20)
#: Operator actions and latching events, resumes included.
operator_actions = st.lists(st.one_of(
    st.just(('reset', None)), st.just(('resume', None)), st.tuples(st.just('ack'), ack_texts),
    st.tuples(st.just('estop'), st.booleans()),
    st.tuples(st.just('event'), st.tuples(st.sampled_from(LATCHING + ('ap_detonation',)),
                                          st.just(1.0), st.just(2.0)))), max_size=25)


def _latch(sup, inp, model, cause, now):
    if cause == 'operator':
        _apply(sup, inp, model, ('estop', True), now)
        model.latch()
        assert sup.update(inp, now)[0] is SafetyState.ESTOP
    else:
        _apply(sup, inp, model, ('event', (cause, 1.0, 2.0)), now)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(['operator', 'at_detonation', 'damage']), no_resume)
def test_a_reset_alone_never_produces_motion(cause, actions_after):
    """However many resets, acks and e-stop releases follow a latch, nothing moves."""
    sup = SafetySupervisor(FIELD, PARAMS)
    inp = SafetyInputs()
    model = Model()
    now = 10.0
    _apply(sup, inp, model, ('fresh', None), now)
    assert sup.update(inp, now)[0] is SafetyState.OK          # it moves before the latch
    now += 0.1
    _latch(sup, inp, model, cause, now)
    for action in actions_after + [('estop', False), ('fresh', None), ('reset', None),
                                   ('ack', 'inspected'), ('fresh', None)]:
        now += 0.1
        _apply(sup, inp, model, action, now)
        if inp.estop_pressed:
            model.latch()
        state, cmd, tool = sup.update(inp, now)
        assert (cmd.v, cmd.omega) == (0.0, 0.0) and tool == ToolCommand()
        assert state is not SafetyState.OK
    # the explicit resume, and only it, lets the machine move again
    now += 0.1
    ok, msg = sup.resume(inp, now)
    assert ok, msg
    state, cmd, _ = sup.update(inp, now)
    assert state is SafetyState.OK and cmd.v > 0.0


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(['operator', 'at_detonation', 'damage']), operator_actions)
def test_resume_is_accepted_exactly_when_reset_released_and_inspected(cause, ops):
    """With every input fresh, the vehicle moves exactly when no latch awaits a resume, and a
    resume is accepted exactly after a reset, the e-stop released and, after a detonation or
    damage event, an acknowledgement received after it."""
    sup = SafetySupervisor(FIELD, PARAMS)
    inp = SafetyInputs()
    model = Model()
    now = 10.0
    _apply(sup, inp, model, ('fresh', None), now)
    now += 0.1
    _latch(sup, inp, model, cause, now)
    for op in ops + [('estop', False), ('reset', None), ('ack', 'inspected'), ('resume', None)]:
        now += 0.1
        _apply(sup, inp, model, ('fresh', None), now)
        if op[0] == 'resume':
            expected = not model.pressed and not (
                model.needs_resume and (model.latched or model.inspection_due))
            needed = model.needs_resume
            ok, msg = sup.resume(inp, now)
            assert ok == expected, msg
            if ok:
                model.needs_resume = False
                assert not needed or msg.startswith('resumed by operator'), msg
        else:
            _apply(sup, inp, model, op, now)
        if inp.estop_pressed:
            model.latch()
        state, cmd, tool = sup.update(inp, now)
        _check_outputs(sup, inp, model, now, state, cmd, tool)
        assert (cmd.v > 0.0) == (not model.needs_resume), (state, sup.reason)
    assert state is SafetyState.OK


# --- people zone (issue 8 item 1) ------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['clear', 'slow', 'stop', None]),
                          st.floats(-2.0, 2.0), st.floats(0.0, 120.0), st.booleans()),
                min_size=1, max_size=30))
def test_no_motion_and_no_rotor_speed_while_the_people_zone_is_stop(steps):
    from demining_bringup.contract.datatypes import PeopleZone, VehicleState
    sup = SafetySupervisor(FIELD, SafetyParams(people_monitor_required=True))
    t = 0.0
    for zone, v, flail, fresh_zone in steps:
        t += 0.1
        inputs = SafetyInputs(cmd=Twist2D(v, 0.1), cmd_stamp=t,
                              tool_cmd=ToolCommand(flail, flail, 0.15), tool_cmd_stamp=t,
                              heartbeat_stamp=t, pose=VehicleState(t, X0 - 2.0, Y0, 0.0),
                              pose_stamp=t, tool_state=ToolState(t, flail, 0.0, 0.15),
                              tool_state_stamp=t)
        if zone is not None:
            inputs.people_zone = PeopleZone(t, zone, f'people zone {zone}: test')
            inputs.people_zone_stamp = t if fresh_zone else t - 10.0
        _, cmd, tool = sup.update(inputs, t)
        stop = zone is None or zone == 'stop' or not fresh_zone
        if stop:
            assert cmd == Twist2D() and tool == ToolCommand()
            assert sup.state is not SafetyState.OK
        elif zone == 'slow':
            assert abs(cmd.v) <= sup.params.people_slow_speed_mps + 1e-12


# --- machine limits (issue 8 item 2) ---------------------------------------------------------

LIMITS = SafetyParams(imu_required=True, tool_state_required=True)
DEG = math.pi / 180.0
#: Tilts, deg: level, below, near and above the work limits (20 pitch, 15 roll), beyond the
#: rollover limits (25, 20), and not finite.
tilts = st.one_of(st.sampled_from([0.0, 10.0, 14.9, 15.1, 19.9, 20.1, 24.0, 25.1, -21.0]),
                  st.floats(-40.0, 40.0), st.just(NAN))
limit_steps = st.lists(st.tuples(
    st.sampled_from([0.05, 0.1, 0.1, 0.3, 0.6, 1.2]),      # time step, s
    tilts, tilts,                                           # roll, pitch, deg
    st.sampled_from([0.0, 0.0, 0.3, 0.6, None]),            # IMU age, s (None: never)
    st.booleans(),                                          # IMU output repeats (frozen)
    st.sampled_from([0.0, 0.0, 0.3, 0.6, None]),            # tool-state age, s
    st.booleans(),                                          # the flail is jammed
    st.sampled_from([None, 0.0, 0.5, 1.5]),                 # measured |v| (None: as told)
    st.booleans(),                                          # operator resume
    st.booleans(),                                          # the mux passes teleop
    st.sampled_from([(0.4, 0.0), (-0.4, 0.0), (-0.4, 0.2), (0.0, 0.2)]),  # command v, omega
    st.floats(0.0, 8.0)),                                   # reversed so far, m
    min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(limit_steps)
def test_machine_limits_hold_for_any_tilt_imu_tool_and_motion_sequence(sequence):
    """No motion and no tool on a slope above the work limit or without a valid IMU or tool
    state; a tilt past the rollover limit or a runaway latches the e-stop; a machine-limit stop
    (repeated stalls, slip) holds everything until a resume. Teleop alone may creep out of a
    slope or machine-limit stop, never faster than the creep speed and never with the tool;
    autonomy only out of a slope stop, straight back, within ``slope_recovery_m`` of where the
    stop began."""
    p = LIMITS
    sup = SafetySupervisor(FIELD, p)
    now = 100.0
    frozen_since = None
    runaway_since = None
    for (dt, roll, pitch, imu_age, frozen, ts_age, jammed, measured, resume, teleop,
         (cmd_v, cmd_w), back) in sequence:
        now += dt
        x = X0 - 5.0 - back                   # the machine has reversed ``back`` so far
        frozen_since = (frozen_since if frozen_since is not None else now) if frozen else None
        flail = 20.0 if jammed else 83.8
        v_meas = sup.last_v if measured is None else measured
        inp = SafetyInputs(
            cmd=Twist2D(cmd_v, cmd_w), cmd_stamp=now,
            tool_cmd=ToolCommand(83.8, 0.0, 0.15), tool_cmd_stamp=now, heartbeat_stamp=now,
            pose=VehicleState(now, x, 10.0, 0.0, v=v_meas), pose_stamp=now,
            tool_state=ToolState(now, flail, 0.0, 0.15, 12000.0 if jammed else 2000.0),
            tool_state_stamp=_stamp(ts_age, now), roll=roll * DEG, pitch=pitch * DEG,
            imu_stamp=_stamp(imu_age, now), imu_frozen_since=frozen_since,
            cmd_source='teleop' if teleop else 'auto')
        was_latched = sup.limit_latch is not None
        if resume:
            ok, msg = sup.resume(inp, now)
            if was_latched and ok:
                assert not sup.protective_causes(inp, now), msg
        commanded = abs(sup.last_v)
        runaway = v_meas > commanded + p.runaway_margin_mps
        runaway_since = (runaway_since if runaway_since is not None else now) if runaway \
            else None
        state, cmd, tool = sup.update(inp, now)
        moving = cmd.v != 0.0 or cmd.omega != 0.0
        imu_ok = (imu_age is not None and imu_age <= p.imu_timeout_s and _finite(roll, pitch)
                  and (frozen_since is None or now - frozen_since < p.imu_frozen_s))
        if imu_ok and (abs(roll) > p.rollover_roll_deg or abs(pitch) > p.rollover_pitch_deg):
            assert state is SafetyState.ESTOP, sup.reason
        if runaway_since is not None and now - runaway_since >= p.motion_mismatch_time_s:
            assert state is SafetyState.ESTOP, sup.reason
        over = imu_ok and (abs(roll) > p.max_work_roll_deg or abs(pitch) > p.max_work_pitch_deg)
        ts_ok = ts_age is not None and ts_age <= p.tool_state_timeout_s
        creeping = moving and teleop and (over or sup.limit_latch is not None)
        backing = moving and not teleop and over and sup.limit_latch is None
        if backing:
            assert imu_ok and ts_ok and tool == ToolCommand(), sup.reason
            assert -p.teleop_creep_speed_mps - 1e-12 <= cmd.v < 0.0 and cmd.omega == 0.0
            start = sup._slope_from               # the pose at the stop's first judgement
            assert start is not None and abs(start[0] - x) < p.slope_recovery_m
        elif creeping:
            assert imu_ok and ts_ok and tool == ToolCommand(), sup.reason
            assert abs(cmd.v) <= p.teleop_creep_speed_mps + 1e-12
            assert abs(cmd.omega) <= p.teleop_creep_yaw_rate + 1e-12
        elif over or not imu_ok or not ts_ok or sup.limit_latch is not None:
            assert not moving and tool == ToolCommand(), (roll, pitch, imu_age, sup.reason)
            assert state is not SafetyState.OK or teleop
        if moving:
            assert state is SafetyState.OK


# --- keep-out on the footprint: allowed ground (issue 8 item 3) -------------------------------

#: Declared safe ground: an approach lane from the west to the field's edge.
LANE_BOX = (-15.0, 7.0, 0.0, 13.0)
#: The processed-ground grid the mission publishes (0.1 m, origin 1 m out of the field).
GRID_RES, GRID_X0, GRID_Y0 = 0.1, X0 - 1.0, Y0 - 1.0
GRID_SHAPE = (int((Y1 - Y0 + 2.0) / GRID_RES), int((X1 - X0 + 2.0) / GRID_RES))
ALLOWED = SafetyParams(allowed_ground_check=True, allowed_ground_enforce_declared=True)
#: A processed box (x0, y0, width, height) in the field.
boxes = st.tuples(st.floats(0.0, 28.0), st.floats(0.0, 18.0), st.floats(0.5, 12.0),
                  st.floats(0.5, 12.0))
allowed_steps = st.lists(st.tuples(
    st.sampled_from(['drive', 'drive', 'drive', 'teleport', 'grid']),
    st.tuples(st.floats(-12.0, 32.0), st.floats(-3.0, 23.0), st.floats(-3.2, 3.2)),
    st.tuples(st.floats(-1.2, 1.2), st.floats(-0.8, 0.8)),        # the command (v, omega)
    st.booleans(),                                                  # the tool works
    boxes),
    min_size=1, max_size=25)


def _rect(x, y, yaw, inset):
    """The tracks' rectangle (independent of the implementation's helpers)."""
    from shapely.geometry import Polygon
    c, s = math.cos(yaw), math.sin(yaw)
    half_l = 0.5 * ALLOWED.track_length_m - inset
    half_w = 0.5 * (ALLOWED.track_gauge_m + ALLOWED.track_width_m) - inset
    pts = [(-half_l, -half_w), (half_l, -half_w), (half_l, half_w), (-half_l, half_w)]
    return Polygon([(x + c * u - s * w, y + s * u + c * w) for u, w in pts])


def _tool(x, y, yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    cx, cy = x + ALLOWED.tool_offset_x_m * c, y + ALLOWED.tool_offset_x_m * s
    h = 0.5 * ALLOWED.tool_width_m
    return [(cx - h * s, cy + h * c), (cx + h * s, cy - h * c)]


def _sweep(a, b):
    """What the tool sweeps between two poses (a superset: the hull of its lines)."""
    from shapely.geometry import MultiPoint
    n = max(1, int(math.ceil(abs(math.remainder(b[2] - a[2], 2 * math.pi)) / 0.05)))
    d = math.remainder(b[2] - a[2], 2 * math.pi)
    out = []
    for k in range(n):
        p0 = [a[i] + (b[i] - a[i]) * k / n for i in (0, 1)] + [a[2] + d * k / n]
        p1 = [a[i] + (b[i] - a[i]) * (k + 1) / n for i in (0, 1)] + [a[2] + d * (k + 1) / n]
        out.append(MultiPoint(_tool(*p0) + _tool(*p1)).convex_hull)
    return out


@settings(max_examples=60, deadline=None)
@given(allowed_steps)
def test_no_motion_whose_predicted_footprint_leaves_allowed_ground(sequence):
    """Whatever the poses, commands, tool and processed ground, a motion passed on keeps the
    tracks' footprint, placed along it over the horizon, on allowed ground: declared safe, the
    mission's processed grid, the tool's own sweep (seen or, working, ahead of the tracks), the
    parked position, or the ground under the tracks already."""
    from shapely.geometry import box
    from shapely.ops import unary_union
    lane = box(*LANE_BOX)
    sup = SafetySupervisor(FIELD, ALLOWED, safe_ground=lane)
    grid = np.zeros(GRID_SHAPE, dtype=np.int8)
    known = [lane]                          # the oracle's allowed ground, grown as it learns
    slack = 1.5 * ALLOWED.allowed_ground_resolution_m       # the raster's discretisation
    inset = ALLOWED.allowed_ground_tolerance_m + slack
    pose = (-10.0, 10.0, 0.0)
    last_working = None
    t = 0.0
    moved = 0
    for kind, teleport, (v, omega), working, (bx, by, bw, bh) in sequence:
        t += 0.1
        if kind == 'teleport':
            pose = teleport
        elif kind == 'grid':
            j0, i0 = int((by - GRID_Y0) / GRID_RES), int((bx - GRID_X0) / GRID_RES)
            grid[j0:j0 + int(bh / GRID_RES), i0:i0 + int(bw / GRID_RES)] = 100
            sup.on_processed(grid, GRID_X0, GRID_Y0, GRID_RES)
            known.append(box(GRID_X0 + i0 * GRID_RES, GRID_Y0 + j0 * GRID_RES,
                             GRID_X0 + (i0 + int(bw / GRID_RES)) * GRID_RES,
                             GRID_Y0 + (j0 + int(bh / GRID_RES)) * GRID_RES))
        flail = 83.8 if working else 0.0
        inp = SafetyInputs(cmd=Twist2D(v, omega), cmd_stamp=t,
                           tool_cmd=ToolCommand(83.8, 0.0, 0.15), tool_cmd_stamp=t,
                           heartbeat_stamp=t, pose=VehicleState(t, *pose, v=sup.last_v),
                           pose_stamp=t, tool_state=ToolState(t, flail, 0.0, 0.15),
                           tool_state_stamp=t)
        if t == 0.1:
            known.append(_rect(*pose, -ALLOWED.allowed_ground_tolerance_m))     # parked
        if working and last_working is not None and math.dist(pose[:2], last_working[:2]) <= 5.0:
            known.extend(_sweep(last_working, pose))
        last_working = pose if working else None
        _, cmd, _ = sup.update(inp, t)
        if cmd.v != 0.0 or cmd.omega != 0.0:
            moved += 1
            ok = unary_union(known + [_rect(*pose, -slack)]).buffer(slack)
            # the motion passed on, placed as the supervisor places it (5 steps over the
            # horizon), sampled finer; the tool's sweep counts once it is ahead of the tracks
            dt = ALLOWED.allowed_ground_horizon_s / 5
            poses = [pose]
            for _ in range(5):
                x, y, yaw = poses[-1]
                poses.append((x + cmd.v * math.cos(yaw) * dt, y + cmd.v * math.sin(yaw) * dt,
                              yaw + cmd.omega * dt))
            for k in range(5):
                for f in np.linspace(0.0, 1.0, 5):
                    p = [poses[k][i] + (poses[k + 1][i] - poses[k][i]) * f for i in range(3)]
                    outside = _rect(*p, inset).difference(ok)
                    assert outside.area < 1e-6, (pose, cmd, p, outside.area)
                if working:
                    ok = unary_union([ok] + _sweep(poses[k], poses[k + 1])).buffer(slack)
        # the vehicle moves as it was told for 0.1 s (a 'drive' step)
        if kind == 'drive':
            x, y, yaw = pose
            pose = (x + cmd.v * math.cos(yaw) * 0.1, y + cmd.v * math.sin(yaw) * 0.1,
                    yaw + cmd.omega * 0.1)
