#!/usr/bin/env bash
# Set up the course in ./.venv (idempotent) and run one job.
#
#   bash setup.sh demo    # install, then grade the built-in sample class and print the grade table
#   bash setup.sh test    # install with the test tools, then run the whole test suite
#
# Needs Python 3.10+ with venv. On Debian/Ubuntu as root, the system packages
# the tests use (PostgreSQL, Chromium, Node.js) are installed when missing.
set -euo pipefail
cd "$(dirname "$0")"

job="${1:-demo}"
shift || true
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo ">>> creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
source "$VENV/bin/activate"

install_python() {
    local extras="$1"
    echo ">>> installing cnncourse[$extras] and its dependencies"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -e ".[$extras]"
}

install_system_test_packages() {
    # A real database server for the gradebook tests, a real browser (and a
    # font with the check marks) for the end-to-end tests, Node.js for the
    # JupyterHub proxy.
    local missing=()
    [[ -n "$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" ]] || missing+=(postgresql)
    command -v chromium >/dev/null || missing+=(chromium)
    [[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    if ((${#missing[@]})); then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            echo ">>> installing system packages: ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo ">>> note: ${missing[*]} not installed; the tests that need them will be skipped"
        fi
    fi
}

export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export MPLBACKEND="${MPLBACKEND:-Agg}"

case "$job" in
    demo)
        install_python cpu
        exec cnncourse demo "$@"
        ;;
    test)
        install_python "cpu,test"
        install_system_test_packages
        export CNNCOURSE_PROFILE="${CNNCOURSE_PROFILE:-fast}"
        echo ">>> checking that release/ is generated from source/"
        cnncourse release --check
        echo ">>> running the tests"
        exec python -m pytest -n 2 --dist worksteal --durations=15 "$@"
        ;;
    *)
        echo "usage: bash setup.sh demo|test [arguments for the job]" >&2
        exit 2
        ;;
esac
