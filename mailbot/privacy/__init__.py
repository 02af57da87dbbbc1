"""Personal data under UK GDPR: subject access exports, the retention schedule and its purge, erasure, legal
holds, and the privacy log that records each of them."""
