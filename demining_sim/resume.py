"""The world of a resumed mission: the simulated machine where the journal left it.

A real machine restarted after a crash stands where it stopped, and what it destroyed stays
destroyed. The simulator reproduces that from the crashed mission's journal
(:mod:`demining_bringup.contract.journal`): the vehicle starts at the last recorded pose and
the items the journal's events say were neutralised or detonated are gone.
"""

from __future__ import annotations

import dataclasses

from demining_bringup.contract.journal import destroyed_items, journal_path, read_journal
from demining_bringup.contract.world import World


def resumed_world(world: World, resume_dir: str) -> World:
    """``world`` with the vehicle at the journal's last pose and its destroyed items removed.

    :raises JournalError: when the journal cannot be read.
    """
    content = read_journal(journal_path(resume_dir))
    gone = set(destroyed_items(content.truth_events + content.machine_events))
    start = content.last_pose or world.vehicle_start
    return dataclasses.replace(world, items=[it for it in world.items if it.name not in gone],
                               vehicle_start=tuple(float(v) for v in start))


__all__ = ['resumed_world']
