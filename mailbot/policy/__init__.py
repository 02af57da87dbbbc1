"""Complaints policies as data: stages, timescales, routing, and the UK working-day calendar."""
