"""Truth per item: the simulator's fates, the same fates rebuilt from /sim/events, truth.json."""

import json

import numpy as np

from demining_bringup.contract import codec
from demining_bringup.contract.datatypes import SimEvent, ToolCommand, Twist2D
from demining_bringup.contract.world import GeoOrigin, Soil, World
from demining_sim.generator import make_item
from demining_sim.simulator import SimParams, Simulator
from demining_sim.truth import (FateState, ProcessedTruth, fates_from_events, truth_document,
                                write_truth_json)

FLAIL = 83.8         # rad/s, 800 rpm


def world():
    items = [make_item('PMN', f'pmn_{i}', 8.0 + 1.5 * i, 0.3 * (i % 3 - 1), 0.04 + 0.01 * i)
             for i in range(8)]
    items.append(make_item('can', 'can_1', 12.0, 0.0, 0.05))
    return World('truth', GeoOrigin(45.0, 16.0), [(-5, -10), (40, -10), (40, 10), (-5, 10)],
                 soil=Soil(rock_density_per_m2=0.0), items=items, vehicle_start=(0.0, 0.0, 0.0))


def run(v=0.3, seconds=80.0, seed=2):
    sim = Simulator(world(), SimParams(seed=seed))
    events = []
    for _ in range(int(seconds * 10)):
        sim.set_command(Twist2D(v, 0.0))
        sim.set_tool_command(ToolCommand(FLAIL, 0.0, 0.15))
        sim.advance_to(sim.t + 0.1)
        events += [o for o in sim.drain() if isinstance(o, SimEvent)]
    return sim, events


def test_every_item_has_a_fate_and_the_events_carry_it():
    sim, events = run()
    fates = {f.name: f for f in sim.item_fates()}
    assert set(fates) == {it.name for it in sim.world.items}
    met = [f for f in fates.values() if f.kind == 'AP']
    assert all(f.contacts >= 1 and f.in_processed_ground for f in met)
    changed = [f for f in met if f.history]
    assert changed, 'the flail changed no mine'
    for f in changed:
        assert f.changed_at is not None and f.cause == 'flail'
        if not f.live:
            assert f.state in (FateState.DETONATED.value, FateState.DESTROYED.value)
            assert f.neutralised_at is not None
    # Over the wire (JSON codec) and back, the events rebuild the same fates.
    wired = [codec.decode_event(codec.encode_event(e)) for e in events]
    rebuilt = {f.name: f for f in fates_from_events(sim.world.items, wired)}
    for name, f in fates.items():
        r = rebuilt[name]
        assert (r.state, r.x, r.y, r.depth, r.cause, r.neutralised_at) == \
            (f.state, f.x, f.y, f.depth, f.cause, f.neutralised_at)


def test_truth_json_counts_live_mines_in_processed_ground(tmp_path):
    sim, _ = run()
    fates = sim.item_fates()
    path = write_truth_json(str(tmp_path / 'truth.json'), fates)
    doc = json.loads(open(path).read())
    live_in = sum(1 for f in fates if f.live and f.in_processed_ground)
    assert doc['mines_total'] == 8
    assert doc['mines_left_active_in_processed_ground'] == live_in
    assert doc['mines_live'] == sum(1 for f in fates if f.live)
    # With the record's own processed ground: nothing processed -> nothing counted.
    none = truth_document(fates, lambda xs, ys: np.zeros(len(xs), dtype=bool))
    assert none['mines_left_active_in_processed_ground'] == 0
    assert all(not d['in_record_processed_ground'] for d in none['items'])


def test_processed_truth_records_the_effective_depth_of_a_swept_strip():
    g = ProcessedTruth(0.0, 10.0, 0.0, 10.0, 0.25)
    g.stamp(5.0, 5.0, 0.0, 0.2, 1.0, 1.0, 0.07)
    assert g.depth_at(5.0, 5.0) == np.float32(0.07)
    assert g.depth_at(4.2, 5.9) == np.float32(0.07)
    assert g.depth_at(5.5, 5.0) == 0.0          # ahead of the strip
    assert g.depth_at(5.0, 6.5) == 0.0          # beside it
    g.stamp(5.0, 5.0, 0.0, 0.2, 1.0, 1.0, 0.03)  # a shallower pass keeps the deeper record
    assert g.depth_at(5.0, 5.0) == np.float32(0.07)
