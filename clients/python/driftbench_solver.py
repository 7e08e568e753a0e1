"""A driftbench solver in Python, standard library only (protocol ``driftbench-solver/1``).

Subclass :class:`Solver`, override what your task needs, and hand an instance to :func:`run`::

    from driftbench_solver import Solver, run

    class Mine(Solver):
        name, version = "mine", "0.1"

        def train(self, session):
            self.seen = {tuple(map(tuple, e["encoded"]["features"])): e for e in session.examples}

        def answer(self, raw, encoded):
            return sorted(raw["values"])  # a task answer; Output([...]) sends raw outputs instead

    run(Mine())

and run it with ``driftbench run --task sorting --external mine='python3 mine.py'``.

The harness starts the program, writes one JSON object per line to its stdin and reads one per line from its
stdout; this module speaks that protocol (docs/external-solvers.md) so a solver only sees Python values. While
:func:`run` is active, ``print`` goes to stderr (which the harness forwards to its log): stdout is the protocol's.
"""
import json
import math
import sys

PROTOCOL = "driftbench-solver/1"


class Output(list):
    """Raw outputs for the harness to decode as it decodes its own networks' (a vector for regression tasks,
    ``len x classes`` log-probabilities for sequence tasks, as rows or flat)."""


class SolverError(RuntimeError):
    """The harness refused a request or broke the protocol."""


class _Pipe:
    def __init__(self, stdin, stdout):
        self.stdin = stdin
        self.stdout = stdout

    def read(self):
        line = self.stdin.readline()
        if not line:
            return None
        return json.loads(line)

    def write(self, msg):
        try:
            line = json.dumps(msg, allow_nan=False, separators=(",", ":"))
        except ValueError:
            # NaN or infinity somewhere: JSON has no such numbers, and the harness reads null as "no value".
            line = json.dumps(_finite(msg), allow_nan=False, separators=(",", ":"))
        self.stdout.write(line + "\n")
        self.stdout.flush()

    def ask(self, msg, reply):
        self.write(msg)
        got = self.read()
        if got is None:
            raise SolverError("the harness closed the pipe")
        if got.get("type") != reply:
            raise SolverError("expected `%s`, the harness sent `%s`" % (reply, got.get("type")))
        return got


def _finite(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite(x) for x in v]
    return v


class Session:
    """Everything the harness sent for training, and the requests a solver may make while training (each one
    counted by the harness and recorded: trials, demonstrations, episodes, steps, deaths).

    Attributes: ``task`` (id, description, metric, axes), ``encoding`` (e.g. ``{"SeqClass": {...}}``),
    ``profile``, ``seed``, ``examples`` and ``validation`` (dicts with ``raw`` and ``encoded``), ``recorded`` and
    ``recorded_validation`` (dicts with ``input`` and ``target``: the examples the built-in regression networks
    train on), and ``stats``, a dict of numbers to report with ``ready``.
    """

    def __init__(self, hello, pipe):
        self.task = hello["task"]
        self.encoding = hello["encoding"]
        self.profile = hello["profile"]
        self.seed = hello["seed"]
        self.examples = []
        self.validation = []
        self.recorded = []
        self.recorded_validation = []
        self.stats = {}
        self._pipe = pipe

    def shape(self):
        """The encoding's name (``SeqClass``, ``VecRegression`` or ``Policy``) and its dimensions."""
        (name, dims), = self.encoding.items()
        return name, dims

    def trial(self, example, answer=None, output=None):
        """Tries an answer (or raw outputs) on training example ``example``; returns the harness's judgement
        (``success``, ``metric``, ``failure``, ``valid``). Counted as a trial."""
        msg = {"type": "try", "example": example}
        if output is not None:
            msg["output"] = list(output)
        else:
            msg["answer"] = answer
        return self._pipe.ask(msg, "tried")

    def demonstration(self, example):
        """The expert's actions on training example ``example`` (policy tasks), or None."""
        return self._pipe.ask({"type": "demonstrate", "example": example}, "demonstration")["actions"]

    def reset(self, example):
        """Starts an episode on training example ``example`` (policy tasks); returns the first step's dict
        (``observation``, ``reward``, ``done``, ``died``, ``reached``)."""
        return self._pipe.ask({"type": "reset", "example": example}, "observation")

    def step(self, action):
        """Takes ``action`` in the running episode; returns the step's dict, as :meth:`reset` does."""
        return self._pipe.ask({"type": "step", "action": int(action)}, "observation")


class Solver:
    """Override :meth:`train` and :meth:`answer` (sequence and regression tasks) or :meth:`act` (policy tasks)."""

    name = "python-solver"
    version = "0"

    def train(self, session):
        """Learns from ``session`` (see :class:`Session`)."""

    def answer(self, raw, encoded):
        """Answers one test instance: a task answer (as the task's JSON), :class:`Output` raw outputs, or None
        for no answer."""
        return None

    def act(self, observation, raw, step):
        """Chooses the action (an int) at ``observation`` in a test episode of instance ``raw``, at ``step``."""
        return 0

    def end_episode(self):
        """Called when a test episode ends."""


def run(solver, stdin=None, stdout=None):
    """Speaks the protocol on stdin/stdout until the harness says ``bye``."""
    real_stdout = stdout or sys.stdout
    pipe = _Pipe(stdin or sys.stdin, real_stdout)
    saved, sys.stdout = sys.stdout, sys.stderr
    try:
        _serve(solver, pipe)
    except Exception as e:  # noqa: BLE001 - any failure ends the run with its message
        try:
            pipe.write({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
        finally:
            sys.stdout = saved
        raise
    sys.stdout = saved


def _serve(solver, pipe):
    hello = pipe.read()
    if hello is None or hello.get("type") != "hello":
        raise SolverError("expected `hello` first")
    if hello.get("protocol") != PROTOCOL:
        raise SolverError("the harness speaks %r, this client %r" % (hello.get("protocol"), PROTOCOL))
    pipe.write({"type": "hello", "name": solver.name, "version": str(solver.version), "protocol": PROTOCOL})
    session = Session(hello, pipe)
    lists = {
        ("example", "train"): session.examples,
        ("example", "validation"): session.validation,
        ("recorded", "train"): session.recorded,
        ("recorded", "validation"): session.recorded_validation,
    }
    while True:
        msg = pipe.read()
        if msg is None:
            return
        kind = msg["type"]
        if kind == "train":
            continue
        if kind in ("example", "recorded"):
            lists[(kind, msg["split"])].append(msg)
        elif kind == "train_end":
            break
        else:
            raise SolverError("unexpected `%s` during training" % kind)
    solver.train(session)
    pipe.write({"type": "ready", "stats": _finite(session.stats)})
    raw = None
    while True:
        msg = pipe.read()
        if msg is None or msg["type"] == "bye":
            return
        kind = msg["type"]
        if kind == "solve":
            a = solver.answer(msg["raw"], msg["encoded"])
            if isinstance(a, Output):
                pipe.write({"type": "answer", "id": msg["id"], "output": list(a)})
            else:
                pipe.write({"type": "answer", "id": msg["id"], "answer": a})
        elif kind == "act":
            if msg["step"] == 0:
                raw = msg["raw"]
            action = solver.act(msg["observation"], raw, msg["step"])
            pipe.write({"type": "action", "id": msg["id"], "action": int(action)})
        elif kind == "episode_end":
            solver.end_episode()
        else:
            raise SolverError("unexpected `%s` while testing" % kind)
