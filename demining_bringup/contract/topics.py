"""Topic and service names of the stack (the contract is docs/interfaces.md).

Names are relative, as Nav2's, so a node's namespace (the launch argument ``namespace``) puts a
whole stack under ``/<namespace>/...`` and two vehicles can share a network; docs/interfaces.md
lists them resolved without a namespace (``cmd_vel`` is ``/cmd_vel``). ``/clock`` and
``/diagnostics`` stay absolute: ROS time and the diagnostics aggregator are shared by design.
Nodes take names from here instead of spelling them inline.
"""

CLOCK = '/clock'
ODOM_TRACKS = 'odom/tracks'
GNSS_FIX = 'gnss/fix'
IMU = 'imu/data'
GPR_TRACES = 'gpr/traces'
MD_COILS = 'metal_detector/coils'
TOOL_JOINT_STATES = 'tool/joint_states'
SIM_EVENTS = 'sim/events'
GROUND_TRUTH = 'sim/ground_truth/odometry'
LOCALIZATION = 'localization/odometry'
GPR_DETECTIONS = 'gpr/detections'
#: The soil permittivity the GPR processor uses and its estimate (std_msgs/String JSON,
#: latched, on change): it sets every GPR depth, so the record keeps it.
GPR_PERMITTIVITY = 'gpr/soil_permittivity'
MD_DETECTIONS = 'metal_detector/detections'
DETECTIONS = 'detections'
DETECTION_MARKERS = 'detections/markers'
MINE_MAP = 'mine_map'
COVERAGE_PATH = 'coverage/path'
COVERAGE_STATUS = 'coverage/status'
FOLLOWER_STATUS = 'follower/status'
#: How the follower drives the current leg (tool down on work legs only).
FOLLOWER_LEG = 'follower/leg'
#: The tool controller's forward speed limit (required depth and strike density), m/s.
TOOL_SPEED_LIMIT = 'tool/speed_limit'
#: Measured minus required tool depth below the local ground while working, m.
TOOL_DEPTH_ERROR = 'tool/depth_error'
#: The tool controller's stalls, recoveries and lost feedback (for the record).
TOOL_EVENTS = 'tool/events'
CMD_VEL_AUTO = 'cmd_vel/auto'
TOOL_COMMAND_AUTO = 'tool/command/auto'
CMD_VEL = 'cmd_vel'
TOOL_COMMAND = 'tool/command'
OPERATOR_HEARTBEAT = 'operator/heartbeat'
OPERATOR_ESTOP = 'operator/estop'
#: Operator teleop (hold-to-run with the deadman switch) and the pause lock, into the mux.
CMD_VEL_TELEOP = 'cmd_vel/teleop'
OPERATOR_DEADMAN = 'operator/deadman'
OPERATOR_PAUSE = 'operator/pause'
#: The command mux's choice (into the safety supervisor) and which input it comes from.
CMD_VEL_MUX = 'cmd_vel/mux'
CMD_VEL_SOURCE = 'cmd_vel/mux/source'
SAFETY_STATE = 'safety/state'
SAFETY_EVENTS = 'safety/events'
SAFETY_INSPECTION_ACK = 'safety/inspection_ack'
SIM_ACTORS = 'sim/actors'
PEOPLE_DETECTIONS = 'people/detections'
PEOPLE_ZONE = 'safety/people_zone'
MISSION_STATE = 'mission/state'
MISSION_PROGRESS = 'mission/progress'
MISSION_REPORT = 'mission/report'
COVERAGE_PROCESSED = 'coverage/processed'
#: A processed cell's value on /coverage/processed (nav_msgs/OccupancyGrid: 0 unprocessed).
PROCESSED_VALUE = 100
DIAGNOSTICS = '/diagnostics'

# Services
SAFETY_RESET = 'safety/reset'
SAFETY_RESUME = 'safety/resume'
MISSION_START = 'mission/start'
MISSION_ABORT = 'mission/abort'

#: Every topic of the contract, and every service.
TOPICS = (CLOCK, ODOM_TRACKS, GNSS_FIX, IMU, GPR_TRACES, MD_COILS, TOOL_JOINT_STATES, SIM_EVENTS,
          GROUND_TRUTH, LOCALIZATION, GPR_DETECTIONS, GPR_PERMITTIVITY, MD_DETECTIONS,
          DETECTIONS,
          DETECTION_MARKERS, MINE_MAP, COVERAGE_PATH, FOLLOWER_STATUS, CMD_VEL_AUTO,
          TOOL_COMMAND_AUTO, CMD_VEL, TOOL_COMMAND, OPERATOR_HEARTBEAT, OPERATOR_ESTOP,
          SAFETY_STATE, SAFETY_EVENTS, MISSION_STATE, MISSION_PROGRESS, MISSION_REPORT,
          COVERAGE_PROCESSED, DIAGNOSTICS, SAFETY_INSPECTION_ACK, SIM_ACTORS,
          PEOPLE_DETECTIONS, PEOPLE_ZONE, COVERAGE_STATUS, CMD_VEL_TELEOP, OPERATOR_DEADMAN,
          OPERATOR_PAUSE, CMD_VEL_MUX, CMD_VEL_SOURCE, FOLLOWER_LEG, TOOL_SPEED_LIMIT,
          TOOL_DEPTH_ERROR, TOOL_EVENTS)
SERVICES = (SAFETY_RESET, MISSION_START, MISSION_ABORT, SAFETY_RESUME)

# Frames (REP-105)
MAP_FRAME = 'map'
ODOM_FRAME = 'odom'
BASE_FRAME = 'base_link'
GNSS_FRAME = 'gnss_link'
IMU_FRAME = 'imu_link'

# Joint names of the tool (docs/interfaces.md, "Tool joints")
FLAIL_JOINT = 'flail_rotor'
TILLER_JOINT = 'tiller_rotor'
DEPTH_JOINT = 'tool_depth'
#: The depth arm's extension below the plane the tracks stand on (its position sensor);
#: optional in /tool/joint_states.
ARM_JOINT = 'tool_arm'


def resolved(name: str, namespace: str = '') -> str:
    """The fully qualified name of ``name`` in ``namespace`` (absolute names stay as they are).

    ``resolved('cmd_vel')`` is ``'/cmd_vel'``; ``resolved('cmd_vel', 'robot1')`` is
    ``'/robot1/cmd_vel'``; ``resolved('/clock', 'robot1')`` is ``'/clock'``.
    """
    if name.startswith('/'):
        return name
    ns = namespace.strip('/')
    return f'/{ns}/{name}' if ns else f'/{name}'
