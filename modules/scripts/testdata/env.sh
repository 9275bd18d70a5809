#!/bin/sh
# Prints its environment, one variable a line, sorted.
env | sort
