"""A run's files, in one room:

- the format: `checkpoint.py` (one .npz, written atomically, read with bounds) and `schema.py`
  (every field checked on load);
- a run's state out and back in: `config.py` (TrainConfig), `state.py` (what a checkpoint
  keeps, what a resume may change, `resume_trainer`) and `loading.py` (a model from a
  checkpoint, for sampling);
- where outputs go: `folders.py` (checked before any work, never replaced without
  --overwrite; a run's folder claimed) and `lock.py` (one writer at a time);
- stopping: `stopping.py` (Ctrl-C, SIGTERM, SIGHUP: finish the step, save, say how to resume;
  a diverged run says what to try).
"""
