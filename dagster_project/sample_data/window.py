"""The simulated time window (Window): its bounds in epoch seconds and the shop's daily rhythm of
event times. Times are integer epoch seconds throughout the generator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

DAY = 86_400
HOUR = 3_600
NEVER = np.iinfo(np.int64).max // 4  # "no such time"; far beyond any window, safe to add to

# Relative traffic per UTC hour of a shop whose customers live at UTC+1/+2: quiet nights, busy evenings.
HOUR_WEIGHTS = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 3.5, 4.5, 5, 5.5, 6, 6, 5.8, 5.8,
                         6.2, 7, 8, 8.5, 8, 6, 4, 2], dtype=float)


@dataclass(frozen=True)
class Window:
    start_date: date
    end_date: date
    start: int  # epoch seconds of the first day's midnight (UTC)
    end: int  # exclusive
    utc_hour_shift: int = 0  # the daily rhythm is rolled by this many hours (the shop's time zone)

    @classmethod
    def ending(cls, end_date: date, days: int, utc_hour_shift: int = 0) -> "Window":
        start_date = end_date - timedelta(days=days - 1)
        start = int(datetime(start_date.year, start_date.month, start_date.day, tzinfo=timezone.utc).timestamp())
        return cls(start_date, end_date, start, start + days * DAY, utc_hour_shift)

    @property
    def first_day(self) -> int:
        """UTC days since the epoch of the first day."""
        return self.start // DAY

    def random_times(self, rng: np.random.Generator, n: int, lo: np.ndarray | int | None = None,
                     hi: np.ndarray | int | None = None) -> np.ndarray:
        """Times with a shop's daily rhythm in [lo, hi) (default: the whole window)."""
        hour_weights = HOUR_WEIGHTS
        if self.utc_hour_shift:
            hour_weights = np.roll(hour_weights, self.utc_hour_shift)
        hours = rng.choice(24, size=n, p=hour_weights / hour_weights.sum())
        seconds = hours * HOUR + rng.integers(0, HOUR, size=n)
        lo = self.start if lo is None else lo
        hi = self.end if hi is None else hi
        lo_day = (np.asarray(lo) - self.start) // DAY
        hi_day = (np.asarray(hi) - 1 - self.start) // DAY
        day = lo_day + np.floor(rng.random(n) * (hi_day - lo_day + 1)).astype(np.int64)
        times = self.start + day * DAY + seconds
        return np.clip(times, lo, np.asarray(hi) - 1)


def day_of(times: np.ndarray) -> np.ndarray:
    """UTC days since the epoch: the landing file a row goes to."""
    return (times // DAY).astype(np.int32)
