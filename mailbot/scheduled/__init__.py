"""Scheduled work: polling, the deadline watch, the weekly digest and the board report."""
