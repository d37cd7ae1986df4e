#!/usr/bin/env bash
# Stops the daemons scripts/s3-up.sh started, by the PIDs they wrote (never by name).
D=${CEPH_DIR:-/tmp/ceph-s3}
for n in client.rgw.a client.rgw.b osd.0 mon.a; do
  f="$D/run/$n.pid"; [ -f "$f" ] || continue
  p=$(cat "$f"); kill "$p" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null; rm -f "$f"
done
