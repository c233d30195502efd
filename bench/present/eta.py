"""The run's progress as a bar that only moves forward, and its ETA.

Without --target-ci the bar counts (cell, round) jobs and the ETA is the mean time of
the jobs done so far times the jobs left. With --target-ci the stop rule adds rounds as
it goes, so a bar of jobs would fill to 100% and fall back again with each added round;
instead the bar is the run's time budget: elapsed seconds against the larger of
--max-time and the planned jobs' estimate (the planned rounds always complete), and the
ETA says both: when the planned rounds end, and that the run ends by --max-time at the
latest (sooner when the target is reached).
"""

from __future__ import annotations

from dataclasses import dataclass


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:09."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


@dataclass
class Eta:
    max_time_s: float | None = None  # --target-ci's budget; None: a run of planned rounds
    jobs_total: int = 0  # in this session, as known now (added rounds grow it)
    jobs_done: int = 0
    elapsed_s: float = 0.0
    rounds_added: int = 0

    def left_s(self) -> float | None:
        """Seconds until the jobs known now are done; None before the first job ends."""
        if self.jobs_done <= 0:
            return None
        per_job = self.elapsed_s / self.jobs_done
        return max(self.jobs_total - self.jobs_done, 0) * per_job

    def bar(self) -> tuple[float, float]:
        """(completed, total) for the bar: jobs, or with a time budget seconds; the
        fraction never falls back."""
        if self.max_time_s is None:
            return float(self.jobs_done), float(max(self.jobs_total, 1))
        left = self.left_s() or 0.0
        return self.elapsed_s, max(self.max_time_s, self.elapsed_s + left, 1.0)

    def text(self) -> str:
        left = self.left_s()
        jobs = f"{self.jobs_done}/{self.jobs_total} jobs"
        if self.rounds_added:
            jobs += f" (+{self.rounds_added} round{'s' if self.rounds_added > 1 else ''})"
        if left is None:
            return f"{jobs}, ETA after the first job"
        if self.max_time_s is None:
            return f"{jobs}, ETA {clock(left)}"
        budget = max(self.max_time_s - self.elapsed_s, left)
        if self.rounds_added:
            return f"{jobs}, until the CI target, at most {clock(budget)} left"
        return f"{jobs}, planned rounds ETA {clock(left)}, at most {clock(budget)} left"
