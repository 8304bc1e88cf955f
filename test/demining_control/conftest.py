"""Fixtures shared by the control tests."""

import json
import math

import pytest

from demining_bringup.contract.geo import LocalCartesian

LAT0, LON0 = 45.0, 16.0


@pytest.fixture
def area_file(tmp_path):
    """A GeoJSON hazard area: a 30 x 20 m square with its south-west corner at the origin."""
    lc = LocalCartesian(LAT0, LON0, 0.0)
    ring = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0), (0.0, 0.0)]
    lat, lon, _ = lc.to_geodetic([p[0] for p in ring], [p[1] for p in ring], [0.0] * len(ring))
    doc = {'type': 'Feature', 'properties': {'name': 'square', 'origin': [LAT0, LON0]},
           'geometry': {'type': 'Polygon',
                        'coordinates': [[[float(a), float(b)] for a, b in zip(lon, lat)]]}}
    path = tmp_path / 'area.geojson'
    path.write_text(json.dumps(doc))
    return str(path)


def _followed(way, yaw, horizon, max_v):
    """The commands (x, y, yaw, v, omega) the path follower gives driving the waypoints
    ``way`` ((x, y, facing), the facing on the leg leaving each) from heading ``yaw``: pivots
    the short way, each command slow enough to stop within ``horizon`` s, at most ``max_v``
    m/s; each from the pose the machine has then."""
    x, y = way[0][0], way[0][1]
    for (_, _, facing), (nx, ny, _) in zip(way, way[1:]):
        while True:
            left = math.atan2(math.sin(facing - yaw), math.cos(facing - yaw))
            if abs(left) < 1e-9:
                break
            yield x, y, yaw, 0.0, math.copysign(min(0.3, abs(left) / horizon), left)
            yaw += math.copysign(min(0.02, abs(left)), left)
        ahead = (nx - x) * math.cos(yaw) + (ny - y) * math.sin(yaw) > 0.0
        while math.hypot(nx - x, ny - y) > 1e-6:
            d = math.hypot(nx - x, ny - y)
            v = min(max_v, d / horizon)
            yield x, y, yaw, v if ahead else -v, 0.0
            f = min(1.0, 0.05 / d)
            x, y = x + f * (nx - x), y + f * (ny - y)


@pytest.fixture
def supervisor_refusals():
    """``refusals(way, yaw, zones_at)``: drive the waypoints ``way`` ((x, y, facing), the
    facing on the leg leaving each) from heading ``yaw`` as the path follower does (pivots the
    short way, each command slow enough to stop within the supervisor's horizon) past the
    safety supervisor with no-go discs ``zones_at`` ((x, y, zone radius)); the poses and
    commands it refuses."""
    from demining_bringup.contract.datatypes import (Detection, DetectionKind, Twist2D,
                                                     VehicleState)
    from demining_control.safety.supervisor import SafetyInputs, SafetySupervisor

    def refusals(way, yaw, zones_at):
        sup = SafetySupervisor([(-100.0, -100.0), (100.0, -100.0), (100.0, 100.0),
                                (-100.0, 100.0)])
        margin = sup.params.no_go_margin_m
        sup.on_detections([Detection(x=x, y=y, depth=0.2, confidence=0.9,
                                     kind=DetectionKind.AT, radius=r - margin)
                           for x, y, r in zones_at])
        out = []
        for x, y, h, v, omega in _followed(way, yaw, sup.params.keep_out_horizon_s, 0.4):
            inp = SafetyInputs(cmd=Twist2D(v, omega), pose=VehicleState(0.0, x, y, h))
            if sup._enters_no_go(inp):
                out.append((round(x, 2), round(y, 2), round(h, 2), v, omega))
        return out
    return refusals


@pytest.fixture
def suspect_refusals():
    """``refusals(way, yaw, zone_at, suspect_at)``: drive the waypoints ``way`` as
    ``supervisor_refusals`` does (at most 0.3 m/s) past the safety supervisor at its defaults,
    which refuse a track on an AP track, knowing an AT mine at ``zone_at`` and an AP track at
    ``suspect_at``; the poses it refuses because a track would press a suspect."""
    from demining_bringup.contract.datatypes import (Detection, DetectionKind, ToolCommand,
                                                     ToolState, Twist2D, VehicleState)
    from demining_bringup.contract.states import HAZARD_UNDER_TRACK
    from demining_control.safety.supervisor import (SafetyInputs, SafetyParams,
                                                    SafetySupervisor)

    def refusals(way, yaw, zone_at, suspect_at):
        sup = SafetySupervisor([(-50.0, -50.0), (50.0, -50.0), (50.0, 50.0), (-50.0, 50.0)],
                               SafetyParams(allowed_ground_check=True))
        assert sup.params.ap_track_enforce and not sup.params.suspect_track_enforce
        sup.on_detections([Detection(x=zone_at[0], y=zone_at[1], depth=0.2, confidence=0.9,
                                     kind=DetectionKind.AT, radius=0.16),
                           Detection(x=suspect_at[0], y=suspect_at[1], depth=0.1,
                                     confidence=0.6, kind=DetectionKind.AP, radius=0.05)])
        out = []
        for k, (x, y, h, v, omega) in enumerate(
                _followed(way, yaw, sup.params.keep_out_horizon_s, 0.3)):
            t = 0.1 * (k + 1)
            inp = SafetyInputs(cmd=Twist2D(v, omega), cmd_stamp=t, tool_cmd=ToolCommand(),
                               tool_cmd_stamp=t, heartbeat_stamp=t,
                               pose=VehicleState(t, x, y, h, v=0.0), pose_stamp=t,
                               tool_state=ToolState(t, 0.0, 0.0, 0.0), tool_state_stamp=t)
            sup.update(inp, t)
            if HAZARD_UNDER_TRACK in sup.reason:
                out.append((round(x, 2), round(y, 2), round(h, 2)))
        return out
    return refusals
