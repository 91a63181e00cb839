"""``--symbolic`` and ``--check``: a side branch that nothing on the main path imports.

- :mod:`.sympy_view`: the expression tree as sympy, and sympy's text in autodx's spelling;
- :mod:`.sympy_functions`: the functions of the language that sympy lacks, as sympy classes;
- :mod:`.references`: the symbolic derivatives at 50 digits and finite differences, in mpmath;
- :mod:`.worker`: the process that runs both under a time and memory limit;
- :mod:`.verdict`: requests for the worker, and the verdict on every number.

Only :mod:`.verdict` and :mod:`.worker` run in the command's own process; sympy and
mpmath are imported by the worker alone.
"""
