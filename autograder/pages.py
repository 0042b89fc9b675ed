"""The Jinja2 environment of the instructor's HTML pages (templates in ``autograder/templates/``).

Jinja2 comes with nbconvert. Autoescaping is on for the templates, and a name
a template uses but is not given is an error, not an empty string.
"""

from __future__ import annotations


def environment():
    """Return the Jinja2 environment that loads ``autograder/templates/``.

    Returns:
        A ``jinja2.Environment``: autoescaped, blocks trimmed, undefined names
        raise.

    Example:
        >>> environment().get_template("report.html.j2").name  # doctest: +SKIP
        'report.html.j2'
    """
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("autograder", "templates"),
        autoescape=jinja2.select_autoescape(["j2", "html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
