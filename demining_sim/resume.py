"""The world of a resumed mission: the simulated machine where the journal left it.

A real machine restarted after a crash stands where it stopped, and what it destroyed stays
destroyed. The simulator reproduces that from the crashed mission's journal
(:mod:`demining_bringup.contract.journal`): the vehicle starts at the last recorded pose and
the items the journal's events say were neutralised or detonated are gone. A fault scenario
goes on from the mission time the journal reached (:func:`resumed_scenario`): the simulator's
clock restarts at 0, so without the shift every fault and actor would happen a second time.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

from demining_bringup.contract.journal import destroyed_items, journal_path, read_journal
from demining_bringup.contract.world import World
from demining_sim.faults import Scenario, shifted_scenario


def resumed_world(world: World, resume_dir: str) -> World:
    """``world`` with the vehicle at the journal's last pose and its destroyed items removed.

    :raises JournalError: when the journal cannot be read.
    """
    content = read_journal(journal_path(resume_dir))
    gone = set(destroyed_items(content.truth_events + content.machine_events))
    start = content.last_pose or world.vehicle_start
    return dataclasses.replace(world, items=[it for it in world.items if it.name not in gone],
                               vehicle_start=tuple(float(v) for v in start))


def resumed_scenario(scenario: Optional[Scenario], resume_dir: str) -> Optional[Scenario]:
    """``scenario`` on the resumed run's clock (its 0 = the journal's last mission time).

    :raises JournalError: when the journal cannot be read.
    """
    if scenario is None:
        return None
    return shifted_scenario(scenario, read_journal(journal_path(resume_dir)).last_stamp)


__all__ = ['resumed_scenario', 'resumed_world']
