"""Fusion: grid, tracks and classification on synthetic detection streams."""

import dataclasses

import numpy as np
import pytest

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_perception.fusion.core import FusionCore, FusionParams


def core(**kw):
    return FusionCore.from_bounds(FusionParams(**kw), (0.0, 0.0, 20.0, 20.0))


def gpr(x, y, depth=0.1, conf=0.9, radius=0.05, strength=10.0):
    return Detection(x=x, y=y, depth=depth, confidence=conf, source='gpr', radius=radius,
                     strength=strength)


def md(x, y, grams=20.0, conf=0.9, kind=DetectionKind.UNKNOWN, depth=0.05):
    """An MD hit: ``strength`` is the processor's metal-content estimate in grams."""
    return Detection(x=x, y=y, depth=depth, confidence=conf, source='md', radius=0.1,
                     strength=grams, kind=kind)


def test_repeated_detections_merge_into_one_stable_track():
    f = core()
    rng = np.random.default_rng(0)
    for k in range(6):
        f.add([gpr(5.0 + rng.normal(0, 0.05), 5.0 + rng.normal(0, 0.05))], stamp=k)
        f.add([md(5.0 + rng.normal(0, 0.05), 5.0 + rng.normal(0, 0.05))], stamp=k + 0.5)
    out = f.fused()
    assert len(out) == 1
    assert abs(out[0].x - 5.0) < 0.05 and abs(out[0].y - 5.0) < 0.05
    first_id = out[0].id
    f.add([gpr(5.02, 4.98)], stamp=10.0)
    assert [d.id for d in f.fused()] == [first_id]
    # A second object 1 m away is another track with a new id.
    f.add([gpr(6.0, 5.0), gpr(6.02, 5.0)], stamp=11.0)
    ids = [d.id for d in f.fused()]
    assert len(ids) == 2 and first_id in ids


def test_single_weak_hit_is_not_published_but_strong_one_is():
    f = core()
    f.add([md(3.0, 3.0, conf=0.55)], stamp=0.0)
    assert f.fused() == []
    f.add([gpr(8.0, 8.0, conf=0.95)], stamp=0.0)
    assert len(f.fused()) == 1


def test_probability_rises_where_detections_are():
    f = core()
    p0 = f.grid.probability_at(10.0, 10.0)
    assert p0 < 0.02
    f.add([gpr(10.0, 10.0)], stamp=0.0)
    p1 = f.grid.probability_at(10.0, 10.0)
    f.add([md(10.0, 10.0)], stamp=0.1)
    p2 = f.grid.probability_at(10.0, 10.0)
    assert p0 < p1 < p2
    assert f.grid.probability_at(12.0, 12.0) == p0          # local footprint only
    occ = f.grid.occupancy()
    assert occ.dtype == np.int8 and occ.min() >= 0 and occ.max() <= 100
    r = int((10.0 - f.grid.origin_y) / f.grid.resolution)
    c = int((10.0 - f.grid.origin_x) / f.grid.resolution)
    assert occ[r, c] == round(100 * p2)


def classify_case(dets, now=10.0, **kw):
    f = core(**kw)
    for i, d in enumerate(dets):
        f.add([d], stamp=0.1 * i)
    f.update(now)
    out = f.fused()
    assert len(out) == 1, out
    return out[0]


def test_unsure_metal_is_ap_until_gpr_had_its_chance():
    f = core(gpr_wait_s=3.0)
    f.add([md(4, 4, grams=30), md(4.02, 4, grams=28)], stamp=0.0)
    assert f.fused()[0].kind == DetectionKind.AP            # default when unsure
    f.update(1.0)
    assert f.fused()[0].kind == DetectionKind.AP
    f.update(3.5)
    assert f.fused()[0].kind == DetectionKind.CLUTTER
    # A late large GPR reflector at AT depth: a plastic AT mine with a metal fuze after all.
    f.add([gpr(4.01, 4.0, depth=0.18, radius=0.16)], stamp=4.0)
    assert f.fused()[0].kind == DetectionKind.AT


def test_clutter_field_keeps_mines():
    """~250 metal signals per mine (docs/sources.md): clutter is labelled clutter, no mine lost."""
    rng = np.random.default_rng(1)
    f = FusionCore.from_bounds(FusionParams(), (0.0, 0.0, 60.0, 60.0))
    mines = rng.uniform(2, 58, (8, 2))
    clutter = rng.uniform(0, 60, (2000, 2))
    clutter = clutter[np.min(np.hypot(*(clutter[:, None, :] - mines[None]).transpose(2, 0, 1)),
                             axis=1) > 0.8]
    # Clutter: 1-100 g (docs/sources.md); on metal alone only what reads well above a PMN's
    # estimate spread (up to ~2x of 4 g, twice) can be cleared with the confidence required.
    grams = rng.uniform(25.0, 100.0, len(clutter))
    dets = [md(x + rng.normal(0, 0.03), y, grams=g, conf=0.95)
            for (x, y), g in zip(clutter, grams)]
    for k, (x, y) in enumerate(mines):
        # PMN-like (a few g, sometimes a noisy estimate) or minimum-metal (GPR only).
        if k % 2:
            dets += [md(x, y + 0.02, grams=rng.uniform(0.5, 5.0), conf=0.9)]
        else:
            dets += [md(x, y + 0.02, grams=rng.uniform(5.0, 40.0), conf=0.55)]
        dets += [gpr(x + 0.03, y, depth=0.08, radius=0.07)]
    dets += [md(x + 0.02, y, grams=g * 1.2, conf=0.9) for (x, y), g in zip(clutter, grams)]
    f.add(dets, stamp=0.0)
    f.update(10.0)
    out = f.fused()
    kinds = np.array([int(d.kind) for d in out])
    xy = np.array([[d.x, d.y] for d in out])
    for m in mines:
        i = int(np.argmin(np.hypot(*(xy - m).T)))
        assert np.hypot(*(xy[i] - m)) < 0.1 and kinds[i] == DetectionKind.AP
    # Every track but the mines is clutter (items closer than the association radius merge).
    assert np.count_nonzero(kinds == DetectionKind.AP) == len(mines)
    assert np.count_nonzero(kinds == DetectionKind.CLUTTER) == len(out) - len(mines)
    assert len(out) > 0.85 * len(clutter)


def test_swept_ground_without_returns_falls_below_the_prior_and_hits_still_rise():
    """Negative evidence: a pass of the boom lowers every swept cell once, after the delay in
    which the processors may still report an object there; cells with a hit keep rising."""
    f = core()
    p0 = f.grid.probability_at(10.0, 10.0)
    delay = f.params.miss_delay_s
    # Drive along y = 10 from x = 2 to x = 8 at 1 m/s: the boom (4 m ahead, 2 m wide) sweeps
    # x 6-12; a hit at x = 9 arrives 0.5 s after the boom passed it.
    for k in range(61):
        t = 0.1 * k
        f.sweep(2.0 + 0.1 * k, 10.0, 0.0, t)
        if k == 35:
            f.add([gpr(9.0, 10.0, conf=0.9)], stamp=t)
        if k == 20:
            assert f.grid.probability_at(7.0, 10.0) == p0        # not yet: the delay
    f.update(6.0 + delay + 0.1)
    swept = f.grid.probability_at(10.0, 10.0)
    assert swept < p0 and round(100 * swept) == 0                 # visible in the 0..100 map
    assert f.grid.probability_at(10.0, 10.8) < p0                # within the boom's width
    assert f.grid.probability_at(10.0, 11.5) == p0               # beside the boom
    assert f.grid.probability_at(13.0, 10.0) == p0               # not reached
    # Once per pass: a cell is not lowered again by the poses of the same pass.
    assert f.grid.probability_at(7.0, 10.0) == pytest.approx(swept, rel=1e-6)
    assert f.grid.probability_at(9.0, 10.0) > p0                 # the hit's cell
    # A relocalisation jump is not scanned ground.
    assert f.sweep(2.0, 2.0, 0.0, 20.0) == 0


def test_association_gate_widens_with_the_pose_uncertainty():
    """Two hits 0.5 m apart: two objects with good poses, one with 0.15 m pose sigma."""
    f = core()
    f.add([gpr(5.0, 5.0)], stamp=0.0)
    f.add([gpr(5.5, 5.0)], stamp=0.1)
    assert len(f.tracks) == 2
    g = core()
    g.add([dataclasses.replace(gpr(5.0, 5.0), sigma_xy=0.15)], stamp=0.0)
    g.add([dataclasses.replace(gpr(5.5, 5.0), sigma_xy=0.15)], stamp=0.1)
    assert len(g.tracks) == 1
    assert g.fused()[0].sigma_xy == pytest.approx(0.15)
    # The gate never exceeds max_gate_m.
    h = core()
    h.add([dataclasses.replace(gpr(5.0, 5.0), sigma_xy=5.0)], stamp=0.0)
    h.add([dataclasses.replace(gpr(6.2, 5.0), sigma_xy=5.0)], stamp=0.1)
    assert len(h.tracks) == 2


def test_incremental_map_and_cached_classes_equal_a_full_recomputation():
    """The occupancy cache and the classification cache change no value (speed only)."""
    from demining_perception.fusion.core import _occupancy, classify
    f = core(gpr_wait_s=1.0)
    rng = np.random.default_rng(3)
    for k in range(60):
        t = 0.2 * k
        f.sweep(2.0 + 0.1 * k, 10.0, 0.0, t)
        dets = []
        for _ in range(int(rng.integers(0, 4))):
            make = gpr if rng.random() < 0.5 else md
            dets.append(make(float(rng.uniform(1, 19)), float(rng.uniform(1, 19))))
        f.add(dets, stamp=t)
        if k % 3 == 0:
            f.update(t)
            assert np.array_equal(f.grid.occupancy(), _occupancy(f.grid.cells))
            for tr in f.tracks.values():
                fresh = dataclasses.replace(tr)
                assert classify(fresh, f.params, t, f.travel) == (tr.kind, tr.confidence)
    assert len(f.tracks) > 10
    occ = f.grid.occupancy()
    occ[:] = 0                                  # a caller's copy, not the cache
    assert f.grid.occupancy().max() > 0


def test_a_sweep_queues_every_cell_of_its_band_and_no_other():
    """The sweep tests only the cells of its band's bounding box: the same cells, in the same
    order, as the band's test of every cell its former bound held (within ``sensor_width_m /
    2 + step`` of the boom's two positions), straight, oblique, turning and crabbing."""
    import math
    f = core()
    g = f.grid
    rng = np.random.default_rng(7)
    x, y, yaw = 8.0, 9.0, 0.3
    f.sweep(x, y, yaw, 0.0)
    cx = g.origin_x + (np.arange(g.width) + 0.5) * g.resolution
    cy = g.origin_y + (np.arange(g.height) + 0.5) * g.resolution
    half = 0.5 * f.params.sensor_width_m
    checked = 0
    for k in range(1, 300):
        bx0, by0, yaw0 = f._boom
        if k % 50 < 25:
            heading = yaw + (0.0 if k % 100 < 50 else float(rng.uniform(-2.0, 2.0)))
            step = float(rng.uniform(0.0, 0.3))
            x, y = x + step * math.cos(heading), y + step * math.sin(heading)
        yaw += float(rng.uniform(-0.3, 0.3)) if k % 3 else 0.0
        n = f.sweep(x, y, yaw, 0.1 * k)
        bx, by, _ = f._boom
        step = math.hypot(bx - bx0, by - by0)
        if not 0.0 < step <= f.params.sensor_width_m:
            assert n == 0
            continue
        heading = math.atan2(by - by0, bx - bx0)
        mid = yaw0 + 0.5 * math.remainder(yaw - yaw0, 2.0 * math.pi)
        dx, dy = cx[None, :] - bx0, cy[:, None] - by0
        along = dx * math.cos(heading) + dy * math.sin(heading)
        across = -dx * math.sin(mid) + dy * math.cos(mid)
        r = half + step
        bound = np.zeros(g.cells.shape, dtype=bool)
        bound[max(0, int(math.floor((min(by, by0) - r - g.origin_y) / g.resolution))):
              max(0, int(math.ceil((max(by, by0) + r - g.origin_y) / g.resolution))),
              max(0, int(math.floor((min(bx, bx0) - r - g.origin_x) / g.resolution))):
              max(0, int(math.ceil((max(bx, bx0) + r - g.origin_x) / g.resolution)))] = True
        rows, cols = np.nonzero((along > 0.0) & (along <= step) & (np.abs(across) <= half)
                                & bound)
        assert n == rows.size
        if n:
            _, got_rows, got_cols, (r0, r1, c0, c1) = f._misses[-1]
            assert np.array_equal(got_rows, rows) and np.array_equal(got_cols, cols)
            assert r0 <= rows.min() and rows.max() < r1 and c0 <= cols.min() and cols.max() < c1
            checked += 1
    assert checked > 100


def test_the_occupancy_view_is_the_read_only_cache():
    f = core()
    f.add([gpr(5.0, 5.0)], stamp=1.0)
    view = f.grid.occupancy_view()
    assert not view.flags.writeable
    assert np.array_equal(view, f.grid.occupancy())
    f.add([gpr(12.0, 7.0)], stamp=2.0)
    assert np.array_equal(f.grid.occupancy_view(), f.grid.occupancy())


def _passes(f, reports_per_pass, passes, radius=0.08, grams=8.0):
    """The boom passes east over an item at (10, 10) ``passes`` times, 0.6 m apart; each pass
    ``reports_per_pass`` GPR channels report it (positive polarity, an 8 cm top: the widest a
    clutter item fitted, fusion/core.py; 3 cm deep) and the MD reads ``grams``."""
    t, off = 0.0, f.params.sensor_offset_x_m
    for k in range(passes):
        for i in range(120):
            x = 4.0 + 0.1 * i - off
            t += 0.5
            f.sweep(x, 10.0 + 0.6 * k, 0.0, t)
            if abs(x + off - 10.0) < 0.05:
                f.add([Detection(x=10.0 + 0.05 * c, y=10.0, depth=0.03, confidence=0.9,
                                 source='gpr', radius=radius, strength=10.0, polarity=1)
                       for c in range(reports_per_pass)], t)
                f.add([md(10.0, 10.0, grams)], t + 0.5)
        f.update(t)
    return max(f.tracks.values(), key=lambda q: q.hits)


def test_reports_of_several_passes_do_not_make_a_small_object_wide():
    """A nail looked at on three passes, one GPR report each, is not an AT-wide object: the
    number of reports counts within one look (gpr_look_gap_m). Summed over the passes it was
    AT (P(AT) 0.2): the AP -> AT flips of clutter behind most false no-go zones of the
    scoreboard. Three reports in one look still say wide."""
    from demining_perception.fusion.core import Hypothesis
    summed = _passes(core(gpr_look_gap_m=float('inf')), 1, 3)
    assert summed.kind is DetectionKind.AT
    looked = _passes(core(), 1, 3)
    assert (looked.gpr_hits, looked.gpr_look_max) == (3, 1)
    assert looked.kind is DetectionKind.AP
    assert looked.posterior[Hypothesis.AT] < 0.1 * summed.posterior[Hypothesis.AT]
    wide = _passes(core(), 3, 1)
    assert wide.gpr_look_max == 3 and wide.kind is DetectionKind.AT


def test_a_no_go_label_is_said_once_with_its_rule_and_evidence():
    """A no-go zone is permanent: the first AT label of a track comes with the rule that made
    it and what the track rests on (the fusion node logs it), once; other labels never."""
    f = core()
    f.add([md(5.0, 5.0, grams=1900.0, conf=0.95, depth=0.25),
           Detection(x=5.02, y=5.0, depth=0.2, confidence=0.95, source='gpr', radius=0.15,
                     strength=20.0, polarity=-1)], 0.0)
    f.add([md(2.0, 2.0, grams=4.0, conf=0.95, depth=0.06)], 0.0)
    f.update(100.0)
    said = f.new_no_go(f.fused())
    assert [d.kind for d, _ in said] == [DetectionKind.AT]
    why = said[0][1]
    assert why.startswith('posterior: 1 GPR report(s)') and '1900.0 g' in why and 'AT 0.9' in why
    assert f.new_no_go(f.fused()) == []


def test_a_shallow_mine_beside_a_deep_stone_is_two_tracks():
    """Association in 3-D: GPR tops 0.07 m and 0.39 m deep 0.25 m apart are two objects, the
    shallow one's track keeps its own depth and place; tops a few cm apart stay one."""
    f = core()
    f.add([gpr(5.0, 5.0, depth=0.07)], stamp=0.0)
    f.add([gpr(5.0, 4.75, depth=0.39)], stamp=0.1)
    f.add([md(5.0, 5.02, grams=2.0)], stamp=0.2)
    assert len(f.tracks) == 2
    shallow = min(f.tracks.values(), key=lambda t: t.gpr_depth)
    assert shallow.gpr_depth == pytest.approx(0.07)
    assert (shallow.x, shallow.y) == pytest.approx((5.0, 5.01), abs=0.02)
    # the same pair with the gate opened: one track, between them, at a mean depth
    g = core(association_depth_m=10.0)
    g.add([gpr(5.0, 5.0, depth=0.07)], stamp=0.0)
    g.add([gpr(5.0, 4.75, depth=0.39)], stamp=0.1)
    assert len(g.tracks) == 1
    # one object's tops a few centimetres apart (noise, a flank) stay one track
    h = core()
    h.add([gpr(5.0, 5.0, depth=0.07)], stamp=0.0)
    h.add([gpr(5.05, 5.0, depth=0.12)], stamp=0.1)
    assert len(h.tracks) == 1


def test_a_track_apart_in_depth_is_not_merged_into_its_neighbour():
    """A new shallow track within the plain gate of a deep one is not absorbed by it (the
    merge after every association is 3-D too), and keeps its own depth."""
    f = core()
    f.add([gpr(5.0, 5.3, depth=0.40)], stamp=0.0)
    f.add([gpr(5.0, 5.3, depth=0.40)], stamp=0.1)
    f.add([gpr(5.0, 5.0, depth=0.06)], stamp=0.2)
    assert sorted(round(t.gpr_depth, 2) for t in f.tracks.values()) == [0.06, 0.40]
