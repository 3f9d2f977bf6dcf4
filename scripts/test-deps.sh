#!/bin/sh
# Before `npm test`: the Debian packages the tests need. As root, installs what is missing
# (iproute2: `ip netns` for the tests that cross a real link); otherwise says what will be skipped.
if [ "$(id -u)" != 0 ]; then
  echo "scoop-node tests: not root: the network-namespace tests (mDNS across a link) will be skipped"
  exit 0
fi
if ! command -v ip >/dev/null 2>&1; then
  echo "scoop-node tests: installing iproute2 (ip netns) with apt-get"
  apt-get install -y -qq iproute2 >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq iproute2 >/dev/null 2>&1; } ||
    echo "scoop-node tests: could not install iproute2: the network-namespace tests will be skipped"
fi
exit 0
