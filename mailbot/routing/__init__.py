"""Routing: what to do with a classified message."""
