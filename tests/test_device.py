"""The choice of device is a pure function of the work: points and small batches on the
CPU (the measured cases of issue 13), an accelerator only where the work is large."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from autodx.device import (GPU_FIXED_SECONDS, Device, Kind, Work, choose, cpu_seconds,
                           ops_per_row, platforms)
from autodx.errors import InputError

# the measurements of issue 13, where the CPU won on a machine with an H100
HEADLINE = Work(rows=1, kind=Kind.taylor, order=3, nodes=10)
PEREX_1M = Work(rows=1_000_000, kind=Kind.linear, size=2, nodes=10)


@pytest.mark.parametrize("work", [HEADLINE, PEREX_1M, Work(rows=1, order=50, nodes=200),
                                  Work(rows=100, kind=Kind.hessian, size=30)])
def test_points_and_small_batches_stay_on_the_cpu_with_a_gpu_at_hand(work):
    assert choose(Device.auto, work, gpu_available=True) is Device.cpu


@pytest.mark.parametrize("work", [Work(rows=1_000_000, order=40, nodes=50),
                                  Work(rows=100_000, kind=Kind.tensor, order=3, size=20,
                                       nodes=30)])
def test_large_work_goes_to_the_gpu_when_there_is_one(work):
    assert choose(Device.auto, work, gpu_available=True) is Device.gpu
    assert choose(Device.auto, work, gpu_available=False) is Device.cpu


def test_the_option_overrides_the_choice():
    big = Work(rows=10 ** 7, order=40, nodes=50)
    assert choose(Device.cpu, big, gpu_available=True) is Device.cpu
    assert choose(Device.gpu, HEADLINE, gpu_available=True) is Device.gpu


def test_gpu_asked_for_without_one_is_one_clear_error():
    with pytest.raises(InputError, match="--device gpu.*--device cpu"):
        choose(Device.gpu, HEADLINE, gpu_available=False)


def test_the_choice_grows_with_the_work_and_switches_once():
    choices = [choose(Device.auto, Work(rows=10 ** e, order=20, nodes=40), True)
               for e in range(9)]
    first = choices.index(Device.gpu)
    assert set(choices[:first]) == {Device.cpu} and set(choices[first:]) == {Device.gpu}
    switch = Work(rows=10 ** first, order=20, nodes=40)
    assert cpu_seconds(switch) >= GPU_FIXED_SECONDS


def test_the_model_counts_what_each_command_does():
    assert ops_per_row(Work(1, Kind.taylor, order=3, nodes=1)) == 16
    assert ops_per_row(Work(1, Kind.tensor, order=2, size=3, nodes=1)) == 3 + 9
    assert ops_per_row(Work(1, Kind.hessian, size=4, nodes=2)) == 32
    assert ops_per_row(Work(1, Kind.partial, order=5, nodes=1)) == 32


def test_a_pure_function_same_work_same_answer():
    work = Work(rows=12345, kind=Kind.hessian, size=7, nodes=11)
    assert len({choose(Device.auto, work, True) for _ in range(5)}) == 1


def test_platforms_keep_jax_on_the_chosen_device():
    assert platforms(Device.cpu) == "cpu"
    assert platforms(Device.gpu).startswith("cuda")


# ---------------------------------------------------------------- wired into the commands

def test_device_cpu_and_auto_answer_alike_through_the_cli():
    from conftest import cli

    args = ["grad", "sin(x)*y", "--order", "2", "--at", "x=1,y=2", "--format", "json"]
    auto, cpu = cli(*args), cli(*args, "--device", "cpu")
    assert auto.code == cpu.code == 0 and auto.stdout == cpu.stdout
    d = json.loads(cpu.stdout)["results"][0]["derivatives"]["1"]
    assert d == pytest.approx([math.cos(1) * 2, math.sin(1)], rel=1e-15)


def test_device_gpu_where_none_is_installed_is_one_error_line():
    from conftest import assert_user_error, cli

    from autodx import device

    run = cli("grad", "x**2", "--at", "1", "--device", "gpu", "--format", "plain")
    if device.gpu_installed():  # a developer's machine with a GPU: it runs there
        assert run.code == 0 and run.stdout.strip() == "2", run
    else:
        assert_user_error(run, "--device gpu")
        assert "--device cpu or auto" in run.stderr


@pytest.mark.parametrize("command", [
    ["grad", "x*y", "--at", "x=1,y=2"],
    ["jacobian", "[x*y, x]", "--at", "x=1,y=2"],
])
def test_a_point_query_never_starts_an_accelerator(command):
    """The CPU is chosen before JAX starts a backend, so JAX is kept to the CPU: only
    the CPU backend exists after the command (no CUDA start-up on a GPU machine)."""
    code = ("import sys\n"
            "from autodx.cli import app\n"
            "try:\n"
            f"    app(args={command!r}, prog_name='autodx')\n"
            "except SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "from jax._src import xla_bridge\n"
            "import jax\n"
            "print('BACKENDS', sorted(xla_bridge._backends), jax.config.jax_platforms)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "BACKENDS ['cpu'] cpu"


def test_the_executor_runs_where_place_says(monkeypatch):
    """batch.run asks device.place with the work and runs under that device; the
    program cache keys programs by it."""
    import jax

    from autodx import api, batch, device as D, progcache

    seen = []
    real = D.place

    def spy(work):
        seen.append(work)
        return real(work)
    monkeypatch.setattr(D, "place", spy)
    assert api.grad("x**2", order=1, at=3).derivatives == {1: 6.0}
    assert seen and seen[-1].rows == 1
    assert progcache._device() == jax.devices()[0]  # outside the run: JAX's default
    assert batch.compile_options(True, "gpu") is None
    assert batch.compile_options(True, "cpu") == batch.QUICK_COMPILE


@pytest.mark.parametrize("args, kind, order, size", [
    (["grad", "sin(x)", "--order", "7", "--at", "0.5"], Kind.taylor, 7, 1),
    (["grad", "x*y*z", "--order", "3", "--at", "x=1,y=2,z=3"], Kind.tensor, 3, 3),
    (["hessian", "dot(v, v)", "--at", "v=[1,2,3,4]"], Kind.hessian, 2, 4),
    (["hessian", "dot(v, v)", "--at", "v=[1,2]", "--hvp", "[1,0]"], Kind.linear, 2, 2),
    (["jvp-partial", "prod(v)", "--indices", "0,1,2", "--at", "v=[1,2,3,4]"],
     Kind.partial, 3, 4),
    (["jacobian", "[x*y, x, y, x+y]", "--at", "x=1,y=2"], Kind.linear, 1, 2),
])
def test_each_command_measures_its_work(monkeypatch, args, kind, order, size):
    from conftest import cli

    from autodx import device as D

    seen = []
    real = D.place

    def spy(work):
        seen.append(work)
        return real(work)
    monkeypatch.setattr(D, "place", spy)
    assert cli(*args, "--at", args[-1]).code == 0
    work = seen[-1]
    assert (work.rows, work.kind, work.order, work.size) == (2, kind, order, size)
    assert work.nodes >= 2


def test_a_csv_of_unknown_length_is_measured_by_its_size(tmp_path):
    from types import SimpleNamespace

    from autodx.device import CSV_BYTES_PER_NUMBER, measure

    path = tmp_path / "big.csv"
    path.write_bytes(b"x,y\n" + b"0.1234567890,0.1234567890\n" * 10_000)
    plan = SimpleNamespace(total=None, source=SimpleNamespace(
        label=str(path), layout={"x": None, "y": None}))
    rows = measure(plan, Kind.linear, 1, 2, 10).rows
    assert rows == path.stat().st_size // (2 * CSV_BYTES_PER_NUMBER)
    assert 9_000 < rows < 12_000  # near the 10,000 it holds
