#!/bin/bash
# local-cluster.sh start|stop|status: a single-node SLURM cluster with accounting on this machine, for tests.
#
# Installs Debian's slurmctld, slurmd, slurm-client, slurmdbd, MariaDB and munge (when missing), writes
# /etc/slurm/slurm.conf and slurmdbd.conf, and starts munged, mariadbd, slurmdbd, slurmctld and slurmd by hand
# (no systemd needed). Idempotent: `start` on a running cluster only checks it; `stop` on a stopped one does nothing.
# Root only. Pid files and daemon output go to $CARBON_METER_SLURM_RUN (default /tmp/carbon-meter-slurm).
#
# Recipe adapted from the project's verified notes "A single-node SLURM with accounting, for tests (Debian 12)"
# (start-slurm.sh / stop-slurm.sh, tested on Debian bookworm with slurm 22.05.8), shared with the team as
# notes/slurm.md. Every wait is on a condition (sacctmgr, scontrol ping, sinfo idle), never a fixed sleep.
set -euo pipefail
RUN=${CARBON_METER_SLURM_RUN:-/tmp/carbon-meter-slurm}
DBPASS=${CARBON_METER_SLURM_DBPASS:-slurmdbpass}
PKGS="slurmctld slurmd slurm-client slurmdbd mariadb-server munge"

die() { echo "local-cluster: $*" >&2; exit 1; }
wait_for() { # wait_for <seconds> <what> <command...>
  local n=$(( $1 * 4 )) what=$2; shift 2
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "local-cluster: timed out waiting for $what" >&2; return 1
}
alive() { [ -f "$RUN/$1.pid" ] && [ -d "/proc/$(cat "$RUN/$1.pid")" ]; }   # /proc: works for non-root too
node_idle() { sinfo -h -o %t 2>/dev/null | grep -Eqx 'idle|mix|alloc'; }

install_pkgs() {
  local missing=0
  for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch /usr/sbin/slurmdbd /usr/sbin/mariadbd /usr/sbin/munged; do
    [ -x "$b" ] || missing=1
  done
  [ $missing = 0 ] && return 0
  command -v apt-get >/dev/null || die "SLURM is not installed and apt-get is missing (Debian/Ubuntu only)"
  echo "local-cluster: installing $PKGS" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends $PKGS >&2 || die "apt-get install failed"
}

start_munge() {
  alive munged && return 0
  [ -s /etc/munge/munge.key ] || runuser -u munge -- /usr/sbin/mungekey --create
  chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
  install -d -o munge -g munge -m 0755 /run/munge
  if [ -f /run/munge/munged.pid ] && kill -0 "$(cat /run/munge/munged.pid)" 2>/dev/null; then
    cp /run/munge/munged.pid "$RUN/munged.pid"; return 0
  fi
  runuser -u munge -- /usr/sbin/munged --force   # forks, writes /run/munge/munged.pid
  wait_for 30 munged test -s /run/munge/munged.pid
  cp /run/munge/munged.pid "$RUN/munged.pid"
  wait_for 30 munge sh -c 'munge -n | unmunge'
}

start_mariadb() {
  if ! alive mariadbd; then
    install -d -o mysql -g mysql -m 0755 /run/mysqld
    [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    # unix socket only: no TCP port to collide with
    /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
      --pid-file=/run/mysqld/mysqld.pid --skip-networking --innodb-lock-wait-timeout=900 \
      >"$RUN/mariadb.log" 2>&1 &
    echo $! > "$RUN/mariadbd.pid"
  fi
  wait_for 60 mariadb mariadb-admin ping
  if [ "${RESET:-0}" = 1 ]; then   # throwaway cluster: state and database are wiped together, never one alone
    rm -rf /var/lib/slurm/slurmctld/*
    mariadb -e "DROP DATABASE IF EXISTS slurm_acct_db"
  fi
  mariadb -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DBPASS';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

write_config() {
  mkdir -p /etc/slurm /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm
  chown slurm:slurm /var/lib/slurm/slurmctld /var/log/slurm
  cat > /etc/slurm/slurmdbd.conf <<EOC
AuthType=auth/munge
DbdHost=localhost
SlurmUser=slurm
DebugLevel=info
LogFile=/var/log/slurm/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=$DBPASS
EOC
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 600 /etc/slurm/slurmdbd.conf
  # slurmd -C describes this machine's hardware: the node line must match it or the node drains.
  cat > /etc/slurm/slurm.conf <<EOC
ClusterName=testcluster
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/lib/slurm/slurmd
StateSaveLocation=/var/lib/slurm/slurmctld
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
MinJobAge=30
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
AcctGatherEnergyType=acct_gather_energy/none
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobCompType=jobcomp/none
SlurmctldDebug=info
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdDebug=info
SlurmdLogFile=/var/log/slurm/slurmd.log
$(slurmd -C | head -1) NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOC
}

start_daemons() {
  cd "$RUN"
  if ! alive slurmdbd; then
    rm -f /run/slurmdbd.pid
    /usr/sbin/slurmdbd -D >slurmdbd.out 2>&1 & echo $! > slurmdbd.pid
  fi
  wait_for 60 slurmdbd sacctmgr -n list cluster
  if ! alive slurmctld; then
    rm -f /run/slurmctld.pid
    /usr/sbin/slurmctld -D >slurmctld.out 2>&1 & echo $! > slurmctld.pid
  fi
  wait_for 60 slurmctld sh -c "scontrol ping | grep -q 'is UP'"
  if ! alive slurmd; then
    rm -f /run/slurmd.pid
    /usr/sbin/slurmd -D >slurmd.out 2>&1 & echo $! > slurmd.pid
  fi
  # A node drained by an earlier run stays drained across restarts: resume it.
  if sinfo -h -o %t 2>/dev/null | grep -Eq 'drain|drng|down'; then
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
  fi
  wait_for 60 "node idle" node_idle
}

cmd_status() {
  local ok=0
  for d in munged mariadbd slurmdbd slurmctld slurmd; do
    if alive "$d"; then echo "$d: running (pid $(cat "$RUN/$d.pid"))"; else echo "$d: stopped"; ok=1; fi
  done
  if [ $ok = 0 ]; then
    echo "node: $(sinfo -h -o %t 2>/dev/null || echo unknown)"
  fi
  return $ok
}

cmd_start() {
  if cmd_status >/dev/null 2>&1 && node_idle; then echo "local-cluster: already running"; return 0; fi
  [ "$(id -u)" = 0 ] || die "not running, and starting it needs root (it installs packages and starts daemons)"
  mkdir -p "$RUN"
  install_pkgs
  start_munge
  start_mariadb
  alive slurmctld || write_config
  start_daemons
  echo "local-cluster: running ($(sinfo -h -o '%N %t %c CPUs'))"
}

cmd_stop() {
  [ -d "$RUN" ] || { echo "local-cluster: not running"; return 0; }
  cd "$RUN"
  for d in slurmd slurmctld slurmdbd mariadbd munged; do
    [ -f $d.pid ] || continue
    p=$(cat $d.pid)
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p"
      for _ in $(seq 1 120); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$p" 2>/dev/null && echo "local-cluster: $d ($p) still running" >&2
    fi
    rm -f $d.pid
  done
  # slurmctld and slurmdbd drop root and cannot delete their pid files in /run
  rm -f /run/slurmctld.pid /run/slurmdbd.pid /run/slurmd.pid
  echo "local-cluster: stopped"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status   (RESET=1 start: forget every job)" >&2; exit 2 ;;
esac
