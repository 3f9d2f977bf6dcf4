#!/bin/bash
# PBS/Torque: `qsub examples/submitFiles/pbs.sh` from your project's directory.
# scoop-node reads the allocation from PBS_NODEFILE (a node listed once per slot): one worker
# per slot, the origin on the first node, the others started over ssh (passwordless ssh between
# the job's nodes, scoop-node at the same path on each).
#PBS -N scoop-node-pi
#PBS -l nodes=2:ppn=4
#PBS -l walltime=00:10:00
#PBS -j oe

cd "${PBS_O_WORKDIR:-.}" || exit 1
${SCOOP_NODE:-npx scoop-node} -v examples/piCalc.ts "${PI_TASKS:-20000}" "${PI_TRIES:-100000}"
