"""Restored tracks of a resumed mission in the fusion's output (fusion_node.with_restored)."""

import pytest

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_perception.fusion_node import with_restored


def test_restored_tracks_come_first_and_new_ones_are_renumbered_past_them():
    restored = [Detection(1.0, 1.0, 0.1, 0.9, DetectionKind.AT, radius=0.2, id=7)]
    fused = [Detection(1.3, 1.0, 0.1, 0.8, DetectionKind.AP, id=1),     # the same object
             Detection(5.0, 5.0, 0.1, 0.8, DetectionKind.AP, id=2)]
    out = with_restored(restored, fused, id_offset=7, radius_m=0.7)
    assert [(d.id, d.kind, d.x) for d in out] == [(7, DetectionKind.AT, 1.0),
                                                  (9, DetectionKind.AP, 5.0)]


def test_a_journaled_mine_map_is_restored_on_the_safe_side():
    import numpy as np
    from demining_bringup.contract.journal import MineMap
    from demining_perception.fusion.core import FusionCore, FusionParams
    from demining_perception.fusion_node import restore_map
    core = FusionCore(FusionParams(), 0.0, 0.0, 2.0, 1.0)
    g = core.grid
    core.grid.add_gaussian(1.0, 0.5, 0.1, 6.0)
    g.cells[:, :5] -= 2.0                                  # negative evidence where it swept
    journaled = MineMap(10.0, g.occupancy().copy(), g.origin_x, g.origin_y, g.resolution)
    journaled.values[0, 0] = -1                            # a tile the journal never got
    fresh = FusionCore(FusionParams(), 0.0, 0.0, 2.0, 1.0)
    assert restore_map(fresh, journaled)
    back = fresh.grid.occupancy()
    # every cell says at least as much of a mine as the journaled one, at most one step more
    known = journaled.values >= 0
    assert np.all(back[known] >= journaled.values[known])
    assert np.all(back[known] - journaled.values[known] <= 1)
    assert fresh.grid.cells[0, 0] == fresh.grid.prior
    for x, y in ((1.0, 0.5), (0.2, 0.5)):                  # the hit and the swept ground
        assert fresh.grid.probability_at(x, y) == pytest.approx(g.probability_at(x, y),
                                                                abs=0.01)
    assert fresh.grid.probability_at(1.0, 0.5) > 0.5 > fresh.grid.probability_at(0.2, 0.5)
    # a map of other cells is not forced onto this grid
    other = MineMap(10.0, journaled.values, 0.5, 0.0, g.resolution)
    assert not restore_map(FusionCore(FusionParams(), 0.0, 0.0, 2.0, 1.0), other)
    assert not restore_map(fresh, None)


def test_a_new_look_that_says_at_upgrades_a_restored_track_never_the_reverse():
    restored = [Detection(1.0, 1.0, 0.1, 0.5, DetectionKind.UNKNOWN, radius=0.1, id=3),
                Detection(6.0, 1.0, 0.1, 0.9, DetectionKind.AT, radius=0.2, id=4)]
    fused = [Detection(1.2, 1.0, 0.1, 0.8, DetectionKind.AT, radius=0.16, id=1),
             Detection(6.1, 1.0, 0.1, 0.9, DetectionKind.AP, radius=0.05, id=2)]
    out = with_restored(restored, fused, id_offset=4, radius_m=0.7)
    assert [(d.id, d.kind, d.x, d.radius) for d in out] == [
        (3, DetectionKind.AT, 1.0, 0.16), (4, DetectionKind.AT, 6.0, 0.2)]
