"""A few hundred hostile and broken inputs through the whole CLI (the ten-thousand run
is benchmarks/fuzz.py, recorded in docs/benchmarks.md)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from conftest import cli
from hostile import any_text, run_one


def _invoke(args):
    r = cli(*args)
    return r.code, r.stdout, r.stderr


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(any_text)
def test_any_text_ends_in_an_answer_or_one_error_line(tmp_cwd, text):
    run_one(_invoke, text)
