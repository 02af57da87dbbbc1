"""Routing: what a classified message leads to — a new case, an addition to a case, staff mail relayed, or
nothing for machines. ``table.py`` holds the policy; each handler lives in a module named for what it does."""

from mailbot.routing.context import Routing
from mailbot.routing.table import route

__all__ = ["Routing", "route"]
