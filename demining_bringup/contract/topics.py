"""Topic and service names of the stack (the contract is docs/interfaces.md).

Names are relative-free absolute names so a namespace can be added with remapping; nodes take
them from here instead of spelling them inline.
"""

CLOCK = '/clock'
ODOM_TRACKS = '/odom/tracks'
GNSS_FIX = '/gnss/fix'
IMU = '/imu/data'
GPR_TRACES = '/gpr/traces'
MD_COILS = '/metal_detector/coils'
TOOL_JOINT_STATES = '/tool/joint_states'
SIM_EVENTS = '/sim/events'
GROUND_TRUTH = '/sim/ground_truth/odometry'
LOCALIZATION = '/localization/odometry'
GPR_DETECTIONS = '/gpr/detections'
MD_DETECTIONS = '/metal_detector/detections'
DETECTIONS = '/detections'
DETECTION_MARKERS = '/detections/markers'
MINE_MAP = '/mine_map'
COVERAGE_PATH = '/coverage/path'
FOLLOWER_STATUS = '/follower/status'
CMD_VEL_AUTO = '/cmd_vel/auto'
TOOL_COMMAND_AUTO = '/tool/command/auto'
CMD_VEL = '/cmd_vel'
TOOL_COMMAND = '/tool/command'
OPERATOR_HEARTBEAT = '/operator/heartbeat'
OPERATOR_ESTOP = '/operator/estop'
SAFETY_STATE = '/safety/state'
SAFETY_EVENTS = '/safety/events'
MISSION_STATE = '/mission/state'
MISSION_PROGRESS = '/mission/progress'
MISSION_REPORT = '/mission/report'
COVERAGE_PROCESSED = '/coverage/processed'
DIAGNOSTICS = '/diagnostics'

# Services
SAFETY_RESET = '/safety/reset'
MISSION_START = '/mission/start'
MISSION_ABORT = '/mission/abort'

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
