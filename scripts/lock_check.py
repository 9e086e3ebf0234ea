"""Do the hashed lock files agree with the requirements they are generated from?

`requirements.lock` comes from `requirements.txt`, `requirements-dev.lock` from
`requirements-dev.txt` (`make lock`, pip-tools `pip-compile --generate-hashes`). They agree when
every pin of the `.txt` is in its lock with the same version, every lock entry has a hash, and
the lock names no direct requirement the `.txt` no longer has. Exit 0 when both agree, 1 with the
differences and "run `make lock`" otherwise. Standard library only: the Makefile runs it before
anything is installed, to choose between the lock and the plain requirements.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = (
    ("requirements.txt", "requirements.lock"),
    ("requirements-dev.txt", "requirements-dev.lock"),
)
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(path: Path) -> dict[str, str]:
    """name -> version of every pin in a requirements file, following `-r` includes."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith(("-r ", "--requirement ")):
            pins.update(requirement_pins(path.parent / line.split(None, 1)[1]))
            continue
        match = _PIN.match(line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def lock_entries(path: Path) -> dict[str, tuple[str, bool, set[str]]]:
    """name -> (version, has a hash, the `# via` sources) of every entry of a lock file."""
    entries: dict[str, tuple[str, bool, set[str]]] = {}
    current = ""
    for raw in path.read_text().splitlines():
        match = _PIN.match(raw)
        if match:
            current = normalize(match.group(1))
            entries[current] = (match.group(2), False, set())
            continue
        stripped = raw.strip()
        if not current or not stripped:
            continue
        version, _hashed, via = entries[current]
        if stripped.startswith("--hash="):
            entries[current] = (version, True, via)
        elif stripped.startswith("#"):
            source = stripped.lstrip("#").strip().removeprefix("via").strip()
            if source:
                via.add(source)
    return entries


def differences(requirements: Path, lock: Path) -> list[str]:
    if not lock.exists():
        return [f"{lock.name} does not exist"]
    pins = requirement_pins(requirements)
    entries = lock_entries(lock)
    problems = []
    for name, version in sorted(pins.items()):
        if name not in entries:
            problems.append(f"{name}=={version} is in {requirements.name} but not in {lock.name}")
        elif entries[name][0] != version:
            problems.append(
                f"{name}: {requirements.name} pins {version}, {lock.name} has {entries[name][0]}"
            )
    for name, (version, hashed, via) in sorted(entries.items()):
        if not hashed:
            problems.append(f"{name}=={version} has no --hash in {lock.name}")
        only_direct = bool(via) and all(source.startswith("-r ") for source in via)
        if only_direct and name not in pins:
            problems.append(f"{name} is in {lock.name} only as a requirement no longer listed")
    return problems


def main(argv: list[str]) -> int:
    """`lock_check.py [requirements.txt ...]`: check those pairs (default: all)."""
    wanted = [pair for pair in PAIRS if not argv or pair[0] in argv]
    problems = []
    for requirements, lock in wanted:
        problems += differences(ROOT / requirements, ROOT / lock)
    if problems:
        print("The lock files do not match the requirements; run `make lock`:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
