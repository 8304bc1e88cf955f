"""Keep-out of detected AT mines and UXO: no command may sweep the footprint into a zone."""

import math

import numpy as np

from demining_bringup.contract.datatypes import Detection, DetectionKind, Twist2D
from demining_bringup.contract.states import SafetyState
from demining_control.safety import supervisor
from demining_control.safety.supervisor import SafetySupervisor

from test_supervisor import FIELD, fresh_inputs

AT = Detection(x=10.0, y=10.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT, radius=0.16)


def _judge(sup, x, v, omega, now=1.0, yaw=0.0):
    inputs = fresh_inputs(now, x=x, y=10.0, yaw=yaw, v=v, omega=omega)
    state, cmd, _ = sup.update(inputs, now)
    return state, cmd


def test_driving_towards_a_detected_at_mine_stops_before_the_footprint_reaches_it():
    sup = SafetySupervisor(FIELD)
    assert sup.on_detections([AT]) == 1
    assert sup.on_detections([AT]) == 0
    # far away: the command passes
    state, cmd = _judge(sup, x=0.0, v=0.4, omega=0.0)
    assert state is SafetyState.OK and cmd.v > 0.0
    # front of the footprint (3.3 m ahead) within the 2 s sweep of the 1.16 m zone: stop
    state, cmd = _judge(sup, x=10.0 - 1.16 - 3.3 - 0.5, v=0.4, omega=0.0, now=2.0)
    assert state is SafetyState.PROTECTIVE_STOP and 'no-go' in sup.reason
    assert cmd.v == 0.0 and cmd.omega == 0.0


def test_backing_out_of_a_zone_is_allowed_and_turning_into_it_is_not():
    sup = SafetySupervisor(FIELD)
    sup.on_detections([AT])
    # the zone was detected ahead with the front already inside it: reversing passes ...
    state, cmd = _judge(sup, x=10.0 - 1.0 - 3.3, v=-0.3, omega=0.0)
    assert state is SafetyState.OK and cmd.v < 0.0
    # ... a pivot (which swings the front through the zone) and going on forward do not
    for v, omega in ((0.0, 0.4), (0.4, 0.0)):
        state, cmd = _judge(sup, x=10.0 - 1.0 - 3.3, v=v, omega=omega, now=2.0)
        assert state is SafetyState.PROTECTIVE_STOP and cmd == Twist2D(0.0, 0.0)


def test_other_detections_make_no_zone_and_a_zone_never_goes_away():
    sup = SafetySupervisor(FIELD)
    for kind in (DetectionKind.AP, DetectionKind.CLUTTER, DetectionKind.UNKNOWN):
        assert sup.on_detections([Detection(x=10.0, y=10.0, depth=0.1, confidence=0.9,
                                            kind=kind)]) == 0
    sup.on_detections([AT])
    sup.on_detections([Detection(x=10.0, y=10.0, depth=0.2, confidence=0.9,
                                 kind=DetectionKind.CLUTTER)])
    state, _ = _judge(sup, x=10.0 - 1.16 - 3.3 - 0.5, v=0.4, omega=0.0)
    assert state is SafetyState.PROTECTIVE_STOP
    assert math.isclose(sup.no_go.discs[0][2], 1.16)


def test_the_box_pretest_gives_the_verdict_of_the_full_geometry(monkeypatch):
    """The keep-out's bounding-box pre-test only skips motions nowhere near a zone: over
    random poses and commands round two zones, the same verdicts as the footprints alone."""
    rng = np.random.default_rng(7)
    sup = SafetySupervisor(FIELD)
    sup.on_detections([AT, Detection(x=14.0, y=12.5, depth=0.3, confidence=0.9,
                                     kind=DetectionKind.UXO, radius=0.3)])
    cases = []
    for _ in range(400):
        x, y = rng.uniform(2.0, 22.0), rng.uniform(2.0, 20.0)
        yaw = rng.uniform(-math.pi, math.pi)
        v, omega = rng.choice([-0.4, 0.0, 0.4, 0.8]), rng.choice([-0.4, 0.0, 0.4])
        cases.append(fresh_inputs(1.0, x=x, y=y, yaw=yaw, v=v, omega=omega))
    near = []
    real_boxes_near = supervisor._boxes_near

    def counted(*args):
        near.append(real_boxes_near(*args))
        return near[-1]

    monkeypatch.setattr(supervisor, '_boxes_near', counted)
    fast = [sup._enters_no_go(inputs) for inputs in cases]
    assert 20 < near.count(False) < len(near) - 20     # the pre-test decides some, not all
    monkeypatch.setattr(supervisor, '_boxes_near', lambda *args: True)
    slow = [sup._enters_no_go(inputs) for inputs in cases]
    assert fast == slow
    assert 20 < sum(slow) < len(slow) - 20       # both verdicts well represented
