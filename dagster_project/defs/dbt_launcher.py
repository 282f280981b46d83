"""How dagster-dbt's "dbt" process starts. Standard library only at module level: it runs before
every dbt command, by file path (no package import).

    python dbt_launcher.py exec ENV_FILE DBT [ARGS...]
        reads the variables in ENV_FILE (a JSON object written for this one invocation, removed
        before dbt starts) and becomes DBT (same process id: the signals dagster-dbt forwards
        reach dbt).

    python dbt_launcher.py serve SOCKET [PARTIAL_PARSE]
        a warm dbt: imports dbt once (about 3 s on a 2-core machine, most of a small command's
        time), listens on the Unix socket SOCKET and forks a child for each command. A child
        starts from the imported modules, takes the client's standard streams, variables, working
        folder and arguments, and runs dbt's own command line (`dbt.cli.main.cli`) on them (a
        saved partial parse, PARTIAL_PARSE, warms up the readers of the project's parts). The
        server ends when the process that started it ends. One per Dagster process
        (defs/project.py starts it on the first dbt command); a command never sees another's
        state: each runs in a fresh fork of the same import.

    python dbt_launcher.py run SOCKET ENV_FILE [ARGS...]
        what dagster-dbt starts instead of DBT when the server runs: hands its streams and the
        request to the server, forwards SIGINT and SIGTERM to the dbt child and exits with its
        exit code (or 128 + the signal that ended it, like a shell).
"""

import atexit
import json
import os
import signal
import socket
import struct
import sys

# server -> client: the child's process id, then its exit status (both as 4-byte signed integers)
_INT = struct.Struct("!i")
# client -> server: a 4-byte length (sent with the three standard streams), then the request JSON
_LENGTH = struct.Struct("!I")
# how often the server checks that the process that started it still runs (seconds)
_PARENT_CHECK_SECONDS = 1.0
READY = b"ready\n"
# the packages whose code a dbt command's stack runs through (see _warm_up)
_COMMAND_PACKAGES = {"dbt", "dbt_common", "click", "multiprocessing", "threading", "concurrent"}
# how long a finished command's process may take to shut down (seconds)
_EXIT_SECONDS = 30


def _variables(env_file: str) -> dict:
    with open(env_file, encoding="utf-8") as f:
        variables = json.load(f)
    os.remove(env_file)
    return variables


def exec_dbt(env_file: str, command: list[str]) -> None:
    os.execve(command[0], command, {**os.environ, **_variables(env_file)})


# ---------------------------------------------------------------- client

def _receive_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def run(socket_path: str, env_file: str, args: list[str]) -> int:
    request = json.dumps({"args": args, "cwd": os.getcwd(),
                          "env": {**os.environ, **_variables(env_file)}}).encode()
    child, forwarded = None, []

    def forward(signum, frame):  # a signal before dbt started waits for its process id
        forwarded.append(signum)
        if child is not None:
            _signal(child, signum)

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, forward)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(socket_path)
    socket.send_fds(conn, [_LENGTH.pack(len(request))], [0, 1, 2])
    conn.sendall(request)
    answer = _receive_exactly(conn, _INT.size)
    if answer is None:
        print("dbt launcher: the warm dbt server closed the connection before starting dbt", file=sys.stderr)
        return 2
    (child,) = _INT.unpack(answer)
    for signum in list(forwarded):
        _signal(child, signum)
    status = _receive_exactly(conn, _INT.size)  # the wait resumes after a forwarded signal (PEP 475)
    if status is None:  # ended without reporting: killed by a signal
        print(f"dbt launcher: dbt (process {child}) ended without an exit status", file=sys.stderr)
        return 128 + (forwarded[-1] if forwarded else signal.SIGKILL)
    return _INT.unpack(status)[0]


# ---------------------------------------------------------------- server

def _warm_up(partial_parse: str | None = None) -> None:
    """What every dbt command loads: imported (and the JSON schemas it validates the project,
    profile and results against, built) once here instead of in each child. Only a head start:
    a name a dbt upgrade moves is skipped, and the child loads it itself."""
    import importlib

    for module in ("dbt.cli.main", "dbt.adapters.duckdb", "dbt.adapters.duckdb.impl", "dbt.parser.manifest",
                   "dbt.task.build", "dbt.task.run", "dbt.task.test", "duckdb"):
        importlib.import_module(module)
    for module, name in (("dbt.contracts.project", "ProjectFlags"), ("dbt.contracts.project", "ProfileConfig"),
                         ("dbt.contracts.project", "Project"), ("dbt.contracts.project", "PackageConfig"),
                         ("dbt.contracts.project", "Configuration"), ("dbt.contracts.selection", "SelectorFile"),
                         ("dbt.adapters.duckdb.credentials", "DuckDBCredentials"), ("dbt.task.test", "TestResultData")):
        try:
            getattr(importlib.import_module(module), name).json_schema()
        except (ImportError, AttributeError):
            pass
    # Each command's adapter names the module behind each of its behaviour flags from
    # inspect.stack(), which looks up the module and reads the source lines of every frame: the
    # module lookup table and the sources of the modules a command runs in, read once here.
    import inspect
    import linecache

    for name, module in list(sys.modules.items()):
        if name.partition(".")[0] in _COMMAND_PACKAGES and getattr(module, "__file__", None):
            linecache.getlines(module.__file__)
    inspect.getmodule(sys._getframe())
    if partial_parse and os.path.exists(partial_parse):  # the readers of a saved project's parts
        try:
            from dbt.contracts.graph.manifest import Manifest

            with open(partial_parse, "rb") as f:
                Manifest.from_msgpack(f.read())
        except Exception:  # an older dbt's file: the child reads its own anyway
            pass


# A command's exit code, set when its process ends (see _end_without_teardown); None in the server.
_exit_code: int | None = None


def _end_without_teardown() -> None:
    """A command's process ends here, once every other exit handler has run (this one is
    registered before dbt is imported, so it runs last): dbt's adapter has closed its DuckDB
    files, multiprocessing's finalizers have run, logs are flushed. What Python would do next,
    free every object of the fork one by one, copies most of the server's memory page by page
    (copy-on-write) for nothing: about a second per command, a third of a small step's time;
    and the command's output only ends (dagster-dbt waits for it) when its process is gone."""
    if _exit_code is None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed pipe: nothing more to say
            pass
    os._exit(_exit_code)


def serve(socket_path: str, partial_parse: str | None = None) -> None:
    atexit.register(_end_without_teardown)  # first: runs after every handler dbt registers
    _warm_up(partial_parse)
    parent = os.getppid()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)
    listener.settimeout(_PARENT_CHECK_SECONDS)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the children are reaped by the system
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C in the terminal is for the commands
    sys.stdout.buffer.write(READY)
    sys.stdout.flush()
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        conn.settimeout(None)
        if os.fork() == 0:
            listener.close()
            _child(conn)  # exits the process
        conn.close()


def _child(conn: socket.socket) -> None:
    global _exit_code
    code = 2
    try:
        header, fds, _, _ = socket.recv_fds(conn, _LENGTH.size, 3)
        (size,) = _LENGTH.unpack(header)
        request = json.loads(_receive_exactly(conn, size))
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # dbt stops on KeyboardInterrupt
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["dbt", *request["args"]]
        conn.sendall(_INT.pack(os.getpid()))
        from dbt.cli.main import cli

        try:
            cli.main(args=request["args"], prog_name="dbt")
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else (0 if exit.code is None else 1)
    except BaseException:  # report it on the command's own stderr; dbt's exit code for a crash
        import traceback

        traceback.print_exc()
        code = 2
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed pipe: nothing more to say
                pass
        try:
            conn.sendall(_INT.pack(code))
        except OSError:
            pass
    # An ordinary exit, as dbt's own process ends: its exit handlers run (multiprocessing's locks
    # are released, or the resource tracker would report each as leaked), then the process ends
    # without the interpreter's teardown (_end_without_teardown). A shutdown that hangs is ended
    # by the alarm; the client has its exit code already.
    signal.alarm(_EXIT_SECONDS)
    _exit_code = code
    sys.exit(code)


def main(argv: list[str]) -> None:
    mode, *rest = argv
    if mode == "exec":
        exec_dbt(rest[0], rest[1:])
    elif mode == "serve":
        serve(*rest[:2])
    elif mode == "run":
        sys.exit(run(rest[0], rest[1], rest[2:]))
    else:
        sys.exit(f"dbt launcher: unknown mode {mode!r} (exec, serve or run)")


if __name__ == "__main__":
    main(sys.argv[1:])
