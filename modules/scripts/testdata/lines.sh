#!/bin/sh
# Prints $1 numbered lines.
i=1
while [ "$i" -le "$1" ]; do
	echo "line $i"
	i=$((i + 1))
done
