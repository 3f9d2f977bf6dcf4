#!/bin/bash
# LSF: `bsub < examples/submitFiles/lsf.sh` from your project's directory.
# scoop-node reads the allocation from LSB_MCPU_HOSTS (`hostA 4 hostB 4`), or LSB_HOSTS: one
# worker per slot, the origin on the first host, the others started over ssh (passwordless ssh
# between the job's hosts, scoop-node at the same path on each).
#BSUB -J scoop-node-pi
#BSUB -n 8
#BSUB -R "span[ptile=4]"
#BSUB -W 00:10
#BSUB -o scoop-node-pi.%J.out

cd "${LS_SUBCWD:-.}" || exit 1
${SCOOP_NODE:-npx scoop-node} -v examples/piCalc.ts "${PI_TASKS:-20000}" "${PI_TRIES:-100000}"
