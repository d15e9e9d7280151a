#!/bin/sh
# Usage: with_tool.sh TOOL COMMAND [ARGS...]: runs COMMAND when TOOL is on PATH. The rule for a
# missing TOOL: under CI (the environment variable CI set and non-empty, as `CI=true bash
# .ci/run` does; scripts/setup.sh installs gnuplot-nox and texlive there) it is a failure
# (exit 1); elsewhere a visible skip (exit 77, which CTest reports as "Skipped" through the
# test's SKIP_RETURN_CODE).
tool=$1
shift
if ! command -v "$tool" > /dev/null 2>&1; then
  if [ -n "${CI:-}" ]; then
    echo "$tool not installed but CI is set: failing (scripts/setup.sh installs it)" >&2
    exit 1
  fi
  echo "$tool not installed: skipped (apt-get install gnuplot-nox texlive-latex-base texlive-latex-recommended)" >&2
  exit 77
fi
exec "$@"
