#!/usr/bin/env bash
# A real single-node Slurm in a folder, for the tests: loopback only, no systemd, no munge, no
# database. Debian's slurmctld, slurmd and slurm-client must be installed (make test-slurm
# installs them).
#   scripts/slurm-cluster.sh start DIR   writes DIR/slurm.conf, starts both daemons, waits
#                                        until the node is idle; prints `export SLURM_CONF=…`
#   scripts/slurm-cluster.sh stop DIR    stops the daemons it started, by their pid files
# SLURM_CPUS=N declares N job slots (default 8). SLURM_ACCOUNTING=1 adds accounting: a
# MariaDB server in DIR (mariadb-server must be installed) and slurmdbd, so that `sacct`
# answers (the benchmark's Snakemake needs it; make test-slurm runs without).
set -euo pipefail
cmd=$1
dir=$(mkdir -p "$2" && cd "$2" && pwd)
conf=$dir/slurm.conf
node=$(hostname -s)

stop() {
  for d in slurmd slurmctld slurmdbd mariadb; do
    if [ -f "$dir/$d.pid" ]; then
      kill "$(cat "$dir/$d.pid")" 2> /dev/null || true
    fi
  done
  # They leave once their pid is gone; give them a moment, then make sure.
  for _ in $(seq 50); do
    alive=0
    for d in slurmd slurmctld slurmdbd mariadb; do
      [ -f "$dir/$d.pid" ] && kill -0 "$(cat "$dir/$d.pid")" 2> /dev/null && alive=1
    done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for d in slurmd slurmctld slurmdbd mariadb; do
    [ -f "$dir/$d.pid" ] && kill -9 "$(cat "$dir/$d.pid")" 2> /dev/null || true
    rm -f "$dir/$d.pid"
  done
}

case $cmd in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

user=$(id -un)
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
# Two fake GPUs: character devices that gres can hand out (their content is never read).
for i in 0 1; do
  [ -e "$dir/gpu$i" ] || mknod "$dir/gpu$i" c 1 $((3 + 2 * i))
done
cat > "$dir/gres.conf" << EOF
AutoDetect=off
NodeName=$node Name=gpu File=$dir/gpu[0-1]
EOF
cat > "$conf" << EOF
ClusterName=dagtest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=$user
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
KillWait=5
SchedulerType=sched/builtin
SchedulerParameters=defer_batch=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
SlurmdParameters=config_overrides
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/log/jobcomp.txt
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=${SLURM_CPUS:-8} RealMemory=$(( ${SLURM_CPUS:-8} * 512 )) Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

stop
export SLURM_CONF=$conf
if [ "${SLURM_ACCOUNTING:-0}" = 1 ]; then
  # MariaDB on loopback, its files in DIR; slurmdbd beside it (it reads slurmdbd.conf from
  # slurm.conf's folder).
  [ -d "$dir/db" ] || mariadb-install-db --datadir="$dir/db" --user="$user" --auth-root-authentication-method=normal > "$dir/log/mariadb-install.log" 2>&1
  mariadbd --datadir="$dir/db" --socket="$dir/mysql.sock" --pid-file="$dir/mariadb.pid" --port=16820 --bind-address=127.0.0.1 --user="$user" > "$dir/log/mariadb.log" 2>&1 &
  for _ in $(seq 100); do [ -S "$dir/mysql.sock" ] && break; sleep 0.1; done
  mariadb -S "$dir/mysql.sock" -u root -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';"
  cat > "$dir/slurmdbd.conf" << DBD
AuthType=auth/none
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=16819
SlurmUser=$user
PidFile=$dir/slurmdbd.pid
LogFile=$dir/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=16820
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
DBD
  chmod 600 "$dir/slurmdbd.conf"
  cat >> "$conf" << ACCT
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=16819
JobAcctGatherType=jobacct_gather/linux
ACCT
  slurmdbd
  for _ in $(seq 100); do sacctmgr -n list cluster > /dev/null 2>&1 && break; sleep 0.2; done
  sacctmgr -i add cluster dagtest > /dev/null
  sacctmgr -i add account bench > /dev/null
  sacctmgr -i add user "$user" account=bench defaultaccount=bench > /dev/null
fi
slurmctld -f "$conf"
slurmd -f "$conf" -N "$node"
for _ in $(seq 100); do
  state=$(sinfo -h -N -o %T 2> /dev/null | head -1 || true)
  if [ "$state" = idle ]; then
    echo "export SLURM_CONF=$conf"
    exit 0
  fi
  sleep 0.2
done
echo "slurm-cluster: the node did not become idle (state: ${state:-none}); see $dir/log" >&2
tail -5 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
stop
exit 1
