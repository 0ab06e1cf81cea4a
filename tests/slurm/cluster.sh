#!/usr/bin/env bash
# A single-node SLURM cluster on localhost for the SLURM test (see ../../README.md).
# Usage: cluster.sh start | stop | status. Needs root and Debian's apt (installs
# slurm-wlm and munge when missing). One node: all CPUs, select/cons_tres, one GRES
# GPU declared on /dev/null (jobs asking for a GPU get CUDA_VISIBLE_DEVICES=0; torch
# still sees no GPU and runs on the CPU). No accounting database.
set -euo pipefail

HOST="$(hostname -s)"
CPUS="$(nproc)"
MEM_MB="$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)"
CONF_DIR=/etc/slurm

install_packages() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null && apt-get install -y -q slurm-wlm munge >/dev/null; }
    fi
}

write_config() {
    mkdir -p "$CONF_DIR" /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /run/munge
    chown munge:munge /run/munge
    cat >"$CONF_DIR/slurm.conf" <<CONF
ClusterName=cxrcbir
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MinJobAge=300
ReturnToService=2
SchedulerParameters=sched_interval=2
GresTypes=gpu
SlurmdParameters=config_overrides
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
    echo "NodeName=$HOST Name=gpu Count=1 File=/dev/null" >"$CONF_DIR/gres.conf"
}

start() {
    install_packages
    write_config
    stop >/dev/null 2>&1 || true
    runuser -u munge -- /usr/sbin/munged
    /usr/sbin/slurmctld
    /usr/sbin/slurmd
    for _ in $(seq 60); do
        if sinfo -h -o '%t' 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            sinfo
            return 0
        fi
        sleep 1
    done
    echo "SLURM node did not become idle; sinfo says: $(sinfo -h -o '%t %E' 2>&1)" >&2
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    return 1
}

stop() {
    for pid_file in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
        if [[ -f $pid_file ]]; then
            kill "$(cat "$pid_file")" 2>/dev/null || true
            rm -f "$pid_file"
        fi
    done
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) sinfo && squeue ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
