"""bench/present/eta.py: the progress bar never falls back, and its ETA."""

from __future__ import annotations

from bench.present.eta import Eta, clock


def test_clock():
    assert [clock(s) for s in (0, 42.4, 725, 3729)] == ["0:00", "0:42", "12:05", "1:02:09"]


def test_planned_rounds_eta_from_the_mean_job():
    eta = Eta(jobs_total=20)
    assert eta.text() == "0/20 jobs, ETA after the first job"
    eta.jobs_done, eta.elapsed_s = 5, 10.0
    assert eta.left_s() == 30.0 and eta.text() == "5/20 jobs, ETA 0:30"
    assert eta.bar() == (5.0, 20.0)


def test_target_ci_bar_does_not_fall_back_when_rounds_are_added():
    eta = Eta(max_time_s=600.0, jobs_total=20)
    seen = []
    for done in range(1, 21):  # the planned rounds, 3 s a job
        eta.jobs_done, eta.elapsed_s = done, 3.0 * done
        seen.append(eta.bar()[0] / eta.bar()[1])
    assert "planned rounds ETA 0:00, at most 9:00 left" in eta.text()
    for added in range(1, 6):  # the stop rule adds rounds of 4 jobs
        eta.rounds_added, eta.jobs_total = added, eta.jobs_total + 4
        for _ in range(4):
            eta.jobs_done += 1
            eta.elapsed_s += 3.0
            seen.append(eta.bar()[0] / eta.bar()[1])
    assert all(b >= a for a, b in zip(seen, seen[1:], strict=False))  # forward only
    assert seen[-1] < 1  # the budget is not used up: the bar is not full yet
    assert eta.text() == "40/40 jobs (+5 rounds), until the CI target, at most 8:00 left"
    # planned jobs that outlast the budget: the bar's total is the estimate, not --max-time
    slow = Eta(max_time_s=60.0, jobs_total=100, jobs_done=10, elapsed_s=50.0)
    assert slow.bar() == (50.0, 500.0) and "at most 7:30 left" in slow.text()
