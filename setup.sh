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

# The student package (cnncourse, this folder) and the instructor package (cnncourse-instructor,
# ./autograder), both editable; then the course's Jupyter kernel (quiet TensorFlow from its start).
install_python() {
    local extras="$1" instructor_extras="$2"
    echo ">>> installing cnncourse[$extras] and cnncourse-instructor${instructor_extras:+[$instructor_extras]}"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet -e ".[$extras]" -e "./autograder${instructor_extras:+[$instructor_extras]}"
    python -m cnncourse.kernel >/dev/null
}

install_system_packages() {
    # $1: what they are for; the rest: "command-or-path:package" pairs, installed
    # with apt-get (as root) when missing.
    local why="$1"; shift
    local missing=() pair probe pkg
    for pair in "$@"; do
        probe="${pair%%:*}"; pkg="${pair#*:}"
        if [[ "$probe" == /* ]]; then
            compgen -G "$probe" >/dev/null || missing+=("$pkg")
        else
            command -v "$probe" >/dev/null || missing+=("$pkg")
        fi
    done
    if ((${#missing[@]})); then
        if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
            echo ">>> installing system packages ($why): ${missing[*]}"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
        else
            echo ">>> note: ${missing[*]} not installed ($why); see the README"
        fi
    fi
}

# bubblewrap: the sandbox graded kernels run in (grading says loudly when it is missing).
install_sandbox() {
    install_system_packages "the grading sandbox" "bwrap:bubblewrap"
}

# The sandbox, a real database server for the gradebook tests, a real browser (and a font
# with the check marks) for the end-to-end tests, Node.js for the JupyterHub proxy; one
# apt-get run for all of them.
install_system_test_packages() {
    install_system_packages "the grading sandbox and end-to-end tests" "bwrap:bubblewrap" \
        "/usr/lib/postgresql/*/bin/initdb:postgresql" \
        "chromium:chromium" "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core" \
        "node:nodejs" "npm:npm"
}

export MPLBACKEND="${MPLBACKEND:-Agg}"

case "$job" in
    demo)
        install_python cpu ""
        install_sandbox
        exec cnncourse demo "$@"
        ;;
    test)
        install_python "cpu,test" "dask,postgres,similarity"
        install_system_test_packages
        export CNNCOURSE_PROFILE="${CNNCOURSE_PROFILE:-fast}"
        echo ">>> linting the code and the notebooks, checking the code's format (ruff; rules in pyproject.toml)"
        ruff check --quiet .
        ruff format --check --quiet .
        echo ">>> type-checking (mypy: the grading engine strictly, the rest gradually; pyproject.toml)"
        mypy
        echo ">>> running the tests"
        # loadgroup: the tests of one xdist_group (a module whose fixture grades a class, the wheels)
        # run on one worker, so each heavy fixture is built once. Three workers on two cores: a third
        # of the time a test waits (on a kernel's start, a browser, a time limit), not computes.
        exec python -m pytest -n 3 --dist loadgroup --durations=15 "$@"
        ;;
    *)
        echo "usage: bash setup.sh demo|test [arguments for the job]" >&2
        exit 2
        ;;
esac
