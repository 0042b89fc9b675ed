"""The adversarial corpus: hostile and broken submissions, each with the outcome it must get.

Every case is a submission of the ``checked`` assignment (see
:func:`source_notebook`): four points over three questions, the middle one
(``corr2d``, 2 points) checked by a ``cnncourse`` check and a hidden test
that uses ``numpy.allclose``. A case is built from the perfect submission
(or from raw bytes), and says what grading must give it:

* ``status``: the recorded status (``ok``, ``flagged``, ``timeout``...);
* ``score``: the exact score, out of 4;
* ``reason``: words the recorded reason must contain.

Cases that try to get out (read the hidden tests, write the gradebook,
reach the network...) print ``ATTACK-SUCCEEDED`` when they manage it; the
test checks that this never appears, and that their targets are untouched.

The secret hunts (``Case.hunt``) look for the values of secrets planted in
the grader's environment (``Context.secrets``) everywhere a process can
look: its own environment, every ``/proc`` entry it can read, the kernel's
files, and the file system. The values reach the submission encoded (so
that its own source, which the kernel's folder and history hold, never
contains them) and are decoded only in the kernel's memory.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import textwrap

import nbformat

ASSIGNMENT = "checked"
MAX_SCORE = 4.0
SUCCESS = "ATTACK-SUCCEEDED"
HIDDEN_MARK = "-5.0 * np.ones((3, 3))"  # text that only the hidden test contains

CORR2D = """def corr2d(x, k):
    ### BEGIN SOLUTION
    x, k = np.asarray(x, dtype=float), np.asarray(k, dtype=float)
    h, w = x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            out[i, j] = (x[i:i + k.shape[0], j:j + k.shape[1]] * k).sum()
    return out
    ### END SOLUTION
"""
WRONG_CORR2D = """def corr2d(x, k):
    x, k = np.asarray(x), np.asarray(k)
    return np.zeros((x.shape[0] - k.shape[0] + 1, x.shape[1] - k.shape[1] + 1))
"""


def _meta(grade_id, **kw):
    m = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False, "task": False}
    m.update(kw)
    return {"nbgrader": m}


def source_notebook():
    """The instructor's notebook the corpus attacks."""
    code, md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    cells = [
        md("# Checked\nThree small questions.", metadata=_meta("intro", locked=True)),
        code(
            "import numpy as np\nfrom cnncourse.checks import lab1 as checks\n", metadata=_meta("imports", locked=True)
        ),
        code(
            "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION\n",
            metadata=_meta("add", solution=True),
        ),
        code(
            "assert add(1, 2) == 3\n### BEGIN HIDDEN TESTS\nassert add(-4, 4) == 0\n### END HIDDEN TESTS\n",
            metadata=_meta("test_add", grade=True, locked=True, points=1),
        ),
        code(CORR2D, metadata=_meta("corr2d", solution=True)),
        code(
            "checks.check_corr2d(corr2d)\n### BEGIN HIDDEN TESTS\n_x = np.arange(16.0).reshape(4, 4)\n"
            "assert np.allclose(corr2d(_x, np.array([[1.0, 0.0], [0.0, -1.0]])), -5.0 * np.ones((3, 3)))\n"
            "### END HIDDEN TESTS\n",
            metadata=_meta("test_corr2d", grade=True, locked=True, points=2),
        ),
        code(
            "def neg(a):\n    ### BEGIN SOLUTION\n    return -a\n    ### END SOLUTION\n",
            metadata=_meta("neg", solution=True),
        ),
        code("assert neg(1) == -1\n", metadata=_meta("test_neg", grade=True, locked=True, points=1)),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


@dataclasses.dataclass
class Context:
    """What attacks aim at (absolute paths on the grading machine, as a student might guess them)."""

    course: str
    victim: str
    outside: str  # a folder outside the course that nothing may write to
    port: int  # a TCP server on the grading machine's loopback
    secret_var: str
    secrets: dict = dataclasses.field(default_factory=dict)  # planted in the grader's environment: name -> value

    @property
    def encoded_secrets(self):
        """The secrets' values as a Python literal that does not contain them (hex of the reversed bytes)."""
        return repr([v.encode()[::-1].hex() for v in self.secrets.values()])


@dataclasses.dataclass
class Case:
    name: str
    build: object  # (perfect NotebookNode, Context) -> NotebookNode or bytes
    status: str
    score: float
    reason: str = ""
    tamper: bool = False  # an attempt on the hidden tests (also graded with the guard off)
    hunt: tuple = ()  # a secret hunt: the protections whose absence it shows ("sandbox", "env -i", "whitelist")


def _answer(nb, grade_id):
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def _prefix(grade_id, code):
    def build(nb, ctx):
        cell = _answer(nb, grade_id)
        cell.source = textwrap.dedent(code).format(ctx=ctx, SUCCESS=SUCCESS) + "\n" + cell.source
        return nb

    return build


def _replace(grade_id, code):
    def build(nb, ctx):
        _answer(nb, grade_id).source = textwrap.dedent(code).format(ctx=ctx, SUCCESS=SUCCESS)
        return nb

    return build


def _raw(make):
    return lambda nb, ctx: make(nb, ctx)


def _tamper(code):
    """A wrong corr2d, and ``code`` that tries to make its test pass anyway."""
    return _replace("corr2d", WRONG_CORR2D + textwrap.dedent(code))


def _edit(fn):
    def build(nb, ctx):
        fn(nb, ctx)
        return nb

    return build


def _drop_tests(nb, ctx):
    nb.cells = [c for c in nb.cells if not c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _edit_test(nb, ctx):
    _answer(nb, "corr2d").source = WRONG_CORR2D
    _answer(nb, "test_corr2d").source = "pass  # edited by the student\n"


def _rename_id(nb, ctx):
    _answer(nb, "test_neg").metadata.nbgrader["grade_id"] = "test_neg_renamed"


def _points(nb, ctx):
    _answer(nb, "test_add").metadata.nbgrader["points"] = 100


def _duplicate(nb, ctx):
    """The test cell pasted twice, its id too, as handed in (nbformat would repair the id on writing)."""
    data = json.loads(nbformat.writes(nb))
    i = [c.get("id") for c in data["cells"]].index(_answer(nb, "test_add").id)
    data["cells"].insert(i + 1, copy.deepcopy(data["cells"][i]))
    return json.dumps(data).encode()


def _many_cells(nb, ctx):
    nb.cells.extend(nbformat.v4.new_markdown_cell(f"note {i}") for i in range(10_000))


def _long_line(nb, ctx):
    _answer(nb, "add").source = "_blob = '" + "x" * (1 << 20) + "'\n" + _answer(nb, "add").source


def _no_kernel(nb, ctx):
    nb.metadata["kernelspec"] = {"name": "no-such-kernel", "display_name": "Nope", "language": "python"}


def _drop_answer(nb, ctx):
    nb.cells.remove(_answer(nb, "corr2d"))


def _wrong_version(nb, ctx):
    data = json.loads(nbformat.writes(nb))
    data["nbformat"] = 99
    return json.dumps(data).encode()


def _utf16(nb, ctx):
    return nbformat.writes(nb).encode("utf-16")


def _bad_schema(nb, ctx):
    data = json.loads(nbformat.writes(nb))
    data["cells"] = "not a list"
    return json.dumps(data).encode()


def _truncated(nb, ctx):
    text = nbformat.writes(nb).encode()
    return text[: len(text) // 2]


HUNT_PREAMBLE = """
import os, stat, sys, time
_SECRETS = [bytes.fromhex(_h)[::-1] for _h in @SECRETS@]  # the values exist only from here on, in memory
assert _SECRETS, "no secrets were planted (Context.secrets)"
_found, _seen = [], [0, 0]  # where a secret was found; [sources looked at, bytes read]
_DEADLINE = time.monotonic() + 2.0  # well within the cell limit
_BUDGET = [256 << 20]  # bytes the file walks may read in all
_SKIP = ("/proc", "/sys", "/dev")


def _look(where, data):
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    _seen[0] += 1
    _seen[1] += len(data)
    if any(_s in data for _s in _SECRETS):
        _found.append(where)


def _read(path, limit=1 << 20):
    # up to limit bytes of a regular file (after links); nothing else, so no FIFO or device can block
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open(path, "rb") as _f:
            return _f.read(limit)
    except (OSError, ValueError, OverflowError):
        return b""


def _more():
    return not _found and time.monotonic() < _DEADLINE


def _listdir(path):
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _pids():
    return [p for p in _listdir("/proc") if p.isdigit()]


_walked = set()


def _walk(top):
    # every readable file under top (no link to a folder followed), until a secret, the deadline or the budget
    for _root, _dirs, _files in os.walk(top):
        _real = os.path.realpath(_root)
        if _real in _walked or _real in _SKIP or _real.startswith(tuple(k + "/" for k in _SKIP)) or _found or _BUDGET[0] <= 0 or time.monotonic() > _DEADLINE:
            _dirs[:] = []
            continue
        _walked.add(_real)
        _dirs[:] = [d for d in sorted(_dirs) if os.path.join(_real, d) not in _SKIP]
        for _n in sorted(_files):
            if _found or _BUDGET[0] <= 0 or time.monotonic() > _DEADLINE:
                break
            _data = _read(os.path.join(_root, _n), min(1 << 20, _BUDGET[0]))
            _BUDGET[0] -= len(_data)
            _look(os.path.join(_root, _n), _data)
"""
HUNT_END = """
print("@SUCCESS@" if _found else "no secret found", "- looked at", _seen[0], "sources,", _seen[1], "bytes:",
      _found[:10])
del _SECRETS
"""


def _hunt(code):
    """A secret hunt before the answer to ``add``: ``code`` calls ``_look(where, data)`` on what it finds."""

    def build(nb, ctx):
        text = HUNT_PREAMBLE + textwrap.dedent(code) + HUNT_END
        for key, value in {
            "@SECRETS@": ctx.encoded_secrets,
            "@SUCCESS@": SUCCESS,
            "@COURSE@": repr(ctx.course),
            "@OUTSIDE@": repr(ctx.outside),
        }.items():
            text = text.replace(key, value)
        cell = _answer(nb, "add")
        cell.source = text.lstrip() + "\n" + cell.source
        return nb

    return build


HUNT_OWN_ENVIRONMENT = """
import subprocess
for _k, _v in os.environb.items():
    _look(f"os.environ[{_k!r}]", _k + b"=" + _v)
for _p in ("/proc/self/environ", "/proc/thread-self/environ", f"/proc/{os.getpid()}/environ"):
    _look(_p, _read(_p))
_look("env, run by the kernel", subprocess.run(["env"], capture_output=True).stdout)
"""
HUNT_PROC_ENVIRON_CMDLINE = """
for _p in _pids():
    for _d in [f"/proc/{_p}"] + [f"/proc/{_p}/task/{_t}" for _t in _listdir(f"/proc/{_p}/task")]:
        for _n in ("environ", "cmdline"):
            _look(f"{_d}/{_n}", _read(f"{_d}/{_n}"))
_look("/proc/self/cmdline", _read("/proc/self/cmdline"))
"""
HUNT_PROC_ENTRIES = """
def _proc_tree(path, depth):
    for _n in _listdir(path):
        _p = f"{path}/{_n}"
        if _n in ("mem", "clear_refs") or not _more():
            continue
        if os.path.islink(_p) or not os.path.isdir(_p):
            _look(_p, _read(_p))  # through a link (fd/N, exe...) only to a regular file
        elif depth:
            _proc_tree(_p, depth - 1)


_mine = ["1", "self", "thread-self", str(os.getppid())]
for _p in dict.fromkeys(_mine):
    _proc_tree(f"/proc/{_p}", 3)  # every entry: status, maps, mountinfo, task/*/..., fd/* (the open files)...
for _p in _pids():
    for _fd in _listdir(f"/proc/{_p}/fd") if _more() else []:  # the files every visible process has open
        _look(f"/proc/{_p}/fd/{_fd}", _read(f"/proc/{_p}/fd/{_fd}"))
for _n in _listdir("/proc"):  # and the system-wide files (not kmsg: reading it waits)
    if _more() and not _n.isdigit() and _n not in ("kmsg", "kcore", "self", "thread-self") and not os.path.isdir(f"/proc/{_n}"):
        _look(f"/proc/{_n}", _read(f"/proc/{_n}"))
"""
HUNT_KERNEL_FILES = """
_conn = [sys.argv[_i + 1] for _i, _a in enumerate(sys.argv[:-1]) if _a == "-f"]
try:
    from ipykernel.connect import get_connection_file
    _conn.append(get_connection_file())
except Exception:  # not in a kernel
    pass
_runtime = [os.path.dirname(os.path.abspath(_c)) for _c in _conn]
try:
    from jupyter_core.paths import jupyter_runtime_dir
    _runtime.append(jupyter_runtime_dir())
except Exception:
    pass
for _c in _conn:  # the connection file
    _look(_c, _read(_c))
# the grader's places a student can guess, the runtime folder, HOME, /tmp, /etc, the notebook's folder
for _top in [@COURSE@, @OUTSIDE@, os.path.abspath("../../.."), *_runtime, os.environ.get("JUPYTER_RUNTIME_DIR", ""),
             os.path.expanduser("~"), "/tmp", os.environ.get("TMPDIR", ""), "/etc", os.getcwd()]:
    if _top:
        _walk(_top)
"""
HUNT_DISK = """
# the guessable places first, then everything readable, within the deadline and the byte budget
for _top in [@COURSE@, @OUTSIDE@, os.path.expanduser("~"), "/tmp", "/etc", os.path.abspath("../../.."), "/root",
             "/home", "/var", "/run", "/opt", "/srv", "/mnt", "/"]:
    _walk(_top)
print("walked", len(_walked), "folders", "(cut short)" if time.monotonic() > _DEADLINE or _BUDGET[0] <= 0 else "")
"""

STUCK = """import time as _t
while True:  # swallows the interrupt
    try:
        _t.sleep(0.05)
    except KeyboardInterrupt:
        pass
"""

CASES = [
    # ---- files that are not notebooks -----------------------------------------------------
    Case("not_json", _raw(lambda nb, ctx: b"this is not a notebook\n"), "malformed", 0, "not appear to be JSON"),
    Case("empty_file", _raw(lambda nb, ctx: b""), "malformed", 0, "malformed notebook"),
    Case("truncated", _raw(_truncated), "malformed", 0, "malformed notebook"),
    Case("wrong_nbformat", _raw(_wrong_version), "malformed", 0, "malformed notebook"),
    Case("not_utf8", _raw(_utf16), "malformed", 0, "malformed notebook"),
    Case("bad_schema", _raw(_bad_schema), "malformed", 0, "malformed notebook"),
    Case("binary_garbage", _raw(lambda nb, ctx: bytes(range(256)) * 64), "malformed", 0, "malformed notebook"),
    # ---- notebooks edited where they must not be -------------------------------------------
    Case("graded_cells_deleted", _edit(_drop_tests), "flagged", 0, "test cells missing from the submission"),
    Case("test_cell_edited", _edit(_edit_test), "ok", 2),  # the original test runs, and fails
    Case("grade_id_changed", _edit(_rename_id), "malformed", 0, "nbgrader cell metadata was changed"),
    Case("points_changed", _edit(_points), "ok", 4),  # points come from the gradebook
    Case("duplicated_cell_ids", _raw(_duplicate), "malformed", 0, "nbgrader cell metadata was changed"),
    Case("ten_thousand_cells", _edit(_many_cells), "ok", 4),
    Case("one_megabyte_line", _edit(_long_line), "ok", 4),
    Case("answer_cell_deleted", _edit(_drop_answer), "ok", 2),
    Case("missing_kernelspec", _edit(_no_kernel), "ok", 4),
    # ---- time ------------------------------------------------------------------------------
    Case("endless_loop_in_answer", _prefix("corr2d", "while True:\n    pass\n"), "timeout", 2, "timed out at cell 5"),
    Case(
        "endless_sleep_in_answer",
        _prefix("corr2d", "import time\ntime.sleep(10 ** 6)\n"),
        "timeout",
        2,
        "timed out at cell 5",
    ),
    Case(
        "endless_loop_in_test_call",
        _replace("corr2d", "def corr2d(x, k):\n    while True:\n        pass\n"),
        "timeout",
        2,
        "timed out at cell 6 (test_corr2d)",
    ),
    Case(
        "endless_sleep_in_test_call",
        _replace("corr2d", "def corr2d(x, k):\n    import time\n    time.sleep(10 ** 6)\n"),
        "timeout",
        2,
        "timed out at cell 6 (test_corr2d)",
    ),
    Case("ignores_interrupts", _prefix("corr2d", STUCK), "timeout", 1, "the kernel ignored the interrupt"),
    # ---- the kernel goes away --------------------------------------------------------------
    Case("os_exit", _prefix("corr2d", "import os\nos._exit(0)\n"), "kernel_died", 1, "kernel died at cell 5"),
    Case("sys_exit", _prefix("corr2d", "import sys\nsys.exit(3)\n"), "ok", 2),
    Case(
        "segfault_ctypes",
        _prefix("corr2d", "import ctypes\nctypes.string_at(0)\n"),
        "kernel_died",
        1,
        "kernel died at cell 5",
    ),
    Case("keyboard_interrupt", _prefix("corr2d", "raise KeyboardInterrupt\n"), "ok", 2),
    Case(
        "exit_in_test_call",
        _replace("corr2d", "def corr2d(x, k):\n    import os\n    os._exit(1)\n"),
        "kernel_died",
        1,
        "kernel died at cell 6 (test_corr2d)",
    ),
    Case(
        "memory_bomb",
        _prefix("corr2d", "_hog = []\nwhile True:\n    _hog.append(bytearray(1 << 26))\n"),
        "out_of_memory",
        1,
        "out of memory at cell 5",
    ),
    Case(
        "fork_bomb",
        _prefix(
            "corr2d",
            """
        import os, time
        for _ in range(300):  # bounded, so a broken defence cannot take the machine down
            if os.fork() == 0:
                time.sleep(120)
                os._exit(0)
        time.sleep(120)
        """,
        ),
        "too_many_processes",
        1,
        "too many processes at cell 5",
    ),
    # ---- output ----------------------------------------------------------------------------
    Case("hundred_megabytes_printed", _prefix("add", "print('x' * (100 * 2 ** 20))\n"), "ok", 4),
    Case(
        "huge_image",
        _prefix(
            "add",
            """
        from IPython.display import display
        display({{"image/png": "iVBORw0KGgo" * (3 * 2 ** 20)}}, raw=True)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "warnings_spam",
        _prefix(
            "add",
            """
        import sys, warnings
        for _i in range(20000):
            warnings.warn(f"spam {{_i}}")
            print("stderr spam", _i, file=sys.stderr)
        """,
        ),
        "ok",
        4,
    ),
    # ---- getting out -----------------------------------------------------------------------
    Case(
        "read_hidden_tests",
        _prefix(
            "add",
            """
        import glob, os
        for _p in ["{ctx.course}/source/checked/checked.ipynb", "{ctx.course}/release/checked/checked.ipynb",
                   *glob.glob("../../../source/**/*", recursive=True)]:
            try:
                print("{SUCCESS}", _p, open(_p, errors="replace").read()[:20000])
            except OSError as _e:
                print("blocked:", _p, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "read_gradebook",
        _prefix(
            "add",
            """
        for _p in ["{ctx.course}/gradebook.db", "../../../gradebook.db"]:
            try:
                _data = open(_p, "rb").read()
                print("{SUCCESS}", _p, len(_data), _data.count(b"HIDDEN"))
            except OSError as _e:
                print("blocked:", _p, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "write_gradebook",
        _prefix(
            "add",
            """
        for _p in ["{ctx.course}/gradebook.db", "../../../gradebook.db"]:
            try:
                with open(_p, "r+b") as _f:
                    _f.write(b"garbage" * 1000)
                print("{SUCCESS}", _p)
            except OSError as _e:
                print("blocked:", _p, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "write_other_student",
        _prefix(
            "add",
            """
        import os
        for _d in ["{ctx.course}/submitted/{ctx.victim}/checked", "{ctx.course}/autograded/{ctx.victim}/checked"]:
            try:
                os.makedirs(_d, exist_ok=True)
                open(os.path.join(_d, "planted.txt"), "w").write("mine")
                open(os.path.join(_d, "checked.ipynb"), "w").write("{{}}")
                print("wrote", _d)  # (into the sandbox's own /tmp at most: checked from outside)
            except OSError as _e:
                print("blocked:", _d, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "write_outside",
        _prefix(
            "add",
            """
        import os
        for _p in ["{ctx.outside}/planted.txt", "{ctx.course}/planted.txt", os.path.expanduser("~/planted.txt")]:
            try:
                open(_p, "w").write("mine")
                print("wrote", _p)
            except OSError as _e:
                print("blocked:", _p, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "network_socket",
        _prefix(
            "add",
            """
        import socket
        for _addr in [("127.0.0.1", {ctx.port}), ("1.1.1.1", 53), ("pypi.org", 443)]:
            try:
                socket.create_connection(_addr, timeout=2).close()
                print("{SUCCESS}", _addr)
            except OSError as _e:
                print("blocked:", _addr, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "kill_parent",
        _prefix(
            "add",
            """
        import os, signal
        for _pid in {{os.getppid(), 1, *[int(p) for p in os.listdir("/proc") if p.isdigit()]}} - {{os.getpid()}}:
            try:
                os.kill(_pid, signal.SIGKILL)
                print("signalled", _pid)
            except OSError as _e:
                print("blocked:", _pid, type(_e).__name__)
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "see_other_processes",
        _prefix(
            "add",
            """
        import os
        for _p in [p for p in os.listdir("/proc") if p.isdigit()]:
            try:
                _cmd = open(f"/proc/{{_p}}/cmdline", "rb").read()
            except OSError:
                continue
            if b"nbgrader" in _cmd or b"pytest" in _cmd:
                print("{SUCCESS}", _p, _cmd[:200])
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "read_secrets",
        _prefix(
            "add",
            """
        import os
        if os.environ.get("{ctx.secret_var}"):
            print("{SUCCESS}", os.environ["{ctx.secret_var}"])
        """,
        ),
        "ok",
        4,
    ),
    # ---- the grader's secrets (planted in its environment, searched for by value) -----------
    Case("secrets_in_own_environment", _hunt(HUNT_OWN_ENVIRONMENT), "ok", 4, hunt=("sandbox", "whitelist")),
    Case(
        "secrets_in_proc_environ_and_cmdline",
        _hunt(HUNT_PROC_ENVIRON_CMDLINE),
        "ok",
        4,
        hunt=("sandbox", "env -i", "whitelist"),
    ),
    Case("secrets_in_proc_entries", _hunt(HUNT_PROC_ENTRIES), "ok", 4, hunt=("sandbox", "env -i", "whitelist")),
    Case("secrets_in_kernel_files", _hunt(HUNT_KERNEL_FILES), "ok", 4, hunt=("sandbox",)),
    Case("secrets_anywhere_on_disk", _hunt(HUNT_DISK), "ok", 4, hunt=("sandbox",)),
    Case("change_directory", _prefix("add", "import os\nos.chdir('/')\nos.chdir('/tmp')\n"), "ok", 4),
    Case(
        "symlink_to_hidden_tests",
        _prefix(
            "add",
            """
        import os
        os.symlink("{ctx.course}/source/checked/checked.ipynb", "leak.ipynb")
        os.symlink("{ctx.course}", "course")
        """,
        ),
        "ok",
        4,
    ),
    Case(
        "huge_file_written",
        _prefix(
            "add",
            """
        with open("big.bin", "wb") as _f:
            _f.write(b"0" * (200 * 2 ** 20))
        """,
        ),
        "ok",
        4,
    ),
    # ---- attempts on the hidden tests (wrong corr2d: must stay at 2 of 4) -------------------
    Case(
        "patch_numpy_and_check",
        _tamper("""
        import numpy, cnncourse.checks.lab1
        numpy.allclose = lambda *a, **k: True
        cnncourse.checks.lab1.check_corr2d = lambda *a, **k: None
        """),
        "flagged",
        2,
        "numpy.allclose",
        tamper=True,
    ),
    Case(
        "rebind_test_names",
        _tamper("""
        import types
        class _Fake:
            def __getattr__(self, name):
                return getattr(__import__("numpy"), name)
            @staticmethod
            def allclose(*a, **k):
                return True
        np = _Fake()
        checks = types.SimpleNamespace(check_corr2d=lambda f: None)
        """),
        "flagged",
        2,
        "the notebook name",
        tamper=True,
    ),
    Case(
        "patch_while_test_runs",
        _replace(
            "corr2d",
            """
        def corr2d(x, k):
            import numpy
            numpy.allclose = lambda *a, **kw: True
            return numpy.zeros((len(x) - len(k) + 1, len(x[0]) - len(k[0]) + 1))
        """,
        ),
        "flagged",
        2,
        "while it ran",
        tamper=True,
    ),
    Case(
        "strip_asserts",
        _tamper("""
        import ast
        class _NoAsserts(ast.NodeTransformer):
            def visit_Assert(self, node):
                return ast.Pass()
        get_ipython().ast_transformers.append(_NoAsserts())
        checks.check_corr2d = lambda *a, **k: None
        """),
        "flagged",
        2,
        "ast_transformers",
        tamper=True,
    ),
    Case(
        "blank_test_cells",
        _tamper("""
        get_ipython().input_transformers_cleanup.append(lambda lines: ["pass\\n"] if any("assert" in l or "checks." in l for l in lines) else lines)
        """),
        "flagged",
        2,
        "input_transformers_cleanup",
        tamper=True,
    ),
    Case(
        "patch_transform_cell",
        _tamper("""
        _ip = get_ipython()
        _orig_transform = _ip.transform_cell
        _ip.transform_cell = lambda raw: "pass\\n" if ("assert" in raw or "checks." in raw) else _orig_transform(raw)
        """),
        "flagged",
        2,
        "transform_cell",
        tamper=True,
    ),
    Case(
        "patch_the_checks_oracle",
        _tamper("""
        import scipy.signal
        scipy.signal.correlate2d = lambda a, k, mode="valid", **kw: corr2d(a, k)
        """),
        "flagged",
        1,
        "scipy.signal.correlate2d",
    ),  # not put back (never seen whole): every later test scores 0
    Case(
        "hide_tracebacks",
        _tamper("""
        _ip = get_ipython()
        _ip.showtraceback = lambda *a, **k: None
        _ip._showtraceback = lambda *a, **k: None
        """),
        "flagged",
        2,
        "showtraceback",
        tamper=True,
    ),
]

CONTROLS = {"control_perfect_1": ("ok", 4), "control_perfect_2": ("ok", 4), "control_blank": ("ok", 0)}
