#!/bin/sh
# Stands in for a restart program: says which instance it restarted for whom,
# and leaves a mark in the directory it is given, so a test can tell it ran.
echo "restarted $2 for $3"
touch "$1/restarted-$2"
