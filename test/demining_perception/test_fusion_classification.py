"""Fusion classification on realistic sensor reports (metal content, depths, GPR size).

The detections carry what the processors report: for the MD the depth-corrected metal
content in grams (``strength``) and the metal's depth, for the GPR the reflector's depth (top)
and flat-top radius. Figures: catalogue items of the simulator (docs/sources.md) as the MD
processor reads them on the simulator's data (bench/classification.py).
"""

import dataclasses
import math

import numpy as np
import pytest

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_perception.fusion.core import (FusionCore, FusionParams, Hypothesis, decide,
                                             spanning_top)

WAIT_S = FusionParams().gpr_wait_s


def md(grams, depth, conf=0.95, x=5.0, y=5.0, kind=DetectionKind.UNKNOWN):
    return Detection(x=x, y=y, depth=depth, confidence=conf, source='md', radius=0.08,
                     strength=grams, kind=kind)


def gpr(depth, radius, conf=0.95, x=5.02, y=5.0, strength=20.0, polarity=0, radius_min=0.0):
    """A GPR hit: ``radius`` is the flat-top half width of the hyperbola fit (NaN: left
    open, ``radius_min`` the narrowest it allows)."""
    return Detection(x=x, y=y, depth=depth, confidence=conf, source='gpr', radius=radius,
                     strength=strength, polarity=polarity, radius_min=radius_min)


def fuse_all(dets, now=10.0, **kw):
    """Feed ``dets`` 0.2 s apart, re-classify at ``now``, return the fused detections."""
    f = FusionCore.from_bounds(FusionParams(**kw), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate(dets):
        f.add([d], stamp=0.2 * i)
    f.update(now)
    return f.fused()


def fuse(dets, now=10.0, **kw):
    """Feed ``dets`` 0.2 s apart, re-classify at ``now``, return the one fused detection."""
    out = fuse_all(dets, now, **kw)
    assert len(out) == 1, out
    return out[0]


#: The association's 3-D gate opened: reports tens of centimetres apart in depth form one
#: track, as before it (the rules below are judged on such tracks too)
ONE_TRACK = {'association_depth_m': 10.0}


def test_shallow_shrapnel_is_clutter_not_at():
    # 20 g, 2 cm deep: ~2000 mV raw (the old rule's "AT"), 17-25 g once depth-corrected.
    # The GPR sees a point-like reflector with metal's polarity.
    d = fuse([md(18.0, 0.03, conf=1.0), md(21.0, 0.02, conf=1.0), gpr(0.03, 0.01, polarity=-1)])
    assert d.kind == DetectionKind.CLUTTER and d.confidence > 0.5
    # Too shallow for the GPR (its window starts at 3 cm): still clutter on the metal alone.
    d = fuse([md(18.0, 0.01, conf=1.0), md(21.0, 0.02, conf=1.0)])
    assert d.kind in (DetectionKind.CLUTTER, DetectionKind.AP)
    assert d.strength == pytest.approx(19.4, abs=0.5)        # metal content, g


def test_deep_tm62m_is_at():
    d = fuse([md(2100.0, 0.27, conf=0.93), gpr(0.2, 0.17), gpr(0.21, 0.15)])
    assert d.kind == DetectionKind.AT and d.radius >= 0.16
    assert d.depth == pytest.approx(0.205, abs=0.01)          # the GPR's (top of the case)
    # MD only (GPR blind there): kilograms of metal are AT, the dangerous default.
    assert fuse([md(2100.0, 0.27, conf=0.93)]).kind == DetectionKind.AT


def test_tm62m_next_to_fragment_is_still_at():
    """A light fragment merged into the track must not average the kilograms away."""
    d = fuse([md(5.0, 0.06, conf=0.92), md(2800.0, 0.31, conf=0.95), gpr(0.23, 0.16)])
    assert d.kind == DetectionKind.AT


def test_plastic_tm62p_is_at():
    d = fuse([md(30.0, 0.2, conf=0.8), gpr(0.15, 0.16), gpr(0.16, 0.14)])
    assert d.kind == DetectionKind.AT
    assert fuse([gpr(0.23, 0.15), gpr(0.22, 0.16)]).kind == DetectionKind.AT


def test_mortar_round_is_uxo():
    # Kilograms, GPR reflector compact (not a 32 cm flat top) with metal's polarity.
    d = fuse([md(3300.0, 0.19, conf=1.0), gpr(0.14, 0.02, polarity=-1),
              gpr(0.13, 0.03, polarity=-1)])
    assert d.kind == DetectionKind.UXO
    # Flagged elongated by the MD processor.
    d = fuse([md(3000.0, 0.1, kind=DetectionKind.UXO), md(3100.0, 0.1, kind=DetectionKind.UXO)])
    assert d.kind == DetectionKind.UXO


def test_pmn_with_gpr_is_ap():
    d = fuse([md(4.0, 0.08, conf=0.77), gpr(0.06, 0.06, polarity=1),
              gpr(0.05, 0.05, polarity=1)])
    assert d.kind == DetectionKind.AP and d.confidence > 0.5
    assert d.depth == pytest.approx(0.055, abs=0.01)
    # The GPR's flat plastic top makes the AP more probable than the MD alone does.
    assert fuse([md(4.0, 0.08, conf=0.85)]).confidence < d.confidence


def test_pmn_without_gpr_is_ap_never_clutter():
    # The mission's PMN at (6, 5): MD only, the GPR did not see it.
    d = fuse([md(4.0, 0.08, conf=0.8)], now=100.0)
    assert d.kind == DetectionKind.AP
    assert d.depth == pytest.approx(0.08)                     # the MD's (metal centre)
    # A weak (near-threshold) MD hit reads the metal noisily (here 20 g for a 4 g PMN): too
    # unreliable to clear it as clutter.
    assert fuse([md(20.0, 0.15, conf=0.55), md(11.0, 0.12, conf=0.6)], now=100.0).kind == \
        DetectionKind.AP


def test_minimum_metal_mines_are_ap():
    # PMA-1 shallow: ~1 g and a GPR reflector; TS-50 at 12 cm: GPR only.
    assert fuse([md(1.0, 0.06, conf=0.91), gpr(0.03, 0.07)]).kind == DetectionKind.AP
    d = fuse([gpr(0.12, 0.045, conf=0.98, polarity=1)])
    assert d.kind in (DetectionKind.AP, DetectionKind.UNKNOWN) and d.strength == 0.0


def test_can_and_cartridge_are_clutter():
    assert fuse([md(25.0, 0.09, conf=0.98), md(37.0, 0.05, conf=0.97),
                 gpr(0.05, 0.03)]).kind == DetectionKind.CLUTTER
    # 12.6 g is within a PMN's estimate spread: the GPR's point-like metal reflector decides.
    assert fuse([md(12.6, 0.08, conf=0.97), md(13.1, 0.08, conf=0.97),
                 gpr(0.05, 0.0, polarity=-1), gpr(0.05, 0.01, polarity=-1)]).kind == \
        DetectionKind.CLUTTER


def test_pmn_under_clutter_is_ap():
    """A mine with a fragment on top: one reliable look at the mine's few grams keeps it AP."""
    d = fuse([md(40.0, 0.03, conf=1.0), md(4.5, 0.09, conf=0.8), gpr(0.06, 0.07)])
    assert d.kind == DetectionKind.AP


def test_deep_small_reflector_without_metal_is_unknown():
    d = fuse([gpr(0.27, 0.01, conf=0.9)])
    assert d.kind == DetectionKind.UNKNOWN and d.confidence < 0.5


def test_clutter_decision_waits_for_the_gpr():
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    f.add([md(30.0, 0.05, conf=0.98)], stamp=0.0)
    f.add([md(31.0, 0.05, conf=0.98, x=5.01)], stamp=0.1)
    f.update(0.5 * WAIT_S)
    assert f.fused()[0].kind == DetectionKind.AP
    f.update(WAIT_S + 0.1)
    assert f.fused()[0].kind == DetectionKind.CLUTTER


# -- the safety-first properties (issue 12) ------------------------------------------------


@pytest.mark.parametrize('gpr_dets', [
    [], [gpr(0.06, 0.055, polarity=1)], [gpr(0.06, 0.0, polarity=-1)],
    [gpr(0.03, 0.01, polarity=-1), gpr(0.04, 0.0, polarity=-1)], [gpr(0.2, 0.02)]])
@pytest.mark.parametrize('now', [0.5, WAIT_S + 0.1, 100.0])
def test_pmn_reading_9_g_is_never_clutter(gpr_dets, now):
    """A PMN whose MD estimate reads 8.5-9 g on two looks: whatever the GPR says, not clutter."""
    d = fuse([md(8.5, 0.08, conf=0.95), md(9.0, 0.08, conf=0.95)] + gpr_dets, now=now)
    assert d.kind == DetectionKind.AP


@pytest.mark.parametrize('grams', [None, 0.3, 0.8, 1.5])
@pytest.mark.parametrize('half_width, depth, polarity', [
    (0.03, 0.02, 1), (0.045, 0.08, 1), (0.07, 0.15, 0), (0.0, 0.05, -1), (0.02, 0.12, 1)])
def test_minimum_metal_mines_stay_ap_or_unknown(grams, half_width, depth, polarity):
    """PMA/TS-50/VS-50 (< 1 g, the MD may miss them): AP or UNKNOWN, never clutter or AT.
    One the MD does not hear at the AP mines' 15 cm and below, a strong reflector seen twice,
    is AT: the GPR cannot tell it from a TM-62P there, which the flail would set off
    (test_a_strong_silent_reflector_within_the_flails_reach_below_the_ap_mines_is_at);
    a no-go zone for an AP mine is the cheap side of that trade (fusion/core.py, COST)."""
    dets = [gpr(depth, half_width, polarity=polarity), gpr(depth, half_width, x=5.03)]
    if grams is not None:
        dets.append(md(grams, depth + 0.02, conf=0.7))
    d = fuse(dets, now=100.0)
    deep = grams is None and depth >= FusionParams().deep_reflector_depth_m
    assert d.kind in ((DetectionKind.AT,) if deep
                      else (DetectionKind.AP, DetectionKind.UNKNOWN) if grams is None
                      else (DetectionKind.AP,))


@pytest.mark.parametrize('metal', [None, 30.0, 1800.0])
def test_at_sized_reflectors_are_at(metal):
    """A 32 cm flat top at AT depth is AT whatever the metal (TM-62P 30 g, TM-62M kg)."""
    dets = [gpr(0.2, 0.15, polarity=1), gpr(0.21, 0.16)]
    if metal is not None:
        dets.append(md(metal, 0.25, conf=0.9))
    assert fuse(dets, now=100.0).kind == DetectionKind.AT


@pytest.mark.parametrize('looks', [((3.5, 0.09, 0.67), (4.0, 0.03, 0.99)), ((4.7, 0.06, 0.98),)])
def test_a_tm62p_whose_fuze_the_md_reads_low_is_at(looks):
    """Under the tracks' line (0.78 m off the boom's centre, between two coils) at the
    governed 0.15 m/s the MD read a TM-62P's 30 g fuze as 3.5-4.7 g on reliable looks, and
    4 of 20 such mines were AP (bench/classification.py on a TM-62P grid): the flail would
    have worked them. The GPR's two reports with an AT mine's chord (9-12 cm) outweigh it."""
    dets = [md(g, depth, conf=conf) for g, depth, conf in looks]
    dets += [gpr(0.11, 0.12, polarity=1), gpr(0.12, 0.09, polarity=1, y=5.2)]
    assert fuse(dets, now=100.0).kind == DetectionKind.AT
    # a PMN (4 g) with its own narrow top stays AP
    assert fuse([md(4.0, 0.08), gpr(0.08, 0.05, polarity=1)], now=100.0).kind == \
        DetectionKind.AP


def test_a_tm62p_one_channel_sees_in_wet_clay_is_at():
    """Generated wet clay, seed 1 (bench/classification.py --verbose): a TM-62P 14 cm deep,
    its fuze read 3.7 g, and one channel's report of a 12 cm top (the clay's losses left the
    neighbouring channels silent) was AP (P(AT) ~1 %) and went under the flail. No AP mine or
    clutter item fitted a top wider than 8 cm on the simulator's fields; AT mines 4-24 cm."""
    dets = [md(0.2, 0.06, conf=0.58), md(3.7, 0.04, conf=0.99),
            gpr(0.14, 0.12, conf=0.97, polarity=1)]
    assert fuse(dets, now=100.0).kind == DetectionKind.AT
    # the same reads with an AP mine's top (PMN: 5.6 cm radius) are AP
    dets[-1] = gpr(0.14, 0.06, conf=0.97, polarity=1)
    assert fuse(dets, now=100.0).kind == DetectionKind.AP


@pytest.mark.parametrize('depth', [0.08, 0.12, 0.2, 0.3])
@pytest.mark.parametrize('polarity', [-1, 0, 1])
def test_stones_are_not_at(depth, polarity):
    """A point-like non-metal reflector (a stone) is not AT (the no-go zones fenced the
    machine in on mixed_field) and not a confident AP. The simulator's stones that deep are
    weak reflectors (stack z 4-11 on bench/perception.py's generated fields)."""
    d = fuse([gpr(depth, 0.0, polarity=polarity, strength=8.0),
              gpr(depth, 0.015, polarity=polarity, strength=8.0)], now=100.0)
    assert d.kind in (DetectionKind.UNKNOWN, DetectionKind.CLUTTER)


@pytest.mark.parametrize('depth,radius,radius_min', [
    (0.21, 0.06, 0.0), (0.26, float('nan'), 0.12), (0.35, 0.05, 0.04)])
def test_a_deep_strong_silent_reflector_seen_twice_is_at(depth, radius, radius_min):
    """A TM-62P at 20-26 cm: the GPR does not tell its 32 cm disc from a smaller flat top
    there (fits of 6-16 cm, or left open), the MD does not hear its fuze, so it read as a
    stone (P(AT) 0.01-0.04) and went off under a track (bench/missions.py gen_at_uxo_lanes,
    seed 1). Strong, seen by two channels and below the AP mines' 15 cm it is AT-sized: AT
    (a no-go zone). One report, a weak echo, a shallow top or metal keep the stone's label."""
    def kind(dets):
        return fuse(dets, now=100.0).kind
    two = [gpr(depth, radius, strength=16.0, polarity=1, radius_min=radius_min),
           gpr(depth + 0.01, radius, strength=14.0, polarity=1, y=5.2, radius_min=radius_min)]
    assert kind(two) == DetectionKind.AT
    assert kind(two[:1]) != DetectionKind.AT
    weak = [gpr(depth, radius, strength=8.0, polarity=1),
            gpr(depth + 0.01, radius, strength=7.0, polarity=1, y=5.2)]
    assert kind(weak) != DetectionKind.AT
    shallow = [gpr(0.12, radius, strength=16.0, polarity=1),
               gpr(0.12, radius, strength=14.0, polarity=1, y=5.2)]
    assert kind(shallow) != DetectionKind.AT
    # With metal the MD's estimate speaks: the rule changes nothing there.
    metal = two + [md(12.0, depth)]
    assert kind(metal) == fuse(metal, now=100.0, deep_reflector_depth_m=math.inf).kind


def test_a_strong_silent_reflector_within_the_flails_reach_below_the_ap_mines_is_at():
    """bench/missions.py gen_random seeds 1 and 4: TM-62Ps laid 16 cm deep on a lane, two
    strong GPR reports (z 39) at 15-16 cm, 7 cm fits, the pulse's sign, no MD answer: the
    posterior called them a stone (ROCK 0.70, AT 0.02) and the flail, which reaches ~16 cm,
    set them off. Below the AP mines' 15 cm such a reflector is AT; above it, not."""
    def kind(depth):
        return fuse([gpr(depth, 0.07, strength=39.0, polarity=1),
                     gpr(depth + 0.002, 0.07, strength=30.0, polarity=1, y=5.12)],
                    now=100.0).kind
    assert kind(0.152) == DetectionKind.AT
    assert kind(0.13) != DetectionKind.AT


def test_a_deep_plastic_reflector_the_md_hears_faintly_is_still_at():
    """bench/missions.py gen_random seed 8: a TM-62P 16 cm deep in wet clay, three strong GPR
    reports with the pulse's sign (a plastic body) at 23-24 cm; 1.4 s later the MD heard its
    fuze as 0.5 g at its own 8 cm, the track was no deep reflector any more, read AP
    (P(AT) 0.005) and went off under the flail. A faint MD answer over a plastic echo stays
    AT; over a metal echo (a fragment, against the sign) or with grams the MD speaks."""
    def kind(dets, **kw):
        return fuse(dets, now=100.0, **kw).kind
    echoes = [gpr(0.229, 0.05, strength=35.0, polarity=1),
              gpr(0.239, float('nan'), strength=47.0, polarity=1, y=5.2),
              gpr(0.243, float('nan'), strength=9.0, polarity=1, x=5.2)]
    faint = echoes + [md(0.5, 0.076, conf=0.63)]
    assert kind(faint) == DetectionKind.AT
    # the rule, not the posterior, makes it AT (two channels 0.2 m apart see it strongly:
    # a spanning top as well)
    assert kind(faint, deep_reflector_faint_metal_g=0.0, spanning_top_min_z=math.inf) != \
        DetectionKind.AT
    metal = [dataclasses.replace(d, polarity=-1) for d in echoes] + [md(0.5, 0.076, conf=0.63)]
    assert kind(metal) == kind(metal, deep_reflector_faint_metal_g=0.0)
    grams = echoes + [md(12.0, 0.076)]
    assert kind(grams) == kind(grams, deep_reflector_faint_metal_g=0.0)


def test_a_deep_strong_reflector_at_the_boom_edge_is_at_on_one_report():
    """A TM-62P under a track line lies 0.8 m off the pass's centre, at the 2 m boom's edge:
    only the outer channel reports it, once, so "seen by two channels" cannot hold, and it
    read AP (P(AT) 0.04) until the flail set it off (bench/missions.py gen_at_uxo_lanes,
    seed 1). A report from the outer channel waives that count; from the boom's middle one
    report of a point-like top is still point-like, one of an AT mine's measured chord (a
    12 cm flat top: AP mines measure 4 +- 2 cm, the few stone tracks 0-3) is AT there too."""
    p = FusionParams()
    half = 0.5 * p.sensor_width_m

    def kind(across, width=0.12):
        f = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
        # the vehicle drives along +x at y = 5: the boom's centre line is y = 5
        f.sweep(1.0 - p.sensor_offset_x_m, 5.0, 0.0, 0.0)
        f.sweep(1.5 - p.sensor_offset_x_m, 5.0, 0.0, 0.1)
        f.add([gpr(0.2, width, strength=27.0, polarity=1, x=5.0, y=5.0 + across)], 0.2)
        f.sweep(2.5 - p.sensor_offset_x_m, 5.0, 0.0, 3.0)     # on: the sensors had their look
        f.update(100.0)
        return f.tracks[1].kind

    assert kind(half - 0.1) == DetectionKind.AT
    assert kind(-(half - 0.1)) == DetectionKind.AT
    assert kind(0.3, width=0.04) != DetectionKind.AT
    assert kind(0.3) == DetectionKind.AT


def test_cost_asymmetry_keeps_a_one_percent_mine():
    """The Bayes decision: 1 % AP against 99 % clutter is still AP; 0.05 % is clutter."""
    post = {h: 0.0 for h in Hypothesis}
    post[Hypothesis.AP], post[Hypothesis.CLUTTER] = 0.01, 0.99
    assert decide(post)[0] == DetectionKind.AP
    post[Hypothesis.AP], post[Hypothesis.CLUTTER] = 0.0005, 0.9995
    assert decide(post)[0] == DetectionKind.CLUTTER
    # Not before the GPR had its look.
    assert decide(post, final=False)[0] != DetectionKind.CLUTTER
    # 8 % AT is AT (a missed AT mine costs the machine); 2 % is not (a no-go zone for
    # nothing can fence the machine in).
    post[Hypothesis.AT], post[Hypothesis.CLUTTER] = 0.08, 0.9195
    assert decide(post)[0] == DetectionKind.AT
    post[Hypothesis.AT], post[Hypothesis.CLUTTER] = 0.02, 0.9795
    assert decide(post)[0] != DetectionKind.AT


def test_polarity_separates_a_borderline_stone_from_a_plastic_at_mine():
    """A 9 cm flat top without metal: with the pulse's sign (plastic: a TM-62P the MD did
    not hear, measured off its centre) it is AT; against it (a stone in dry sand) it is not.
    From 10 cm it is AT whatever the polarity (AT-sized unknowns are AT: the widest hit of
    AP mines measured 4 +- 2 cm, at most 8, of TM-62s 13 +- 2 cm, fusion/core.py)."""
    def kind(w, pol):
        # Weak echoes: a strong one that deep is AT whatever its width
        # (test_a_deep_strong_silent_reflector_seen_twice_is_at).
        return fuse([gpr(0.3, w, polarity=pol, strength=8.0),
                     gpr(0.3, w, polarity=pol, x=5.03, strength=8.0)], now=100.0).kind
    assert kind(0.09, 1) == DetectionKind.AT
    assert kind(0.09, -1) != DetectionKind.AT
    assert kind(0.10, -1) == DetectionKind.AT


# -- false AT tracks from one GPR report (issue 12: a 20 x 8 m field without AT mines got 3) --

LOOK_S = FusionParams().look_s


def labels(dets, times):
    """Feed ``dets`` 0.2 s apart from t=0; the published kind at each update time."""
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate(dets):
        f.add([d], stamp=0.2 * i)
    out = []
    for now in times:
        f.update(now)
        out.append([d.kind for d in f.fused()])
    return out


@pytest.mark.parametrize('half_width', [0.12, 0.13, 0.14])
@pytest.mark.parametrize('depth', [0.07, 0.15, 0.22])
def test_one_gpr_report_is_not_at_before_the_look(half_width, depth):
    """A single confident GPR report (one channel, one apex, no metal) read as a 12-14 cm
    flat top was labelled AT at the first update, before the other channels and the MD had
    their look; the no-go zone it made stayed for good. Until ``look_s`` it is AP at most."""
    first = labels([gpr(depth, half_width, conf=0.9, polarity=1)], [0.5 * LOOK_S])[0]
    assert first and DetectionKind.AT not in first and DetectionKind.UXO not in first


def test_a_fragment_with_one_wide_gpr_fit_is_not_at_before_the_look():
    """Training field: a 45 g fragment whose one GPR fit read an 18 cm top was AT for one
    update (grams of metal let the no-go label through); it is clutter once looked at."""
    dets = [gpr(0.07, 0.18, conf=0.96, polarity=-1), md(52.6, 0.06, conf=1.0, x=5.03)]
    first, final = labels(dets, [0.5 * LOOK_S, 100.0])
    assert DetectionKind.AT not in first and DetectionKind.UXO not in first
    assert final == [DetectionKind.CLUTTER]
    # Kilograms of metal are AT at once (a TM-62M the GPR sees with one channel).
    first = labels([gpr(0.2, 0.16, conf=0.95), md(1900.0, 0.25, conf=0.95, x=5.03)], [0.5])[0]
    assert first == [DetectionKind.AT]


@pytest.mark.parametrize('depth', [0.07, 0.15])
def test_one_gpr_report_of_a_12_cm_top_is_at_only_after_the_look(depth):
    """One channel alone answering with a 12 cm top, no metal: an AT disc usually spans a
    channel spacing (0.25 m) and two channels answer, but in lossy soil one may answer alone
    (a TM-62P in wet clay: test_a_tm62p_one_channel_sees_in_wet_clay_is_at), and no AP mine,
    stone or clutter item fitted a top that wide (fusion/core.py). An AT-sized unknown is AT,
    once the look is complete; never before (its no-go zone is for good)."""
    *before, after = labels([gpr(depth, 0.12, conf=0.9, polarity=1)],
                            [0.5, 0.9 * LOOK_S, 100.0])
    for kinds in before:
        assert kinds and DetectionKind.AT not in kinds
    assert after == [DetectionKind.AT]
    # a 6 cm top is an AP mine's (PMN: 5.6 cm radius) or a stone's: never AT
    for kinds in labels([gpr(depth, 0.06, conf=0.9, polarity=1)], [0.5, LOOK_S, 100.0]):
        assert DetectionKind.AT not in kinds


def test_tm62_seen_by_two_channels_is_at_once_looked_at():
    """The look rule costs a real AT mine one second: two channels report it together and it
    is AT at the first update after the look, well before the flail (1.2 m behind the boom)
    reaches it; before that it is suspect, never clutter."""
    first, looked = labels([gpr(0.2, 0.15, polarity=1), gpr(0.21, 0.16, x=5.27, polarity=1)],
                           [0.5, LOOK_S + 0.05])
    assert first and DetectionKind.CLUTTER not in first and DetectionKind.AT not in first
    assert looked == [DetectionKind.AT]


def test_a_stone_the_md_never_hears_makes_no_no_go_zone():
    """Issue 12, a 20 x 8 m field without AT mines: a stone at 28 cm reported twice along one
    channel was AT before the MD's look (P(AT) 9 %), and its permanent no-go zone cut 5 % of
    the field off. After the look the MD's silence says stone: no AT label at any update."""
    dets = [gpr(0.33, 0.05, conf=0.64, strength=4.0, polarity=1),
            gpr(0.23, 0.02, conf=0.72, strength=5.9, x=5.23, polarity=1)]
    for kinds in labels(dets, [0.0, 0.5, LOOK_S + 0.05, WAIT_S + 0.1, 100.0]):
        assert DetectionKind.AT not in kinds and DetectionKind.UXO not in kinds


def test_a_wide_silent_reflector_is_at_only_after_the_look():
    """A 22 cm flat top at 15 cm under three channels that the MD never hears: a stone, or a
    plastic AT mine whose fuze the MD misses (TMA-3 class). Not AT before the look; after it
    the cost of driving onto an AT mine decides (P(AT) ~11 % > ~5 %): a no-go zone."""
    dets = [gpr(0.14, 0.0, conf=0.79, strength=13.8, y=4.96, polarity=1),
            gpr(0.15, 0.11, conf=0.81, strength=14.9, polarity=1),
            gpr(0.15, 0.03, conf=0.64, strength=8.6, y=5.02, polarity=1)]
    before, after = labels(dets, [0.5, LOOK_S + 0.05])
    assert before and DetectionKind.AT not in before and DetectionKind.CLUTTER not in before
    assert after == [DetectionKind.AT]


def test_tm62_under_the_outer_channel_only_is_at_after_the_look():
    """Under the boom's outer channel only one channel reports it: AT once the look is
    complete (3 s of budget at 0.4 m/s, the look takes 1 s)."""
    kinds = labels([gpr(0.2, 0.16, conf=0.95, polarity=1)], [LOOK_S + 0.05, 100.0])
    assert kinds == [[DetectionKind.AT], [DetectionKind.AT]]


def test_the_look_needs_the_boom_to_move_past_the_object():
    """At the governed 0.15 m/s, ``look_s`` alone is 0.15 m of travel, before the MD passed
    over the object (~0.4 m): over DDS a metal wire whose MD reports were still coming was AT
    for one update and left a permanent no-go zone. The look completes once the boom moved
    ``look_m`` as well; a machine standing still gets no no-go label from a single report."""
    p = FusionParams()
    speed = 0.15

    def first_at(moving):
        f = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
        f.sweep(1.0, 5.0, 0.0, 0.0)
        f.add([gpr(0.2, 0.16, conf=0.95, polarity=1)], stamp=0.0)
        for k in range(1, 101):
            t = 0.1 * k
            f.sweep(1.0 + (speed * t if moving else 0.0), 5.0, 0.0, t)
            f.update(t)
            if [d.kind for d in f.fused()] == [DetectionKind.AT]:
                return t
        return None

    t = first_at(moving=True)
    assert t is not None and speed * t >= p.look_m - 1e-9 and t > p.look_s
    assert first_at(moving=False) is None


@pytest.mark.parametrize('looks', [
    # (MD grams, MD depth), GPR (depth, half width)...: TM-62Ps 5 cm deep in laterite at the
    # governed 0.15 m/s, as bench/classification.py --verbose read them (all were AP)
    ((3.7, 0.04), (0.05, 0.20), (0.06, 0.10)),
    ((4.1, 0.07), (0.05, 0.24), (0.06, float('nan'))),
    ((2.0, 0.0), (0.05, float('nan')), (0.04, 0.21)),
])
def test_a_shallow_tm62p_with_an_at_sized_top_is_at(looks):
    """An AT mine laid flush or a few cm deep is AT by its top's width, not AP by its depth:
    the AT depth model has a flush component (a flail on a TM-62P disables the machine)."""
    (grams, md_depth), *tops = looks
    dets = [md(grams, md_depth, conf=0.94)]
    dets += [gpr(depth, radius, polarity=1, y=5.0 + 0.2 * k)
             for k, (depth, radius) in enumerate(tops)]
    assert fuse(dets, now=100.0).kind == DetectionKind.AT


@pytest.mark.parametrize('grams,md_conf', [((19.9, 31.9), 0.69), ((142.0,), 0.8)])
def test_a_fuze_weight_fragment_reflecting_as_metal_is_not_at(grams, md_conf):
    """Grams of metal under a top that reflects against the pulse's sign are a fragment, not
    a TM-62P: a plastic case reflects with the sign, as an AP mine's body does (fragments
    like these were AT, each a no-go zone, on generated wet clay and laterite:
    bench/classification.py). The same reads with the sign, and a steel-cased TM-62M
    either way, stay AT."""
    nan = float('nan')

    def kind(pol, metal=grams, radius=nan):
        dets = [md(g, 0.18, conf=md_conf) for g in metal]
        dets += [gpr(0.18, radius, conf=0.7, polarity=pol),
                 gpr(0.18, radius, conf=0.7, polarity=pol, y=5.2)]
        return fuse(dets, now=100.0).kind

    assert kind(-1) not in (DetectionKind.AT, DetectionKind.UXO, DetectionKind.CLUTTER)
    assert kind(1) == DetectionKind.AT
    assert kind(-1, metal=(2000.0,), radius=0.15) == DetectionKind.AT
    assert kind(1, metal=(2000.0,), radius=0.15) == DetectionKind.AT


@pytest.mark.parametrize('polarity, radius_min', [(-1, 0.0), (1, 0.12)])
def test_a_deep_silent_reflector_is_at_whatever_its_polarity(polarity, radius_min):
    """Against the pulse's sign a deep reflector the MD does not hear is metal or a dense
    stone, not a plastic AT mine, but it may be a round deeper than the MD reaches: an 82 mm
    mortar 34 cm deep in dry sand and in laterite read so (two or three reports against the
    sign, no MD answer, point-like tops of 0-4 cm; bench/classification.py seeds 1-3). A
    no-go zone either way; with the pulse's sign the reports need a flat top
    (test_a_deep_point_like_reflector_with_the_pulses_sign_is_a_stone)."""
    d = fuse([gpr(0.34, math.nan, strength=16.0, polarity=polarity, radius_min=radius_min),
              gpr(0.34, 0.01, strength=14.0, polarity=polarity, y=5.2)], now=100.0)
    assert d.kind in (DetectionKind.AT, DetectionKind.UXO)


def _reports(rows, polarity=1):
    """GPR reports (depth, stack strength, confidence, radius_min), open tops, one look."""
    return [gpr(depth, math.nan, conf=conf, strength=z, polarity=polarity, radius_min=rmin,
                y=5.0 + 0.05 * i) for i, (depth, z, conf, rmin) in enumerate(rows)]


def test_a_deep_point_like_reflector_with_the_pulses_sign_is_a_stone():
    """bench/missions.py, 18 missions (seeds 1-2 of the generated families, rugged_terrain,
    irregular_area), replayed by bench/fusion_replay.py: 57 of 79 false no-go zones were the
    deep-reflector rule on the simulator's stones 12-26 cm deep in loam, laterite and wet
    clay (a stone's permittivity, 6, below the soil's: an echo with the pulse's sign), strong
    enough (z 10-17) and seen in one look by several channels, but every report point-like:
    the fit left the top open and allowed a point (radius_min 0-2 cm). Over TM-62Ps 14-29 cm
    deep the strongest deep report's top read 9-20 cm on every soil (bench/classification.py)
    and a disc always lies within 12.5 cm of a channel. Only flat-topped reports make a deep
    reflector's strength (deep_reflector_min_half_width_m); against the sign nothing changes.
    """
    def kind(dets, **kw):
        return fuse(dets, now=100.0, **kw).kind
    # gen_at_uxo_lanes seed 1, outside the field: a faint report 24 cm down, then three
    # 12-13 cm deep in one look (z 17.2 / 13.9 / 13.3); the track read 15.5 cm
    strong = _reports([(0.243, 4.4, 0.70, 0.0), (0.121, 17.2, 0.84, 0.0),
                       (0.133, 13.9, 0.79, 0.0), (0.129, 13.3, 0.78, 0.0)])
    # gen_rect_loam seed 2: three channels at 24 cm, z 10.4 at most (the plastic branch)
    faint = _reports([(0.237, 5.7, 0.79, 0.0), (0.235, 6.8, 0.53, 0.0),
                      (0.239, 10.4, 0.71, 0.0), (0.237, 8.0, 0.73, 0.0)])
    for stone in (strong, faint):
        assert fuse(stone, now=100.0, **ONE_TRACK).depth >= FusionParams().deep_reflector_depth_m
        assert kind(stone, **ONE_TRACK) != DetectionKind.AT
        # the rule before: every deep report's strength counted
        assert kind(stone, deep_reflector_min_half_width_m=0.0, **ONE_TRACK) == DetectionKind.AT
        # the same reports with a disc's flat top (open, at least 12 cm) are AT
        disc = [dataclasses.replace(d, radius_min=0.12) for d in stone]
        assert kind(disc, **ONE_TRACK) == DetectionKind.AT
        # a measured top of an AP mine's size (5 cm) still counts: the cheap side
        ap = [dataclasses.replace(d, radius=0.05) for d in stone]
        assert kind(ap, **ONE_TRACK) == DetectionKind.AT


@pytest.mark.parametrize('hits', [[], [gpr(0.1, 0.01, polarity=-1)],
                                  [gpr(0.05, 0.04, polarity=1)],
                                  [gpr(0.2, 0.17), gpr(0.21, 0.15)]],
                         ids=['md_only', 'point_metal', 'ap_like', 'at_wide'])
def test_an_md_hit_of_unknown_metal_is_heard_metal_not_a_few_milligrams(hits):
    # The MD processor reports NaN grams when its fit wandered off (a TM-62M beyond the outer
    # coil). Read as the floor's milligrams, the hits said "metal, but none": a point-like
    # metal reflector came out 28 % ROCK (no metal) and 27 % UXO.
    from demining_perception.fusion.core import posterior
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate([md(math.nan, 0.27, conf=0.6), md(math.nan, 0.27, conf=0.6, x=5.01)]
                          + hits):
        f.add([d], stamp=0.2 * i)
    f.update(10.0)
    (t,) = f.tracks.values()
    assert t.md_hits == 2 and t.metal_g == 0.0
    post = posterior(t, f.params, 10.0)
    assert post[Hypothesis.ROCK] < 0.05                 # the MD heard metal
    (d,) = f.fused()
    # never cleared as clutter on an unknown amount; the wide flat top is still AT
    assert d.kind == (DetectionKind.AT if len(hits) == 2 else DetectionKind.AP)


def weak_at_suspect(depth=0.03):
    """31 g of metal under a shallow 7 cm GPR top two channels report confidently with the
    pulse's sign: AT at P(AT) ~10 % by the cost matrix. (The track this stood for,
    bench/missions.py gen_at_uxo_lanes seed 2, a fragment looked at again after the flail had
    passed over it, had no confident GPR report: it reads AP since the weak-echo evidence,
    :data:`demining_perception.fusion.core._P_GPR_WEAK`.)"""
    return ([md(31.0, depth + 0.02, conf=0.9, y=5.0 + 0.02 * i) for i in range(2)]
            + [gpr(depth, 0.07, conf=0.9, polarity=1, strength=12.0),
               gpr(depth, 0.07, conf=0.9, polarity=1, y=5.15, strength=12.0)])


def fuse_on(dets, processed, now=100.0, processed_value=None):
    """As :func:`fuse`, the mission's processed ground given first (10 x 10 m, 0.1 m cells)."""
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    f.set_processed(processed, 0.0, 0.0, 0.1, processed_value=processed_value)
    for i, d in enumerate(dets):
        f.add([d], stamp=0.2 * i)
    f.update(now)
    [out] = f.fused()
    return out, next(iter(f.tracks.values()))


def test_a_weak_at_suspect_where_the_flail_has_passed_makes_no_no_go_zone():
    """The working flail processed the ground over its top without an AT detonation: an AT
    mine there would almost surely have gone off (flailed_at_survival), so the few percent
    of P(AT) that made a no-go zone in processed ground fall below the label's threshold;
    the track stays a suspect (AP), never clutter."""
    nowhere = np.zeros((100, 100), dtype=bool)
    everywhere = np.ones((100, 100), dtype=bool)
    d, t = fuse_on(weak_at_suspect(), nowhere)
    assert d.kind == DetectionKind.AT and not t.flailed
    d, t = fuse_on(weak_at_suspect(), everywhere)
    assert t.flailed and d.kind in (DetectionKind.AP, DetectionKind.UNKNOWN)
    assert t.posterior[Hypothesis.AT] < 0.01


def test_flailed_needs_the_whole_top_processed_and_a_top_within_the_flails_depth():
    p = FusionParams()
    holed = np.ones((100, 100), dtype=bool)
    holed[51, 50] = False                       # one cell beside the track
    assert fuse_on(weak_at_suspect(), holed)[0].kind == DetectionKind.AT
    # the record guarantees working_depth_m - depth_tolerance_m; the margin on top of it
    deep = p.working_depth_m - p.depth_tolerance_m - p.flailed_depth_margin_m + 0.01
    d, t = fuse_on(weak_at_suspect(deep), np.ones((100, 100), dtype=bool))
    assert not t.flailed and d.kind == DetectionKind.AT


def test_an_occupancy_grid_of_processed_ground_is_read_as_its_boolean_grid():
    """The node hands the mission's occupancy grid over as it is (100: processed, 0: not,
    -1: outside the field), compared where a track is judged."""
    holed = np.ones((100, 100), dtype=bool)
    holed[51, 50] = False
    for cells in (np.zeros((100, 100), dtype=bool), np.ones((100, 100), dtype=bool), holed):
        occupancy = np.where(cells, np.int8(100), np.int8(0))
        occupancy[0, :] = -1
        occupancy.flags.writeable = False          # as the core host shares it
        d, t = fuse_on(weak_at_suspect(), cells)
        d2, t2 = fuse_on(weak_at_suspect(), occupancy, processed_value=100)
        assert (d2.kind, t2.flailed, d2.confidence) == (d.kind, t.flailed, d.confidence)


@pytest.mark.parametrize('dets', [
    # a TM-62P laid 5 cm deep: its AT-sized top (the wide-top rule)
    [md(3.7, 0.04, conf=0.94), gpr(0.05, 0.20, polarity=1), gpr(0.06, 0.10, polarity=1, y=5.2)],
    # a steel-cased TM-62M laid flush: kilograms of metal
    [md(2100.0, 0.08, conf=0.93), gpr(0.06, 0.15, polarity=-1), gpr(0.06, 0.14, y=5.2)],
])
def test_strong_at_evidence_stays_at_where_the_flail_has_passed(dets):
    d, t = fuse_on(dets, np.ones((100, 100), dtype=bool))
    assert t.flailed and d.kind == DetectionKind.AT


@pytest.mark.parametrize('grams, md_depth', [(2300.0, 0.42), (253.0, 0.33), (25.0, 0.21)],
                         ids=['pmn2_read_2.3kg', 'ts50_read_253g', 'ts50_read_25g'])
def test_a_weak_md_look_too_deep_for_the_gprs_top_does_not_weigh_the_metal(grams, md_depth):
    """Weak MD looks at small AP mines that fitted too wide a footprint (bench/classification.py:
    a PMN-2 8.6 cm deep read 2.3 kg at 42 cm, a TS-50 2 cm deep 253 g at 33 cm; over DDS a
    TS-50 at the boom's edge 25 g at 21 cm, P(AP) 0.012: within a factor 12 of CLUTTER)."""
    from demining_perception.fusion.core import posterior
    hits = [gpr(0.03, 0.04, conf=0.9, strength=12.0), md(grams, md_depth, conf=0.56)]
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate(hits):
        f.add([d], stamp=0.2 * i)
    f.update(100.0)
    (t,) = f.tracks.values()
    # the MD answered; how much metal it heard is unknown
    assert t.md_hits == 1 and t.metal_g == 0.0 and not t.weak_used
    post = posterior(t, f.params, 100.0)
    assert post[Hypothesis.AP] > 0.03 and post[Hypothesis.AT] + post[Hypothesis.UXO] < 0.05
    (d,) = f.fused()
    assert d.kind == DetectionKind.AP
    # the rule off (the excess unbounded), the metal weighs: a no-go zone for a PMN-2 (UXO),
    # or an AP mine less than half as likely (a TS-50 at 253 g: P(AP) 0.0025, within a factor
    # 2.5 of CLUTTER)
    f = FusionCore.from_bounds(FusionParams(md_weak_depth_excess_m=math.inf),
                               (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate(hits):
        f.add([d], stamp=0.2 * i)
    f.update(100.0)
    (t,) = f.tracks.values()
    assert t.weak_used and t.metal_g == pytest.approx(grams)
    (d,) = f.fused()
    assert d.kind != DetectionKind.AP or \
        posterior(t, f.params, 100.0)[Hypothesis.AP] < 0.5 * post[Hypothesis.AP]


def test_weak_md_looks_that_agree_with_the_gpr_and_reliable_looks_always_weigh():
    # a weak look whose metal centre is a few cm below the GPR's top: its metal counts
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate([gpr(0.05, 0.03, conf=0.9), md(20.0, 0.12, conf=0.6)]):
        f.add([d], stamp=0.2 * i)
    (t,) = f.tracks.values()
    assert t.weak_used and t.metal_g == pytest.approx(20.0) and t.md_depth == pytest.approx(0.12)
    # a reliable look weighs wherever the GPR's top is; the weak one too deep does not
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate([gpr(0.03, 0.03, conf=0.9), md(2100.0, 0.27, conf=0.93),
                           md(900.0, 0.4, conf=0.6)]):
        f.add([d], stamp=0.2 * i)
    (t,) = f.tracks.values()
    assert not t.weak_used and t.metal_g == pytest.approx(2100.0)
    # no GPR report: nothing contradicts a weak look
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    f.add([md(253.0, 0.33, conf=0.56)], stamp=0.0)
    (t,) = f.tracks.values()
    assert t.weak_used and t.metal_g == pytest.approx(253.0)


def test_a_deep_plastic_reflector_two_channels_report_faintly_is_at():
    """bench/perception.py gen:dry_sand seed 1 and gen:wet_clay, gen:laterite seed 3:
    TM-62Ps 22-26 cm deep, the MD silent, two or three channels in one pass with the pulse's
    sign but strengths of 9-16 (plastic against dry sand is a weak contrast, wet clay a lossy
    path): below deep_reflector_min_z, never AT, left for the flail. With the pulse's sign
    and two channels in one look, deep_reflector_plastic_min_z is enough; one channel, a
    metal echo or a stone's 3-8 are not."""
    def kind(dets, **kw):
        return fuse(dets, now=100.0, **kw).kind
    # flat tops of an AP mine's size, which the posterior does not call AT (a 10-12 cm top
    # it does): the rule speaks
    two = [gpr(0.23, 0.06, strength=11.6, polarity=1),
           gpr(0.235, 0.05, strength=8.9, polarity=1, y=5.25)]
    assert kind(two) == DetectionKind.AT
    point = [dataclasses.replace(d, radius=math.nan, radius_min=0.0) for d in two]
    assert kind(point) != DetectionKind.AT
    assert kind(two, deep_reflector_plastic_min_z=math.inf) != DetectionKind.AT
    assert kind(two[:1]) != DetectionKind.AT
    against = [dataclasses.replace(d, polarity=-1) for d in two]
    assert kind(against) != DetectionKind.AT
    stone = [dataclasses.replace(d, strength=7.5) for d in two]
    assert kind(stone) != DetectionKind.AT
    # two channels, but in two passes (the boom moved past the look gap between them): a
    # point-like stone each pass saw once, not a wide top
    p = FusionParams()
    f = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
    f.sweep(1.0, 5.0, 0.0, 0.0)
    f.add([two[0]], 0.1)
    f.sweep(1.0 + p.gpr_look_gap_m + 1.0, 5.0, 0.0, 1.0)
    f.add([dataclasses.replace(two[1], y=5.05)], 1.1)
    f.update(100.0)
    assert len(f.tracks) == 1 and next(iter(f.tracks.values())).kind != DetectionKind.AT


@pytest.mark.parametrize('polarity', [-1, 1])
def test_a_shallow_stones_strong_echo_averaged_with_a_faint_deep_one_is_not_at(polarity):
    """bench/perception.py (seeds 1-3): a stone 5-11 cm deep gave one strong report (z 16-22)
    at its depth and a faint one (z 7-9) 24-39 cm down; the track's depth, their mean, read
    21-23 cm, and the deep-reflector rule took the shallow report's strength for a deep
    object's: AT, a false no-go zone (5 of 22 false AT labels, mixed_field, rugged_terrain,
    gen:loam). The strong echo must itself come from deep down
    (``deep_reflector_report_margin_m``); the same reports at one depth stay AT."""
    stone = [gpr(0.08, float('nan'), strength=21.0, polarity=polarity),
             gpr(0.39, float('nan'), strength=8.2, conf=0.9, polarity=polarity, y=5.2)]
    # 31 cm apart in depth: two tracks (association in 3-D), neither AT
    assert [d.kind not in (DetectionKind.AT, DetectionKind.UXO)
            for d in fuse_all(stone, now=100.0)] == [True, True]
    # where they are one track (the gate opened), the rule keeps it off AT
    d = fuse(stone, now=100.0, **ONE_TRACK)
    assert d.depth >= FusionParams().deep_reflector_depth_m    # the mean reads deep
    assert d.kind not in (DetectionKind.AT, DetectionKind.UXO)
    # the old rule: every report's strength counts (point-like ones too)
    assert fuse(stone, now=100.0, deep_reflector_report_margin_m=1.0,
                deep_reflector_min_half_width_m=0.0, **ONE_TRACK).kind == DetectionKind.AT
    # one deep object with a flat top (open, at least 12 cm: a disc)
    deep = [dataclasses.replace(stone[0], depth=0.23, radius_min=0.12),
            dataclasses.replace(stone[1], depth=0.24, radius_min=0.12)]
    assert fuse(deep, now=100.0).kind == DetectionKind.AT
    # a TM-62P 15-16 cm deep whose strong report reads a little shallow stays AT
    tm62p = [gpr(0.135, 0.07, strength=39.0, polarity=1),
             gpr(0.175, 0.07, strength=12.0, polarity=1, y=5.12)]
    assert fuse(tm62p, now=100.0).kind == DetectionKind.AT


def _one_pass(dets, depths=None, **kw):
    """Feed GPR reports as the boom passes (0.1 m of travel apart); return the tracks."""
    p = FusionParams(**kw)
    f = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
    for i, d in enumerate(dets):
        f.sweep(1.0 + 0.1 * i, 5.0, 0.0, 0.1 * i)
        f.add([d], 0.1 * i + 0.05)
    return f.tracks


def test_the_channels_over_one_wide_object_make_one_track():
    """A TM-62P under three channels 0.25 m apart (gen:dry_sand seed 1): the first two
    reports pulled the track's mean to one side, the third landed 0.37-0.40 m from it and
    began a second track, each too short of reports for the deep-reflector rule."""
    three = [gpr(0.23, 0.03, strength=11.6, polarity=1, y=5.25),
             gpr(0.23, 0.03, strength=8.9, polarity=1, y=5.0),
             gpr(0.235, 0.03, strength=3.5, polarity=1, y=4.72)]
    assert len(_one_pass(three)) == 1
    assert len(_one_pass(three, look_association_radius_m=0.35)) == 2
    # another depth or the opposite sign is another object
    other_depth = three[:2] + [dataclasses.replace(three[2], depth=0.33)]
    assert len(_one_pass(other_depth)) == 2
    other_sign = three[:2] + [dataclasses.replace(three[2], polarity=-1)]
    assert len(_one_pass(other_sign)) == 2


def faint_md(x=5.0, y=5.0):
    """A faint MD answer as the MD processor reports one: found on the along-track average,
    its readings under the threshold: the threshold's confidence, no metal estimate."""
    return Detection(x=x, y=y, depth=0.0, confidence=0.5, source='md', radius=0.08,
                     strength=math.nan)


@pytest.mark.parametrize('depth, half_width, polarity', [
    (0.05, 0.10, 1), (0.02, 0.14, 0), (0.10, 0.10, 1), (0.05, 0.20, -1), (0.03, 0.03, 1)])
def test_a_faint_md_answer_over_a_shallow_reflector_is_a_suspect_not_at_nor_clutter(
        depth, half_width, polarity):
    # A TS-50 between two coils: a faint MD answer and one GPR report of a shallow top. Read
    # as "the MD answered" (as a louder answer whose metal is unknown) it took a stone's share
    # to every metal class, AT's too (P(AT) 0.05-0.12 here), and a wide fit made it AT by the
    # wide-top rule; an answer that faint is a gram or two at most that shallow, no AT mine.
    d = fuse([faint_md(), gpr(depth, half_width, polarity=polarity)], now=100.0)
    assert d.kind in (DetectionKind.AP, DetectionKind.UNKNOWN), d


@pytest.mark.parametrize('hits', [1, 2, 3])
@pytest.mark.parametrize('gpr_dets', [[], [gpr(0.02, 0.04, polarity=1)],
                                      [gpr(0.08, 0.02, polarity=-1)],
                                      [gpr(0.12, 0.05, polarity=0)]],
                         ids=['md_only', 'flush_plastic', 'metal_8cm', 'point_12cm'])
def test_faint_md_answers_alone_never_make_an_at_label(hits, gpr_dets):
    from demining_perception.fusion.core import posterior
    dets = [faint_md(y=5.0 + 0.01 * i) for i in range(hits)] + gpr_dets
    for now in (0.5, 2.0, 10.0, 25.0):      # (a lone tentative hit is dropped at 30 s)
        f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
        for i, d in enumerate(dets):
            f.add([d], stamp=0.2 * i)
        f.update(now)
        (t,) = f.tracks.values()
        assert t.md_faint and t.metal_g == 0.0
        assert posterior(t, f.params, now)[Hypothesis.AT] < 0.02
        assert t.kind not in (DetectionKind.AT, DetectionKind.UXO, DetectionKind.CLUTTER)


def test_a_faint_answer_bounds_the_metal_by_the_depth():
    # A = G m / r^6: a faint answer under a shallow top is a gram at most (an AP mine's, not
    # an AT mine's), 20-30 cm down it is tens of grams (a TM-62P's fuze).
    from demining_perception.fusion.core import CLASS_MODELS, _faint_log_likelihood
    p = FusionParams()

    def lik(h, depth):
        return math.exp(_faint_log_likelihood(CLASS_MODELS[h], depth, p, True))
    for depth in (0.0, 0.03, 0.06):
        assert lik(Hypothesis.AP, depth) > 10.0 * lik(Hypothesis.AT, depth)
    for depth in (0.2, 0.25):
        assert lik(Hypothesis.AT, depth) > 10.0 * lik(Hypothesis.AP, depth)
    # a stone answers only as a false alarm, whatever the depth
    stone = math.exp(_faint_log_likelihood(CLASS_MODELS[Hypothesis.ROCK], 0.05, p, False))
    assert stone == pytest.approx(1.0 - CLASS_MODELS[Hypothesis.ROCK].p_md_silent)


def test_a_louder_md_answer_speaks_for_the_metal_not_the_faint_one():
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 10.0, 10.0))
    f.add([faint_md()], stamp=0.0)
    f.add([md(1800.0, 0.15, conf=0.9)], stamp=0.2)
    f.update(10.0)
    (t,) = f.tracks.values()
    assert t.md_faint_hits == 1 and not t.md_faint
    assert t.kind == DetectionKind.AT


def _channels(looks):
    """GPR reports of one pass, one channel (0.25 m) apart: (depth, half width, narrowest
    top the fit allows, confidence, strength) each, the echo with the pulse's sign."""
    return [Detection(x=5.02, y=5.0 + 0.25 * k, depth=depth, confidence=conf, source='gpr',
                      radius=radius, strength=z, polarity=1, radius_min=narrowest)
            for k, (depth, radius, narrowest, conf, z) in enumerate(looks)]


NAN = float('nan')


@pytest.mark.parametrize('grams,md_depth,looks', [
    # TM-62Ps 5 cm deep in laterite as bench/classification.py --worlds shallow_at --verbose
    # read them (all three AP, the flail over them): the channel over the centre strong, its
    # width open but no AP mine's, a neighbour's 3-6 cm chord the only width measured
    (27.2, 0.10, ((0.04, NAN, 0.14, 0.99, 100.0), (0.05, 0.03, 0.03, 0.94, 16.0),
                  (0.08, NAN, 0.0, 0.56, 3.0))),
    (31.0, 0.12, ((0.05, NAN, 0.10, 0.99, 87.0), (0.05, 0.06, 0.05, 0.97, 35.0))),
    (32.8, 0.11, ((0.05, NAN, 0.20, 0.99, 99.0), (0.04, 0.05, 0.05, 0.99, 68.0))),
])
def test_a_shallow_tm62p_whose_centre_channel_leaves_its_width_open_is_at(
        grams, md_depth, looks):
    """The chord a neighbour channel crossed is not the mine's width when the strongest
    report, over its centre, left its own width open but rules that chord out: the top reads
    as the narrowest one that report allows (module docstring of the fusion, "Open
    widths")."""
    d = fuse([md(grams, md_depth, conf=0.9)] + _channels(looks), now=100.0)
    assert d.kind == DetectionKind.AT


@pytest.mark.parametrize('md_looks,looks', [
    # PMN-2s 7-9 cm deep (bench/classification.py generated, seeds 1-2): an open width that
    # allows the neighbour's chord leaves the chord the width, and the mine AP
    (((3.0, 0.13, 0.57), (1.8, 0.11, 0.61)),
     ((0.08, 0.05, 0.05, 0.89, 9.0), (0.08, NAN, 0.01, 0.83, 6.0), (0.08, NAN, 0.05, 0.98, 43.0))),
    (((2308.6, 0.42, 0.58),),
     ((0.09, NAN, 0.01, 0.95, 16.0), (0.09, 0.02, 0.02, 0.93, 13.0))),
])
def test_an_open_width_that_allows_the_measured_chord_leaves_an_ap_mine_ap(md_looks, looks):
    dets = [md(g, depth, conf=conf) for g, depth, conf in md_looks] + _channels(looks)
    assert fuse(dets, now=100.0).kind == DetectionKind.AP


def test_a_weaker_reports_open_width_does_not_widen_a_stone():
    """Only the strongest report (the channel nearest the object's centre) can show that a
    measured chord is not the widest: a weak report 38 cm down whose open fit allowed 19 cm
    (noise) beside a stone's 1 cm top made it AT (P(AT) 0.055, bench/classification.py
    mixed_field seed 2, when every open report counted)."""
    looks = ((0.06, NAN, 0.0, 0.93, 12.6), (0.38, NAN, 0.19, 0.87, 6.8),
             (0.26, 0.01, 0.0, 0.90, 8.8))
    dets = [dataclasses.replace(d, polarity=-1) for d in _channels(looks)]
    # the 6 cm top and the 26-38 cm reports are two tracks (association in 3-D), neither AT
    assert [d.kind not in (DetectionKind.AT, DetectionKind.UXO)
            for d in fuse_all(dets, now=100.0)] == [True, True]
    assert fuse(dets, now=100.0, **ONE_TRACK).kind not in (DetectionKind.AT, DetectionKind.UXO)


# -- spanning tops: two channels side by side both see a strong top (fusion.core.spanning_top)


def _pair(strengths, depths=(0.131, 0.131), ys=(1.004, 0.758), polarity=1, radius=0.08,
          narrowest=(0.07, 0.08)):
    """Two channels' reports of one look, as the boom passes an object between them."""
    return [Detection(x=6.53, y=y, depth=d, confidence=0.98, source='gpr', radius=radius,
                      strength=z, polarity=polarity, radius_min=r_min)
            for y, d, z, r_min in zip(ys, depths, strengths, narrowest)]


def test_a_tm62p_two_channels_see_strongly_is_at_though_its_fits_read_narrow():
    """bench/missions.py gen_at_uxo_lanes seed 2: a TM-62P 13 cm deep in loam, 16 cm off the
    boom's centre line, unheard by the MD; the two channels either side reported 8 cm tops
    at strengths 40 and 43. P(AT) 0.047 made it UNKNOWN and the flail set it off."""
    before, after, later = labels(_pair((40.3, 43.4)), [0.5, LOOK_S + 0.05, 100.0])
    assert DetectionKind.AT not in before
    assert after == [DetectionKind.AT] and later == [DetectionKind.AT]


def test_the_spanning_top_rule_is_what_makes_it_at():
    """Without the rule the same reports are a suspect, not a no-go zone."""
    d = fuse(_pair((40.3, 43.4)), now=100.0, spanning_top_min_z=math.inf)
    assert d.kind == DetectionKind.UNKNOWN


@pytest.mark.parametrize('strengths, depths, ys, polarity', [
    # a PMA-1 8-9 cm deep in laterite midway between two channels (bench/classification.py
    # generated:laterite seed 2): the strongest pair on anything but an AT mine
    ((20.0, 18.7), (0.088, 0.09), (4.868, 4.618), 1),
    # an AP mine under one channel: its neighbour sees the rim weakly
    ((43.0, 6.0), (0.08, 0.08), (5.0, 5.25), 1),
    # one channel's two reports of one object are no span
    ((43.0, 40.0), (0.08, 0.08), (5.0, 5.05), 1),
    # two tops 8 cm apart in depth are two objects
    ((43.0, 40.0), (0.06, 0.14), (5.0, 5.25), 1),
    # metal (the echo against the pulse's sign): the MD's metal speaks for it
    ((43.0, 40.0), (0.08, 0.08), (5.0, 5.25), -1),
])
def test_what_does_not_span_two_channels_is_no_at(strengths, depths, ys, polarity):
    dets = _pair(strengths, depths, ys, polarity, radius=0.03, narrowest=(0.02, 0.02))
    for d in fuse_all(dets, now=100.0, **ONE_TRACK):
        assert d.kind not in (DetectionKind.AT, DetectionKind.UXO)


def test_a_span_needs_both_reports_in_one_look():
    """Two passes of the boom over a stone, half a lane apart, are no span: each channel
    reported it in its own look."""
    p = FusionParams()
    f = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
    a, b = _pair((43.0, 40.0))
    f.sweep(6.0, 1.0, 0.0, 0.0)
    f.add([a], 0.1)
    f.sweep(6.0 + 2.0 * p.look_association_travel_m, 1.0, 0.0, 1.0)
    f.add([b], 1.1)
    (track,) = f.tracks.values()
    assert track.gpr_hits == 2 and not spanning_top(track, p)
    f2 = FusionCore.from_bounds(p, (0.0, 0.0, 10.0, 10.0))
    f2.sweep(6.0, 1.0, 0.0, 0.0)
    f2.add([a, b], 0.1)
    (track,) = f2.tracks.values()
    assert spanning_top(track, p)


def test_a_stone_two_channels_see_strongly_as_a_point_is_no_at():
    """bench/missions.py gen_at_uxo_lanes seed 2: a stone 7 cm deep in loam between two
    channels read strength 31 on both, each a point (0 cm tops): no disc under them."""
    dets = _pair((31.0, 31.0), depths=(0.07, 0.07), ys=(-4.24, -4.49), radius=0.0,
                 narrowest=(0.0, 0.0))
    assert fuse(dets, now=100.0).kind not in (DetectionKind.AT, DetectionKind.UXO)
    wide = [dataclasses.replace(d, radius=0.04) for d in dets]
    assert fuse(wide, now=100.0).kind == DetectionKind.AT


def test_fuze_grams_under_a_weak_echo_are_no_at_but_under_a_strong_wide_top_are():
    """A PMN-2 6 cm deep whose MD look read 20 g, as a TM-62P's fuze reads, under two GPR
    reports with the pulse's sign that were never confident: P(AT) 6.5 % made it AT, a false
    no-go zone (bench/missions.py gen_at_uxo_lanes seed 2; 26 of 31 false no-go labels in
    replays of 24 recorded missions were Bayes decisions, most like this one). A TM-62-class
    disc is a strong reflector whose fits measure its top (``_P_GPR_WEAK``): with no
    confident report it is a suspect, with a confident 13 cm top it is AT."""
    nan = float('nan')

    def kind(conf, radius):
        dets = [md(20.2, 0.08, conf=0.6),
                gpr(0.06, radius, conf=conf, polarity=1, strength=52.0),
                gpr(0.06, radius, conf=conf, polarity=1, strength=40.0, y=5.2)]
        return fuse(dets, now=100.0).kind

    assert kind(0.7, nan) == DetectionKind.AP
    assert kind(0.95, 0.13) == DetectionKind.AT
