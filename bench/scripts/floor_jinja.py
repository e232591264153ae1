"""The floor for a Jinja2 engine: one process, StrictUndefined, the environment as context.

python floor_jinja.py DIR OUT
"""

import os
import sys

import jinja2

source, target = sys.argv[1], sys.argv[2]
environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
context = dict(os.environ)
for name in os.listdir(source):
    if name.endswith(".j2"):
        with open(os.path.join(source, name)) as handle:
            text = environment.from_string(handle.read()).render(context)
        with open(os.path.join(target, name[: -len(".j2")]), "w") as handle:
            handle.write(text)
