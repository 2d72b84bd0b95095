#!/usr/bin/env bash
# Set up, then run every check: lint, format, and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
.venv/bin/ruff check podnet tests bench tools
.venv/bin/ruff format --check podnet tests bench tools
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
