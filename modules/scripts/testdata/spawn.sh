#!/bin/sh
# Starts a child, writes "PARENT CHILD" pids to $1, says "started" and waits.
# With $2 = ignore-term, both ignore SIGTERM (only SIGKILL ends them).
if [ "$2" = ignore-term ]; then
	trap '' TERM
fi
sleep 300 &
echo "$$ $!" > "$1"
echo started
wait
