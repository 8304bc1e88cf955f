"""Plan requests: written as the planner node gets them, planned again from the file."""

import json
import math

import numpy as np
import pytest
from shapely.geometry import Polygon, box

from demining_control.coverage.planner import CoverageParams, plan_coverage
from demining_control.coverage.requests import PlanRequest, read_request, write_request

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]


def _request(**kw):
    done = box(0.0, 0.0, 30.0, 6.0).union(box(0.0, 0.0, 4.0, 20.0))
    base = dict(field=FIELD, exclusion_zones=[[(12.0, 9.0), (16.0, 9.0), (16.0, 12.0)]],
                start=(3.0, 5.0), params=CoverageParams(headland_passes='1'), start_yaw=0.3,
                processed=done, safe_ground=box(-10.0, 0.0, 0.0, 3.0),
                no_go_zones=[[(20.0, 14.0), (21.0, 14.0), (21.0, 15.0), (20.0, 15.0)]],
                fence=Polygon(FIELD).buffer(10.0), stamp=123.5)
    base.update(kw)
    return PlanRequest(**base)


def test_a_request_written_and_read_plans_the_same_path(tmp_path):
    req = _request()
    first = write_request(str(tmp_path), req)
    second = write_request(str(tmp_path), _request(start_yaw=None, processed=None))
    assert [p.rsplit('/', 1)[1] for p in (first, second)] == ['plan_001.json', 'plan_002.json']
    again = read_request(first)
    assert again.stamp == 123.5 and again.start == (3.0, 5.0) and again.start_yaw == 0.3
    assert again.params == req.params
    assert again.processed.equals(req.processed) and again.fence.equals(req.fence)
    direct = plan_coverage(FIELD, req.exclusion_zones, req.start, req.params,
                           processed=req.processed, safe_ground=req.safe_ground,
                           no_go_zones=req.no_go_zones, fence=req.fence, start_yaw=0.3)
    assert np.allclose(again.plan().waypoints, direct.waypoints)
    other = read_request(second)
    assert other.start_yaw is None and other.processed is None
    assert not list(tmp_path.glob('*.tmp'))          # written whole, then renamed


def test_a_file_of_another_version_plans_with_the_defaults_it_lacks(tmp_path):
    doc = _request().to_dict()
    doc['params'] = {'tool_width_m': 2.0, 'a_field_from_elsewhere': 1}
    doc['stamp'] = None
    path = tmp_path / 'old.json'
    path.write_text(json.dumps(doc))
    req = read_request(str(path))
    assert req.params == CoverageParams(tool_width_m=2.0) and math.isnan(req.stamp)


@pytest.mark.parametrize('text, why', [
    ('{', 'Expecting'),
    ('[1, 2]', 'no schema'),
    ('{"schema": 99}', 'newer'),
    ('{"schema": 1, "field": [[0, 0]], "start": [1]}', 'start'),
    ('{"schema": 1, "field": [[0, 0]], "start": [1, 2], "processed": "!!"}', 'malformed'),
])
def test_anything_else_is_one_clear_error_naming_the_file(tmp_path, text, why):
    path = tmp_path / 'bad.json'
    path.write_text(text)
    with pytest.raises(ValueError) as err:
        read_request(str(path))
    assert str(path) in str(err.value) and why in str(err.value)


def test_the_ground_scanned_and_driven_before_a_request_is_kept_and_planned_again(tmp_path):
    # a re-plan judges its first pivot against what the boom scanned and where the machine
    # may move before it (its own trail): a replay without them planned another path
    scanned = box(0.0, 4.0, 30.0, 9.0)
    driven = box(-2.0, 3.0, 8.0, 7.0)
    req = _request(scanned=scanned, driven=driven)
    again = read_request(write_request(str(tmp_path), req))
    assert again.scanned.equals(scanned) and again.driven.equals(driven)
    direct = plan_coverage(FIELD, req.exclusion_zones, req.start, req.params,
                           processed=req.processed, safe_ground=req.safe_ground,
                           no_go_zones=req.no_go_zones, fence=req.fence, start_yaw=0.3,
                           scanned=scanned, driven=driven)
    assert np.allclose(again.plan().waypoints, direct.waypoints)
    # a file of schema 1 has neither: planned without them
    doc = req.to_dict()
    assert doc['schema'] == 3
    for key in ('scanned', 'driven'):
        del doc[key]
    doc['schema'] = 1
    old = PlanRequest.from_dict(doc)
    assert old.scanned is None and old.driven is None


def test_the_suspects_of_a_request_are_kept_and_planned_again(tmp_path):
    # a re-plan keeps its turns off the detected suspects: a replay without them planned
    # another path; a file before schema 3 has none
    suspects = [(12.0, 5.0, 0.35), (20.0, 8.0, 0.4)]
    req = _request(suspects=suspects)
    again = read_request(write_request(str(tmp_path), req))
    assert again.suspects == suspects
    direct = plan_coverage(FIELD, req.exclusion_zones, req.start, req.params,
                           processed=req.processed, safe_ground=req.safe_ground,
                           no_go_zones=req.no_go_zones, fence=req.fence, start_yaw=0.3,
                           suspects=suspects)
    assert np.allclose(again.plan().waypoints, direct.waypoints)
    doc = req.to_dict()
    del doc['suspects']
    doc['schema'] = 2
    assert PlanRequest.from_dict(doc).suspects == []
    doc['suspects'] = [[1.0, 2.0]]
    doc['schema'] = 3
    with pytest.raises(ValueError, match='suspect'):
        PlanRequest.from_dict(doc)
