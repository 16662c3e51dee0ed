"""The coupons tests' world: a merchant's template and a member to issue it to."""

import pytest

from tests.coupons.factories import CouponTemplateFactory
from tests.members.factories import MembershipFactory


@pytest.fixture
def template(merchant):
    """5.00 off anything, valid 30 days from issue, one unused per member, unlimited stock."""
    return CouponTemplateFactory(merchant=merchant)


@pytest.fixture
def membership(merchant, shopper):
    """``shopper`` as an active member of ``merchant``."""
    return MembershipFactory(merchant=merchant, shopper=shopper)


class InlineWorker:
    """The campaign tasks, sent on commit and run here one after another as a worker would
    (the broker and the worker process are covered by the end-to-end test)."""

    def __init__(self, monkeypatch, capture):
        from coupons import tasks

        self.capture = capture
        self.queue: list = []
        self.sent: list[str] = []
        for task in (tasks.campaign_run_start, tasks.campaign_chunks_issue, tasks.campaign_run_scheduled):
            monkeypatch.setattr(task, "delay", lambda task=task, **kwargs: self._send(task, kwargs))

    def _send(self, task, kwargs):
        self.queue.append((task, kwargs))
        self.sent.append(task.name)

    def committed(self):
        """A block whose on-commit sends happen when it ends (the test's transaction never commits)."""
        return self.capture(execute=True)

    def drain(self) -> int:
        """Run every task sent, and those they send, until none is left; how many ran."""
        ran = 0
        while self.queue:
            task, kwargs = self.queue.pop(0)
            with self.capture(execute=True):
                task.run(**kwargs)
            ran += 1
        return ran


@pytest.fixture
def worker(monkeypatch, django_capture_on_commit_callbacks):
    return InlineWorker(monkeypatch, django_capture_on_commit_callbacks)


@pytest.fixture
def small_chunks(monkeypatch):
    """Two shoppers a chunk, so that a handful of shoppers makes several chunks."""
    from coupons.services import campaign_runs

    monkeypatch.setattr(campaign_runs, "CAMPAIGN_CHUNK", 2)
