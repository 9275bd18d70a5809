#!/bin/sh
# Leaves a child running behind it: writes its pid to $1 and exits 0.
sleep 300 &
echo "$!" > "$1"
echo bye
