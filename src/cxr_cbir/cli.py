"""``cxr-cbir`` command line: query a finished run with a new chest X-ray film.

    cxr-cbir query FILM --run demo --model ig -k 4 [--condition effusion] [--panel out.png]

Run it from the folder holding ``results/`` (or pass ``--directory``). Prints the top-k
neighbours with label, distance and the clinical fields the run knows; writes a PNG
panel with saliency (or attention) overlays.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import InputError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxr-cbir", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("query", help="top-k most similar archive films for a new film")
    q.add_argument("film", type=Path, help="the new film (JPEG or PNG)")
    q.add_argument("--run", required=True, help="run name (results/<run>)")
    q.add_argument("--model", default="ig", help="cnn, ig, att, cnn_ig, dml or ce")
    q.add_argument("-k", type=int, default=4, help="neighbours to return (default 4)")
    q.add_argument("--condition", help="condition whose models to use (default: the first)")
    q.add_argument("--directory", type=Path, default=Path("."), help="folder holding results/")
    q.add_argument("--panel", type=Path, help="PNG panel path (default results/<run>/queries/)")
    q.add_argument("--backend", default="auto", choices=["auto", "faiss", "torch"])
    q.add_argument("--threads", type=int, help="torch CPU threads")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .query import ensure_torch_threads, format_table, query_panel, run_query

    ensure_torch_threads(args.threads)
    try:
        if not args.film.is_file():
            raise InputError(f"{args.film}: no such film")
        result = run_query(
            args.film, args.run, args.model, args.k, args.condition, args.directory, args.backend
        )
    except InputError as exc:
        print(f"cxr-cbir: error: {exc}", file=sys.stderr)
        return 2
    panel = args.panel or (
        args.directory / "results" / args.run / "queries" / f"{args.film.stem}_{args.model}.png"
    )
    query_panel(result, args.film.name, str(panel))
    print(f"top {len(result.neighbours)} for {args.film} ({args.model}, {result.scope}):")
    print(format_table(result))
    print(f"panel: {panel}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
