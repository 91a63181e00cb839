"""A few hundred hostile and broken inputs through the whole CLI (the ten-thousand run
is benchmarks/fuzz.py, recorded in docs/benchmarks.md)."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from conftest import cli
from hostile import any_text, point_args, run_one, valid


def _invoke(args):
    r = cli(*args)
    return r.code, r.stdout, r.stderr


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(any_text)
def test_any_text_ends_in_an_answer_or_one_error_line(tmp_cwd, text):
    run_one(_invoke, text)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(valid)
def test_random_expressions_through_check_and_symbolic(tmp_cwd, text):
    """The symbolic worker and the check on random valid expressions: an answer whose
    every number is ok or not checkable (never a false disagreement), or one error."""
    run = cli("grad", text, *point_args(text), "--check", "--symbolic",
              "--symbolic-timeout", "5", "--format", "json")
    assert "Traceback" not in run.stderr, run
    if run.code == 2:
        assert run.stdout == "" and run.stderr.count("\n") == 1, run
        assert run.stderr.startswith("error: "), run
        return
    assert run.code == 0, (text, run)
    doc = json.loads(run.stdout)
    verdicts = [c["verdict"] for item in doc["results"] for c in item["check"]]
    assert set(verdicts) <= {"ok", "not checkable"}, (text, doc["results"])
    assert doc["check"]["ok"] == verdicts.count("ok")
