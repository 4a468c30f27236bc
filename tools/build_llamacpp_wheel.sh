#!/usr/bin/env bash
# Build llama-cpp-python from source once and keep its wheel, keyed by version (the wheel is py3-none-<platform>:
# it loads llama.cpp through ctypes, so one build serves every Python 3), so every later
# install (a fresh venv, `make clean && make install`, a fresh clone on the same machine such as CI's) reuses it
# instead of compiling llama.cpp again (about 5 minutes on 2 idle cores).
#
#   tools/build_llamacpp_wheel.sh PYTHON VERSION [WHEEL_DIR]
#
# The wheel is kept in WHEEL_DIR (default .wheels/, which pip is pointed at) and copied to a per-user cache
# (AI_MAGICS_WHEEL_CACHE, default ~/.cache/ai-magics/wheels) that outlives the clone; either copy is reused.
# GGML_NATIVE=OFF builds for a portable x86-64 level (AVX2/FMA/F16C) rather than for this exact CPU, so the kept
# wheel also runs on another machine of the same kind. Set CMAKE_ARGS to build differently (e.g. -DGGML_CUDA=on).
set -euo pipefail

PY=${1:?usage: $0 PYTHON VERSION [WHEEL_DIR]}
VERSION=${2:?usage: $0 PYTHON VERSION [WHEEL_DIR]}
DIR=${3:-.wheels}
CACHE=${AI_MAGICS_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ai-magics/wheels}
PLATFORM=$("$PY" -c 'import sysconfig; print(sysconfig.get_platform().replace("-", "_").replace(".", "_"))')
PATTERN="llama_cpp_python-$VERSION-*-$PLATFORM.whl"

mkdir -p "$DIR"
shopt -s nullglob
keep_in_cache() {  # a copy outside the clone, for the next fresh clone on this machine
    mkdir -p "$CACHE" 2>/dev/null && cp -n "$1" "$CACHE"/ 2>/dev/null || true
}
found=("$DIR"/$PATTERN)
if (( ${#found[@]} )); then
    keep_in_cache "${found[0]}"
    echo "llama-cpp-python $VERSION: reusing ${found[0]}"
    exit 0
fi
cached=("$CACHE"/$PATTERN)
if (( ${#cached[@]} )); then
    cp "${cached[0]}" "$DIR"/
    echo "llama-cpp-python $VERSION: reusing ${cached[0]}"
    exit 0
fi

echo "llama-cpp-python $VERSION: building the wheel from source once (several minutes), kept in $DIR/"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}" \
CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
    "$PY" -m pip --disable-pip-version-check wheel --quiet --no-deps --no-binary llama-cpp-python \
    "llama-cpp-python==$VERSION" -w "$build"
built=("$build"/$PATTERN)
(( ${#built[@]} )) || { echo "no llama-cpp-python $VERSION wheel for $PLATFORM was built" >&2; exit 1; }
cp "${built[0]}" "$DIR"/
keep_in_cache "${built[0]}"
echo "llama-cpp-python $VERSION: kept $DIR/$(basename "${built[0]}") (and in $CACHE)"
