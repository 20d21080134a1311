#!/usr/bin/env bash
# Build llama.cpp's OpenAI-compatible server (llama-cpp-python[server]) from source into .venv,
# a CPU-only build with Debian's cmake and build-essential, at the lowest priority, timed.
# Not part of scripts/setup.sh: only tests/models/test_llama_server.py (slow) needs it.
#   scripts/build_llama_server.sh            # then: python -m llama_cpp.server --model <gguf> --port P
# Needs: apt-get install -y cmake build-essential (cmake >= 3.21).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
JOBS="${JOBS:-$(nproc)}"
command -v cmake >/dev/null && command -v g++ >/dev/null || {
    echo "cmake and g++ are needed: apt-get install -y cmake build-essential" >&2
    exit 1
}
# CPU only, no BLAS, no CUDA/Metal/Vulkan; GGML_NATIVE=OFF keeps the binary portable across
# the CI machines' CPUs; no tests, examples or the bundled C++ server (the Python one is used).
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="$JOBS"
start=$(date +%s)
nice -n 19 .venv/bin/pip install --no-binary llama-cpp-python "llama-cpp-python[server]==${VERSION}"
echo "built llama-cpp-python ${VERSION} in $(( $(date +%s) - start )) s with ${JOBS} jobs"
.venv/bin/python -c "import llama_cpp, llama_cpp.server; print('llama_cpp', llama_cpp.__version__)"
