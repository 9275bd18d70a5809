#!/bin/sh
# Says which code it exits with ($1), on stdout and stderr, and exits with it.
echo "out: exiting $1"
echo "err: exiting $1" >&2
exit "$1"
