"""Suite-wide test setup: DDS isolation for every test process."""

import itertools
import os

import pytest

# Localhost discovery keeps tests off the network and away from other machines' graphs.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('MPLBACKEND', 'Agg')

# Each pytest process gets its own block of domain ids (a process-unique base), so two test
# runs on one machine never see each other. Valid DDS domain ids are 0..232.
_DOMAIN_BASE = 1 + (os.getpid() % 20) * 10
_domains = itertools.count()


@pytest.fixture
def ros_domain_id() -> int:
    """Return a ROS_DOMAIN_ID no other test in this run (or a concurrent run) uses."""
    return _DOMAIN_BASE + next(_domains) % 10


@pytest.fixture
def ctx(ros_domain_id):
    """An own rclpy Context on this test's domain (DDS tests), shut down afterwards."""
    rclpy = pytest.importorskip('rclpy')
    from rclpy.context import Context
    c = Context()
    rclpy.init(context=c, domain_id=ros_domain_id)
    yield c
    rclpy.try_shutdown(context=c)
