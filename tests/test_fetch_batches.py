"""Intake fetches in batches bounded by count and by size, the sizes asked before any body is fetched."""

from __future__ import annotations

from typing import Any

from mailbot.intake.mailbox import batches_by_size

MB = 1024 * 1024


class SizesOnly:
    """Answers FETCH RFC822.SIZE as an IMAP server would, and nothing else (a unit test of one function)."""

    def __init__(self, sizes: dict[int, int]) -> None:
        self.sizes = sizes
        self.asked: list[list[str]] = []

    def fetch(self, uids: list[int], items: list[str]) -> dict[int, dict[bytes, Any]]:
        self.asked.append(items)
        return {uid: {b"RFC822.SIZE": self.sizes[uid]} for uid in uids if uid in self.sizes}


def test_large_messages_come_alone_and_small_ones_fill_a_batch_up_to_its_size() -> None:
    sizes = {1: 100_000, 2: 30 * MB, 3: 30 * MB, 4: 3 * MB, 5: 3 * MB, 6: 3 * MB, 7: 1_000}
    client = SizesOnly(sizes)

    batches = list(batches_by_size(client, sorted(sizes), count=50, max_bytes=8 * MB))  # type: ignore[arg-type]

    assert batches == [[1], [2], [3], [4, 5], [6, 7]]
    assert client.asked == [["RFC822.SIZE"]]  # only sizes: no body was fetched to decide


def test_the_count_still_bounds_a_batch_of_small_messages() -> None:
    client = SizesOnly({uid: 10_000 for uid in range(1, 8)})

    assert list(batches_by_size(client, list(range(1, 8)), count=3)) == [[1, 2, 3], [4, 5, 6], [7]]  # type: ignore[arg-type]


def test_a_message_expunged_before_its_size_was_asked_is_still_passed_on() -> None:
    # The body FETCH that follows finds it gone and skips it, as it always did.
    client = SizesOnly({1: 1_000})

    assert list(batches_by_size(client, [1, 2], count=50)) == [[1, 2]]  # type: ignore[arg-type]
