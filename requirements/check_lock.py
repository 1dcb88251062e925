"""Fail when a lock no longer covers pyproject.toml (someone changed a pin and forgot `make lock`).

    python requirements/check_lock.py requirements/lock.txt test dev

Every requirement in [project].dependencies, in the named extras and in requirements/build.in
must be pinned in the lock to a version its specifier accepts, on this interpreter and platform.
Run by `make install` after pip has installed the lock (it needs `packaging`, which the lock has);
no network, a fraction of a second.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?\s*$")


def pins(lock: Path) -> dict[str, Version]:
    """The lock's pins that apply here (uv's universal lock may pin a package once per marker)."""
    found: dict[str, Version] = {}
    for line in lock.read_text().splitlines():
        m = PIN.match(line)
        if m and (m[3] is None or Marker(m[3]).evaluate()):
            found[canonicalize_name(m[1])] = Version(m[2])
    return found


def wanted(extras: list[str]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    optional = project.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            sys.exit(f"check_lock: pyproject.toml has no extra {extra!r}")
        lines += optional[extra]
    for line in (ROOT / "requirements" / "build.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    reqs = [Requirement(line) for line in lines]
    return [r for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    lock = Path(argv[0])
    have = pins(lock)
    problems = []
    for req in wanted(argv[1:]):
        version = have.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req} is not in {lock}")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} but {lock} pins {req.name}=={version}")
    for problem in problems:
        print(f"check_lock: {problem}", file=sys.stderr)
    if problems:
        print("check_lock: the lock is older than pyproject.toml: run `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
