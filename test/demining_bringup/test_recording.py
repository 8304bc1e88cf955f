"""Recordings (recording.py): MCAP files in the rosbag2 layout that the mcap readers decode."""

import collections
import os
import subprocess
import sys

import pytest

pytest.importorskip('rclpy')
pytest.importorskip('mcap_ros2')

from mcap.reader import make_reader  # noqa: E402
from mcap_ros2.decoder import DecoderFactory  # noqa: E402

from demining_bringup import stack as st  # noqa: E402
from demining_bringup.contract.wire import wires  # noqa: E402
from demining_bringup.deterministic_runner import hosted  # noqa: E402
from demining_bringup.hosts.deterministic import DeterministicHost  # noqa: E402
from demining_bringup.recording import RECORDING_FILE, McapRecorder, msgdef  # noqa: E402

#: Simulated seconds of the in-process recording.
_SIM_S = 5.0


def _decode_all(path):
    with open(path, 'rb') as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        assert reader.get_header().profile == 'ros2'
        summary = reader.get_summary()
        decoded = collections.Counter(ch.topic for _, ch, _, _ in
                                      reader.iter_decoded_messages())
    counts = {summary.channels[c].topic: n
              for c, n in summary.statistics.channel_message_counts.items()}
    return summary, counts, decoded


def test_every_message_type_of_the_contract_round_trips(tmp_path):
    w = wires()
    path = str(tmp_path / 'all.mcap')
    rec = McapRecorder(path)
    for k, topic in enumerate(w.topics()):
        rec.write_message(topic, w[topic].msg_type(), float(k))
    rec.close()
    summary, counts, decoded = _decode_all(path)
    assert set(counts) == {'/' + t.lstrip('/') for t in w.topics()}
    assert decoded == counts                    # the ros2msg schemas parse, the CDR decodes
    assert all(s.encoding == 'ros2msg' for s in summary.schemas.values())
    assert all(c.message_encoding == 'cdr' for c in summary.channels.values())


def test_a_msgdef_lists_each_dependency_once():
    from nav_msgs.msg import Odometry
    text = msgdef(Odometry)
    assert text.startswith('std_msgs/Header header\n')
    assert text.count('MSG: std_msgs/Header') == 1 and 'float64[36] covariance' in text
    assert 'double' not in text


def test_the_deterministic_host_records_every_message_it_emits(tmp_path):
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {'world': 'training_field',
                                       'run_dir': str(tmp_path / 'run')})
    host = DeterministicHost(hosted(st.resolve_stack(desc, args,
                                                     st.load_profile(args['profile']))))
    rec = McapRecorder(str(tmp_path / RECORDING_FILE))
    host.record_with(rec.write_message)
    host.startup()
    try:
        host.run(lambda: host.now >= _SIM_S)
    finally:
        host.shutdown()
        rec.close()
    _, counts, decoded = _decode_all(str(tmp_path / RECORDING_FILE))
    emitted = {'/' + t.lstrip('/'): n for t, n in host.emitted.items()}
    assert counts == emitted and decoded == counts
    for topic in ('/localization/odometry', '/cmd_vel', '/gpr/traces', '/mission/state',
                  '/coverage/path', '/safety/events'):
        assert counts.get(topic, 0) > 0, topic
    assert os.stat(tmp_path / RECORDING_FILE).st_mode & 0o777 == 0o644


@pytest.mark.slow(seconds=35)
@pytest.mark.timeout(180)
def test_demine_run_record_writes_a_readable_mcap(tmp_path):
    run_dir = tmp_path / 'run'
    proc = subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'run', '--backend',
                           'core', '--record', '--timeout', '8', '--run-dir', str(run_dir)],
                          capture_output=True, text=True, timeout=150)
    assert proc.returncode == 1, proc.stderr             # aborted by the timeout
    assert 'recording mission.mcap:' in proc.stdout and 'per simulated second' in proc.stdout
    _, counts, decoded = _decode_all(str(run_dir / RECORDING_FILE))
    assert len(counts) >= 25 and decoded == counts
    assert counts['/mission/report'] == 1
    # the coverage image redrawn from what the topics carried
    redraw = subprocess.run([sys.executable, '-m', 'demining_bringup.cli', 'report',
                             str(run_dir), '--from-recording', str(run_dir / RECORDING_FILE)],
                            capture_output=True, text=True, timeout=120)
    assert redraw.returncode == 0, redraw.stderr
    assert 'localization/odometry' in redraw.stdout
    assert (run_dir / 'coverage_from_recording.png').stat().st_size > 10_000
    assert (run_dir / 'mine_map_from_recording.png').stat().st_size > 10_000
    # the journal's own mine map is drawn too
    assert (run_dir / 'mine_map.png').stat().st_size > 10_000


def _string_recording(path, n=3000):
    from std_msgs.msg import String
    rec = McapRecorder(str(path))
    for k in range(n):                    # ~3 MB before compression: several 1 MB chunks
        rec.write_message('/mission/state', String(data=f'{k:06d}' + 'x' * 1000), 0.1 * k)
    rec.close()


def test_a_recording_cut_off_by_a_kill_is_read_to_its_last_whole_chunk(tmp_path):
    from demining_bringup.recording import iter_recording, read_recording, topic_counts
    path = tmp_path / RECORDING_FILE
    _string_recording(path)
    assert topic_counts(str(path)) == {'/mission/state': 3000}
    data = path.read_bytes()
    cut = tmp_path / 'cut.mcap'
    cut.write_bytes(data[:int(0.6 * len(data))])      # no summary, ends inside a chunk
    n = topic_counts(str(cut))['/mission/state']
    assert 0 < n < 3000
    # what survives is the beginning of the mission, in order, nothing invented
    seqs = [int(bytes(m.data)[8:14]) for _, m in iter_recording(str(cut))]
    assert seqs == list(range(n))
    # and read_recording decodes it as a subscriber would (these strings are no state)
    assert read_recording(str(cut), ('mission/state',)) == {'mission/state': []}


@pytest.mark.parametrize('content', [b'', b'{"type": "FeatureCollection"}', b'\x89MCAP0\r'])
def test_a_file_that_is_no_recording_is_a_config_error(tmp_path, content):
    from demining_bringup.contract.errors import ConfigError
    from demining_bringup.recording import topic_counts
    path = tmp_path / 'bad.mcap'
    path.write_bytes(content)
    with pytest.raises(ConfigError, match='not a readable MCAP recording'):
        topic_counts(str(path))


def test_the_foxglove_layout_shows_topics_of_the_contract():
    import json
    import re
    path = os.path.join(st.share_dir(), 'config', 'foxglove_layout.json')
    layout = json.load(open(path, encoding='utf-8'))
    text = json.dumps(layout['configById'])
    named = set(re.findall(r'"(/[a-z_/]+?)(?:\.data)?"', text))
    contract = {'/' + t.lstrip('/') for t in wires().topics()}
    assert named and named <= contract, named - contract
    for topic in ('/mine_map', '/coverage/path', '/detections/markers', '/safety/state',
                  '/coverage/processed'):
        assert topic in named, topic
