"""Log formats of ``depscreen serve``: ``text`` for a terminal, ``json`` for collectors."""

from __future__ import annotations

import datetime as dt
import json
import logging

TEXT = "text"
JSON = "json"
FORMATS = (TEXT, JSON)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# With several processes, each line says which one wrote it.
TEXT_FORMAT_PID = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a call's fields (see api/access_log.py) at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        rpc = getattr(record, "rpc", None)
        if isinstance(rpc, dict):
            line.update(rpc)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(log_format: str, several_processes: bool) -> None:
    # Every call writes a line: leave out what no format here shows, as the logging
    # HOWTO's "Optimization" advises (the caller's frame is looked up by walking the
    # stack, the thread and process names by a call each).
    setattr(logging, "_srcfile", None)  # noqa: B010 (private, but documented for this)
    logging.logThreads = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler()
    if log_format == JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter(TEXT_FORMAT_PID if several_processes else TEXT_FORMAT)
        )
    logging.basicConfig(level=logging.INFO, handlers=[handler])
