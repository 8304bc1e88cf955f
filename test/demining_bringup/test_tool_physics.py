"""The tool-soil relation shared by the simulator and the tool controller (one source)."""

import math

import pytest

from demining_bringup.contract import tool_physics as tp
from demining_bringup.contract import wire
from demining_bringup.contract import topics
from demining_bringup.contract.codec import DecodeError
from demining_sim import ground_processing as gp
from std_msgs.msg import Float32


def test_the_calibration_point_and_its_inverse():
    ref = tp.FlailReference()
    w = 800.0 * tp.TWO_PI / 60.0
    s = tp.strikes_per_m2(34, w, 0.5 / 3.6, 2.0)
    assert s == pytest.approx(tp.reference_strikes_per_m2(ref))
    assert tp.flail_reach_m(ref, s, 1.0) == pytest.approx(0.2)
    # at 0.4 m/s the MV-4 flail reaches only ~69 mm in loam; 150 mm needs < 0.19 m/s
    assert tp.flail_reach_m(ref, tp.strikes_per_m2(34, w, 0.4, 2.0), 1.0) == \
        pytest.approx(0.0694, abs=1e-3)
    v = tp.flail_speed_for_depth(ref, 0.15, w, 2.0, 34, 1.0)
    assert v == pytest.approx(0.185, abs=1e-3)
    assert tp.flail_reach_m(ref, tp.strikes_per_m2(34, w, v, 2.0), 1.0) == pytest.approx(0.15)
    # harder soil: proportionally slower
    assert tp.flail_speed_for_depth(ref, 0.15, w, 2.0, 34, 1.8) == pytest.approx(v / 1.8)


def test_the_simulator_uses_the_same_relation():
    p = gp.ProcessingParams()
    ref = gp.flail_reference(p)
    assert gp.flail_reach_m(p, 1234.0, 1.3) == tp.flail_reach_m(ref, 1234.0, 1.3)
    assert gp.strikes_per_m2(34, 80.0, 0.3, 2.0) == tp.strikes_per_m2(34, 80.0, 0.3, 2.0)


def test_load_law_and_its_inverses():
    t = tp.soil_torque_nm(10000.0, 1.3, 0.15, 0.2, 1.5)
    assert t == pytest.approx(10000.0 * 1.3 * 0.15 * 1.3)
    assert tp.hardness_from_torque(t, 10000.0, 0.15, 0.2, 1.5) == pytest.approx(1.3)
    assert math.isnan(tp.hardness_from_torque(t, 10000.0, 0.0, 0.2, 1.5))
    v = tp.speed_for_torque(t, 10000.0, 1.3, 0.15, 1.5)
    assert v == pytest.approx(0.2)
    assert tp.speed_for_torque(100.0, 10000.0, 1.3, 0.15, 1.5) == 0.0   # not even standing


def test_the_speed_limit_wire_refuses_what_is_not_a_speed():
    w = wire.wires()[topics.TOOL_SPEED_LIMIT]
    assert w.decode(w.encode(0.17, 0.0)) == pytest.approx(0.17)
    for bad in (-0.1, float('nan'), float('inf')):
        with pytest.raises(DecodeError):
            w.decode(Float32(data=bad))
