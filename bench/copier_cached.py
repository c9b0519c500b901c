"""copier's command line with one change: each Jinja source is compiled once per run.

Copier compiles every string it renders anew through `Environment.from_string`: each
path part of each file (plain names too), each question's default and help, the answers
file's name once per file. bench/run times `copier copy` and `copier update` with this
beside the real thing, to show what of their time an upstream cache would save and
what is the template's own. Usage: python copier_cached.py <copier arguments>.
"""

import sys

from jinja2 import Environment

_compile = Environment.from_string
_compiled: dict = {}


def from_string(self, source, globals=None, template_class=None):  # noqa: A002 - Jinja's name
    if globals or template_class:
        return _compile(self, source, globals, template_class)
    key = (id(self), source)
    if key not in _compiled:
        _compiled[key] = _compile(self, source)
    return _compiled[key]


Environment.from_string = from_string

from copier._cli import CopierApp  # noqa: E402 - after the patch, on purpose

if __name__ == "__main__":
    CopierApp.run(["copier", *sys.argv[1:]])
