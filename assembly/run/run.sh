#!/bin/sh
# `make run`: writes a demo configuration into RUN_DIR and runs mosquitto in the foreground with
# the wasm plugin enforcing the default policy.
# Usage: run.sh RUN_DIR PORT PLUGIN_SO POLICY_WASM
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 RUN_DIR PORT PLUGIN_SO POLICY_WASM" >&2
	exit 2
fi
run_dir=$1
port=$2
plugin_so=$3
policy_wasm=$4
here=$(cd "$(dirname "$0")" && pwd)
mosquitto=${MOSQUITTO:-/usr/sbin/mosquitto}

for tool in "$mosquitto" mosquitto_passwd; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "run.sh: $tool not found (apt-get install mosquitto mosquitto-clients)" >&2
		exit 1
	fi
done

mkdir -p "$run_dir"
run_dir=$(cd "$run_dir" && pwd)

# Demo users, hashed by the real mosquitto_passwd ($7$ PBKDF2-SHA512).
rm -f "$run_dir/passwd"
touch "$run_dir/passwd"
mosquitto_passwd -b "$run_dir/passwd" alice alice-secret
mosquitto_passwd -b "$run_dir/passwd" bob bob-secret
cp "$here/demo.acl" "$run_dir/acl"
chmod 0644 "$run_dir/passwd" "$run_dir/acl"

# Started as root, mosquitto drops to user "mosquitto", which must be able to read the plugin,
# the module and the demo files. Keep root only when it could not (e.g. a checkout in a private
# home directory).
user_line="# user: mosquitto's default"
if [ "$(id -u)" = 0 ]; then
	readable=yes
	if id mosquitto >/dev/null 2>&1 && command -v runuser >/dev/null 2>&1; then
		for f in "$plugin_so" "$policy_wasm" "$run_dir/passwd" "$run_dir/acl"; do
			runuser -u mosquitto -- test -r "$f" || readable=no
		done
	else
		readable=no
	fi
	if [ "$readable" = no ]; then
		user_line="user root"
	fi
fi

sed -e "s|@PORT@|$port|" -e "s|@USER_LINE@|$user_line|" -e "s|@PLUGIN_SO@|$plugin_so|" \
	-e "s|@POLICY_WASM@|$policy_wasm|" -e "s|@RUN_DIR@|$run_dir|g" \
	"$here/mosquitto.conf.in" > "$run_dir/mosquitto.conf"

cat <<EOF

Broker config: $run_dir/mosquitto.conf (acl: $run_dir/acl, users alice and bob)

Allowed (in another terminal):
  mosquitto_sub -h 127.0.0.1 -p $port -u alice -P alice-secret -t 'users/alice/#' -t 'public/#' -v
  mosquitto_pub -h 127.0.0.1 -p $port -u alice -P alice-secret -t users/alice/hello -m hi
  mosquitto_pub -h 127.0.0.1 -p $port -u alice -P alice-secret -t public/news -m 'from alice'

Denied:
  mosquitto_pub -h 127.0.0.1 -p $port -u alice -P wrong -t users/alice/hello -m hi
      -> Connection error: Not authorised
  mosquitto_pub -h 127.0.0.1 -p $port -u bob -P bob-secret -t users/alice/hello -m hi -q 1 -V mqttv5
      -> Warning: Publish 1 failed: Not authorized.  (alice's subscriber gets nothing)
  mosquitto_pub -h 127.0.0.1 -p $port -t public/news -m anonymous
      -> Connection error: Not authorised

Edit $run_dir/acl or passwd and send SIGHUP (kill -HUP <pid>) to reload them.
Starting mosquitto (Ctrl-C stops it)...

EOF
exec "$mosquitto" -c "$run_dir/mosquitto.conf" -v
