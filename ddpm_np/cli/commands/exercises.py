"""ddpm-np exercises"""
NAME = "exercises"
HELP = ("write a workspace of exercises (the library's key functions as stubs, with their "
        "tests), or show which pass")
OPTIONS = dict(progress=False, overwrite=False)


def add_arguments(p):
    from ...exercises.catalog import EXERCISES
    p.add_argument("folder", nargs="?", help="the workspace folder (created if needed)")
    p.add_argument("--hint", metavar="N",
                   help=f"the second level of help for exercise N (1..{len(EXERCISES)} or "
                        "ex03): how, nearly step by step; the stub's own message is the first")
    p.add_argument("--status", action="store_true",
                   help="run the workspace's tests and print which exercises pass")
    p.add_argument("--overwrite", action="store_true",
                   help="write the stubs again over an existing workspace (replaces your work)")


def run(args):
    from ...exercises import hint, status, status_table, write_workspace
    from ...run.folders import check_folder
    if args.hint is not None:
        print(hint(args.hint))
        return
    if args.folder is None:
        raise ValueError("give the workspace folder (ddpm-np exercises DIR), or --hint N")
    if args.status:
        if args.overwrite:
            raise ValueError("--status reads a workspace; --overwrite writes one: give one")
        print(status_table(status(args.folder)))
        return
    check_folder(args.folder, "exercise folder")
    written = write_workspace(args.folder, overwrite=args.overwrite)
    print(f"wrote {len(written)} files to {args.folder}: start with ex01_q_sample.py; check with "
          f"`python -m pytest -m ex01` there, or `ddpm-np exercises {args.folder} --status`")
