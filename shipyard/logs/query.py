"""`inv logs --env VM` over the durable log files: the query, the command that runs it on the
VM, and the parser of what it prints. Pure: nothing here runs anything.

rsyslog (monitoring/logs/rsyslog-shipyard.conf) appends every line a tagged container logs
to `LOG_DIR/SERVICE.log`, one JSON object a line with `time` first; logrotate keeps
`SERVICE.log.1`, `SERVICE.log.2.gz`, ... beside it. The VM filters coarsely (time as text,
the request id as a fixed string, `--grep` as grep -E, the last N lines) so little crosses
SSH; the parser applies the exact request-id match and sorts by time.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shipyard.deploy.plan import sh
from shipyard.errors import ConfigError

LOG_DIR = "/var/log/shipyard"
"""Where rsyslog writes one file per compose service on a VM."""

MISSING_DIR_EXIT = 4
"""Exit code of the query script when LOG_DIR does not exist (rsyslog not set up)."""
UNREADABLE_DIR_EXIT = 5
"""Exit code of the query script when LOG_DIR cannot be read (user not in group docker)."""

SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
"""A compose service name, as rsyslog accepts it for a file name."""

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TIME_PREFIX = len('{"time":"')
"""Where the timestamp starts in a stored line (the template writes `time` first)."""

QUERY_SCRIPT = (
    'dir="$1"; since="$2"; until="$3"; fixed="$4"; pattern="$5"; tail="$6"; shift 6; '
    f'[ -d "$dir" ] || exit {MISSING_DIR_EXIT}; '
    f'cd "$dir" 2>/dev/null || exit {UNREADABLE_DIR_EXIT}; '
    'for glob in "$@"; do for f in $glob; do [ -f "$f" ] && zcat -f -- "$f"; done; done '
    f'| awk -v s="$since" -v u="$until" \'{{ t = substr($0, {_TIME_PREFIX + 1}, 19) }} '
    '(s == "" || t >= s) && (u == "" || t <= u)\' '
    '| { if [ -n "$fixed" ]; then grep -F -e "$fixed"; else cat; fi; } '
    '| { if [ -n "$pattern" ]; then grep -E -e "$pattern"; else cat; fi; } '
    "| sort "
    '| { if [ "$tail" -gt 0 ]; then tail -n "$tail"; else cat; fi; }'
)
"""Run on the VM: every matching line of the selected files (rotated and compressed ones
too), oldest first. Positional parameters: the directory, since and until (UTC
`YYYY-MM-DDTHH:MM:SS`, or empty), a fixed string, an extended regex, how many lines to keep
(0: all), then one file glob per service."""


@dataclass(frozen=True)
class LogQuery:
    """What `inv logs --env VM` asks for. Times are UTC; empty filters select everything."""

    services: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    grep: str = ""
    request_id: str = ""
    tail: int = 200
    """The newest lines kept after filtering; 0 keeps all."""


@dataclass(frozen=True)
class LogLine:
    """One line a container logged, as the durable store kept it."""

    time: str
    service: str
    container: str
    container_id: str
    stream: str
    message: str
    request_id: str | None

    def as_json(self) -> dict[str, Any]:
        """The line as `inv logs --json` prints it."""
        return asdict(self)

    def human(self) -> str:
        """`TIME SERVICE CONTAINER MESSAGE` for a terminal."""
        return f"{self.time}  {self.service:<12} {self.container:<28} {self.message}"


def parse_when(text: str, now: datetime) -> datetime | None:
    """`--since` / `--until`: a duration before `now` (`90s`, `15m`, `2h`, `3d`, `1w`) or an
    ISO 8601 time (`2026-12-03`, `2026-12-03T12:00`, with an offset or else UTC); None for
    an empty text. ConfigError for anything else."""
    text = text.strip()
    if not text:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = relative.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"cannot read {text!r} as a time",
            hint="give a duration such as 15m, 2h, 3d, or an ISO time such as 2026-12-03T12:00Z",
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def build_query(
    *,
    services: tuple[str, ...] = (),
    since: str = "",
    until: str = "",
    grep: str = "",
    request_id: str = "",
    tail: int = 200,
    now: datetime,
) -> LogQuery:
    """Check the task's arguments and make a LogQuery (ConfigError on bad input)."""
    for service in services:
        if not SERVICE_NAME.match(service):
            raise ConfigError(f"--service {service!r} is not a compose service name")
    if tail < 0:
        raise ConfigError(f"--tail {tail}: give 0 (all lines) or more")
    if grep:
        try:
            re.compile(grep)
        except re.error as exc:
            raise ConfigError(f"--grep {grep!r} is not a regular expression: {exc}") from None
    query = LogQuery(
        services=services,
        since=parse_when(since, now),
        until=parse_when(until, now),
        grep=grep,
        request_id=request_id.strip(),
        tail=tail,
    )
    if query.since and query.until and query.since > query.until:
        raise ConfigError(f"--since {since!r} is after --until {until!r}")
    return query


def _stamp(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") if when else ""


def query_argv(query: LogQuery, log_dir: str = LOG_DIR) -> list[str]:
    """The command that prints the stored lines `query` selects, oldest first.

    With a request id the VM keeps every line that contains it (the parser then keeps the
    lines whose `request_id` field is that id, and the newest `tail` of them)."""
    globs = [f"{service}.log*" for service in query.services] or ["*.log*"]
    tail = 0 if query.request_id else query.tail
    return sh(
        QUERY_SCRIPT,
        log_dir,
        _stamp(query.since),
        _stamp(query.until),
        query.request_id,
        query.grep,
        str(tail),
        *globs,
    )


def _request_id(message: str) -> str | None:
    """The `request_id` field of a JSON log message (the app's and nginx's), else None."""
    try:
        fields = json.loads(message)
    except ValueError:
        return None
    if isinstance(fields, dict) and isinstance(fields.get("request_id"), str):
        return str(fields["request_id"])
    return None


def parse_line(text: str) -> LogLine | None:
    """One stored line -> LogLine; None for a line that is not one of ours."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("time"), str):
        return None
    message = str(record.get("log", "")).rstrip("\n")
    return LogLine(
        time=record["time"],
        service=str(record.get("service", "")),
        container=str(record.get("container", "")),
        container_id=str(record.get("id", "")),
        stream=str(record.get("stream", "")),
        message=message,
        request_id=_request_id(message),
    )


def _sort_key(line: LogLine) -> datetime:
    try:
        # Docker writes RFC 3339 with up to 9 fractional digits; Python reads 6.
        stamp = re.sub(r"(\.\d{6})\d+", r"\1", line.time).replace("Z", "+00:00")
        return datetime.fromisoformat(stamp)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)


def parse_output(output: str, query: LogQuery) -> list[LogLine]:
    """What `query_argv` printed -> the lines `query` asks for, oldest first."""
    lines = [line for line in map(parse_line, output.splitlines()) if line is not None]
    if query.request_id:
        lines = [line for line in lines if line.request_id == query.request_id]
    lines.sort(key=_sort_key)
    return lines[-query.tail :] if query.tail else lines
