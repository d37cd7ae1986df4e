#!/usr/bin/env bash
# Starts a throw-away S3 server for the tests: a single-node Ceph (one
# monitor, one in-memory OSD) with two RADOS Gateways on 127.0.0.1, gateway
# `a` on $RGW_PORT (7480) for the tests, gateway `b` on $RGW_PORT+1 for the
# test that stops a gateway mid-run (scripts/s3-gateway.sh). Creates the
# user and the buckets in S3_BUCKETS. Data lives in memory: stopping the OSD
# loses it (stopping a gateway does not).
# Needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd (Debian 12: Ceph 16.2)
# Stop it with scripts/s3-down.sh.
set -euo pipefail
D=${CEPH_DIR:-/tmp/ceph-s3}
# Ceph's daemons fail quietly (ceph-mon exits 28 and logs nothing to stderr
# when the disk is low), so a failure names its line and shows the logs.
trap 'rc=$?; echo "s3-up.sh: line $LINENO: \"$BASH_COMMAND\" exited $rc" >&2; df -h "$D" >&2 || true; tail -n 15 "$D"/log/*.log >&2 2>/dev/null || true' ERR
PORT=${RGW_PORT:-7480}
MON1=${MON_PORT:-6789}
MON2=$((MON1 + 1))
AK=${S3_ACCESS_KEY:-testaccess}
SK=${S3_SECRET_KEY:-testsecret}
rm -rf "$D"; mkdir -p "$D"/{run,log,mon.a,osd.0}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]
mon initial members = a
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
# radosgw's built-in defaults ask for a secure (cephx) mon session; with auth=none that fails with -13
ms mon client mode = crc
ms client mode = crc
ms cluster mode = crc
ms service mode = crc
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
# the monitor refuses to start below 5% free disk by default; the data is throw-away
mon data avail warn = 1
mon data avail crit = 0
run dir = $D/run
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
pid file = $D/run/\$name.pid
keyring = $D/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
mon warn on pool no redundancy = false
[mon]
mon data = $D/mon.\$id
[osd]
osd data = $D/osd.\$id
osd objectstore = memstore
memstore device bytes = ${MEMSTORE_BYTES:-2147483648}
osd max object name len = 460
osd max object namespace len = 64
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $D/rgw
rgw enable usage log = false
[client.rgw.b]
rgw frontends = beast endpoint=127.0.0.1:$((PORT + 1))
rgw data = $D/rgw-b
rgw enable usage log = false
CONF
C="-c $D/ceph.conf"
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --clobber --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON2,v1:127.0.0.1:$MON1]" "$D/monmap" >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
ceph-mon $C -i a
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(ceph $C osd new "$OSD_UUID")
ceph-osd $C -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>>"$D/log/mkfs.log"
ceph-osd $C -i "$OSD_ID"
timeout 120 radosgw $C -n client.rgw.a
timeout 120 radosgw $C -n client.rgw.b
# wait for the gateways to answer
for p in $PORT $((PORT + 1)); do
  for i in $(seq 1 300); do
    if curl -s -o /dev/null "http://127.0.0.1:$p/"; then break; fi; sleep 0.2
  done
done
timeout 60 radosgw-admin $C user create --uid=test --display-name=test --access-key="$AK" --secret-key="$SK" >/dev/null
# buckets: object_store cannot create buckets; curl >= 7.75 can sign SigV4 (RGW needs the payload-hash header)
for b in ${S3_BUCKETS:-cvm-test}; do
  curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AK:$SK" -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" \
       -X PUT "http://127.0.0.1:$PORT/$b" -o /dev/null
done
# WATCH_PID: stop everything when that process ends (the test binary that started it)
if [ -n "${WATCH_PID:-}" ]; then
  here=$(cd "$(dirname "$0")" && pwd)
  CEPH_DIR="$D" nohup bash -c "while kill -0 $WATCH_PID 2>/dev/null; do sleep 1; done; '$here/s3-down.sh'; rm -rf '$D'" \
    >/dev/null 2>&1 </dev/null &
fi
echo "S3 (Ceph RGW) up on http://127.0.0.1:$PORT and :$((PORT + 1)) (access=$AK secret=$SK) pids: $(cat $D/run/*.pid | tr '\n' ' ')"
