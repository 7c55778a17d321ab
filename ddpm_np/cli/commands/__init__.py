"""One module per subcommand, each with its arguments beside its handler: `NAME`, `HELP`,
`add_arguments(parser)` and `run(args)`, a few lines that call one library function (which
owns the defaults and the checks). Errors are turned into one line in `cli/__init__.py`."""
from . import bench, demo, editing, evaluate, exercises, phi4, sample, train

COMMANDS = {m.NAME: m for m in (demo, train, sample, editing.Inpaint, editing.Interpolate,
                                evaluate, evaluate.TrainClassifier, phi4, bench, exercises)}
