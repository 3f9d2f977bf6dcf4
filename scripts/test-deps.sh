#!/bin/sh
# Before `npm test`: the Debian packages the tests need. As root, installs what is missing:
# iproute2 (`ip netns`, for the tests that cross a real link), openssh-server and
# openssh-client (the --hosts tests start sshd inside those namespaces) and chromium (the
# dashboard's browser test, driven by playwright-core: no browser download). Otherwise says
# what is skipped.
if [ "$(id -u)" != 0 ]; then
  echo "scoop-node tests: not root: the network-namespace tests (mDNS and ssh hosts across a link) will be skipped;"
  echo "  the dashboard's browser test runs only if Debian's chromium is installed (/usr/bin/chromium)"
  exit 0
fi
missing=""
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
[ -x /usr/sbin/sshd ] || missing="$missing openssh-server"
command -v ssh-keygen >/dev/null 2>&1 || missing="$missing openssh-client"
[ -x /usr/bin/chromium ] || missing="$missing chromium"
if [ -n "$missing" ]; then
  echo "scoop-node tests: installing$missing with apt-get"
  # Installing openssh-server must not start a system-wide sshd: the tests start their own,
  # inside namespaces. policy-rc.d (if none is there) stops the package from starting services.
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null 2>&1; } ||
    echo "scoop-node tests: could not install$missing: the tests that need them will be skipped"
  [ -n "$made_policy" ] && rm -f "$policy"
fi
exit 0
