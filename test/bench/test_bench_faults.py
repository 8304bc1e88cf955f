"""bench/faults.py (named apart from test/demining_sim/test_faults.py: pytest imports test
files by basename): a scenario run at another seed is judged by its file's expectations and the
summary comes last; bad arguments end with one line and exit code 2."""

import json
import os
import subprocess
import sys

import pytest

from bench import faults


@pytest.mark.parametrize('argv, says', [
    (['--only', '^no_such_scenario$'], 'no scenario'),
    (['--seeds', '1,x'], 'bad --seeds'),
    (['--only', '('], 'bad --seeds or --only'),
    (['--workers', '0'], '--workers must be'),
])
def test_bad_arguments_end_with_exit_code_2(argv, says, capsys):
    assert faults.main(argv) == 2
    err = capsys.readouterr().err
    assert says in err and err.count('\n') == 1


@pytest.mark.slow(seconds=15)
@pytest.mark.timeout(180)
def test_a_scenario_at_two_other_seeds_ends_safe_with_the_summary_last(tmp_path):
    script = os.path.abspath(faults.__file__)
    proc = subprocess.run([sys.executable, script, '--only', '^garbage_messages$',
                           '--seeds', '5,6', '--workers', '2', '--out', str(tmp_path)],
                          capture_output=True, text=True, timeout=170)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary['scenarios'] == 1 and summary['seeds'] == [5, 6] and summary['runs'] == 2
    assert summary['ended_safe'] == 2 and not summary['missed'] and not summary['errors']
    assert sum('garbage_messages seed' in line for line in lines) == 2
    # each run kept its own files
    assert sorted(os.listdir(tmp_path)) == ['garbage_messages_s5', 'garbage_messages_s6']
