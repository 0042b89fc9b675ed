"""The course on JupyterHub, with the templates of deploy/jupyterhub/.

A real JupyterHub (its proxy from the npm registry) starts on loopback with
deploy/jupyterhub/jupyterhub_config.py and nbgrader_config.global.py; only
the authenticator (a password for everyone) and the spawner (local processes
without system accounts, so it runs as root in CI) are swapped for the test.
Then the course's life runs through the hub's REST API, the formgrader
service's API and the student's own server (spawned by the hub): the
instructor enrols a student (``nbgrader db student add`` in the formgrader's
environment, which adds them to the hub group) and releases Lab 1, the
student fetches, completes and submits it, and the hub's ``cnncourse watch``
service (the template with ``CNNCOURSE_WATCH=1``) collects, grades and
releases feedback with nobody's action, so the student fetches their score and
the instructor finds the class graded in the formgrader. With Debian's chromium present, both then log in
through the hub's login page and screenshots of the graded class and of the
feedback go to output/e2e/jupyterhub/. The deployment's other files
(Zero-to-JupyterHub values, data pre-filling) are checked too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import time

import psutil
import pytest

import e2e_helpers as e2e

DEPLOY = e2e.ROOT / "deploy"
HUB_CONFIG = DEPLOY / "jupyterhub" / "jupyterhub_config.py"
GLOBAL_NBGRADER_CONFIG = DEPLOY / "jupyterhub" / "nbgrader_config.global.py"
LAB = "lab1-convolution"
COURSE = "cnncourse"
INSTRUCTOR, STUDENT = "ada", "sam"

OVERLAY = '''\
"""Test-only settings on top of the course's template (written by tests/test_jupyterhub.py)."""
c = get_config()  # noqa: F821
load_subconfig({template!r})  # noqa: F821

c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{state}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{state}/jupyterhub_cookie_secret"

# Everyone logs in with one password; users' servers are local processes
# with their own home folder but no system account (CI runs as root).
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{homes}/{{username}}"

# Where a real machine keeps /etc/jupyter and /srv/nbgrader/exchange.
shared = {{"JUPYTER_CONFIG_PATH": {etc!r}, "CNNCOURSE_EXCHANGE": {exchange!r},
          "CNNCOURSE_PROFILE": "fast"}}
c.Spawner.environment.update(shared)
for service in c.JupyterHub.services:
    if service["name"] == {course!r}:
        service["environment"].update(shared, HOME={grader_home!r})
        service["api_token"] = {formgrader_token!r}  # known, for the instructor's terminal (below)
    if service["name"] == {course!r} + "-watch":  # grading on submit, as the grader account would run it
        service["environment"].update(shared, HOME={grader_home!r})

# The test drives the hub's REST API with this service's token.
c.JupyterHub.services.append({{"name": "e2e-driver", "api_token": {driver_token!r}}})
c.JupyterHub.load_roles.append({{
    "name": "e2e-driver", "services": ["e2e-driver"],
    "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "read:groups", "list:groups",
               "list:services", "read:services"],
}})
'''


def _need_tools():
    if not shutil.which("node"):
        pytest.skip("node is not installed: JupyterHub's proxy (configurable-http-proxy) needs it")
    if importlib.util.find_spec("jupyterhub") is None:
        pytest.skip("the Python package 'jupyterhub' is not installed (pip install jupyterhub)")
    chp = e2e.configurable_http_proxy()
    if chp is None:
        pytest.skip("configurable-http-proxy is absent and npm cannot install it")
    return chp


class Hub:
    """A running hub and the helpers to talk to it as its users."""

    def __init__(self, url, driver_token, server, homes, course_dir, env):
        self.url, self.driver_token, self.server = url, driver_token, server
        self.homes, self.course_dir, self.env = homes, course_dir, env

    def api(self, method, path, body=None, token=None, expect=(200, 201, 204), timeout=60):
        status, data = e2e.http(
            method, f"{self.url}/hub/api{path}", token=token or self.driver_token, body=body, timeout=timeout
        )
        assert status in expect, f"{method} /hub/api{path}: {status} {data}\n--- hub log ---\n{self.server.log()}"
        return data

    def token_for(self, user):
        return self.api("POST", f"/users/{user}/tokens", {"note": "course walk-through", "expires_in": 3600})["token"]

    def formgrader(self, method, path, token, body=None, expect=(200,), timeout=300):
        status, data = e2e.http(
            method, f"{self.url}/services/{COURSE}/formgrader/api/{path}", token=token, body=body, timeout=timeout
        )
        assert status in expect, f"formgrader {method} {path}: {status} {data}\n{self.server.log()}"
        return data

    def user_server(self, user, method, path, token, body=None, expect=(200, 201), timeout=120):
        status, data = e2e.http(method, f"{self.url}/user/{user}/{path}", token=token, body=body, timeout=timeout)
        assert status in expect, f"{user}'s server {method} {path}: {status} {data}\n{self.server.log()}"
        return data

    def start_server(self, user):
        """Ask the hub to spawn ``user``'s server (it comes up in the background)."""
        self.api("POST", f"/users/{user}/server", expect=(201, 202))

    def wait_for_server(self, user, timeout=150):
        def ready():
            model = self.api("GET", f"/users/{user}")
            return model.get("servers", {}).get("", {}).get("ready")

        e2e.wait_until(ready, timeout, f"{user}'s server to start")

    def stop(self):
        for user in (STUDENT,):
            try:
                e2e.http("DELETE", f"{self.url}/hub/api/users/{user}/server", token=self.driver_token, timeout=30)
            except OSError:
                pass
        # The proxy and the users' servers run in sessions of their own: whatever the hub started
        # and leaves behind is ended too, found among its descendants before it stops.
        try:
            started = psutil.Process(self.server.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        self.server.stop(grace=20)
        for proc in started:
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(started, timeout=10)
        for proc in alive:
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    chp = _need_tools()
    from autograder import course

    base = tmp_path_factory.mktemp("hub")
    logs = e2e.OUTPUT / "jupyterhub"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    state, homes, etc = base / "state", base / "homes", base / "etc" / "jupyter"
    for d in (state, homes, etc):
        d.mkdir(parents=True)
    exchange = base / "exchange"
    exchange.mkdir()
    exchange.chmod(0o1777)
    # /etc/jupyter/nbgrader_config.py of the deployment, as it is
    shutil.copy(GLOBAL_NBGRADER_CONFIG, etc / "nbgrader_config.py")
    # The grader account's clone of the course: config and the lab's source.
    grader_home = homes / f"grader-{COURSE}"
    course_dir = course.make_course_copy(grader_home / COURSE, [LAB])

    port, hub_port, proxy_api_port, fg_port = (e2e.free_port() for _ in range(4))
    driver_token, formgrader_token, password = secrets.token_hex(24), secrets.token_hex(24), secrets.token_hex(8)
    overlay = state / "jupyterhub_config.py"
    overlay.write_text(
        OVERLAY.format(
            template=str(HUB_CONFIG),
            port=port,
            hub_port=hub_port,
            proxy_api_port=proxy_api_port,
            chp=chp,
            state=state,
            password=password,
            homes=homes,
            etc=str(etc),
            exchange=str(exchange),
            course=COURSE,
            grader_home=str(grader_home),
            driver_token=driver_token,
            formgrader_token=formgrader_token,
        )
    )

    env = dict(os.environ)
    for var in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_API_URL", "JUPYTER_CONFIG_PATH", "MPLBACKEND"):
        env.pop(var, None)
    env["PATH"] = str(e2e.venv_bin()) + os.pathsep + env.get("PATH", "")
    env.update(
        {
            # the template's settings, as a hub's systemd unit would set them
            "CNNCOURSE_INSTRUCTORS": INSTRUCTOR,
            "CNNCOURSE_STUDENTS": "",
            "CNNCOURSE_GRADER_ACCOUNT": "",  # no system accounts in the test: the service runs as the hub's user
            "CNNCOURSE_COURSE_DIR": str(course_dir),
            "CNNCOURSE_FORMGRADER_PORT": str(fg_port),
            "CNNCOURSE_SINGLEUSER": f"{e2e.venv_bin() / 'jupyterhub-singleuser'} --allow-root",
            "CNNCOURSE_DATA_DIR": str(base / "data"),
            # grading on submit: the course's watch service, polling often so the test does not wait long
            "CNNCOURSE_WATCH": "1",
            "CNNCOURSE_WATCH_ARGS": "--interval 3 --max-per-day 3 --workers 1",
        }
    )
    server = e2e.Server(
        "jupyterhub", [sys.executable, "-m", "jupyterhub", "-f", overlay], cwd=state, env=env, log_dir=logs
    )
    h = Hub(f"http://127.0.0.1:{port}", driver_token, server, homes, course_dir, env)
    h.exchange, h.etc, h.grader_home, h.password = exchange, etc, grader_home, password
    # A terminal opened in the formgrader service has the service's environment.
    h.grader_env = dict(
        env,
        JUPYTER_CONFIG_PATH=str(etc),
        CNNCOURSE_EXCHANGE=str(exchange),
        CNNCOURSE_PROFILE="fast",
        HOME=str(grader_home),
        JUPYTERHUB_API_TOKEN=formgrader_token,
        JUPYTERHUB_API_URL=f"http://127.0.0.1:{hub_port}/hub/api",
        JUPYTERHUB_USER=f"grader-{COURSE}",
        JUPYTERHUB_SERVICE_NAME=COURSE,
    )
    try:
        server.wait_for_http(f"{h.url}/hub/api/", timeout=90)
        yield h
    finally:
        h.stop()


# --------------------------------------------------------------------------
# The course's life on the hub
# --------------------------------------------------------------------------
def _login(hub_url, user, password):
    """Log in on the hub's login page (form and XSRF cookie, as a browser does); return the status."""
    import http.cookiejar
    import urllib.error
    import urllib.parse
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    with opener.open(f"{hub_url}/hub/login", timeout=30) as resp:
        resp.read()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    form = urllib.parse.urlencode({"username": user, "password": password, "_xsrf": xsrf}).encode()
    try:
        with opener.open(f"{hub_url}/hub/login", data=form, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.slow
def test_course_life_cycle_on_jupyterhub(hub):
    from autograder import course

    t0 = time.monotonic()
    timings = {}

    def lap(name):
        timings[name] = round(time.monotonic() - t0, 1)

    # The template lets the instructor log in (the test's password), nobody else.
    assert _login(hub.url, INSTRUCTOR, hub.password) == 302
    assert _login(hub.url, INSTRUCTOR, "wrong password") == 403
    assert _login(hub.url, "mallory", hub.password) == 403

    # The formgrader service is up; only the course's graders may open it.
    ada = hub.token_for(INSTRUCTOR)
    hub.api("POST", f"/users/{STUDENT}", expect=(201, 409))  # the student's first login
    sam = hub.token_for(STUDENT)
    e2e.wait_until(
        lambda: (
            e2e.http("GET", f"{hub.url}/services/{COURSE}/formgrader/api/assignments", token=ada, timeout=10)[0] == 200
        ),
        120,
        "the formgrader service",
    )
    assert e2e.http("GET", f"{hub.url}/services/{COURSE}/formgrader/api/assignments", token=sam)[0] == 403
    groups = {g["name"]: g["users"] for g in hub.api("GET", "/groups")}
    assert INSTRUCTOR in groups[f"formgrade-{COURSE}"] and INSTRUCTOR in groups["instructors"]
    lap("hub and formgrader up")

    # The student logs in: the hub spawns their server while the instructor prepares the lab.
    hub.start_server(STUDENT)

    # 1. The instructor enrols the student from a terminal of the formgrader (nbgrader adds them to the
    #    hub's nbgrader-<course> group, with the service's token) and releases Lab 1 in the formgrader.
    assert STUDENT not in hub.api("GET", f"/groups/nbgrader-{COURSE}")["users"]
    enrol = subprocess.run(
        [sys.executable, "-m", "nbgrader", "db", "student", "add", STUDENT, "--first-name=Sam", "--last-name=Student"],
        cwd=hub.course_dir,
        env=hub.grader_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert enrol.returncode == 0, enrol.stdout + enrol.stderr
    assert STUDENT in hub.api("GET", f"/groups/nbgrader-{COURSE}")["users"], enrol.stdout + enrol.stderr
    assert [s["id"] for s in hub.formgrader("GET", "students", ada)] == [STUDENT]
    generated = hub.formgrader("POST", f"assignment/{LAB}/assign", ada)
    assert generated["success"], generated
    released = hub.formgrader("POST", f"assignment/{LAB}/release", ada)
    assert released["success"], released
    assert (hub.exchange / COURSE / "outbound" / LAB / f"{LAB}.ipynb").exists()  # path_includes_course
    lap("released")

    # 2. The student's server (spawned by the hub) fetches the lab.
    hub.wait_for_server(STUDENT)
    listing = hub.user_server(STUDENT, "GET", f"assignments?course_id={COURSE}", sam)
    assert listing["success"], listing
    assert [(a["assignment_id"], a["status"]) for a in listing["value"]] == [(LAB, "released")]
    fetched = hub.user_server(STUDENT, "POST", "assignments/fetch", sam, {"assignment_id": LAB, "course_id": COURSE})
    entry = next(a for a in fetched["value"] if a["status"] == "fetched")
    assert entry["path"] == f"{COURSE}/{LAB}", entry  # path_includes_course: <home>/<course>/<lab>
    folder = hub.homes / STUDENT / entry["path"]
    notebook = folder / f"{LAB}.ipynb"
    assert notebook.exists(), entry
    lap("fetched")

    # 3. The student completes the lab (saved through their server) and submits it.
    answer = course.perfect_submission(hub.course_dir / "source" / LAB / f"{LAB}.ipynb", notebook)
    rel = notebook.relative_to(hub.homes / STUDENT).as_posix()
    hub.user_server(
        STUDENT,
        "PUT",
        f"api/contents/{rel}",
        sam,
        {"type": "notebook", "format": "json", "content": json.loads(json.dumps(answer))},
    )
    submitted = hub.user_server(STUDENT, "POST", "assignments/submit", sam, {"assignment_id": LAB, "course_id": COURSE})
    assert submitted["success"], submitted
    inbound = list((hub.exchange / COURSE / "inbound").glob(f"{STUDENT}+{LAB}+*"))
    assert len(inbound) == 1, "the submission is not filed under the student's hub name"
    lap("submitted")

    # 4. Nobody grades by hand: the hub's watch service collects, grades and releases feedback, and the
    #    student's Assignments tab fetches it.
    feedback = []

    def feedback_arrived():
        got = hub.user_server(
            STUDENT, "POST", "assignments/fetch_feedback", sam, {"assignment_id": LAB, "course_id": COURSE}
        )
        assert got["success"], got
        feedback[:] = list((folder / "feedback").glob(f"*/{LAB}.html"))
        return bool(feedback)

    e2e.wait_until(feedback_arrived, 300, "the watch service's feedback (output/e2e/jupyterhub/ has the hub's log)")
    lap("graded on submit, feedback fetched")
    grades = course.read_grades(hub.course_dir, LAB)
    assert STUDENT in grades, grades
    g = grades[STUDENT]
    assert g.score is not None and g.max_score > 0 and g.score == g.max_score, g
    html = feedback[0].read_text()
    assert f"{LAB} (Score: {g.max_score:.1f} / {g.max_score:.1f})" in html, html[:2000]
    assert "BEGIN HIDDEN TESTS" not in html and "hidden tests of" in html  # their source is not shown

    # 5. The instructor finds the class graded in the formgrader.
    submissions = hub.formgrader("GET", f"submissions/{LAB}", ada)
    assert [(s["student"], s["autograded"], s["score"]) for s in submissions] == [(STUDENT, True, g.max_score)]
    lap("formgrader shows the grade")

    # 6. What both see in a browser (when Debian's chromium is there): screenshots in output/e2e/jupyterhub/.
    if e2e.chromium_path() and importlib.util.find_spec("playwright"):
        _browser_tour(hub, feedback[0].relative_to(hub.homes / STUDENT).as_posix(), g)
        lap("browser tour")
    (e2e.OUTPUT / "jupyterhub" / "timings.json").write_text(json.dumps(timings, indent=1))


def _browser_tour(hub, feedback_rel, grade):
    """The instructor logs in and sees the graded class in the formgrader; the student sees the feedback."""
    from playwright.sync_api import sync_playwright

    shots = e2e.OUTPUT / "jupyterhub"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=e2e.chromium_path(), headless=True, args=e2e.CHROMIUM_ARGS)
        try:
            for user in (INSTRUCTOR, STUDENT):
                context = browser.new_context(viewport={"width": 1300, "height": 850})
                context.set_default_timeout(60_000)
                page = context.new_page()
                page.goto(f"{hub.url}/hub/login")
                page.fill("#username_input", user)
                page.fill("#password_input", hub.password)
                page.click("#login_submit")
                page.wait_for_url(lambda url: "/hub/login" not in url)
                if user == INSTRUCTOR:
                    page.goto(f"{hub.url}/services/{COURSE}/formgrader/manage_submissions/{LAB}")
                    page.wait_for_selector(f"text={STUDENT}")
                    body = page.inner_text("body")
                    assert "Manage Submissions" in body or LAB in body, body
                    page.screenshot(path=str(shots / "hub-1-instructor-formgrader.png"))
                else:
                    page.goto(f"{hub.url}/user/{STUDENT}/files/{feedback_rel}")
                    page.wait_for_selector("text=Exercise")
                    body = page.inner_text("body")
                    assert f"{grade.max_score:g}" in body, body[:2000]
                    page.screenshot(path=str(shots / "hub-2-student-feedback.png"))
                context.close()
        finally:
            browser.close()


# --------------------------------------------------------------------------
# The other deployment files
# --------------------------------------------------------------------------
def test_zero_to_jupyterhub_values_have_the_course_and_a_gpu_profile():
    import yaml
    from jupyterhub.scopes import _check_scopes_exist
    from traitlets.config import Config

    values = yaml.safe_load((DEPLOY / "zero-to-jupyterhub" / "values.yaml").read_text())
    profiles = values["singleuser"]["profileList"]
    gpu = [p for p in profiles if "nvidia.com/gpu" in json.dumps(p)]
    assert gpu, "no GPU profile"
    assert gpu[0]["kubespawner_override"]["extra_resource_limits"]["nvidia.com/gpu"] in ("1", 1)
    assert values["singleuser"]["extraEnv"]["CNNCOURSE_DATA_DIR"] == "/srv/cnncourse/data"
    mounts = {m["mountPath"]: m for m in values["singleuser"]["storage"]["extraVolumeMounts"]}
    assert mounts["/srv/cnncourse/data"]["readOnly"] and "/srv/nbgrader/exchange" in mounts
    # every server gets the same nbgrader configuration as on a single machine
    files = values["singleuser"]["extraFiles"]
    nbgrader_conf = next(f for f in files.values() if f["mountPath"] == "/etc/jupyter/nbgrader_config.py")
    assert nbgrader_conf["stringData"] == GLOBAL_NBGRADER_CONFIG.read_text()

    # The hub's extra configuration runs against a config the chart has filled already.
    c = Config()
    c.JupyterHub.load_roles = [{"name": "jupyterhub-idle-culler", "services": ["culler"], "scopes": ["list:users"]}]
    for name, code in values["hub"]["extraConfig"].items():
        exec(compile(code, f"hub.extraConfig.{name}", "exec"), {"c": c, "get_config": lambda: c})
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert "jupyterhub-idle-culler" in roles, "the chart's roles were replaced"
    for role in roles.values():
        _check_scopes_exist(role["scopes"], who_for=role["name"])
    _check_scopes_exist(c.KubeSpawner.server_token_scopes)
    groups = c.JupyterHub.load_groups
    groups = groups.get_value({}) if hasattr(groups, "get_value") else groups  # a lazy update of traitlets
    assert "grader-cnncourse" in groups["formgrade-cnncourse"]["users"] and "nbgrader-cnncourse" in groups
    assert "access:servers!user=grader-cnncourse" in roles["instructor"]["scopes"]

    class FakeSpawner:
        environment = {"A": "1"}
        working_dir = None

        class user:
            name = "grader-cnncourse"

    spawner = FakeSpawner()
    c.KubeSpawner.pre_spawn_hook(spawner)
    assert spawner.working_dir == "/home/jovyan/cnncourse" and spawner.environment["CNNCOURSE_GRADER"] == "1"


def test_hub_template_keeps_earlier_configuration():
    """On TLJH the template is a drop-in: it must add to the users, roles and services set before it."""
    from traitlets.config import Config

    c = Config()
    c.Authenticator.allowed_users = {"someone"}
    c.JupyterHub.services = [{"name": "other", "api_token": "x"}]
    exec(compile(HUB_CONFIG.read_text(), str(HUB_CONFIG), "exec"), {"get_config": lambda: c})
    assert {"someone", "instructor1"} <= set(c.Authenticator.allowed_users)
    assert [s["name"] for s in c.JupyterHub.services] == ["other", "cnncourse"]
    fg = c.JupyterHub.services[1]
    assert fg["user"] == "grader-cnncourse" and fg["environment"]["JUPYTERHUB_USER"] == "grader-cnncourse"
    assert c.Spawner.environment["CNNCOURSE_DATA_DIR"] == "/srv/cnncourse/data"


def test_hub_template_runs_the_watch_as_a_service_when_asked(monkeypatch):
    """CNNCOURSE_WATCH=1 adds `cnncourse watch`, as the grader account in the course directory."""
    from traitlets.config import Config

    monkeypatch.setenv("CNNCOURSE_WATCH", "1")
    monkeypatch.setenv("CNNCOURSE_WATCH_ARGS", "--interval 30 --max-per-day 2")
    c = Config()
    exec(compile(HUB_CONFIG.read_text(), str(HUB_CONFIG), "exec"), {"get_config": lambda: c})
    watch = {s["name"]: s for s in c.JupyterHub.services}["cnncourse-watch"]
    assert watch["command"] == ["cnncourse", "watch", "--interval", "30", "--max-per-day", "2"]
    assert watch["user"] == "grader-cnncourse" and watch["cwd"] == "/home/grader-cnncourse/cnncourse"
    assert watch["environment"]["JUPYTERHUB_USER"] == "grader-cnncourse"
    roles = {r["name"]: r for r in c.JupyterHub.load_roles}
    assert "cnncourse-watch" in roles["cnncourse-formgrader"]["services"]  # reads who takes the course
    assert "url" not in watch  # a managed service with no web server
    monkeypatch.setenv("CNNCOURSE_WATCH", "0")
    c = Config()
    exec(compile(HUB_CONFIG.read_text(), str(HUB_CONFIG), "exec"), {"get_config": lambda: c})
    assert [s["name"] for s in c.JupyterHub.services] == ["cnncourse"]


def test_prefill_data_lays_out_what_the_course_looks_for(tmp_path, monkeypatch):
    """deploy/data/prefill_data.py copies a Keras cache into the layout cnncourse.doctor checks."""
    import importlib.util as iu

    from cnncourse.data import _home, online
    from cnncourse.doctor import OPTIONAL_FILES
    from cnncourse.models import imagenet

    # the script's own copy of the course's file layout and sources
    spec = iu.spec_from_file_location("prefill_data", DEPLOY / "data" / "prefill_data.py")
    prefill = iu.module_from_spec(spec)
    spec.loader.exec_module(prefill)
    assert prefill.KERAS_BASE == online.KERAS_BASE and prefill.FASHION_FILES == online.FASHION_FILES
    assert prefill.KERAS_WEIGHTS_URL == imagenet.KERAS_WEIGHTS_URL
    assert prefill.MOBILENET == imagenet.weights_file("mobilenet_v2", include_top=False, input_shape=(224, 224, 3))
    assert prefill.MOBILENET_CLASSIFIER == imagenet.weights_file("mobilenet_v2", input_shape=(224, 224, 3))
    assert prefill.CLASS_INDEX == imagenet.CLASS_INDEX_FILE
    listed = {rel for _, rels, _ in prefill.items() for rel in rels}
    assert set(OPTIONAL_FILES.values()) <= listed, "cnncourse doctor looks for a file the script does not fill"

    keras_home = tmp_path / "keras"
    (keras_home / "datasets" / "fashion-mnist").mkdir(parents=True)
    (keras_home / "datasets" / "cifar-10-batches-py").mkdir(parents=True)
    (keras_home / "models").mkdir(parents=True)
    (keras_home / "datasets" / "mnist.npz").write_bytes(b"npz")
    for name in (
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ):
        (keras_home / "datasets" / "fashion-mnist" / name).write_bytes(b"gz")
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (keras_home / "datasets" / "cifar-10-batches-py" / name).write_bytes(b"batch")
    weights = imagenet.weights_file("mobilenet_v2", include_top=False, input_shape=(224, 224, 3))
    (keras_home / "models" / weights).write_bytes(b"h5")

    target = tmp_path / "shared"
    script = DEPLOY / "data" / "prefill_data.py"
    proc = subprocess.run(
        [sys.executable, str(script), str(target), "--from", str(keras_home), "--offline"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    monkeypatch.setenv(_home.DATA_DIR_ENV, str(target))
    for name, rel in OPTIONAL_FILES.items():
        assert _home.find_file(rel) == target / rel, name
    assert oct((target / "mnist.npz").stat().st_mode & 0o777) == oct(0o644)
    # --check reports what is there, and fails on a missing file
    assert (
        subprocess.run(
            [sys.executable, str(script), str(target), "--check"], capture_output=True, timeout=60
        ).returncode
        == 0
    )
    (target / "mnist.npz").unlink()
    proc = subprocess.run(
        [sys.executable, str(script), str(target), "--check"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 1 and "mnist.npz" in proc.stdout
    # lab 8's optional Grad-CAM files are reported, not required; where they are, lab 8 finds them
    assert f"models/{prefill.CLASS_INDEX} (optional)" in proc.stdout
    assert "1 item(s) missing: MNIST" in proc.stdout
    (target / "models" / prefill.CLASS_INDEX).write_text(
        json.dumps({str(i): ["n0", f"class {i}"] for i in range(1000)})
    )
    assert imagenet.class_names()[281] == "class 281"
