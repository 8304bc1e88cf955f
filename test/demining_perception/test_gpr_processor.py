"""GPR processing chain against synthetic B-scans with known targets."""

import numpy as np

from perception_synth import CH_Y, Obj, fill_poses, gpr_batches
from demining_bringup.contract.parameters import ParamError, from_dict
from demining_perception.gpr import processing
from demining_perception.gpr.processing import GprParams, GprProcessor, render_bscan
from demining_perception.pose_buffer import PoseBuffer

import pytest


def run(batches, params=None, batch_filter=None):
    poses = PoseBuffer()
    proc = GprProcessor(params)
    dets = []
    for scan, stamp in batches:
        fill_poses(poses, stamp - 0.1, stamp)
        dets += proc.process(scan, poses)
    return dets, proc


def near(dets, x, y, r=0.15):
    return [d for d in dets if np.hypot(d.x - x, d.y - y) <= r]


def test_finds_targets_at_known_depth_and_position():
    objs = [Obj(x=9.0, y=CH_Y[3], depth=0.10), Obj(x=12.0, y=CH_Y[6], depth=0.25),
            Obj(x=15.0, y=CH_Y[1], depth=0.04)]
    dets, proc = run(gpr_batches(30.0, objs, noise=0.01))
    for o in objs:
        hits = near(dets, o.x, o.y, 0.1)
        assert hits, f'missed {o}'
        best = max(hits, key=lambda d: d.confidence)
        assert abs(best.depth - o.depth) <= 0.02
        assert np.hypot(best.x - o.x, best.y - o.y) <= 0.10
        assert best.source == 'gpr' and 0.5 <= best.confidence <= 1.0
    # Nothing far from every target (channels beside a target may see its flank).
    strays = [d for d in dets if min(np.hypot(d.x - o.x, d.y - o.y) for o in objs) > 0.35]
    assert not strays
    assert proc.stats.traces_no_pose == 0


def test_no_detections_on_clean_background():
    dets, proc = run(gpr_batches(30.0, [], noise=0.02, seed=7))
    assert dets == []
    assert proc.stats.traces > 5000


def test_streaming_is_independent_of_batch_boundaries():
    objs = [Obj(x=7.0, y=CH_Y[4], depth=0.15)]
    batches = gpr_batches(12.0, objs, noise=0.01, seed=3)
    # Same traces re-cut into batches of one trace per channel.
    single = []
    for scan, stamp in batches:
        times = stamp + scan.time_offsets
        for t in np.unique(times):
            m = times == t
            single.append((type(scan)(stamp=float(t), positions=scan.positions[m],
                                      time_offsets=np.zeros(m.sum()), channels=scan.channels[m],
                                      sample_interval_ns=scan.sample_interval_ns,
                                      amplitudes=scan.amplitudes[m]), float(t)))
    a, _ = run(batches)
    b, _ = run(single)
    assert len(a) == len(b) >= 1
    for da, db in zip(a, b):
        assert abs(da.x - db.x) < 1e-6 and abs(da.depth - db.depth) < 1e-6


def test_soil_permittivity_sets_depth_scale():
    objs = [Obj(x=8.0, y=CH_Y[2], depth=0.12)]
    dets, _ = run(gpr_batches(16.0, objs, eps=4.0, noise=0.01),
                  GprParams(soil_permittivity=4.0))
    hits = near(dets, 8.0, CH_Y[2], 0.1)
    assert hits and abs(hits[0].depth - 0.12) <= 0.02


def test_an_estimate_below_the_soils_permittivity_does_not_drop_a_deep_mine():
    """An object within ``max_depth_m`` at the prior is reported though the estimate in use
    (too dry) reads it deeper than that: a TM-62P 26 cm deep in laterite, read 41 cm deep at
    an estimate of 3.9, was never reported (bench/perception.py gen:laterite seed 3)."""
    objs = [Obj(x=8.0, y=CH_Y[2], depth=0.30)]
    params = GprParams(estimate_permittivity=True)
    proc = GprProcessor(params)
    poses = PoseBuffer()
    dets = []
    for k, (scan, stamp) in enumerate(gpr_batches(16.0, objs, noise=0.01)):
        fill_poses(poses, stamp - 0.1, stamp)
        dets += proc.process(scan, poses)
        if k == 0:
            # (after the first batch: it sets the processor up and forgets earlier fits)
            proc._eps_fits.extend([3.5] * params.velocity_min_fits)
            proc._eps_in_use = None
            assert proc.permittivity == 3.5
    dets += proc.flush()
    hits = near(dets, 8.0, CH_Y[2], 0.1)
    assert hits
    # reported at the estimate in use: deeper than max_depth_m, as the data read there
    assert max(d.depth for d in hits) > params.max_depth_m


def test_bscan_render_shows_hyperbola():
    objs = [Obj(x=6.0, y=CH_Y[0], depth=0.1)]
    batches = gpr_batches(8.0, objs, noise=0.005)
    traces = np.concatenate([s.amplitudes[s.channels == 0] for s, _ in batches])
    img = render_bscan(traces, batches[0][0].sample_interval_ns)
    assert img.dtype == np.uint8 and img.shape == (traces.shape[1], traces.shape[0])
    dev = np.abs(img.astype(float) - 127.5)
    # The apex (ground at sample ~33, object 2 ns = 50 samples below) is the strongest column.
    col = int(np.argmax(dev[70:100].sum(axis=0)))
    x_col = 4.0 + 0.4 * (col + 1) / 25.0
    assert abs(x_col - 6.0) < 0.1


def test_params_are_validated():
    with pytest.raises(ParamError):
        from_dict(GprParams, {'min_depth_m': 0.5, 'max_depth_m': 0.4})
    with pytest.raises(ParamError):
        from_dict(GprParams, {'soil_permittivity': 0.5})


def test_background_tracks_a_level_change_but_not_a_target():
    # After a change of the antenna ringing (a new soil patch) the robust background must
    # settle within a window, and a strong target must not leak into it.
    from demining_perception.gpr import processing as gp
    rng = np.random.default_rng(0)
    p = GprParams(background_window_traces=64, min_background_traces=16,
                  background_refresh_traces=4)
    proc = GprProcessor(p)
    proc._n_samples = 32
    proc._add_background(0)
    true_bg = np.linspace(-1.0, 1.0, 32)
    for step in range(200):
        level = true_bg if step < 100 else true_bg + 0.05
        row = level + 0.01 * rng.standard_normal(32)
        if 150 <= step < 160:
            row = row + 5.0                       # a target: 10 traces far off
        white, ready = proc._whiten(row[None, :], np.array([0]))
    assert proc._has[0]
    assert np.max(np.abs(proc._bg[0] - (true_bg + 0.05))) < 0.01
    sigma = gp.MAD_TO_SIGMA * proc._mad[0]
    assert np.all((sigma > 0.006) & (sigma < 0.02))


def test_whitening_several_traces_of_a_channel_at_once_is_whitening_them_one_by_one():
    """A batch holding many traces per channel (refreshes falling between them) is whitened
    exactly as those traces arriving alone."""
    rng = np.random.default_rng(1)
    p = GprParams(background_window_traces=32, min_background_traces=8,
                  background_refresh_traces=5)
    procs = [GprProcessor(p) for _ in range(2)]
    for proc in procs:
        proc._n_samples = 16
        proc._add_background(0)
        proc._add_background(1)
    rows = rng.standard_normal((120, 16)) + np.linspace(0.0, 3.0, 16)
    slots = [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]       # runs of unequal length
    for k in range(0, 120, len(slots)):
        batch = rows[k:k + len(slots)]
        slot = slots[:len(batch)]
        white, ready = procs[0]._whiten(batch, slot)
        for j, c in enumerate(slot):
            w1, r1 = procs[1]._whiten(batch[j:j + 1], [c])
            assert ready[j] == r1[0]
            if r1[0]:
                assert np.array_equal(white[j], w1[0])
    assert procs[0]._since == procs[1]._since and procs[0]._count == procs[1]._count
    assert np.array_equal(procs[0]._bg, procs[1]._bg)
    assert np.array_equal(procs[0]._buf, procs[1]._buf)


def _batch_outputs(proc, batches):
    """What ``proc`` returns for each batch and at the flush (reprs, in order)."""
    poses, out = PoseBuffer(), []
    for scan, stamp in batches:
        fill_poses(poses, stamp - 0.1, stamp)
        out.append(repr(proc.process(scan, poses)))
    out.append(repr(proc.flush()))
    return out


def test_batches_waiting_for_the_next_one_change_nothing(monkeypatch):
    """A batch nothing can be decided in waits and is processed with the next one; every
    batch still returns exactly what it returns processed at once."""
    objs = [Obj(x=7.0, y=CH_Y[4], depth=0.15), Obj(x=9.0, y=CH_Y[1], depth=0.08)]
    batches = gpr_batches(14.0, objs, noise=0.01, seed=5)

    def outputs(proc):
        return _batch_outputs(proc, batches) + [repr(proc.stats)]

    waited = []
    lazy = GprProcessor()
    can_wait = lazy._can_wait

    def counted(batch):
        waited.append(can_wait(batch))
        return waited[-1]

    monkeypatch.setattr(lazy, '_can_wait', counted)
    eager = GprProcessor()
    monkeypatch.setattr(eager, '_can_wait', lambda batch: False)
    got, want = outputs(lazy), outputs(eager)
    assert any(waited) and not all(waited)
    assert got == want and sum(o != '[]' for o in got) >= 3     # detections and stats


def test_channels_stacked_together_are_stacked_one_by_one(monkeypatch):
    """The ready channels of a batch scored in one set of array calls give every detection,
    score and statistic the channel-by-channel loop gives, with the permittivity estimated
    (a fit decided on one channel moves the table of the next ones) and the pending rows
    compacted at every batch (which shifts every channel's rows)."""
    append = processing._Channel.append

    def compacting(self, *args):
        if self.start:
            self._allocate(self.cap)
        append(self, *args)

    monkeypatch.setattr(processing._Channel, 'append', compacting)
    objs = [Obj(x=5.0, y=CH_Y[4], depth=0.15), Obj(x=7.0, y=CH_Y[1], depth=0.08),
            Obj(x=9.0, y=CH_Y[2], depth=0.05, gpr_amp=-0.4),
            Obj(x=11.0, y=CH_Y[5], depth=0.1, gpr_amp=-0.4)]
    batches = gpr_batches(14.0, objs, noise=0.01, seed=7)
    params = GprParams(estimate_permittivity=True, velocity_min_fits=1, velocity_min_snr=4.0)

    def outputs(proc):
        out = _batch_outputs(proc, batches)
        scores = [(st.score[:st.stacked].tolist(), st.k[:st.stacked].tolist())
                  for st in proc._channels.values()]
        return out + [repr(proc.stats), scores]

    joint = GprProcessor(params)
    together = []
    stack_joint = joint._stack_joint

    def counted(sts):
        stacked = stack_joint(sts)
        together.append(len(stacked))
        return stacked

    monkeypatch.setattr(joint, '_stack_joint', counted)
    alone = GprProcessor(params)
    monkeypatch.setattr(alone, '_scan_channels', alone._scan_one_by_one)
    got, want = outputs(joint), outputs(alone)
    assert max(together) > 1 and joint.stats.velocity_fits > 0
    assert got == want and sum(o != '[]' for o in got[:-2]) >= 3


def test_end_of_scan_flush_reports_targets_in_the_last_metres():
    """A target 0.1 m before the end of the scan is only decided by the flush."""
    objs = [Obj(x=9.0, y=CH_Y[3], depth=0.10)]
    batches = gpr_batches(30.0, objs, noise=0.01)
    end_x = 9.1
    # Cut the drive just past the target (synthetic drive: see perception_synth).
    poses = PoseBuffer()
    proc = GprProcessor()
    dets = []
    for scan, stamp in batches:
        fill_poses(poses, stamp - 0.1, stamp)
        xy, _ = poses.to_map(np.asarray(scan.positions, float), stamp + scan.time_offsets)
        if np.nanmax(xy[:, 0]) > end_x:
            break
        dets += proc.process(scan, poses)
    assert not near(dets, 9.0, CH_Y[3], 0.1)
    flushed = proc.flush()
    hits = near(flushed, 9.0, CH_Y[3], 0.1)
    assert hits and abs(hits[0].depth - 0.10) <= 0.02
    assert proc.flush() == []                                  # nothing twice


def test_polarity_and_point_like_half_width():
    """A positive-coefficient point target: polarity +1, fitted half width ~0 (not ~8 cm)."""
    objs = [Obj(x=9.0, y=CH_Y[3], depth=0.12), Obj(x=12.0, y=CH_Y[5], depth=0.12,
                                                   gpr_amp=-0.2)]
    dets, proc = run(gpr_batches(30.0, objs, noise=0.01))
    pos = max(near(dets, 9.0, CH_Y[3], 0.1), key=lambda d: d.confidence)
    neg = max(near(dets, 12.0, CH_Y[5], 0.1), key=lambda d: d.confidence)
    assert pos.polarity == 1 and neg.polarity == -1
    assert pos.radius <= 0.03 and neg.radius <= 0.03
    stats = proc.stats
    assert stats.permittivity_in_use == pytest.approx(GprParams().soil_permittivity)
