#!/usr/bin/env bash
# Installs the Debian packages the demo and the tests run for real: Dovecot (IMAP), PostgreSQL, Chromium
# (headless, to check the weekly digest and the case file render) with an Arial-compatible font, poppler-utils
# (pdftotext and pdftoppm, to read back the case file's PDF), systemd's systemd-analyze (to check the units
# in deploy/), and rspamd (the spam filter the front door may ask; its tests start their own).
set -euo pipefail
missing=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v rspamd >/dev/null 2>&1 || missing+=(rspamd)
if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests start their own throwaway servers; the system-wide ones are not needed.
for service in dovecot postgresql rspamd; do
  (systemctl disable --now "$service" || service "$service" stop) >/dev/null 2>&1 || true
done
