#!/bin/sh
# Prints each argument after a delimiter line, so a test sees exactly which
# arguments arrived and where each one starts and ends.
for a in "$@"; do
	printf -- '---ARG---\n%s\n' "$a"
done
