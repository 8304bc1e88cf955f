"""Restored tracks of a resumed mission in the fusion's output (fusion_node.with_restored)."""

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_perception.fusion_node import with_restored


def test_restored_tracks_come_first_and_new_ones_are_renumbered_past_them():
    restored = [Detection(1.0, 1.0, 0.1, 0.9, DetectionKind.AT, radius=0.2, id=7)]
    fused = [Detection(1.3, 1.0, 0.1, 0.8, DetectionKind.AP, id=1),     # the same object
             Detection(5.0, 5.0, 0.1, 0.8, DetectionKind.AP, id=2)]
    out = with_restored(restored, fused, id_offset=7, radius_m=0.7)
    assert [(d.id, d.kind, d.x) for d in out] == [(7, DetectionKind.AT, 1.0),
                                                  (9, DetectionKind.AP, 5.0)]
