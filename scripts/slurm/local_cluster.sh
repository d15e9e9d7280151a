#!/usr/bin/env bash
# A one-node Slurm cluster on 127.0.0.1, all of it inside one folder: munged (with a fresh
# key), slurmctld and slurmd, with their config, state, spool, logs and PID files in DIR. For
# the Slurm test (tests/dist/test_slurm.cpp) and for trying scripts/slurm/attnlab.sbatch on
# one machine (docs/DISTRIBUTED.md). Needs Debian's slurmctld, slurmd, slurm-client and munge
# (scripts/setup.sh --tests); the daemons run as the current user.
#   scripts/slurm/local_cluster.sh start DIR   # then: export SLURM_CONF=DIR/slurm.conf
#   scripts/slurm/local_cluster.sh stop DIR    # stops the daemons it started, by their PIDs
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$2
daemons=(slurmd slurmctld munged)

# A TCP port nobody listens on now.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Whether process PID exists and is not a zombie.
running() { [[ -r /proc/$1/stat && $(awk '{print $3}' "/proc/$1/stat") != Z ]]; }

# Stops the daemon whose PID file is DIR/run/NAME.pid, if that PID still runs NAME.
stop_daemon() {
  local name=$1 pidfile=$dir/run/$1.pid pid
  [[ -f $pidfile ]] || return 0
  pid=$(cat "$pidfile")
  if [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || break; sleep 0.2; done
    ! running "$pid" || kill -9 "$pid"
  fi
  rm -f "$pidfile"
}

stop_all() { for d in "${daemons[@]}"; do stop_daemon "$d"; done; }

write_config() {
  local node
  node=$(hostname -s)
  cat > "$dir/slurm.conf" <<EOF
# Written by scripts/slurm/local_cluster.sh: one node ($node) on 127.0.0.1.
ClusterName=attnlab-local
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$dir/run/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=$node NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

# Waits up to 30 s for the node to be idle; prints the logs and stops everything otherwise.
wait_idle() {
  for _ in $(seq 150); do
    [[ $(SLURM_CONF=$dir/slurm.conf sinfo -h -o %T 2>/dev/null) == idle ]] && return 0
    sleep 0.2
  done
  echo "local_cluster: the node did not come up within 30 s; logs in $dir/log:" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  stop_all
  exit 1
}

start() {
  for tool in munged mungekey slurmctld slurmd sinfo python3; do
    command -v "$tool" > /dev/null ||
      { echo "local_cluster: $tool not found: apt-get install -y slurmctld slurmd slurm-client munge (scripts/setup.sh --tests)" >&2; exit 2; }
  done
  [[ ! -e $dir/run/slurmctld.pid ]] ||
    { echo "local_cluster: $dir already holds a cluster; stop it first ($0 stop $dir)" >&2; exit 2; }
  mkdir -p "$dir"/{state,spool,log,run}
  chmod 711 "$dir"  # munged wants its socket's folders searchable by everyone
  [[ -f $dir/munge.key ]] || mungekey --create --bits=1024 --keyfile="$dir/munge.key"
  write_config
  trap 'stop_all' ERR
  munged --force --socket="$dir/run/munge.sock" --key-file="$dir/munge.key" \
    --log-file="$dir/log/munged.log" --pid-file="$dir/run/munged.pid" --seed-file="$dir/munged.seed"
  slurmctld -i -f "$dir/slurm.conf"
  slurmd -f "$dir/slurm.conf"
  trap - ERR
  wait_idle
  echo "local_cluster: one node up; export SLURM_CONF=$dir/slurm.conf"
}

case $action in
  start) start ;;
  stop) stop_all; echo "local_cluster: stopped the daemons of $dir" ;;
  *) usage ;;
esac
