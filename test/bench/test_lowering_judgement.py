"""bench/lowering_judgement.py: lowerings judged again on a field driven off its plan."""

import json

from bench import lowering_judgement as lj


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_driven_on_its_plan_no_lowering_needs_a_back_up(capsys):
    assert lj.main(['--quick', '--offset', '0']) == 0
    out = _last_json(capsys)
    assert out['lowerings_judged'] > 10 and out['back_ups_added'] == 0
    assert out['blind_lowerings_left'] == 0 and 0.0 < out['p50_ms'] <= out['max_ms']


def test_driven_off_its_plan_the_lowerings_the_boom_missed_back_up(capsys):
    assert lj.main(['--quick', '--offset', '-0.3']) == 0
    out = _last_json(capsys)
    assert out['back_ups_added'] > 0 and out['poses'] > 0


def test_a_bad_field_is_one_error_line_and_exit_2(capsys):
    assert lj.main(['--width', '-5']) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('error:')
