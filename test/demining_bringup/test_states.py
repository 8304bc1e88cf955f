"""The contract's reason texts that carry a position (demining_bringup/contract/states.py)."""

from demining_bringup.contract.states import (EXCLUSION_AHEAD, HAZARD_UNDER_TRACK,
                                              hazard_position, hazard_refusal,
                                              suspect_under_track)


def test_a_suspect_refusal_says_where_the_suspect_is_among_other_causes():
    reason = ', '.join([EXCLUSION_AHEAD, hazard_refusal(-3.04, 17.25)])
    assert HAZARD_UNDER_TRACK in reason
    assert hazard_position(reason) == (-3.0, 17.2)
    # the record of a motion passed on names it the same way
    assert hazard_position(suspect_under_track(15.9, 6.3)) == (15.9, 6.3)


def test_a_reason_without_a_suspects_position_names_none():
    for reason in (HAZARD_UNDER_TRACK, EXCLUSION_AHEAD, f'{HAZARD_UNDER_TRACK} at (nan, 1.0)',
                   f'{HAZARD_UNDER_TRACK} at (1.0)', f'{HAZARD_UNDER_TRACK} at (a, b)', ''):
        assert hazard_position(reason) is None, reason
