"""Long-lived workers freeze what they loaded at start (`buatfilm.memory`): gunicorn's
`post_worker_init` hook and Celery's `worker_process_init` signal both do it."""

import gc
import runpy
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery.signals import worker_process_init

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_a_gunicorn_worker_freezes_the_loaded_app(unfrozen, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the file would make one
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0

    hooks["post_worker_init"](worker=None)

    assert gc.get_freeze_count() > 10_000  # the test process' Django and libraries


def test_a_celery_pool_process_freezes_the_loaded_app(unfrozen):
    import buatfilm.celery  # noqa: F401 (connects the signal)

    assert gc.get_freeze_count() == 0
    worker_process_init.send(sender=None)
    assert gc.get_freeze_count() > 10_000


def test_a_worker_warms_up_the_message_templates_before_freezing(unfrozen):
    """`worker_ready()` (both hooks above) first sends `warm_up`: the outbox compiles every
    message template then, not on a worker's first messages."""
    from django.template import engines

    import buatfilm.celery  # noqa: F401 (connects the signal)
    from notifications.models import Template

    (loader,) = engines["django"].engine.template_loaders  # the cached loader
    loader.reset()
    worker_process_init.send(sender=None)

    cached = set(loader.get_template_cache)
    for template in Template.values:
        for part in ("subject.txt", "email.txt", "email.html", "whatsapp.txt"):
            assert f"notifications/{template}/{part}" in cached
    assert gc.get_freeze_count() > 10_000
