"""The CLI's output module: the progress bar (the formats are tested through the
commands, in test_cli.py and test_render.py)."""
from __future__ import annotations

from autodx.cli import output


def test_progress_bar_only_on_a_terminal_after_a_moment(monkeypatch):
    class TTY:
        def isatty(self):
            return True

        def write(self, text):
            return len(text)

        def flush(self):
            pass
    monkeypatch.setattr(output.sys, "stderr", TTY())
    monkeypatch.delenv("CI", raising=False)
    clock = iter([0.1, 0.2, 1.0, 1.1])
    with output.Progress() as progress:
        progress.clock = lambda: next(clock)
        progress.start = 0.0
        progress(10, 100)            # 0.1 s: too soon, nothing shown
        assert progress.bar is None
        progress(10, 100)            # 0.2 s
        progress(10, 100)            # 1.0 s: the bar starts
        assert progress.bar is not None
    monkeypatch.setenv("CI", "true")
    assert not output.Progress().enabled
