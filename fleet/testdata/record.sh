#!/bin/sh
# Prints its arguments one per line and the OPSBOT_* environment, as a
# restart or switch program would see them; exits with $2 when it is a number.
for a in "$@"; do echo "arg: $a"; done
env | grep '^OPSBOT_' | sort
echo "secret: ${OPSBOT_SECRET_TOKEN:-none}"
case "$1" in
  fail) echo "it broke" >&2; exit 3 ;;
  hang) sleep 30 & sleep 30 ;;
esac
exit 0
