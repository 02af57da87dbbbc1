"""The mailbox readers' parts on their own: the reconnection backoff, and turns of processing that never
run two at once in a process yet never miss a request."""

from __future__ import annotations

import random
import threading
import time

from mailbot.scheduled.idle import Backoff, Turns


def test_reconnection_waits_double_up_to_a_ceiling_with_jitter_and_start_again_after_success() -> None:
    random.seed(5)
    backoff = Backoff(first=1, longest=300)
    delays = [backoff.next_delay() for _ in range(12)]
    ceilings = [min(300, 2**n) for n in range(12)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len(set(delays)) == len(delays)  # jittered: readers cut off together do not return together
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_a_request_during_a_turn_makes_it_go_round_again_and_turns_never_overlap() -> None:
    running, overlaps, rounds = threading.Lock(), [], []

    def work() -> None:
        if not running.acquire(blocking=False):
            overlaps.append(1)
            return
        rounds.append(1)
        time.sleep(0.05)
        running.release()

    turns = Turns(work)
    threads = [threading.Thread(target=turns.request) for _ in range(8)]
    for thread in threads:
        thread.start()
        time.sleep(0.01)
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert 2 <= len(rounds) < 8  # requests made during a turn were gathered into the next round
    before = len(rounds)
    turns.request()
    assert len(rounds) == before + 1  # nothing running: the caller does the turn itself
