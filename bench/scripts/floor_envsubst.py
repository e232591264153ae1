"""The floor for a Python envsubst engine: one process, stdlib regex, nginx semantics.

Only defined variables are replaced (``$host`` survives).   python floor_envsubst.py DIR OUT
"""

import os
import re
import sys

source, target = sys.argv[1], sys.argv[2]
env = os.environ
pattern = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def replace(match: re.Match[str]) -> str:
    value = env.get(match.group(1) or match.group(2))
    return match.group(0) if value is None else value


for name in os.listdir(source):
    if name.endswith(".template"):
        with open(os.path.join(source, name)) as handle:
            text = pattern.sub(replace, handle.read())
        with open(os.path.join(target, name[: -len(".template")]), "w") as handle:
            handle.write(text)
