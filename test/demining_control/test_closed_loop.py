"""Closed loop of the control cores: planner + follower + unicycle + tool + processed grid."""

import math

import numpy as np
import pytest

from demining_bringup.contract.datatypes import ToolState, VehicleState
from demining_bringup.contract.states import LegKind
from demining_control.coverage.planner import CoverageParams, classify_work, plan_coverage
from demining_control.coverage.processed import ProcessedGrid
from demining_control.follower.pure_pursuit import FollowerStatus, PathFollower
from demining_control.tools.controller import ToolController

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]
DT = 0.1


# The governed speed (~0.16 m/s for 150 mm in loam) makes the mission ~2.5 x longer in
# simulated time than at 0.4 m/s.
@pytest.mark.timeout(300)
def test_30_by_20_field_reaches_99_percent():
    plan = plan_coverage(FIELD, [], (-6.0, -4.0))
    follower = PathFollower()
    # work legs as the follower node flags them (within its work_reach_m of the field): the
    # tool is down on them and raised on the far transits
    follower.set_path(np.column_stack([plan.waypoints, plan.facing]),
                      classify_work(plan.waypoints, FIELD, 4.0))
    tool = ToolController()
    grid = ProcessedGrid(FIELD, [], 0.1)
    x, y, yaw = -6.0, -4.0, 1.0
    rotor = depth = 0.0
    t = 0.0
    while follower.status is FollowerStatus.FOLLOWING and t < 8000.0:
        ts = ToolState(t, rotor, 0.0, depth, 2000.0, 0.0)
        tc = tool.update(ts, True, DT, follower.leg)
        follower.speed_limit_mps = tool.speed_limit_mps
        cmd = follower.update(VehicleState(t, x, y, yaw), DT)
        # what the safety interlock does (the tool is raised on transits: they are outside)
        v = cmd.v if tool.ready or follower.leg is not LegKind.WORK else 0.0
        rotor += (tc.flail_speed - rotor) * min(1.0, DT / 0.5)
        depth += max(-0.005, min(0.005, tc.depth - depth))
        x += v * math.cos(yaw) * DT
        y += v * math.sin(yaw) * DT
        yaw += cmd.omega * DT
        grid.update(x, y, yaw, rotor >= 75.0 and depth >= 0.13)
        t += DT
    assert follower.status is FollowerStatus.DONE
    assert grid.coverage_percent() >= 99.0
    # work legs at the tool's governed speed (150 mm in the soil its load shows), not 0.4 m/s
    governed = tool.governor.limit_mps
    assert 0.1 < governed < 0.3
    expected = plan_coverage(FIELD, [], (-6.0, -4.0),
                             CoverageParams(working_speed_mps=governed)).expected_time_s
    assert t < 1.3 * expected + 60.0


def test_exclusion_zone_closed_loop_backs_out_and_stays_clear():
    zone = [(12.0, 7.0), (18.0, 7.0), (18.0, 13.0), (12.0, 13.0)]
    plan = plan_coverage(FIELD, [zone], (-6.0, -4.0), CoverageParams(headland_passes='0'))
    assert plan.transit_over_unprocessed_m == 0.0
    follower = PathFollower()
    follower.set_path(np.column_stack([plan.waypoints, plan.facing]), plan.work)
    grid = ProcessedGrid(FIELD, [zone], 0.1)
    x, y, yaw = -6.0, -4.0, 0.0
    t = 0.0
    reversing = 0
    closest_tool = math.inf
    while follower.status is FollowerStatus.FOLLOWING and t < 4000.0:
        cmd = follower.update(VehicleState(t, x, y, yaw), DT)
        reversing += cmd.v < 0.0
        x += cmd.v * math.cos(yaw) * DT
        y += cmd.v * math.sin(yaw) * DT
        yaw += cmd.omega * DT
        grid.update(x, y, yaw, True)
        # the flail's ends and centre keep out of the zone (x 12..18, y 7..13)
        for side in (-1.0, 0.0, 1.0):
            tx = x + 2.6 * math.cos(yaw) - side * math.sin(yaw)
            ty = y + 2.6 * math.sin(yaw) + side * math.cos(yaw)
            dx = max(12.0 - tx, 0.0, tx - 18.0)
            dy = max(7.0 - ty, 0.0, ty - 13.0)
            closest_tool = min(closest_tool, math.hypot(dx, dy))
        t += DT
    assert follower.status is FollowerStatus.DONE
    assert reversing > 0                        # backed out of the lanes that end at the zone
    assert closest_tool > 0.3                   # exclusion_clearance_m is 0.5
    # what is left: the 0.5 m clearance ring round the zone and the wedges beside it
    # the tool stops short of the zone by the supervisor's footprint front (0.7 m) + 0.3 m, the
    # price of never being stopped there for good; what the lanes leave the gap re-cover takes
    assert grid.coverage_percent() >= 94.0
