"""Error types and exit codes shared by the CLI and the node entry points."""

from demining_bringup.contract.parameters import ParamError
from demining_bringup.contract.world import WorldError

#: Exit code of a run that completed.
EXIT_OK = 0
#: Exit code of a mission that ended but did not complete (aborted, timed out).
EXIT_MISSION_FAILED = 1
#: Exit code of bad input: world, polygon, profile, parameter file (one-line error).
EXIT_CONFIG_ERROR = 2


class ConfigError(ValueError):
    """The stack description, a vehicle profile or a parameter file is unusable."""


class JournalError(ConfigError):
    """A mission journal is missing, corrupt, truncated, or not a mission journal."""


#: Everything that means "the configuration is wrong", not "the program is wrong".
CONFIG_ERRORS = (ParamError, WorldError, ConfigError)
