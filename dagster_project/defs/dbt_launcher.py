"""Starts dbt with the settings' variables: `python dbt_launcher.py ENV_FILE DBT [ARGS...]`.

ENV_FILE is a JSON object of variables written by defs/project.py for this one invocation; it is
removed before dbt starts, and this process becomes dbt (same process id, so signals dagster-dbt
forwards reach dbt). Standard library only: it runs before every dbt command."""

import json
import os
import sys


def main(argv: list[str]) -> None:
    env_file, *command = argv
    with open(env_file, encoding="utf-8") as f:
        variables = json.load(f)
    os.remove(env_file)
    os.execve(command[0], command, {**os.environ, **variables})


if __name__ == "__main__":
    main(sys.argv[1:])
