#!/usr/bin/env bash
# Make a Python environment ready for this kit, reusing the current one when it can.
#
#   setup.sh            (PYTHON=... picks the interpreter; default: python3 on PATH)
#
# The interpreter is checked first: when it already finds every module the kit needs, nothing
# is installed. Otherwise requirements.txt is installed into it if it is a virtual
# environment, or into a new .venv/ inside this kit, which start_task.sh then uses.
# Exit codes: 0 ready, 1 could not install.
set -euo pipefail
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODULES=(tensorflow numpy sklearn)

python="${PYTHON:-python3}"
if [ -z "${PYTHON:-}" ] && [ -x "$KIT/.venv/bin/python" ]; then python="$KIT/.venv/bin/python"; fi

has_modules() {
    "$1" -c 'import importlib.util, sys
sys.exit(any(importlib.util.find_spec(m) is None for m in sys.argv[1:]))' "${MODULES[@]}" 2>/dev/null
}

if has_modules "$python"; then
    echo "[setup] $(command -v "$python") already has ${MODULES[*]}: nothing to install" >&2
    exit 0
fi
if ! "$python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
    echo "[setup] creating $KIT/.venv" >&2
    "$python" -m venv "$KIT/.venv" || { echo "[setup] could not create a virtual environment with $python" >&2; exit 1; }
    python="$KIT/.venv/bin/python"
fi
echo "[setup] installing requirements.txt with $python" >&2
"$python" -m pip install -q -r "$KIT/requirements.txt" || { echo "[setup] pip install failed" >&2; exit 1; }
if ! has_modules "$python"; then
    echo "[setup] $python still lacks one of ${MODULES[*]} after installing" >&2
    exit 1
fi
echo "[setup] ready: $python" >&2
