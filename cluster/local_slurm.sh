#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine (slurmctld + slurmd + a private munged),
# without systemd, for quorum's Slurm tests and for trying `quorum submit` by hand.
#   local_slurm.sh start DIR   -> prints "export SLURM_CONF=DIR/slurm.conf"
#   local_slurm.sh stop  DIR   -> cancels jobs, stops the daemons started for DIR
# Everything (config, key, sockets, state, spool, logs, pids) lives under DIR, on random ports,
# so it never touches a system Slurm or munge. Installs Debian's slurmctld, slurmd,
# slurm-client and munge when absent (root). LOCAL_SLURM_CPUS declares more CPUs than the
# machine has (a coordinator and two workers on a 2-core machine); default: the machine's.
set -euo pipefail

die() { echo "local_slurm: $*" >&2; exit 1; }
log() { echo "local_slurm: $*" >&2; }

ensure_packages() {
  local need=()
  command -v munged    >/dev/null || need+=(munge)
  command -v slurmctld >/dev/null || need+=(slurmctld)
  command -v slurmd    >/dev/null || need+=(slurmd)
  command -v sbatch    >/dev/null || need+=(slurm-client)
  [ ${#need[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "need root to install: ${need[*]}"
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Two tests starting clusters at once: the second waits for the first's dpkg lock.
  local apt=(apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "${need[@]}")
  "${apt[@]}" >/dev/null 2>&1 ||
    { apt-get -o DPkg::Lock::Timeout=300 update >/dev/null 2>&1 && "${apt[@]}" >/dev/null; } ||
    die "apt-get install ${need[*]} failed"
}

free_port() {  # free_port [EXCLUDE]: random unused TCP port below the ephemeral range
  local p used; used=$(ss -Hltan 2>/dev/null | awk '{print $4}' | sed 's/.*://')
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000))
    [ "$p" != "${1:-}" ] && ! grep -qx "$p" <<<"$used" && { echo "$p"; return; }
  done
  die "no free port"
}

alive() { ps -o stat= -p "$1" 2>/dev/null | grep -qv Z; }   # zombies count as dead
pid_alive() { [ -s "$1" ] && alive "$(cat "$1")"; }

wait_for() {  # wait_for SECONDS CMD... : poll CMD every 0.2s
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1; sleep 0.2
  done
}

start() {
  local dir=$1 host node cport dport defmem
  ensure_packages
  mkdir -p "$dir"; dir=$(cd "$dir" && pwd)
  pid_alive "$dir/run/slurmctld.pid" && die "already running in $dir"
  trap "[ \$? -eq 0 ] || stop '$dir' >/dev/null 2>&1" EXIT   # no half-started cluster
  mkdir -p "$dir"/{munge,state,spool,log,run}
  chmod 755 "$dir" "$dir/munge"   # munged: socket dir must be o+x

  # --- munge: private key/socket/pid/log, does not touch a system munged ---
  local M=$dir/munge
  [ -s "$M/munge.key" ] || { dd if=/dev/urandom of="$M/munge.key" bs=1024 count=1 \
    status=none && chmod 400 "$M/munge.key"; }
  pid_alive "$M/munged.pid" || munged --key-file="$M/munge.key" \
    --socket="$M/munge.socket" --pid-file="$M/munged.pid" \
    --log-file="$M/munged.log" --seed-file="$M/munged.seed" ||
    die "munged failed: $(tail -3 "$M/munged.log")"

  # --- slurm.conf ---
  host=$(hostname -s)
  # slurmd -C prints "NodeName=<host> CPUs=.. Boards=.. ... RealMemory=.."
  local detected cpus memory
  detected=$(slurmd -C | head -1)
  [ -n "$detected" ] || die "slurmd -C failed"
  cpus=${LOCAL_SLURM_CPUS:-$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$detected")}
  memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")
  node="NodeName=$host CPUs=$cpus RealMemory=$memory"
  cport=$(free_port); dport=$(free_port "$cport")
  # jobs without --mem get an equal share instead of the whole node
  defmem=$((memory / cpus))
  cat >"$dir/slurm.conf" <<EOF
ClusterName=local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# A requeued job waits cred_expire + 1 s before it runs again; at 5 s the rerun met its own
# dying steps (Duplicate jobid, node drained), 30 s is safe.
AuthInfo=socket=$M/munge.socket,cred_expire=30
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=$defmem
EnforcePartLimits=ALL
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_min_interval=0
JobRequeue=1
# A node set DOWN stays down until RESUME; the declared CPUs are taken as given.
ReturnToService=1
SlurmdParameters=config_overrides
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
InactiveLimit=0
KillWait=2
MinJobAge=3600
WaitTime=0
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  export SLURM_CONF=$dir/slurm.conf

  # --- daemons (they fork and write their pid files) ---
  slurmctld && wait_for 20 scontrol ping ||
    die "slurmctld failed: $(tail -n 3 "$dir/log/slurmctld.log" 2>/dev/null)"
  slurmd || die "slurmd failed: $(tail -n 3 "$dir/log/slurmd.log" 2>/dev/null)"
  # node must register; a DRAIN kept in DIR/state from an earlier run is cleared
  scontrol update NodeName="$host" State=RESUME 2>/dev/null || true
  wait_for 60 bash -c 'sinfo -h -n "$0" -o %t | grep -Eqx "idle|mix|alloc"' "$host" ||
    die "node not ready: $(sinfo -h -o '%N %t %E' 2>&1); see $dir/log"
  log "cluster up in $dir"
  echo "export SLURM_CONF=$dir/slurm.conf"
}

stop() {
  local dir; dir=$(cd "$1" 2>/dev/null && pwd) || die "no such dir $1"
  export SLURM_CONF=$dir/slurm.conf
  if pid_alive "$dir/run/slurmctld.pid"; then   # cancel jobs so steps die cleanly
    local jobs; jobs=$(squeue -h -o %F 2>/dev/null | sort -u) || true
    [ -z "$jobs" ] || scancel --quiet $jobs || true
    wait_for 15 bash -c '[ -z "$(squeue -h -t R,CG -o %A)" ]' || true
  fi
  local f p pids=()   # SIGTERM all three, then wait (each takes ~1.5-2 s)
  for f in run/slurmd.pid run/slurmctld.pid munge/munged.pid; do
    pid_alive "$dir/$f" && { p=$(cat "$dir/$f"); pids+=("$p"); kill "$p" 2>/dev/null || true; }
    rm -f "$dir/$f"
  done
  for p in "${pids[@]}"; do
    wait_for 15 bash -c "! ps -o stat= -p $p | grep -qv Z" || kill -9 "$p" 2>/dev/null || true
  done
  # leftover slurmstepd of this cluster (slurmctld was dead, so no scancel):
  # they inherit SLURM_CONF from slurmd; kill each one's session (its tasks)
  for p in $(pgrep -x slurmstepd || true); do
    { tr '\0' '\n' <"/proc/$p/environ"; } 2>/dev/null | grep -qx "SLURM_CONF=$SLURM_CONF" &&
      pkill -9 -s "$(ps -o sid= -p "$p" | tr -d " ")" 2>/dev/null || true
  done
  log "stopped $dir"
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  stop)  [ $# -eq 2 ] || die "usage: $0 stop DIR";  stop "$2" ;;
  *) die "usage: $0 {start|stop} DIR" ;;
esac
