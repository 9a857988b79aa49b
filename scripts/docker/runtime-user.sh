#!/usr/bin/env bash
# The image's non-root user (run once as root in the runtime stage, and by the rehearsal in its
# root): uid/gid 10001, a home of its own, no login shell. The worker only reads the app, the
# libraries and the network volume; it writes only its home and /tmp.
set -euo pipefail
groupadd --gid 10001 higgs
useradd --uid 10001 --gid 10001 --create-home --home-dir /home/higgs --shell /usr/sbin/nologin higgs
