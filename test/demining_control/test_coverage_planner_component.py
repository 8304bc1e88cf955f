"""The coverage planner component: first plan, and a re-plan around a new AT no-go zone."""

import numpy as np
import pytest
from shapely.geometry import LineString, Point

from demining_bringup.contract.datatypes import Detection, DetectionKind, Detections, VehicleState
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.coverage.no_go import disc_polygon
from demining_control.coverage_planner_node import CoveragePlannerComponent
from demining_control.follower.pure_pursuit import PathFollower


def _runtime(area_file):
    out = []
    rt = ComponentRuntime(CoveragePlannerComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({'area_file': area_file})
    rt.activate(0.0)
    return rt, out


def test_a_new_at_zone_ahead_makes_a_path_that_backs_out_then_avoids_it(area_file):
    rt, out = _runtime(area_file)
    rt.deliver('pose', VehicleState(0.0, -5.0, 1.0, 0.0), 0.0)
    assert len(out) == 1
    # driving east along the first lane; the boom (4 m ahead) finds an AT mine
    pose = VehicleState(50.0, 6.0, 1.0, 0.0)
    rt.deliver('pose', pose, 50.0)
    at = Detection(x=10.0, y=1.0, depth=0.2, confidence=0.9, kind=DetectionKind.AT,
                   radius=0.16)
    rt.deliver('detections', Detections(50.0, [at]), 50.0)
    assert len(out) == 2
    path = np.asarray(out[-1][1])
    # from where it is, straight back facing as now (a reverse leg), then the re-plan
    assert np.allclose(path[0], (6.0, 1.0, 0.0))
    assert path[1][0] < path[0][0] and abs(path[1][1] - 1.0) < 1e-9
    follower = PathFollower()
    follower.set_path(path)
    cmd = follower.update(pose, 0.1)
    assert cmd.v < 0.0 and cmd.omega == pytest.approx(0.0, abs=1e-6)
    zone = disc_polygon(10.0, 1.0, 1.16)
    # the re-planned lanes keep the tool out of the zone
    for lane in rt.component.plan.lanes:
        strip = LineString([lane.tool_start, lane.tool_end]).buffer(1.0, cap_style='flat')
        assert strip.intersection(zone).area < 1e-6
    assert not zone.contains(Point(*path[-1]))
    # the same detection again: no new plan
    rt.deliver('detections', Detections(51.0, [at]), 51.0)
    assert len(out) == 2
