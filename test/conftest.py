"""Suite-wide test setup: DDS isolation for every test process."""

import itertools
import os

import pytest

# Localhost discovery keeps tests off the network and away from other machines' graphs.
os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
os.environ.setdefault('MPLBACKEND', 'Agg')

# Each pytest process (each pytest-xdist worker) owns one block of ten DDS domain ids, so two
# test processes on one machine never see each other. The worker's index is part of the block
# number, so the workers of one run never share a block whatever their pids; the pid spreads
# concurrent runs. Valid ids are 0..232: twenty blocks from 1.
_DOMAIN_BLOCKS = 20
_BLOCK_SIZE = 10
_WORKERS = max(1, min(_DOMAIN_BLOCKS, int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))))
_WORKER = int(os.environ.get('PYTEST_XDIST_WORKER', 'gw0').removeprefix('gw') or 0) % _WORKERS
_BLOCK = (os.getpid() % (_DOMAIN_BLOCKS // _WORKERS)) * _WORKERS + _WORKER
_DOMAIN_BASE = 1 + _BLOCK * _BLOCK_SIZE
# The block's last id is the process default: subprocesses a test starts without choosing a
# domain (``demine run`` over DDS) inherit it, so two workers' missions never cross-talk.
os.environ['ROS_DOMAIN_ID'] = str(_DOMAIN_BASE + _BLOCK_SIZE - 1)
_domains = itertools.count()
#: Expected seconds of a test marked ``slow`` without its own ``seconds``.
SLOW_DEFAULT_S = 10.0


def next_domain_id() -> int:
    """Return a domain id of this process's block that no other test process uses."""
    return _DOMAIN_BASE + next(_domains) % (_BLOCK_SIZE - 1)


@pytest.fixture
def ros_domain_id() -> int:
    """Return a ROS_DOMAIN_ID no other test in this run (or a concurrent run) uses."""
    return next_domain_id()


@pytest.fixture(scope='session')
def domain_ids():
    """Hand out fresh domain ids to fixtures wider than one test (module-scoped missions)."""
    return next_domain_id


@pytest.fixture
def ctx(ros_domain_id):
    """An own rclpy Context on this test's domain (DDS tests), shut down afterwards."""
    rclpy = pytest.importorskip('rclpy')
    from rclpy.context import Context
    c = Context()
    rclpy.init(context=c, domain_id=ros_domain_id)
    yield c
    rclpy.try_shutdown(context=c)


def _expected_s(item) -> float:
    """Seconds ``item`` is expected to take: its ``slow`` marker's ``seconds``, else 0."""
    mark = item.get_closest_marker('slow')
    return float(mark.kwargs.get('seconds', SLOW_DEFAULT_S)) if mark is not None else 0.0


def pytest_collection_modifyitems(config, items):
    """Run the longest modules first, keeping every module's own order.

    With pytest-xdist (``make test``) the whole-mission tests are handed out first, while
    the other workers still have the many short tests to run, instead of one of them
    running alone at the end of the suite.
    """
    cost: dict = {}
    for item in items:
        module = item.nodeid.split('::')[0]
        cost[module] = cost.get(module, 0.0) + _expected_s(item)
    items.sort(key=lambda item: -cost[item.nodeid.split('::')[0]])
