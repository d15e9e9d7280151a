#!/bin/sh
# Usage: with_tool.sh TOOLS PACKAGES COMMAND [ARGS...]: runs COMMAND when every program of
# TOOLS (comma-separated, e.g. "chromium,chromedriver") is on PATH. The rule for a missing one:
# under CI (the environment variable CI set and non-empty, as `CI=true bash .ci/run` does;
# scripts/setup.sh installs them there) it is a failure (exit 1); elsewhere a visible skip
# (exit 77, which CTest reports as "Skipped" through the test's SKIP_RETURN_CODE). PACKAGES
# (comma-separated Debian packages) goes into the install hint.
tools=$1
packages=$2
shift 2
for tool in $(echo "$tools" | tr ',' ' '); do
  if ! command -v "$tool" > /dev/null 2>&1; then
    if [ -n "${CI:-}" ]; then
      echo "$tool not installed but CI is set: failing (scripts/setup.sh --tests installs it)" >&2
      exit 1
    fi
    echo "$tool not installed: skipped (apt-get install $(echo "$packages" | tr ',' ' '))" >&2
    exit 77
  fi
done
exec "$@"
