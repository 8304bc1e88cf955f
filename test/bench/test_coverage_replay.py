"""bench/coverage.py --replay: a mission's plan requests planned again and measured."""

import json

from shapely.geometry import box

from bench import coverage as bench_coverage
from demining_control.coverage.planner import CoverageParams
from demining_control.coverage.requests import PlanRequest, write_request

FIELD = [(0.0, 0.0), (20.0, 0.0), (20.0, 12.0), (0.0, 12.0)]


def test_each_request_is_planned_again_and_measured_then_summed(tmp_path, capsys):
    done = box(0.0, 0.0, 20.0, 2.0)
    # a suspect on every turning ground of the field: some pivot presses it
    suspects = [(x + 0.5, y + 0.5, 0.4) for x in range(0, 20, 2) for y in range(3, 12, 2)]
    paths = [write_request(str(tmp_path), PlanRequest(
        field=FIELD, exclusion_zones=[], start=start, params=CoverageParams(),
        start_yaw=0.0, processed=done, stamp=stamp, suspects=suspects))
        for start, stamp in (((1.0, 1.0), 10.0), ((19.0, 1.0), 20.0))]
    everything = PlanRequest(field=FIELD, exclusion_zones=[], start=(1.0, 1.0),
                             params=CoverageParams(), processed=box(-1.0, -1.0, 21.0, 13.0))
    paths.append(write_request(str(tmp_path), everything))
    assert bench_coverage.replay(paths, 0.2) == 0
    lines = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    rows, total = lines[:-1], lines[-1]
    assert [r['stamp'] for r in rows[:2]] == [10.0, 20.0]
    assert all(r['length_m'] > 40.0 and r['keep_out_entries'] == 0 for r in rows[:2])
    assert 'refused' in rows[2]                      # nothing left: counted, not fatal
    assert total['requests'] == 3 and total['refused'] == 1
    assert total['field_violations'] == sum(r['field_violations'] for r in rows[:2])
    assert total['blind_track_stretches'] == sum(r['blind_track_stretches'] for r in rows[:2])
    assert all(r['suspects'] == len(suspects) and 0 < r['suspects_pressed'] < len(suspects)
               for r in rows[:2])
    assert total['suspects_pressed'] == sum(r['suspects_pressed'] for r in rows[:2])
    for key in ('blind_lead_m2', 'unplanned_m2', 'length_m', 'plan_cpu_s'):
        assert abs(total[key] - sum(r[key] for r in rows[:2])) < 0.1, key
    assert total['length_m'] > 80.0 and total['plan_cpu_s'] > 0.0


def test_the_check_is_of_the_machine_the_request_planned_for():
    params = CoverageParams(sensor_width_m=3.2, sensor_offset_x_m=3.5, tool_width_m=2.4,
                            track_gauge_m=1.8)
    contact = bench_coverage.contact_for(params, 0.2)
    assert (contact.sensor_width_m, contact.sensor_offset_x_m, contact.tool_width_m,
            contact.track_gauge_m, contact.resolution_m) == (3.2, 3.5, 2.4, 1.8, 0.2)
    assert bench_coverage.contact_for(params, 0.2, tool_offset_x_m=0.0).tool_offset_x_m == 0.0


def test_a_file_that_is_no_request_is_one_error_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / 'x.json'
    bad.write_text('{}')
    assert bench_coverage.main(['--replay', str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0]


def test_the_replayed_plans_are_drawn_with_png(tmp_path, capsys):
    done = box(0.0, 0.0, 20.0, 2.0)
    req = write_request(str(tmp_path), PlanRequest(
        field=FIELD, exclusion_zones=[], start=(1.0, 1.0), params=CoverageParams(),
        start_yaw=0.0, processed=done, no_go_zones=[[(14.0, 8.0), (16.0, 8.0), (16.0, 10.0)]],
        stamp=5.0))
    png = tmp_path / 'replay.png'
    assert bench_coverage.main(['--replay', req, '--png', str(png)]) == 0
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert json.loads(capsys.readouterr().out.splitlines()[-1])['requests'] == 1
