"""Tests of the flail/tiller controller against a first-order tool model."""

import pytest

from demining_bringup.contract.datatypes import ToolState
from demining_bringup.contract.parameters import ParamError, from_dict
from demining_control.tools.controller import ToolController, ToolParams, ToolPhase

DT = 0.1


class ToolModel:
    """Rotor and depth follow their commands with lags; a 'hard' patch loads the rotor."""

    def __init__(self):
        self.speed = 0.0
        self.depth = 0.0
        self.torque = 0.0
        self.hard = False

    def step(self, cmd, t):
        self.speed += (cmd.flail_speed - self.speed) * min(1.0, DT / 0.5)
        self.depth += max(-0.005, min(0.005, cmd.depth - self.depth))
        if self.hard and self.depth > 0.12:
            self.speed *= 0.7          # the rotor digs in and stalls
            self.torque = 20000.0
        else:
            self.torque = 3000.0 if self.depth > 0.0 else 500.0
        return ToolState(t, self.speed, 0.0, self.depth, self.torque, 0.0)


def run(ctl, model, steps, active=True, t0=0.0, log=None):
    ts = ToolState(t0, model.speed, 0.0, model.depth, model.torque, 0.0)
    cmd = None
    for k in range(steps):
        cmd = ctl.update(None, ts, active, DT)
        ts = model.step(cmd, t0 + k * DT)
        if log is not None:
            log.append((ctl.phase, cmd.flail_speed, cmd.depth, ts.flail_speed))
    return cmd


def test_spins_up_before_lowering_then_holds_depth():
    ctl, model = ToolController(), ToolModel()
    log = []
    cmd = run(ctl, model, 300, log=log)
    phases = [p for p, *_ in log]
    assert phases[0] is ToolPhase.SPIN_UP
    assert ToolPhase.LOWERING in phases and phases[-1] is ToolPhase.WORKING
    # the depth command stays 0 until the measured rotor is at 90 % of the target
    first_lower = next(i for i, (_, _, d, _) in enumerate(log) if d > 0.0)
    assert log[first_lower - 1][3] >= 0.9 * 83.8
    assert cmd.depth == pytest.approx(0.15) and cmd.flail_speed == pytest.approx(83.8)
    assert ctl.ready


def test_stall_lifts_limits_speed_and_recovers():
    ctl, model = ToolController(), ToolModel()
    run(ctl, model, 300)
    assert ctl.phase is ToolPhase.WORKING
    model.hard = True
    log = []
    run(ctl, model, 30, t0=30.0, log=log)
    assert ctl.phase is ToolPhase.STALL_RECOVERY and ctl.stall_count == 1
    assert ctl.speed_limit_mps == pytest.approx(0.1) and not ctl.ready
    assert log[-1][2] < 0.15        # lifting by 5 cm
    model.hard = False
    run(ctl, model, 200, t0=33.0)
    assert ctl.phase is ToolPhase.WORKING and ctl.ready
    assert ctl.speed_limit_mps == pytest.approx(5.0)


def test_not_clearing_lifts_then_idles():
    ctl, model = ToolController(), ToolModel()
    run(ctl, model, 300)
    log = []
    cmd = run(ctl, model, 300, active=False, t0=30.0, log=log)
    assert log[0][0] is ToolPhase.LIFTING and log[0][1] == pytest.approx(83.8)
    first_slow = next(i for i, (_, s, _, _) in enumerate(log) if s < 83.8)
    assert log[first_slow][2] == 0.0          # rotor slows only once the tool is up
    assert (cmd.flail_speed, cmd.depth) == (0.0, 0.0) and ctl.phase is ToolPhase.IDLE


def test_missing_or_nan_state_lifts():
    ctl, model = ToolController(), ToolModel()
    run(ctl, model, 300)
    for _ in range(50):
        cmd = ctl.update(None, None, True, DT)
    assert cmd.depth == 0.0
    cmd = ctl.update(None, ToolState(0.0, float('nan')), True, DT)
    assert cmd.depth == 0.0 and not ctl.ready


def test_params_cross_checks():
    with pytest.raises(ParamError):
        from_dict(ToolParams, {'stall_speed_fraction': 0.95, 'ready_speed_fraction': 0.9})
