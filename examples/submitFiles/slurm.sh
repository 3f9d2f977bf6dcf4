#!/bin/bash
# Slurm: `sbatch examples/submitFiles/slurm.sh` from your project's directory.
# scoop-node reads the allocation itself (SLURM_JOB_NODELIST, SLURM_TASKS_PER_NODE): one worker
# per task, the origin on the first node, the other nodes' workers started over ssh. The nodes
# must reach each other by ssh without a password (most clusters allow it between the nodes of
# a job) and see scoop-node at the same path (a shared home or project directory).
#SBATCH --job-name=scoop-node-pi
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=4
#SBATCH --time=00:10:00
#SBATCH --output=scoop-node-pi.%j.out

cd "${SLURM_SUBMIT_DIR:-.}" || exit 1
# module load nodejs    # if your site provides node as a module; see also --prolog
${SCOOP_NODE:-npx scoop-node} -v examples/piCalc.ts "${PI_TASKS:-20000}" "${PI_TRIES:-100000}"
