"""The prediction log's encoder process: ``python -m readiness.serving._encoder_main IN_FD OUT_FD``.

Started by :class:`readiness.PredictionLogger` with ``encoder="process"``: it receives batches of
buffered calls from the serving process (pickled by that process: trusted), builds the frame and
writes it to the sink, and answers each batch with the rows written or a one-line error. The
serving process keeps only the copy of each call; frame building, Arrow conversion and Parquet
encoding run here, on another core and outside the service's GIL. Ends when its input closes.
"""

import sys
from multiprocessing.connection import Connection


def main(fd_in: int, fd_out: int) -> int:
    from readiness.serving.logger import _frame
    from readiness.serving.sinks import open_sink

    incoming, outgoing = Connection(fd_in, writable=False), Connection(fd_out, readable=False)
    try:
        setup = incoming.recv()
    except EOFError:
        return 0
    sink = open_sink(setup["sink"])
    features, exclude = setup["features"], set(setup["exclude"])

    def chosen(names):
        return [c for c in names if (features is True or (not isinstance(features, bool) and str(c) in features))
                and str(c) not in exclude]

    while True:
        try:
            calls = incoming.recv()
        except EOFError:
            return 0
        if calls is None:
            return 0
        try:
            frame = _frame(calls, setup["model_version"], chosen)
            sink.write(frame)
            outgoing.send(("ok", len(frame)))
        except Exception as exc:  # said by the serving process, counted in its stats
            text = str(exc).splitlines()[0][:200] if str(exc) else ""
            outgoing.send(("error", f"{type(exc).__name__}: {text}"))


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
