"""A small Dockerfile reader for the tests: instructions by stage, continuation lines joined.

Enough for this project's Dockerfile (no heredocs, no parser directives but `syntax`); the
tests read the image's recipe from it instead of repeating it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass(frozen=True)
class Instruction:
    stage: str  # the stage's name (FROM ... AS name), "" before the first FROM, "final" last
    keyword: str  # upper case: FROM, RUN, COPY, ...
    args: str


def instructions(path: Path = DOCKERFILE) -> list[Instruction]:
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):  # a comment inside a continued instruction
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    found: list[Instruction] = []
    stage = ""
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            named = re.search(r"\bAS\s+(\S+)\s*$", args, re.IGNORECASE)
            stage = named.group(1) if named else "final"
        found.append(Instruction(stage, keyword, " ".join(args.split())))
    return found


def in_stage(stage: str, keyword: str) -> list[str]:
    return [i.args for i in instructions() if i.stage == stage and i.keyword == keyword]


def copied_sources(stage: str) -> list[tuple[list[str], str]]:
    """The stage's COPY instructions from the build context: (sources, destination)."""
    pairs = []
    for args in in_stage(stage, "COPY"):
        words = shlex.split(args)
        if any(w.startswith("--from") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        pairs.append((paths[:-1], paths[-1]))
    return pairs


def default_arg(name: str) -> str:
    for instruction in instructions():
        if instruction.keyword == "ARG" and instruction.args.startswith(f"{name}="):
            return instruction.args.split("=", 1)[1]
    raise KeyError(name)
