"""Jobs the MPI tests start, as `python jobs.py JOB ARGS` (one process) or under `mpiexec -n K`.

    train-mlp OUT      20 steps of the 2-D MLP in float64; rank 0 saves the weights to OUT
    train-unet OUT     the same with a tiny class-conditional UNet
    fail-alone         rank 1 fails while rank 0 waits for it in a collective call
    fail-together      every process fails the same way
    stuck              rank 0 waits in an all-reduce that rank 1 never reaches (rank 1 sleeps);
                       SIGTERM on rank 0 ends it like the command line's handler does
    calibrate          with calibration on: each process prints how many timings it made and
                       the choices it uses (two small convolutions stand for the default shapes)
"""
import sys

import numpy as np

from ddpm_np.data import toy2d
from ddpm_np.data.batching import ArrayDataset
from ddpm_np.diffusion import NoiseSchedule
from ddpm_np.models import MLP, UNet
from ddpm_np.parallel import world
from ddpm_np.train import TrainConfig, Trainer

STEPS = 20


def train(model, data, schedule, batch_size, out):
    cfg = TrainConfig(steps=STEPS, batch_size=batch_size, lr=1e-3, warmup_steps=5, seed=3)
    trainer = Trainer(model, schedule, data, cfg)
    trainer.run(progress=False)
    if world().is_root:
        np.savez(out, loss=np.asarray(trainer.log["loss"]), **trainer.model.state_dict())


def main(job, *args):
    rng = np.random.default_rng(0)
    if job == "train-mlp":
        x = toy2d.sample("spiral", 512, rng).astype(np.float64)
        model = MLP(dim=2, hidden=32, num_blocks=2, rng=rng, dtype=np.float64)
        train(model, ArrayDataset(x), NoiseSchedule.linear(1000), 31, args[0])
    elif job == "train-unet":
        x = rng.uniform(-1, 1, (64, 1, 8, 8))
        y = rng.integers(0, 3, 64)
        model = UNet(base_channels=4, channel_mults=(1, 2), attention_resolutions=(4,),
                     num_classes=3, image_size=8, emb_dim=8, groups=2, rng=rng,
                     dtype=np.float64)
        train(model, ArrayDataset(x, y), NoiseSchedule.linear(1000), 6, args[0])
    elif job == "fail-alone":
        w = world()
        if w.rank == 1:
            return w.settle(3, "rank 1 failed alone")
        w.bcast(None)                   # waits for rank 1, which never comes
    elif job == "calibrate":
        import json

        from ddpm_np.benchmarks import calibrate
        from ddpm_np.nn.fast import tuning
        calibrate.default_conv_shapes = lambda batch: [(32, 32, 8, 8), (64, 64, 4, 4)]
        timings, timed = [], tuning.best_seconds
        tuning.best_seconds = lambda fn, repeats=5: (timings.append(1), timed(fn, repeats))[1]
        w = world()
        choices = {k: v["choice"] for k, v in tuning.table().items()}
        w.root_does(lambda: None)                           # the lines in rank order
        for rank in range(w.size):
            if rank == w.rank:
                print(json.dumps({"rank": w.rank, "timings": len(timings), "choices": choices}),
                      flush=True)
            w.bcast(None)
    elif job == "stuck":
        import signal
        import time

        def terminated(signum, frame):
            raise SystemExit(143)
        signal.signal(signal.SIGTERM, terminated)
        w = world()
        print(f"rank {w.rank} waiting", flush=True)
        if w.rank == 1:
            time.sleep(600)
        w.allreduce_sum(np.zeros(3))
    elif job == "fail-together":
        return world().settle(3, "every rank failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
