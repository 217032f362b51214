"""Runs shared/tools/gpu-capture/workload.py unchanged, with its stage marks also posted to the
stagewatch agent through the Python marks client (agent/clients/python/stagewatch.py).

    stagewatch-agent run --preset wan ... -- python3 workload_with_marks.py WORKLOAD.py MARKS.jsonl
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
# In the repository (test/gpu/) or carried beside agent/clients/python (.carry/).
for rel in (("..", ".."), ()):
    sys.path.insert(0, os.path.join(here, *rel, "agent", "clients", "python"))
import stagewatch  # noqa: E402

workload, marks_file = sys.argv[1], sys.argv[2]
src = open(workload).read()
hook = (
    "def mark(kind, stage, **kw):\n"
    "    _capture_mark(kind, stage, **kw)\n"
    "    _stagewatch.mark(kind, stage, step=kw.get('step'))\n"
)
patched = src.replace("def mark(kind, stage, **kw):", "def _capture_mark(kind, stage, **kw):", 1).replace('\ndev = "cuda"\n', "\n" + hook + 'dev = "cuda"\n', 1)
if patched.count("_capture_mark") != 2:
    sys.exit("workload.py changed shape: cannot hook its mark()")
sys.argv = [workload, marks_file]
exec(compile(patched, workload, "exec"), {"__name__": "__main__", "_stagewatch": stagewatch})
