"""Sensor fusion: a probabilistic mine map, tracks, safety-first classification (no rclpy).

* **Map**: log-odds cells in ``map`` starting at ``prior_probability`` (nothing in a hazard area
  is "unknown": every cell is suspected a little). Positive evidence: each raw detection adds a
  Gaussian footprint (sigma = max(detection radius, ``footprint_sigma_m``) widened by the
  position uncertainty of the pose it was placed with) weighted by its confidence and
  ``gpr_hit_log_odds`` / ``md_hit_log_odds``. Negative evidence: every cell the sensor boom
  sweeps (:meth:`FusionCore.sweep`, from the poses and the boom geometry) loses
  ``miss_log_odds`` once per pass, ``miss_delay_s`` after it, unless a hit reached it
  meanwhile, so scanned ground where nothing answered falls below the prior while a cell with
  a return keeps rising. This is the
  inverse sensor model of occupancy mapping (Thrun, Burgard & Fox, *Probabilistic Robotics*,
  2005, ch. 9); the map is published as 0..100 (no -1 cells).
* **Tracks**: a detection joins the track that is nearest in the Mahalanobis sense within a
  gate that grows with the position uncertainty of both (the pose covariance the processors
  attach as ``sigma_xy``): ``d^2 <= association_radius_m^2 + chi2_99 (s_det^2 + s_track^2)``,
  chi2_99 = 9.21 for two dimensions (Bar-Shalom & Li, *Multitarget-Multisensor Tracking*,
  1995: validation gate). A spatial hash keeps this cheap with tens of thousands of clutter
  tracks; ids are stable and never reused. A track is confirmed after ``confirm_hits`` hits or
  one hit of confidence ``confirm_confidence``; tentative tracks not seen again for
  ``tentative_timeout_s`` are forgotten. Tracks that come within the gate are merged. A GPR
  report of the same look as a track (the boom moved less than
  ``look_association_travel_m`` since the track's latest GPR report), at its depth and
  without the opposite polarity, joins it within ``look_association_radius_m``: the channels
  over one wide object (three channels 0.25 m apart over a TM-62P) report it across 0.5 m,
  and the track's mean, pulled by the first two, left the third outside the plain gate.
  The gate is 3-D for the GPR, whose depth is good to centimetres: a report does not join
  (nor a track merge with) a track whose GPR top lies more than ``association_depth_m``
  shallower or deeper. Otherwise a PMA-1 7 cm deep and a stone 39 cm deep 0.25 m beside it
  became one track 12 cm off the mine whose depth, strength and class were the stone's
  (bench/perception.py gen:loam seed 1: the mine "not tracked").
* **Classification** (:func:`classify`): a naive-Bayes posterior over what the object is
  (AP mine, AT mine, UXO, metal clutter, a stone/root) from likelihoods of what the sensors
  report: the MD's depth-corrected metal content (log-normal per class, widened by the
  estimate's own spread), whether the MD or the GPR answered at all once each had its look,
  whether only weak GPR reports came (an AT mine's disc is a strong reflector:
  :data:`_P_GPR_WEAK`), the GPR flat-top half width (mines are flat discs, stones and
  fragments point-like), the
  reflection polarity (plastic bodies reflect with the pulse's sign, metal against it; for
  an AT mine as its metal says: a steel-cased TM-62M against, a plastic TM-62P's fuze grams
  with), the depth and the MD's elongation hint. The label is then the **Bayes decision with an
  asymmetric cost matrix** (:data:`COST`), not the most probable class:

  - an AP mine labelled clutter is the worst error a demining stack can make (a casualty;
    IMAS 09.10 requires all mines in the area to be removed to the specified depth), so
    CLUTTER is chosen only when the posterior probability of any mine is below ~1/1000 of
    that of clutter, i.e. when the evidence says so with high confidence;
  - an AT mine not labelled AT (or UXO) lets the flail drive onto it (the machine's armour
    is rated for AP blast only; IMAS 09.50 / CWA 15044 machine trials): as costly, so an
    AT-sized reflector or kilograms of metal are AT unless the evidence clearly says UXO;
  - a false AT label costs a no-go zone left for manual clearance, a false AP label an
    excavation (minutes): 100-1,000 metal signals per mine are found in the field
    (docs/sources.md: al-Husseini et al. 2020; Boshoff & Cresci 2008), so the prior is
    heavily on clutter and the cost matrix alone keeps a mine from being dismissed.

  The confidence published is the posterior probability of the chosen label (for CLUTTER and
  UNKNOWN: of a non-hazard).
* **Wide tops** (:func:`wide_top`): a suspect the MD hears whose widest confident GPR top is
  at least ``wide_top_radius_m`` is AT. A TM-62P laid 5 cm deep reads AP-deep and its fuze a
  few grams, so the posterior calls it AP, but its top fits 20-24 cm, which no AP mine does
  (bench/classification.py shallow_at, seeds 1-2: 32 of 56 AP before the flush-laid depth
  component and this rule, 14 after; mixed_field and generated unchanged).
* **Open widths** (:attr:`Track.gpr_open_width`): the track's flat top is the widest its
  channels' hyperbola fits measure (:attr:`Track.gpr_radius`), but a fit may leave its width
  open (NaN: not resolved, or wider than its grid). Over a TM-62P laid 5 cm deep the channel
  over its centre did (its best 15-25 cm, the wider tops within the noise, the AP mines' 0-8 cm
  6-90 noise units under it), and the widest measured top was the 3-6 cm chord a neighbour
  channel 17-28 cm off crossed: with the fuze's 30 g a fragment's (P(clutter) 0.985, P(AT)
  0.002), labelled AP by the cost of calling a mine clutter, and the flail went over it
  (bench/classification.py --worlds shallow_at: 3 of 56 on seeds 1-2, 3 of 56 on seeds 3-4). The
  strongest report comes from the channel nearest the object's centre (the beam's gain falls off
  across the boom), which crosses its widest chord; so where the strongest confident report left
  its width open and the narrowest top it allows (``Detection.radius_min``, the GPR processor's
  ``fit_hyperbola``) is wider than the widest measured one, the track's top reads as that
  narrowest allowed top (:attr:`Track.gpr_width`): the least the data say of the widest chord.
  It is no more than that: the noise alone sets its margin, so a top whose every width fits
  within the noise reads narrow (a TM-62P whose centre report allowed 6 cm over a 5 cm chord
  stayed AP, 1 of 56 on seeds 3-4), and an object whose apex lies above the GPR's window, which
  reads wide, gives none (``open_width_guard_m``). Read instead as a censored measurement (the
  top at least the chord) it made that mine AT too, but also a PMA-1 8 cm deep in loam whose
  strongest report allowed 5 cm over a 4 cm chord (bench/perception.py --quick: false AT labels
  0 -> 1). On bench/classification.py's default worlds and at_track_lines, and
  bench/perception.py --quick, no label changed.
* **Spanning tops** (:func:`spanning_top`): a suspect that two channels side by side (one
  pitch apart, ``spanning_top_min_separation_m`` to ``look_association_radius_m``) both see
  strongly (``spanning_top_min_z``), each with a flat top (``spanning_top_min_half_width_m``),
  at one depth, in one look and not against the pulse's sign, is AT once looked at. Near the
  surface a channel's beam is a few cm wide, so a point-like object answers strongly in the
  channel over it only; a disc reaching under both is wider than the 0.25 m pitch, which a
  TM-62 (0.27-0.33 m) is and no AP mine (at most 0.12 m) is. The hyperbola fits need not
  size it (a chord near the rim): a TM-62P 13 cm deep in loam between two channels read 8 cm
  tops at strengths 40 and 43, unheard by the MD, P(AT) 0.047 (UNKNOWN), and went off under
  the flail (bench/missions.py gen_at_uxo_lanes seed 2). Pairs measured on
  bench/classification.py's eight worlds (seeds 1-2, 0.085 and 0.15 m/s): TM-62Ps 5-15 cm
  deep 25-110 with tops of 4 cm or more, anything else at most 19 (a PMA-1 in laterite),
  stones 10, clutter 6; in a mission a stone 7 cm deep between two channels read 31 on both,
  with point-like (0 cm) tops.
* **Deep reflectors** (:func:`deep_reflector`): below ~15 cm the GPR does not tell a
  TM-62P's 32 cm disc from a smaller flat top (fits of 6-16 cm, or left open), so a plastic
  AT mine there reads as a stone. A suspect (AP or UNKNOWN label) whose top is at least
  ``deep_reflector_depth_m`` deep, below the AP mines (and from there, through the flail's
  reach, where a plastic AT mine the rule missed went off under the flail), that the MD does
  not hear (or hears as no more than ``deep_reflector_faint_metal_g`` under an echo with the
  pulse's sign: a plastic body and its fuze, bench/missions.py gen_random seed 8), with a
  strong echo (``deep_reflector_min_z``) in several GPR reports, is AT once looked at (AT-sized
  unknowns are AT); its confidence stays the posterior P(AT) + P(UXO), low. A report from
  the boom's outer channel (``gpr_edge_band_m``) is enough on its own: the object may reach
  past the boom's end, so the channels that report it do not size it (a TM-62P under a
  track line, at the boom's edge, gave one report and read AP until the flail set it off:
  bench/missions.py gen_at_uxo_lanes seed 1). A plastic body is a weak reflector in dry
  sand (permittivity 3 against 4) and a faint one through wet clay's loss: with the pulse's
  sign and two channels in one look ``deep_reflector_plastic_min_z`` is enough (TM-62Ps
  17-26 cm deep read 9-16 there and were never AT). Measured
  (bench/perception.py, seeds 1-3): on the four generated soils pd_at 0.833 -> 0.917, AT
  mines labelled late 6 -> 4, false AT labels 6 -> 10 (3,110 m^2); on training_field and
  mixed_field (rocky dry sand) false AT labels 5 -> 7, pd_at 1.0 either way. At z 12 the
  rocky mixed_field's stones (z 12-15) gave 9 more false AT labels. The strength is that of
  the reports whose own top lies deep (:attr:`Track.gpr_deep_strength`,
  ``deep_reflector_report_margin_m``), not the track's strongest: a track's depth is the
  mean of its reports', and over stones a strong report (z 12-52) from 5-12 cm averaged
  with a faint one from 23-39 cm (a flank, a second scatterer) read 17-23 cm deep with the
  shallow report's strength; every report of the AT mines the rule labelled lay
  within 10 cm of the track's others, the strong ones 18 cm deep or more. Measured
  (bench/perception.py, 21 runs, seeds 1-3): false AT labels 22 -> 17 (the five stones the
  rule labelled: mixed_field 3, rugged_terrain 1, gen:loam 1), pd_at 1.0, AT mines labelled
  late 2, pd_ap 0.942, all unchanged; held-out seeds 4-5 in the README. Of the reports with
  the pulse's sign only flat-topped ones count (``deep_reflector_min_half_width_m``, 5 cm):
  the simulator's stones (permittivity 6, below loam's, laterite's and wet clay's: the
  pulse's sign) are point-like, and their reports' open fits allowed a point (0-2 cm); 57 of
  79 false no-go zones of 18 missions were such stones, z 10-17, 12-26 cm deep. A disc
  always lies within 12.5 cm of a channel, which sees a chord of 10 cm half width or more:
  over 82 TM-62Ps 14-29 cm deep the strongest deep report's top read 9-20 cm on every soil
  (bench/classification.py at two speeds; none of 94 AT mines lost by the condition). Replayed
  (bench/fusion_replay.py on those 18 missions): false no-go labels 79 -> 25, every AT mine
  and UXO labelled, none later. Against the sign nothing changes (a metal case's fit may
  leave its top open: a TM-62M 24 cm deep read 3 cm).
* **Ground the flail has processed** (:meth:`FusionCore.flailed`, the mission's
  /coverage/processed): a track whose top lies within the depth the record guarantees there
  (``working_depth_m - depth_tolerance_m``, less ``flailed_depth_margin_m``), all round it,
  has had the working flail over it without an AT detonation. Flails detonate nearly all AT
  mines they strike (Minerats 1996: "the chain flail usually detonates all anti-tank mines in
  its path"; the simulator 99 % of those engaged), so the AT likelihood there is multiplied by
  ``flailed_at_survival`` (0.05). Re-looks at fragments, cans and stones after the flail
  (headland passes, re-plans and re-cover passes scan processed ground again) made many false
  no-go zones of bench/missions.py: of 21 zones on irregular_area, gen_at_uxo_lanes seed 2 and
  gen_slope seed 1, 10 lay on ground the flail had processed before (9 of the 20 false ones,
  and a mortar round below the flail's reach), 6 of the false ones shallow enough for this
  rule. Strong AT evidence (an AT-sized top, kilograms of metal) stays AT, UXO is
  left as it is (a round is as often thrown aside or damaged as set off), and the label is
  never CLUTTER by this evidence alone (the cost matrix still weighs P(AP)).
* **Weak MD looks** (:attr:`Track.weak_used`): the MD processor reads the metal from the
  footprint's width, and the metal grows as the sixth power of the distance it fits
  (demining_perception/metal_detector/processing.py). Near the detection threshold noise
  widens the footprint: weak hits (below ``md_reliable_confidence``) at AP mines read a PMN-2
  8.6 cm deep as 2.3 kg 42 cm down (a UXO label, a false no-go zone) and a TS-50 2 cm deep as
  253 g 33 cm down (P(AP) 0.0025, a factor 2.5 from CLUTTER); over DDS a TS-50 at the boom's
  edge read 25 g 21 cm down (P(AP) 0.012). On bench/classification.py's worlds (generated
  soils, mixed_field, training_field, a TS-50 grid across the boom) 2 of 13 weak looks at AP
  mines read 10 times too much or more, none of 277 reliable looks at anything did, and every
  wild read put the metal's centre 15-34 cm below the object's top (the sound ones at most
  7 cm). So a weak look's metal counts only while its centre lies less than
  ``md_weak_depth_excess_m`` below the top the GPR measured for the same track; beyond, the
  look says that the MD answered, not how much metal it heard.
* **Faint MD answers** (:attr:`Track.md_faint`, :func:`_faint_log_likelihood`): with its
  along-track average on, the MD processor finds footprints whose readings all stay under
  its threshold (a TS-50, 0.5 g, midway between two coils 25 cm apart reads 3-5 mV against
  ~1.3 mV of noise) and reports it with the threshold's confidence and no metal estimate: too
  little signal for the footprint fit that measures the distance. Read as "the MD answered"
  (``1 - p_md_silent``) such an answer moved a stone's share of the posterior to every metal
  class in proportion, AT's with it, and made AP mines and stones AT on bench/perception.py
  (22 -> 24-26 false AT labels; demining_perception/metal_detector/processing.py). What a faint
  answer says is how *much* metal there can be. The MD's model is a dipole, ``A = G m / r^6``
  (the processor's docstring; ``G`` its calibration ``md_metal_gain_mv_m6_per_kg``); a faint
  answer's loudest reading lies between the average's threshold and the readings'
  (``md_faint_min_mv``, ``md_faint_max_mv``: ~3-8 mV), so the metal lies in
  ``[A_min, A_max] r^6 / G`` with ``r^2 = (h + d + c)^2 + l^2``: ``h`` the coil height, ``d``
  the top the GPR measures, ``c`` the metal's centre below it (up to
  ``md_faint_centre_span_m``), ``l`` the object's offset from the coil that answered (up to half
  the coil pitch: it is the nearest). The likelihood is a class's metal mass in that band,
  averaged over ``l`` and ``c`` (uniform: objects are not laid by the coils) and, without a GPR
  depth, over the class's own depth model. At a shallow top the band is grams at most (4 cm:
  0.02-3.6 g, from right under a coil to midway between two with the metal 5 cm below the
  top): an AP mine's, not a steel-cased AT mine's kilograms nor a TM-62P fuze's tens of grams,
  which answer loudly that shallow, while 20 cm down it is 8-100 g, the fuze's (a deep TM-62P
  answering faintly is physics, not noise). A stone answers only as a false
  alarm (``1 - p_md_silent``), as before; a track with one louder MD answer is judged on that
  answer's metal, not on the faint ones. A faint answer does not make a wide top AT
  (:func:`wide_top`, whose evidence is a fuze's loud grams), and an AT mine heard only faintly
  reflects as the plastic-cased one it must be. The r^-6 fall of a small target's response is
  the induced dipole's (Das et al. 1990; Bruschini 2002), and minimum-metal mines lie at the
  edge of a detector's reach a few centimetres down (Guelle et al. 2003; all in
  docs/sources.md). Measured with the average on (bench/perception.py, 21 runs): 131 of 137 AP
  mines (129 without faint answers) and 24 false AT labels (22; 26 with faint answers read as
  "the MD answered"): a PMN 9 cm deep in wet clay under a GPR top read 14 cm deep, and an AT
  mine's faint tail beyond the boom's edge on a deep reflector, so the processor's average
  stays off by default (demining_perception/metal_detector/processing.py).
* **Complete looks before a no-go zone**: a no-go zone, once made, is permanent
  (demining_control/coverage/no_go.py), so a track without kilograms of metal is not labelled
  AT or UXO until the sensors had their look at it (``look_s``, 1 s: the channels beside an
  object report within one decision window; the boom leaves 3 s before the flail arrives at
  0.4 m/s, 8 s at the governed 0.15 m/s). From then the MD's silence and the number of GPR
  reports are evidence: a TM-62-class disc (0.27-0.33 m) spans the 0.25 m channel spacing and
  two or three channels report it, one report alone is point-like
  (:data:`_P_SINGLE_GPR_HIT`); a stone never moves the MD. (Issue 12: on a 20 x 8 m field
  with no AT mine three single reports, 12-14 cm flat tops, were AT at their first update and
  pinned the machine; the flat tops came from the GPR folding a stone's two passes together
  when the vehicle backed up, which the GPR processor now treats as the end of a scan. Later
  a two-report stone at 28 cm and a three-report 22 cm stone, both before the MD's look,
  left no-go zones that cut 5-9 % of the field off.)
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
from typing import Deque, Dict, Iterable, List, Optional, Set, Tuple

import numpy as np

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params

#: Metal content that only an AT mine's case or a round carries, g: clutter is 1-100 g, a
#: TM-62M ~1.8 kg, an 82 mm round kilograms (docs/sources.md; the MD's UXO hint uses 300 g).
_KG_METAL_G = 300.0
#: Gaussian footprints are cut at this many sigmas.
_FOOTPRINT_SIGMAS = 3.0
#: Below this |cos| of the angle between the boom's motion and its normal (the boom moving
#: nearly along itself) the swept band's corners are not used to bound its cells.
_MIN_BAND_DET = 1e-3
#: Smallest radius given to an AT track, m (TM-62 is 0.32 m across; docs/sources.md).
_AT_MIN_RADIUS_M = 0.16
#: Floor of an MD metal estimate before taking its log, g.
_MIN_METAL_G = 1e-3
#: 99 % point of the chi-square distribution with 2 degrees of freedom (the validation gate
#: of a 2-D position; Bar-Shalom & Li 1995).
CHI2_2D_99 = 9.21
#: Spread (natural-log units) of one MD metal estimate: a reliable hit (SNR twice the
#: threshold) reads within a factor ~1.5, a weak one within a factor ~3 (bench/classification.py
#: on the simulator: a PMN's 4 g read 3-9 g reliably, 11-20 g on near-threshold hits).
_METAL_LOG_SIGMA_RELIABLE = 0.4
_METAL_LOG_SIGMA_WEAK = 1.1
#: Reliable MD looks that count as independent (module docstring of :func:`posterior`).
_MAX_INDEPENDENT_LOOKS = 3
#: Grams in a kilogram (the MD's calibration is per kg).
GRAMS_PER_KG = 1000.0
#: Quadrature of a faint MD answer's likelihood (:func:`_faint_log_likelihood`): nodes across
#: the boom (offset from the nearest coil), below the GPR's top (the metal's centre) and, in
#: standard units, over a class's depth model; the figures move by well under 1 % with more.
_FAINT_LATERAL_NODES = 6
_FAINT_CENTRE_NODES = 3
_DEPTH_NODES_Z = (-2.0, -1.0, 0.0, 1.0, 2.0)
#: Smallest amplitude of a faint answer's band, mV (a log of zero otherwise).
_MIN_FAINT_MV = 1e-6
#: Floor of a likelihood before its log.
_MIN_PROBABILITY = 1e-300
#: Confident GPR reports a track keeps for :func:`spanning_top` (the latest): the channels
#: over one object report within a metre of travel, a few reports each.
_SPAN_REPORTS = 16


class Hypothesis(enum.IntEnum):
    """What a tracked object may be (the classifier's classes)."""

    AP = 0
    AT = 1
    UXO = 2
    CLUTTER = 3      # metal clutter: fragments, cans, cartridge cases, wire
    ROCK = 4         # non-metal natural clutter: stones, roots, voids


@dataclasses.dataclass(frozen=True)
class ClassModel:
    """Likelihood model of one hypothesis (all figures: docs/sources.md, section 2)."""

    prior: float
    #: Metal content: mixture of log-normals ((weight, median g, log sigma), ...); empty: no
    #: metal (an MD answer is then a false alarm of density ``md_false_density``).
    metal: Tuple[Tuple[float, float, float], ...]
    #: Probability that the MD / the GPR does not answer once it had its look.
    p_md_silent: float
    p_gpr_silent: float
    #: Flat-top half width as the hyperbola fit measures it (mean, sigma, the fit's error
    #: included), m: mines are flat discs, the rest point-like.
    half_width: Tuple[float, float]
    #: Probability of a positive reflection coefficient (the pulse's sign).
    p_positive: float
    #: Depth of the top (mean, sigma), m.
    depth: Tuple[float, float]
    #: Probability that the MD flags the footprint elongated.
    p_elongated: float
    #: Probability that the GPR reports the object once only (one channel, one apex) in a
    #: complete look (``look_s``): :data:`_P_SINGLE_GPR_HIT`.
    p_single_gpr: float = 0.5
    #: A second depth component (weight, mean, sigma), m, added to ``depth``'s without
    #: lowering it: AT mines laid flush or under a few cm as well as buried.
    depth_flush: Tuple[float, float, float] = ()
    #: Probability that none of the GPR's reports of the object is confident
    #: (``gpr_confident_confidence``) once it had its look, given that it reported it:
    #: :data:`_P_GPR_WEAK`.
    p_gpr_weak: float = 0.5
    #: Per ``metal`` component, the probability of a positive reflection (empty: ``p_positive``
    #: for all): a class whose metal says what its body is made of (a steel-cased or a
    #: plastic-cased AT mine) reflects as that body does.
    metal_p_positive: Tuple[float, ...] = ()

    def __post_init__(self) -> None:
        """One polarity per metal component, or none."""
        if self.metal_p_positive and len(self.metal_p_positive) != len(self.metal):
            raise ValueError('metal_p_positive needs one probability per metal component')


#: The class models. Metal: PMN/PMN-2 3-4 g, minimum-metal PMA/TS-50/VS-50 < 1 g, but the MD's
#: estimate of a PMN reads up to 2x high (8.5-9 g on two looks), so the AP model reaches ~15 g at 2
#: sigma; TM-62M ~1.8 kg steel, TM-62P ~30 g (fuze); 82 mm rounds kilograms; metal clutter 1-100 g
#: (docs/sources.md). The TM-62P's fuze is read as the MD processor measures it, not as it weighs:
#: under the tracks' line (0.75-0.8 m off the boom's centre, between two coils) at the governed
#: 0.15 m/s its reliable looks read 3.7-65 g, log-median 22 g, log sd 1.1 (63 looks:
#: bench/classification.py --verbose on TM-62P grids at 0.15 and 0.4 m/s and the gen_at_uxo_lanes
#: fields); at 30 g +- 0.6 a 4 g look made 4 of 20 of them AP. Silence: minimum-metal mines are
#: missed by the MD below a few cm (Guelle et al. 2003), plastic AP mines are weak GPR targets
#: (Daniels 2004); a stone never moves the MD. Polarity: plastic and TNT (eps ~3) below soil (4-25)
#: reflect with the pulse's sign, metal against it (coefficient -1); stones (eps ~6) either way
#: with the soil; 10 % of picks are taken wrong (a shallow object in the ground-bounce residual: on
#: the simulator's training field 1 of 10 items, bench/classification.py --verbose). Depth: AP
#: mines 0-15 cm, AT 10-30 cm as the generator lays them (docs/sources.md); a pressure-fuzed AT
#: mine is also laid flush or under a few cm, so the AT model adds a flush component
#: (:data:`_AT_FLUSH_DEPTH`, **our choice**): with the buried one alone the GPR's 4-5 cm depth
#: of TM-62Ps 5 cm deep in laterite made 13 of 28 of them AP (bench/classification.py --verbose
#: on such a grid). Priors per confirmed track: field figures are
#: 100-1,000 metal signals per mine (docs/sources.md: al-Husseini et al. 2020, Boshoff & Cresci
#: 2008) but a track merges several signals and the GPR adds its own natural clutter; ~20
#: non-hazards per mine and one AT mine or UXO per ten AP mines is **our choice**. One GPR report
#: in a complete look: the channels are ~0.25 m apart across the boom (config/vehicles/*.yaml: 13
#: over 3.2 m; the simulator's default 8 over 2 m). A TM-62-class AT mine is 0.27-0.33 m across
#: (docs/sources.md), wider than the channel spacing, and a large, strong reflector whose echo a
#: channel still picks 10-15 cm beyond its rim
#: (the beam's half-power footprint is D tan 30 deg, demining_sim/sensors/gpr.py): two or three
#: channels report it, one only when it lies under the boom's outer channel (measured:
#: bench/classification.py --verbose, ``n`` raw GPR hits per item). AP mines (6-11 cm), fragments,
#: cans and the point-like soil scatterers lie under one channel's footprint unless they sit
#: between two. Half width: the flat top a channel measures is the chord of the disc under it, not
#: its diameter (no channel need pass over a TM-62's centre). The widest confident (>= 0.8) fit
#: per item, bench/classification.py --verbose --speed 0.15 on generated, generated:dry_sand,
#: generated:wet_clay and generated:laterite (seeds 1-3), shallow_at, at_track_lines,
#: mixed_field and training_field (seeds 1-2): 107 AT mines 0.137 +- 0.046 m (4-24 cm), 53 AP
#: mines 0.038 +- 0.016 m (0-8 cm), 13 rounds 0.026 +- 0.013 m, 267 metal clutter items
#: 0.017 +- 0.015 m (0-8 cm), stones 0 cm; none but an AT mine fitted 9 cm or more. The AP,
#: UXO and clutter models are these means, their spread widened by the fit's resolution (one
#: trace step, 2 cm) in quadrature: a field the models were not measured on reads a little
#: differently. The AT model is the disc's chord under the middle channels, 13 +- 2 cm, with
#: 2.5 cm of fit error; the stones' 0 +- 3 cm with it, five stones being no measure of a flat
#: one. With the AP model 5.5 +- 3 cm and 2.5 cm of fit error, a TM-62P 14 cm deep in wet clay
#: (one channel's report of a 12 cm top, its fuze read 3.7 g) was AP (P(AT) ~1 %) and went
#: under the flail. A single 8 cm hit on a TM-62P without metal stays AP (P(AT) < 5 %): one
#: report of an AT mine is rare (1 of 129 AT tracks) and one of a point-like object is not.
_P_SINGLE_GPR_HIT = {'AT': 0.1, 'point': 0.6}
#: Probability that no GPR report of an object the GPR reported is confident
#: (``gpr_confident_confidence``, a stack z-score of 2.5 times the threshold; its width measured
#: or left open) once it had its look: a weak echo only. A TM-62-class disc is a large, strong
#: reflector; a point-like object near the threshold often gives no more than weak reports.
#: Measured as "no confident report that measured the width" (an upper bound of this), per
#: item on the fused track at the end of the run: bench/classification.py's lanes at 0.15 m/s
#: on generated, generated:dry_sand, :wet_clay, :laterite, shallow_at, at_track_lines and
#: mixed_field, seeds 1-2: AT mines 6 of 116 (dry sand 2 of 6, wet clay 2 of 7: a plastic
#: body is a weak contrast in dry sand and a faint echo through wet clay's loss), AP mines 48
#: of 103, metal clutter 223 of 471, rounds 0 of 15, stones and soil scatterers 523 of 633;
#: bench/missions.py --record-fusion on the generated families, seeds 1-3: AT 1 of 15, AP 51
#: of 98, clutter 210 of 367, rounds 0 of 4, the rest 755 of 789. The AT figure is **our
#: choice** between the pooled 5 % and the worst soils' third; AP and metal clutter take
#: their measured half. Rounds and stones take the same half, not their measured figures, so
#: the term moves no track between the other classes: a round's small probability is what
#: keeps a track of tens to hundreds of grams from the clutter label
#: (test_a_fuze_weight_fragment_reflecting_as_metal_is_not_at). Only the weak echo is
#: evidence (:func:`posterior`): a confident report leaves the posterior as it was, where the
#: measured top and the AT-size rules speak, so the term never raises P(AT). With its
#: complement (a confident report: AT 0.85, stones 0.15) soil scatterers' wide fits read AT
#: (bench/fusion_replay.py, rugged_terrain seed 1: 2 more false no-go labels). The term takes
#: a fuze's grams under a weak echo (a PMN read high, a fragment whose polarity was picked
#: wrong) below the AT label's ~5 %.
_P_GPR_WEAK = {Hypothesis.AP: 0.5, Hypothesis.AT: 0.15, Hypothesis.UXO: 0.5,
               Hypothesis.CLUTTER: 0.5, Hypothesis.ROCK: 0.5}
#: The AT depth model's flush-laid component: (weight, mean, sigma), m.
_AT_FLUSH_DEPTH = (0.3, 0.04, 0.04)
#: Polarity of the AT model's metal components: kilograms of steel (TM-62M) are a steel case,
#: which reflects against the pulse's sign like any metal; grams (TM-62P) are a fuze in a
#: plastic case, whose top reflects with it like an AP mine's body. With one polarity for
#: both (0.5), 20-150 g fragments reflecting against the sign read as TM-62Ps and left
#: no-go zones. bench/classification.py --worlds generated:wet_clay, generated:laterite,
#: generated:dry_sand, generated, mixed_field, --seeds 1,2,3 --speed 0.15: clutter labelled
#: AT 17 -> 15, false AT labels 24 -> 23 (one more in dry sand), AT and UXO labels unchanged.
_AT_P_POSITIVE = (0.1, 0.9)
CLASS_MODELS: Dict[Hypothesis, ClassModel] = {
    Hypothesis.AP: ClassModel(0.04, ((0.6, 3.5, 0.5), (0.4, 0.8, 0.7)), 0.3, 0.35,
                              (0.038, 0.026), 0.9, (0.08, 0.08), 0.05,
                              _P_SINGLE_GPR_HIT['point'],
                              p_gpr_weak=_P_GPR_WEAK[Hypothesis.AP]),
    Hypothesis.AT: ClassModel(0.005, ((0.5, 1800.0, 0.7), (0.5, 22.0, 1.1)), 0.15, 0.05,
                              (0.13, 0.032), 0.5, (0.2, 0.08), 0.1, _P_SINGLE_GPR_HIT['AT'],
                              depth_flush=_AT_FLUSH_DEPTH, p_gpr_weak=_P_GPR_WEAK[Hypothesis.AT],
                              metal_p_positive=_AT_P_POSITIVE),
    Hypothesis.UXO: ClassModel(0.005, ((1.0, 2500.0, 1.0),), 0.05, 0.3,
                               (0.026, 0.024), 0.1, (0.15, 0.12), 0.6,
                               _P_SINGLE_GPR_HIT['point'],
                               p_gpr_weak=_P_GPR_WEAK[Hypothesis.UXO]),
    Hypothesis.CLUTTER: ClassModel(0.7, ((1.0, 15.0, 1.3),), 0.05, 0.5,
                                   (0.017, 0.025), 0.1, (0.05, 0.06), 0.05,
                                   _P_SINGLE_GPR_HIT['point'],
                                   p_gpr_weak=_P_GPR_WEAK[Hypothesis.CLUTTER]),
    Hypothesis.ROCK: ClassModel(0.25, (), 0.98, 0.5, (0.0, 0.039), 0.5, (0.15, 0.12), 0.0,
                                _P_SINGLE_GPR_HIT['point'],
                                p_gpr_weak=_P_GPR_WEAK[Hypothesis.ROCK]),
}
#: The continuous likelihoods are mixtures with a small uniform "outlier" part over the
#: feature's plausible range, so one mis-measured feature (a fragment over a mine, a hyperbola
#: fit on two overlapping objects) cannot veto a hypothesis on its own: robust likelihoods
#: (Huber & Ronchetti, *Robust Statistics*, 2009). The metal content's is given to the hazards
#: (AP, AT, UXO) only: a metal reading may make clutter implausible, it may not make a mine
#: so. Fractions (metal, the GPR features) and ranges (log g, m, m):
_OUTLIER_METAL = 0.02
_OUTLIER = 0.05
_METAL_LOG_RANGE = math.log(1e5)        # 0.1 g .. 10 kg
_HALF_WIDTH_RANGE_M = 0.3
_DEPTH_RANGE_M = 0.6

#: Cost of labelling a true object (row) with a kind (column). The asymmetry is the point
#: (module docstring): a missed AP or AT mine costs a casualty or a destroyed machine (1000),
#: a false AP label an excavation or a pass of the flail (1). A false AT or UXO label makes a
#: no-go zone (demining_control/coverage/no_go.py): ground left for a manual team and, near a
#: lane's end, a machine fenced in that ends its mission (issue 12: mixed_field), so it costs
#: 50: an AT label needs P(AT) above ~5 %. Confusing AT and UXO costs little, less when the
#: label is the mine (a team expecting a mine applies the anti-handling-device drills, IMAS
#: 09.10; one expecting a round may not); AP and UNKNOWN are both processed as suspect. The
#: numbers are **our choice**; only their ratios matter.
_K = DetectionKind
_FALSE_NO_GO = 50.0
COST: Dict[Hypothesis, Dict[DetectionKind, float]] = {
    Hypothesis.AP: {_K.AP: 0.0, _K.UNKNOWN: 1.0, _K.AT: _FALSE_NO_GO, _K.UXO: _FALSE_NO_GO,
                    _K.CLUTTER: 1000.0},
    Hypothesis.AT: {_K.AT: 0.0, _K.UXO: 10.0, _K.AP: 1000.0, _K.UNKNOWN: 1000.0,
                    _K.CLUTTER: 1000.0},
    Hypothesis.UXO: {_K.UXO: 0.0, _K.AT: 2.0, _K.AP: 500.0, _K.UNKNOWN: 500.0,
                     _K.CLUTTER: 1000.0},
    Hypothesis.CLUTTER: {_K.CLUTTER: 0.0, _K.AP: 1.0, _K.UNKNOWN: 1.0, _K.AT: _FALSE_NO_GO,
                         _K.UXO: _FALSE_NO_GO},
    Hypothesis.ROCK: {_K.CLUTTER: 0.0, _K.UNKNOWN: 0.5, _K.AP: 1.0, _K.AT: _FALSE_NO_GO,
                      _K.UXO: _FALSE_NO_GO},
}
#: The hypotheses each label is right for (its published confidence is their posterior).
_LABEL_TRUE = {_K.AP: (Hypothesis.AP,), _K.AT: (Hypothesis.AT,), _K.UXO: (Hypothesis.UXO,),
               _K.CLUTTER: (Hypothesis.CLUTTER, Hypothesis.ROCK)}
#: Labels in order of preference on an exact cost tie (the more cautious first).
_LABELS = (_K.AT, _K.UXO, _K.AP, _K.UNKNOWN, _K.CLUTTER)


@dataclasses.dataclass(frozen=True)
class FusionParams:
    """Parameters of the fusion node."""

    area_file: str = vehicle_params.area_file()
    sensor_offset_x_m: float = vehicle_params.sensor_offset_x_m()
    sensor_width_m: float = vehicle_params.sensor_width_m()
    resolution_m: float = param(0.1, 'grid cell size, m', min=0.01, max=5.0)
    map_margin_m: float = param(6.0, 'grid margin around the hazard area, m '
                                '(sensors run 4 m ahead of the vehicle)', min=0.0, max=1000.0)
    map_origin_x: float = param(-50.0, 'grid origin x when no area_file, m',
                                min=-1e6, max=1e6)
    map_origin_y: float = param(-50.0, 'grid origin y when no area_file, m',
                                min=-1e6, max=1e6)
    map_width_m: float = param(100.0, 'grid width when no area_file, m', min=1.0, max=5000.0)
    map_height_m: float = param(100.0, 'grid height when no area_file, m',
                                min=1.0, max=5000.0)
    prior_probability: float = param(0.01, 'mine probability of a cell before any detection',
                                     min=1e-4, max=0.5)
    gpr_hit_log_odds: float = param(1.5, 'log-odds added at the centre of a GPR hit '
                                    '(times its confidence)', min=0.0, max=20.0)
    md_hit_log_odds: float = param(0.8, 'log-odds added at the centre of an MD hit '
                                   '(times its confidence)', min=0.0, max=20.0)
    miss_log_odds: float = param(
        1.0, 'log-odds removed from a cell once per pass of the sensor boom over it when no '
        'hit reached it (negative evidence: scanned, nothing answered; 1.0 takes the 1 % '
        'prior below 0.5 %, so the 0..100 map shows it)', min=0.0, max=20.0)
    miss_delay_s: float = param(
        3.0, 'swept cells lose miss_log_odds this long after the sweep unless a hit reached '
        'them (the processors decide an object up to a peak window behind the boom), s',
        min=0.0, max=600.0)
    footprint_sigma_m: float = param(0.1, 'smallest Gaussian footprint sigma, m '
                                     '(sensor position error)', min=0.01, max=5.0)
    max_log_odds: float = param(8.0, 'cell log-odds clamp', min=1.0, max=50.0)
    association_radius_m: float = param(
        0.35, 'a detection joins a track this close with exact poses, m (the gate grows with '
        'the pose uncertainty)', min=0.01, max=5.0)
    max_gate_m: float = param(1.0, 'largest association gate however poor the pose, m',
                              min=0.01, max=10.0)
    association_depth_m: float = param(
        0.15, 'a GPR report does not join a track, nor two tracks merge, whose GPR depths '
        'differ by more than this: a shallow mine beside a deeper stone are two objects '
        '(association in 3-D; module docstring), m', min=0.0, max=10.0)
    look_association_radius_m: float = param(
        0.45, 'a GPR report joins a track the GPR reported in the same look (the boom moved '
        'less than look_association_travel_m since) this close, when its depth agrees within '
        'look_association_depth_m and its polarity does not contradict the track\'s: the '
        'channels over one wide object (a TM-62P under three channels 0.25 m apart put its '
        'third report 0.37-0.40 m from the mean of the first two, which began a second track '
        'and left both short of the deep-reflector rule: bench/perception.py gen:dry_sand '
        'seed 1), m', min=0.01, max=5.0)
    look_association_travel_m: float = param(
        0.6, 'boom travel within which a GPR report is of the same look for '
        'look_association_radius_m, m', min=0.0, max=10.0)
    look_association_depth_m: float = param(
        0.05, 'depth agreement of a GPR report with its track for look_association_radius_m, '
        'm', min=0.0, max=1.0)
    confirm_hits: int = param(2, 'hits that confirm a track', min=1, max=100)
    confirm_confidence: float = param(0.8, 'a single hit this confident confirms a track',
                                      min=0.0, max=1.0)
    tentative_timeout_s: float = param(30.0, 'unconfirmed tracks not hit again for this '
                                       'long are dropped, s', min=0.1, max=1e6)
    gpr_wait_s: float = param(
        3.0, 'a sensor that has not answered this long after a track started counts as '
        'silent there (the GPR and the MD share the boom but decide at different distances '
        'along track), s', min=0.0, max=600.0)
    look_s: float = param(
        1.0, 'both sensors have had their look at an object this long after its first '
        'report (they share the boom): the GPR channels beside it report within one '
        'decision window of each other (the apex is decided peak_half_window_m = 0.25 m '
        'ahead of it, in groups of 8 traces: ~0.3 m), the MD ~0.4 m past it '
        '(footprint_half_window_m), ~1 s at 0.4 m/s. From then the MD\'s silence and the '
        'number of GPR reports are evidence; until then a track with one GPR report and no '
        'metal is not labelled AT or UXO (its no-go zone would be permanent). Time budget: '
        'the boom is 1.2 m ahead of the flail strip\'s front edge (4.0 m vs 2.6 + 0.2 m, '
        'config/vehicles/mv4_flail.yaml), 3.0 s at 0.4 m/s, of which the GPR\'s decision '
        'takes ~0.9 s and the publish period up to 1 s (bench/classification.py measures '
        'the margin)', min=0.0, max=60.0)
    look_m: float = param(
        0.4, 'and the boom has moved this far since that first report: the MD decides ~0.4 m '
        'past an object (footprint_half_window_m). At the governed 0.15 m/s, look_s alone '
        'is 0.15 m of travel, before the MD had its look: a metal wire whose MD reports were '
        'still coming was AT (P(AT) 5.9 %) for one update over DDS and left a permanent '
        'no-go zone. Boom travel is counted from the sweeps (:meth:`FusionCore.sweep`); '
        'without sweeps only look_s counts', min=0.0, max=5.0)
    gpr_look_gap_m: float = param(
        2.0, 'GPR reports of a track after the boom has moved this far since its previous one '
        'are another look (another pass over it): the number of reports that says how wide '
        'an object is counts within one look. Summed over passes, a nail or a wire two '
        'lanes, a headland pass or a re-plan looked at read as wide, AT-like (P(AT) from under '
        '1 % to 5-9 %: most false no-go zones of bench/missions.py, labelled AP, then AT '
        'minutes later). A pass over an object moves the boom about a metre while it reports '
        '(peak and footprint windows); the next lane passes it after a turn, metres of '
        'travel later. inf: every report in one look', min=0.0, max=math.inf)
    md_reliable_confidence: float = param(
        0.75, 'an MD hit this confident (SNR twice the threshold) reads the metal content '
        'within a factor ~1.5; weaker hits within a factor ~3', min=0.0, max=1.0)
    md_weak_depth_excess_m: float = param(
        0.12, 'a weak MD hit (below md_reliable_confidence) whose metal centre lies this far '
        'or more below the top the GPR measured for the same track has fitted too wide a '
        'footprint: its metal estimate (which grows as the sixth power of the distance) is '
        'not used, only that the MD answered. Weak hits at AP mines read a PMN-2 8.6 cm deep '
        'as 2.3 kg at 42 cm and a TS-50 2 cm deep as 253 g at 33 cm; reliable hits stayed '
        'within 10x (bench/classification.py worlds, module docstring "Weak MD looks")',
        min=0.0, max=math.inf)
    md_faint_confidence: float = param(
        0.5, 'an MD hit this confident or less, without a metal estimate (NaN grams), is a '
        'faint answer: the MD processor found it on the along-track average of its coil, its '
        'readings under snr_threshold, and gives it the threshold\'s confidence (0.5). Its '
        'evidence is how much metal an answer that faint allows at the depth the GPR gives '
        '(module docstring, "Faint MD answers"); 0: no hit is faint', min=0.0, max=1.0)
    md_coil_height_m: float = param(
        0.05, 'the MD coils\' height above the ground, m (the MD processor\'s coil_height_m): '
        'the distance of a faint answer\'s metal is this plus its depth', min=0.0, max=1.0)
    md_coil_pitch_m: float = param(
        0.25, 'spacing of the MD coils across the boom, m (13 over 3.2 m, 8 over 2 m: '
        'config/vehicles/*.yaml): a faint answer\'s metal lies up to half of it beside the '
        'coil that answered', min=0.01, max=2.0)
    md_metal_gain_mv_m6_per_kg: float = param(
        0.096, 'the MD\'s response to 1 kg of compact metal at 1 m, mV m^6/kg (the MD '
        'processor\'s metal_gain_mv_m6_per_kg, its calibration)', min=1e-9, max=1e9)
    md_faint_max_mv: float = param(
        8.0, 'a faint answer\'s loudest reading lies under this, mV: the MD processor\'s '
        'snr_threshold (6) times a coil\'s noise sigma (1 mV of white electronic noise and '
        'what the background leaves of the drift: ~1.3 mV on the simulator)',
        min=0.0, max=1e6)
    md_faint_min_mv: float = param(
        3.0, 'and over this, mV: the threshold of the along-track average, snr_threshold '
        'times the averaged noise (white noise averaged over ~10 readings, the drift not: '
        '0.41-0.43 of a reading\'s sigma on the synthetic coil data of the MD tests, 1 mV of '
        'white noise and 2 mV of drift); a TS-50 between two coils read 3-5 mV', min=0.0,
        max=1e6)
    md_faint_centre_span_m: float = param(
        0.05, 'the metal\'s centre lies up to this below the top the GPR measures, m (half the '
        'height of a TM-62, 10 cm; an AP mine\'s 2-4 cm less)', min=0.0, max=1.0)
    gpr_confident_confidence: float = param(
        0.8, 'GPR hits this confident give the track its flat-top half width and polarity '
        '(weaker hits\' are noise)', min=0.0, max=1.0)
    publish_period_s: float = param(1.0, 'period of /detections, s (/mine_map and the '
                                    'markers go out at publishings, each at its own period)',
                                    min=0.05, max=60.0)
    deep_reflector_depth_m: float = param(
        0.15, 'a suspect (AP or UNKNOWN label) whose GPR top is at least this deep, a strong '
        'reflector seen by several GPR reports and not by the MD, is AT: AP mines '
        'lie in the top 15 cm (docs/sources.md), and a TM-62P at 20-26 cm, whose flat top '
        'the GPR cannot size there, read as a stone (P(AT) 0.01-0.04) and went off under a '
        'track (bench/missions.py gen_at_uxo_lanes). The band reaches up to the flail\'s '
        '~16 cm: at 17 cm, TM-62Ps 15-16 cm deep (two strong reports, z 39, 7 cm fits) read '
        'as stones and went off under the flail (bench/missions.py gen_random seeds 1 and 4); '
        'inf: off', min=0.0, max=math.inf)
    wide_top_radius_m: float = param(
        0.18, 'a suspect (AP or UNKNOWN label) the MD hears whose widest confident GPR top is '
        'at least this half width is AT: AP mines fit 4 +- 2 cm (at most 8), AT mines 10-25 cm '
        'deep 13 +- 2 cm, and TM-62Ps laid 5 cm deep 20-24 cm, which the depth and the MD\'s '
        'grams called AP (bench/classification.py shallow_at); inf: off', min=0.0,
        max=math.inf)
    deep_reflector_min_z: float = param(
        16.0, 'GPR strength of a deep reflector: the stack\'s mean whitened envelope along '
        'its hyperbola (Detection.strength; ~1.25 over noise alone), not the stack z-score '
        'that sets a report\'s confidence (missed TM-62Ps read 13-22, the simulator\'s '
        'stones that deep mostly 4-15: bench/perception.py)', min=0.0, max=1e6)
    deep_reflector_plastic_min_z: float = param(
        10.0, 'GPR strength enough for a deep reflector whose echo has the pulse\'s sign (a '
        'plastic body) and that deep_reflector_min_reports channels reported in one look: a '
        'TM-62P 17-26 cm deep read 9-16 in dry sand (a weak contrast: permittivity 3 against '
        '4), wet clay (loss) and laterite, and no rule called it AT; stones that deep seen by '
        'two channels mostly read 3-8 (bench/perception.py, seeds 1-5)', min=0.0, max=1e6)
    gpr_edge_band_m: float = param(
        0.25, 'a GPR report this close to either end of the boom (or beyond it) comes from '
        'the outer channel (channels ~0.25 m apart, the outer ~0.125 m in): the object may '
        'reach past the boom, so how many channels report it does not size it (a deep '
        'reflector needs one report there, not deep_reflector_min_reports)', min=0.0,
        max=5.0)
    deep_reflector_report_margin_m: float = param(
        0.03, 'a deep reflector\'s strength (deep_reflector_min_z, deep_reflector_plastic_min_z) '
        'is that of its reports whose own top lies at least deep_reflector_depth_m less this '
        'deep: the track\'s depth is the mean of its reports\', and over stones a strong '
        'report (z 12-52) from 5-12 cm averaged with a faint one from 23-39 cm read 17-23 cm '
        'and was AT (bench/perception.py: 5 of 22 false AT labels; every report of an AT '
        'mine the rule labelled lay within 10 cm of the others, its strong ones 18 cm deep or '
        'more). Twice the median GPR depth error of bench/perception.py (1.4 cm), as '
        'flailed_depth_margin_m, so that a TM-62P 15-16 cm deep whose strong report reads a '
        'little shallow stays one; inf: every report counts (the rule before)', min=0.0,
        max=math.inf)
    deep_reflector_min_half_width_m: float = param(
        0.05, 'a deep reflector\'s strength (deep_reflector_min_z, deep_reflector_plastic_min_z) '
        'counts only reports whose flat top (the half width the hyperbola fit measured, else '
        'the narrowest it allows) is at least this, unless their echo is against the pulse\'s '
        'sign (a metal case, whose fit may leave its top open: a TM-62M 24 cm deep read 3 cm): '
        'a stone is point-like, its reports\' tops 0-4 cm, while a TM-62P\'s 32 cm disc always '
        'lies within 12.5 cm of a channel, which sees a chord of 10 cm half width or more (the '
        'strongest deep report over TM-62Ps 14-29 cm deep read 9-20 cm on every soil: '
        'bench/classification.py). AP mines (tops up to 6-7 cm) stay in the rule, the cheap '
        'side of the trade. 0: every report', min=0.0, max=1.0)
    deep_reflector_min_reports: int = param(
        2, 'GPR reports of a deep reflector (a TM-62-class disc spans two channels)', min=1,
        max=100)
    deep_reflector_faint_metal_g: float = param(
        2.0, 'a deep reflector whose GPR echo has the pulse\'s sign (a body of lower '
        'permittivity than the soil: plastic or explosive, not metal) stays one when the MD '
        'hears at most this much metal, g (its own depth estimate: a TM-62P\'s fuze 16 cm '
        'deep read 0.5 g and took the mine out of the rule, which then went off under the '
        'flail: bench/missions.py gen_random seed 8); 0: any MD answer does', min=0.0,
        max=1e6)
    spanning_top_min_z: float = param(
        25.0, 'a suspect (AP or UNKNOWN label) is AT when two confident GPR reports of one '
        'look, from channels at least spanning_top_min_separation_m and at most '
        'look_association_radius_m apart, at one depth (look_association_depth_m) and neither '
        'against the pulse\'s sign, are both at least this strong (Detection.strength): the '
        'object spans the gap between two channels, 0.25 m, wider than any AP mine. Of the '
        'pairs on objects other than AT mines the strongest read 19 (a PMA-1 8 cm deep in '
        'laterite), stones 10, clutter 6; TM-62Ps 5-15 cm deep 25-110 (bench/classification.py '
        '--verbose, eight worlds, seeds 1-2, 0.085 and 0.15 m/s). inf: off', min=0.0,
        max=math.inf)
    spanning_top_min_separation_m: float = param(
        0.15, 'two reports of a spanning top (spanning_top_min_z) come from two channels: this '
        'far apart at least (the channels are ~0.25 m apart; one channel\'s reports of one '
        'object lie within a few cm), m', min=0.0, max=5.0)
    spanning_top_min_half_width_m: float = param(
        0.03, 'and each of the two reports of a spanning top fits a flat top at least this '
        'half width (measured, else the narrowest its fit allows): a disc\'s chord, not a '
        'point. The channels either side of a stone 7 cm deep in loam both read it at '
        'strength 31 with 0 cm tops (bench/missions.py gen_at_uxo_lanes seed 2); over '
        'TM-62Ps the weaker of the pair read 4-18 cm (bench/classification.py, as '
        'spanning_top_min_z), m', min=0.0, max=1.0)
    # -- ground the flail has processed (the mission's /coverage/processed): an AT mine there
    # within the flail's depth would have gone off under it (module docstring)
    working_depth_m: float = vehicle_params.working_depth_m()
    depth_tolerance_m: float = vehicle_params.depth_tolerance_m()
    flailed_at_survival: float = param(
        0.05, 'likelihood that a live AT mine is still there, intact, where the working flail '
        'has processed the ground over its top: flails detonate nearly all AT mines they '
        'strike (Minerats 1996; the simulator: 99 % of those engaged); five times that as a '
        'margin (our choice); 1: no such evidence', min=0.0, max=1.0)
    flailed_depth_margin_m: float = param(
        0.03, 'a track counts as flailed only when its depth lies this far above the depth '
        'the record guarantees (working_depth_m - depth_tolerance_m): twice the median GPR '
        'depth error of bench/perception.py', min=0.0, max=1.0)
    flailed_radius_m: float = param(
        0.25, 'and every processed-ground cell within this of the track (plus two sigma of '
        'its position) is processed: a TM-62 is 0.32 m across (docs/sources.md)', min=0.0,
        max=5.0)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        cells = (self.map_width_m / self.resolution_m) * (self.map_height_m / self.resolution_m)
        if cells > 5e7:
            raise ParamError('map_width_m x map_height_m at resolution_m exceeds 5e7 cells')
        if self.max_gate_m < max(self.association_radius_m, self.look_association_radius_m):
            raise ParamError('max_gate_m must not be below association_radius_m nor '
                             'look_association_radius_m')


def log_odds(p: float) -> float:
    """Return the log-odds of a probability."""
    return math.log(p / (1.0 - p))


class LogOddsGrid:
    """A log-odds grid in ``map``: rows are y, columns x, cell (0, 0) at the origin corner."""

    def __init__(self, origin_x: float, origin_y: float, width_m: float, height_m: float,
                 resolution: float, prior: float, max_log_odds: float = 8.0) -> None:
        """Create a grid of ``width_m`` x ``height_m`` metres filled with ``prior``."""
        self.origin_x = float(origin_x)
        self.origin_y = float(origin_y)
        self.resolution = float(resolution)
        self.width = max(1, int(math.ceil(width_m / resolution)))
        self.height = max(1, int(math.ceil(height_m / resolution)))
        self.prior = log_odds(prior)
        self.max_log_odds = float(max_log_odds)
        self.cells = np.full((self.height, self.width), self.prior, dtype=np.float32)
        #: Map coordinates of the cell centres along x (columns) and y (rows), m.
        self.centres_x = self.origin_x + (np.arange(self.width) + 0.5) * self.resolution
        self.centres_y = self.origin_y + (np.arange(self.height) + 0.5) * self.resolution
        #: Time of the latest hit whose footprint reached each cell (negative evidence skips
        #: cells that answered around the time they were swept).
        self.last_hit = np.full((self.height, self.width), -np.inf, dtype=np.float64)
        #: :meth:`occupancy` of the whole grid, kept up to date where cells changed (a 1 ha
        #: map has ~1.3 million cells; recomputing them all at 5 Hz was the stack's largest
        #: cost). None until first asked for.
        self._occupancy: Optional[np.ndarray] = None
        #: Rows and columns [r0, r1) x [c0, c1) changed since the cache was refreshed.
        self._dirty: Optional[List[int]] = None

    def touched(self, r0: int, r1: int, c0: int, c1: int) -> None:
        """Note that cells in rows [r0, r1) and columns [c0, c1) changed (occupancy cache)."""
        d = self._dirty
        if d is None:
            self._dirty = [r0, r1, c0, c1]
        else:
            d[0], d[1], d[2], d[3] = min(d[0], r0), max(d[1], r1), min(d[2], c0), max(d[3], c1)

    def add_gaussian(self, x: float, y: float, sigma: float, peak_log_odds: float,
                     stamp: float = -math.inf) -> bool:
        """Add a Gaussian bump of log-odds (a hit at ``stamp``); False when it misses."""
        if not (math.isfinite(x) and math.isfinite(y) and sigma > 0.0):
            return False
        r = _FOOTPRINT_SIGMAS * sigma
        c0 = max(0, int(math.floor((x - r - self.origin_x) / self.resolution)))
        c1 = min(self.width, int(math.ceil((x + r - self.origin_x) / self.resolution)))
        r0 = max(0, int(math.floor((y - r - self.origin_y) / self.resolution)))
        r1 = min(self.height, int(math.ceil((y + r - self.origin_y) / self.resolution)))
        if c0 >= c1 or r0 >= r1:
            return False
        cx = self.centres_x[c0:c1]
        cy = self.centres_y[r0:r1]
        d2 = (cy[:, None] - y) ** 2 + (cx[None, :] - x) ** 2
        bump = peak_log_odds * np.exp(-0.5 * d2 / sigma ** 2)
        win = self.cells[r0:r1, c0:c1]
        np.clip(win + bump, -self.max_log_odds, self.max_log_odds, out=win)
        self.touched(r0, r1, c0, c1)
        hit = self.last_hit[r0:r1, c0:c1]
        np.maximum(hit, np.where(d2 <= (2.0 * sigma) ** 2, stamp, -np.inf), out=hit)
        return True

    def probability(self) -> np.ndarray:
        """Return cell probabilities 0..1 (float32)."""
        return _probability(self.cells)

    def probability_at(self, x: float, y: float) -> float:
        """Return the probability of the cell containing (x, y), NaN outside."""
        c = int(math.floor((x - self.origin_x) / self.resolution))
        r = int(math.floor((y - self.origin_y) / self.resolution))
        if not (0 <= c < self.width and 0 <= r < self.height):
            return math.nan
        return float(1.0 / (1.0 + math.exp(-float(self.cells[r, c]))))

    def occupancy(self) -> np.ndarray:
        """Return the grid as int8 0..100 (OccupancyGrid values; rows = y); a new array.

        Only the cells changed since the last call are converted (element-wise, so the values
        are those of a conversion of the whole grid).
        """
        return self.occupancy_view().copy()

    def occupancy_view(self) -> np.ndarray:
        """:meth:`occupancy` without the copy: a read-only view of the cache, valid until the
        grid next changes (for a message encoded at once: a 1 ha map is ~1.3 MB)."""
        if self._occupancy is None:
            self._occupancy = _occupancy(self.cells)
        elif self._dirty is not None:
            r0, r1, c0, c1 = self._dirty
            self._occupancy[r0:r1, c0:c1] = _occupancy(self.cells[r0:r1, c0:c1])
        self._dirty = None
        view = self._occupancy.view()
        view.flags.writeable = False
        return view


def _probability(cells: np.ndarray) -> np.ndarray:
    """Probabilities 0..1 (float32) of log-odds cells."""
    return (1.0 / (1.0 + np.exp(-cells))).astype(np.float32)


def _occupancy(cells: np.ndarray) -> np.ndarray:
    """OccupancyGrid values (int8 0..100) of log-odds cells."""
    return np.clip(np.rint(_probability(cells) * 100.0), 0, 100).astype(np.int8)


@dataclasses.dataclass
class Track:
    """A fused object hypothesis and the evidence the classifier needs."""

    id: int
    x: float
    y: float
    first_seen: float
    last_seen: float
    travel0: float = 0.0              # the boom's odometer at the first report, m
    weight: float = 0.0               # sum of position weights
    var: float = 0.0                  # position variance from the poses (m^2), fused
    hits: int = 0
    gpr_hits: int = 0
    #: GPR reports per look (one pass of the boom over the track, ``gpr_look_gap_m``): the
    #: boom's odometer at the previous report, the reports of the current look, the most of any
    gpr_look_travel: float = -math.inf
    gpr_look_hits: int = 0
    gpr_look_max: int = 0
    md_hits: int = 0
    #: Faint MD answers (``faint_md``: found on the along-track average, no metal estimate)
    md_faint_hits: int = 0
    gpr_conf: float = 0.0             # combined (noisy-or) confidence per sensor
    md_conf: float = 0.0
    md_best_conf: float = 0.0
    gpr_best_conf: float = 0.0        # the most confident GPR hit ...
    gpr_best_radius: float = 0.0      # ... and its flat-top half width, m
    gpr_radius_sum: float = 0.0       # confident GPR hits: sum and count of half widths
    gpr_radius_n: int = 0
    gpr_max_radius: float = 0.0       # largest flat-top half width of the confident hits, m
    #: The strongest confident GPR hit whose fit left the half width open (NaN): its
    #: strength (Detection.strength) and the narrowest top its fit allows (radius_min, m);
    #: and the strength of the strongest confident hit whose fit measured the half width
    #: (:attr:`gpr_open_width`)
    gpr_open_strength: float = -math.inf
    gpr_open_floor: float = 0.0
    gpr_sized_strength: float = -math.inf
    polarity_sum: float = 0.0         # confidence-weighted polarity votes of GPR hits
    gpr_strength: float = 0.0         # strongest GPR response (mean whitened envelope)
    #: The strongest GPR response among the reports whose own top lies at least
    #: ``deep_report_depth_m`` deep (:func:`deep_reflector`: the strong echo must be the deep
    #: one, not a shallow stone's averaged with a faint deeper report), and that depth, m
    #: (set by the fusion core; -inf: every report counts); of the reports not against the
    #: pulse's sign only those whose :func:`flat_top` is at least ``deep_report_min_top_m``
    #: (a plastic disc, not a point-like stone; set by the fusion core; 0: every report)
    gpr_deep_strength: float = 0.0
    deep_report_depth_m: float = -math.inf
    deep_report_min_top_m: float = 0.0
    depth_sum: float = 0.0            # confidence-weighted GPR depth
    depth_weight: float = 0.0
    #: Reliable MD looks (``reliable_md``): confidence^2-weighted MD depth (the metal's
    #: centre) and log of the metal content (g), and their weight; weak looks apart (their
    #: metal counts only where the GPR's depth does not contradict it: :attr:`weak_used`).
    md_depth_sum: float = 0.0
    metal_log_sum: float = 0.0
    reliable_weight: float = 0.0
    weak_depth_sum: float = 0.0
    weak_log_sum: float = 0.0
    weak_weight: float = 0.0
    #: A weak look's metal centre this far below the GPR's top, or more, is not this object's
    #: (FusionParams.md_weak_depth_excess_m; set by the fusion core).
    weak_depth_excess_m: float = math.inf
    metal_log_sigma: float = math.inf  # spread of the best metal look (log units)
    metal_max_reliable: float = 0.0   # heaviest reliable look (a mine under a fragment)
    metal_reliable_n: int = 0         # reliable looks
    uxo_hints: int = 0
    #: GPR reports from the boom's outer channels (its edge band: a large object there may
    #: reach past the boom's end, :func:`deep_reflector`)
    gpr_edge_hits: int = 0
    #: The latest confident GPR reports not against the pulse's sign (:func:`spanning_top`):
    #: (the boom's odometer, x, y, depth, strength, flat-top half width: measured, else the
    #: narrowest the fit allows, else 0), at most :data:`_SPAN_REPORTS`
    gpr_reports: List[Tuple[float, float, float, float, float, float]] = dataclasses.field(
        default_factory=list)
    max_conf: float = 0.0
    kind: DetectionKind = DetectionKind.AP
    confidence: float = 0.0
    posterior: Tuple[float, ...] = ()
    #: The working flail has processed the ground over the track's top (:meth:`FusionCore.
    #: flailed`), so an AT mine there is unlikely to have survived it.
    flailed: bool = False

    @property
    def gpr_depth(self) -> float:
        """GPR depth estimate (top of the reflector), 0 when the GPR has not seen the track."""
        return self.depth_sum / self.depth_weight if self.depth_weight > 0.0 else 0.0

    @property
    def weak_used(self) -> bool:
        """Whether the weak MD looks' metal estimate counts (module docstring, "Weak MD
        looks"): not when their metal centre lies ``weak_depth_excess_m`` or more below the
        top the GPR measured for the same track."""
        if self.weak_weight <= 0.0:
            return False
        if self.depth_weight <= 0.0:
            return True
        return self.weak_depth_sum / self.weak_weight - self.gpr_depth < self.weak_depth_excess_m

    @property
    def md_faint(self) -> bool:
        """Whether every MD answer of the track is faint (module docstring, "Faint MD
        answers"): no reading over the threshold, so no metal estimate; one louder answer
        speaks for the MD instead."""
        return self.md_hits > 0 and self.md_faint_hits == self.md_hits

    @property
    def metal_weight(self) -> float:
        """Weight of the MD looks whose metal estimate counts (0: none says how much)."""
        return self.reliable_weight + (self.weak_weight if self.weak_used else 0.0)

    @property
    def md_depth(self) -> float:
        """MD depth estimate (centre of the metal), 0 when no MD look's estimate counts."""
        weight = self.metal_weight
        if weight <= 0.0:
            return 0.0
        total = self.md_depth_sum + (self.weak_depth_sum if self.weak_used else 0.0)
        return total / weight

    @property
    def depth(self) -> float:
        """Best depth: the GPR's (the object's top) when it saw the track, else the MD's."""
        return self.gpr_depth if self.depth_weight > 0.0 else self.md_depth

    @property
    def metal_g(self) -> float:
        """Metal content (g, MD estimate; geometric mean weighted by confidence^2), 0 if none."""
        weight = self.metal_weight
        if weight <= 0.0:
            return 0.0
        total = self.metal_log_sum + (self.weak_log_sum if self.weak_used else 0.0)
        return math.exp(total / weight)

    @property
    def gpr_radius(self) -> float:
        """Flat-top half width (m): the largest of the confident GPR hits, else the best's.

        The largest, not the mean: a channel beside a disc's centre crosses a chord of it
        and fits a narrower top (generated field: a TM-62P fitted 13, 9 and 4 cm), so only
        the widest fit measures the disc.
        """
        return self.gpr_max_radius if self.gpr_radius_n else self.gpr_best_radius

    @property
    def gpr_confident(self) -> bool:
        """Whether some GPR report of the track was confident (``gpr_confident_confidence``),
        its width measured or left open: a strong echo."""
        return self.gpr_radius_n > 0 or math.isfinite(self.gpr_open_strength)

    @property
    def gpr_open_width(self) -> bool:
        """Whether the track's flat top reads as the narrowest top its strongest confident
        report allows (:attr:`gpr_open_floor`; module docstring, "Open widths"): that report,
        from the channel nearest the object's centre, left its width open and rules the
        widest measured one (a chord farther out) out as its own.
        """
        return (self.gpr_radius_n > 0 and self.gpr_open_strength > self.gpr_sized_strength
                and self.gpr_open_floor > self.gpr_max_radius)

    @property
    def gpr_width(self) -> float:
        """Half width of the flat top that the classifier reads, m: :attr:`gpr_radius`, or
        the strongest report's narrowest allowed top where it rules that out
        (:attr:`gpr_open_width`)."""
        return self.gpr_open_floor if self.gpr_open_width else self.gpr_radius

    @property
    def polarity(self) -> int:
        """Majority polarity of the GPR hits (+1, -1, 0 unknown)."""
        return 0 if self.polarity_sum == 0.0 else int(math.copysign(1, self.polarity_sum))

    @property
    def sigma(self) -> float:
        """1-sigma position uncertainty from the poses, m."""
        return math.sqrt(self.var)

    def add(self, det: Detection, stamp: float, reliable_md: float = 0.75,
            confident_gpr: float = 0.8, edge: bool = False, travel: float = 0.0,
            look_gap_m: float = math.inf, faint_md: float = 0.0) -> None:
        """Fold a raw detection into the track.

        An MD hit at least ``reliable_md`` confident reads the metal within a factor ~1.5, a
        GPR hit at least ``confident_gpr`` confident gives the half width and polarity. An MD
        hit at most ``faint_md`` confident without a metal estimate is a faint answer
        (:attr:`md_faint`).
        ``edge``: an outer channel of the boom reported it (see :func:`deep_reflector`).
        ``travel``: the boom's odometer now; a GPR report more than ``look_gap_m`` of travel
        after the track's previous one starts another look (``gpr_look_max``).
        """
        w = max(det.confidence, 1e-3)
        sig2 = det.sigma_xy ** 2 if math.isfinite(det.sigma_xy) else 0.0
        # Position: confidence-weighted mean; its pose variance is the weighted mean of the
        # hits' (the pose error is correlated between hits close in time, so it is not
        # divided down by the number of hits).
        self.var = (self.var * self.weight + sig2 * w) / (self.weight + w)
        self.x = (self.x * self.weight + det.x * w) / (self.weight + w)
        self.y = (self.y * self.weight + det.y * w) / (self.weight + w)
        self.weight += w
        self.hits += 1
        self.last_seen = max(self.last_seen, stamp)
        self.max_conf = max(self.max_conf, det.confidence)
        depth = det.depth if math.isfinite(det.depth) else 0.0
        if det.source == 'gpr':
            self.gpr_hits += 1
            if travel - self.gpr_look_travel > look_gap_m:
                self.gpr_look_hits = 0
            self.gpr_look_travel = max(self.gpr_look_travel, travel)
            self.gpr_look_hits += 1
            self.gpr_look_max = max(self.gpr_look_max, self.gpr_look_hits)
            self.gpr_edge_hits += int(edge)
            self.gpr_conf = 1.0 - (1.0 - self.gpr_conf) * (1.0 - det.confidence)
            strength = det.strength if math.isfinite(det.strength) else 0.0
            top = flat_top(det)
            if math.isfinite(det.radius):
                if (det.confidence, strength) > (self.gpr_best_conf, self.gpr_strength):
                    self.gpr_best_radius = det.radius
                    self.gpr_best_conf = det.confidence
                if det.confidence >= confident_gpr:
                    self.gpr_max_radius = max(self.gpr_max_radius, det.radius)
                    self.gpr_radius_sum += det.radius
                    self.gpr_radius_n += 1
            if det.confidence >= confident_gpr:
                if math.isfinite(det.radius):
                    self.gpr_sized_strength = max(self.gpr_sized_strength, strength)
                elif strength > self.gpr_open_strength:
                    self.gpr_open_strength = strength
                    self.gpr_open_floor = top       # the fit left it open: its narrowest
            if det.polarity:
                self.polarity_sum += math.copysign(det.confidence, det.polarity)
            if det.confidence >= confident_gpr and det.polarity >= 0:
                self.gpr_reports.append((travel, det.x, det.y, depth, strength, top))
                del self.gpr_reports[:-_SPAN_REPORTS]
            self.gpr_strength = max(self.gpr_strength, strength)
            if depth >= self.deep_report_depth_m and (det.polarity < 0
                                                      or top >= self.deep_report_min_top_m):
                self.gpr_deep_strength = max(self.gpr_deep_strength, strength)
            self.depth_sum += depth * w
            self.depth_weight += w
        else:
            self.md_hits += 1
            self.md_faint_hits += int(det.confidence <= faint_md
                                      and not math.isfinite(det.strength))
            self.md_conf = 1.0 - (1.0 - self.md_conf) * (1.0 - det.confidence)
            self.md_best_conf = max(self.md_best_conf, det.confidence)
            if math.isfinite(det.strength):
                # Noisy (weak) hits give scattered metal estimates: weight by confidence^2.
                w2 = w * w
                log_g = math.log(max(det.strength, _MIN_METAL_G)) * w2
                reliable = det.confidence >= reliable_md
                if reliable:
                    self.metal_log_sum += log_g
                    self.md_depth_sum += depth * w2
                    self.reliable_weight += w2
                else:
                    self.weak_log_sum += log_g
                    self.weak_depth_sum += depth * w2
                    self.weak_weight += w2
                self.metal_log_sigma = min(self.metal_log_sigma, _METAL_LOG_SIGMA_RELIABLE
                                           if reliable else _METAL_LOG_SIGMA_WEAK)
                if reliable:
                    self.metal_max_reliable = max(self.metal_max_reliable, det.strength)
                    self.metal_reliable_n += 1
            if det.kind == DetectionKind.UXO:
                self.uxo_hints += 1

    def absorb(self, other: 'Track', look_gap_m: float = math.inf) -> None:
        """Merge another track into this one (two tracks whose current looks are within
        ``look_gap_m`` of travel are one look of one object: their reports add up)."""
        if abs(self.gpr_look_travel - other.gpr_look_travel) <= look_gap_m:
            self.gpr_look_hits += other.gpr_look_hits
        elif other.gpr_look_travel > self.gpr_look_travel:
            self.gpr_look_hits = other.gpr_look_hits
        self.gpr_look_travel = max(self.gpr_look_travel, other.gpr_look_travel)
        self.gpr_look_max = max(self.gpr_look_max, other.gpr_look_max, self.gpr_look_hits)
        tot = self.weight + other.weight
        if tot > 0.0:
            self.x = (self.x * self.weight + other.x * other.weight) / tot
            self.y = (self.y * self.weight + other.y * other.weight) / tot
            self.var = (self.var * self.weight + other.var * other.weight) / tot
        self.weight = tot
        self.hits += other.hits
        self.gpr_hits += other.gpr_hits
        self.md_hits += other.md_hits
        self.md_faint_hits += other.md_faint_hits
        self.gpr_conf = 1.0 - (1.0 - self.gpr_conf) * (1.0 - other.gpr_conf)
        self.md_conf = 1.0 - (1.0 - self.md_conf) * (1.0 - other.md_conf)
        self.md_best_conf = max(self.md_best_conf, other.md_best_conf)
        if (other.gpr_best_conf, other.gpr_strength) > (self.gpr_best_conf, self.gpr_strength):
            self.gpr_best_radius = other.gpr_best_radius
            self.gpr_best_conf = other.gpr_best_conf
        self.gpr_max_radius = max(self.gpr_max_radius, other.gpr_max_radius)
        self.gpr_radius_sum += other.gpr_radius_sum
        self.gpr_radius_n += other.gpr_radius_n
        if other.gpr_open_strength > self.gpr_open_strength:
            self.gpr_open_strength = other.gpr_open_strength
            self.gpr_open_floor = other.gpr_open_floor
        self.gpr_sized_strength = max(self.gpr_sized_strength, other.gpr_sized_strength)
        self.polarity_sum += other.polarity_sum
        self.gpr_strength = max(self.gpr_strength, other.gpr_strength)
        self.gpr_deep_strength = max(self.gpr_deep_strength, other.gpr_deep_strength)
        self.depth_sum += other.depth_sum
        self.depth_weight += other.depth_weight
        self.md_depth_sum += other.md_depth_sum
        self.metal_log_sum += other.metal_log_sum
        self.reliable_weight += other.reliable_weight
        self.weak_depth_sum += other.weak_depth_sum
        self.weak_log_sum += other.weak_log_sum
        self.weak_weight += other.weak_weight
        self.metal_log_sigma = min(self.metal_log_sigma, other.metal_log_sigma)
        self.metal_max_reliable = max(self.metal_max_reliable, other.metal_max_reliable)
        self.metal_reliable_n += other.metal_reliable_n
        self.uxo_hints += other.uxo_hints
        self.gpr_edge_hits += other.gpr_edge_hits
        self.gpr_reports = sorted(self.gpr_reports + other.gpr_reports)[-_SPAN_REPORTS:]
        self.max_conf = max(self.max_conf, other.max_conf)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)


def flat_top(det: Detection) -> float:
    """A GPR report's flat-top half width, m: the one its hyperbola fit measured, else the
    narrowest the fit allows (``radius_min``: the top was left open), else 0 (a point)."""
    if math.isfinite(det.radius):
        return det.radius
    return det.radius_min if math.isfinite(det.radius_min) else 0.0


def _log_normal_pdf(z: float, sigma: float) -> float:
    """Log of the normal density at ``z`` standard units times ``sigma`` (an offset)."""
    return -0.5 * z * z - math.log(sigma)


_HAZARDS = frozenset({Hypothesis.AP, Hypothesis.AT, Hypothesis.UXO})


def _robust(log_pdf: float, feature_range: float, hazard: bool,
            outlier: float = _OUTLIER) -> float:
    """Normal log density (``log_pdf`` without its constant), mixed with the uniform outlier
    part for a hazard (:data:`_OUTLIER`)."""
    lp = log_pdf - 0.5 * math.log(2.0 * math.pi)
    if not hazard:
        return lp
    return math.log((1.0 - outlier) * math.exp(lp) + outlier / feature_range)


def _gauss(value: float, mean: float, sigma: float, feature_range: float) -> float:
    """Robust log-likelihood of a GPR feature ``value`` under N(mean, sigma).

    Every hypothesis gets the outlier part here: a failed hyperbola fit (a deep or
    overlapping reflector) must not make every hypothesis but the hazards impossible, which
    the cost matrix would turn into an AT label (mixed_field: deep stones as AT).
    """
    return _robust(_log_normal_pdf((value - mean) / sigma, sigma), feature_range, True)


def _depth_log_likelihood(m: ClassModel, depth: float) -> float:
    """Robust log-likelihood of the GPR's depth under a class: ``depth``, plus the
    ``depth_flush`` component when there is one (added, not renormalised, so it never lowers
    the buried component's likelihood: a deep AT mine is as plausible as without it)."""
    if not m.depth_flush:
        return _gauss(depth, m.depth[0], m.depth[1], _DEPTH_RANGE_M)
    w, mean, sigma = m.depth_flush
    pdf = math.exp(_log_normal_pdf((depth - m.depth[0]) / m.depth[1], m.depth[1])) + \
        w * math.exp(_log_normal_pdf((depth - mean) / sigma, sigma))
    return _robust(math.log(pdf), _DEPTH_RANGE_M, True)


def _metal_log_likelihood(model: ClassModel, log_g: float, meas_sigma: float,
                          hazard: bool) -> float:
    """Log-likelihood of an MD metal estimate ``exp(log_g)`` grams under a class."""
    if not model.metal:
        # No metal: an MD answer is a false alarm whose reading is noise (a few grams,
        # spread over a factor ~10).
        return math.log(0.02) + _log_normal_pdf((log_g - math.log(2.0)) / 2.3, 2.3)
    terms = _metal_terms(model, log_g, meas_sigma)
    top = max(terms)
    return _robust(top + math.log(sum(math.exp(t - top) for t in terms)), _METAL_LOG_RANGE,
                   hazard, _OUTLIER_METAL)


def _metal_terms(model: ClassModel, log_g: float, meas_sigma: float) -> List[float]:
    """Log of each metal component's weight times its density at ``log_g``."""
    terms = []
    for weight, median, sigma in model.metal:
        s = math.hypot(sigma, meas_sigma)
        terms.append(math.log(weight) + _log_normal_pdf((log_g - math.log(median)) / s, s))
    return terms


def _normal_cdf(z: float) -> float:
    """Standard normal cumulative distribution at ``z``."""
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def _midpoints(lo: float, hi: float, n: int) -> List[float]:
    """``n`` midpoints of equal parts of [lo, hi] (a midpoint-rule quadrature)."""
    step = (hi - lo) / n
    return [lo + (i + 0.5) * step for i in range(n)]


def _depth_nodes(model: ClassModel) -> List[Tuple[float, float]]:
    """(depth, weight) nodes of a class's depth model (``depth`` and ``depth_flush``), the
    weights summing to 1; depths above the surface are taken at the surface."""
    comps = [(1.0,) + tuple(model.depth)]
    if model.depth_flush:
        comps.append(tuple(model.depth_flush))
    nodes = []
    for weight, mean, sigma in comps:
        dens = [math.exp(-0.5 * z * z) for z in _DEPTH_NODES_Z]
        tot = sum(dens)
        nodes.extend((max(0.0, mean + z * sigma), weight * d / tot)
                     for z, d in zip(_DEPTH_NODES_Z, dens))
    total = sum(w for _, w in nodes)
    return [(d, w / total) for d, w in nodes]


def _faint_log_likelihood(model: ClassModel, depth: Optional[float], p: FusionParams,
                          hazard: bool) -> float:
    """Log-likelihood of a faint MD answer under a class (module docstring, "Faint MD
    answers").

    The answering coil's loudest reading lies between ``md_faint_min_mv`` and
    ``md_faint_max_mv``. With the MD's model ``A = G m / r^6`` (``G`` the calibration
    ``md_metal_gain_mv_m6_per_kg``, ``r^2 = (h + d + c)^2 + l^2``: ``h`` the coil height, ``d``
    the object's top, ``c`` the metal's centre below it, ``l`` its offset across the boom from
    the nearest coil, uniform up to half the pitch) that band is a band of metal,
    ``[A_min, A_max] r^6 / G``; the likelihood is the class's metal mass in it, averaged over
    ``l``, ``c`` and, without a GPR depth (``depth`` None), over the class's depths. A class
    without metal answers only as a false alarm (``1 - p_md_silent``).
    """
    if not model.metal:
        return math.log(1.0 - model.p_md_silent)
    a_min = max(p.md_faint_min_mv, _MIN_FAINT_MV)
    a_max = max(p.md_faint_max_mv, a_min)
    # metal (g) per (m^2)^3 of distance for each end of the band
    log_lo = math.log(GRAMS_PER_KG * a_min / p.md_metal_gain_mv_m6_per_kg)
    log_hi = math.log(GRAMS_PER_KG * a_max / p.md_metal_gain_mv_m6_per_kg)
    depths = [(depth, 1.0)] if depth is not None else _depth_nodes(model)
    laterals = _midpoints(0.0, 0.5 * p.md_coil_pitch_m, _FAINT_LATERAL_NODES)
    centres = _midpoints(0.0, p.md_faint_centre_span_m, _FAINT_CENTRE_NODES)
    n = len(laterals) * len(centres)
    prob = 0.0
    for d, w_d in depths:
        for lat in laterals:
            for c in centres:
                log_r6 = 3.0 * math.log((p.md_coil_height_m + max(d, 0.0) + c) ** 2
                                        + lat * lat)
                lo, hi = log_lo + log_r6, log_hi + log_r6
                for weight, median, sigma in model.metal:
                    mu = math.log(median)
                    prob += w_d / n * weight * (_normal_cdf((hi - mu) / sigma)
                                                - _normal_cdf((lo - mu) / sigma))
    if hazard:
        # the robust outlier part (as for a metal estimate): a band of the log range
        prob = (1.0 - _OUTLIER_METAL) * prob + _OUTLIER_METAL * (log_hi - log_lo) / \
            _METAL_LOG_RANGE
    return math.log(max(prob, _MIN_PROBABILITY))


def _p_positive_given_metal(model: ClassModel, log_g: float, meas_sigma: float) -> float:
    """P(positive reflection) of a class whose metal components have their own polarity:
    the components' ``metal_p_positive`` weighted by how well each explains the metal read
    (the joint likelihood of metal and polarity, factored)."""
    terms = _metal_terms(model, log_g, meas_sigma)
    top = max(terms)
    w = [math.exp(t - top) for t in terms]
    return sum(wi * pi for wi, pi in zip(w, model.metal_p_positive)) / sum(w)


def looked(t: Track, p: FusionParams, now: float, travel: float = math.inf) -> bool:
    """Return whether both sensors had their look at a track (``look_s`` and ``look_m``).

    ``travel`` is the boom's odometer now (:attr:`FusionCore.travel`); infinite when the
    boom's motion is unknown (offline files), then time alone counts.
    """
    return now - t.first_seen >= p.look_s and travel - t.travel0 >= p.look_m


def posterior(t: Track, p: FusionParams, now: float,
              travel: float = math.inf) -> Dict[Hypothesis, float]:
    """Return the posterior probability of each hypothesis for a track (naive Bayes).

    The MD's silence and the number of GPR reports count as evidence once the sensors had
    their look (``look_s`` after the track started), the GPR's silence ``gpr_wait_s`` after
    it; the half width and polarity only from confident GPR hits.
    """
    waited = now - t.first_seen >= p.gpr_wait_s
    seen_all = looked(t, p, now, travel)
    logp: Dict[Hypothesis, float] = {}
    sized_gpr = t.gpr_radius_n > 0   # a confident report measured the top
    # Independent reliable looks narrow the estimate, but part of its error is systematic
    # (the depth correction), so no more than _MAX_INDEPENDENT_LOOKS count.
    meas_sigma = (t.metal_log_sigma if math.isfinite(t.metal_log_sigma)
                  else _METAL_LOG_SIGMA_WEAK)
    if t.metal_reliable_n:
        meas_sigma /= math.sqrt(min(t.metal_reliable_n, _MAX_INDEPENDENT_LOOKS))
    log_g = math.log(max(t.metal_g, _MIN_METAL_G))
    for h, m in CLASS_MODELS.items():
        hz = h in _HAZARDS
        lp = math.log(m.prior)
        if t.md_faint:
            # little metal, how little as deep as the GPR says (or the class lies)
            lp += _faint_log_likelihood(m, t.gpr_depth if t.depth_weight > 0.0 else None, p,
                                        hz)
        elif t.md_hits and t.metal_weight <= 0.0:
            # the MD answered, but no hit said how much metal (each fit wandered off): the
            # answer is the evidence, not the floor's few milligrams
            lp += math.log(1.0 - m.p_md_silent)
        elif t.md_hits:
            lp += _metal_log_likelihood(m, log_g, meas_sigma, hz)
            if m.metal and t.metal_max_reliable > 0.0:
                # A mine under a fragment: the heaviest reliable look must fit too.
                lp = max(lp, math.log(m.prior) + _metal_log_likelihood(
                    m, math.log(t.metal_max_reliable), _METAL_LOG_SIGMA_RELIABLE, hz))
            frac = t.uxo_hints / t.md_hits
            lp += math.log(frac * m.p_elongated + (1.0 - frac) * (1.0 - m.p_elongated)
                           + 1e-3)
        elif seen_all:
            lp += math.log(m.p_md_silent)
        if t.gpr_hits:
            lp += math.log(1.0 - m.p_gpr_silent)
            if sized_gpr:
                mean, sig = m.half_width
                lp += _gauss(t.gpr_width, mean, sig, _HALF_WIDTH_RANGE_M)
            if t.polarity:
                p_pos = m.p_positive
                if h == Hypothesis.AT and (not t.md_hits or t.md_faint):
                    # An AT mine the MD does not hear, or hears faintly, is plastic-cased
                    # (TM-62P: fuze metal only; a steel case is loud at any depth it is laid
                    # at), and plastic reflects with the pulse's sign like an AP body.
                    p_pos = CLASS_MODELS[Hypothesis.AP].p_positive
                elif m.metal_p_positive and t.md_hits:
                    p_pos = _p_positive_given_metal(m, log_g, meas_sigma)
                lp += math.log(p_pos if t.polarity > 0 else 1.0 - p_pos)
            lp += _depth_log_likelihood(m, t.gpr_depth)
            if seen_all:
                # one report in a look, not in all of them (``gpr_look_gap_m``)
                lp += math.log(m.p_single_gpr if t.gpr_look_max == 1
                               else 1.0 - m.p_single_gpr)
                if not t.gpr_confident:
                    # a weak echo only (:data:`_P_GPR_WEAK`)
                    lp += math.log(m.p_gpr_weak)
        elif waited:
            lp += math.log(m.p_gpr_silent)
        if h == Hypothesis.AT and t.flailed:
            lp += math.log(max(p.flailed_at_survival, 1e-12))
        logp[h] = lp
    top = max(logp.values())
    w = {h: math.exp(v - top) for h, v in logp.items()}
    tot = sum(w.values())
    return {h: v / tot for h, v in w.items()}


def decide(post: Dict[Hypothesis, float], final: bool = True, metal: bool = False,
           no_go: bool = True) -> Tuple[DetectionKind, float]:
    """Bayes decision: the label of least expected cost (:data:`COST`) and its confidence.

    Until ``final`` (both sensors had their look) CLUTTER is not a candidate: a track is not
    dismissed while a sensor that could still veto it (the GPR seeing a plastic AT mine
    under a 30 g fuze) has not answered. UNKNOWN means a suspect non-metallic reflector, so
    it is no candidate for a track the MD saw (``metal``). Without ``no_go`` (the evidence
    for a no-go zone is not complete: one GPR report before the GPR had its look, see
    :func:`classify`) AT and UXO are no candidates: a no-go zone is permanent, and the label
    comes at the next update once the look is complete, still before the flail gets there.
    The confidence is the posterior probability of the label's hypotheses; for UNKNOWN
    (suspect) that of a hazard.
    """
    best, best_cost = None, math.inf
    for label in _LABELS:
        if (label == _K.CLUTTER and not final) or (label == _K.UNKNOWN and metal) or \
                (label in (_K.AT, _K.UXO) and not no_go):
            continue
        cost = sum(post[h] * COST[h][label] for h in post)
        if cost < best_cost - 1e-12:
            best, best_cost = label, cost
    if best == _K.UNKNOWN:
        conf = post[Hypothesis.AP] + post[Hypothesis.AT] + post[Hypothesis.UXO]
    else:
        conf = sum(post[h] for h in _LABEL_TRUE[best])
    return best, float(min(1.0, max(0.0, conf)))


def classify(t: Track, p: FusionParams, now: float,
             travel: float = math.inf) -> Tuple[DetectionKind, float]:
    """Return the kind and confidence of a track (module docstring; ``travel``: the boom's
    odometer, :func:`looked`)."""
    post = posterior(t, p, now, travel)
    t.posterior = tuple(post[h] for h in Hypothesis)
    # No no-go label before the sensors had their look: until then the MD's silence (a
    # stone's, not a mine's) and the number of channels are not evidence yet, so a wide
    # stone's top reads AT-sized (a 22 cm stone at 15 cm, three GPR reports, was AT at the
    # end of a scan on a field without AT mines). Grams of metal do not change that (a 45 g
    # fragment under a 18 cm fit was AT for one update on the training field); kilograms (an
    # AT mine's case, a round) do.
    no_go = t.metal_max_reliable >= _KG_METAL_G or looked(t, p, now, travel)
    kind, conf = decide(post, final=now - t.first_seen >= p.gpr_wait_s,
                        metal=t.md_hits > 0, no_go=no_go)
    if no_go and kind in (_K.AP, _K.UNKNOWN) and (
            deep_reflector(t, p) or wide_top(t, p) or spanning_top(t, p)):
        # AT-sized unknowns are AT (module docstring): the confidence stays the posterior.
        return _K.AT, post[Hypothesis.AT] + post[Hypothesis.UXO]
    return kind, conf


def wide_top(t: Track, p: FusionParams) -> bool:
    """Whether the MD hears a track whose widest confident GPR top is AT-sized
    (``wide_top_radius_m``): a flush-laid plastic AT mine's fuze under a top no AP mine has.
    A stone the MD does not hear is left to :func:`deep_reflector`; one it hears only faintly
    to the posterior: a fuze's grams that shallow answer loudly (module docstring, "Faint MD
    answers")."""
    return (t.md_hits > t.md_faint_hits and t.gpr_radius_n > 0
            and t.gpr_max_radius >= p.wide_top_radius_m)


def deep_reflector(t: Track, p: FusionParams) -> bool:
    """Whether a track is a strong reflector below the AP mines' depth, seen by several GPR
    reports and not by the MD (``deep_reflector_*``): a large plastic object the tool cannot
    reach, AT-class. With metal the MD's estimate speaks (fragments, cans and wire that deep
    were as strong: bench/perception.py generated fields), unless the MD hears no more than
    ``deep_reflector_faint_metal_g`` and the GPR's echo has the pulse's sign (a plastic
    body: a TM-62P's fuze that deep reads a gram or less at the MD's own depth).

    Below ~15 cm the fit does not tell a TM-62P's 32 cm disc from a smaller flat top (module
    docstring); its strength and the channels it spans still say it is large. With the
    pulse's sign only flat-topped reports count (:attr:`Track.gpr_deep_strength`): a
    point-like echo is a stone. Reported by the boom's outer channel, it may
    reach past the boom's end, so one report is enough there.
    """
    # a track the boom's outer channel reported may reach past the boom: the channels that
    # report it do not count it out
    spans = t.gpr_hits >= p.deep_reflector_min_reports or t.gpr_edge_hits > 0
    # The MD's metal estimate assumes its own, shallow depth: a fuze's tens of grams that
    # deep read a gram or less, as a fragment's do. The GPR's polarity tells them apart: a
    # plastic body reflects with the pulse's sign, metal against it (Daniels 2004).
    quiet = t.md_hits == 0 or (t.polarity > 0 and t.metal_g <= p.deep_reflector_faint_metal_g
                               and t.metal_max_reliable <= p.deep_reflector_faint_metal_g)
    # A plastic body against the soil is a weak contrast (dry sand) or a lossy path (wet
    # clay): its echo stays below a stone's strongest, but two channels in one look and the
    # pulse's sign say a wide plastic top (deep_reflector_plastic_min_z).
    # The strong echo must come from the deep object itself: a track's depth is the mean of
    # its reports', and a shallow stone's strong report averaged with a faint one from deeper
    # down (a flank, a second scatterer) read 17-23 cm with the shallow one's strength
    # (``deep_reflector_report_margin_m``).
    z = t.gpr_deep_strength
    strong = z >= p.deep_reflector_min_z or (
        t.polarity > 0 and t.gpr_look_max >= p.deep_reflector_min_reports
        and z >= p.deep_reflector_plastic_min_z)
    return quiet and spans and t.gpr_depth >= p.deep_reflector_depth_m and strong


def spanning_top(t: Track, p: FusionParams) -> bool:
    """Whether two channels side by side both see a strong top of the track at one depth
    in one look (``spanning_top_*``): an object wider than the gap between them.

    A channel's beam is narrow near the surface (half power within ``D tan 30 deg``, a few
    cm at 5-15 cm: demining_sim/sensors/gpr.py), so a point-like object (an AP mine, a
    fragment, a stone) answers strongly only in the channel over it; midway between two, both
    answer weakly. A disc that reaches under both answers strongly in both: a TM-62-class AT
    mine, 0.27-0.33 m across, spans the 0.25 m channel pitch wherever it lies, and no AP mine
    (at most 0.12 m) does. The flat top the hyperbola fit measures does not say it (a chord
    near the disc's rim, and 5 cm deep the fits read 4-8 cm against the chord's 10): a TM-62P
    13 cm deep in loam, 16 cm off the boom's centre line, reported by the two channels either
    side of it (strengths 40 and 43, 8 cm tops), unheard by the MD, read P(AT) 0.047 and went
    off under the flail (bench/missions.py gen_at_uxo_lanes seed 2).
    """
    reports = [r for r in t.gpr_reports
               if r[4] >= p.spanning_top_min_z and r[5] >= p.spanning_top_min_half_width_m]
    for i, (s_i, x_i, y_i, d_i, _, _) in enumerate(reports):
        for s_j, x_j, y_j, d_j, _, _ in reports[i + 1:]:
            if (abs(s_j - s_i) <= p.look_association_travel_m
                    and abs(d_j - d_i) <= p.look_association_depth_m
                    and p.spanning_top_min_separation_m <= math.hypot(x_j - x_i, y_j - y_i)
                    <= p.look_association_radius_m):
                return True
    return False


def no_go_rule(t: Track, p: FusionParams) -> str:
    """Which rule of :func:`classify` gives a track its AT (or UXO) label: an AT-size rule
    (:func:`deep_reflector`, :func:`wide_top`, :func:`spanning_top`) or the Bayes decision on
    the posterior."""
    if deep_reflector(t, p):
        return 'deep reflector'
    if wide_top(t, p):
        return 'wide top'
    if spanning_top(t, p):
        return 'spanning top'
    return 'posterior'


def evidence(t: Track) -> str:
    """One line of what a track rests on: its reports, the GPR's top (half width, depth,
    polarity, stack z), the MD's metal and the posterior of each :class:`Hypothesis`."""
    post = ' '.join(f'{h.name} {v:.3f}' for h, v in zip(Hypothesis, t.posterior))
    return (f'{t.gpr_hits} GPR report(s) (at most {t.gpr_look_max} in a look), top '
            f'{100 * t.gpr_width:.0f} cm wide (half{", open" if t.gpr_open_width else ""}) '
            f'at {100 * t.gpr_depth:.0f} cm, polarity '
            f'{t.polarity:+d}, z {t.gpr_strength:.0f} ({t.gpr_deep_strength:.0f} from deep '
            f'reports); {t.md_hits} MD report(s) '
            f'({t.md_faint_hits} faint), '
            f'{t.metal_g:.1f} g; posterior {post}'
            + ('; the flail has processed the ground over it' if t.flailed else ''))


class FusionCore:
    """Grid plus tracks; feed raw detections and boom sweeps, read the map and fused list."""

    def __init__(self, params: FusionParams, origin_x: float, origin_y: float,
                 width_m: float, height_m: float) -> None:
        """Create the fusion state for a grid covering the given rectangle of ``map``."""
        self.params = params
        self.grid = LogOddsGrid(origin_x, origin_y, width_m, height_m, params.resolution_m,
                                params.prior_probability, params.max_log_odds)
        self.tracks: Dict[int, Track] = {}
        self._next_id = 1
        self._hash: Dict[Tuple[int, int], List[int]] = {}
        self.detections_in = 0
        self.detections_outside = 0
        #: The boom's centre and heading at the previous sweep (negative evidence), and the
        #: swept cells waiting for ``miss_delay_s``: (stamp, rows, columns, their box).
        self._boom: Optional[Tuple[float, float, float]] = None
        self._misses: Deque[Tuple[float, np.ndarray, np.ndarray, Tuple[int, int, int, int]]] = \
            collections.deque()
        self.cells_swept = 0
        #: The boom's odometer, m (the sensors' look at a track, :func:`looked`).
        self._travel = 0.0
        #: Per track id, (hits, had its look) at its last classification in :meth:`update`.
        self._classified: Dict[int, Tuple[int, bool]] = {}
        #: Ids of the tracks :meth:`new_no_go` has returned (a no-go label is said once).
        self._no_go_said: Set[int] = set()
        #: The mission's processed ground (:meth:`set_processed`): (cells, the value of a
        #: processed cell or None for a boolean grid, origin x, origin y, resolution), None
        #: until one arrives.
        self._processed: Optional[Tuple[np.ndarray, Optional[int], float, float, float]] = None

    @classmethod
    def from_bounds(cls, params: FusionParams,
                    bounds: Optional[Tuple[float, float, float, float]]) -> 'FusionCore':
        """Build from ``(min_x, min_y, max_x, max_y)`` plus margin, or the explicit params."""
        if bounds is None:
            return cls(params, params.map_origin_x, params.map_origin_y, params.map_width_m,
                       params.map_height_m)
        m = params.map_margin_m
        x0, y0, x1, y1 = bounds
        return cls(params, x0 - m, y0 - m, (x1 - x0) + 2 * m, (y1 - y0) + 2 * m)

    # -- input ------------------------------------------------------------------------------

    def add(self, dets: Iterable[Detection], stamp: float) -> None:
        """Fold raw sensor detections (``source`` 'gpr' or 'md') taken around ``stamp``."""
        p = self.params
        touched = []
        for d in dets:
            if not (math.isfinite(d.x) and math.isfinite(d.y) and math.isfinite(d.confidence)):
                continue
            self.detections_in += 1
            gain = p.gpr_hit_log_odds if d.source == 'gpr' else p.md_hit_log_odds
            size = max(p.footprint_sigma_m, d.radius if math.isfinite(d.radius) else 0.0)
            pose_sigma = d.sigma_xy if math.isfinite(d.sigma_xy) else 0.0
            if not self.grid.add_gaussian(d.x, d.y, math.hypot(size, pose_sigma),
                                          gain * d.confidence, stamp):
                self.detections_outside += 1
            touched.append(self._associate(d, stamp))
        for tid in touched:
            t = self.tracks.get(tid)
            if t is not None:
                self._classify(t, stamp)

    def set_processed(self, processed: np.ndarray, origin_x: float, origin_y: float,
                      resolution: float, processed_value: Optional[int] = None) -> None:
        """Take the mission's processed ground: a boolean grid (rows = y) from its origin
        corner at ``resolution``; a grid that is not 2-D or not finite is ignored.

        ``processed_value``: ``processed`` is an occupancy grid whose cells of this value are
        processed, kept as it is (not copied: only the few cells a track covers are ever
        compared, and a hectare's grid arrives every second), so the caller must not change
        it afterwards (the core host's grids are read-only).
        """
        cells = np.asarray(processed, dtype=bool) if processed_value is None \
            else np.asarray(processed)
        if cells.ndim != 2 or not cells.size or not all(
                math.isfinite(v) for v in (origin_x, origin_y, resolution)) or resolution <= 0:
            return
        self._processed = (cells, processed_value, float(origin_x), float(origin_y),
                           float(resolution))

    def flailed(self, t: Track) -> bool:
        """Whether the working flail has processed the ground over a track's top.

        The track's depth (the GPR's top, else the MD's) lies ``flailed_depth_margin_m``
        above the depth the record guarantees for processed ground (``working_depth_m -
        depth_tolerance_m``: the mission marks ground processed only with the tool at that
        depth), and every processed-ground cell within ``flailed_radius_m`` plus two sigma of
        the track's position is processed. False without processed ground or a depth.
        """
        p = self.params
        if self._processed is None or (t.depth_weight <= 0.0 and t.metal_weight <= 0.0):
            return False
        if t.depth > p.working_depth_m - p.depth_tolerance_m - p.flailed_depth_margin_m:
            return False
        cells, value, x0, y0, res = self._processed
        r = p.flailed_radius_m + 2.0 * math.sqrt(max(t.var, 0.0))
        i0, i1 = int(math.floor((t.x - r - x0) / res)), int(math.ceil((t.x + r - x0) / res))
        j0, j1 = int(math.floor((t.y - r - y0) / res)), int(math.ceil((t.y + r - y0) / res))
        h, w = cells.shape
        if i0 < 0 or j0 < 0 or i1 > w or j1 > h:
            return False
        cx = x0 + (np.arange(i0, i1) + 0.5) * res
        cy = y0 + (np.arange(j0, j1) + 0.5) * res
        near = (cx[None, :] - t.x) ** 2 + (cy[:, None] - t.y) ** 2 <= r * r
        under = cells[j0:j1, i0:i1][near]
        return bool((under if value is None else under == value).all())

    def _classify(self, t: Track, now: float) -> None:
        """Label a track (:func:`classify`) with what the ground under it has been through."""
        t.flailed = self.flailed(t)
        t.kind, t.confidence = classify(t, self.params, now, self.travel)

    def sweep(self, x: float, y: float, yaw: float, stamp: float) -> int:
        """Negative evidence: the vehicle is at ``(x, y, yaw)`` at ``stamp``.

        The boom (``sensor_width_m`` wide, ``sensor_offset_x_m`` ahead of base_link) moved
        from its previous position to this one; the cells whose centres lie in the band it
        swept, measured along its motion, are queued once. ``miss_delay_s`` later (the
        processors report an object up to a peak window behind the boom) every queued cell
        that no hit reached since the sweep loses ``miss_log_odds`` (:meth:`apply_misses`).
        A jump longer than the boom width (a relocalisation) is not counted as scanned.
        Returns the cells queued.
        """
        p = self.params
        if not (math.isfinite(x) and math.isfinite(y) and math.isfinite(yaw)):
            return 0
        bx = x + p.sensor_offset_x_m * math.cos(yaw)
        by = y + p.sensor_offset_x_m * math.sin(yaw)
        prev, self._boom = self._boom, (bx, by, yaw)
        self.apply_misses(stamp)
        if prev is None:
            return 0
        px, py, pyaw = prev
        step = math.hypot(bx - px, by - py)
        if step <= p.sensor_width_m:
            self._travel += step                # a longer jump is a relocalisation
        if p.miss_log_odds <= 0.0 or step <= 0.0 or step > p.sensor_width_m:
            return 0
        heading = math.atan2(by - py, bx - px)
        half = 0.5 * p.sensor_width_m
        g = self.grid
        # Across track measured against the boom's own orientation (it is across the
        # vehicle's heading, which differs from the motion direction only in a turn).
        mid = pyaw + 0.5 * math.remainder(yaw - pyaw, 2.0 * math.pi)
        ux, uy = math.cos(heading), math.sin(heading)
        nx, ny = -math.sin(mid), math.cos(mid)
        r = half + step
        x0, x1 = min(bx, px) - r, max(bx, px) + r
        y0, y1 = min(by, py) - r, max(by, py) + r
        # The band's own corners bound it more tightly (a boom moving along x sweeps a thin
        # strip, not a square): only cells no test could pass are left out of the tests.
        det = ux * ny - uy * nx
        if abs(det) > _MIN_BAND_DET:
            xs = [px + (ny * a - uy * c) / det for a in (0.0, step) for c in (-half, half)]
            ys = [py + (ux * c - nx * a) / det for a in (0.0, step) for c in (-half, half)]
            x0, x1 = max(x0, min(xs) - g.resolution), min(x1, max(xs) + g.resolution)
            y0, y1 = max(y0, min(ys) - g.resolution), min(y1, max(ys) + g.resolution)
        c0 = max(0, int(math.floor((x0 - g.origin_x) / g.resolution)))
        c1 = min(g.width, int(math.ceil((x1 - g.origin_x) / g.resolution)))
        r0 = max(0, int(math.floor((y0 - g.origin_y) / g.resolution)))
        r1 = min(g.height, int(math.ceil((y1 - g.origin_y) / g.resolution)))
        if c0 >= c1 or r0 >= r1:
            return 0
        dx = g.centres_x[c0:c1] - px
        dy = g.centres_y[r0:r1, None] - py
        along = dx * ux + dy * uy
        across = dx * nx + dy * ny
        swept = (along > 0.0) & (along <= step) & (np.abs(across) <= half)
        rows, cols = np.nonzero(swept)
        n = int(rows.size)
        if n:
            self._misses.append((stamp, rows + r0, cols + c0, (r0, r1, c0, c1)))
            self.cells_swept += n
        return n

    def apply_misses(self, now: float) -> None:
        """Lower the queued swept cells older than ``miss_delay_s`` that no hit reached."""
        p = self.params
        g = self.grid
        while self._misses and self._misses[0][0] <= now - p.miss_delay_s:
            t, rows, cols, box = self._misses.popleft()
            quiet = g.last_hit[rows, cols] < t - p.miss_delay_s
            rr, cc = rows[quiet], cols[quiet]
            g.cells[rr, cc] = np.maximum(g.cells[rr, cc] - p.miss_log_odds, -g.max_log_odds)
            if rr.size:
                g.touched(*box)         # the band's box holds every cell lowered

    def update(self, now: float) -> None:
        """Re-classify at ``now`` (a sensor's silence becomes evidence once it had its look).

        A track's class depends on ``now`` only through whether the sensors had their look
        (``look_s``) and the GPR its wait (``gpr_wait_s``), and every change of its evidence
        adds hits; a track whose hits, look and wait are those of its last classification
        here keeps that result (the same numbers, without recomputing hundreds of clutter
        tracks at every publication).
        """
        self.apply_misses(now)
        self._prune(now)
        p, wait = self.params, self.params.gpr_wait_s
        done = self._classified
        for t in self.tracks.values():
            # the flail passing over a track does not re-label it: that only lowers P(AT),
            # and a track not AT before it was flailed had no no-go zone to lift
            key = (t.hits, looked(t, p, now, self.travel), now - t.first_seen >= wait)
            if done.get(t.id) != key:
                self._classify(t, now)
                done[t.id] = key

    @property
    def travel(self) -> float:
        """The boom's odometer, m; infinite before the first sweep (motion unknown)."""
        return self._travel if self._boom is not None else math.inf

    # -- output -----------------------------------------------------------------------------

    def confirmed(self, t: Track) -> bool:
        """Return True when a track has enough evidence to be published."""
        return t.hits >= self.params.confirm_hits or t.max_conf >= self.params.confirm_confidence

    def fused(self) -> List[Detection]:
        """Return the confirmed tracks as fused detections, by id."""
        out = []
        for t in sorted(self.tracks.values(), key=lambda t: t.id):
            if not self.confirmed(t):
                continue
            radius = t.gpr_radius if t.gpr_hits and t.gpr_radius > 0.0 else 0.1
            if t.kind == DetectionKind.AT:
                radius = max(radius, _AT_MIN_RADIUS_M)
            out.append(Detection(x=t.x, y=t.y, depth=t.depth, confidence=float(t.confidence),
                                 kind=t.kind, source='fused', radius=radius, id=t.id,
                                 strength=t.metal_g, polarity=t.polarity, sigma_xy=t.sigma))
        return out

    def new_no_go(self, fused: Iterable[Detection]) -> List[Tuple[Detection, str]]:
        """The fused detections labelled AT or UXO for the first time, each with why (the
        rule and :func:`evidence`): a no-go zone is permanent, so its reason is worth a line
        in the log for the operator and the EOD team."""
        out = []
        for d in fused:
            if d.kind not in (DetectionKind.AT, DetectionKind.UXO) or d.id in self._no_go_said:
                continue
            self._no_go_said.add(d.id)
            t = self.tracks.get(d.id)
            if t is not None:
                out.append((d, f'{no_go_rule(t, self.params)}: {evidence(t)}'))
        return out

    # -- internals --------------------------------------------------------------------------

    def _key(self, x: float, y: float) -> Tuple[int, int]:
        r = self.params.max_gate_m
        return int(math.floor(x / r)), int(math.floor(y / r))

    def _near(self, x: float, y: float) -> List[Track]:
        kx, ky = self._key(x, y)
        out = []
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                out.extend(self.tracks[i] for i in self._hash.get((kx + dx, ky + dy), ()))
        return out

    def _hash_add(self, t: Track) -> None:
        self._hash.setdefault(self._key(t.x, t.y), []).append(t.id)

    def _hash_remove(self, t: Track) -> None:
        bucket = self._hash.get(self._key(t.x, t.y))
        if bucket and t.id in bucket:
            bucket.remove(t.id)

    def _gate2(self, var_a: float, var_b: float) -> float:
        """Squared association distance for two position variances (module docstring)."""
        p = self.params
        g2 = p.association_radius_m ** 2 + CHI2_2D_99 * (var_a + var_b)
        return min(g2, p.max_gate_m ** 2)

    def _apart_in_depth(self, depth: float, t: Track) -> bool:
        """Whether a GPR top at ``depth`` and track ``t``'s GPR top are two objects: both
        measured, more than ``association_depth_m`` apart (module docstring)."""
        return t.depth_weight > 0.0 and abs(depth - t.gpr_depth) > \
            self.params.association_depth_m

    def _same_look(self, d: Detection, t: Track) -> bool:
        """Whether a GPR report is another channel's of the look ``t`` is in (the gate is
        ``look_association_radius_m``, module docstring)."""
        p = self.params
        return (d.source == 'gpr' and t.gpr_hits > 0
                and self._travel - t.gpr_look_travel <= p.look_association_travel_m
                and math.isfinite(d.depth)
                and abs(d.depth - t.gpr_depth) <= p.look_association_depth_m
                and d.polarity * t.polarity >= 0)

    def _associate(self, d: Detection, stamp: float) -> int:
        var_d = d.sigma_xy ** 2 if math.isfinite(d.sigma_xy) else 0.0
        best, best_score = None, math.inf
        for t in self._near(d.x, d.y):
            if d.source == 'gpr' and math.isfinite(d.depth) and self._apart_in_depth(
                    d.depth, t):
                continue
            dist2 = (t.x - d.x) ** 2 + (t.y - d.y) ** 2
            gate2 = self._gate2(var_d, t.var)
            if self._same_look(d, t):
                gate2 = max(gate2, min(self.params.look_association_radius_m ** 2
                                       + CHI2_2D_99 * (var_d + t.var),
                                       self.params.max_gate_m ** 2))
            # Normalised distance: a track within a wider gate (poorer poses) is not
            # preferred over a closer one within a tight gate.
            score = dist2 / gate2
            if score <= 1.0 and score < best_score:
                best, best_score = t, score
        if best is None:
            best = Track(id=self._next_id, x=d.x, y=d.y, first_seen=stamp, last_seen=stamp,
                         travel0=self._travel,
                         weak_depth_excess_m=self.params.md_weak_depth_excess_m,
                         deep_report_depth_m=self.params.deep_reflector_depth_m
                         - self.params.deep_reflector_report_margin_m,
                         deep_report_min_top_m=self.params.deep_reflector_min_half_width_m)
            self._next_id += 1
            self.tracks[best.id] = best
        else:
            self._hash_remove(best)
        best.add(d, stamp, self.params.md_reliable_confidence,
                 self.params.gpr_confident_confidence, self._edge(d), self._travel,
                 self.params.gpr_look_gap_m, self.params.md_faint_confidence)
        # The track moved: merge any other track now within the gate into the older one.
        for other in self._near(best.x, best.y):
            if other.id != best.id and ((other.x - best.x) ** 2 + (other.y - best.y) ** 2
                                        <= self._gate2(other.var, best.var)) and not (
                    best.depth_weight > 0.0 and self._apart_in_depth(best.gpr_depth, other)):
                keep, gone = (best, other) if best.id < other.id else (other, best)
                self._hash_remove(gone)
                if gone is other:
                    keep.absorb(other, self.params.gpr_look_gap_m)
                else:
                    self._hash_remove(keep)
                    keep.absorb(best, self.params.gpr_look_gap_m)
                del self.tracks[gone.id]
                self._classified.pop(gone.id, None)
                best = keep
        self._hash_add(best)
        return best.id

    def _edge(self, d: Detection) -> bool:
        """Whether a GPR report lies in the boom's edge band: within ``gpr_edge_band_m`` of
        either end, across the boom's last heading (False when the boom is unknown)."""
        if self._boom is None or d.source != 'gpr':
            return False
        bx, by, yaw = self._boom
        across = abs(-(d.x - bx) * math.sin(yaw) + (d.y - by) * math.cos(yaw))
        return across > 0.5 * self.params.sensor_width_m - self.params.gpr_edge_band_m

    def stale_tentative(self, now: float) -> List[Track]:
        """The tentative tracks the update at ``now`` drops: never confirmed and not seen
        for ``tentative_timeout_s``."""
        timeout = self.params.tentative_timeout_s
        return [t for t in self.tracks.values()
                if not self.confirmed(t) and now - t.last_seen > timeout]

    def _prune(self, now: float) -> None:
        for t in self.stale_tentative(now):
            self._hash_remove(t)
            del self.tracks[t.id]
            self._classified.pop(t.id, None)
