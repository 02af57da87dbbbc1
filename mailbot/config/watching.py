"""How the running service is watched: [metrics] (an optional Prometheus endpoint from ``mailbot run``) and
[logging] (plain lines for a person, or JSON for a log collector)."""

from __future__ import annotations

from dataclasses import dataclass

from mailbot.config.reader import TomlReader

LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class WatchingSettings:
    metrics_host: str | None = None  # None: no metrics endpoint (the default)
    metrics_port: int = 9108
    log_format: str = "text"


def watching_from(metrics: TomlReader, logging: TomlReader) -> WatchingSettings:
    host, port = _listen(metrics)
    metrics.finish()
    log_format = logging.choice("format", LOG_FORMATS, "text")
    logging.finish()
    return WatchingSettings(host, port, log_format)


def _listen(reader: TomlReader) -> tuple[str | None, int]:
    """``listen = "127.0.0.1:9108"``: where Prometheus scrapes; absent, no endpoint is opened."""
    listen = reader.text("listen", None)
    if listen is None:
        return None, 9108
    host, _, port = listen.rpartition(":")
    if not host or not port.isdecimal() or not 1 <= int(port) <= 65535:
        raise reader.error(
            "listen", f'expected HOST:PORT with a port from 1 to 65535, e.g. "127.0.0.1:9108", got {listen!r}'
        )
    return host.strip("[]"), int(port)
