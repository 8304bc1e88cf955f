"""Tool-soil-mine physics against the public figures it is calibrated on (docs/sources.md).

* Juneja 2016: a light-to-medium flail reaches 200 mm at 0.5 km/h, less when faster.
* Minerats 1996 (chain flails in trials and use): nearly all AT mines in the path detonate, about
  90 % of AP mines; the others are thrown aside intact, pushed deeper or damaged.

Monte-Carlo runs drive :class:`GroundContact` over a line of mines between the tracks; each
mine's outcome is seeded by (seed, row, pass), so every figure below is deterministic.
"""

import collections
import dataclasses
import math

import numpy as np
import pytest

from demining_bringup.contract.world import BuriedItem, ItemKind
from demining_sim.generator import CATALOGUE
from demining_sim.ground_processing import (
    ContactGeometry, GroundContact, Outcome, ProcessingParams, ToolView, flail_reach_m,
    flail_speed_for_depth, hammers_lost, reference_strikes_per_m2, strikes_per_m2,
    track_force_n)
from demining_sim.spatial import ItemTable
from demining_sim.simulator import SimParams

KMH = 1.0 / 3.6
RPM_800 = 800.0 * 2.0 * math.pi / 60.0
GEOMETRY = ContactGeometry(2.6, 2.0, 0.4, 1.6, 0.35, 4.0)
SPACING_M = 0.8
STEP_M = 0.05
N_MINES = 1000


def mines(model, depths):
    spec = CATALOGUE[model]
    return [BuriedItem(f'{model}_{i}', spec.kind, 5.0 + SPACING_M * i, 0.0, float(d),
                       spec.diameter, spec.height, spec.metal_mass, spec.explosive_mass,
                       spec.permittivity, model) for i, d in enumerate(depths)]


def run_line(items, speed_mps, set_depth, tool='flail', hardness=1.0, seed=3, params=None):
    """Drive the tool over the line; return the outcome of each mine (untouched if none).

    The flail is kept whole (no hammers lost to blasts): a trial replaces them too.
    """
    p = params or SimParams(seed=seed, hammers_lost_per_kg=0.0)
    table = ItemTable(items)
    contact = GroundContact(GEOMETRY, table, p, seed, 12000.0, hardness)
    view = ToolView(set_depth=set_depth, flail_rps=RPM_800 if tool == 'flail' else 0.0,
                    flail_processing=tool == 'flail',
                    tiller_rps=40.0 if tool == 'tiller' else 0.0,
                    tiller_processing=tool == 'tiller')
    outcome = {}
    end = float(table.x.max()) + 5.0
    for x in np.arange(0.0, end, STEP_M):
        for ch in contact.check(0.0, float(x), 0.0, 0.0, speed_mps, view):
            outcome.setdefault(ch.row, ch.outcome)
    return [outcome.get(i, Outcome.UNTOUCHED) for i in range(len(items))]


def fractions(outcomes):
    c = collections.Counter(outcomes)
    return {o: c[o] / len(outcomes) for o in Outcome}


def neutralised(outcomes):
    f = fractions(outcomes)
    return f[Outcome.DETONATED] + f[Outcome.DESTROYED]


def ap_depths(n=N_MINES, seed=0):
    # AP mines 1-15 cm deep (docs/sources.md: AP_DEPTH).
    return np.random.default_rng(seed).uniform(0.01, 0.15, n)


# --- depth against speed (Juneja 2016) --------------------------------------------------------

def test_reference_flail_reaches_200_mm_at_half_a_km_per_hour():
    p = ProcessingParams()
    s = strikes_per_m2(34, RPM_800, 0.5 * KMH, 2.0)
    assert s == pytest.approx(reference_strikes_per_m2(p))
    assert flail_reach_m(p, s, 1.0) == pytest.approx(0.2)
    # Faster: fewer strikes per m^2, shallower; hard soil shallower still.
    s_work = strikes_per_m2(34, RPM_800, 0.4, 2.0)
    assert flail_reach_m(p, s_work, 1.0) == pytest.approx(0.2 * (0.5 * KMH) / 0.4)
    assert flail_reach_m(p, s_work, 1.8) < flail_reach_m(p, s_work, 1.0)
    # The inverse: the speed at which the flail still reaches a depth.
    assert flail_speed_for_depth(p, 0.2, RPM_800, 2.0, 34) == pytest.approx(0.5 * KMH)


# --- AP mines: ~90 % neutralised, the rest thrown, pushed, damaged (Minerats 1996) ------------

def test_about_90_percent_of_ap_mines_are_neutralised_in_the_reference_conditions():
    out = run_line(mines('PMN', ap_depths()), 0.5 * KMH, 0.2)
    f = fractions(out)
    assert neutralised(out) == pytest.approx(0.90, abs=0.03)
    assert f[Outcome.THROWN] > 0.01 and f[Outcome.DAMAGED] > 0.01
    assert f[Outcome.THROWN] + f[Outcome.DAMAGED] + f[Outcome.PUSHED_DEEPER] \
        + f[Outcome.UNTOUCHED] == pytest.approx(1.0 - neutralised(out))


def test_fraction_of_ap_mines_neutralised_falls_with_speed():
    depths = ap_depths()
    speeds_kmh = (0.5, 1.0, 1.5, 3.0)
    frac = [neutralised(run_line(mines('PMN', depths), v * KMH, 0.2)) for v in speeds_kmh]
    assert all(a > b for a, b in zip(frac, frac[1:])), frac
    assert frac[-1] < 0.6


def test_fraction_of_ap_mines_neutralised_falls_with_depth():
    # At 1 km/h the flail reaches 10 cm: deeper mines only feel the strikes through the soil.
    at = {d: neutralised(run_line(mines('PMN', np.full(400, d)), 1.0 * KMH, 0.2))
          for d in (0.03, 0.12, 0.18)}
    assert at[0.03] > at[0.12] > at[0.18]
    assert at[0.03] > 0.7 and at[0.18] < 0.2


def test_small_mines_escape_more_often():
    depths = ap_depths(600)
    assert neutralised(run_line(mines('PMA-2', depths), 0.5 * KMH, 0.2)) < \
        neutralised(run_line(mines('PMN', depths), 0.5 * KMH, 0.2))


# --- AT mines under the flail ------------------------------------------------------------------

def test_nearly_every_at_mine_under_the_flail_detonates():
    depths = np.random.default_rng(1).uniform(0.10, 0.20, 300)
    out = run_line(mines('TM-62M', depths), 0.5 * KMH, 0.2)
    assert fractions(out)[Outcome.DETONATED] >= 0.97


def test_a_raised_spinning_flail_strikes_nothing_whatever_the_ground_under_it():
    """The arm at the track plane is the tool lifted clear (:attr:`ToolSystem.true_depth` is 0
    there, whatever the terrain): its turning hammers meet no soil. The contact model added
    the terrain's offset to it and the impulse's tail below, at the strike density of a
    machine standing still: turned in place with its flail lifted and turning, a mission's
    machine set off a TM-62P 13 cm deep (bench/missions.py gen_at_uxo_lanes seed 2)."""
    depths = np.random.default_rng(2).uniform(0.02, 0.20, 200)
    items = mines('TM-62P', depths) + mines('PMN', depths)
    p = SimParams(seed=3, hammers_lost_per_kg=0.0)
    table = ItemTable(items)
    contact = GroundContact(GEOMETRY, table, p, 3, 12000.0, 1.0)
    raised = ToolView(set_depth=0.0, flail_rps=RPM_800, flail_processing=True)
    assert contact.tool_passes(0.0, raised, ground_offset_m=0.03) == []
    changes = []
    for x in np.arange(0.0, float(table.x.max()) + 5.0, STEP_M):
        changes += contact.check(0.0, float(x), 0.0, 0.0, 0.001, raised, lambda *_: 0.03)
    assert changes == []
    # lowered 1 cm onto the same bumps, it scratches the surface: shallow mines go off
    lowered = dataclasses.replace(raised, set_depth=0.01)
    assert contact.tool_passes(0.0, lowered, ground_offset_m=0.03)[0].reach_m > 0.0


# --- tiller: its own mechanism ------------------------------------------------------------------

def test_tiller_mills_to_its_set_depth_whatever_the_speed():
    depths = ap_depths(400)
    slow = run_line(mines('PMN', depths), 0.5 * KMH, 0.2, tool='tiller')
    fast = run_line(mines('PMN', depths), 3.0 * KMH, 0.2, tool='tiller')
    for out in (slow, fast):
        f = fractions(out)
        assert f[Outcome.DESTROYED] > f[Outcome.DETONATED]     # milled, not initiated
        assert neutralised(out) > 0.85


# --- tracks, fuzes and blasts -------------------------------------------------------------------

def test_track_load_fires_pressure_fuzes_by_depth_and_activation_force():
    p = ProcessingParams()
    area_tm = math.pi * 0.32 ** 2 / 4.0
    area_pmn = math.pi * 0.112 ** 2 / 4.0
    # A 12 t machine: TM-62 (about 200 kgf) fires 15 cm deep, not 30 cm deep.
    assert track_force_n(12000.0, 4.0, 0.35, 0.15, area_tm) > 200.0 * 9.81
    assert track_force_n(12000.0, 4.0, 0.35, 0.30, area_tm) < 200.0 * 9.81
    assert track_force_n(12000.0, 4.0, 0.35, 0.30, area_pmn) > 8.0 * 9.81
    assert p.damaged_activation_factor < 1.0


def test_an_ap_blast_under_the_flail_tears_off_hammers_in_proportion_to_its_charge():
    p = ProcessingParams()
    rng = np.random.default_rng(0)
    lost = [hammers_lost(p, 0.24, rng) for _ in range(4000)]
    assert np.mean(lost) == pytest.approx(p.hammers_lost_per_kg * 0.24, rel=0.1)
    assert np.mean([hammers_lost(p, 0.05, rng) for _ in range(4000)]) < np.mean(lost)


def test_outcomes_are_reproducible_per_seed():
    depths = ap_depths(200)
    a = run_line(mines('PMN', depths), 1.0 * KMH, 0.2, seed=5)
    b = run_line(mines('PMN', depths), 1.0 * KMH, 0.2, seed=5)
    c = run_line(mines('PMN', depths), 1.0 * KMH, 0.2, seed=6)
    assert a == b and a != c


def test_kind_enum_is_the_catalogue_kind():
    assert CATALOGUE['TM-62M'].kind is ItemKind.AT
