#!/usr/bin/env bash
# Stops or starts one gateway of the test S3 server (scripts/s3-up.sh), for
# the test of a store that goes away mid-run: scripts/s3-gateway.sh stop|start b
set -euo pipefail
D=${CEPH_DIR:-/tmp/ceph-s3}
action=$1; name=client.rgw.${2:-b}
case "$action" in
  stop)
    p=$(cat "$D/run/$name.pid"); kill "$p"
    for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true; rm -f "$D/run/$name.pid" ;;
  start)
    radosgw -c "$D/ceph.conf" -n "$name"
    port=$(sed -n "/^\[$name\]/,/^\[/s/.*endpoint=127.0.0.1:\([0-9]*\).*/\1/p" "$D/ceph.conf")
    for i in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$port/" && exit 0; sleep 0.2; done
    echo "gateway $name did not come back on $port" >&2; exit 1 ;;
  *) echo "usage: $0 stop|start [a|b]" >&2; exit 2 ;;
esac
