"""JupyterHub configuration for running the cnncourse course on one machine.

Use it as the hub's configuration file (``jupyterhub -f jupyterhub_config.py``)
or, on The Littlest JupyterHub, drop it into
``/opt/tljh/config/jupyterhub_config.d/cnncourse.py`` (see deploy/tljh/README.md).
It adds the course to whatever authenticator and spawner the hub already uses:

* groups: ``instructors``, ``formgrade-<course>`` (who may grade) and
  ``nbgrader-<course>`` (who takes the course). nbgrader's JupyterHub plugin
  reads these names: they must start with ``formgrade-`` and ``nbgrader-``;
* roles: instructors may see and start/stop every server (to help a student),
  graders may open the course's formgrader, students may discover it, the
  formgrader may enrol students (add them to ``nbgrader-<course>``), and a
  user's server token carries only what nbgrader's extensions need;
* the formgrader: a ``jupyterhub-singleuser`` server run as a hub service in
  the course directory (a clone of the course repository), reachable at
  ``/services/<course>/`` by the ``formgrade-<course>`` group only;
* grading on submit (``CNNCOURSE_WATCH=1``): ``cnncourse watch`` as a
  hub-managed service in the course directory;
* the environment of every user's server: the shared, pre-filled data
  directory (``CNNCOURSE_DATA_DIR``) and thread limits for a shared CPU.

Every setting below is ``_setting(VARIABLE, default)``: change the default
here, or set the variable in the hub's environment (e.g. its systemd unit).
The values must match
``nbgrader_config.global.py`` (exchange) and the course directory's
``nbgrader_config.py`` (course id). See docs/deployment.md.
"""

import os
import shlex

c = get_config()  # noqa: F821 (provided by JupyterHub)


def _setting(name, default):
    return os.environ.get(name, default)


def _names(value):
    return [n for n in value.replace(",", " ").split() if n]


def _extend(section, key, values):
    """Add ``values`` to a list, set or dict setting that earlier configuration may have set."""
    if key not in section or hasattr(section[key], "to_dict"):  # unset, or a lazy value of traitlets
        current = type(values)()
    else:
        current = section[key]
    if isinstance(values, dict):
        section[key] = {**current, **values}
    elif isinstance(values, set):
        section[key] = set(current) | values
    else:
        section[key] = list(current) + list(values)


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------
# Course id: the service's name, the group suffix and nbgrader's course_id.
COURSE_ID = _setting("CNNCOURSE_COURSE_ID", "cnncourse")
# Hub user names of the instructors (they grade and help students).
INSTRUCTORS = _names(_setting("CNNCOURSE_INSTRUCTORS", "instructor1"))
# Students may be listed here, or enrolled later from the formgrader's
# "Manage Students" page (which adds them to the nbgrader-<course> group).
STUDENTS = _names(_setting("CNNCOURSE_STUDENTS", ""))
# The hub user the formgrader acts as. nbgrader's JupyterHub plugin asks the
# hub for this user's groups, so it must exist and be in formgrade-<course>
# (it is created below; nobody logs in as it).
GRADER_USER = f"grader-{COURSE_ID}"
# The system account that owns the course directory and runs the formgrader
# ("" runs it as the hub's own user, e.g. in a test).
GRADER_ACCOUNT = _setting("CNNCOURSE_GRADER_ACCOUNT", GRADER_USER)
# The course directory: a clone of the course repository (it holds nbgrader_config.py).
COURSE_DIR = _setting("CNNCOURSE_COURSE_DIR", f"/home/grader-{COURSE_ID}/{COURSE_ID}")
FORMGRADER_PORT = int(_setting("CNNCOURSE_FORMGRADER_PORT", "9999"))
# The command that starts a Jupyter server for the hub (the course's Python environment).
SINGLEUSER = shlex.split(_setting("CNNCOURSE_SINGLEUSER", "jupyterhub-singleuser"))
# Pre-filled, read-only datasets and Keras weights (deploy/data/prefill_data.py).
DATA_DIR = _setting("CNNCOURSE_DATA_DIR", "/srv/cnncourse/data")
# CPU cores and memory per student server (honoured by SystemdSpawner, which
# TLJH uses, and KubeSpawner; LocalProcessSpawner ignores the limits).
CPU_LIMIT = float(_setting("CNNCOURSE_CPU_LIMIT", "2"))
MEM_LIMIT = _setting("CNNCOURSE_MEM_LIMIT", "4G")

# Grade on submit: `cnncourse watch` as a hub-managed service ("1" to switch it on) and its options.
WATCH = _setting("CNNCOURSE_WATCH", "0") == "1"
WATCH_ARGS = shlex.split(_setting("CNNCOURSE_WATCH_ARGS", "--interval 60 --max-per-day 3 --workers 1"))

FORMGRADE_GROUP = f"formgrade-{COURSE_ID}"
STUDENT_GROUP = f"nbgrader-{COURSE_ID}"

# --------------------------------------------------------------------------
# Users and groups
# --------------------------------------------------------------------------
# Who may log in: the instructors and listed students are added to whatever
# the authenticator already allows. Students enrolled later (with
# `nbgrader db student import` in the formgrader's terminal) must be allowed
# by the authenticator too (e.g. allow_all, an OAuth organisation, the admin page).
_extend(c.Authenticator, "allowed_users", set(INSTRUCTORS) | set(STUDENTS))

_extend(
    c.JupyterHub,
    "load_groups",
    {
        "instructors": {"users": INSTRUCTORS},
        FORMGRADE_GROUP: {"users": INSTRUCTORS + [GRADER_USER]},
        # Instructors are in the student group too: they see the course's
        # assignments the way students do.
        STUDENT_GROUP: {"users": INSTRUCTORS + STUDENTS},
    },
)

# --------------------------------------------------------------------------
# Roles
# --------------------------------------------------------------------------
_extend(
    c.JupyterHub,
    "load_roles",
    [
        {
            "name": "instructor",
            "description": "Sees every user and starts or stops their servers (the admin page, without admin rights).",
            "groups": ["instructors"],
            "scopes": ["admin-ui", "list:users", "read:users", "admin:servers", "read:groups", "list:groups"],
        },
        {
            "name": FORMGRADE_GROUP,
            "description": f"Opens the formgrader of {COURSE_ID}.",
            "groups": [FORMGRADE_GROUP],
            "scopes": [f"access:services!service={COURSE_ID}", "list:services", f"read:services!service={COURSE_ID}"],
        },
        {
            "name": STUDENT_GROUP,
            "description": f"Takes {COURSE_ID}: may discover the course's service.",
            "groups": [STUDENT_GROUP],
            "scopes": ["list:services", f"read:services!service={COURSE_ID}"],
        },
        {
            "name": f"{COURSE_ID}-formgrader",
            "description": "The formgrader's terminal enrols students: nbgrader adds them to the student group; "
            "the watch reads who takes the course.",
            "services": [COURSE_ID] + ([f"{COURSE_ID}-watch"] if WATCH else []),
            "scopes": [
                "list:groups",
                "read:groups",
                f"groups!group={STUDENT_GROUP}",
                "list:users",
                "read:users:name",
                "read:users:groups",
            ],
        },
    ],
)

# The token of each user's server ($JUPYTERHUB_API_TOKEN) gets the part of
# these scopes its owner holds: nbgrader reads the owner's groups to list
# their courses, and the course list finds the formgrader among the services.
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!user",
    "read:users:name!user",
    "read:users:groups!user",
    "list:services",
    "read:services",
    "access:services",
]

# --------------------------------------------------------------------------
# The formgrader, as a service of the hub
# --------------------------------------------------------------------------
formgrader = {
    "name": COURSE_ID,
    "url": f"http://127.0.0.1:{FORMGRADER_PORT}",
    "command": SINGLEUSER,
    # nbgrader reads the course's nbgrader_config.py from the working folder.
    "cwd": COURSE_DIR,
    "environment": {
        "JUPYTERHUB_DEFAULT_URL": "/formgrader",
        # whoever runs the process, nbgrader asks the hub about this user
        "JUPYTERHUB_USER": GRADER_USER,
        "CNNCOURSE_DATA_DIR": DATA_DIR,
    },
    "oauth_no_confirm": True,
    "display": True,
    "info": {"description": f"nbgrader formgrader of {COURSE_ID}"},
}
if GRADER_ACCOUNT:
    formgrader["user"] = GRADER_ACCOUNT
_extend(c.JupyterHub, "services", [formgrader])

# --------------------------------------------------------------------------
# Grading on submit (docs/grading.md): no web server, so no url; the hub starts it
# in the course directory as the grader account and restarts it if it exits.
# --------------------------------------------------------------------------
if WATCH:
    watcher = {
        "name": f"{COURSE_ID}-watch",
        "command": ["cnncourse", "watch", *WATCH_ARGS],  # the course environment's cnncourse
        "cwd": COURSE_DIR,
        # nbgrader asks the hub about this user's courses when it collects (as the formgrader does)
        "environment": {"CNNCOURSE_DATA_DIR": DATA_DIR, "JUPYTERHUB_USER": GRADER_USER},
        "display": False,
    }
    if GRADER_ACCOUNT:
        watcher["user"] = GRADER_ACCOUNT
    _extend(c.JupyterHub, "services", [watcher])

# --------------------------------------------------------------------------
# Every user's server
# --------------------------------------------------------------------------
_threads = str(max(1, int(CPU_LIMIT)))
c.Spawner.cmd = SINGLEUSER
_extend(
    c.Spawner,
    "environment",
    {
        "CNNCOURSE_DATA_DIR": DATA_DIR,
        # One TensorFlow / BLAS thread pool sized to the server's CPU share.
        "OMP_NUM_THREADS": _threads,
        "TF_NUM_INTRAOP_THREADS": _threads,
        "TF_NUM_INTEROP_THREADS": "1",
        # cnncourse.runtime.KERNEL_ENV (the course's kernelspec sets them too)
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    },
)
c.Spawner.default_url = "/lab"
c.Spawner.cpu_limit = CPU_LIMIT
c.Spawner.mem_limit = MEM_LIMIT
# A server that imports TensorFlow starts slowly on a busy machine.
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 300
