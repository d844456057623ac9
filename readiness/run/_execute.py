"""Child process: execute one notebook with papermill and record how it ended.

Usage: python -m readiness.run._execute INPUT OUTPUT PARAMETERS_YAML KERNEL_NAME CWD STATUS_JSON PROGRESS

Runs apart from the ``readiness`` driver so that the driver can enforce a
wall-clock timeout by killing this process group (papermill has none), and so
that nothing the notebook loads ever runs in the driver.
"""

import json
import sys


def main(argv: list[str]) -> int:
    input_path, output_path, parameters_path, kernel_name, cwd, status_path, progress = argv
    import papermill
    import yaml
    from papermill.exceptions import PapermillExecutionError

    from readiness.exceptions import first_line

    with open(parameters_path, encoding="utf-8") as handle:
        parameters = yaml.safe_load(handle) or {}
    status = {"ok": True}
    try:
        papermill.execute_notebook(
            input_path, output_path, parameters=parameters, kernel_name=kernel_name, cwd=cwd,
            progress_bar={"desc": "  cells", "file": sys.stderr, "ncols": 80, "leave": False} if progress == "1" else False,
            request_save_on_cell_execute=True, log_output=False,
            # every cell has run and its outputs are saved: kill the kernel rather than wait
            # ~1 s for it to tear down gigabytes of data frames
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as exc:
        status = {"ok": False, "ename": exc.ename, "evalue": exc.evalue, "cell": exc.exec_count}
    except Exception as exc:  # kernel died, could not start, ...
        status = {"ok": False, "ename": type(exc).__name__, "evalue": first_line(exc, 500, default="")}
    with open(status_path, "w", encoding="utf-8") as handle:
        json.dump(status, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
