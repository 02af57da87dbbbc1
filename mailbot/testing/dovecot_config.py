"""The throwaway Dovecot's configuration: plain IMAP on loopback, maildirs under its workdir, and the
privilege settings that differ between running as root and as an ordinary user."""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Mapping
from pathlib import Path

from mailbot.testing.host import is_root, unprivileged_user

_DOVECOT_CONF = """\
# Throwaway config written by mailbot.testing; never used outside {workdir}.
protocols = imap
listen = {host}
base_dir = {base_dir}
state_dir = {workdir}/state
instance_name = mailbot-dovecot-{port}
log_path = {log}
info_log_path = {log}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login{oauth2_mechanisms}
auth_verbose = yes
auth_failure_delay = 0
# Trusted loopback clients are exempt from the failed-login penalty delay.
login_trusted_networks = 127.0.0.0/8
mail_fsync = never
# Each imap process's title names the command it runs ("[complaints 127.0.0.1 IDLE]"): a test sees a
# client waiting in IDLE instead of guessing how long it takes to get there.
verbose_proctitle = yes
mail_location = maildir:~/Maildir
{privileges}
{oauth2_passdbs}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {workdir}/users
}}
userdb {{
  driver = static
  args = home={home}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  mail_max_userip_connections = 100
{capability}}}
namespace inbox {{
  inbox = yes
  mailbox "{sent_folder}" {{
    auto = subscribe
    special_use = \\Sent
  }}
  mailbox Processed {{
    auto = subscribe
  }}
}}
"""

# Dovecot refuses mail access as root outright ("Mail access not allowed for root"),
# so mail processes run as nobody. They are chrooted into the mail root, which root
# can enter even when a parent is 0700 (pytest's /tmp/pytest-of-root); after the
# chroot nobody only needs the user homes, which we chown to it.
_ROOT_PRIVILEGES = """\
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
first_valid_gid = 1
mail_chroot = {mail_root}
valid_chroot_dirs = {mail_root}
# The passwd-file lives under the workdir, whose parents may be root-only.
service auth {{
  user = root
}}"""

# Not root: every Dovecot process runs as us, so no chroot and no user switching.
_USER_PRIVILEGES = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
first_valid_gid = {gid}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}"""


# Dovecot 2.3's own capabilities after login, less IDLE (and the extensions mailbot never uses).
WITHOUT_IDLE = (
    "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS MOVE SPECIAL-USE CHILDREN NAMESPACE UNSELECT "
    "LIST-EXTENDED LITERAL+ ESEARCH"
)


def mail_owner() -> pwd.struct_passwd:
    """The account that owns the maildirs: nobody when we are root, else ourselves."""
    return unprivileged_user("nobody") if is_root() else pwd.getpwuid(os.getuid())


# One oauth2 passdb per user: Dovecot does not tell the introspection endpoint which mailbox is being
# opened, and an app may be granted one mailbox but not another (as Exchange's access policies do).
_OAUTH2_PASSDB = """\
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  username_filter = {user}
  args = {args}
}}
"""
_OAUTH2_ARGS = """\
introspection_mode = post
introspection_url = {url}
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
"""


def oauth2_passdbs(workdir: Path, introspection_urls: Mapping[str, str]) -> str:
    """Write each user's oauth2 settings file; the passdb blocks that use them (empty without OAuth2)."""
    blocks = []
    for user, url in introspection_urls.items():
        args = workdir / f"oauth2-{user}.conf.ext"
        args.write_text(_OAUTH2_ARGS.format(url=url))
        blocks.append(_OAUTH2_PASSDB.format(user=user, args=args))
    return "".join(blocks)


def render_config(
    *,
    workdir: Path,
    base_dir: Path,
    host: str,
    port: int,
    log: Path,
    mail_root: Path,
    oauth2_passdbs: str = "",
    sent_folder: str = "Sent",
    idle: bool = True,
) -> str:
    """dovecot.conf for one throwaway server listening on ``host:port``; ``idle=False`` for one that does
    not offer IDLE (as some servers do not), to see that mail is polled there."""
    privileges, home = _privileges(mail_root)
    return _DOVECOT_CONF.format(
        oauth2_mechanisms=" xoauth2 oauthbearer" if oauth2_passdbs else "",
        oauth2_passdbs=oauth2_passdbs,
        sent_folder=sent_folder,
        capability="" if idle else f"  imap_capability = {WITHOUT_IDLE}\n",
        workdir=workdir,
        base_dir=base_dir,
        host=host,
        port=port,
        log=log,
        privileges=privileges,
        home=home,
    )


def _privileges(mail_root: Path) -> tuple[str, str]:
    """The privilege settings and the userdb home pattern for whoever runs the server."""
    owner = mail_owner()
    if is_root():
        privileges = _ROOT_PRIVILEGES.format(uid=owner.pw_uid, gid=owner.pw_gid, mail_root=mail_root)
        return privileges, "/%u"  # relative to mail_chroot
    privileges = _USER_PRIVILEGES.format(
        user=owner.pw_name,
        group=grp.getgrgid(owner.pw_gid).gr_name,
        uid=owner.pw_uid,
        gid=owner.pw_gid,
    )
    return privileges, f"{mail_root}/%u"
