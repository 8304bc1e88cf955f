"""bench/safety_latency.py: a few trials per trigger over DDS end with the JSON summary, and bad
arguments end with one line and exit code 2."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip('rclpy')

from bench import safety_latency  # noqa: E402


def test_bad_arguments_end_with_exit_code_2(capsys):
    assert safety_latency.main(['--triggers', 'meteor']) == 2
    assert "unknown trigger 'meteor'" in capsys.readouterr().err


@pytest.mark.dds
@pytest.mark.slow(seconds=5)
@pytest.mark.timeout(120)
def test_a_few_trials_per_trigger_print_the_summary_last():
    script = os.path.abspath(safety_latency.__file__)
    proc = subprocess.run([sys.executable, script, '--trials', '3'],
                          capture_output=True, text=True, timeout=110)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    for trigger in safety_latency.TRIGGERS:
        row = summary[trigger]
        assert row['trials'] == 3 and row['missed'] == 0
        assert 0.0 <= row['p50_ms'] <= row['p99_ms'] <= row['max_ms']
    # the staleness triggers are found by the 10 Hz gate: within a period and some transport
    assert summary['heartbeat']['max_ms'] < 250.0 and summary['stale_pose']['max_ms'] < 250.0
    assert summary['p99_ms'] is not None
