"""A progress bar for long gradient checks, written on stderr with the standard library only (gradcheck
imports nothing but NumPy).

    bar = Progress(total=109_000, what="entries", show="auto")
    for k in range(total):
        ...                      # two evaluations of f
        bar.update(k + 1)
    bar.close()

With ``show="auto"`` nothing is printed unless the first few seconds predict a check longer than
``AUTO_SECONDS``; then one line says how long it will take and that ``--method sampled`` or ``direction``
takes seconds, and a bar ``[#####.......] 12000/109000 entries, 0:41 elapsed, about 5:31 left`` is redrawn at
most twice a second.
"""

from __future__ import annotations

import sys
import time

AUTO_SECONDS = 10.0  # show the bar when the whole check is predicted to take longer than this
_WARMUP_SECONDS = 1.0  # measure this long before predicting


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A text progress bar with an estimate of the time left (see the module docstring).

    Example:
        >>> import io
        >>> out = io.StringIO(); bar = Progress(4, show=True, stream=out)
        >>> for k in range(4): bar.update(k + 1)
        >>> bar.close(); "4/4 entries" in out.getvalue()
        True
    """

    def __init__(self, total: int, what: str = "entries", show="auto", stream=None, hint: str = ""):
        self.total, self.what, self.show, self.hint = int(total), what, show, hint
        self.stream = sys.stderr if stream is None else stream
        self.start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = False
        self._decided = show is True  # show is True, False or "auto"

    def update(self, done: int) -> None:
        """``done`` of ``total`` finished; redraw if it is time."""
        now = time.perf_counter()
        elapsed = now - self.start
        if self.show == "auto" and not self._decided:
            if elapsed < _WARMUP_SECONDS or done == 0:
                return
            predicted = elapsed / done * self.total
            if predicted <= AUTO_SECONDS:
                self.show = False
                return
            self._decided = True
            self.stream.write(
                f"gradcheck: checking {self.total} {self.what} will take about {_clock(predicted)}"
                f"{self.hint}\n"
            )
        if not self.show or (now - self._last_draw < 0.5 and done < self.total):
            return
        self._last_draw = now
        width = 30
        filled = int(width * done / max(self.total, 1))
        left = elapsed / done * (self.total - done) if done else float("nan")
        eta = _clock(left) if done else "?"
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {self.what}, "
            f"{_clock(elapsed)} elapsed, about {eta} left"
        )
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line (if one was drawn)."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
