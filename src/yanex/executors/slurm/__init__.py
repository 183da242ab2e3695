"""Running experiments on a Slurm cluster, one job array per batch.

yanex drives Slurm through its own commands and keeps no daemon:

- :mod:`.options`: the sbatch resources a user asks for, and the project's
  defaults;
- :mod:`.commands`: the only place that runs ``sbatch``, ``squeue``,
  ``sacct`` and ``scancel``;
- :mod:`.executor`: submitting members as one array and watching it;
- :mod:`.task`: what each array task runs on its node: one member, through
  the same runner as a local run;
- :mod:`.record` and :mod:`.settle`: what a member's record says about its
  task, and how records are brought in line with Slurm's own account when
  Slurm ended a task before yanex could record it.

Nothing here is imported unless Slurm is used: this package is light on
purpose, and its modules import what they need.
"""
