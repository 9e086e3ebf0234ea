"""The hashed lock files agree with requirements*.txt (`make lock` regenerates them)."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("lock_check", ROOT / "scripts" / "lock_check.py")
assert _spec and _spec.loader
lock_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_check)


def test_lock_files_agree_with_the_requirements():
    problems = []
    for requirements, lock in lock_check.PAIRS:
        problems += lock_check.differences(ROOT / requirements, ROOT / lock)
    assert not problems, (
        "requirements*.lock do not match requirements*.txt: run `make lock` and commit the "
        "lock files.\n" + "\n".join(problems)
    )


def test_the_check_sees_a_missing_pin_a_wrong_version_no_hash_and_a_removed_requirement(
    tmp_path,
):
    (tmp_path / "base.txt").write_text("Django==5.2.19\n")
    (tmp_path / "req.txt").write_text(
        "-r base.txt\nrequests==2.34.2  # comment\ncelery[redis]==5.7.0\nnewpkg==1.0\n"
    )
    (tmp_path / "req.lock").write_text(
        "django==5.2.19 \\\n    --hash=sha256:aa\n    # via -r base.txt\n"
        "requests==2.33.0 \\\n    --hash=sha256:bb\n    # via -r req.txt\n"
        "celery==5.7.0\n    # via -r req.txt\n"
        "oldpkg==3.0 \\\n    --hash=sha256:cc\n    # via -r req.txt\n"
        "kombu==5.7.0 \\\n    --hash=sha256:dd\n    # via celery\n"
    )
    problems = lock_check.differences(tmp_path / "req.txt", tmp_path / "req.lock")
    assert problems == [
        "newpkg==1.0 is in req.txt but not in req.lock",
        "requests: req.txt pins 2.34.2, req.lock has 2.33.0",
        "celery==5.7.0 has no --hash in req.lock",
        "oldpkg is in req.lock only as a requirement no longer listed",
    ]
    assert lock_check.differences(tmp_path / "req.txt", tmp_path / "none.lock") == [
        "none.lock does not exist"
    ]
