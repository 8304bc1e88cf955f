"""The fault campaign (issue 8): every scenario of config/faults/ with an ``expect`` section runs
on the deterministic host and must end safe. The runs go to two worker processes (the CI
machine's two cores) as soon as the module starts; each test waits for its own."""

import concurrent.futures
import multiprocessing
import os

import pytest
import yaml

from demining_bringup import fault_campaign as fc
from demining_sim.faults import FaultKind, SENSORS, load_scenario

FOLDER = os.path.join(os.path.dirname(__file__), '..', '..', 'config', 'faults')
#: Worker processes (the CI machine has two cores).
WORKERS = 2


SCENARIOS = fc.campaign_files(FOLDER)


def _run(path, workdir):
    return fc.run_and_judge(path, workdir)


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    ctx = multiprocessing.get_context('forkserver')
    with concurrent.futures.ProcessPoolExecutor(WORKERS, mp_context=ctx) as pool:
        futures = {p: pool.submit(_run, p, str(tmp_path_factory.mktemp(
            os.path.basename(p)[:-5]))) for p in SCENARIOS}
        yield futures
        for f in futures.values():
            f.cancel()


def test_the_campaign_covers_every_fault_kind_and_sensor():
    assert len(SCENARIOS) >= 20
    scenarios = [load_scenario(p) for p in SCENARIOS]
    kinds = {f.kind for s in scenarios for f in s.faults}
    assert kinds == set(FaultKind)
    dropped = {f.sensor for s in scenarios for f in s.faults
               if f.kind in (FaultKind.SENSOR_DROPOUT, FaultKind.SENSOR_FROZEN,
                             FaultKind.NAN_MESSAGE)}
    assert {'imu', 'odom', 'gpr', 'md', 'people', 'tool'} <= dropped <= set(SENSORS)
    assert {a.kind for s in scenarios for a in s.actors} >= {'person', 'animal'}


@pytest.mark.slow(seconds=5)
@pytest.mark.timeout(900)
@pytest.mark.parametrize('path', SCENARIOS, ids=[os.path.basename(p) for p in SCENARIOS])
def test_the_scenario_ends_safe(runs, path):
    out, failures = runs[path].result()
    assert not failures, fc.describe(out, failures)


def test_judge_reports_what_a_run_missed():
    """The judgement can fail: a run that moved through its stop window misses it."""
    out = fc.Outcome(source=os.path.join(FOLDER, 'operator_link_loss.yaml'), end_s=3.0,
                     mission='clearing', safety_state='ok',
                     events=[(0.5, 'protective_stop', 'operator heartbeat lost')],
                     samples=[(t / 10.0, 0.4, 0.0, 80.0, 1.0, 30.0) for t in range(31)])
    bad = fc.judge(out, {'mission': 'complete', 'events': ['person'],
                         'stops': [{'trigger': 1.0, 'within_s': 0.5, 'until': 2.5,
                                    'tool_within_s': 0.5}],
                         'people_clearance_m': 50.0, 'max_tilt_deg': 0.5,
                         'absent_events': ['heartbeat'],
                         'event_counts': {'heartbeat lost': 2}})
    assert len(bad) == 8, bad
    assert "1 safety event(s) containing 'heartbeat lost', expected at least 2" in bad
    ok = fc.Outcome(source=out.source, end_s=3.0, mission='clearing', safety_state='ok',
                    samples=[(t / 10.0, 0.0, 0.0, 0.0, 1.0, 80.0) for t in range(31)])
    assert fc.judge(ok, {'mission': 'clearing', 'stops': [
        {'trigger': 1.0, 'within_s': 0.5, 'until': 2.5, 'tool_within_s': 1.0}],
        'people_clearance_m': 50.0}) == []


def test_a_scenarios_unknown_parameter_override_is_refused(tmp_path):
    """``setup.parameters`` is checked like the profile: a typo must not pass silently."""
    from demining_bringup.contract.errors import ConfigError
    with open(os.path.join(FOLDER, 'steep_slope.yaml'), encoding='utf-8') as fh:
        data = yaml.safe_load(fh)
    data['setup']['parameters'] = {'simulator': {'traction_coefficent': 0.9}}
    path = tmp_path / 'typo.yaml'
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match='traction_coefficent'):
        fc.run_scenario(str(path), str(tmp_path))
