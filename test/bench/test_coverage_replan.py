"""bench/coverage.py re-plan trials: every path a no-go response yields is checked."""

import json

import pytest

from bench import coverage as bench_coverage
from demining_bringup.contract.area import HazardArea
from demining_control.coverage.planner import CoverageParams
from demining_sim import shapes


def _cratered():
    s = shapes.cratered_field(80.0, 60.0, 6)
    area = HazardArea(name='cratered_field', field=s.field, exclusion_zones=s.exclusion_zones,
                      origin=None, approach_lanes=[s.approach_lane], safe_areas=s.safe_areas)
    return area, s.start


@pytest.mark.slow(seconds=8)
def test_the_repaired_paths_are_checked_against_the_new_zone_and_the_ground_processed():
    area, start = _cratered()
    params = CoverageParams()
    trials = bench_coverage._replan_trials(area, start, params, 2,
                                           bench_coverage.contact_for(params, 0.2))
    assert len(trials) == 2
    for t in trials:
        for figures in (t.repair, t.full_replan, t.remaining):
            assert set(figures) == set(bench_coverage.REPLAN_CHECK_KEYS)
        assert not t.fell_back and t.repair['keep_out_entries'] == 0
        assert t.full_replan['keep_out_entries'] == 0
        # the old path runs through the new zone: the zone is in the check's keep-out
        assert t.remaining['keep_out_entries'] >= 1
        # the ground not processed yet is not allowed: the old path's pivots there count
        assert t.remaining['field_violations'] >= 1


@pytest.mark.slow(seconds=6)
def test_a_repair_that_falls_back_is_checked_as_the_full_replan_it_drives(monkeypatch):
    area, start = _cratered()
    params = CoverageParams()
    monkeypatch.setattr(bench_coverage, 'repair_path', lambda *a, **k: None)
    (t,) = bench_coverage._replan_trials(area, start, params, 1,
                                         bench_coverage.contact_for(params, 0.2))
    assert t.fell_back and t.repair == t.full_replan
    assert t.response_ms >= t.full_ms


@pytest.mark.slow(seconds=20)
def test_the_summary_sums_the_repaired_paths_figures(monkeypatch, capsys):
    small = {'cratered_field': _cratered(),
             'split_by_road': (lambda s: (HazardArea(
                 'split_by_road', s.field, s.exclusion_zones, None, [s.approach_lane]),
                 s.start))(shapes.split_by_road(60.0, 40.0))}
    monkeypatch.setattr(bench_coverage, '_areas', lambda quick: small)
    monkeypatch.setattr(bench_coverage, 'REPLAN_TRIALS_QUICK', 1)
    monkeypatch.setattr(bench_coverage, '_peer', lambda *a, **k: (None, 0.0))
    assert bench_coverage.main(['--quick']) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads(lines[-1])
    trials = [json.loads(s.split(': ', 1)[1]) for s in lines if s.startswith('no-go paths')]
    assert len(trials) == 2
    for part in ('repair', 'full_replan', 'remaining'):
        for key in bench_coverage.REPLAN_CHECK_KEYS:
            assert summary[f'{part}_{key}'] == sum(t[part][key] for t in trials)
    assert summary['repair_keep_out_entries'] == 0
    # the plans' own keys keep their meaning
    assert summary['keep_out_entries'] == 0 and summary['repair_fallbacks'] == 0
