#!/bin/sh
# Prints "tick N" when told to: it reads commands from the fifo $1, so a test
# controls the pace. Stops at "end".
exec 3<> "$1" # read-write: no EOF between the test's writes
while read -r cmd <&3; do
	[ "$cmd" = end ] && break
	echo "tick $cmd"
done
echo done
