# Policy P (docs/BENCHMARKS.md "The reference workload") as a module for the seed plugin,
# mosquitto_pyauth (built by ../shared/anchors/build-pyauth.sh): what a pyauth user would write,
# for its rows in `make bench` (in-process and broker), `make bench-ir` and `make bench-workloads`.
#   auth_opt_password_file  mosquitto_passwd lines "user:$7$iter$salt$hash" (PBKDF2-SHA512),
#                           parsed once at plugin_init with salt and hash already decoded;
#   unpwd_check             dict lookup + hashlib.pbkdf2_hmac + constant-time compare;
#   acl_check               a user may read/write/subscribe users/<own username>/#, may
#                           read/subscribe public/#; everything else is denied (the same rules as
#                           bench/native_plugin.c, including: a username with + or # owns nothing).
import base64
import hashlib
import hmac

import mosquitto_auth

_users = {}
_READ = mosquitto_auth.MOSQ_ACL_READ
_SUBSCRIBE = mosquitto_auth.MOSQ_ACL_SUBSCRIBE


def plugin_init(opts):
    path = dict(opts).get("password_file")
    if path is None:
        raise ValueError("pyauth_policy_p: auth_opt_password_file is required")
    with open(path, encoding="ascii") as f:
        for line in f:
            user, sep, rest = line.strip().partition(":")
            parts = rest.split("$")  # "", "7", iterations, salt, hash
            if not sep or len(parts) != 5 or parts[1] != "7":
                continue
            _users[user] = (int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4]))


def plugin_cleanup():
    _users.clear()


def unpwd_check(username, password):
    entry = _users.get(username)
    if entry is None or password is None:
        return False
    iterations, salt, digest = entry
    got = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, len(digest))
    return hmac.compare_digest(got, digest)


def _under(topic, prefix):
    # topic (or subscription filter) equal to prefix or inside prefix/#
    return topic == prefix or topic.startswith(prefix + "/")


def acl_check(client_id, username, topic, access, payload):
    if username is not None and "+" not in username and "#" not in username \
            and _under(topic, "users/" + username):
        return True
    return (access == _READ or access == _SUBSCRIBE) and _under(topic, "public")
