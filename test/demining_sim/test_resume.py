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
