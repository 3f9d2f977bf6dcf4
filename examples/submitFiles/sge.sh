#!/bin/bash
# SGE (Son of Grid Engine, Univa): `qsub examples/submitFiles/sge.sh` from your project's directory.
# scoop-node reads the allocation from PE_HOSTFILE (`host slots queue processors` lines): one
# worker per slot, the origin on the first host, the others started over ssh (passwordless ssh
# between the job's hosts, scoop-node at the same path on each). The parallel environment's
# name is your site's: `qconf -spl` lists them.
#$ -N scoop-node-pi
#$ -pe mpi 8
#$ -l h_rt=00:10:00
#$ -cwd
#$ -j y

cd "${SGE_O_WORKDIR:-.}" || exit 1
${SCOOP_NODE:-npx scoop-node} -v examples/piCalc.ts "${PI_TASKS:-20000}" "${PI_TRIES:-100000}"
