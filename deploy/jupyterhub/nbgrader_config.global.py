"""nbgrader configuration for every Jupyter server of the hub: students, instructors and the formgrader.

Install it where every server finds it, as ``nbgrader_config.py`` in a
folder of ``jupyter --paths`` (config):

* a plain JupyterHub or a container image: ``/etc/jupyter/nbgrader_config.py``
* The Littlest JupyterHub: ``/opt/tljh/user/etc/jupyter/nbgrader_config.py``
* Zero to JupyterHub: mounted there by ``singleuser.extraFiles`` (see values.yaml)

The course's own settings (course id, timeouts, how solutions are cleared)
stay in the course directory's ``nbgrader_config.py``, which the formgrader
reads from its working folder, after this file.
"""

import os
import pwd

from nbgrader.auth import JupyterHubAuthPlugin

c = get_config()  # noqa: F821 (provided by nbgrader)

# The exchange: one folder shared by every server (world-writable with the
# sticky bit, e.g. `install -d -m 1777 /srv/nbgrader/exchange`; on Kubernetes
# a ReadWriteMany volume). With path_includes_course several courses share it:
# <exchange>/<course>/{outbound,inbound,feedback}.
c.Exchange.root = os.environ.get("CNNCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
c.Exchange.path_includes_course = True
c.CourseDirectory.course_id = os.environ.get("CNNCOURSE_COURSE_ID", "cnncourse")

# Courses come from the hub's groups: nbgrader-<course> takes the course,
# formgrade-<course> grades it. Students only see the courses they are in,
# and enrolling a student in the formgrader adds them to nbgrader-<course>.
c.Authenticator.plugin_class = JupyterHubAuthPlugin

# A student's id is their hub user name, whatever system account their server
# runs as (TLJH runs user "ann" as "jupyter-ann"; Kubernetes runs everyone as
# "jovyan"). Without this nbgrader would file submissions under the account
# name, which matches neither the hub's groups nor the gradebook. The
# formgrader keeps the default "*" (it works on every student): it runs as a
# hub service, or as the server of a "grader-<course>" user, or says
# CNNCOURSE_GRADER=1.
_hub_user = os.environ.get("JUPYTERHUB_USER", "")
_account = pwd.getpwuid(os.getuid()).pw_name  # what nbgrader would use ($USER may already say the hub name)
_grading = (
    bool(os.environ.get("JUPYTERHUB_SERVICE_NAME"))
    or _hub_user.startswith("grader-")
    or os.environ.get("CNNCOURSE_GRADER") == "1"
)
if _hub_user and not _grading and _account != _hub_user:
    c.CourseDirectory.student_id = _hub_user
