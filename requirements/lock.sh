#!/usr/bin/env bash
# Writes the lock files from pyproject.toml, or checks that they are current.
#
#   requirements/lock.sh            make lock: follow pyproject.toml, keeping every pin it allows
#   requirements/lock.sh --upgrade  make lock-upgrade: the newest versions pyproject.toml allows
#   requirements/lock.sh --check    make lock-check (CI): fail if `make lock` would change a file
#
# runtime.txt is what the image installs (the app and its PostgreSQL driver); dev.txt adds the
# tools and is constrained by runtime.txt, so tests run on the versions that ship. Both are
# universal (every OS, Python >= 3.11) and hashed: pip installs them with --require-hashes.
# uv resolves against the existing files, so a new upstream release changes nothing until
# someone asks for it with --upgrade; --check therefore fails only when pyproject.toml and the
# lock disagree.
set -euo pipefail
cd "$(dirname "$0")/.."

uv=${UV:-.venv/bin/uv}
out=requirements
mode=${1:-}
extra=()
case "$mode" in
  "") ;;
  --upgrade) extra=(--upgrade) ;;
  --check)
    out=$(mktemp -d)
    trap 'rm -rf "$out"' EXIT
    cp requirements/runtime.txt requirements/dev.txt "$out/"
    ;;
  *) echo "usage: $0 [--upgrade|--check]" >&2; exit 2 ;;
esac

# ${extra[@]+...}: an empty array is "unbound" to macOS's bash 3 under set -u.
flags=(--universal --python-version 3.11 --generate-hashes --quiet
  --custom-compile-command "make lock" ${extra[@]+"${extra[@]}"})
"$uv" pip compile pyproject.toml --extra postgres "${flags[@]}" -o "$out/runtime.txt"
"$uv" pip compile pyproject.toml --extra dev --extra postgres -c "$out/runtime.txt" \
  "${flags[@]}" -o "$out/dev.txt"

if [ "$mode" = --check ]; then
  # uv annotates dev.txt with the constraint file's path as given: the temporary one here.
  sed "s#$out/runtime.txt#requirements/runtime.txt#" "$out/dev.txt" >"$out/dev.annotated"
  mv "$out/dev.annotated" "$out/dev.txt"
  if ! diff -u requirements/runtime.txt "$out/runtime.txt" \
    || ! diff -u requirements/dev.txt "$out/dev.txt"; then
    echo "error: requirements/*.txt disagree with pyproject.toml: run make lock and commit" >&2
    exit 1
  fi
  echo "lock files match pyproject.toml"
fi
