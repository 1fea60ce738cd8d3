#!/usr/bin/env bash
# A real one-node Slurm cluster on 127.0.0.1 for the tests: Debian's munge, slurmctld and slurmd, run
# as the current user (root in CI) from one state folder, without systemd and without slurmdbd.
#
#   bash test/slurm/cluster.sh start   # key, munged, slurm.conf, slurmctld -D, slurmd -D; waits for idle
#   bash test/slurm/cluster.sh stop    # stops the daemons this script started (by their PIDs), nothing else
#   bash test/slurm/cluster.sh env     # prints SLURM_CONF=... for the client commands
#
# State folder: $RFSQ_SLURM_DIR (default /tmp/rfsq-slurm). Accounting is off (plain `sacct` says "Slurm
# accounting storage is disabled"), as on many small clusters; finished jobs are recorded by
# jobcomp/filetxt in jobcomp.log, which `sacct -c` reads.
set -euo pipefail

DIR="${RFSQ_SLURM_DIR:-/tmp/rfsq-slurm}"
CONF="$DIR/slurm.conf"
DAEMONS=(slurmd slurmctld munged)

pid_of() { cat "$DIR/$1.pid" 2>/dev/null || true; }

alive() {
  local pid
  pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

stop() {
  local daemon pid
  for daemon in "${DAEMONS[@]}"; do
    pid="$(pid_of "$daemon")"
    [[ -n "$pid" ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
      echo "stopped $daemon (pid $pid)"
    fi
    rm -f "$DIR/$daemon.pid"
  done
}

fail() {
  echo "slurm cluster: $1" >&2
  for log in "$DIR"/*.log; do [[ -f "$log" ]] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }; done
  stop >&2
  exit 1
}

# Starts a foreground daemon in the background, recording its PID (not a PID file of its own).
launch() {
  local name="$1"
  shift
  "$@" >>"$DIR/$name.out" 2>&1 &
  echo $! >"$DIR/$name.pid"
}

start() {
  for daemon in "${DAEMONS[@]}"; do
    if alive "$daemon"; then
      echo "slurm cluster: $daemon already runs from $DIR (pid $(pid_of "$daemon")); stop it first" >&2
      exit 1
    fi
  done
  for program in munged slurmctld slurmd sinfo; do
    command -v "$program" >/dev/null || {
      echo "slurm cluster: $program is missing (apt-get install slurmctld slurmd slurm-client munge)" >&2
      exit 1
    }
  done
  rm -rf "$DIR"
  mkdir -p "$DIR/ctld" "$DIR/spool" "$DIR/munge"
  chmod 0700 "$DIR" "$DIR/munge"

  head -c 1024 /dev/urandom >"$DIR/munge/munge.key"
  chmod 0400 "$DIR/munge/munge.key"
  launch munged munged --foreground --force --socket="$DIR/munge/munge.socket" \
    --key-file="$DIR/munge/munge.key" --pid-file="$DIR/munge/munged.pid" \
    --seed-file="$DIR/munge/munged.seed" --log-file="$DIR/munged.log"
  for _ in $(seq 100); do [[ -S "$DIR/munge/munge.socket" ]] && break; sleep 0.1; done
  [[ -S "$DIR/munge/munge.socket" ]] || fail "munged did not open its socket"

  # The node as slurmd sees it: NodeName=<host> CPUs=2 Boards=1 ... RealMemory=<MB>.
  local node host
  node="$(slurmd -C | head -n 1)"
  host="$(sed -E 's/^NodeName=([^ ]+).*/\1/' <<<"$node")"
  cat >"$CONF" <<CONF
# Written by test/slurm/cluster.sh: a one-node test cluster on loopback.
ClusterName=rfsq-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/ctld/slurmctld.pid
SlurmdPidFile=$DIR/spool/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
SlurmctldPort=${RFSQ_SLURMCTLD_PORT:-6817}
SlurmdPort=${RFSQ_SLURMD_PORT:-6818}
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
KillWait=2
# Finished jobs leave the controller soon, so that following them through the jobcomp log (sacct -c) is exercised too.
MinJobAge=10
# Start jobs, and chained jobs whose afterok is met, at once: a chain of 3 trivial jobs took 3 s instead of 8-9 s.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
InactiveLimit=0
ReturnToService=2
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.log
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  sed -i 's/ UpTime=[^ ]*//' "$CONF"

  export SLURM_CONF="$CONF"
  launch slurmctld slurmctld -D -f "$CONF"
  launch slurmd slurmd -D -f "$CONF" -N "$host"
  local state=""
  for _ in $(seq 300); do
    alive slurmctld || fail "slurmctld exited"
    alive slurmd || fail "slurmd exited"
    state="$(sinfo -h -N -o %t 2>/dev/null || true)"
    [[ "$state" == idle ]] && break
    sleep 0.1
  done
  [[ "$state" == idle ]] || fail "the node did not become idle (sinfo: ${state:-no answer})"
  echo "slurm cluster up: node $host idle; export SLURM_CONF=$CONF"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "SLURM_CONF=$CONF" ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
