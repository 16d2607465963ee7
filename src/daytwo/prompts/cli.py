"""``daytwo prompt``: push prompt files, move labels, roll back, diff and pull.

    daytwo prompt push prompts/*.prompt.json --message "shorter greeting" --label staging
    daytwo prompt label support production 4 --split 5:10
    daytwo prompt label support production 4 --check-dataset refunds \\
        --check-task app.bot:answer --check-metric "contains:30 days" \\
        --check-threshold "contains>=0.8"
    daytwo prompt rollback support production

With ``--check-*`` the label moves only if ``daytwo eval`` passes with the
prompt pinned (``DAYTWO_PROMPT_VERSIONS``) to each version the label will
serve and does not serve yet: the new version, the split's candidate, or both.

Exit status: 0 done, 1 the check failed (nothing moved), 2 the command is
wrong (a bad argument, an unknown prompt or version), 3 the server could not
be reached or the check could not run.
"""

import argparse
import getpass
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    import httpx

DONE, CHECK_FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3


class _CommandError(Exception):
    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``prompt`` command to the ``daytwo`` command line."""
    parser = commands.add_parser(
        "prompt", help="manage versioned prompts", description=(__doc__ or "").split("\n\n")[0]
    )
    actions = parser.add_subparsers(metavar="ACTION", required=True)
    server = argparse.ArgumentParser(add_help=False)
    server.add_argument("--url", help="overrides DAYTWO_URL")
    server.add_argument("--project", help="overrides DAYTWO_PROJECT")
    who = argparse.ArgumentParser(add_help=False)
    who.add_argument("--message", "-m", help="why (kept with the version or the label move)")
    who.add_argument("--author", help="who (default: git user.name, else $USER)")

    push = actions.add_parser("push", parents=[server, who], help="push prompt files")
    push.add_argument("files", nargs="+", type=Path, metavar="FILE", help="NAME.prompt.json/.txt")
    push.add_argument("--label", help="also point this label at each pushed version")
    push.set_defaults(handler=_run(_push))

    pull = actions.add_parser("pull", parents=[server], help="write a version as a prompt file")
    pull.add_argument("name")
    which = pull.add_mutually_exclusive_group()
    which.add_argument("--label", help="the version this label points at (default: production)")
    which.add_argument("--version", type=int, help="a version by number")
    pull.add_argument("-o", "--output", type=Path, help="a file (default: standard output)")
    pull.set_defaults(handler=_run(_pull))

    listing = actions.add_parser("list", parents=[server], help="list prompts and labels")
    listing.set_defaults(handler=_run(_list))

    diff = actions.add_parser("diff", parents=[server], help="compare two versions")
    diff.add_argument("name")
    diff.add_argument("before", type=int, metavar="A")
    diff.add_argument("after", type=int, metavar="B")
    diff.set_defaults(handler=_run(_diff))

    label = actions.add_parser("label", parents=[server, who], help="point a label at a version")
    label.add_argument("name")
    label.add_argument("label")
    label.add_argument("version", type=int)
    label.add_argument("--split", metavar="VERSION:PERCENT", help="send a share of keys elsewhere")
    _add_check_options(label)
    label.set_defaults(handler=_run(_label))

    rollback = actions.add_parser(
        "rollback", parents=[server, who], help="move a label back to its previous version"
    )
    rollback.add_argument("name")
    rollback.add_argument("label")
    rollback.set_defaults(handler=_run(_rollback))


def _add_check_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("regression check (runs daytwo eval first)")
    group.add_argument("--check-dataset", metavar="DATASET")
    group.add_argument("--check-task", metavar="MODULE:FUNCTION")
    group.add_argument("--check-metric", action="append", default=[], metavar="SPEC")
    group.add_argument("--check-metrics", metavar="MODULE:ATTRIBUTE")
    group.add_argument("--check-threshold", action="append", default=[], metavar="METRIC>=VALUE")
    group.add_argument("--check-baseline", metavar="EXPERIMENT")


def _run(action: Any) -> Any:
    def handler(args: argparse.Namespace) -> int:
        try:
            with _Api(args.url, args.project) as api:
                code: int = action(api, args)
                return code
        except _CommandError as error:
            print(f"daytwo prompt: {error}", file=sys.stderr)
            return error.code

    return handler


class _Api:
    """The prompts API of one project, failing with messages fit for a terminal."""

    def __init__(self, url: str | None, project: str | None) -> None:
        import httpx

        from daytwo.prompts.client import DEFAULT_PROJECT
        from daytwo.sdk import tracer

        settings = tracer.settings()
        self.url = (url or settings.url).rstrip("/")
        self.project = project or settings.project or DEFAULT_PROJECT
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def __enter__(self) -> "_Api":
        return self

    def __exit__(self, *_: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        url = f"/api/v1/projects/{quote(self.project, safe='')}/prompts{path}"
        try:
            response: httpx.Response = self._http.request(method, url, **kwargs)
        except httpx.HTTPError as error:
            raise _CommandError(f"cannot reach {self.url}: {error}", UNREACHABLE) from None
        if response.status_code >= 400:
            raise _CommandError(
                _message(response), UNREACHABLE if response.status_code >= 500 else USAGE
            )
        return response.json()


def _message(response: "httpx.Response") -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return f"the server answered {response.status_code}"


def _q(part: str) -> str:
    return quote(part, safe="")


# The actions.


def _push(api: _Api, args: argparse.Namespace) -> int:
    from daytwo.prompts.files import PromptFileError, read_prompt_file

    try:
        loaded = [read_prompt_file(path) for path in args.files]
    except PromptFileError as error:
        raise _CommandError(str(error)) from None
    author = args.author or default_author()
    for name, body in loaded:
        body = {**body, "author": author, "message": args.message}
        pushed = api.call("POST", f"/{_q(name)}/versions", json=body)
        state = "new" if pushed["created"] else "unchanged"
        print(f"{name}: version {pushed['version']} ({state})")
        if args.label:
            moved = _move(api, name, args.label, {"version": pushed["version"]}, args, author)
            print(f"{name}: {args.label} -> {_describe(moved)}")
    return DONE


def _pull(api: _Api, args: argparse.Namespace) -> int:
    from daytwo.prompts.files import PromptFileError, write_prompt_file

    if args.version is not None:
        version = api.call("GET", f"/{_q(args.name)}/versions/{args.version}")
    else:
        label = args.label or "production"
        version = api.call("GET", f"/{_q(args.name)}/labels/{_q(label)}")["target"]
    try:
        text = write_prompt_file(version, args.output)
    except PromptFileError as error:
        raise _CommandError(str(error)) from None
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.name}: version {version['version']} written to {args.output}")
    return DONE


def _list(api: _Api, args: argparse.Namespace) -> int:
    rows = [["prompt", "latest", "labels"]]
    for prompt in api.call("GET", ""):
        labels = ", ".join(f"{label}={number}" for label, number in prompt["labels"].items())
        rows.append([prompt["name"], str(prompt["latest_version"]), labels or "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return DONE


def _diff(api: _Api, args: argparse.Namespace) -> int:
    found = api.call(
        "GET", f"/{_q(args.name)}/diff", params={"from": args.before, "to": args.after}
    )
    for change in found["changes"]:
        print(f"{change['field']}: {change['before']!r} -> {change['after']!r}")
    if found["template_diff"]:
        print(found["template_diff"])
    elif not found["changes"]:
        print(f"{args.name}: versions {args.before} and {args.after} are the same")
    return DONE


def _label(api: _Api, args: argparse.Namespace) -> int:
    target: dict[str, Any] = {"version": args.version}
    if args.split:
        target["split_version"], target["split_percent"] = parse_split(args.split)
    # Fail on an unknown prompt or version before spending time on the check.
    for number in (args.version, target.get("split_version")):
        if number is not None:
            api.call("GET", f"/{_q(args.name)}/versions/{number}")
    if _wants_check(args):
        code = _check_new_versions(api, args, target)
        if code != DONE:
            print(
                f"daytwo prompt: the check failed; {args.label!r} still points where it did",
                file=sys.stderr,
            )
            return CHECK_FAILED if code == CHECK_FAILED else code
    moved = _move(api, args.name, args.label, target, args, args.author or default_author())
    print(f"{args.name}: {args.label} -> {_describe(moved)}")
    return DONE


def _rollback(api: _Api, args: argparse.Namespace) -> int:
    body = {"author": args.author or default_author(), "message": args.message}
    moved = api.call("POST", f"/{_q(args.name)}/labels/{_q(args.label)}/rollback", json=body)
    print(f"{args.name}: {args.label} rolled back to {_describe(moved)}")
    return DONE


def _move(
    api: _Api,
    name: str,
    label: str,
    target: dict[str, Any],
    args: argparse.Namespace,
    author: str | None,
) -> dict[str, Any]:
    body = {**target, "author": author, "message": args.message}
    moved: dict[str, Any] = api.call("PUT", f"/{_q(name)}/labels/{_q(label)}", json=body)
    return moved


def _describe(label: dict[str, Any]) -> str:
    text = f"version {label['version']}"
    if label.get("split_version") is not None:
        text += f" ({label['split_percent']:g}% to version {label['split_version']})"
    return text


def parse_split(spec: str) -> tuple[int, float]:
    """Parse ``--split 5:10`` (version 5 for 10% of keys)."""
    number, colon, percent = spec.partition(":")
    try:
        parsed = int(number), float(percent)
    except ValueError:
        parsed = None
    if not colon or parsed is None or parsed[0] < 1 or not 0 <= parsed[1] <= 100:
        raise _CommandError(f"--split {spec!r} is not VERSION:PERCENT, as in 5:10")
    return parsed


def default_author() -> str | None:
    """Return git's user.name, else the login name."""
    try:
        found = subprocess.run(
            ["git", "config", "user.name"], capture_output=True, text=True, timeout=2, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    if found:
        return found
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return None


# The regression check.


def _wants_check(args: argparse.Namespace) -> bool:
    given = [args.check_dataset, args.check_task, args.check_metric, args.check_metrics]
    if not any(given) and not args.check_threshold:
        return False
    if not args.check_dataset or not args.check_task:
        raise _CommandError("a check needs --check-dataset and --check-task")
    if not args.check_metric and not args.check_metrics:
        raise _CommandError("a check needs --check-metric SPEC or --check-metrics MODULE:ATTR")
    return True


def served_versions(target: dict[str, Any] | None) -> list[int]:
    """Return the versions a label target (``version``, ``split_*``) sends some keys to."""
    if target is None:
        return []
    split, percent = target.get("split_version"), target.get("split_percent") or 0
    served = [] if split is not None and percent >= 100 else [target["version"]]
    if split is not None and percent > 0:
        served.append(split)
    return served


def versions_to_check(api: _Api, args: argparse.Namespace, target: dict[str, Any]) -> list[int]:
    """Return the versions the label will serve that it does not serve now."""
    prompt = api.call("GET", f"/{_q(args.name)}")
    current = next((label for label in prompt["labels"] if label["label"] == args.label), None)
    already = served_versions(current)
    return [number for number in served_versions(target) if number not in already]


def _check_new_versions(api: _Api, args: argparse.Namespace, target: dict[str, Any]) -> int:
    """Run the check on each version new to the label; return the first failing status."""
    numbers = versions_to_check(api, args, target)
    if not numbers:
        print(
            f"{args.name}: {args.label!r} already serves every version it will; nothing to check",
            file=sys.stderr,
        )
    for number in numbers:
        code = run_check(api, args, number)
        if code != DONE:
            print(f"daytwo prompt: version {number} did not pass the check", file=sys.stderr)
            return code
    return DONE


def check_command(args: argparse.Namespace, api: _Api, version: int) -> list[str]:
    """Return the ``daytwo eval`` command that checks ``version``."""
    command = [sys.executable, "-m", "daytwo", "eval"]
    command += ["--dataset", args.check_dataset, "--task", args.check_task]
    for spec in args.check_metric:
        command += ["--metric", spec]
    if args.check_metrics:
        command += ["--metrics", args.check_metrics]
    for threshold in args.check_threshold:
        command += ["--threshold", threshold]
    if args.check_baseline:
        command += ["--baseline", args.check_baseline]
    command += ["--name", f"prompt {args.name} v{version}"]
    command += ["--url", api.url, "--project", api.project]
    return command


def run_check(api: _Api, args: argparse.Namespace, version: int) -> int:
    """Run ``daytwo eval`` with the prompt pinned to ``version``; return its status.

    The pin holds for every label of the prompt (see `daytwo.prompts.client`),
    so a task that asks for ``label="production"`` is checked too.
    """
    pins = [p for p in os.environ.get("DAYTWO_PROMPT_VERSIONS", "").split(",") if p.strip()]
    pins = [p for p in pins if p.partition("=")[0].strip() != args.name]
    pins.append(f"{args.name}={version}")
    env = {**os.environ, "DAYTWO_PROMPT_VERSIONS": ",".join(pins)}
    print(f"checking {args.name} version {version} with daytwo eval ...", file=sys.stderr)
    sys.stdout.flush()
    try:
        return subprocess.run(check_command(args, api, version), env=env, check=False).returncode
    except OSError as error:
        raise _CommandError(f"cannot run daytwo eval: {error}", UNREACHABLE) from None
