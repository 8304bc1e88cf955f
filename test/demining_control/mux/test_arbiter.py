"""The command mux: priorities, timeouts, the deadman and the pause lock."""

import pytest

from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.parameters import ParamError
from demining_bringup.contract.states import CmdSource
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_control.cmd_mux_node import CmdMuxComponent
from demining_control.mux.arbiter import CommandMux, MuxParams

AUTO, TELEOP = Twist2D(0.4, 0.1), Twist2D(-0.2, 0.0)


def test_nothing_fresh_passes_nothing_on():
    mux = CommandMux()
    assert mux.select(0.0) == (CmdSource.NONE, None)
    mux.on_command(CmdSource.AUTO, AUTO, 0.0)
    assert mux.select(0.5) == (CmdSource.AUTO, AUTO)
    assert mux.select(0.51) == (CmdSource.NONE, None)           # timed out: goes stale below


def test_teleop_outranks_autonomy_only_while_the_deadman_is_held_and_fresh():
    mux = CommandMux()
    mux.on_command(CmdSource.AUTO, AUTO, 1.0)
    mux.on_command(CmdSource.TELEOP, TELEOP, 1.0)
    assert mux.select(1.0)[0] is CmdSource.AUTO                 # no deadman: teleop ignored
    mux.on_deadman(True, 1.0)
    assert mux.select(1.1) == (CmdSource.TELEOP, TELEOP)
    assert mux.select(1.31)[0] is CmdSource.AUTO                # deadman message too old
    mux.on_deadman(True, 1.3)
    mux.on_deadman(False, 1.35)                                 # released
    assert mux.select(1.35)[0] is CmdSource.AUTO


def test_a_lower_priority_teleop_loses_to_autonomy():
    mux = CommandMux(MuxParams(teleop_priority=5))
    mux.on_command(CmdSource.AUTO, AUTO, 0.0)
    mux.on_command(CmdSource.TELEOP, TELEOP, 0.0)
    mux.on_deadman(True, 0.0)
    assert mux.select(0.1)[0] is CmdSource.AUTO
    with pytest.raises(ParamError):
        MuxParams(auto_priority=7, teleop_priority=7)


def test_the_pause_lock_blocks_the_inputs_below_its_priority():
    mux = CommandMux()
    mux.on_command(CmdSource.AUTO, AUTO, 0.0)
    mux.on_command(CmdSource.TELEOP, TELEOP, 0.0)
    mux.on_deadman(True, 0.0)
    mux.on_pause(True)
    assert mux.select(0.1) == (CmdSource.NONE, Twist2D())
    mux = CommandMux(MuxParams(pause_priority=50))              # blocks autonomy only
    mux.on_command(CmdSource.AUTO, AUTO, 0.0)
    mux.on_pause(True)
    assert mux.select(0.1) == (CmdSource.NONE, Twist2D())       # paused: held at zero
    mux.on_command(CmdSource.TELEOP, TELEOP, 0.1)
    mux.on_deadman(True, 0.1)
    assert mux.select(0.2) == (CmdSource.TELEOP, TELEOP)


def test_the_component_passes_commands_on_arrival_and_the_source_on_change():
    out = []
    rt = ComponentRuntime(CmdMuxComponent, sink=lambda p, v: out.append((p, v)),
                          log=RecordingLog())
    rt.configure({})
    rt.activate(0.0)
    assert out == [('source', CmdSource.NONE)]
    rt.deliver('auto', AUTO, 0.05)                      # on arrival, not at the next period
    assert out[-2:] == [('cmd', AUTO), ('source', CmdSource.AUTO)]
    rt.fire('tick', 0.1)
    assert out[-1] == ('source', CmdSource.AUTO)        # nothing new: no duplicate command
    rt.deliver('deadman', True, 0.12)
    rt.deliver('teleop', TELEOP, 0.13)
    assert out[-2:] == [('cmd', TELEOP), ('source', CmdSource.TELEOP)]
    rt.deliver('auto', AUTO, 0.14)                      # outranked: not passed on
    assert out[-1] == ('source', CmdSource.TELEOP)
    rt.deliver('deadman', False, 0.15)                  # released: a stop at once
    assert out[-2:] == [('cmd', AUTO), ('source', CmdSource.AUTO)]
    rt.deliver('pause', True, 0.16)
    assert out[-2:] == [('cmd', Twist2D()), ('source', CmdSource.NONE)]
    rt.fire('tick', 0.2)
    assert out[-1] == ('cmd', Twist2D())                # held at zero while paused
    rt.fire('tick', 5.0)
    rt.deliver('pause', False, 5.0)
    n = len(out)
    rt.fire('tick', 5.1)                                # nothing fresh: nothing passed on
    assert [p for p, _ in out[n:]] == []
