"""The choice of device is a pure function of the work: points and small batches on the
CPU (the measured cases of issue 13), an accelerator only where the work is large."""
from __future__ import annotations

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
