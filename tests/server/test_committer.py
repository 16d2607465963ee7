import asyncio
import threading
from collections.abc import Sequence

import pytest

from daytwo.model import ScoreIn
from daytwo.server.committer import Committer, OverloadedError
from daytwo.storage.writer import Batch, WriteSummary

TRACE = "0af7651916cd43dd8448eb211c80319c"


def _batch(records: int) -> Batch:
    scores = [ScoreIn(trace_id=TRACE, name=f"s{i}", value=1.0) for i in range(records)]
    return Batch("p", scores=scores)


class GatedWriter:
    """Test double for the writer: blocks until released and records each group."""

    def __init__(self) -> None:
        self.groups: list[int] = []
        self.release = threading.Event()
        self.entered = threading.Event()
        self.fail_on: int | None = None

    def __call__(self, batches: Sequence[Batch]) -> WriteSummary:
        self.entered.set()
        self.release.wait(10)
        if self.fail_on is not None and any(b.size() == self.fail_on for b in batches):
            raise RuntimeError("constraint violated")
        self.groups.append(len(batches))
        return WriteSummary()


def test_batches_waiting_together_share_one_commit() -> None:
    async def scenario() -> list[int]:
        writer = GatedWriter()
        committer = Committer(writer, max_pending=1000)
        committer.start()
        first = asyncio.create_task(committer.submit(_batch(1)))
        await asyncio.to_thread(writer.entered.wait, 10)
        rest = [asyncio.create_task(committer.submit(_batch(1))) for _ in range(5)]
        await asyncio.sleep(0)  # let the five requests queue behind the first commit
        writer.release.set()
        await asyncio.gather(first, *rest)
        committer.close()
        return writer.groups

    assert asyncio.run(scenario()) == [1, 5]


def test_a_full_queue_refuses_with_retry_after_instead_of_growing() -> None:
    async def scenario() -> OverloadedError:
        writer = GatedWriter()
        committer = Committer(writer, max_pending=10)
        committer.start()
        blocked = asyncio.create_task(committer.submit(_batch(8)))
        await asyncio.to_thread(writer.entered.wait, 10)
        with pytest.raises(OverloadedError) as refused:
            await committer.submit(_batch(5))
        assert committer.stats.overloaded_requests == 1
        writer.release.set()
        await blocked
        committer.close()
        return refused.value

    assert asyncio.run(scenario()).retry_after >= 1


def test_one_failing_batch_does_not_fail_the_others_in_its_group() -> None:
    async def scenario() -> list[BaseException | WriteSummary]:
        writer = GatedWriter()
        writer.fail_on = 3
        committer = Committer(writer, max_pending=1000)
        committer.start()
        first = asyncio.create_task(committer.submit(_batch(1)))
        await asyncio.to_thread(writer.entered.wait, 10)
        good = asyncio.create_task(committer.submit(_batch(2)))
        bad = asyncio.create_task(committer.submit(_batch(3)))
        await asyncio.sleep(0)
        writer.release.set()
        results = await asyncio.gather(first, good, bad, return_exceptions=True)
        committer.close()
        assert committer.stats.failed_records == 3
        return results

    first, good, bad = asyncio.run(scenario())
    assert isinstance(first, WriteSummary)
    assert isinstance(good, WriteSummary)
    assert good.scores == 2
    assert isinstance(bad, RuntimeError)


def test_close_commits_what_is_queued() -> None:
    async def scenario() -> list[int]:
        writer = GatedWriter()
        writer.release.set()
        committer = Committer(writer, max_pending=1000)
        committer.start()
        await asyncio.gather(*(committer.submit(_batch(1)) for _ in range(3)))
        committer.close()
        return writer.groups

    assert sum(asyncio.run(scenario())) == 3
