"""The simulated world of a resumed mission (demining_sim/resume.py)."""

import dataclasses

from demining_bringup import stack as st
from demining_bringup.contract.datatypes import SimEvent
from demining_bringup.contract.journal import GridGeometry, JournalWriter, journal_path
from demining_bringup.contract.sdf import load_world
from demining_sim.resume import resumed_world


def test_the_machine_starts_where_it_stopped_and_destroyed_items_stay_gone(tmp_path):
    world = load_world(st.find_world('training_field'))
    j = JournalWriter(journal_path(str(tmp_path)), {}, GridGeometry(0.0, 0.0, 0.1, 10, 10))
    j.pose(5.0, 12.0, 4.0, 1.5)
    j.event(SimEvent(3.0, 'neutralised', 'ap_pmn_1', 'AP', 6.0, 5.0))
    j.event(SimEvent(4.0, 'ap_detonation', 'ap_pmn_2', 'AP', 9.0, 16.0))
    j.commit(5.0)
    j.close()
    resumed = resumed_world(world, str(tmp_path))
    assert resumed.vehicle_start == (12.0, 4.0, 1.5)
    names = {it.name for it in resumed.items}
    assert 'ap_pmn_1' not in names and 'ap_pmn_2' not in names
    assert names == {it.name for it in world.items} - {'ap_pmn_1', 'ap_pmn_2'}
    assert dataclasses.replace(resumed, items=world.items, vehicle_start=world.vehicle_start) \
        == world


def test_a_resumed_scenario_goes_on_from_the_mission_time_the_journal_reached(tmp_path):
    from demining_sim.faults import FaultInjector, FaultKind, parse_scenario
    from demining_sim.resume import resumed_scenario
    scenario = parse_scenario({
        'faults': [{'at': 10.0, 'kind': 'detonation'},                 # before the kill: gone
                   {'at': 20.0, 'kind': 'gnss_loss', 'duration': 10.0},  # over before it
                   {'at': 40.0, 'kind': 'gnss_loss', 'duration': 30.0},  # in force at the kill
                   {'at': 50.0, 'kind': 'node_crash'},                  # at the kill: happened
                   {'at': 90.0, 'kind': 'sensor_dropout', 'sensor': 'gpr', 'duration': 5.0}],
        'actors': [{'name': 'shepherd', 'start': 30.0, 'speed_mps': 1.0,
                    'path': [[0.0, 0.0], [100.0, 0.0]]}]})
    j = JournalWriter(journal_path(str(tmp_path)), {}, GridGeometry(0.0, 0.0, 0.1, 10, 10))
    j.commit(50.0)                        # the mission reached 50 s of mission time
    j.close()
    shifted = resumed_scenario(scenario, str(tmp_path))
    got = [(f.kind, f.at, f.duration) for f in shifted.faults]
    assert got == [(FaultKind.GNSS_LOSS, 0.0, 20.0), (FaultKind.SENSOR_DROPOUT, 40.0, 5.0)]
    inj = FaultInjector(shifted.faults)
    assert [f.kind for f in inj.started(-1.0, 0.0)] == [FaultKind.GNSS_LOSS]
    assert inj.is_active(19.9, FaultKind.GNSS_LOSS)
    assert not inj.is_active(20.0, FaultKind.GNSS_LOSS)
    # the shepherd has walked 20 m when the resumed run starts
    from demining_sim.actors import Actor
    assert Actor(shifted.actors[0]).position(0.0) == (20.0, 0.0)
    assert resumed_scenario(None, str(tmp_path)) is None


def test_a_scenario_is_unchanged_at_mission_time_zero():
    from demining_sim.faults import parse_scenario, shifted_scenario
    scenario = parse_scenario({'faults': [{'at': 0.0, 'kind': 'node_crash'}]})
    assert shifted_scenario(scenario, 0.0) is scenario


def test_a_resumed_simulator_does_not_replay_a_crash_and_garbage_comes_on_time(tmp_path):
    """The simulator component with ``resume_dir``: the scenario on the mission's clock."""
    import pytest
    from demining_bringup.contract.datatypes import Garbage
    from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
    from demining_sim.simulator_node import SimulatorComponent
    run = tmp_path / 'run'
    run.mkdir()
    j = JournalWriter(journal_path(str(run)), {}, GridGeometry(0.0, 0.0, 0.1, 10, 10))
    j.pose(30.0, -8.0, 1.0, 0.0)
    j.commit(30.0)                                  # killed at 30 s of mission time
    j.close()
    scen = tmp_path / 's.yaml'
    scen.write_text('faults:\n  - {at: 0.2, kind: node_crash}\n'
                    '  - {at: 30.5, kind: garbage_message, topic: /gpr/traces}\n')
    out = []
    rt = ComponentRuntime(SimulatorComponent, sink=lambda port, v: out.append((port, v)),
                          log=RecordingLog())
    rt.configure({'world': 'training_field', 'scenario_file': str(scen),
                  'resume_dir': str(run)})
    rt.activate(0.0)
    sim = rt.component
    while sim.time < 1.0 - 1e-9:                    # no SimulatedCrash: it happened before
        sim.advance_to(round(sim.time + sim.clock_period_s(), 9))
    garbage = [v for _, v in out if isinstance(v, Garbage)]
    assert [v.stamp for v in garbage] == [pytest.approx(0.5)]


def test_an_actor_that_leaves_leaves_at_the_same_mission_time_after_a_resume():
    from demining_sim.faults import parse_scenario, shifted_scenario
    scenario = parse_scenario({'actors': [
        {'name': 'dog', 'kind': 'animal', 'start': 200.0, 'speed_mps': 2.0, 'loop': True,
         'until': 500.0, 'path': [[0.0, 0.0], [10.0, 0.0]]}]})
    dog = shifted_scenario(scenario, 300.0).actors[0]
    assert (dog.start, dog.until) == (-100.0, 200.0)
