"""``cxr-cbir`` command line: query a finished run with new chest X-ray films, or serve it.

    cxr-cbir query FILM [FILM ...] | DIR  --run demo --model ig -k 4 [--condition effusion]
                   [--panel out.png | --panels DIR | --out table.csv]
    cxr-cbir serve --run demo [--host 127.0.0.1] [--port 8765]
    cxr-cbir draws RESULTS_DIR RESULTS_DIR [...] [--out draws.csv]

Run it from the folder holding ``results/`` (or pass ``--directory``). ``query`` loads
each model once, embeds the films in batches, prints the top-k neighbours of each film
with label, distance and the clinical fields the run knows, and writes one PNG panel per
film with saliency (or attention) overlays, or one CSV of every film's neighbours with
``--out``. ``serve`` opens a local web page for the same queries (see README). ``draws``
counts how often each verdict holds over several runs' ``results/<run>`` folders (seeds
or variants of one workflow).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cxr_cbir.errors import InputError

FILM_SUFFIXES = (".jpg", ".jpeg", ".png", ".dcm", ".dicom")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxr-cbir", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("query", help="top-k most similar archive films for new films")
    q.add_argument("films", type=Path, nargs="+", metavar="FILM", help="films or folders of films")
    q.add_argument("--run", required=True, help="run name (results/<run>)")
    q.add_argument("--model", default="ig", help="cnn, ig, att, cnn_ig, cnn_sev, sev, dml or ce")
    q.add_argument("-k", type=int, default=4, help="neighbours to return (default 4)")
    q.add_argument("--condition", help="condition whose models to use (default: the first)")
    q.add_argument("--directory", type=Path, default=Path("."), help="folder holding results/")
    out = q.add_mutually_exclusive_group()
    out.add_argument("--panel", type=Path, help="PNG panel path (one film only)")
    out.add_argument(
        "--panels", type=Path, help="folder for the panels (default results/<run>/queries/)"
    )
    out.add_argument("--out", type=Path, help="one CSV of every film's neighbours, no panels")
    q.add_argument(
        "--keep-same-patient",
        action="store_true",
        help="a film of the archive: keep itself and its patient's films among the neighbours",
    )
    q.add_argument("--backend", default="auto", choices=["auto", "faiss", "torch"])
    q.add_argument("--threads", type=int, help="torch CPU threads")
    s = sub.add_parser("serve", help="a local web page to query the run")
    s.add_argument("--run", required=True, help="run name (results/<run>)")
    s.add_argument("--directory", type=Path, default=Path("."), help="folder holding results/")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    s.add_argument("--threads", type=int, help="torch CPU threads")
    d = sub.add_parser("draws", help="how often each verdict holds over several runs")
    d.add_argument("runs", type=Path, nargs="+", metavar="RESULTS_DIR", help="results/<run>")
    d.add_argument("--out", type=Path, help="write the table as CSV too")
    return parser


def expand_films(paths: list[Path]) -> list[Path]:
    """Files as given; a folder gives its JPEG, PNG and DICOM files, sorted. A path that is
    neither is kept, so that it is reported as missing with the others."""
    films = []
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix.lower() in FILM_SUFFIXES)
            if not found:
                raise InputError(f"{p}: no {', '.join(FILM_SUFFIXES)} films in this folder")
            films.extend(found)
        else:
            films.append(p)
    return films


def _query(args) -> int:
    from cxr_cbir.app.query import (
        QueryEngine,
        archive_note,
        format_table,
        neighbours_csv,
        query_panel,
    )

    films = expand_films(args.films)
    if args.panel and len(films) > 1:
        raise InputError(f"--panel names one file, for one film; {len(films)} given (use --panels)")
    if not any(f.is_file() for f in films):
        raise InputError(f"{films[0]}: no such film")
    engine = QueryEngine(args.run, args.directory, args.backend)
    results, failed = engine.query(
        films, args.model, args.k, args.condition, args.keep_same_patient, progress=True
    )
    panels = args.panels or args.directory / "results" / args.run / "queries"
    readable = [f for f in films if f not in failed]
    for film, result in zip(readable, results, strict=True):
        print(f"top {len(result.neighbours)} for {film} ({args.model}, {result.scope}):")
        note = archive_note(result, args.keep_same_patient)
        if note is not None:
            print(f"({note})")
        print(format_table(result))
        if not args.out:
            panel = args.panel or panels / f"{film.stem}_{args.model}.png"
            query_panel(result, film.name, str(panel))
            print(f"panel: {panel}")
        print()
    if args.out:
        neighbours_csv(readable, results, args.out)
        print(f"table: {args.out} ({len(results)} films)")
    for film, reason in failed.items():
        print(f"cxr-cbir: error: {film}: {reason}", file=sys.stderr)
    return 2 if failed else 0


def _serve(args) -> int:
    from cxr_cbir.app.server import serve

    serve(args.run, args.directory, args.host, args.port)
    return 0


def _draws(args) -> int:
    import pandas as pd

    from cxr_cbir.evaluation.verdict_draws import read_draws, tally

    table = tally(read_draws(args.runs))
    with pd.option_context("display.width", 200, "display.max_rows", None):
        print(table.drop(columns="not_holding_in").to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command != "draws":  # reads tables only: no torch
        from cxr_cbir.app.query import ensure_torch_threads

        ensure_torch_threads(args.threads)
    command = {"query": _query, "serve": _serve, "draws": _draws}[args.command]
    try:
        return command(args)
    except InputError as exc:
        print(f"cxr-cbir: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
