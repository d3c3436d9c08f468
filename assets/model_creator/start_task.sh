#!/usr/bin/env bash
# Train the initial model and write a task bundle per kind into OUTPUT_DIR.
#
#   start_task.sh OUTPUT_DIR [--kind KIND]... [--epochs E] [--seed S] [--data FILE.npz]
#
# OUTPUT_DIR may be given by DECENTRALML_OUTPUT_DIR instead of the first argument; further
# arguments go to the kit (see README.md).
# Writes OUTPUT_DIR/model.keras, OUTPUT_DIR/holdout.npz (both stay home) and
# OUTPUT_DIR/bundles/<Kind>/ (the task bundles to push).
# The interpreter is PYTHON, else this kit's .venv/ (made by setup.sh), else python3.
# Exit codes: 0 done, 1 bad task or input, 2 usage.
set -euo pipefail
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
absolute() { case "$1" in /*) printf '%s' "$1" ;; *) printf '%s' "$PWD/$1" ;; esac; }

out="${DECENTRALML_OUTPUT_DIR:-}"
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then out="$1"; shift; fi
if [ -z "$out" ]; then
    echo "usage: $0 OUTPUT_DIR [--kind KIND]... [--epochs E] [--seed S] [--data FILE.npz]  (or set DECENTRALML_OUTPUT_DIR)" >&2
    exit 2
fi
out="$(absolute "$out")"

python="${PYTHON:-python3}"
if [ -z "${PYTHON:-}" ] && [ -x "$KIT/.venv/bin/python" ]; then python="$KIT/.venv/bin/python"; fi
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-3}"

# Paths given to the kit stay relative to where this script was started.
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --data=*) args+=("--data=$(absolute "${1#--data=}")") ;;
        --data) args+=("$1"); if [ $# -gt 1 ]; then shift; args+=("$(absolute "$1")"); fi ;;
        *) args+=("$1") ;;
    esac
    shift
done
set -- "${args[@]+"${args[@]}"}"

# The kit is a Python package named after its directory: run it in that directory, importing
# it from the one above (never from the current directory, where its modules would shadow it).
cd "$KIT"
exec "$python" -c 'import runpy, sys
sys.path[0] = sys.argv.pop(1)
runpy.run_module(sys.argv.pop(1), run_name="__main__", alter_sys=True)' \
    "$(dirname "$KIT")" "$(basename "$KIT")" run --output "$out" "$@"
