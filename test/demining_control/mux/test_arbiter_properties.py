"""Property-based test (hypothesis) of the command mux: for any sequence of commands, deadman
messages, pause changes and times, what it passes on comes from a fresh, unlocked input that
outranks every other fresh, unlocked one; teleop only with the deadman held; never anything
while paused but zero."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.states import CmdSource
from demining_control.mux.arbiter import CommandMux, MuxParams

events = st.lists(st.tuples(
    st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.4, 0.6, 1.0]),
    st.one_of(st.tuples(st.just('auto'), st.floats(-1.0, 1.0)),
              st.tuples(st.just('teleop'), st.floats(-1.0, 1.0)),
              st.tuples(st.just('deadman'), st.booleans()),
              st.tuples(st.just('pause'), st.booleans()))),
    min_size=1, max_size=50)


@settings(max_examples=200, deadline=None)
@given(events, st.sampled_from([(10, 100, 255), (100, 10, 255), (10, 100, 50)]))
def test_the_mux_passes_only_the_winner(sequence, priorities):
    auto_p, tele_p, pause_p = priorities
    p = MuxParams(auto_priority=auto_p, teleop_priority=tele_p, pause_priority=pause_p)
    mux = CommandMux(p)
    now = 0.0
    last = {'auto': None, 'teleop': None, 'deadman': (False, -math.inf)}
    paused = False
    for dt, (kind, value) in sequence:
        now += dt
        if kind in ('auto', 'teleop'):
            mux.on_command(CmdSource(kind), Twist2D(value, 0.0), now)
            last[kind] = (value, now)
        elif kind == 'deadman':
            mux.on_deadman(value, now)
            last['deadman'] = (value, now)
        else:
            mux.on_pause(value)
            paused = value
        source, cmd = mux.select(now)
        lock = pause_p if paused else -1
        auto_ok = (last['auto'] is not None and now - last['auto'][1] <= p.auto_timeout_s
                   and auto_p > lock)
        held = last['deadman'][0] and now - last['deadman'][1] <= p.deadman_timeout_s
        tele_ok = (last['teleop'] is not None and now - last['teleop'][1] <= p.teleop_timeout_s
                   and held and tele_p > lock)
        if tele_ok and (not auto_ok or tele_p > auto_p):
            assert source is CmdSource.TELEOP and cmd.v == last['teleop'][0]
        elif auto_ok:
            assert source is CmdSource.AUTO and cmd.v == last['auto'][0]
        else:
            assert source is CmdSource.NONE
            assert cmd == (Twist2D() if paused else None)
