"""The TLS client context every connection to a mail server uses: the system's certificates, checked.

Made once a process and shared (an SSLContext is made to be shared): making one reads the system's
certificate store, 20-40 ms of CPU, and every IMAP connection and SMTP delivery run made its own.
"""

from __future__ import annotations

import ssl
from functools import cache


@cache
def client_context() -> ssl.SSLContext:
    return ssl.create_default_context()
