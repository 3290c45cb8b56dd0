#!/usr/bin/env python3
"""One DSS job as its own process, for ``make bench``: a recipe.py run as
``__main__`` (or the exporter driven through its lifecycle) through the stand-in
``dataiku`` package, exactly as the integration tests run them, so that a timing
includes interpreter start, imports, connecting and listing.

Usage: ``dss_process.py SPEC.json`` where the spec holds ``paths`` (python-lib,
stubs), ``folders`` ({name: [dir, local]}), ``datasets``, ``inputs``,
``outputs``, ``config``, ``plugin_config``, and ``recipe`` or ``exporter`` (+ ``rows``), or
``fs_provider`` (+ ``root``, ``op`` read or write, ``path``, ``local``: the
provider built as DSS builds it, one whole read into / write from a local file). Writes
``{"max_rss_kib": ...}`` to ``spec["result"]``; exits 1 when the job fails.
"""
import json
import resource
import sys


def main(spec_path):
    with open(spec_path) as handle:
        spec = json.load(handle)
    sys.path[:0] = spec["paths"]
    from dataiku import _harness
    for name, (base_dir, local) in spec.get("folders", {}).items():
        _harness.register_folder(name, base_dir, local=local)
    for name in spec.get("datasets", []):
        _harness.register_dataset(name)
    if "fs_provider" in spec:
        fs_provider_job(_harness, spec)
    elif "recipe" in spec:
        _harness.set_recipe(spec["config"], plugin_config=spec.get("plugin_config"),
                            inputs=spec.get("inputs"), outputs=spec.get("outputs"))
        _harness.run_recipe(spec["recipe"])
    else:
        import bench_rows
        _harness.run_exporter(spec["exporter"], spec["config"], spec.get("plugin_config"),
                              {"columns": bench_rows.COLUMNS}, bench_rows.rows(spec["rows"]))
    with open(spec["result"], "w") as handle:
        json.dump({"max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}, handle)


def fs_provider_job(harness, spec):
    """DSS's calls for a whole read (``limit`` -1) into, or a write from, a local file."""
    provider = harness.load_fs_provider(spec["fs_provider"], spec["root"], spec["config"],
                                        spec.get("plugin_config"))
    try:
        if spec["op"] == "read":
            with open(spec["local"], "wb") as stream:
                provider.read(spec["path"], stream, -1)
        else:
            with open(spec["local"], "rb") as stream:
                provider.write(spec["path"], stream)
    finally:
        provider.close()


if __name__ == "__main__":
    main(sys.argv[1])
