"""Parameters shared by several nodes, declared once (the profile's ``/**`` section).

Each function returns a :func:`demining_bringup.contract.parameters.param` field, so every
schema that needs, say, the tool width declares it with the same default, description and
range: a value one node accepts can never be refused by another.
"""

from __future__ import annotations

from typing import Any

from demining_bringup.contract.parameters import param


def area_file() -> Any:
    """World SDF or GeoJSON hazard area: field polygon, exclusions, geographic origin."""
    return param('', 'world SDF or GeoJSON hazard area (field, exclusion zones, WGS84 origin)',
                 read_only=True)


def resume_dir() -> Any:
    """Run folder of a crashed mission to continue from its journal ('' for a new mission)."""
    return param('', "run folder of an interrupted mission to resume from its journal "
                 "('' for a new mission)", read_only=True)


def tool_width_m() -> Any:
    """Width processed by the flail (docs/sources.md: 1.7-2.2 m)."""
    return param(2.0, 'width processed by the flail, m (docs/sources.md: 1.7-2.2)', min=0.2,
                 max=10.0)


def corner_angle_rad() -> Any:
    """Heading change that makes a path waypoint a corner: the follower stops and pivots there
    (the coverage planner counts the ground such a pivot sweeps)."""
    return param(0.35, 'a heading change above this makes a waypoint a corner (stop and '
                 'pivot), rad', min=0.01, max=3.1)


def pivot_threshold_rad() -> Any:
    """Heading error above which the path follower pivots in place; below it, it steers onto
    the path driving (an arc). The coverage planner's ways out of a zone's reach turn at least
    this much more than :data:`PIVOT_MARGIN_RAD`, so that they are pivots."""
    return param(0.5, 'heading error that starts a pivot in place (below: an arc), rad',
                 min=0.05, max=3.1)


#: A planned pivot turns at least this much beyond ``pivot_threshold_rad`` (the pose's heading
#: noise must not make it an arc), rad.
PIVOT_MARGIN_RAD = 0.15


def reverse_turn_rad() -> Any:
    """Turn sharper than this: the path retraces itself and is driven in reverse, no pivot."""
    return param(2.8, 'a turn sharper than this (the path retraces itself) is driven in '
                 'reverse instead of pivoting, rad', min=1.6, max=3.1416)


def tool_offset_x_m() -> Any:
    """Tool centre ahead of base_link."""
    return param(2.6, 'tool centre ahead of base_link, m', min=0.0, max=20.0)


def motion_check_min_speed_mps() -> Any:
    """Commanded speed above which the safety supervisor judges track slip; the tool
    controller's slower pass over a suspect never commands less, so slip stays judged."""
    return param(0.15, 'slip is judged only above this commanded |v| (below it the GNSS speed '
                 'over ground is too noisy to tell slip from standing); a slower pass over a '
                 'suspect is held at it, m/s', min=0.0, max=10.0)


def working_depth_m() -> Any:
    """Required processing depth (IMAS 09.50: national standards often ask 15 cm)."""
    return param(0.15, 'required processing depth, m (IMAS 09.50 national standards often ask '
                 '15 cm)', min=0.0, max=1.0)


def working_speed_mps() -> Any:
    """Forward speed while processing (Juneja 2016, docs/sources.md: 0.3-1.5 km/h)."""
    return param(0.4, 'speed on work legs, m/s (docs/sources.md: 0.3-1.5 km/h)', min=0.01, max=5.0)


def flail_speed_radps() -> Any:
    """Flail rotor target speed: 800 rpm (docs/sources.md: flail rotors turn 400-900 rpm)."""
    return param(83.8, 'flail rotor target speed, rad/s (800 rpm; docs/sources.md)', min=0.0,
                 max=200.0)


def ready_speed_fraction() -> Any:
    """Share of the target rotor speed at which the flail counts as at speed."""
    return param(0.9, 'the flail is at speed above this fraction of its target speed',
                 min=0.1, max=1.0)


def depth_tolerance_m() -> Any:
    """How close to the working depth the tool counts as at depth."""
    return param(0.02, 'the tool is at depth within this of the working depth, m', min=0.001,
                 max=0.2)


def no_go_margin_m() -> Any:
    """Margin around a detected AT mine or UXO that nothing of the machine may enter."""
    return param(1.0, 'no-go margin around a detected AT mine or UXO (anti-handling devices, AP '
                 'mines laid beside AT mines: docs/sources.md), m', min=0.0, max=20.0)


def hazard_track_margin_m() -> Any:
    """Margin around a detected suspect (AP or unknown) that the tracks may not press before
    the tool has processed it."""
    return param(0.25, 'margin around a detected AP or unknown track (its estimated radius and '
                 'two sigmas of its position) that the tracks may not press on unprocessed '
                 'ground (the fused position\'s error: median 0.05 m in bench/perception.py, '
                 'more for a look at the boom\'s edge), m', min=0.0, max=5.0)


def keep_out_horizon_s() -> Any:
    """Time over which the safety supervisor places a motion command's footprint to judge it
    against keep-out zones; the path follower slows so that a command held that long does not
    overrun its next stop (a corner, the path's end)."""
    return param(2.0, 'a command is refused when the footprint it would sweep within this time '
                 'enters a no-go or exclusion zone; the path follower slows so that this long '
                 'at its speed ends at its next stop, s', min=0.1, max=10.0)


def exclusion_clearance_m() -> Any:
    """Distance the tool keeps from exclusion and no-go zones (the planner's clearance)."""
    return param(0.5, 'distance kept between tool and exclusion zones, m', min=0.0, max=10.0)


def allowed_ground_tolerance_m() -> Any:
    """How far a track may overlap ground not known allowed (the supervisor's check; the
    planner judges the tool line's ends with the same inset)."""
    return param(0.15, 'a track may overlap ground not known allowed by this much (raster, '
                 'localisation), m', min=0.0, max=1.0)


def footprint_rear_m() -> Any:
    """The machine's footprint behind base_link (hull)."""
    return param(3.0, 'machine footprint behind base_link (hull), m', min=0.0, max=20.0)


def footprint_front_m() -> Any:
    """The machine's footprint ahead of base_link (the flail and its hammers)."""
    return param(3.3, 'machine footprint ahead of base_link (the flail with its hammers), m',
                 min=0.0, max=20.0)


def footprint_half_width_m() -> Any:
    """Half the machine's footprint width (hull, flail)."""
    return param(1.1, 'half the machine footprint width (hull, flail), m', min=0.1, max=10.0)


def track_gauge_m() -> Any:
    """Track centre-to-centre distance."""
    return param(1.6, 'track centre-to-centre distance, m', min=0.3, max=5.0)


def track_width_m() -> Any:
    """Width of one track."""
    return param(0.35, 'width of one track, m', min=0.05, max=2.0)


def track_length_m() -> Any:
    """Ground contact length of a track, centred on base_link."""
    return param(4.0, 'ground contact length of a track (centred on base_link), m', min=0.5,
                 max=20.0)


def no_progress_abort_s() -> Any:
    """The mission manager's no-progress watchdog (the coverage planner ends its second pass
    over the suspects before it)."""
    return param(1800.0, 'abort when no new ground is processed for this long while clearing '
                 '(longer than the longest transit), s', min=1.0, max=604800.0)


def geofence_margin_m() -> Any:
    """How far the machine may go beyond allowed ground (field, declared safe ground)."""
    return param(10.0, 'the geofence is the field and the declared safe ground (approach lanes, '
                 'safe areas, safe margin) grown by this, m: localisation noise at the start '
                 'and lane ends; a plan that leaves it is refused', min=0.0, max=1000.0)


def sensor_offset_x_m() -> Any:
    """Centre of the GPR/MD boom ahead of base_link (the sensors go first)."""
    return param(4.0, 'GPR/MD boom centre ahead of base_link, m', min=0.0, max=20.0)


def sensor_width_m() -> Any:
    """Width covered by the GPR/MD arrays; at least the tracks' span (the shipped carrier's
    reaches 0.625 m past each track: docs/architecture.md, "Vehicle concept")."""
    return param(2.0, 'width covered by the GPR/MD arrays, m', min=0.1, max=10.0)


# --- The tool-soil relation: calibration figures shared by the simulator (the truth) and the
# tool controller (speed governing, load feedforward), declared once here
# (demining_bringup/contract/tool_physics.py; docs/sources.md, "Tool-soil-mine physics").

def tiller_speed_radps() -> Any:
    """Tiller rotor target speed (0: the machine has no tiller)."""
    return param(0.0, 'tiller rotor target speed, rad/s (0: no tiller; docs/sources.md)',
                 min=0.0, max=200.0)


def flail_hammers() -> Any:
    """Hammers (chains) on the flail rotor (DOK-ING MV-4: 34)."""
    return param(34, 'Hammers (chains) on the flail rotor (DOK-ING MV-4: 34)', min=1, max=500)


def tiller_teeth() -> Any:
    """Teeth on the tiller drum."""
    return param(60, 'Teeth on the tiller drum (our estimate)', min=1, max=1000)


def flail_reference_depth_m() -> Any:
    """Depth the reference flail reaches in loam at the reference speed (Juneja 2016)."""
    return param(0.2, 'Depth the reference flail reaches in loam at the reference speed, m '
                 '(Juneja 2016: 200 mm at 0.5 km/h)', min=0.01, max=1.0)


def flail_reference_speed_mps() -> Any:
    """Forward speed of the reference depth (Juneja 2016: 0.5 km/h)."""
    return param(0.5 / 3.6, 'Forward speed of the reference depth, m/s (Juneja 2016: 0.5 km/h)',
                 min=0.01, max=5.0)


def flail_reference_rpm() -> Any:
    """Rotor speed of the reference flail (MV-4 up to 900 rpm)."""
    return param(800.0, 'Rotor speed of the reference flail, rpm (the profile\'s working '
                 'speed; MV-4 up to 900 rpm)', min=10.0, max=3000.0)


def flail_reference_width_m() -> Any:
    """Width of the reference flail (MV-4 class: 2.0 m)."""
    return param(2.0, 'Width of the reference flail, m', min=0.1, max=10.0)


def flail_reference_hammers() -> Any:
    """Hammers of the reference flail (MV-4: 34)."""
    return param(34, 'Hammers of the reference flail (MV-4)', min=1, max=500)


def flail_depth_exponent() -> Any:
    """Exponent of the effective depth on the strike density (1: energy balance)."""
    return param(1.0, 'Exponent of the effective depth on the strike density (1: each strike '
                 'loosens a fixed soil volume)', min=0.1, max=3.0)


def flail_soil_torque_nm_per_m() -> Any:
    """Flail soil load per metre of depth at standstill in loam (calibration, our estimate)."""
    return param(10000.0, 'Flail soil load per metre of depth at standstill in loam, N m/m '
                 '(the drive\'s calibration; our estimate)', min=0.0, max=1e6)


def tiller_soil_torque_nm_per_m() -> Any:
    """Tiller soil load per metre of depth at standstill in loam (calibration, our estimate)."""
    return param(30000.0, 'Tiller soil load per metre of depth at standstill in loam, N m/m '
                 '(the drive\'s calibration; our estimate)', min=0.0, max=1e7)


def soil_speed_factor_per_mps() -> Any:
    """Relative rise of the soil load per m/s of ground speed (more soil cut per second)."""
    return param(1.5, 'Relative rise of the soil load per m/s of ground speed', min=0.0,
                 max=20.0)


def flail_viscous_nms() -> Any:
    """Flail bearing and air drag per rad/s."""
    return param(5.0, 'Flail drag, N m per rad/s', min=0.0, max=1000.0)


def tiller_viscous_nms() -> Any:
    """Tiller bearing drag per rad/s."""
    return param(20.0, 'Tiller drag, N m per rad/s', min=0.0, max=1e4)


def flail_max_torque_nm() -> Any:
    """Hydraulic drive torque limit of the flail (pressure relief)."""
    return param(6000.0, 'Hydraulic drive torque limit of the flail, N m', min=10.0,
                 max=100000.0)


def tiller_max_torque_nm() -> Any:
    """Hydraulic drive torque limit of the tiller (pressure relief)."""
    return param(15000.0, 'Hydraulic drive torque limit of the tiller, N m', min=10.0, max=1e6)


def flail_speed_gain_nms() -> Any:
    """Stiffness of the flail drive's own speed loop (torque per rad/s of droop)."""
    return param(2000.0, 'Flail drive speed-loop gain (torque per rad/s of droop), N m s',
                 min=1.0, max=100000.0)


def tiller_speed_gain_nms() -> Any:
    """Stiffness of the tiller drive's own speed loop (torque per rad/s of droop)."""
    return param(5000.0, 'Tiller drive speed-loop gain (torque per rad/s of droop), N m s',
                 min=1.0, max=1e6)


def tool_lift_rate_mps() -> Any:
    """Rate of the tool's depth actuator (the arm), both ways."""
    return param(0.1, 'Rate at which the tool depth (the arm) follows the command, m/s',
                 min=0.001, max=2.0)


def flail_reversible() -> Any:
    """Whether the flail drive can run backwards (chains wrap round the drum: usually not)."""
    return param(False, 'the flail drive can run backwards (chains wrap: usually not)')


def tiller_reversible() -> Any:
    """Whether the tiller drive can run backwards (a reversing valve on its hydraulic motor)."""
    return param(True, 'the tiller drive can run backwards (hydraulic motor with a reversing '
                 'valve)')
